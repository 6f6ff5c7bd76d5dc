//! The local cloud, assembled: S3 over a folder (with the bucket notification template.yaml
//! configures), the Bedrock emulator, the Step Functions API running statemachine/pipeline.asl.json with
//! template.yaml's DefinitionSubstitutions, and the six Lambda handlers in-process — the same handler
//! code a deployment runs, wired by the same `Deps::from_env` with the environment template.yaml gives
//! each function, with real AWS SDK clients pointed at loopback endpoints. Step Functions and the
//! emulator share one virtual clock, so a two-hour training job takes milliseconds.

pub mod env_file;
mod external;
mod functions;
pub mod iam;
pub mod persist;
mod template;

pub use external::{AdvanceOnPoll, poll_wait};
pub use functions::{FUNCTION_NAMES, Invoker, Lambdas, LocalNotifier, LocalRewards, REWARD_FUNCTION, VirtualTime};
pub use template::{
    LocalNames, TemplateError, deployed_bucket_name, deployed_bucket_name_in, function_arn, function_environment,
    function_logical_ids, substitutions, substitutions_in, template_parameters,
};

use functions_common::{Env, defaults_from};
use local_bedrock::{Emulator, FsStore};
pub use local_bedrock::{FaultSpec, FaultSpecError};
pub use local_cloud::Endpoints;
use local_cloud::{FunctionError, LocalLambda, LocalS3};
use local_sfn::{Config as SfnConfig, StepFunctions, VirtualClock};
use serde_json::Value;
use shared::pipeline::PipelineConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The definition and template this build ships: the local cloud runs exactly what deploys.
pub const DEFINITION: &str = include_str!("../../../statemachine/pipeline.asl.json");
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The local stack's default region ([`Options::region`] moves it).
pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";
pub const BUCKET: &str = "finetune-local";
/// `${AWS::StackName}` in template.yaml.
pub const STACK_NAME: &str = "finetune";
/// template.yaml names it `${AWS::StackName}-pipeline`.
pub const STATE_MACHINE_NAME: &str = "finetune-pipeline";
/// The service role the local jobs run as (the emulator checks its shape, as Bedrock does).
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/finetune-local-bedrock";
/// The topic teardown is told to publish to in the default region ([`topic_arn`] for another); the
/// local notifier keeps what is published instead.
pub const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:finetune-local-notifications";

/// The notification topic of the local stack deployed in `region`.
pub fn topic_arn(region: &str) -> String {
    format!("arn:aws:sns:{region}:{ACCOUNT_ID}:finetune-local-notifications")
}

