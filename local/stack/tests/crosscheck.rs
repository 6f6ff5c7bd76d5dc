//! The cross-check with an engine nobody here wrote: statemachine/pipeline.asl.json (after template.yaml's
//! DefinitionSubstitutions) runs under aws-local-stepfunctions, its Lambda tasks calling our six handlers
//! through the local cloud's Lambda Invoke API, and under our engine; both must end the same way, enter
//! the same states in the same order, invoke the same functions with the same errors, and produce the
//! same output (numbers compared as numbers). The one liberty taken with the definition: aws-local-
//! stepfunctions gets it without `"ResultPath": "$"`, an equivalent spelling it mishandles (see
//! `spelled_for_aws_local_stepfunctions`).
//!
//! Each engine gets its own fresh local cloud (same dataset, same faults, clocks set to the same
//! virtual instant): the pipeline is idempotent by run id, so a second run in a shared cloud would find
//! the first one's job already finished and take a shorter path.
//!
//! aws-local-stepfunctions skips our Wait states (`-w State:0` in CLI terms) and its cloud runs with
//! `advance_clock_on_poll`, which moves the virtual clock by the skipped wait before each check-status
//! call — what our engine's Wait does — so both engines poll the same job at the same virtual times.
//!
//! Needs Node 22 and the npm package: `.ci/crosscheck.sh` installs them into .ci/crosscheck/ and runs
//! this with CROSSCHECK_REQUIRED=1. Without them the test says so and passes, unless required.
//! CROSSCHECK_NODE and CROSSCHECK_NODE_MODULES point elsewhere.

use local_sfn::Timestamp;
use local_stack::{BUCKET, LocalCloud, Options, TEMPLATE};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
// Under incoming/, the only prefix validate-split's role may read; written into the local S3's folder
// directly, so no bucket notification starts a run of its own beside the execution under test.
const DATASET_KEY: &str = "incoming/crosscheck/support-tickets.jsonl";

struct ExternalEngine {
    node: PathBuf,
    node_modules: PathBuf,
}

/// The Node binary and node_modules holding aws-local-stepfunctions, or None (with the reason printed)
/// when they are not installed and not required.
fn external_engine() -> Option<ExternalEngine> {
    let default_modules = Path::new(WORKSPACE).join(".ci/crosscheck/node_modules");
    let node = std::env::var_os("CROSSCHECK_NODE").map_or_else(|| default_modules.join(".bin/node"), PathBuf::from);
    let node_modules = std::env::var_os("CROSSCHECK_NODE_MODULES").map_or(default_modules, PathBuf::from);
    let package = node_modules.join("aws-local-stepfunctions/package.json");
    if node.is_file() && package.is_file() {
        return Some(ExternalEngine { node, node_modules });
    }
    let why = format!(
        "cross-check skipped: aws-local-stepfunctions not installed ({} or {} missing); run .ci/crosscheck.sh",
        node.display(),
        package.display()
    );
    if std::env::var("CROSSCHECK_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{why}, and CROSSCHECK_REQUIRED=1");
    }
    // Straight to stderr, not eprintln!: the test harness hides a passing test's captured output, and a
    // skip should be seen.
    let _ = writeln!(std::io::stderr(), "{why}");
    None
}

fn sample() -> PathBuf {
    Path::new(WORKSPACE).join("examples/support-tickets.jsonl")
}

/// What one engine did with one input.
#[derive(Debug, PartialEq)]
struct Run {
    status: String,
    error: Option<String>,
    cause: Option<String>,
    states: Vec<String>,
    /// Lambda invocations by the execution, in order: (function, errorType).
    tasks: Vec<(String, Option<String>)>,
    output: Option<Value>,
}

/// A fresh local cloud with the dataset in its bucket (placed without a notification) and its clock at
/// `epoch`.
async fn cloud(dir: &Path, faults: Option<&str>, external: bool, epoch: Timestamp) -> LocalCloud {
    let mut options = Options::new(dir);
    options.faults = faults.map(str::to_string);
    options.advance_clock_on_poll = external;
    // Only what each engine invokes is compared: the failed run's status event, which brings teardown
    // once more whenever it arrives, would race the comparison.
    options.status_events = false;
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");
    let path = cloud.object_path(DATASET_KEY);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("dataset folder");
    std::fs::copy(sample(), &path).expect("dataset in the bucket's folder");
    assert!(cloud.clock.now() < epoch, "the shared start lies ahead of every cloud's clock");
    cloud.clock.advance_to(epoch);
    cloud
}

