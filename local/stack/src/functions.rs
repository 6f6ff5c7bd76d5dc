//! The seven handlers registered as Lambda functions in-process. Each is called with the handler code a
//! deployment runs and reports its errors under the same `errorType` a deployed Lambda reports, so the
//! state machine's Retry and Catch behave the same.

use functions_common::{Clock, Env, LambdaError, SdkConfig};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use local_cloud::{FunctionError, FunctionRef, Functions};
use local_iam::Authorizer;
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

/// The notifier handed to teardown: what SNS would take, kept, once teardown's role may publish to
/// the topic it is given.
#[derive(Clone)]
pub struct SharedNotifier {
    pub published: Arc<LocalNotifier>,
    authorizer: Arc<Authorizer>,
    /// The function's logical id in the template: whose role publishes.
    role_of: &'static str,
    /// The topic the function's environment names.
    topic_arn: String,
}

impl SharedNotifier {
    fn publish(&self, subject: &str, message: &str) -> Result<bool, PipelineError> {
        crate::iam::publish(&self.authorizer, self.role_of, &self.topic_arn).map_err(PipelineError::AccessDenied)?;
        self.published
            .published
            .lock()
            .map_err(|e| PipelineError::Internal(e.to_string()))?
            .push((subject.into(), message.into()));
        Ok(true)
    }
}

/// The reaper publishes its report where teardown publishes summaries.
impl reaper::Publish for SharedNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<bool, PipelineError> {
        SharedNotifier::publish(self, subject, message)
    }
}

impl Notifier for SharedNotifier {
    async fn notify(&self, subject: &str, message: &str, _summary: &RunSummary) -> Result<bool, PipelineError> {
        SharedNotifier::publish(self, subject, message)
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
    /// An error when its environment lacks what it needs (every call then answers with it).
    reaper: Result<reaper::Deps<VirtualTime, SharedNotifier>, PipelineError>,
    pub notifier: Arc<LocalNotifier>,
    /// The stack's IAM: the state machine's invokes are decided by its role.
    pub authorizer: Arc<Authorizer>,
    /// Invocations per function, in order (name, errorType or None).
    pub invocations: Mutex<Vec<(String, Option<String>)>>,
    holds: Holds,
    /// Errors to answer instead of running a handler: function -> (errorType, calls left).
    injected: Mutex<BTreeMap<String, (String, usize)>>,
}

/// The functions of the stack the local cloud calls by name (the state machine's six and the reaper).
pub const FUNCTION_NAMES: [&str; 7] =
    ["validate-split", "start-job", "check-status", "provision", "evaluate", "teardown", "reaper"];
/// The function Bedrock calls during reinforcement fine-tuning (not a state of the pipeline).
pub const REWARD_FUNCTION: &str = "grader";

impl Lambdas {
    /// Each function wired by its own `Deps::from_env`, as its Lambda `main` wires it, with the
    /// environment `env` gives that function (see [`crate::LocalCloud::start`]) and the local ports: the
    /// virtual clock, and the notifier that stands in for SNS.
    /// `sdk` gives each function (by name) its SDK settings: the local endpoints and its role's
    /// credentials.
    pub fn new(
        sdk: impl Fn(&str) -> SdkConfig,
        clock: VirtualTime,
        env: impl Fn(&str) -> Env,
        authorizer: Arc<Authorizer>,
    ) -> Lambdas {
        let notifier = Arc::new(LocalNotifier::default());
        let teardown_env = env("teardown");
        let reaper_env = env("reaper");
        let notifier_for = |role_of: &'static str, env: &Env| SharedNotifier {
            published: notifier.clone(),
            authorizer: authorizer.clone(),
            role_of,
            topic_arn: env.get("TOPIC_ARN").unwrap_or_default(),
        };
        let teardown_notifier = notifier_for("TeardownFunction", &teardown_env);
        let reaper_notifier = notifier_for("ReaperFunction", &reaper_env);
        Lambdas {
            validate_split: validate_split::Deps::from_env(&sdk("validate-split"), &env("validate-split")),
            start_job: start_job::Deps::from_env(&sdk("start-job"), &env("start-job"), clock.clone()),
            check_status: check_status::Deps::from_env(&sdk("check-status"), &env("check-status"), clock.clone()),
            provision: provision::Deps::from_env(&sdk("provision"), &env("provision"), clock.clone()),
            evaluate: evaluate::Deps::from_env(&sdk("evaluate"), &env("evaluate"), clock.clone()),
            teardown: teardown::Deps::from_env(&sdk("teardown"), &teardown_env, clock.clone(), teardown_notifier),
            reaper: reaper::Deps::from_env(&sdk("reaper"), &reaper_env, clock, reaper_notifier),
            grader: {
                let env = env(REWARD_FUNCTION);
                grader::Deps::from_lookup(|name| env.get(name)).map_err(|e| e.to_string())
            },
            notifier,
            authorizer,
            invocations: Mutex::new(Vec::new()),
            holds: Holds::default(),
            injected: Mutex::new(BTreeMap::new()),
        }
    }

    /// Invokes one function by name with a JSON event, as Lambda would.
    pub async fn call(&self, name: &str, payload: Value) -> Result<Value, FunctionError> {
        self.holds.pass(name).await;
        if let Some(error_type) = self.take_injected(name) {
            let error = FunctionError::new(error_type, format!("{name}: error injected by the local cloud"));
            if let Ok(mut log) = self.invocations.lock() {
                log.push((name.to_string(), Some(error.error_type.clone())));
            }
            return Err(error);
        }
        let result = match name {
            "validate-split" => run(payload, |ev| validate_split::handler(&self.validate_split, ev)).await,
            "start-job" => run(payload, |ev| start_job::handler(&self.start_job, ev)).await,
            "check-status" => run(payload, |ev| check_status::handler(&self.check_status, ev)).await,
            "provision" => run(payload, |ev| provision::handler(&self.provision, ev)).await,
            "evaluate" => run(payload, |ev| evaluate::handler(&self.evaluate, ev)).await,
            "teardown" => run(payload, |ev| teardown::handler(&self.teardown, ev)).await,
            REWARD_FUNCTION => self.grade(&payload),
            "reaper" => match &self.reaper {
                Ok(deps) => run(payload, |ev| reaper::handler(deps, ev)).await,
                Err(e) => Err(FunctionError::new(e.error_type(), e.to_string())),
            },
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

    /// The next `count` calls to `name` answer `error_type` (as the function's error) without running
    /// its handler: a hook for tests that need a step to fail in a given way, like the holds below.
    pub fn fail_next(&self, name: &str, error_type: &str, count: usize) {
        if let Ok(mut injected) = self.injected.lock() {
            if count == 0 {
                injected.remove(name);
            } else {
                injected.insert(name.to_string(), (error_type.to_string(), count));
            }
        }
    }

    fn take_injected(&self, name: &str) -> Option<String> {
        let mut injected = self.injected.lock().ok()?;
        let (error_type, left) = injected.get_mut(name)?;
        let error_type = error_type.clone();
        *left -= 1;
        if *left == 0 {
            injected.remove(name);
        }
        Some(error_type)
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
        // Step Functions invokes as the state machine's role.
        crate::iam::state_machine_invokes(&self.0.authorizer, resource)
            .map_err(|(error, cause)| TaskError::new(error, cause))?;
        self.0.call(function.name, input).await.map_err(|e| TaskError::new(e.error_type, e.error_message))
    }
}