/// What the local cloud adds to every function's template environment: how to reach the local services
/// and how fast to retry the emulator's injected throttling (milliseconds, not seconds: it is not real
/// load). `TMPDIR` (the work folder) is added per cloud.
pub const LOCAL_ENVIRONMENT: [(&str, &str); 5] = [
    ("FINETUNE_LOCAL_CLOUD", "1"),
    ("FINETUNE_S3_PATH_STYLE", "true"),
    ("CONVERSE_MAX_ATTEMPTS", "8"),
    ("CONVERSE_RETRY_BASE_MILLIS", "2"),
    ("CONVERSE_RETRY_MAX_MILLIS", "20"),
];

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("local cloud I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Config(String),
    #[error("the state machine definition was refused: {0}")]
    StateMachine(String),
    #[error("bad --fault spec: {0}")]
    Faults(String),
    #[error("the template's IAM policies: {0}")]
    Iam(#[from] iam::IamError),
    #[error("{0}")]
    State(String),
}

pub struct Options {
    /// The local cloud's data folder: the bucket's objects appear in `<data_dir>/<bucket>/<key>`;
    /// everything else (S3's own metadata files, the handlers' work files, the command line's
    /// bookkeeping) lives under `<data_dir>/.finetune/`, out of the user's way ([`bookkeeping_dir`]).
    pub data_dir: PathBuf,
    /// Bedrock faults, e.g. `throttle=0.3,seed=7` (see local-bedrock's FaultSpec).
    pub faults: Option<String>,
    /// Template parameter overrides (`sam deploy --parameter-overrides`): the deployment defaults.
    pub parameters: BTreeMap<String, String>,
    /// For an external engine that skips its Wait states: the Lambda Invoke API moves the virtual
    /// clock by the poll loop's wait before each check-status call (see `AdvanceOnPoll`). Off by
    /// default; our own engine's Waits move the clock themselves and must not be doubled.
    pub advance_clock_on_poll: bool,
    /// The region the whole local stack is deployed in (default [`REGION`]): which models the emulated
    /// Bedrock customizes (Llama and Claude are offered in us-west-2 only), and every ARN, endpoint
    /// region, trust condition and topic of the stack, as a deployment in that region has them.
    pub region: String,
    /// How long the emulator keeps a new provisioned throughput `Creating` (default: its own, 15
    /// minutes): longer makes teardown's wait loop and the reaper reachable in tests.
    pub throughput_ready_after: Option<Duration>,
    /// The SAM template the local stack is made from (each function's environment, the definition's
    /// substitutions, every role and resource policy): by default [`TEMPLATE`], the one that deploys.
    pub template: String,
    /// The state machine definition: by default [`DEFINITION`].
    pub definition: String,
    /// Serve on fixed ports from this one up (S3, Bedrock and Bedrock Runtime, Step Functions,
    /// Lambda, SNS: [`PORT_OFFSETS`]), so a client's settings stay valid across restarts. `None`:
    /// free ports, for a cloud only this process uses.
    pub base_port: Option<u16>,
    /// For clients that poll Bedrock in real time (a script waiting for its job, `finetune local
    /// serve`): each GetModelCustomizationJob, GetProvisionedModelThroughput or
    /// GetCustomModelDeployment first moves the virtual clock by this much, so a job of hours
    /// finishes after some dozens of polls. `None` (the default): only Step Functions' Waits move it.
    pub advance_clock_on_bedrock_poll: Option<Duration>,
    /// Keep the emulated account, the executions and what was published in
    /// `<data_dir>/.finetune/state.json` ([`persist`]): restored at start, saved by
    /// [`LocalCloud::save_state`]. Off by default (a `finetune run` starts from nothing).
    pub persist: bool,
    /// Deliver EventBridge's "Execution Status Change" events to teardown, as the template's rule does
    /// (the default). Off: as if the rule were disabled, for a check that compares only what the
    /// state machine itself invokes (the event reaches teardown at a moment of its own).
    pub status_events: bool,
}

/// The port of each service, from `Options::base_port`: S3, Bedrock (control plane and runtime on
/// one port), Step Functions, Lambda, SNS.
pub const PORT_OFFSETS: [(&str, u16); 5] = [("S3", 0), ("Bedrock", 1), ("SFN", 2), ("Lambda", 3), ("SNS", 4)];

fn port(base: Option<u16>, service: &str) -> u16 {
    let offset = PORT_OFFSETS.iter().find(|(s, _)| *s == service).map_or(0, |(_, o)| *o);
    base.map_or(0, |b| b.saturating_add(offset))
}

impl Options {
    pub fn new(data_dir: impl Into<PathBuf>) -> Options {
        Options {
            data_dir: data_dir.into(),
            faults: None,
            parameters: BTreeMap::new(),
            advance_clock_on_poll: false,
            base_port: None,
            advance_clock_on_bedrock_poll: None,
            persist: false,
            status_events: true,
            region: REGION.to_string(),
            throughput_ready_after: None,
            template: TEMPLATE.to_string(),
            definition: DEFINITION.to_string(),
        }
    }
}

/// Where the local cloud keeps its own files in a data folder: S3's store (objects and its
/// `.bucket-*` metadata files), the handlers' work files, and whatever a client records there (the
/// command line's re-run memo).
pub fn bookkeeping_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(".finetune")
}

