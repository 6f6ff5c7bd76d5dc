//! The operator's KMS key and VPC (template parameters) reach the customization job; unset, the job
//! carries neither.

use local_stack::{LocalCloud, Options};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

async fn job_vpc(parameters: &[(&str, &str)]) -> Option<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(dir.path().join("cloud"));
    for (name, value) in parameters {
        options.parameters.insert((*name).into(), (*value).into());
    }
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");
    cloud.upload(sample(), "tickets.jsonl", None).await.expect("upload");
    let result = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
    let arn = result["started"][0]["execution_arn"].as_str().expect("arn").to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.unwrap().unwrap();
    assert_eq!(done.snapshot.status.as_str(), "SUCCEEDED", "{:?}", done.snapshot.cause);
    let output = done.snapshot.output.expect("output");
    let job = cloud.emulator.get_model_customization_job(output["job"]["job_arn"].as_str().unwrap()).unwrap();
    let config = &output["config"];
    assert_eq!(
        config["kms_key_id"],
        parameters.iter().find(|(n, _)| *n == "KmsKeyArn").map_or(json!(null), |(_, v)| json!(v))
    );
    job.vpc_config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_vpc_and_key_reach_the_job_and_nothing_is_added_when_unset() {
    let vpc = job_vpc(&[
        ("KmsKeyArn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("VpcSubnetIds", "subnet-0a1b2c3d,subnet-4e5f6a7b"),
        ("VpcSecurityGroupIds", "sg-0a1b2c3d"),
    ])
    .await
    .expect("the job runs in the operator's VPC");
    assert_eq!(vpc["subnetIds"], json!(["subnet-0a1b2c3d", "subnet-4e5f6a7b"]), "{vpc}");
    assert_eq!(vpc["securityGroupIds"], json!(["sg-0a1b2c3d"]), "{vpc}");
    assert_eq!(job_vpc(&[]).await, None);
}
