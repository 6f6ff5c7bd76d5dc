//! The trust boundary on the local cloud: hostile sidecars and execution inputs never spend anything
//! nor touch what another run made. Each test asserts the emulator's inventory at the end.

use local_bedrock::wire::{CreateCustomModelDeploymentRequest, Tag};
use local_sfn::ExecutionDescription;
use local_stack::{BUCKET, LocalCloud, Options};
use serde_json::{Value, json};
use shared::aws::RUN_ID_TAG;
use shared::pipeline::{layout, names};
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

async fn start(dir: &Path) -> LocalCloud {
    LocalCloud::start(Options::new(dir.join("cloud"))).await.expect("local cloud starts")
}

async fn finished(cloud: &LocalCloud, arn: &str) -> ExecutionDescription {
    tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(arn)).await.expect("in time").expect("describe")
}

/// Uploads the sample with `sidecar` and waits for its run to end.
async fn upload_run(cloud: &LocalCloud, name: &str, sidecar: Option<&Value>) -> (String, ExecutionDescription) {
    cloud.upload(sample(), name, sidecar).await.expect("upload");
    let result = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
    let run_id = result["started"][0]["run_id"].as_str().expect("run id").to_string();
    let arn = result["started"][0]["execution_arn"].as_str().expect("execution arn").to_string();
    (run_id, finished(cloud, &arn).await)
}