/// The environment of one function on the local cloud: template.yaml's variables for it (parameters at
/// their defaults or `parameters`), then [`LOCAL_ENVIRONMENT`] and `TMPDIR`.
pub fn function_env(
    function: &str,
    parameters: &BTreeMap<String, String>,
    work_dir: &Path,
) -> Result<BTreeMap<String, String>, TemplateError> {
    function_env_in(TEMPLATE, function, parameters, work_dir)
}

/// [`function_env_in`] for the stack deployed in `region`.
pub fn function_env_in_region(
    template: &str,
    function: &str,
    parameters: &BTreeMap<String, String>,
    work_dir: &Path,
    region: &str,
) -> Result<BTreeMap<String, String>, TemplateError> {
    let mut vars = function_environment(template, &LocalNames::in_region(region), parameters, function)?;
    vars.extend(LOCAL_ENVIRONMENT.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars.insert("TMPDIR".into(), work_dir.display().to_string());
    Ok(vars)
}

/// [`function_env`] from another template (`finetune run --template`).
pub fn function_env_in(
    template: &str,
    function: &str,
    parameters: &BTreeMap<String, String>,
    work_dir: &Path,
) -> Result<BTreeMap<String, String>, TemplateError> {
    function_env_in_region(template, function, parameters, work_dir, REGION)
}

/// The deployment defaults a fresh local cloud runs with: what validate-split reads from the
/// environment template.yaml gives it, with the parameters' defaults (the sample's model, on-demand
/// deployment, the local service role).
pub fn default_config() -> Result<PipelineConfig, StackError> {
    default_config_in(TEMPLATE, &BTreeMap::new())
}

/// [`default_config`] from another template and parameter overrides (`finetune run --template
/// --parameter`).
pub fn default_config_in(template: &str, parameters: &BTreeMap<String, String>) -> Result<PipelineConfig, StackError> {
    let vars = function_environment(template, &LocalNames::default(), parameters, "validate-split")?;
    defaults_from(&Env::from_vars(vars)).map_err(|e| StackError::Config(e.to_string()))
}

/// A running local cloud. Dropping it stops its servers.
pub struct LocalCloud {
    /// The region the stack is deployed in ([`Options::region`]).
    pub region: String,
    pub clock: VirtualClock,
    pub data_dir: PathBuf,
    pub endpoints: Endpoints,
    pub s3: LocalS3,
    pub s3_client: aws_sdk_s3::Client,
    pub emulator: Emulator,
    pub sfn: StepFunctions<Invoker>,
    pub state_machine_arn: String,
    pub lambdas: Arc<Lambdas>,
    /// The Lambda Invoke API, for engines outside this process.
    pub lambda_api: LocalLambda,
    /// validate-split's answers to S3 notifications, in order.
    uploads: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Result<Value, FunctionError>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Aborted or timed-out executions whose teardown has been started (by the watcher or a stop).
    torn_down: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Whether the template lets EventBridge invoke teardown.
    teardown_on_abort: bool,
}

impl LocalCloud {
    pub async fn start(options: Options) -> Result<LocalCloud, StackError> {
        let data_dir = options.data_dir;
        let s3_root = bookkeeping_dir(&data_dir).join("s3");
        let work_dir = bookkeeping_dir(&data_dir).join("work");
        std::fs::create_dir_all(&s3_root)?;
        std::fs::create_dir_all(&work_dir)?;
        let clock = VirtualClock::starting_now();
        // Resolved once: every request of the run is decided against these policies.
        let region = options.region.clone();
        let names = LocalNames::in_region(&region);
        let authorizer = Arc::new(iam::authorizer_in(&options.template, &options.parameters, &names)?);

        let bind = |service: &'static str| {
            let port = port(options.base_port, service);
            async move {
                TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot listen on 127.0.0.1:{port} for {service}: {e}"))
                })
            }
        };
        let s3_port = port(options.base_port, "S3");
        let (_, s3) = LocalS3::start_with(s3_root.clone(), &region, Some(authorizer.clone()), s3_port)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on 127.0.0.1:{s3_port} for S3: {e}")))?;
        s3.create_bucket(BUCKET)?;
        bucket_view(&data_dir, &s3_root)?;

        let faults: FaultSpec = match &options.faults {
            Some(spec) => spec.parse().map_err(|e| StackError::Faults(format!("{e}")))?,
            None => FaultSpec::default(),
        };
        let mut bedrock_config =
            local_bedrock::Config { faults, region: region.clone(), ..local_bedrock::Config::default() };
        if let Some(after) = options.throughput_ready_after {
            bedrock_config.throughput_ready_after = after;
        }
        let emulator = Emulator::new(FsStore::new(&s3_root), clock.clone(), bedrock_config);
        let saved = if options.persist { persist::load(&data_dir)? } else { None };
        if let Some(saved) = &saved {
            clock.advance_to(local_sfn::Timestamp::from_epoch_millis(saved.clock_millis));
            emulator.restore(&saved.bedrock_bytes()).map_err(|e| persist::refused(&data_dir, &e))?;
        }
        let bedrock_listener = bind("Bedrock").await?;
        let sfn_listener = bind("SFN").await?;
        let sns_listener = bind("SNS").await?;

        let mut endpoints = Endpoints::new(&region);
        endpoints.s3 = Some(s3.url());
        let bedrock_url = format!("http://{}", bedrock_listener.local_addr()?);
        endpoints.bedrock = Some(bedrock_url.clone());
        endpoints.bedrock_runtime = Some(bedrock_url);
        endpoints.sfn = Some(format!("http://{}", sfn_listener.local_addr()?));

        let sdk = local_sdk_config(&endpoints).await;
        let logical_ids = function_logical_ids(&options.template)?;
        let s3_client =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        let state_machine_arn = format!("arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{STATE_MACHINE_NAME}");
        let mut environments = BTreeMap::new();
        for function in FUNCTION_NAMES.into_iter().chain([REWARD_FUNCTION]) {
            let vars = function_env_in_region(&options.template, function, &options.parameters, &work_dir, &region)?;
            environments.insert(function, Env::from_vars(vars));
        }
        // Each function's clients sign as its role, as Lambda hands a function its role's credentials.
        let role_sdk = |function: &str| {
            let logical = logical_ids.get(function).map_or(function, String::as_str);
            sdk.clone()
                .into_builder()
                .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(iam::credentials(
                    &authorizer,
                    logical,
                )))
                .build()
        };
        let lambdas = Arc::new(Lambdas::new(
            role_sdk,
            VirtualTime(clock.clone()),
            |function| {
                environments.get(function).cloned().unwrap_or_else(|| Env::from_vars(BTreeMap::<String, String>::new()))
            },
            authorizer.clone(),
        ));
        // Bedrock calls the grader Lambda during reinforcement fine-tuning.
        emulator.set_reward_function(Arc::new(LocalRewards(lambdas.clone())));

        let sfn = StepFunctions::new(
            Invoker(lambdas.clone()),
            clock.clone(),
            SfnConfig { region: region.clone(), account_id: ACCOUNT_ID.into(), seed: 0 },
        );
        let definition =
            local_sfn::substitute_definition(&options.definition, &substitutions_in(&options.template, &names)?)
                .map_err(|e| StackError::StateMachine(e.to_string()))?;
        let machine = sfn
            .create_state_machine(STATE_MACHINE_NAME, &definition, ROLE_ARN)
            .map_err(|e| StackError::StateMachine(e.to_string()))?;
        debug_assert_eq!(machine.arn, state_machine_arn);
        // Executions come back before anything watches them: those that had closed were handled by
        // the last server; one it left running is aborted now and torn down by the watcher below.
        let torn_down = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        if let Some(saved) = saved {
            let closed: Vec<String> = saved
                .executions
                .iter()
                .filter(|e| e.record.status != local_sfn::ExecutionStatus::Running)
                .map(|e| e.identity.execution_arn.clone())
                .collect();
            sfn.restore_executions(saved.executions, persist::ABORTED_BY_RESTART);
            persist::lock(&torn_down).extend(closed);
            persist::lock(&lambdas.notifier.published).extend(saved.published);
        }

        let mut tasks = Vec::new();
        let mut bedrock_router = local_bedrock::router_enforcing(emulator.clone(), authorizer.clone());
        if let Some(step) = options.advance_clock_on_bedrock_poll {
            bedrock_router = bedrock_router
                .layer(axum::middleware::from_fn_with_state((clock.clone(), step), advance_on_bedrock_poll));
        }
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(bedrock_listener, bedrock_router).await;
        }));
        let served = iam::sfn_router(sfn.clone(), authorizer.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(sfn_listener, served).await;
        }));
        let lambda_port = port(options.base_port, "Lambda");
        let (_, lambda_api) = if options.advance_clock_on_poll {
            let functions = Arc::new(AdvanceOnPoll { lambdas: lambdas.clone(), clock: clock.clone() });
            LocalLambda::start_enforcing_on(functions, &region, authorizer.clone(), lambda_port).await?
        } else {
            LocalLambda::start_enforcing_on(lambdas.clone(), &region, authorizer.clone(), lambda_port).await?
        };
        endpoints.lambda = Some(lambda_api.url());
        // SNS for clients outside the process; what they publish is kept with teardown's summaries.
        endpoints.sns = Some(format!("http://{}", sns_listener.local_addr()?));
        let published = lambdas.notifier.clone();
        let topics = vec![names.topic_arn.clone()];
        tasks.push(tokio::spawn(async move {
            let _ = local_cloud::serve_sns(sns_listener, topics, move |_topic: &str, subject: &str, message: &str| {
                if let Ok(mut kept) = published.published.lock() {
                    kept.push((subject.to_string(), message.to_string()));
                }
            })
            .await;
        }));

        // S3 notifications reach validate-split asynchronously, as on AWS.
        let (upload_tx, upload_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut notifications = s3.subscribe();
        let notified = lambdas.clone();
        let gate = authorizer.clone();
        let validate_split = names.function_arn("validate-split");
        tasks.push(tokio::spawn(async move {
            // S3 invokes the function through the function's resource policy, as the bucket's service.
            let bucket_arn = format!("arn:aws:s3:::{}", gate.deployed_bucket(BUCKET));
            while let Some(event) = notifications.recv().await {
                let invoked = iam::service_invokes(&gate, "s3.amazonaws.com", &validate_split, &bucket_arn);
                let answer = match invoked {
                    Ok(()) => notified.call("validate-split", event).await,
                    // Lambda refuses S3's invoke: no function runs, the upload starts nothing.
                    Err(refused) => Err(FunctionError::new("AccessDeniedException", refused.message())),
                };
                if upload_tx.send(answer).is_err() {
                    break;
                }
            }
        }));

        // EventBridge's "Step Functions Execution Status Change" for aborted and timed-out runs.
        // EventBridge invokes teardown through its resource policy, as the template's rule.
        let teardown = names.function_arn("teardown");
        let rule = iam::rule_arn(&authorizer, &teardown).unwrap_or_default();
        let teardown_on_abort = iam::service_invokes(&authorizer, "events.amazonaws.com", &teardown, &rule).is_ok();
        if options.status_events {
            tasks.push(tokio::spawn(watch_stopped_executions(
                sfn.clone(),
                lambdas.clone(),
                state_machine_arn.clone(),
                teardown_on_abort,
                torn_down.clone(),
            )));
        }

        Ok(LocalCloud {
            region,
            clock,
            data_dir,
            endpoints,
            s3,
            s3_client,
            emulator,
            sfn,
            state_machine_arn,
            lambdas,
            lambda_api,
            uploads: tokio::sync::Mutex::new(upload_rx),
            tasks,
            torn_down,
            teardown_on_abort,
        })
    }

    /// Uploads a dataset to `incoming/<name>` (optionally with a sidecar config), as a user would.
    pub async fn upload(&self, file: &Path, name: &str, sidecar: Option<&Value>) -> Result<String, StackError> {
        let key = format!("{}{name}", shared::pipeline::layout::INCOMING_PREFIX);
        if let Some(config) = sidecar {
            let body = serde_json::to_vec(config).map_err(std::io::Error::other)?;
            self.s3_client
                .put_object()
                .bucket(BUCKET)
                .key(shared::pipeline::layout::sidecar_key(&key))
                .body(body.into())
                .send()
                .await
                .map_err(|e| std::io::Error::other(format!("upload sidecar: {e}")))?;
        }
        let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
            .await
            .map_err(|e| std::io::Error::other(format!("read {}: {e}", file.display())))?;
        self.s3_client
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(|e| std::io::Error::other(format!("upload {}: {e}", file.display())))?;
        Ok(key)
    }

    /// validate-split's answer to the next S3 notification (`NotificationResult` as JSON).
    pub async fn next_upload_result(&self, timeout: Duration) -> Option<Result<Value, FunctionError>> {
        let mut rx = self.uploads.lock().await;
        tokio::time::timeout(timeout, rx.recv()).await.ok().flatten()
    }

    /// A local path of an object in the bucket: under the bucket's view `<data_dir>/<bucket>/` where
    /// it could be made, otherwise in S3's store.
    /// Writes an object to the local bucket through its S3 API, as any writer of the bucket would.
    pub async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StackError> {
        self.s3_client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| std::io::Error::other(format!("put {key}: {e}")))?;
        Ok(())
    }

    pub fn object_path(&self, key: &str) -> PathBuf {
        let view = self.data_dir.join(BUCKET);
        let bucket = if view.is_dir() { view } else { bookkeeping_dir(&self.data_dir).join("s3").join(BUCKET) };
        bucket.join(key)
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `<data_dir>/<bucket>`: a link to the bucket's folder in S3's store, so a person sees the bucket's
/// objects without the store's metadata files beside them. S3 (s3s-fs) keeps those files in its root,
/// next to each bucket's folder, and lists only real folders as buckets: hence the link points in,
/// not out. Where links cannot be made (not Unix), paths point into the store.
fn bucket_view(data_dir: &Path, s3_root: &Path) -> std::io::Result<()> {
    let view = data_dir.join(BUCKET);
    if view.symlink_metadata().is_ok() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        let target = s3_root.strip_prefix(data_dir).unwrap_or(s3_root).join(BUCKET);
        std::os::unix::fs::symlink(target, view)?;
    }
    #[cfg(not(unix))]
    let _ = s3_root;
    Ok(())
}

