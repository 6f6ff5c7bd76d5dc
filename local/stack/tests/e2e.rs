//! End to end on the local cloud: the real handlers, the real definition, the real wire formats.
//!
//! Each test starts its own `LocalCloud` in its own folder, with its own servers, virtual clock and
//! emulator; nothing is shared between tests, so they run in parallel.

use local_bedrock::wire::{
    CreateCustomModelDeploymentRequest, CreateModelCustomizationJobRequest, OutputDataConfig, TrainingDataConfig,
};
use local_bedrock::{ErrorKind, FaultSpec};
use local_sfn::{EventDetails, ExecutionDescription, HistoryEvent};
use local_stack::{LocalCloud, Options};
use serde_json::{Value, json};
use shared::pipeline::{layout, names};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Real-time bound on anything a test waits for; a run takes well under a second.
const PATIENCE: Duration = Duration::from_secs(60);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

/// The sample with some lines replaced (1-based line number -> new line).
fn sample_with(dir: &Path, name: &str, replace: &[(usize, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(sample()).expect("sample");
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| replace.iter().find(|(n, _)| *n == i + 1).map_or(line, |(_, new)| new).to_string())
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write dataset");
    path
}

async fn start(dir: &Path, faults: Option<&str>) -> LocalCloud {
    let mut options = Options::new(dir.join("cloud"));
    options.faults = faults.map(str::to_string);
    LocalCloud::start(options).await.expect("local cloud starts")
}

/// Uploads a dataset and returns validate-split's answer to the notification.
async fn upload(cloud: &LocalCloud, file: &Path, name: &str, sidecar: Option<&Value>) -> Value {
    cloud.upload(file, name, sidecar).await.expect("upload");
    cloud.next_upload_result(PATIENCE).await.expect("notification handled in time").expect("validate-split")
}

/// The one run an upload started: (run id, execution ARN).
fn started(result: &Value) -> (String, String) {
    let started = result["started"].as_array().expect("started");
    assert_eq!(started.len(), 1, "{result}");
    let run_id = started[0]["run_id"].as_str().expect("run id").to_string();
    let arn = started[0]["execution_arn"].as_str().expect("execution arn").to_string();
    (run_id, arn)
}

async fn finished(cloud: &LocalCloud, arn: &str) -> ExecutionDescription {
    tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(arn))
        .await
        .expect("finishes in time")
        .expect("describe")
}

async fn run_upload(
    cloud: &LocalCloud,
    file: &Path,
    name: &str,
    sidecar: Option<&Value>,
) -> (String, ExecutionDescription) {
    let result = upload(cloud, file, name, sidecar).await;
    let (run_id, arn) = started(&result);
    (run_id, finished(cloud, &arn).await)
}

/// Polls `cond` every few milliseconds until it holds, or panics after PATIENCE.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn read_json(cloud: &LocalCloud, key: &str) -> Value {
    let path = cloud.object_path(key);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What each attempt of a Task state returned, in order: Ok(output) or Err((error, cause)).
type Attempt = Result<Value, (String, String)>;

fn task_attempts(history: &[HistoryEvent], state: &str) -> Vec<Attempt> {
    let mut current = String::new();
    let mut out = Vec::new();
    for event in history {
        match &event.details {
            EventDetails::StateEntered { name, .. } => current.clone_from(name),
            EventDetails::TaskSucceeded { output, .. } if current == state => out.push(Ok(output.clone())),
            EventDetails::TaskFailed { error, cause, .. } if current == state => {
                out.push(Err((error.clone(), cause.clone())))
            }
            _ => {}
        }
    }
    out
}

fn count(states: &[String], name: &str) -> usize {
    states.iter().filter(|s| *s == name).count()
}

/// The emulator's jobs as (name, status).
fn jobs(cloud: &LocalCloud) -> Vec<(String, String)> {
    let listed = cloud.emulator.list_model_customization_jobs(&Default::default()).expect("list jobs");
    listed.model_customization_job_summaries.into_iter().map(|j| (j.job_name, j.status)).collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { stack.push(path) } else { out.push(path) }
        }
    }
    out
}

fn assert_status(done: &ExecutionDescription, status: &str) {
    let snap = &done.snapshot;
    assert_eq!(snap.status.as_str(), status, "{:?} {:?} {:?}", snap.error, snap.cause, snap.states_entered());
}

