//! Scripted Lambdas for the local engine: each reads its input as the contract type its real
//! handler takes (a mismatch is recorded as a contract violation) and answers with a realistic
//! document, following virtual time for the poll loops. Errors can be injected per function, by name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use local_sfn::{TaskContext, TaskError, TaskInvoker, Timestamp, VirtualClock};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::pipeline::{
    Backoff, CheckStatusRequest, DeploymentMode, DeploymentRef, FinalizeRequest, JobRef, Outcome, PipelineError,
    PollState, PollStatus, RunDocument, StartRequest, ValidateRequest, run_id_for_execution,
};

/// What the scripted services do.
#[derive(Clone, Debug)]
pub struct Script {
    /// Virtual seconds from StartJob until the job reaches `job_end`.
    pub job_seconds: u64,
    pub job_end: PollState,
    /// Virtual seconds from Provision until the deployment reaches `deployment_end`.
    pub deployment_seconds: u64,
    pub deployment_end: PollState,
    pub deployment: DeploymentMode,
    /// false: a broken check-status that never reports `exhausted` (only TimeoutSeconds stops it).
    pub reports_exhausted: bool,
    pub gate_passes: bool,
    /// validate-split (console entry) finds the dataset invalid.
    pub dataset_invalid: bool,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            job_seconds: 2 * 3600,
            job_end: PollState::Ready,
            deployment_seconds: 600,
            deployment_end: PollState::Ready,
            deployment: DeploymentMode::OnDemand,
            reports_exhausted: true,
            gate_passes: true,
            dataset_invalid: false,
        }
    }
}

/// One invocation, as the function received it.
#[derive(Clone, Debug)]
pub struct Call {
    pub function: String,
    pub state: String,
    pub input: Value,
}

struct Injected {
    error: TaskError,
    /// None: every call fails.
    remaining: Option<usize>,
}

pub struct Lambdas {
    clock: VirtualClock,
    script: Script,
    calls: Mutex<Vec<Call>>,
    injected: Mutex<HashMap<String, Injected>>,
    violations: Mutex<Vec<String>>,
}

impl Lambdas {
    pub fn new(clock: VirtualClock, script: Script) -> Self {
        Lambdas { clock, script, calls: Mutex::default(), injected: Mutex::default(), violations: Mutex::default() }
    }

    /// The next `times` calls of `at` (a function, or a Task state such as `CheckDeployment`) fail
    /// with `error`; then it behaves normally.
    pub fn fail_times(self, at: &str, error: &str, times: usize) -> Self {
        self.inject(at, error, Some(times))
    }

    /// Every call of `at` (a function or a Task state) fails with `error`.
    pub fn fail_always(self, at: &str, error: &str) -> Self {
        self.inject(at, error, None)
    }

    fn inject(self, at: &str, error: &str, remaining: Option<usize>) -> Self {
        let cause = format!("injected {error} in {at}");
        self.injected
            .lock()
            .expect("lock")
            .insert(at.to_string(), Injected { error: TaskError::new(error, cause), remaining });
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }

    pub fn count(&self, function: &str) -> usize {
        self.calls.lock().expect("lock").iter().filter(|c| c.function == function).count()
    }

