//! End to end on the local cloud: the real handlers, the real definition, the real wire formats.

use local_stack::{LocalCloud, Options};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

async fn run_upload(cloud: &LocalCloud, file: &Path, name: &str) -> (Value, local_sfn::ExecutionDescription) {
    cloud.upload(file, name, None).await.expect("upload");
    let result =
        cloud.next_upload_result(Duration::from_secs(60)).await.expect("notification handled").expect("validate-split");
    let arn = result["started"][0]["execution_arn"].as_str().expect("execution arn").to_string();
    let done = tokio::time::timeout(Duration::from_secs(60), cloud.sfn.wait_for_execution(&arn))
        .await
        .expect("finishes")
        .expect("describe");
    (result, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_dataset_goes_all_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = LocalCloud::start(Options::new(dir.path())).await.unwrap();
    let (_, done) = run_upload(&cloud, sample(), "support-tickets.jsonl").await;
    let snap = &done.snapshot;
    let states = snap.states_entered();
    assert_eq!(snap.status.as_str(), "SUCCEEDED", "{:?} {:?} {states:?}", snap.error, snap.cause);
    println!("{states:?}");
}