/// Moves the virtual clock by `step` before each read of one job, throughput or deployment: the
/// reads a client polls with (lists and everything else pass as they are).
async fn advance_on_bedrock_poll(
    axum::extract::State((clock, step)): axum::extract::State<(VirtualClock, Duration)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if is_bedrock_poll(request.method(), request.uri().path()) {
        clock.advance(step);
    }
    next.run(request).await
}

fn is_bedrock_poll(method: &axum::http::Method, path: &str) -> bool {
    let polled = [
        "/model-customization-jobs/",
        "/provisioned-model-throughput/",
        "/model-customization/custom-model-deployments/",
    ];
    method == axum::http::Method::GET
        && polled
            .iter()
            .any(|prefix| path.strip_prefix(prefix).is_some_and(|id| !id.is_empty() && !id.ends_with("/stop")))
}

/// SDK settings for loopback: test credentials, local endpoints, and retries that back off in
/// milliseconds, so fault injection does not make a local run slow.
pub async fn local_sdk_config(endpoints: &Endpoints) -> aws_config::SdkConfig {
    let retry = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(50));
    local_cloud::sdk_config(endpoints).await.into_builder().retry_config(retry).build()
}

fn json_or_null(text: Option<String>) -> Value {
    text.map_or(Value::Null, Value::String)
}

