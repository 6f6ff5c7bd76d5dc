//! validate-split's streamed split through the local stack (its role's IAM enforced by the local S3):
//! a dataset of a few 5 MiB parts is read with ranged GETs and split into multipart uploads; every
//! failure leaves no upload behind; S3's rules on parts and the template's grants hold as on AWS.

use local_stack::{LocalCloud, Options, TEMPLATE};
use serde_json::{Value, json};
use std::path::Path;

const BUCKET: &str = local_stack::BUCKET;
/// The template's own part size (8 MiB), which these tests lower to a few MiB.
const TEMPLATE_PART_SIZE_LINE: &str = "SPLIT_PART_SIZE_MIB: \"8\"";

/// ~`mib` MiB of varied conversation records for the default model (a bad record as line `bad`).
fn dataset(mib: usize, bad: Option<usize>) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(mib << 20);
    let filler = "lorem ipsum dolor sit amet ".repeat(40);
    let mut n = 0;
    while out.len() < mib << 20 {
        n += 1;
        if Some(n) == bad {
            out.extend_from_slice(b"{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\": [\n");
            continue;
        }
        let line = format!(
            "{{\"schemaVersion\": \"bedrock-conversation-2024\", \"system\": [{{\"text\": \"You route tickets.\"}}], \
             \"messages\": [{{\"role\": \"user\", \"content\": [{{\"text\": \"ticket {n}: {filler}\"}}]}}, \
             {{\"role\": \"assistant\", \"content\": [{{\"text\": \"category {}\"}}]}}]}}\n",
            n % 7
        );
        out.extend_from_slice(line.as_bytes());
    }
    (out, n)
}

async fn cloud(dir: &Path, template: String) -> LocalCloud {
    let mut options = Options::new(dir.join("cloud"));
    options.template = template;
    LocalCloud::start(options).await.expect("local cloud starts")
}

fn with_part_size(template: &str, mib: u32) -> String {
    assert_eq!(template.matches(TEMPLATE_PART_SIZE_LINE).count(), 1);
    template.replacen(TEMPLATE_PART_SIZE_LINE, &format!("SPLIT_PART_SIZE_MIB: \"{mib}\""), 1)
}

/// Uploads under incoming/, as a user would, and waits until the run that upload starts through the
/// bucket notification has ended, so its own uploads cannot be taken for the task's under test.
async fn put_and_settle(cloud: &LocalCloud, key: &str, data: Vec<u8>) {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);
    cloud.put(key, data, "application/jsonl").await.unwrap();
    let answer = cloud.next_upload_result(PATIENCE).await.expect("the notification is answered in time");
    let Ok(answer) = answer else { return };
    for started in answer["started"].as_array().into_iter().flatten() {
        let arn = started["execution_arn"].as_str().expect("execution arn");
        tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(arn))
            .await
            .expect("the upload's run ends in time")
            .expect("describe");
    }
}

/// ValidateSplit's task, as the state machine invokes it.
async fn validate(cloud: &LocalCloud, key: &str, run: &str) -> Result<Value, local_cloud::FunctionError> {
    let payload = json!({"input": {"dataset": format!("s3://{BUCKET}/{key}")}, "execution_name": run});
    cloud.lambdas.call("validate-split", payload).await
}

/// The multipart uploads in progress in the bucket (ListMultipartUploads, as the administrator).
async fn uploads_in_progress(cloud: &LocalCloud) -> Vec<String> {
    let out = cloud.s3_client.list_multipart_uploads().bucket(BUCKET).send().await.expect("ListMultipartUploads");
    out.uploads.unwrap_or_default().into_iter().filter_map(|u| u.key).collect()
}

/// Part files the store still holds (s3s-fs keeps `.upload_id-<id>.part-<n>` until completion or abort).
fn part_files(cloud: &LocalCloud) -> usize {
    std::fs::read_dir(cloud.s3.root())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".upload_id-"))
        .count()
}

async fn object(cloud: &LocalCloud, key: &str) -> Option<(Vec<u8>, String)> {
    let out = cloud.s3_client.get_object().bucket(BUCKET).key(key).send().await.ok()?;
    let etag = out.e_tag.clone().unwrap_or_default();
    Some((out.body.collect().await.unwrap().into_bytes().to_vec(), etag))
}

