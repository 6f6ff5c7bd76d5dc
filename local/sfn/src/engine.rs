//! The interpreter: runs one execution of a loaded definition, writing its history as it goes.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::clock::{Timestamp, VirtualClock};
use crate::definition::{Body, Definition, IoPath, Jitter, ResultPath, Retrier, State, Text, WaitFor};
use crate::history::{self, EventDetails, HistoryEvent};
use crate::template::{EvalError, Template};

/// A task's failure as Retry and Catch see it: for a Lambda function, `error` is the
/// `errorType` it reported and `cause` its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError { error: error.into(), cause: cause.into() }
    }
}

/// What a task invocation knows about where it runs.
#[derive(Clone, Debug)]
pub struct TaskContext {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_name: String,
    /// 0 for the first attempt, then 1, 2, ... for retries (`$$.State.RetryCount`).
    pub retry_count: u32,
    pub entered_time: Timestamp,
    /// When the state's TimeoutSeconds runs out in virtual time, if it has one. A result that
    /// arrives after it (the invoker having advanced the clock) is replaced by States.Timeout.
    pub timeout_at: Option<Timestamp>,
}

/// Runs the resource of a Task state (in the local cloud: a Lambda handler, in process).
pub trait TaskInvoker: Send + Sync + 'static {
    fn invoke(
        &self,
        resource: &str,
        input: Value,
        ctx: &TaskContext,
    ) -> impl Future<Output = Result<Value, TaskError>> + Send;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Names and ARNs an execution runs under (they feed the `$$` context object).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ExecutionIdentity {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
}

impl ExecutionIdentity {
    /// ARNs in us-east-1 / account 123456789012, for runs outside a registry.
    pub fn local(state_machine_name: &str, execution_name: &str) -> Self {
        let prefix = "arn:aws:states:us-east-1:123456789012";
        ExecutionIdentity {
            execution_arn: format!("{prefix}:execution:{state_machine_name}:{execution_name}"),
            execution_name: execution_name.to_string(),
            state_machine_arn: format!("{prefix}:stateMachine:{state_machine_name}"),
            state_machine_name: state_machine_name.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/local-sfn".to_string(),
        }
    }
}

/// An execution's state at one moment (or at its end).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ExecutionSnapshot {
    pub status: ExecutionStatus,
    pub start_date: Timestamp,
    pub stop_date: Option<Timestamp>,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
}

impl ExecutionSnapshot {
    pub fn states_entered(&self) -> Vec<String> {
        history::states_entered(&self.history)
    }

    pub fn state_transitions(&self) -> u64 {
        history::state_transitions(&self.history)
    }

    pub fn event_types(&self) -> Vec<String> {
        self.history.iter().map(HistoryEvent::type_name).collect()
    }
}

/// Step Functions fails an execution whose history reaches 25,000 events; so does this engine,
/// which also bounds any runaway loop.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// The shared, lockable record of one execution, written by its driver and read by the API.
pub(crate) struct Cell {
    record: Mutex<ExecutionSnapshot>,
    abort: watch::Sender<bool>,
    done: watch::Sender<bool>,
}

impl Cell {
    pub(crate) fn new(start: Timestamp, input: Value) -> Self {
        Cell {
            record: Mutex::new(ExecutionSnapshot {
                status: ExecutionStatus::Running,
                start_date: start,
                stop_date: None,
                input,
                output: None,
                error: None,
                cause: None,
                history: Vec::new(),
            }),
            abort: watch::channel(false).0,
            done: watch::channel(false).0,
        }
    }

    /// A saved execution brought back without a driver (a restarted local cloud): closed ones are
    /// done; the caller aborts one saved while running, as nothing runs it any more.
    pub(crate) fn restored(record: ExecutionSnapshot) -> Self {
        let closed = record.status != ExecutionStatus::Running;
        Cell { record: Mutex::new(record), abort: watch::channel(closed).0, done: watch::channel(closed).0 }
    }