fn invocations(cloud: &LocalCloud) -> Vec<(String, Option<String>)> {
    cloud.lambdas.invocations.lock().expect("invocation log").clone()
}

/// The execution input: a StartRequest as the console sends it. Every entry starts at ValidateSplit
/// (a prepared input is refused), so both engines validate and split inside the machine.
fn input() -> Value {
    json!({ "dataset": format!("s3://{BUCKET}/{DATASET_KEY}") })
}

/// Both engines name the execution this: ValidateSplit takes the run id from `$$.Execution.Name`.
const EXECUTION_NAME: &str = "crosscheck";

async fn run_ours(faults: Option<&str>, epoch: Timestamp) -> (Value, Run) {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), faults, false, epoch).await;
    let input = input();
    let started = cloud
        .sfn
        .start_execution(&cloud.state_machine_arn, Some(EXECUTION_NAME), Some(&input.to_string()))
        .expect("execution starts");
    let done = tokio::time::timeout(Duration::from_secs(120), cloud.sfn.wait_for_execution(&started.execution_arn))
        .await
        .expect("our engine finishes within 2 minutes")
        .expect("describe");
    let snap = done.snapshot;
    let run = Run {
        status: snap.status.as_str().to_string(),
        error: snap.error.clone(),
        cause: snap.cause.clone(),
        states: snap.states_entered(),
        tasks: invocations(&cloud),
        output: snap.output,
    };
    (input, run)
}

/// The CLI's `-w` and `-r` overrides for this definition: every Wait state skipped (the cloud moves
/// its clock instead), every Retry's interval 0 ms.
fn overrides(definition: &Value) -> Value {
    let states = definition["States"].as_object().expect("States");
    let zero_for = |keep: &dyn Fn(&Value) -> bool| -> Value {
        states.iter().filter(|(_, s)| keep(s)).map(|(name, _)| (name.clone(), json!(0))).collect()
    };
    json!({
        "waits": zero_for(&|s| s["Type"] == "Wait"),
        "retries": zero_for(&|s| s.get("Retry").is_some()),
    })
}

/// The definition with `"ResultPath": "$"` left out, which the ASL specification makes the same thing
/// (ResultPath defaults to `$`: the result replaces the input). aws-local-stepfunctions 3.0.0 spells it
/// wrong when given explicitly: it stores the result under a key named `$` beside the input (a Pass state
/// with Result {"r":1} and ResultPath "$" turns {"a":1} into {"a":1,"$":{"r":1}}), and ValidateSplit would
/// lose its PreparedRun. Nothing else is changed, and only top-level states are touched.
fn spelled_for_aws_local_stepfunctions(mut definition: Value) -> Value {
    for state in definition["States"].as_object_mut().expect("States").values_mut() {
        let state = state.as_object_mut().expect("a state is an object");
        if state.get("ResultPath").and_then(Value::as_str) == Some("$") {
            state.remove("ResultPath");
        }
    }
    definition
}

async fn run_theirs(engine: &ExternalEngine, faults: Option<&str>, epoch: Timestamp) -> (Value, Run) {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), faults, true, epoch).await;
    let input = input();

    let substitutions = local_stack::substitutions(TEMPLATE).expect("template substitutions");
    let definition = local_sfn::substitute_definition(local_stack::DEFINITION, &substitutions).expect("substituted");
    let definition = spelled_for_aws_local_stepfunctions(serde_json::from_str(&definition).unwrap());
    let definition_path = dir.path().join("pipeline.asl.json");
    std::fs::write(&definition_path, definition.to_string()).unwrap();
    let overrides_path = dir.path().join("overrides.json");
    let overrides = overrides(&definition);
    std::fs::write(&overrides_path, overrides.to_string()).unwrap();

    let role = local_stack::iam::credentials(&cloud.lambdas.authorizer, "PipelineStateMachine");
    let mut command = Command::new(&engine.node);
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crosscheck/driver.cjs"))
        .arg(&definition_path)
        .arg(&overrides_path)
        .env("NODE_PATH", &engine.node_modules)
        .env("AWS_ENDPOINT_URL_LAMBDA", cloud.endpoints.lambda.as_deref().expect("Lambda Invoke API"))
        .env("AWS_REGION", local_stack::REGION)
        .env("EXECUTION_NAME", EXECUTION_NAME)
        // As our engine names the execution (its history is not in our engine: teardown's page is approximate).
        .env("EXECUTION_ARN", shared::aws::execution_arn(&cloud.state_machine_arn, EXECUTION_NAME))
        // The engine invokes as the state machine's role, which the local Lambda endpoint holds it to.
        .env("AWS_ACCESS_KEY_ID", role.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", role.secret_access_key())
        // Nothing from this machine's AWS setup may reach the engine.
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", dir.path().join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("no-aws-credentials"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = input.to_string();
    // The handlers answer on this runtime; the child is waited for on a blocking thread.
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().expect("node starts");
            child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("input written");
            child.wait_with_output().expect("node runs")
        }),
    )
    .await
    .expect("aws-local-stepfunctions finishes within 2 minutes")
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "driver failed ({}): {}\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let lines: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let states = lines.iter().filter_map(|l| l["entered"].as_str().map(str::to_string)).collect();
    let end = lines.iter().find(|l| l.get("status").is_some()).unwrap_or_else(|| panic!("no outcome in {stdout}"));
    let text = |v: &Value| v.as_str().map(str::to_string);
    let run = Run {
        status: end["status"].as_str().unwrap_or_default().to_string(),
        error: text(&end["error"]),
        cause: text(&end["cause"]),
        states,
        tasks: invocations(&cloud),
        output: end.get("output").cloned(),
    };
    (input, run)
}

