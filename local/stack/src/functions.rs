//! The six handlers registered as Lambda functions in-process. Each is called with the handler code a
//! deployment runs and reports its errors under the same `errorType` a deployed Lambda reports, so the
//! state machine's Retry and Catch behave the same.

use functions_common::{Clock, Env, LambdaError, SdkConfig};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use local_cloud::{FunctionError, FunctionRef, Functions};
use local_sfn::{TaskContext, TaskError, TaskInvoker, VirtualClock};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::pipeline::PipelineError;
use shared::summary::RunSummary;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use teardown::notify::Notifier;

/// The handlers' clock port, read from the virtual clock Step Functions and the emulator share.
#[derive(Clone)]
pub struct VirtualTime(pub VirtualClock);

impl Clock for VirtualTime {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.now().epoch_millis().max(0) as u64)
    }
}

/// The local stand-in for SNS: keeps what was published, for the CLI and the tests.
#[derive(Default)]
pub struct LocalNotifier {
    pub published: Mutex<Vec<(String, String)>>,
}

/// The notifier handed to teardown (a newtype: the port's trait and `Arc` are both foreign here).
#[derive(Clone)]
pub struct SharedNotifier(pub Arc<LocalNotifier>);

impl Notifier for SharedNotifier {
    async fn notify(&self, subject: &str, message: &str, _summary: &RunSummary) -> Result<bool, PipelineError> {
        self.0
            .published
            .lock()
            .map_err(|e| PipelineError::Internal(e.to_string()))?
            .push((subject.into(), message.into()));
        Ok(true)
    }
}

pub struct Lambdas {
    validate_split: validate_split::Deps,
    start_job: start_job::Deps<VirtualTime>,
    check_status: check_status::Deps<VirtualTime>,
    provision: provision::Deps<VirtualTime>,
    evaluate: evaluate::Deps<VirtualTime>,
    teardown: teardown::Deps<VirtualTime, SharedNotifier>,
    /// The reward Lambda of reinforcement fine-tuning (its default spec may be invalid: then every call
    /// fails, as the Lambda's init would).
    grader: Result<grader::Deps, String>,
    pub notifier: Arc<LocalNotifier>,
    /// Invocations per function, in order (name, errorType or None).
    pub invocations: Mutex<Vec<(String, Option<String>)>>,
    holds: Holds,
}

/// The state machine's functions.
pub const FUNCTION_NAMES: [&str; 6] =
    ["validate-split", "start-job", "check-status", "provision", "evaluate", "teardown"];
/// The function Bedrock calls during reinforcement fine-tuning (not a state of the pipeline).
pub const REWARD_FUNCTION: &str = "grader";

impl Lambdas {
    /// Each function wired by its own `Deps::from_env`, as its Lambda `main` wires it, with the
    /// environment `env` gives that function (see [`crate::LocalCloud::start`]) and the local ports: the
    /// virtual clock, and the notifier that stands in for SNS.
    pub fn new(sdk: &SdkConfig, clock: VirtualTime, env: impl Fn(&str) -> Env) -> Lambdas {
        let notifier = Arc::new(LocalNotifier::default());
        Lambdas {
            validate_split: validate_split::Deps::from_env(sdk, &env("validate-split")),
            start_job: start_job::Deps::from_env(sdk, &env("start-job"), clock.clone()),
            check_status: check_status::Deps::from_env(sdk, &env("check-status"), clock.clone()),
            provision: provision::Deps::from_env(sdk, &env("provision"), clock.clone()),
            evaluate: evaluate::Deps::from_env(sdk, &env("evaluate"), clock.clone()),
            teardown: teardown::Deps::from_env(sdk, &env("teardown"), clock, SharedNotifier(notifier.clone())),
            grader: {
                let env = env(REWARD_FUNCTION);
                grader::Deps::from_lookup(|name| env.get(name)).map_err(|e| e.to_string())
            },
            notifier,
            invocations: Mutex::new(Vec::new()),
            holds: Holds::default(),
        }
    }