    fn lock(&self) -> MutexGuard<'_, ExecutionSnapshot> {
        // A panic elsewhere must not wedge every later API call.
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn snapshot(&self) -> ExecutionSnapshot {
        self.lock().clone()
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&ExecutionSnapshot) -> R) -> R {
        f(&self.lock())
    }

    fn append(r: &mut ExecutionSnapshot, now: Timestamp, details: EventDetails) {
        let id = r.history.len() as u64 + 1;
        r.history.push(HistoryEvent { id, previous_event_id: id - 1, timestamp: now, details });
    }

    /// Appends an event; false once the execution is no longer running (then the driver stops).
    fn push(&self, clock: &VirtualClock, details: EventDetails) -> bool {
        let mut r = self.lock();
        if r.status != ExecutionStatus::Running {
            return false;
        }
        if r.history.len() + 1 >= MAX_HISTORY_EVENTS {
            let cause = format!("The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS}).");
            drop(r);
            self.finish(clock, ExecutionStatus::Failed, None, Some("States.Runtime".into()), Some(cause));
            return false;
        }
        Self::append(&mut r, clock.now(), details);
        true
    }

    /// Closes the execution with its final event, unless it was closed already (stopped).
    fn finish(
        &self,
        clock: &VirtualClock,
        status: ExecutionStatus,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
    ) {
        let mut r = self.lock();
        if r.status != ExecutionStatus::Running {
            return;
        }
        let details = match status {
            ExecutionStatus::Succeeded => {
                EventDetails::ExecutionSucceeded { output: output.clone().unwrap_or(Value::Null) }
            }
            ExecutionStatus::TimedOut => EventDetails::ExecutionTimedOut { error: error.clone(), cause: cause.clone() },
            ExecutionStatus::Aborted => EventDetails::ExecutionAborted { error: error.clone(), cause: cause.clone() },
            ExecutionStatus::Failed | ExecutionStatus::Running => {
                EventDetails::ExecutionFailed { error: error.clone(), cause: cause.clone() }
            }
        };
        let now = clock.now();
        Self::append(&mut r, now, details);
        r.status = status;
        r.stop_date = Some(now);
        r.output = output;
        r.error = error;
        r.cause = cause;
        drop(r);
        if status == ExecutionStatus::Aborted {
            self.abort.send_replace(true);
        }
        self.done.send_replace(true);
    }

    /// StopExecution: closes a running execution as ABORTED and returns its stop date; a closed
    /// execution is left as it is.
    pub(crate) fn abort(&self, clock: &VirtualClock, error: Option<String>, cause: Option<String>) -> Timestamp {
        self.finish(clock, ExecutionStatus::Aborted, None, error, cause);
        self.lock().stop_date.unwrap_or_else(|| clock.now())
    }

    pub(crate) async fn wait_done(&self) {
        let mut rx = self.done.subscribe();
        // The sender lives in `self`, so this only returns once done is true.
        let _ = rx.wait_for(|d| *d).await;
    }
}

/// Why a state did not produce an output.
enum Stop {
    Fail(Failure),
    /// The record is closed already: stopped by StopExecution, or failed by a Fail state.
    Closed,
    TimedOut,
}

