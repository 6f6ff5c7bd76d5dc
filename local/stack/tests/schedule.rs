//! The scheduled retraining path (EventBridge Scheduler's input, `skip_unchanged`): unchanged data and
//! config since the folder's last successful run start no job, and the execution says so; new data does.

use local_stack::{LocalCloud, Options};
use serde_json::{Value, json};
use shared::pipeline::layout;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

fn job_count(cloud: &LocalCloud) -> usize {
    cloud.emulator.list_model_customization_jobs(&Default::default()).unwrap().model_customization_job_summaries.len()
}

/// Starts the state machine as the schedule does and waits for its end: (status, output, states).
async fn scheduled(cloud: &LocalCloud) -> (String, Value, Vec<String>) {
    let input =
        json!({"dataset": format!("s3://{}/incoming/retraining/", local_stack::BUCKET), "skip_unchanged": true});
    let started = cloud.sfn.start_execution(&cloud.state_machine_arn, None, Some(&input.to_string())).unwrap();
    let done =
        tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&started.execution_arn)).await.unwrap().unwrap();
    let snap = done.snapshot;
    let output = snap.output.clone().unwrap_or_else(|| json!({"error": snap.error, "cause": snap.cause}));
    (format!("{:?}", snap.status).to_uppercase(), output, snap.states_entered())
}

async fn upload(cloud: &LocalCloud, file: &Path, key: &str) -> String {
    cloud.upload(file, key, None).await.unwrap();
    let answer = cloud.next_upload_result(PATIENCE).await.unwrap().unwrap();
    let arn = answer["started"][0]["execution_arn"].as_str().unwrap().to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.unwrap().unwrap();
    format!("{:?}", done.snapshot.status).to_uppercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_skips_unchanged_data_and_config_and_trains_when_either_changed() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = LocalCloud::start(Options::new(dir.path().join("cloud"))).await.unwrap();
    assert_eq!(upload(&cloud, sample(), "retraining/tickets.jsonl").await, "SUCCEEDED");
    let last = cloud.object_path(&layout::last_success_key("incoming/retraining/tickets.jsonl"));
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(&last).expect("teardown recorded the success")).unwrap();
    let jobs = job_count(&cloud);

    // Nothing changed since that successful run: no job, and the output says which run it matched.
    let (status, output, states) = scheduled(&cloud).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    assert_eq!(states, ["ValidateSplit", "IsUnchanged", "NothingChanged"]);
    assert_eq!(output["unchanged"]["last_success"]["run_id"], recorded["run_id"]);
    assert_eq!(output["unchanged"]["last_success"]["fingerprint"], recorded["fingerprint"]);
    // The skipped execution has its own run id: a run is never confused with an earlier one.
    assert_ne!(output["unchanged"]["run_id"], recorded["run_id"]);
    assert!(output["unchanged"]["message"].as_str().unwrap().contains("no job was started"), "{output}");
    assert_eq!(job_count(&cloud), jobs, "no job");

    // A changed config beside the newest dataset (a sidecar, which starts nothing by itself): a new
    // fingerprint, so the schedule trains.
    let sidecar = layout::sidecar_key("incoming/retraining/tickets.jsonl");
    cloud.put(&sidecar, br#"{"seed": 7}"#.to_vec(), "application/json").await.unwrap();
    let jobs = job_count(&cloud);
    let (status, output, states) = scheduled(&cloud).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    for state in ["StartJob", "Provision", "Evaluate"] {
        assert!(states.contains(&state.to_string()), "{state} in {states:?}");
    }
    assert_eq!(output["config"]["seed"], 7);
    assert_eq!(job_count(&cloud), jobs + 1, "one new job");
    let recorded: Value = serde_json::from_slice(&std::fs::read(&last).unwrap()).unwrap();
    assert_eq!(recorded["run_id"], output["run_id"], "the new data's run is now the last success");
    // And the next scheduled start finds nothing new again.
    let (_, output, _) = scheduled(&cloud).await;
    assert_eq!(output["unchanged"]["last_success"]["run_id"], recorded["run_id"], "{output}");
}