    /// Inputs that did not deserialize into the function's contract type, or broke its preconditions.
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().expect("lock").clone()
    }

    fn violation(&self, function: &str, message: String) -> TaskError {
        let message = format!("{function}: {message}");
        self.violations.lock().expect("lock").push(message.clone());
        TaskError::new("ContractViolation", message)
    }

    fn parse<T: DeserializeOwned>(&self, function: &str, input: &Value) -> Result<T, TaskError> {
        serde_json::from_value(input.clone()).map_err(|e| self.violation(function, format!("input: {e}")))
    }

    fn elapsed_since(&self, started_at: &str) -> u64 {
        let start = Timestamp::parse_rfc3339(started_at).unwrap_or_else(|| panic!("bad started_at {started_at}"));
        self.clock.now().duration_since(start).as_secs()
    }

    /// What the real check-status does with a reference: count the poll, read the status, grow the wait.
    fn poll(&self, status: &PollStatus, elapsed: u64, takes: u64, end: PollState, backoff: Backoff) -> PollStatus {
        let attempt = status.attempt + 1;
        let done = elapsed >= takes;
        let state = if done { end } else { PollState::InProgress };
        PollStatus {
            state,
            raw_status: format!("{state:?}"),
            attempt,
            next_wait_seconds: backoff.next_wait(elapsed),
            elapsed_seconds: elapsed,
            exhausted: self.script.reports_exhausted && !done && attempt >= backoff.max_attempts,
            failure_message: (state == PollState::Failed).then(|| "Internal error during training".to_string()),
        }
    }

    fn respond(&self, function: &str, input: &Value) -> Result<Value, TaskError> {
        let now = self.clock.now().to_rfc3339();
        let out = match function {
            "validate-split" => {
                let task: ValidateRequest = self.parse(function, input)?;
                if task.execution_name.is_empty() {
                    return Err(self.violation(function, "no execution name".into()));
                }
                // As the real handler: anything but a StartRequest in the execution input is refused.
                let Ok(request) = serde_json::from_value::<StartRequest>(task.input) else {
                    return Err(TaskError::new(
                        PipelineError::CONFIG_INVALID,
                        "the execution input may hold only `dataset`, `config` and `skip_unchanged`",
                    ));
                };
                if !request.dataset.starts_with("s3://") {
                    return Err(self.violation(function, format!("dataset {}", request.dataset)));
                }
                if self.script.dataset_invalid {
                    let cause = fixtures::prepared_run(false).data.cause.unwrap_or_default();
                    return Err(TaskError::new(PipelineError::DATASET_INVALID, cause));
                }
                let run_id = run_id_for_execution(&task.execution_name);
                to_value(shared::pipeline::PreparedRun { run_id, ..fixtures::prepared_run(true) })
            }
            "start-job" => {
                let doc: RunDocument = self.parse(function, input)?;
                if !doc.run.data.valid || doc.job.is_some() {
                    return Err(self.violation(function, "started with an invalid dataset or twice".into()));
                }
                to_value(JobRef { started_at: now, ..fixtures::job_started() })
            }
            "check-status" => match self.parse::<CheckStatusRequest>(function, input)? {
                CheckStatusRequest::Job { job } => {
                    let elapsed = self.elapsed_since(&job.started_at);
                    let status =
                        self.poll(&job.status, elapsed, self.script.job_seconds, self.script.job_end, Backoff::JOB);
                    let ready = status.state == PollState::Ready;
                    to_value(JobRef {
                        status,
                        custom_model_arn: ready.then(|| fixtures::CUSTOM_MODEL_ARN.to_string()),
                        training_loss: ready.then_some(0.41),
                        ..job
                    })
                }
                CheckStatusRequest::Deployment { deployment } => {
                    let elapsed = self.elapsed_since(&deployment.started_at);
                    let status = self.poll(
                        &deployment.status,
                        elapsed,
                        self.script.deployment_seconds,
                        self.script.deployment_end,
                        Backoff::DEPLOYMENT,
                    );
                    to_value(DeploymentRef { status, ..deployment })
                }
            },
            "provision" => {
                let doc: RunDocument = self.parse(function, input)?;
                let ready = doc
                    .job
                    .as_ref()
                    .is_some_and(|j| j.custom_model_arn.is_some() && j.status.state == PollState::Ready);
                if !ready {
                    return Err(self.violation(function, "called without a completed job".into()));
                }
                let started = fixtures::deployment_started(self.script.deployment);
                to_value(DeploymentRef { started_at: now, ..started })
            }
            "evaluate" => {
                let doc: RunDocument = self.parse(function, input)?;
                if !doc.deployment.as_ref().is_some_and(|d| d.status.state == PollState::Ready) {
                    return Err(self.violation(function, "called before the deployment is ready".into()));
                }
                to_value(fixtures::evaluation(self.script.gate_passes))
            }
            "teardown" => {
                let request: FinalizeRequest = self.parse(function, input)?;
                if !request.execution_arn.as_deref().is_some_and(|arn| arn.contains(":execution:")) {
                    return Err(self.violation(function, "called without the execution's ARN".into()));
                }
                let doc = request.document;
                let Some(outcome) = doc.outcome else {
                    return Err(self.violation(function, "called without an outcome".into()));
                };
                if (outcome == Outcome::Failed) != doc.error.is_some() {
                    return Err(self.violation(function, "an error without FAILED, or FAILED without error".into()));
                }
                to_value(fixtures::teardown_result(outcome))
            }
            other => return Err(self.violation(other, "no such function".into())),
        };
        // A real call takes a little time; it also keeps virtual timestamps distinct.
        self.clock.advance(Duration::from_millis(200));
        Ok(out)
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("contract types serialize")
}

impl TaskInvoker for Lambdas {
    async fn invoke(&self, resource: &str, input: Value, ctx: &TaskContext) -> Result<Value, TaskError> {
        let function = crate::function_of(resource).unwrap_or(resource).to_string();
        self.calls.lock().expect("lock").push(Call {
            function: function.clone(),
            state: ctx.state_name.clone(),
            input: input.clone(),
        });
        {
            let mut injected = self.injected.lock().expect("lock");
            // A state's injection is more specific than its function's.
            let key = if injected.contains_key(&ctx.state_name) { &ctx.state_name } else { &function };
            if let Some(inj) = injected.get_mut(key) {
                match &mut inj.remaining {
                    None => return Err(inj.error.clone()),
                    Some(0) => {}
                    Some(n) => {
                        *n -= 1;
                        return Err(inj.error.clone());
                    }
                }
            }
        }
        self.respond(&function, &input)
    }
}