// -------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_dataset_goes_all_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), None).await;
    let (run_id, done) = run_upload(&cloud, sample(), "support-tickets.jsonl", None).await;
    assert_status(&done, "SUCCEEDED");
    let snap = &done.snapshot;
    let states = snap.states_entered();

    // Both poll loops went round more than once in virtual time, then the gate and Finalize.
    assert!(count(&states, "WaitForJob") > 1 && count(&states, "CheckJob") > 1, "{states:?}");
    assert!(count(&states, "WaitForDeployment") >= 1 && count(&states, "CheckDeployment") >= 1, "{states:?}");
    for state in ["StartJob", "Provision", "Evaluate", "QualityGate", "MarkSucceeded", "Finalize", "Succeeded"] {
        assert_eq!(count(&states, state), 1, "{state} in {states:?}");
    }

    // Everything the run writes is under runs/<id>/.
    for key in [
        layout::train_key(&run_id),
        layout::validation_key(&run_id),
        layout::report_key(&run_id),
        layout::evaluation_report_key(&run_id),
        layout::evaluation_markdown_key(&run_id),
        layout::predictions_key(&run_id),
        layout::summary_key(&run_id),
    ] {
        let path = cloud.object_path(&key);
        assert!(path.is_file() && path.metadata().unwrap().len() > 0, "{key} is missing or empty");
    }
    let artifacts = files_under(&cloud.object_path(&layout::output_prefix(&run_id)));
    assert!(
        artifacts.iter().any(|p| p.ends_with("training_artifacts/step_wise_training_metrics.csv")),
        "Bedrock's output artifacts: {artifacts:?}"
    );
    assert_eq!(read_json(&cloud, &layout::report_key(&run_id))["valid"], true);

    // The evaluation passed with the tuned model ahead of its base model.
    let output = snap.output.as_ref().expect("output");
    let evaluation = &output["evaluation"];
    assert_eq!(evaluation["passed"], true, "{evaluation}");
    let (custom, base) =
        (evaluation["custom"]["token_f1"].as_f64().unwrap(), evaluation["base"]["token_f1"].as_f64().unwrap());
    assert!(custom > base, "custom {custom} vs base {base}");
    assert!(evaluation["improvement"].as_f64().unwrap() > 0.0);
    let report = read_json(&cloud, &layout::evaluation_report_key(&run_id));
    assert!(!report.is_null());
    let predictions = std::fs::read_to_string(cloud.object_path(&layout::predictions_key(&run_id))).unwrap();
    assert!(predictions.lines().count() >= 2, "predictions: {predictions}");

    // One summary, published once; the deployment is kept (and still serving) after a success.
    let summary = read_json(&cloud, &layout::summary_key(&run_id));
    assert_eq!(summary["status"], "SUCCEEDED", "{summary}");
    assert_eq!(cloud.lambdas.notifier.published.lock().unwrap().len(), 1);
    assert_eq!(cloud.lambdas.invocation_count("teardown"), 1);
    let deployment = output["deployment"]["arn"].as_str().expect("deployment arn");
    assert_eq!(summary["kept"], json!([deployment]), "{summary}");
    assert!(summary["deleted"].as_array().unwrap().is_empty(), "{summary}");
    let live = cloud.emulator.get_custom_model_deployment(deployment).expect("the deployment still exists");
    assert_eq!(live.status, "Active");
    assert_eq!(jobs(&cloud), vec![(names::job_name(&run_id), "Completed".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_dataset_fails_before_any_job_with_the_line_named() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), None).await;
    let bot = r#"{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "hi"}]}, {"role": "bot", "content": [{"text": "billing"}]}]}"#;
    let file = sample_with(dir.path(), "broken.jsonl", &[(7, "{this is not json"), (12, bot)]);
    let result = upload(&cloud, &file, "broken.jsonl", None).await;
    let (run_id, arn) = started(&result);
    let done = finished(&cloud, &arn).await;

    assert_status(&done, "FAILED");
    let snap = &done.snapshot;
    assert_eq!(snap.error.as_deref(), Some("DatasetInvalid"));
    let cause = snap.cause.as_deref().unwrap_or_default();
    assert!(cause.contains("(2 errors)"), "{cause}");
    assert!(cause.contains("line 7: not valid JSON"), "{cause}");
    assert!(cause.contains("line 12, messages[1].role: role `bot`"), "{cause}");
    assert!(cause.contains(&layout::report_key(&run_id)), "the cause points at the report: {cause}");
    let states = snap.states_entered();
    assert!(!states.iter().any(|s| s == "StartJob"), "{states:?}");

    // No job: start-job never ran and Bedrock has none.
    assert_eq!(cloud.lambdas.invocation_count("start-job"), 0);
    assert!(jobs(&cloud).is_empty(), "{:?}", jobs(&cloud));

    // The report is written and says why; the failed execution's status event summarised the run.
    let report = read_json(&cloud, &layout::report_key(&run_id));
    assert_eq!(report["valid"], false, "{report}");
    eventually("the run is summarised", || cloud.object_path(&layout::summary_key(&run_id)).exists()).await;
    let summary = read_json(&cloud, &layout::summary_key(&run_id));
    assert_eq!(summary["error"]["Error"], "DatasetInvalid", "{summary}");
    eventually("the operator is told", || cloud.lambdas.notifier.published.lock().unwrap().len() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_fails_the_run_with_bedrocks_message() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), Some("job-failed")).await;
    let (run_id, done) = run_upload(&cloud, sample(), "support-tickets.jsonl", None).await;

    assert_status(&done, "FAILED");
    let snap = &done.snapshot;
    assert_eq!(snap.error.as_deref(), Some("JobFailed"));
    let cause = snap.cause.as_deref().unwrap_or_default();
    assert!(cause.contains(&names::job_name(&run_id)), "{cause}");
    assert!(cause.contains("Training failed due to an internal server error (injected fault)"), "{cause}");
    let states = snap.states_entered();
    assert_eq!(count(&states, "JobFailed"), 1, "{states:?}");

    assert_eq!(jobs(&cloud), vec![(names::job_name(&run_id), "Failed".to_string())]);
    assert_eq!(cloud.lambdas.invocation_count("provision"), 0);
    assert_eq!(cloud.lambdas.invocation_count("evaluate"), 0);
    // Finalize ran teardown; the failed job needed no stopping. The FAILED status event brings teardown
    // a second time (whenever EventBridge delivers it), which finds Finalize's summary and adds nothing.
    eventually("the status event reached teardown", || cloud.lambdas.invocation_count("teardown") == 2).await;
    let summary = read_json(&cloud, &layout::summary_key(&run_id));
    assert_eq!(summary["status"], "FAILED", "{summary}");
    assert_eq!(summary["trigger"], "state-machine", "{summary}");
    assert_eq!(summary["error"]["Error"], "JobFailed", "{summary}");
    assert!(summary["stopped"].as_array().unwrap().is_empty(), "{summary}");
    assert_eq!(cloud.lambdas.notifier.published.lock().unwrap().len(), 1, "one message for the run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_bursts_are_survived_by_retries() {
    let dir = tempfile::tempdir().unwrap();
    // A fault-free run of the same upload, for the number of requests a run needs.
    let baseline = {
        let cloud = start(&dir.path().join("baseline"), None).await;
        let (_, done) = run_upload(&cloud, sample(), "support-tickets.jsonl", None).await;
        assert_status(&done, "SUCCEEDED");
        cloud.emulator.request_count()
    };

    let spec = "throttle=0.3,seed=7";
    let cloud = start(&dir.path().join("throttled"), Some(spec)).await;
    // Park the first CheckJob, then throttle every request while it runs: the SDK's own retries give
    // up, the handler reports Throttled, and the state machine's Retry must take over.
    cloud.lambdas.hold("check-status");
    let (run_id, arn) = started(&upload(&cloud, sample(), "support-tickets.jsonl", None).await);
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("check-status", 1)).await.expect("CheckJob reached");
    cloud.emulator.set_faults("throttle=1".parse().unwrap());
    let before = cloud.emulator.request_count();
    cloud.lambdas.step("check-status");
    let throttled = |l: &local_stack::Lambdas| {
        l.invocations
            .lock()
            .unwrap()
            .iter()
            .any(|(name, error)| name == "check-status" && error.as_deref() == Some("Throttled"))
    };
    eventually("check-status reports Throttled", || throttled(&cloud.lambdas)).await;
    // The retry is parked in turn; back to random bursts for the rest of the run.
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("check-status", 1)).await.expect("CheckJob retried");
    let burst = cloud.emulator.request_count() - before;
    cloud.emulator.set_faults(spec.parse::<FaultSpec>().unwrap());
    cloud.lambdas.release("check-status");
    let done = finished(&cloud, &arn).await;

    assert_status(&done, "SUCCEEDED");
    assert!(burst >= 2, "the SDK retried inside the handler before giving up ({burst} requests)");
    let attempts = task_attempts(&done.snapshot.history, "CheckJob");
    let first_failure = attempts.iter().position(|a| matches!(a, Err((e, _)) if e == "Throttled"));
    let first_failure = first_failure.unwrap_or_else(|| panic!("no Throttled CheckJob attempt: {attempts:?}"));
    assert!(attempts[first_failure + 1].is_ok(), "the retry after Throttled succeeded: {attempts:?}");
    // The random bursts cost extra requests that the run absorbed.
    let requests = cloud.emulator.request_count();
    assert!(
        requests > baseline + burst,
        "{requests} requests with throttling, {baseline} without, {burst} in the burst"
    );
    let output = done.snapshot.output.as_ref().unwrap();
    assert_eq!(output["evaluation"]["passed"], true);
    assert_eq!(output["evaluation"]["custom"]["errors"], 0, "every evaluation request got through");
    assert_eq!(jobs(&cloud), vec![(names::job_name(&run_id), "Completed".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_gate_tears_the_provisioned_throughput_down() {
    let dir = tempfile::tempdir().unwrap();
    // The operator allows throughputs billed by the hour (they are not allowed by default).
    let mut options = Options::new(dir.path().join("cloud"));
    options.parameters.insert("AllowedDeploymentModes".into(), "none,on-demand,provisioned".into());
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");
    // Reachable (metrics lie in 0..1) but above what the stand-in models gain (0.935).
    let sidecar = json!({"deployment": "provisioned", "evaluation": {"min_improvement": 0.99}});
    let (run_id, done) = run_upload(&cloud, sample(), "support-tickets.jsonl", Some(&sidecar)).await;

    assert_status(&done, "FAILED");
    let snap = &done.snapshot;
    assert_eq!(snap.error.as_deref(), Some("GateFailed"));
    let cause = snap.cause.as_deref().unwrap_or_default();
    assert!(cause.contains("below the required 0.99"), "{cause}");
    let states = snap.states_entered();
    for state in ["CheckDeployment", "Evaluate", "GateFailed", "Finalize"] {
        assert!(states.iter().any(|s| s == state), "{state} in {states:?}");
    }

    // The throughput Provision created is gone, and the summary says it was deleted.
    let provisioned = task_attempts(&snap.history, "Provision");
    let deployment = provisioned.last().and_then(|a| a.as_ref().ok()).expect("Provision succeeded");
    assert_eq!(deployment["mode"], "provisioned", "{deployment}");
    let throughput = deployment["arn"].as_str().expect("throughput arn");
    assert!(throughput.contains(":provisioned-model/"), "{throughput}");
    let gone = cloud.emulator.get_provisioned_model_throughput(throughput).expect_err("the throughput is deleted");
    assert_eq!(gone.kind, ErrorKind::ResourceNotFound, "{gone:?}");
    let by_name = cloud.emulator.get_provisioned_model_throughput(&names::throughput_name(&run_id));
    assert!(by_name.is_err(), "nothing left under the derived name either");
    let summary = read_json(&cloud, &layout::summary_key(&run_id));
    assert_eq!(summary["error"]["Error"], "GateFailed", "{summary}");
    assert_eq!(summary["deleted"], json!([throughput]), "{summary}");
    assert!(summary["kept"].as_array().unwrap().is_empty(), "{summary}");
    assert_eq!(summary["evaluation"]["passed"], false, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_notification_starts_nothing_new_and_a_reupload_is_a_new_run() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), None).await;
    let mut notifications = cloud.s3.subscribe();
    // The duplicate arrives while the first run is still training (parked in CheckJob)...
    cloud.lambdas.hold("check-status");
    let first = upload(&cloud, sample(), "support-tickets.jsonl", None).await;
    let event = tokio::time::timeout(PATIENCE, notifications.recv()).await.expect("notified").expect("an event");
    let (run_id, arn) = started(&first);
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("check-status", 1)).await.expect("CheckJob reached");
    let second = cloud.lambdas.call("validate-split", event.clone()).await.expect("validate-split");
    // StartExecution with the same name and input is idempotent while the execution runs: same ARN.
    assert_eq!(started(&second), (run_id.clone(), arn.clone()), "{second}");
    cloud.lambdas.release("check-status");
    let done = finished(&cloud, &arn).await;
    assert_status(&done, "SUCCEEDED");

    // ...and again once it has finished: the name is taken, so the notification reports it started.
    let third = cloud.lambdas.call("validate-split", event).await.expect("validate-split");
    let again = &third["started"][0];
    assert_eq!(again["run_id"], run_id.as_str(), "{third}");
    assert_eq!(again["already_started"], true, "{third}");
    assert!(again["execution_arn"].is_null(), "{third}");
    let executions = cloud.sfn.list_executions(&cloud.state_machine_arn, None).unwrap();
    assert_eq!(executions.len(), 1, "{:?}", executions.iter().map(|e| &e.name).collect::<Vec<_>>());
    assert_eq!(cloud.lambdas.invocation_count("start-job"), 1);

    // The same file uploaded again (a fixed dataset, or the same one on purpose) is a new run, which
    // neither fails on the taken name nor touches the first run's deployment.
    let (rerun_id, rerun) = run_upload(&cloud, sample(), "support-tickets.jsonl", None).await;
    assert_ne!(rerun_id, run_id);
    assert_status(&rerun, "SUCCEEDED");
    let first_deployment = done.snapshot.output.as_ref().unwrap()["deployment"]["arn"].as_str().unwrap().to_string();
    assert!(cloud.emulator.get_custom_model_deployment(&first_deployment).is_ok(), "the first run's deployment stays");
    assert_eq!(jobs(&cloud).len(), 2, "{:?}", jobs(&cloud));
    assert_eq!(cloud.lambdas.notifier.published.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_an_execution_during_training_stops_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), None).await;
    // Virtual time would finish the run in milliseconds: park it in its first CheckJob.
    cloud.lambdas.hold("check-status");
    let (run_id, arn) = started(&upload(&cloud, sample(), "support-tickets.jsonl", None).await);
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("check-status", 1)).await.expect("CheckJob reached");
    let job_name = names::job_name(&run_id);
    assert_eq!(jobs(&cloud), vec![(job_name.clone(), "InProgress".to_string())]);
    let running = cloud.sfn.describe_execution(&arn).unwrap();
    assert_eq!(running.snapshot.status.as_str(), "RUNNING");
    let started_job = task_attempts(&running.snapshot.history, "StartJob");
    assert!(matches!(started_job.as_slice(), [Ok(_)]), "{started_job:?}");

    cloud.sfn.stop_execution(&arn, Some("UserStopped"), Some("stopped by the e2e test")).unwrap();
    let done = finished(&cloud, &arn).await;
    assert_status(&done, "ABORTED");
    assert_eq!(done.snapshot.event_types().last().map(String::as_str), Some("ExecutionAborted"));

    // The status-change watcher ran teardown, which stopped the job.
    eventually("teardown ran", || cloud.lambdas.invocation_count("teardown") == 1).await;
    let (name, status) = jobs(&cloud).pop().expect("the job");
    assert_eq!(name, job_name);
    assert!(status == "Stopping" || status == "Stopped", "job status {status}");
    let summary = read_json(&cloud, &layout::summary_key(&run_id));
    assert_eq!(summary["status"], "FAILED", "{summary}");
    assert_eq!(summary["execution_status"], "ABORTED", "{summary}");
    assert_eq!(summary["trigger"], "execution-event", "{summary}");
    let job_arn = cloud.emulator.get_model_customization_job(&job_name).unwrap().job_arn;
    assert_eq!(summary["stopped"], json!([job_arn]), "{summary}");
    assert_eq!(cloud.lambdas.notifier.published.lock().unwrap().len(), 1);

    // Nothing bills: no throughput or deployment was ever made, and the parked poll never runs.
    assert!(cloud.emulator.get_provisioned_model_throughput(&names::throughput_name(&run_id)).is_err());
    assert!(cloud.emulator.get_custom_model_deployment(&names::deployment_name(&run_id)).is_err());
    assert_eq!(cloud.lambdas.waiting("check-status"), 0, "the stopped execution dropped its in-flight call");
    cloud.lambdas.release("check-status");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(cloud.lambdas.invocation_count("check-status"), 0);
    assert_eq!(cloud.lambdas.invocation_count("provision"), 0);
    assert_eq!(cloud.lambdas.invocation_count("teardown"), 1, "teardown runs once per stopped execution");
}

