//! report.html as teardown writes it, read back from the local bucket: its timeline is the execution's
//! history (GetExecutionHistory through the local Step Functions endpoint, signed with teardown's role),
//! state by state with durations; when the template does not let teardown read it, the page is still
//! written, with the approximate timeline and the refusal as its reason.

use fixtures::edit::{timeline_rows, without_statement};
use local_stack::{LocalCloud, Options, TEMPLATE};
use shared::pipeline::layout;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

async fn start(dir: &Path, template: String) -> LocalCloud {
    let mut options = Options::new(dir.join("cloud"));
    options.template = template;
    LocalCloud::start(options).await.expect("local cloud starts")
}

/// Uploads the sample: (run id, execution ARN).
async fn upload(cloud: &LocalCloud) -> (String, String) {
    cloud.upload(sample(), "support-tickets.jsonl", None).await.expect("upload");
    let result = cloud.next_upload_result(PATIENCE).await.expect("answered in time").expect("validate-split");
    let started = &result["started"][0];
    (started["run_id"].as_str().expect("run id").into(), started["execution_arn"].as_str().expect("arn").into())
}

/// The page, through the local S3 API as `finetune report` would fetch it.
async fn page(cloud: &LocalCloud, run_id: &str) -> String {
    let object = cloud
        .s3_client
        .get_object()
        .bucket(local_stack::BUCKET)
        .key(layout::html_report_key(run_id))
        .send()
        .await
        .expect("teardown wrote report.html");
    String::from_utf8(object.body.collect().await.expect("body").into_bytes().to_vec()).expect("UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_runs_page_has_every_state_of_its_execution_with_durations() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), TEMPLATE.to_string()).await;
    let (run_id, arn) = upload(&cloud).await;
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.unwrap().unwrap();
    assert_eq!(done.snapshot.status.as_str(), "SUCCEEDED", "{:?}", done.snapshot.cause);

    let html = page(&cloud, &run_id).await;
    let rows = timeline_rows(&html);
    let states: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    // The execution's states up to Finalize, in order, each poll of a loop on its own row: what
    // teardown saw from inside Finalize.
    let entered = done.snapshot.states_entered();
    let finalize = entered.iter().position(|s| s == "Finalize").expect("Finalize ran");
    assert_eq!(states, entered[..=finalize], "the page's timeline is the history");
    for state in ["ValidateSplit", "StartJob", "WaitForJob", "CheckJob", "Provision", "Evaluate", "Finalize"] {
        assert!(states.contains(&state), "{state} in {states:?}");
    }
    assert!(states.iter().filter(|s| **s == "WaitForJob").count() > 1, "every poll: {states:?}");
    for (state, duration) in &rows {
        assert!(duration != "running" && duration != "—", "{state} has no duration: {duration}");
    }
    // A WaitForJob of the virtual clock lasts what the loop waited: minutes, not milliseconds.
    let wait = &rows.iter().find(|(s, _)| s == "WaitForJob").unwrap().1;
    assert!(wait.contains('m'), "WaitForJob lasted {wait}");
    assert!(!html.contains("timeline-note") && !html.contains("Training job"), "not the approximate timeline");
    assert!(html.contains("SUCCEEDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_get_execution_history_the_page_is_approximate_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), without_statement(TEMPLATE, "ReadOwnExecutionHistory")).await;
    let (run_id, arn) = upload(&cloud).await;
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.unwrap().unwrap();
    assert_eq!(done.snapshot.status.as_str(), "SUCCEEDED", "the page never fails the teardown");

    let html = page(&cloud, &run_id).await;
    let note = html.split("id=\"timeline-note\">").nth(1).expect("the page says why").split("</p>").next().unwrap();
    assert!(note.starts_with("Approximate timeline"), "{note}");
    assert!(note.contains("AccessDeniedException"), "{note}");
    assert!(note.contains("states:GetExecutionHistory") && note.contains("TeardownFunctionRole"), "{note}");
    let rows = timeline_rows(&html);
    assert!(rows[0].0.starts_with("Training job "), "the documents' phases: {rows:?}");
    assert_eq!(rows.last().map(|r| r.0.as_str()), Some("Finalize"));
    assert!(!rows.iter().any(|(s, _)| s == "WaitForJob"), "no state of the history: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_runs_page_written_from_its_status_event_has_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), TEMPLATE.to_string()).await;
    // Park the run in its first CheckJob, then stop it: EventBridge's event brings teardown.
    cloud.lambdas.hold("check-status");
    let (run_id, arn) = upload(&cloud).await;
    tokio::time::timeout(PATIENCE, cloud.lambdas.until_waiting("check-status", 1)).await.expect("CheckJob reached");
    cloud.sfn.stop_execution(&arn, Some("UserStopped"), Some("stopped by the test")).unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while cloud.lambdas.invocation_count("teardown") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "teardown never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let html = page(&cloud, &run_id).await;
    let rows = timeline_rows(&html);
    let states: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["ValidateSplit", "IsUnchanged", "IsDatasetValid", "StartJob", "WaitForJob", "CheckJob"]);
    assert_eq!(rows.last().unwrap().1, "running", "CheckJob was never left: the execution was stopped in it");
    assert!(html.contains("ABORTED") && !html.contains("timeline-note"));
    cloud.lambdas.release("check-status");
}