    /// Invokes one function by name with a JSON event, as Lambda would.
    pub async fn call(&self, name: &str, payload: Value) -> Result<Value, FunctionError> {
        self.holds.pass(name).await;
        let result = match name {
            "validate-split" => run(payload, |ev| validate_split::handler(&self.validate_split, ev)).await,
            "start-job" => run(payload, |ev| start_job::handler(&self.start_job, ev)).await,
            "check-status" => run(payload, |ev| check_status::handler(&self.check_status, ev)).await,
            "provision" => run(payload, |ev| provision::handler(&self.provision, ev)).await,
            "evaluate" => run(payload, |ev| evaluate::handler(&self.evaluate, ev)).await,
            "teardown" => run(payload, |ev| teardown::handler(&self.teardown, ev)).await,
            REWARD_FUNCTION => self.grade(&payload),
            other => Err(FunctionError::new("ResourceNotFoundException", format!("Function not found: {other}"))),
        };
        if let Ok(mut log) = self.invocations.lock() {
            log.push((name.to_string(), result.as_ref().err().map(|e| e.error_type.clone())));
        }
        result
    }

    /// The grader, synchronously as its handler is: what Bedrock's calls to the reward Lambda get.
    fn grade(&self, payload: &Value) -> Result<Value, FunctionError> {
        let deps = self.grader.as_ref().map_err(|e| FunctionError::new("Runtime.InitError", e.clone()))?;
        let scores =
            grader::grade_batch(deps, payload).map_err(|e| FunctionError::new(e.0.error_type(), e.0.to_string()))?;
        serde_json::to_value(scores).map_err(|e| FunctionError::new("Runtime.MarshalError", e.to_string()))
    }

    /// A synchronous invocation by function ARN, for the Bedrock emulator's calls to a reward Lambda
    /// (logged in `invocations` like every other call).
    pub fn invoke_reward(&self, function_arn: &str, payload: &Value) -> Result<Value, FunctionError> {
        let name = FunctionRef::parse(function_arn).map(|f| f.name).unwrap_or(function_arn);
        let result = if name == REWARD_FUNCTION {
            self.grade(payload)
        } else if FUNCTION_NAMES.contains(&name) {
            Err(FunctionError::new(
                "Unhandled",
                format!("{name} is a pipeline function, not a reward function: it cannot grade responses"),
            ))
        } else {
            Err(FunctionError::new("ResourceNotFoundException", format!("Function not found: {function_arn}")))
        };
        if let Ok(mut log) = self.invocations.lock() {
            log.push((name.to_string(), result.as_ref().err().map(|e| e.error_type.clone())));
        }
        result
    }

    /// How many times a function was invoked.
    pub fn invocation_count(&self, name: &str) -> usize {
        self.invocations.lock().map(|l| l.iter().filter(|(n, _)| n == name).count()).unwrap_or(0)
    }
}

/// Holding calls: a hook for tests and tools that must act while a run is at a known step. Virtual time
/// takes a whole run through in milliseconds, so nothing else can catch it mid-way (say, parked in
/// CheckJob while its job is InProgress). A call to a held function waits before its handler runs, and
/// is not logged in `invocations` until it has run; a waiting call that is dropped (its execution was
/// stopped) never runs. Nothing is held unless asked.
impl Lambdas {
    /// From now on, calls to `name` wait until [`Lambdas::step`] or [`Lambdas::release`].
    pub fn hold(&self, name: &str) {
        self.holds.state.send_modify(|s| {
            s.held.insert(name.to_string());
        });
    }

    /// Lets the calls to `name` waiting now go on; later calls still wait.
    pub fn step(&self, name: &str) {
        self.holds.state.send_modify(|s| *s.steps.entry(name.to_string()).or_default() += 1);
    }

    /// Stops holding `name`: every waiting call goes on, and later calls do not wait.
    pub fn release(&self, name: &str) {
        self.holds.state.send_modify(|s| {
            s.held.remove(name);
        });
    }

    /// How many calls to `name` are waiting now.
    pub fn waiting(&self, name: &str) -> usize {
        self.holds.state.borrow().waiting.get(name).copied().unwrap_or(0)
    }