// -------------------------------------------------------------------------------------------------
// A name already taken when a create is retried: found by name, on the local cloud as on AWS.

/// On AWS a retried Provision can find its deployment already created under the run's name, by an
/// attempt whose clientRequestToken Bedrock no longer honours. Bedrock refuses the name; Provision
/// recognizes the refusal, looks the deployment up by name, and continues with it because it serves
/// this run's model: no error, no second deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_adopts_the_deployment_already_created_under_the_runs_name() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), None).await;
    cloud.lambdas.hold("provision");
    let (run_id, arn) = started(&upload(&cloud, sample(), "support-tickets.jsonl", None).await);
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("provision", 1)).await.expect("Provision reached");
    // The earlier attempt: the run's deployment name and model, under a token Bedrock does not know.
    let model = cloud.emulator.get_custom_model(&names::custom_model_name(&run_id)).expect("the run's model").model_arn;
    let earlier = cloud
        .emulator
        .create_custom_model_deployment(CreateCustomModelDeploymentRequest {
            model_deployment_name: Some(names::deployment_name(&run_id)),
            model_arn: Some(model),
            client_request_token: Some("an-earlier-attempt".into()),
            ..Default::default()
        })
        .expect("the earlier attempt's deployment")
        .custom_model_deployment_arn;
    cloud.lambdas.release("provision");
    let done = finished(&cloud, &arn).await;

    assert_status(&done, "SUCCEEDED");
    let output = done.snapshot.output.as_ref().unwrap();
    assert_eq!(output["deployment"]["arn"], json!(earlier), "the deployment found by name is the run's");
    assert_eq!(output["evaluation"]["custom"]["model_id"], json!(earlier));
    let provisions =
        cloud.lambdas.invocations.lock().unwrap().iter().filter(|(n, _)| n == "provision").cloned().collect::<Vec<_>>();
    assert_eq!(provisions, vec![("provision".to_string(), None)], "adopted on the first attempt, without an error");
    let by_name = cloud.emulator.get_custom_model_deployment(&names::deployment_name(&run_id)).unwrap();
    assert_eq!(by_name.custom_model_deployment_arn, earlier, "one deployment under the run's name");
}

