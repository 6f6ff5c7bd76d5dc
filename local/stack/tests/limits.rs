//! State data stays under Step Functions' 256 KiB payload quota whatever an uploader or a caller
//! sends: oversized tags and messages in a sidecar or an execution input fail the run cleanly in its
//! first state (ConfigInvalid naming the bound), causes are bounded, nothing is created, the operator
//! is told; an execution input beyond the quota is refused by StartExecution itself, as on AWS.

use local_sfn::{ApiErrorKind, ExecutionDescription, PAYLOAD_LIMIT_BYTES};
use local_stack::{BUCKET, LocalCloud, Options};
use serde_json::{Value, json};
use shared::pipeline::layout;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
/// Lambda handlers' messages are cut to 4096 characters (functions_common::MAX_ERROR_MESSAGE_CHARS).
const CAUSE_BOUND: usize = functions_common::MAX_ERROR_MESSAGE_CHARS + 64;

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

async fn finished(cloud: &LocalCloud, arn: &str) -> ExecutionDescription {
    tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(arn)).await.expect("in time").expect("describe")
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The largest piece of state data in the execution's history: every state's input and output, every
/// task's parameters and result, and the execution's cause.
fn largest_state_data(cloud: &LocalCloud, arn: &str) -> (usize, String) {
    let mut largest = (0, String::new());
    for event in cloud.sfn.get_execution_history(arn).expect("history") {
        let size = serde_json::to_string(&event.details).expect("serializes").len();
        if size > largest.0 {
            largest = (size, format!("{:?}", event.details).chars().take(120).collect());
        }
    }
    largest
}

/// A run refused in ValidateSplit: the cause names `needle`, is bounded, no state's data nears the
/// quota, nothing was created and the operator's message fits SNS.
async fn assert_refused_cleanly(cloud: &LocalCloud, arn: &str, needle: &str, what: &str) {
    let jobs_before = cloud.lambdas.invocation_count("start-job");
    let done = finished(cloud, arn).await;
    let snap = &done.snapshot;
    assert_eq!(snap.status.as_str(), "FAILED", "{what}");
    assert_eq!(snap.error.as_deref(), Some("ConfigInvalid"), "{what}");
    let cause = snap.cause.clone().unwrap_or_default();
    assert!(cause.contains(needle), "{what}: {}", cause.chars().take(400).collect::<String>());
    assert!(cause.chars().count() <= CAUSE_BOUND, "{what}: a cause of {} characters", cause.chars().count());
    assert_eq!(snap.states_entered(), ["ValidateSplit"], "{what}");
    let (size, event) = largest_state_data(cloud, arn);
    assert!(size < PAYLOAD_LIMIT_BYTES, "{what}: {size} bytes in {event}");
    assert_eq!(cloud.lambdas.invocation_count("start-job"), jobs_before, "{what}: a job was started");
    let summary = cloud.object_path(&layout::summary_key(&done.name));
    eventually(&format!("{what}: the run is summarised"), || summary.exists()).await;
    let published = cloud.lambdas.notifier.published.lock().unwrap().clone();
    let message = published.iter().find(|(_, m)| m.contains(&done.name)).expect("the operator is told");
    // SNS takes at most 256 KB a message.
    assert!(message.1.len() < 256 * 1024 / 4, "{what}: a message of {} bytes", message.1.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_tags_and_values_in_a_sidecar_or_an_execution_input_fail_cleanly_within_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = LocalCloud::start(Options::new(dir.path().join("cloud"))).await.expect("local cloud starts");
    let huge = "v".repeat(120 * 1024);
    let many: serde_json::Map<String, Value> = (0..3000).map(|i| (format!("k{i}"), json!("!bad value"))).collect();

    // 1. A sidecar with a tag value of 120 KiB and thousands of invalid tags (each a problem).
    let sidecars = [
        (json!({"tags": {"team": huge}}), "at most 256"),
        (json!({"tags": many}), "at most 10"),
        // A value quoted back in serde's message: the cause is still bounded.
        (json!({"seed": huge}), "seed"),
    ];
    for (i, (sidecar, needle)) in sidecars.iter().enumerate() {
        cloud.upload(sample(), &format!("big-{i}.jsonl"), Some(sidecar)).await.expect("upload");
        let result = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
        let arn = result["started"][0]["execution_arn"].as_str().expect("execution arn").to_string();
        assert_refused_cleanly(&cloud, &arn, needle, &format!("sidecar {i}")).await;
    }

    assert_eq!(cloud.emulator.inventory().len(), 0, "nothing was created: {:?}", cloud.emulator.inventory());

    // 2. The same in a console execution's input (below the quota, so StartExecution takes it), naming
    // a dataset under incoming/ (the only prefix validate-split reads) whose own upload ran normally.
    let key = cloud.upload(sample(), "plain.jsonl", None).await.expect("upload");
    let result = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
    let plain = result["started"][0]["execution_arn"].as_str().expect("execution arn").to_string();
    assert_eq!(finished(&cloud, &plain).await.snapshot.status.as_str(), "SUCCEEDED");
    let before = cloud.emulator.inventory();
    let dataset = layout::s3_uri(BUCKET, &key);
    let inputs = [
        (json!({"dataset": dataset, "config": {"tags": {"team": huge}}}), "at most 256"),
        (json!({"dataset": dataset, "config": {"seed": huge}}), "seed"),
        (
            {
                // A field of its own: refused by name, the name clipped.
                let mut input = json!({"dataset": dataset});
                input[&huge[..200]] = json!(1);
                input
            },
            "refused",
        ),
    ];
    for (i, (input, needle)) in inputs.iter().enumerate() {
        let input = input.to_string();
        assert!(input.len() < PAYLOAD_LIMIT_BYTES);
        let started = cloud
            .sfn
            .start_execution(&cloud.state_machine_arn, Some(&format!("big-input-{i}")), Some(&input))
            .expect("started");
        assert_refused_cleanly(&cloud, &started.execution_arn, needle, &format!("input {i}")).await;
    }

    // 3. An execution input beyond the quota never starts (StartExecution's own length constraint).
    let input = json!({"dataset": dataset, "config": {"tags": {"team": "v".repeat(PAYLOAD_LIMIT_BYTES)}}}).to_string();
    let err = cloud.sfn.start_execution(&cloud.state_machine_arn, Some("too-big"), Some(&input)).unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::ValidationException, "{err}");
    let names: Vec<String> =
        cloud.sfn.list_executions(&cloud.state_machine_arn, None).unwrap().into_iter().map(|e| e.name).collect();
    assert!(!names.iter().any(|n| n == "too-big"), "{names:?}");

    assert_eq!(cloud.emulator.inventory(), before, "nothing was created");
}