/// Step Functions' payload quota: a state's input (after Parameters), a task's result and a state's
/// output are each at most 256 KiB of UTF-8 JSON; beyond it the execution fails with
/// States.DataLimitExceeded.
pub const PAYLOAD_LIMIT_BYTES: usize = 262_144;
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// States.DataLimitExceeded when `value` serialized is beyond the payload quota.
fn within_payload_limit(value: &Value, what: &str, state: &str) -> Result<(), Failure> {
    let bytes = serde_json::to_string(value).map_or(0, |s| s.len());
    if bytes <= PAYLOAD_LIMIT_BYTES {
        return Ok(());
    }
    Err(Failure {
        error: DATA_LIMIT_EXCEEDED.into(),
        cause: format!(
            "The {what} of state '{state}' has a size of {bytes} bytes, beyond the maximum of {PAYLOAD_LIMIT_BYTES} \
             bytes (256 KiB) Step Functions allows for a state's data."
        ),
        kind: Kind::Terminal,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Reported by the task: Retry and Catch apply.
    Task,
    /// Path or intrinsic failures around a task: Catch applies, Retry does not.
    Catchable,
    /// States.Runtime: fails the execution whatever Catch says.
    Runtime,
    /// A terminal error (States.DataLimitExceeded): States.ALL does not match it, only its own name.
    Terminal,
}

struct Failure {
    error: String,
    cause: String,
    kind: Kind,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Fail(f)
    }
}

fn runtime(cause: String) -> Failure {
    Failure { error: "States.Runtime".into(), cause, kind: Kind::Runtime }
}

fn catchable(error: &str, cause: String) -> Failure {
    Failure { error: error.into(), cause, kind: Kind::Catchable }
}

/// Does `error` (of `kind`) match an ErrorEquals list?
fn error_matches(list: &[String], error: &str, kind: Kind) -> bool {
    list.iter().any(|e| match e.as_str() {
        "States.ALL" => kind != Kind::Runtime && kind != Kind::Terminal,
        // A wildcard for what a task reports, except a timeout.
        "States.TaskFailed" => kind == Kind::Task && error != "States.Timeout",
        name => name == error,
    })
}

enum Step {
    Next(String, Value),
    End(Value),
    Fail { error: Option<String>, cause: Option<String> },
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

struct Driver<'a, I> {
    def: &'a Definition,
    invoker: &'a I,
    clock: &'a VirtualClock,
    id: &'a ExecutionIdentity,
    cell: &'a Cell,
    breakpoints: Option<&'a Breakpoints>,
    input: Value,
    start: Timestamp,
    deadline: Option<Timestamp>,
    rng: u64,
}

impl<I: TaskInvoker> Driver<'_, I> {
    /// splitmix64: deterministic jitter from (seed, execution name).
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn push(&self, details: EventDetails) -> Result<(), Stop> {
        if self.cell.push(self.clock, details) { Ok(()) } else { Err(Stop::Closed) }
    }

    fn context(&self, state: &str, entered: Timestamp, retry_count: u32) -> Value {
        json!({
            "Execution": {
                "Id": self.id.execution_arn,
                "Input": self.input,
                "Name": self.id.execution_name,
                "RoleArn": self.id.role_arn,
                "StartTime": self.start.to_rfc3339(),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": entered.to_rfc3339(),
                "Name": state,
                "RetryCount": retry_count,
            },
            "StateMachine": {
                "Id": self.id.state_machine_arn,
                "Name": self.id.state_machine_name,
            },
        })
    }

    fn check_deadline(&self) -> Result<(), Stop> {
        match self.deadline {
            Some(d) if self.clock.now() > d => Err(Stop::TimedOut),
            _ => Ok(()),
        }
    }

    /// Virtual sleep: moves the clock to `until`, or to the machine deadline if that is sooner.
    fn sleep_until(&self, until: Timestamp) -> Result<(), Stop> {
        if let Some(d) = self.deadline
            && until > d
        {
            self.clock.advance_to(d);
            return Err(Stop::TimedOut);
        }
        self.clock.advance_to(until);
        Ok(())
    }

    async fn run(mut self) {
        let outcome = self.run_states().await;
        let (status, output, error, cause) = match outcome {
            Ok(out) => (ExecutionStatus::Succeeded, Some(out), None, None),
            Err(Stop::Closed) => return,
            Err(Stop::TimedOut) => (
                ExecutionStatus::TimedOut,
                None,
                Some("States.Timeout".into()),
                Some(format!(
                    "The execution exceeded the state machine's TimeoutSeconds ({} s).",
                    self.def.timeout_seconds.unwrap_or_default()
                )),
            ),
            Err(Stop::Fail(f)) => (ExecutionStatus::Failed, None, Some(f.error), Some(f.cause)),
        };
        self.cell.finish(self.clock, status, output, error, cause);
    }

    async fn run_states(&mut self) -> Result<Value, Stop> {
        self.push(EventDetails::ExecutionStarted { input: self.input.clone(), role_arn: self.id.role_arn.clone() })?;
        let mut name = self.def.start_at.clone();
        let mut input = self.input.clone();
        loop {
            // Let StopExecution and other executions in between states.
            tokio::task::yield_now().await;
            self.check_deadline()?;
            let def = self.def;
            let state = &def.states[&name];
            let state_type = state.state_type();
            let entered = self.clock.now();
            self.push(EventDetails::StateEntered { state_type, name: name.clone(), input: input.clone() })?;
            if let Some(b) = self.breakpoints {
                b.pass(&name, self.cell).await?;
            }
            match self.step(&name, state, &input, entered).await? {
                Step::Next(next, output) => {
                    within_payload_limit(&output, "output", &name)?;
                    self.push(EventDetails::StateExited { state_type, name: name.clone(), output: output.clone() })?;
                    name = next;
                    input = output;
                }
                Step::End(output) => {
                    within_payload_limit(&output, "output", &name)?;
                    self.push(EventDetails::StateExited { state_type, name: name.clone(), output: output.clone() })?;
                    return Ok(output);
                }
                Step::Fail { error, cause } => {
                    self.cell.finish(self.clock, ExecutionStatus::Failed, None, error, cause);
                    return Err(Stop::Closed);
                }
            }
        }
    }

    async fn step(&mut self, name: &str, state: &State, raw: &Value, entered: Timestamp) -> Result<Step, Stop> {
        let ctx = self.context(name, entered, 0);
        let transition = |t: &crate::definition::Transition, out: Value| match t {
            crate::definition::Transition::Next(n) => Step::Next(n.clone(), out),
            crate::definition::Transition::End => Step::End(out),
        };
        match &state.body {
            Body::Pass { result, parameters, result_path, transition: t } => {
                let effective = io_path(&state.input_path, raw, "InputPath")?;
                let value = match (parameters, result) {
                    (Some(p), _) => eval_template(p, &effective, &ctx)?,
                    (None, Some(r)) => r.clone(),
                    (None, None) => effective,
                };
                let merged = apply_result_path(result_path, raw, value)?;
                Ok(transition(t, io_path(&state.output_path, &merged, "OutputPath")?))
            }
            Body::Task { catch, .. } => match self.task(name, state, raw, entered).await {
                Ok(out) => Ok(out),
                Err(Stop::Fail(f)) if f.kind != Kind::Runtime => {
                    let Some(c) = catch.iter().find(|c| error_matches(&c.error_equals, &f.error, f.kind)) else {
                        return Err(Stop::Fail(f));
                    };
                    let err = json!({"Error": f.error, "Cause": f.cause});
                    let out = apply_result_path(&c.result_path, raw, err)
                        .map_err(|e| Failure { kind: Kind::Runtime, ..e })?;
                    Ok(Step::Next(c.next.clone(), out))
                }
                Err(e) => Err(e),
            },
            Body::Choice { choices, default } => {
                let effective = io_path(&state.input_path, raw, "InputPath")?;
                let mut next = None;
                for c in choices {
                    if c.rule.eval(&effective, &ctx).map_err(runtime)? {
                        next = Some(c.next.clone());
                        break;
                    }
                }
                let Some(next) = next.or_else(|| default.clone()) else {
                    return Err(Failure {
                        error: "States.NoChoiceMatched".into(),
                        cause: format!("No Matches! (state '{name}' has no Default)"),
                        kind: Kind::Runtime,
                    }
                    .into());
                };
                let out = io_path(&state.output_path, &effective, "OutputPath")?;
                Ok(Step::Next(next, out))
            }
            Body::Wait { wait, transition: t } => {
                let effective = io_path(&state.input_path, raw, "InputPath")?;
                let until = match wait {
                    WaitFor::Seconds(s) => entered.saturating_add(Duration::from_secs(*s)),
                    WaitFor::Timestamp(t) => *t,
                    WaitFor::SecondsPath(p) => {
                        let v = p.eval(&effective, &ctx);
                        let secs = v.as_ref().and_then(Value::as_u64).ok_or_else(|| {
                            runtime(format!(
                                "SecondsPath '{}' must name a non-negative integer, found {}",
                                p.as_str(),
                                v.map_or("nothing".into(), |v| v.to_string())
                            ))
                        })?;
                        entered.saturating_add(Duration::from_secs(secs))
                    }
                    WaitFor::TimestampPath(p) => {
                        let v = p.eval(&effective, &ctx);
                        v.as_ref().and_then(Value::as_str).and_then(Timestamp::parse_rfc3339).ok_or_else(|| {
                            runtime(format!(
                                "TimestampPath '{}' must name an RFC 3339 timestamp, found {}",
                                p.as_str(),
                                v.map_or("nothing".into(), |v| v.to_string())
                            ))
                        })?
                    }
                };
                self.sleep_until(until)?;
                Ok(transition(t, io_path(&state.output_path, &effective, "OutputPath")?))
            }
            Body::Succeed => {
                let effective = io_path(&state.input_path, raw, "InputPath")?;
                Ok(Step::End(io_path(&state.output_path, &effective, "OutputPath")?))
            }
            Body::Fail { error, cause } => {
                let text = |t: &Option<Text>, what: &str| -> Result<Option<String>, Failure> {
                    match t {
                        None => Ok(None),
                        Some(Text::Literal(s)) => Ok(Some(s.clone())),
                        Some(Text::Path(p)) => match p.eval(raw, &ctx) {
                            Some(Value::String(s)) => Ok(Some(s)),
                            other => Err(runtime(format!(
                                "{what} '{}' must name a string, found {}",
                                p.as_str(),
                                other.map_or("nothing".into(), |v| v.to_string())
                            ))),
                        },
                    }
                };
                Ok(Step::Fail { error: text(error, "ErrorPath")?, cause: text(cause, "CausePath")? })
            }
        }
    }

    fn retry_delay(&mut self, r: &Retrier, attempt: u64) -> Duration {
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(exp);
        if let Some(max) = r.max_delay_seconds {
            secs = secs.min(max as f64);
        }
        // Bounded so the conversion cannot overflow; no real retry waits a century.
        let millis = (secs * 1000.0).round().min(3.2e12) as u64;
        match r.jitter {
            Jitter::None => Duration::from_millis(millis),
            Jitter::Full => Duration::from_millis(self.next_random() % (millis + 1)),
        }
    }

    async fn task(&mut self, name: &str, state: &State, raw: &Value, entered: Timestamp) -> Result<Step, Stop> {
        let Body::Task {
            resource, parameters, result_selector, result_path, timeout_seconds, retry, transition, ..
        } = &state.body
        else {
            unreachable!("task() is only called for Task states");
        };
        let effective = io_path(&state.input_path, raw, "InputPath")?;
        let mut attempts = vec![0u64; retry.len()];
        let mut retry_count = 0u32;
        let result = loop {
            let ctx = self.context(name, entered, retry_count);
            let params = match parameters {
                Some(p) => eval_template(p, &effective, &ctx)?,
                None => effective.clone(),
            };
            within_payload_limit(&params, "input", name)?;
            self.push(EventDetails::TaskScheduled {
                resource: resource.clone(),
                parameters: params.clone(),
                timeout_seconds: *timeout_seconds,
            })?;
            self.push(EventDetails::TaskStarted { resource: resource.clone() })?;
            let started = self.clock.now();
            let timeout_at = timeout_seconds.map(|s| started.saturating_add(Duration::from_secs(s)));
            let task_ctx = TaskContext {
                execution_arn: self.id.execution_arn.clone(),
                execution_name: self.id.execution_name.clone(),
                state_machine_arn: self.id.state_machine_arn.clone(),
                state_name: name.to_string(),
                retry_count,
                entered_time: entered,
                timeout_at,
            };
            let mut abort = self.cell.abort.subscribe();
            let outcome = tokio::select! {
                // Polled first: a stopped execution drops its in-flight task even when the
                // task finished at the same moment; the result is never seen.
                biased;
                _ = abort.wait_for(|a| *a) => return Err(Stop::Closed),
                r = self.invoker.invoke(resource, params, &task_ctx) => r,
            };
            self.check_deadline()?;
            let outcome = match timeout_at {
                Some(t) if self.clock.now() > t => {
                    let e = TaskError::new("States.Timeout", "Task timed out.");
                    self.push(EventDetails::TaskTimedOut {
                        resource: resource.clone(),
                        error: e.error.clone(),
                        cause: e.cause.clone(),
                    })?;
                    Err(e)
                }
                _ => {
                    self.push(match &outcome {
                        Ok(v) => EventDetails::TaskSucceeded { resource: resource.clone(), output: v.clone() },
                        Err(e) => EventDetails::TaskFailed {
                            resource: resource.clone(),
                            error: e.error.clone(),
                            cause: e.cause.clone(),
                        },
                    })?;
                    outcome
                }
            };
            match outcome {
                Ok(v) => {
                    within_payload_limit(&v, "task result", name)?;
                    break v;
                }
                Err(e) => {
                    // The first retrier that names the error decides; once it is spent, Catch.
                    let pick = retry.iter().position(|r| error_matches(&r.error_equals, &e.error, Kind::Task));
                    match pick {
                        Some(i) if attempts[i] < retry[i].max_attempts => {
                            let delay = self.retry_delay(&retry[i], attempts[i]);
                            attempts[i] += 1;
                            retry_count += 1;
                            self.sleep_until(self.clock.now().saturating_add(delay))?;
                            tokio::task::yield_now().await;
                        }
                        _ => {
                            return Err(Failure { error: e.error, cause: e.cause, kind: Kind::Task }.into());
                        }
                    }
                }
            }
        };
        let ctx = self.context(name, entered, retry_count);
        let selected = match result_selector {
            Some(t) => eval_template(t, &result, &ctx)?,
            None => result,
        };
        let merged = apply_result_path(result_path, raw, selected)?;
        let out = io_path(&state.output_path, &merged, "OutputPath")?;
        Ok(match transition {
            crate::definition::Transition::Next(n) => Step::Next(n.clone(), out),
            crate::definition::Transition::End => Step::End(out),
        })
    }
}