/// Invokes teardown once for each execution that was aborted, timed out or failed, with the event EventBridge
/// would deliver; it tears down by the names derived from the run id.
async fn watch_stopped_executions(
    sfn: StepFunctions<Invoker>,
    lambdas: Arc<Lambdas>,
    machine: String,
    may_invoke: bool,
    handled: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
) {
    loop {
        // The template's rule: ABORTED, TIMED_OUT and FAILED (a run that failed in ValidateSplit never
        // reached Finalize; one that did is left as Finalize left it).
        for status in [
            local_sfn::ExecutionStatus::Aborted,
            local_sfn::ExecutionStatus::TimedOut,
            local_sfn::ExecutionStatus::Failed,
        ] {
            let Ok(list) = sfn.list_executions(&machine, Some(status)) else { continue };
            for execution in list {
                if !persist::lock(&handled).insert(execution.execution_arn.clone()) {
                    continue;
                }
                let mut event = stopped_event(&machine, &execution, status);
                if let Ok(described) = sfn.describe_execution(&execution.execution_arn) {
                    event["detail"]["error"] = json_or_null(described.snapshot.error);
                    event["detail"]["cause"] = json_or_null(described.snapshot.cause);
                }
                if may_invoke {
                    let _ = lambdas.call("teardown", event).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// EventBridge's "Step Functions Execution Status Change" event for one closed execution.
fn stopped_event(
    machine: &str,
    execution: &local_sfn::ExecutionDescription,
    status: local_sfn::ExecutionStatus,
) -> Value {
    serde_json::json!({
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        // The state machine's own region (an ARN's fourth field), as EventBridge reports it.
        "region": machine.split(':').nth(3).unwrap_or(REGION),
        "resources": [execution.execution_arn],
        "detail": {
            "executionArn": execution.execution_arn,
            "stateMachineArn": machine,
            "name": execution.name,
            "status": status.as_str(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_gets_its_template_environment_and_the_local_additions_override_none_of_it() {
        let work = Path::new("/tmp/work");
        for function in FUNCTION_NAMES {
            let template = function_environment(TEMPLATE, &LocalNames::default(), &BTreeMap::new(), function).unwrap();
            let local = function_env(function, &BTreeMap::new(), work).unwrap();
            for (name, value) in &template {
                assert_eq!(local.get(name), Some(value), "{function}: {name}");
            }
            for (name, _) in LOCAL_ENVIRONMENT {
                assert!(!template.contains_key(name), "{function}: the template sets {name} itself");
            }
            assert_eq!(local["TMPDIR"], "/tmp/work");
        }
    }

    #[test]
    fn only_reads_of_one_resource_count_as_bedrock_polls() {
        use axum::http::Method;
        assert!(is_bedrock_poll(&Method::GET, "/model-customization-jobs/arn%3Aaws%3Abedrock%3Ajob"));
        assert!(is_bedrock_poll(&Method::GET, "/provisioned-model-throughput/pt-1"));
        assert!(is_bedrock_poll(&Method::GET, "/model-customization/custom-model-deployments/d-1"));
        assert!(!is_bedrock_poll(&Method::GET, "/model-customization-jobs"));
        assert!(!is_bedrock_poll(&Method::POST, "/model-customization-jobs/j/stop"));
        assert!(!is_bedrock_poll(&Method::POST, "/model/amazon.nova-micro-v1:0/converse"));
        assert!(!is_bedrock_poll(&Method::GET, "/custom-models/m"));
    }

    #[test]
    fn fixed_ports_follow_the_base_and_free_ports_stay_free() {
        assert_eq!(port(Some(4590), "S3"), 4590);
        assert_eq!(port(Some(4590), "SNS"), 4594);
        assert_eq!(port(None, "SFN"), 0);
    }

    #[test]
    fn validate_split_starts_the_local_state_machine_and_reads_the_local_defaults() {
        let vars = function_env("validate-split", &BTreeMap::new(), Path::new("/w")).unwrap();
        assert_eq!(
            vars["STATE_MACHINE_ARN"],
            format!("arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{STATE_MACHINE_NAME}")
        );
        let defaults = default_config().unwrap();
        assert_eq!(defaults, PipelineConfig { role_arn: ROLE_ARN.to_string(), ..PipelineConfig::default() });
    }
}