/// The other side of the same rule: a job under the run's name that this run did not start (another
/// clientRequestToken) is not taken over; StartJob fails the run with a ConfigInvalid that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_job_refuses_a_job_under_the_runs_name_that_the_run_did_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), None).await;
    cloud.lambdas.hold("start-job");
    let (run_id, arn) = started(&upload(&cloud, sample(), "support-tickets.jsonl", None).await);
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("start-job", 1)).await.expect("StartJob reached");
    let bucket = local_stack::BUCKET;
    cloud
        .emulator
        .create_model_customization_job(CreateModelCustomizationJobRequest {
            job_name: Some(names::job_name(&run_id)),
            custom_model_name: Some("someone-elses-model".into()),
            role_arn: Some(local_stack::ROLE_ARN.into()),
            client_request_token: Some("someone-else".into()),
            base_model_identifier: Some("amazon.nova-micro-v1:0:128k".into()),
            training_data_config: Some(TrainingDataConfig {
                s3_uri: Some(layout::s3_uri(bucket, &layout::train_key(&run_id))),
                invocation_logs_config: None,
            }),
            output_data_config: Some(OutputDataConfig { s3_uri: Some(format!("s3://{bucket}/elsewhere/")) }),
            ..Default::default()
        })
        .expect("someone else's job");
    cloud.lambdas.release("start-job");
    let done = finished(&cloud, &arn).await;

    assert_status(&done, "FAILED");
    assert_eq!(done.snapshot.error.as_deref(), Some("ConfigInvalid"));
    let cause = done.snapshot.cause.as_deref().unwrap_or_default();
    assert!(cause.contains("was not started by this run"), "{cause}");
}