fn io_path(p: &IoPath, v: &Value, what: &str) -> Result<Value, Failure> {
    match p {
        IoPath::Identity => Ok(v.clone()),
        IoPath::Empty => Ok(json!({})),
        IoPath::Path(path) => path.eval(v, &Value::Null).ok_or_else(|| {
            runtime(format!(
                "Invalid path '{}' in {what}: the path references nothing in the state's data.",
                path.as_str()
            ))
        }),
    }
}

fn eval_template(t: &Template, input: &Value, ctx: &Value) -> Result<Value, Failure> {
    t.eval(input, ctx).map_err(|e| match e {
        EvalError::Path(m) => catchable("States.ParameterPathFailure", m),
        EvalError::Intrinsic(m) => catchable("States.IntrinsicFailure", m),
    })
}

fn apply_result_path(rp: &ResultPath, raw: &Value, result: Value) -> Result<Value, Failure> {
    match rp {
        ResultPath::Discard => Ok(raw.clone()),
        ResultPath::At(p) => {
            let mut out = raw.clone();
            p.set(&mut out, result).map_err(|m| {
                catchable(
                    "States.ResultPathMatchFailure",
                    format!("Unable to apply ResultPath '{}' to the state's input: {m}", p.as_str()),
                )
            })?;
            Ok(out)
        }
    }
}