    /// Resolves once at least `count` calls to `name` are waiting.
    pub async fn until_waiting(&self, name: &str, count: usize) {
        let mut rx = self.holds.state.subscribe();
        // The sender lives in `self`, so this only returns once the condition holds.
        let _ = rx.wait_for(|s| s.waiting.get(name).copied().unwrap_or(0) >= count).await;
    }
}

#[derive(Default)]
struct Holds {
    state: tokio::sync::watch::Sender<HoldState>,
}

#[derive(Default)]
struct HoldState {
    held: BTreeSet<String>,
    /// `step` calls so far per function: a waiting call goes on once this passes what it saw.
    steps: BTreeMap<String, u64>,
    waiting: BTreeMap<String, usize>,
}

impl Holds {
    async fn pass(&self, name: &str) {
        let mut rx = self.state.subscribe();
        let step = {
            let s = rx.borrow_and_update();
            if !s.held.contains(name) {
                return;
            }
            s.steps.get(name).copied().unwrap_or(0)
        };
        self.state.send_modify(|s| *s.waiting.entry(name.to_string()).or_default() += 1);
        // Counted down however the wait ends, including when the caller drops this future.
        struct Waiting<'a>(&'a Holds, &'a str);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.state.send_modify(|s| {
                    if let Some(n) = s.waiting.get_mut(self.1) {
                        *n = n.saturating_sub(1);
                    }
                });
            }
        }
        let _waiting = Waiting(self, name);
        let _ = rx.wait_for(|s| !s.held.contains(name) || s.steps.get(name).copied().unwrap_or(0) > step).await;
    }
}

/// Deserializes the event as the Lambda runtime does, runs the handler, and reports its error as the
/// runtime would (`Diagnostic`'s error type).
async fn run<T, O, F, Fut>(payload: Value, handler: F) -> Result<Value, FunctionError>
where
    T: DeserializeOwned,
    O: Serialize,
    F: FnOnce(LambdaEvent<T>) -> Fut,
    Fut: Future<Output = Result<O, LambdaError>>,
{
    let event: T = serde_json::from_value(payload)
        .map_err(|e| FunctionError::new("Runtime.UnmarshalError", format!("cannot read the event: {e}")))?;
    match handler(LambdaEvent::new(event, Context::default())).await {
        Ok(output) => {
            serde_json::to_value(output).map_err(|e| FunctionError::new("Runtime.MarshalError", e.to_string()))
        }
        Err(error) => {
            let diagnostic: Diagnostic = error.into();
            Err(FunctionError::new(diagnostic.error_type, diagnostic.error_message))
        }
    }
}

impl Functions for Lambdas {
    fn contains(&self, function_name: &str) -> bool {
        FUNCTION_NAMES.contains(&function_name) || function_name == REWARD_FUNCTION
    }

    fn invoke(&self, function_name: &str, payload: Value) -> impl Future<Output = Result<Value, FunctionError>> + Send {
        self.call(function_name, payload)
    }
}

/// The Bedrock emulator's view of Lambda: reward functions called during reinforcement fine-tuning.
pub struct LocalRewards(pub Arc<Lambdas>);

impl local_bedrock::RewardFunction for LocalRewards {
    fn invoke(&self, function_arn: &str, payload: &Value) -> Result<Value, String> {
        self.0.invoke_reward(function_arn, payload).map_err(|e| format!("{}: {}", e.error_type, e.error_message))
    }
}

/// Step Functions' view of the functions: a Task's Resource is a function ARN.
#[derive(Clone)]
pub struct Invoker(pub Arc<Lambdas>);

impl TaskInvoker for Invoker {
    async fn invoke(&self, resource: &str, input: Value, _ctx: &TaskContext) -> Result<Value, TaskError> {
        let Some(function) = FunctionRef::parse(resource) else {
            return Err(TaskError::new("States.Runtime", format!("not a Lambda function ARN: {resource}")));
        };
        self.0.call(function.name, input).await.map_err(|e| TaskError::new(e.error_type, e.error_message))
    }
}