#[tokio::test]
async fn a_dataset_of_several_parts_is_split_into_multipart_uploads_without_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), with_part_size(TEMPLATE, 5)).await;
    let (data, records) = dataset(16, None);
    put_and_settle(&cloud, "incoming/big.jsonl", data.clone()).await;
    let gets_before = cloud.s3.served("GetObject");

    let run = validate(&cloud, "incoming/big.jsonl", "big-run").await.expect("valid");
    assert_eq!(run["data"]["valid"], true, "{run}");
    let (train, validation) =
        (run["data"]["train_records"].as_u64().unwrap(), run["data"]["validation_records"].as_u64().unwrap());
    assert_eq!(train + validation, records as u64);

    // Read as four ranged GETs of 5 MiB (16 MiB), and the sidecar's probe.
    assert!(cloud.s3.served("GetObject") - gets_before >= 4, "{}", cloud.s3.served("GetObject"));
    // The train file (~90% of 16 MiB) was uploaded in parts: S3's multipart ETag ends in -<parts>.
    let (train_bytes, etag) = object(&cloud, "runs/big-run/train.jsonl").await.expect("train.jsonl");
    assert!(etag.trim_matches('"').ends_with("-3"), "{etag}");
    assert!(cloud.s3.served("UploadPart") >= 3);
    let (validation_bytes, _) = object(&cloud, "runs/big-run/validation.jsonl").await.expect("validation.jsonl");
    // Every record is on exactly one side, whole, in its original order.
    let mut lines: Vec<&[u8]> = train_bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len() as u64, train);
    lines.extend(validation_bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()));
    let mut original: Vec<&[u8]> = data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    original.sort();
    lines.sort();
    assert!(original == lines, "the split holds exactly the dataset's records");

    assert!(uploads_in_progress(&cloud).await.is_empty());
    assert_eq!(part_files(&cloud), 0);
    // Nothing in the function's work folder (its TMPDIR): the dataset was never copied to disk.
    let work = local_stack::bookkeeping_dir(&dir.path().join("cloud")).join("work");
    assert_eq!(std::fs::read_dir(&work).map(|d| d.count()).unwrap_or(0), 0);
    // The upload is untouched.
    assert_eq!(object(&cloud, "incoming/big.jsonl").await.unwrap().0, data);
}

#[tokio::test]
async fn an_invalid_dataset_aborts_every_upload_it_started_and_writes_only_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), with_part_size(TEMPLATE, 5)).await;
    // The bad record comes late, after parts of both files were uploaded.
    let (data, records) = dataset(14, Some(9_000));
    assert!(records > 9_000);
    put_and_settle(&cloud, "incoming/bad.jsonl", data).await;

    let err = validate(&cloud, "incoming/bad.jsonl", "bad-run").await.unwrap_err();
    assert_eq!(err.error_type, "DatasetInvalid", "{}", err.error_message);
    assert!(err.error_message.contains("line 9000"), "{}", err.error_message);
    assert!(cloud.s3.served("UploadPart") >= 2, "parts were uploaded before the error was known");
    assert!(cloud.s3.served("AbortMultipartUpload") >= 1);
    assert_eq!(uploads_in_progress(&cloud).await, Vec::<String>::new());
    assert_eq!(part_files(&cloud), 0);
    assert!(object(&cloud, "runs/bad-run/train.jsonl").await.is_none());
    assert!(object(&cloud, "runs/bad-run/validation-report.json").await.is_some());
}

#[tokio::test]
async fn parts_below_5_mib_fail_the_run_with_entity_too_small_and_the_upload_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), with_part_size(TEMPLATE, 1)).await;
    let (data, _) = dataset(3, None);
    put_and_settle(&cloud, "incoming/small-parts.jsonl", data).await;
    let err = validate(&cloud, "incoming/small-parts.jsonl", "small-parts").await.unwrap_err();
    assert!(err.error_message.contains("EntityTooSmall"), "{}: {}", err.error_type, err.error_message);
    assert!(object(&cloud, "runs/small-parts/train.jsonl").await.is_none());
    assert_eq!(uploads_in_progress(&cloud).await, Vec::<String>::new());
    assert_eq!(part_files(&cloud), 0);
}

#[tokio::test]
async fn without_s3_abort_multipart_upload_in_the_template_a_failed_run_leaks_its_uploads_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let template = with_part_size(TEMPLATE, 5);
    let grant = "            - Sid: AbortItsSplitUploads\n";
    let start = template.find(grant).expect("the template grants the abort");
    let end = start + grant.len() + template[start + grant.len()..].find("            - Sid:").unwrap();
    let template = format!("{}{}", &template[..start], &template[end..]);
    let cloud = cloud(dir.path(), template).await;
    let (data, _) = dataset(12, Some(8_000));
    put_and_settle(&cloud, "incoming/bad.jsonl", data).await;
    let err = validate(&cloud, "incoming/bad.jsonl", "leaky").await.unwrap_err();
    assert_eq!(err.error_type, "DatasetInvalid");
    // AbortMultipartUpload was refused (AccessDenied): the parts stay until the lifecycle rule.
    assert_eq!(cloud.s3.served("AbortMultipartUpload"), 0);
    let leaked = uploads_in_progress(&cloud).await;
    assert!(leaked.contains(&"runs/leaky/train.jsonl".to_string()), "{leaked:?}");
}
