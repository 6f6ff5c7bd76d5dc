//! Console-started and schedule-started executions, named by Step Functions (not by the run id a
//! caller chose), stopped mid-run: while the job trains, and while a provisioned throughput is still
//! Creating. Teardown derives the same names from the generated execution name, so at the end nothing
//! bills (the reaper deletes a throughput that was still Creating once it settles), nothing foreign is
//! touched and the operator got a message naming the run.

use local_bedrock::{FaultSpec, LiveKind};
use local_stack::{BUCKET, LocalCloud, Options};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    /// StartExecution without a name, `{"dataset": key}`: what the console does.
    Console,
    /// EventBridge Scheduler's input (a prefix, skip_unchanged), without a name.
    Schedule,
}

/// What still bills: jobs in progress, throughputs, deployments (custom models bill only storage).
fn billing(cloud: &LocalCloud) -> Vec<String> {
    cloud
        .emulator
        .inventory()
        .into_iter()
        .filter(|l| l.kind != LiveKind::CustomModel)
        .map(|l| format!("{:?} {} ({})", l.kind, l.arn, l.status))
        .collect()
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn abort_mid_run(entry: Entry, state: &str) {
    let what = format!("{entry:?} start aborted in {state}");
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(dir.path().join("cloud"));
    options.parameters.insert("AllowedDeploymentModes".into(), "none,on-demand,provisioned".into());
    options.parameters.insert("ReaperMode".into(), "delete".into());
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");

    // The dataset arrives by upload (its own run fails on purpose: no last success, so the schedule's
    // skip_unchanged does not skip); its sidecar asks for a provisioned throughput.
    cloud.emulator.set_faults("job-failed".parse::<FaultSpec>().unwrap());
    let key = cloud
        .upload(sample(), "entry/tickets.jsonl", Some(&json!({"deployment": "provisioned"})))
        .await
        .expect("upload");
    let first = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
    let first = first["started"][0]["execution_arn"].as_str().expect("arn").to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&first)).await.unwrap().unwrap();
    assert_eq!(done.snapshot.error.as_deref(), Some("JobFailed"), "{what}");
    cloud.emulator.set_faults(FaultSpec::default());
    assert!(billing(&cloud).is_empty(), "{what}: {:?}", billing(&cloud));
    let published_before = cloud.lambdas.notifier.published.lock().unwrap().len();

    let input = match entry {
        Entry::Console => json!({"dataset": format!("s3://{BUCKET}/{key}")}),
        Entry::Schedule => json!({"dataset": format!("s3://{BUCKET}/incoming/entry/"), "skip_unchanged": true}),
    };
    cloud.sfn.pause_at(state);
    let started = cloud.sfn.start_execution(&cloud.state_machine_arn, None, Some(&input.to_string())).unwrap();
    tokio::time::timeout(PATIENCE, cloud.sfn.until_paused(state, 1))
        .await
        .unwrap_or_else(|_| panic!("{what}: never paused"));
    let name = cloud.sfn.describe_execution(&started.execution_arn).unwrap().name;
    assert!(!billing(&cloud).is_empty(), "{what}: something bills before the abort");
    cloud.sfn.stop_execution(&started.execution_arn, Some("UserStopped"), Some(&what)).unwrap();
    let done =
        tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&started.execution_arn)).await.unwrap().unwrap();
    assert_eq!(done.snapshot.status.as_str(), "ABORTED", "{what}");
    // This run's summary is teardown's last write, after its stops and deletes. A count of teardown
    // invocations would not do: the first run's FAILED event reaches teardown at some point too.
    let summary_path = cloud.object_path(&shared::pipeline::layout::summary_key(&name));
    eventually(&format!("{what}: teardown summarised the run"), || summary_path.exists()).await;
    let summary = std::fs::read_to_string(&summary_path).unwrap();

    // Teardown found the run's job and throughput by the names derived from the generated execution
    // name: the job is stopped; a throughput still Creating cannot be deleted yet (ConflictException),
    // and the reaper deletes it once it settles.
    let left = billing(&cloud);
    assert!(
        left.iter().all(|l| l.contains("ProvisionedThroughput") && l.contains("Creating")),
        "{what}: {left:?} {summary}"
    );
    if !left.is_empty() {
        cloud.clock.advance(48 * HOUR);
        let report = cloud.lambdas.call("reaper", json!({})).await.expect("reaper");
        assert!(billing(&cloud).is_empty(), "{what}: the reaper left {:?}: {report}", billing(&cloud));
    }
    let job = cloud
        .emulator
        .get_model_customization_job(&shared::pipeline::names::job_name(&name))
        .unwrap_or_else(|e| panic!("{what}: the run's job under its derived name: {e:?}"));
    assert!(matches!(job.status.as_str(), "Stopping" | "Stopped" | "Completed"), "{what}: {}", job.status);
    let messages = cloud.lambdas.notifier.published.lock().unwrap().clone();
    assert!(
        messages[published_before..].iter().any(|(_, m)| m.contains(&name)),
        "{what}: no message names the run {name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_start_aborted_while_training_leaves_nothing_billing() {
    abort_mid_run(Entry::Console, "CheckJob").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_start_aborted_while_its_throughput_is_creating_leaves_nothing_billing() {
    abort_mid_run(Entry::Console, "CheckDeployment").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_start_aborted_while_training_leaves_nothing_billing() {
    abort_mid_run(Entry::Schedule, "CheckJob").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_start_aborted_while_its_throughput_is_creating_leaves_nothing_billing() {
    abort_mid_run(Entry::Schedule, "CheckDeployment").await;
}