/// The value with every number as f64: JavaScript has one number type, so what our handlers wrote as
/// 0.0 comes back from Node as 0, which serde_json would otherwise count as a difference.
fn numbers(value: &Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or_else(|| value.clone(), |f| json!(f)),
        Value::Array(items) => items.iter().map(numbers).collect(),
        Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), numbers(v))).collect(),
        other => other.clone(),
    }
}

/// Runs both engines on the same case and asserts they agree; returns our engine's run.
async fn cross_check(case: &str, faults: Option<&str>) -> Option<Run> {
    let engine = external_engine()?;
    // Both clouds' virtual clocks start here (a day ahead, whole seconds: clocks only move forward), so
    // the outputs carry the same times.
    let now = Timestamp::system_now().epoch_millis();
    let epoch = Timestamp::from_epoch_millis((now / 1000 + 86_400) * 1000);
    let t = Instant::now();
    let (our_input, ours) = run_ours(faults, epoch).await;
    let our_time = t.elapsed();
    let t = Instant::now();
    let (their_input, theirs) = run_theirs(&engine, faults, epoch).await;
    let their_time = t.elapsed();
    eprintln!(
        "{case}: ours {our_time:.2?}, aws-local-stepfunctions {their_time:.2?}: {} after {} states, {} tasks",
        ours.status,
        ours.states.len(),
        ours.tasks.len()
    );
    assert_eq!(their_input, our_input, "{case}: the engines were given different inputs");
    assert_eq!(theirs.states, ours.states, "{case}: states entered differ (theirs ended {:?})", theirs.cause);
    assert_eq!(theirs.tasks, ours.tasks, "{case}: Lambda invocations differ");
    assert_eq!(
        (&theirs.status, &theirs.error, &theirs.cause),
        (&ours.status, &ours.error, &ours.cause),
        "{case}: outcomes differ"
    );
    assert_eq!(theirs.output.as_ref().map(numbers), ours.output.as_ref().map(numbers), "{case}: outputs differ");
    Some(ours)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_path_agrees_with_aws_local_stepfunctions() {
    let Some(ours) = cross_check("success", None).await else { return };
    assert_eq!(ours.status, "SUCCEEDED", "{:?}: {:?}", ours.error, ours.cause);
    // The console entry: validated and split inside the machine, then trained, deployed and evaluated.
    for state in ["ValidateSplit", "CheckJob", "Provision", "Evaluate", "MarkSucceeded", "Finalize", "Succeeded"] {
        assert!(ours.states.iter().any(|s| s == state), "{state} not entered: {:?}", ours.states);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_job_agrees_with_aws_local_stepfunctions() {
    let Some(ours) = cross_check("job-failed", Some("job-failed")).await else { return };
    assert_eq!((ours.status.as_str(), ours.error.as_deref()), ("FAILED", Some("JobFailed")), "{:?}", ours.cause);
    // Validated inside the machine as every entry is; the job's failure is caught inside the machine.
    let tail: Vec<&str> = ours.states.iter().rev().take(6).rev().map(String::as_str).collect();
    assert_eq!(tail, ["JobFailed", "MarkFailed", "Finalize", "TeardownPending", "ReportOutcome", "Failed"]);
    assert_eq!(ours.states.first().map(String::as_str), Some("ValidateSplit"), "{:?}", ours.states);
}