fn job_count(cloud: &LocalCloud) -> usize {
    cloud
        .emulator
        .list_model_customization_jobs(&Default::default())
        .expect("list")
        .model_customization_job_summaries
        .len()
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_sidecar_for_each_cap_fails_the_run_before_any_job_exists() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let tags: serde_json::Map<String, Value> = (0..30).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases = [
        (json!({"deployment": "provisioned"}), "AllowedDeploymentModes"),
        (json!({"deployment": "provisioned", "commitment": "SixMonths"}), "CommitmentAllowed"),
        (json!({"deployment": "provisioned", "model_units": 50}), "MaxModelUnits"),
        (json!({"evaluation": {"min_improvement": -1}}), "MinImprovementFloor"),
        (json!({"evaluation": {"keep_on_gate_failure": true}}), "KeepOnGateFailureAllowed"),
        (json!({"role_arn": "arn:aws:iam::111122223333:role/admin"}), "role_arn"),
        (json!({"kms_key_id": "alias/theirs"}), "kms_key_id"),
        (json!({"vpc": {"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]}}), "vpc"),
        (json!({"tags": tags}), "at most 10"),
        (json!({"tags": {RUN_ID_TAG: "another-run"}}), RUN_ID_TAG),
        (json!({"base_model": "meta.llama3-1-8b-instruct-v1:0:128k"}), "AllowedBaseModels"),
        // A distillation's teacher bills inference on every prompt: outside the allow-list, refused.
        (json!({"customization_type": "DISTILLATION", "teacher_model": "amazon.nova-pro-v1:0"}), "teacher_model"),
        (json!({"customization_type": "DISTILLATION"}), "teacher_model"),
    ];
    for (i, (sidecar, needle)) in cases.iter().enumerate() {
        let (run_id, done) = upload_run(&cloud, &format!("hostile-{i}.jsonl"), Some(sidecar)).await;
        let snap = &done.snapshot;
        assert_eq!(snap.status.as_str(), "FAILED", "{sidecar}");
        assert_eq!(snap.error.as_deref(), Some("ConfigInvalid"), "{sidecar}");
        let cause = snap.cause.as_deref().unwrap_or_default();
        assert!(cause.contains(needle), "{sidecar}: {cause}");
        assert_eq!(snap.states_entered(), ["ValidateSplit"], "{sidecar}");
        // The operator is told, from the failed execution's status event.
        eventually("the run is summarised", || cloud.object_path(&layout::summary_key(&run_id)).exists()).await;
    }
    // Nothing was created: no job, no throughput, no deployment.
    assert_eq!(job_count(&cloud), 0);
    assert_eq!(cloud.lambdas.invocation_count("start-job"), 0);
    assert_eq!(cloud.lambdas.invocation_count("provision"), 0);
    eventually("every run is reported", || cloud.lambdas.notifier.published.lock().unwrap().len() == cases.len()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_execution_inputs_and_names_touch_nothing_another_run_made() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    // A victim run succeeds and keeps its on-demand deployment.
    let (victim, done) = upload_run(&cloud, "support-tickets.jsonl", None).await;
    assert_eq!(done.snapshot.status.as_str(), "SUCCEEDED");
    let output = done.snapshot.output.clone().expect("output");
    let victim_deployment = output["deployment"]["arn"].as_str().expect("deployment").to_string();
    let victim_job = output["job"]["job_arn"].as_str().expect("job").to_string();
    let custom_model = output["job"]["custom_model_arn"].as_str().expect("custom model").to_string();

    // 1. A console input claiming a prepared run whose job and deployment are the victim's.
    let dataset = layout::s3_uri(BUCKET, "incoming/support-tickets.jsonl");
    let mut forged: Value = output.clone();
    forged["dataset"] = json!(dataset);
    forged["outcome"] = json!("FAILED");
    forged["error"] = json!({"Error": "JobFailed", "Cause": "forged"});
    let started =
        cloud.sfn.start_execution(&cloud.state_machine_arn, Some("forged-1"), Some(&forged.to_string())).unwrap();
    let forged_run = finished(&cloud, &started.execution_arn).await;
    assert_eq!(forged_run.snapshot.error.as_deref(), Some("ConfigInvalid"));
    let cause = forged_run.snapshot.cause.clone().unwrap_or_default();
    assert!(cause.contains("prepared") && cause.contains("deployment") && cause.contains("job"), "{cause}");

    // 2. An execution whose derived names lead to a deployment tagged for the victim, aborted mid-run.
    let attacker = "attacker-1";
    let planted = cloud
        .emulator
        .create_custom_model_deployment(CreateCustomModelDeploymentRequest {
            model_deployment_name: Some(names::deployment_name(attacker)),
            model_arn: Some(custom_model.clone()),
            tags: Some(vec![Tag { key: RUN_ID_TAG.into(), value: victim.clone() }]),
            ..Default::default()
        })
        .expect("a deployment under the attacker's derived name")
        .custom_model_deployment_arn;
    cloud.lambdas.hold("check-status");
    let input = json!({"dataset": dataset}).to_string();
    let started = cloud.sfn.start_execution(&cloud.state_machine_arn, Some(attacker), Some(&input)).unwrap();
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("check-status", 1)).await.expect("CheckJob reached");
    cloud.sfn.stop_execution(&started.execution_arn, Some("UserStopped"), Some("test")).unwrap();
    finished(&cloud, &started.execution_arn).await;
    cloud.lambdas.release("check-status");
    let summary_path = cloud.object_path(&layout::summary_key(attacker));
    eventually("the aborted run is summarised", || summary_path.exists()).await;
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    let failures = summary["failures"].to_string();
    assert!(failures.contains("refused") && failures.contains(&victim), "{summary}");
    // Its own job was stopped; nothing of the victim's was touched.
    assert_eq!(summary["stopped"].as_array().map(Vec::len), Some(1), "{summary}");
    for arn in [&victim_deployment, &planted] {
        assert!(cloud.emulator.get_custom_model_deployment(arn).is_ok(), "{arn} survives");
    }
    let job = cloud.emulator.get_model_customization_job(&victim_job).unwrap();
    assert_eq!(job.status, "Completed");
    assert!(!cloud.emulator.resource_tags(&victim_deployment).is_empty());

    // 3. The same data run again is a new run, beside the victim's.
    let (rerun, again) = upload_run(&cloud, "support-tickets.jsonl", None).await;
    assert_ne!(rerun, victim);
    assert_eq!(again.snapshot.status.as_str(), "SUCCEEDED");
    assert!(cloud.emulator.get_custom_model_deployment(&victim_deployment).is_ok());
}