/// Pausing executions as they enter a named state: a hook for tests and tools that must act while an
/// execution is in a state that takes no time (a Pass, a Choice, a Wait in virtual time), e.g. to stop
/// it there. A paused execution has recorded its StateEntered event and does nothing more until the
/// state is resumed or the execution is stopped. Nothing pauses unless asked.
#[derive(Default)]
pub(crate) struct Breakpoints {
    state: watch::Sender<BreakState>,
}

#[derive(Default)]
struct BreakState {
    states: std::collections::BTreeSet<String>,
    /// Executions paused now, per state.
    paused: std::collections::BTreeMap<String, usize>,
}

impl Breakpoints {
    pub(crate) fn pause_at(&self, state: &str) {
        self.state.send_modify(|s| {
            s.states.insert(state.to_string());
        });
    }

    pub(crate) fn resume(&self, state: &str) {
        self.state.send_modify(|s| {
            s.states.remove(state);
        });
    }

    pub(crate) fn paused(&self, state: &str) -> usize {
        self.state.borrow().paused.get(state).copied().unwrap_or(0)
    }

    pub(crate) async fn until_paused(&self, state: &str, count: usize) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| s.paused.get(state).copied().unwrap_or(0) >= count).await;
    }

    /// Waits while `state` is a breakpoint; Err(Closed) when the execution is stopped meanwhile.
    async fn pass(&self, state: &str, cell: &Cell) -> Result<(), Stop> {
        let mut rx = self.state.subscribe();
        if !rx.borrow_and_update().states.contains(state) {
            return Ok(());
        }
        self.state.send_modify(|s| *s.paused.entry(state.to_string()).or_default() += 1);
        let mut abort = cell.abort.subscribe();
        let stopped = tokio::select! {
            _ = rx.wait_for(|s| !s.states.contains(state)) => false,
            _ = abort.wait_for(|a| *a) => true,
        };
        self.state.send_modify(|s| {
            if let Some(n) = s.paused.get_mut(state) {
                *n = n.saturating_sub(1);
            }
        });
        if stopped { Err(Stop::Closed) } else { Ok(()) }
    }
}

/// Runs the execution recorded in `cell` to its end (or until it is stopped).
pub(crate) async fn drive<I: TaskInvoker>(
    def: &Definition,
    invoker: &I,
    clock: &VirtualClock,
    id: &ExecutionIdentity,
    cell: &Cell,
    seed: u64,
    breakpoints: Option<&Breakpoints>,
) {
    let (input, start) = cell.with(|r| (r.input.clone(), r.start_date));
    let driver = Driver {
        def,
        invoker,
        clock,
        id,
        cell,
        breakpoints,
        input,
        start,
        deadline: def.timeout_seconds.map(|s| start.saturating_add(Duration::from_secs(s))),
        rng: seed ^ fnv1a(&id.execution_name),
    };
    driver.run().await;
}

/// Runs one execution to its end, outside any registry; `seed` makes FULL jitter reproducible.
pub async fn run_execution<I: TaskInvoker>(
    definition: &Definition,
    invoker: &I,
    clock: &VirtualClock,
    identity: &ExecutionIdentity,
    input: Value,
    seed: u64,
) -> ExecutionSnapshot {
    let cell = Cell::new(clock.now(), input);
    drive(definition, invoker, clock, identity, &cell, seed, None).await;
    cell.snapshot()
}
