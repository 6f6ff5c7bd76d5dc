//! DISTILLATION from model invocation logs on the local cloud, end to end: the operator names the log
//! location (template parameters InvocationLogsBucket and InvocationLogsPrefix), Bedrock's gzipped log
//! objects sit there, a run asks for `training_source: invocation_logs` with request-metadata filters,
//! and the uploaded file is its evaluation set. Also what is refused, before any job and as AWS would.

use local_stack::{LocalCloud, Options, TEMPLATE};
use serde_json::{Value, json};
use shared::CustomizationType;
use shared::pipeline::layout;
use shared::sample::{Plan, Task};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
const LOGS: &str = "invocation-logs-bucket";
const PREFIX: &str = "AWSLogs/123456789012/BedrockModelInvocationLogs/";
const STUDENT: &str = "amazon.nova-micro-v1:0:128k";
const TEACHER: &str = "amazon.nova-pro-v1:0";
/// Records per hourly object of each project.
const PER_OBJECT: usize = 20;

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// One record as model invocation logging writes it.
fn record(operation: &str, input: Value, output: Value, metadata: Value) -> String {
    json!({
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": "2026-11-30T10:15:00Z",
        "accountId": "123456789012", "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/app/i"},
        "region": "us-east-1", "requestId": "0f6c7a2e-1d3b-4a55-9e8f-2b1c0d9e8f7a", "operation": operation,
        "modelId": TEACHER,
        "input": {"inputContentType": "application/json", "inputBodyJson": input, "inputTokenCount": 42},
        "output": {"outputContentType": "application/json", "outputBodyJson": output, "outputTokenCount": 17},
        "requestMetadata": metadata
    })
    .to_string()
}

fn converse(prompt: &str, answer: &str, project: &str) -> String {
    record(
        "Converse",
        json!({"system": [{"text": "You answer support tickets."}],
               "messages": [{"role": "user", "content": [{"text": prompt}]}]}),
        json!({"output": {"message": {"role": "assistant", "content": [{"text": answer}]}}, "stopReason": "end_turn",
               "usage": {"inputTokens": 42, "outputTokens": 17, "totalTokens": 59}}),
        json!({"project": project, "traceId": "t-1"}),
    )
}

/// Two hourly objects, each with PER_OBJECT support and PER_OBJECT billing prompts, a throttled call and
/// an embedding request (neither gives a prompt), and Bedrock's permission-check marker beside them.
fn write_logs(cloud: &LocalCloud) {
    cloud.s3.create_bucket(LOGS).unwrap();
    for (hour, name) in [("10", "20261130T1000Z_aa.json.gz"), ("11", "20261130T1100Z_bb.json.gz")] {
        let mut lines = Vec::new();
        for i in 0..PER_OBJECT {
            lines.push(converse(
                &format!("My order {hour}-{i} has not arrived"),
                "Sorry, we resend it today.",
                "support",
            ));
            lines.push(converse(
                &format!("Why was I billed twice in {hour}-{i}?"),
                "A refund is on its way.",
                "billing",
            ));
        }
        let mut failed: Value = serde_json::from_str(&converse("x", "y", "support")).unwrap();
        failed["errorCode"] = json!("ThrottlingException");
        lines.push(failed.to_string());
        lines.push(record("InvokeModel", json!({"texts": ["embed me"]}), json!({"embeddings": [[0.1]]}), json!({})));
        let key = format!("{PREFIX}us-east-1/2026/11/30/{hour}/{name}");
        let path = cloud.s3.root().join(LOGS).join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, gzip(&(lines.join("\n") + "\n"))).unwrap();
    }
    let marker = cloud.s3.root().join(LOGS).join(PREFIX).join("amazon-bedrock-logs-permission-check");
    std::fs::write(marker, b"").unwrap();
}

async fn start(dir: &Path, logs_parameters: bool, template: Option<String>) -> LocalCloud {
    let mut options = Options::new(dir.join("cloud"));
    // Nova's distillation has no training price in the catalogue: the operator accepts an uncapped cost.
    let mut parameters =
        vec![("AllowedBaseModels", format!("{STUDENT},{TEACHER}")), ("UnpricedModelsAllowed", "true".to_string())];
    if logs_parameters {
        parameters.push(("InvocationLogsBucket", LOGS.to_string()));
        parameters.push(("InvocationLogsPrefix", PREFIX.to_string()));
    }
    options.parameters = parameters.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    if let Some(template) = template {
        options.template = template;
    }
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");
    write_logs(&cloud);
    cloud
}

/// The run's config: distil Nova Micro from the support project's logged answers.
fn sidecar() -> Value {
    json!({
        "base_model": STUDENT,
        "customization_type": "DISTILLATION",
        "training_source": "invocation_logs",
        "invocation_logs": {"use_prompt_response": true,
            "request_metadata_filters": {"equals": {"project": "support"}}}
    })
}

/// Uploads the evaluation set with the sidecar and waits for the execution: (run id, status, output or
/// error and cause).
async fn run(cloud: &LocalCloud, dir: &Path) -> (String, String, Value) {
    let plan = Plan::new(STUDENT, CustomizationType::Distillation, Task::Qa, Some(120), 3).expect("a sample");
    let file = dir.join("support-eval.jsonl");
    std::fs::write(&file, plan.to_jsonl()).unwrap();
    cloud.upload(&file, "support-eval.jsonl", Some(&sidecar())).await.expect("upload");
    let answer = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
    let run_id = answer["started"][0]["run_id"].as_str().expect("run id").to_string();
    let arn = answer["started"][0]["execution_arn"].as_str().expect("execution").to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.expect("in time").unwrap();
    let snap = done.snapshot;
    let output = snap.output.clone().unwrap_or_else(|| json!({"error": snap.error, "cause": snap.cause}));
    (run_id, format!("{:?}", snap.status).to_uppercase(), output)
}

fn jobs(cloud: &LocalCloud) -> usize {
    cloud.emulator.list_model_customization_jobs(&Default::default()).unwrap().model_customization_job_summaries.len()
}

/// The template with `statement` (its Sid line and first lines, found by their indentation, so it
/// occurs exactly once) granting `to` instead of `from`: the grant is gone, the statement stays.
fn with_action_swapped(statement: &str, from: &str, to: &str) -> String {
    assert_eq!(TEMPLATE.matches(statement).count(), 1, "the statement is found by its indentation");
    TEMPLATE.replace(statement, &statement.replace(from, to))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distillation_trains_on_the_filtered_invocation_logs_and_holds_the_upload_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), true, None).await;
    let (run_id, status, output) = run(&cloud, dir.path()).await;
    assert_eq!(status, "SUCCEEDED", "{output}");

    // The job was given the logs, as the run asked: the operator's location, its answers, its filter.
    let job = cloud.emulator.get_model_customization_job(output["job"]["job_arn"].as_str().unwrap()).unwrap();
    assert_eq!(job.customization_type, "DISTILLATION");
    assert_eq!(job.training_data_config.s3_uri, None, "no training file");
    assert_eq!(
        job.training_data_config.invocation_logs_config,
        Some(json!({"invocationLogSource": {"s3Uri": format!("s3://{LOGS}/{PREFIX}")}, "usePromptResponse": true,
            "requestMetadataFilters": {"equals": {"project": "support"}}}))
    );
    assert_eq!(job.status, "Completed");

    // The filter took effect: only the support prompts count; the billing ones, the failed call and the
    // embedding do not.
    let data = &output["data"];
    assert_eq!(data["training_source"], "invocation_logs");
    assert_eq!(data["train_uri"], format!("s3://{LOGS}/{PREFIX}"));
    assert_eq!(data["train_records"], 2 * PER_OBJECT, "{data}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(cloud.object_path(&layout::report_key(&run_id))).unwrap()).unwrap();
    let scan = &report["invocation_logs"];
    assert_eq!(scan["objects"], 2, "the permission-check marker is not a log object: {scan}");
    assert_eq!(scan["prompts"], 2 * PER_OBJECT);
    assert_eq!(scan["filtered_out"], 2 * PER_OBJECT);
    assert_eq!(scan["skipped"], json!({"failed": 2, "unknown_shape": 2}));
    assert_eq!(scan["with_response"], 2 * PER_OBJECT);
    // The logged prompts and answers are what trains, so what the cost would be estimated from.
    assert!(scan["tokens"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(data["training_tokens"], scan["tokens"]);

    // The upload is the evaluation set, whole: nothing split off to train on.
    assert_eq!(data["validation_records"], 120, "{data}");
    assert!(cloud.object_path(&layout::validation_key(&run_id)).exists());
    assert!(!cloud.object_path(&layout::train_key(&run_id)).exists(), "Bedrock trains on the logs, not on a split");
    assert_eq!(report["split"]["strategy"], "invocation_logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_operators_log_location_the_run_is_refused_before_any_job() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), false, None).await;
    let (_, status, output) = run(&cloud, dir.path()).await;
    assert_eq!(status, "FAILED", "{output}");
    assert_eq!(output["error"], "ConfigInvalid", "{output}");
    let cause = output["cause"].as_str().unwrap();
    assert!(cause.contains("training_source") && cause.contains("InvocationLogsBucket"), "{cause}");
    assert_eq!(jobs(&cloud), 0);
    assert_eq!(cloud.lambdas.invocation_count("start-job"), 0);

    // Nor may an upload name a location of its own: only the operator says where logs are read.
    let mut elsewhere = sidecar();
    elsewhere["invocation_logs_s3_uri"] = json!("s3://someone-elses-bucket/");
    let plan = Plan::new(STUDENT, CustomizationType::Distillation, Task::Qa, Some(120), 3).unwrap();
    let file = dir.path().join("e.jsonl");
    std::fs::write(&file, plan.to_jsonl()).unwrap();
    cloud.upload(&file, "e.jsonl", Some(&elsewhere)).await.unwrap();
    let answer = cloud.next_upload_result(PATIENCE).await.unwrap().unwrap();
    let arn = answer["started"][0]["execution_arn"].as_str().unwrap().to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.unwrap().unwrap();
    let cause = done.snapshot.cause.unwrap_or_default();
    assert!(cause.contains("invocation_logs_s3_uri") && cause.contains("refused"), "{cause}");
    assert_eq!(jobs(&cloud), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bedrock_role_that_cannot_read_the_logs_fails_the_job_request_as_aws_would_and_nothing_bills() {
    let dir = tempfile::tempdir().unwrap();
    // The stack as deployed, but for the Bedrock service role's read of the log location (validate-split
    // keeps its own, so the run gets as far as CreateModelCustomizationJob).
    let grant = "- Sid: ReadTheOperatorsInvocationLogs\n                  Effect: Allow\n                  Action: s3:GetObject\n";
    let template = with_action_swapped(grant, "s3:GetObject", "s3:GetObjectTagging");
    let cloud = start(dir.path(), true, Some(template)).await;
    let (_, status, output) = run(&cloud, dir.path()).await;
    assert_eq!(status, "FAILED", "{output}");
    let cause = output["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("cannot read the invocation logs"), "{output}");
    assert_eq!(jobs(&cloud), 0, "Bedrock refused the job: nothing trains, nothing bills");
    let live = cloud.emulator.inventory();
    assert!(live.is_empty(), "{live:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_retrains_when_new_logs_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path(), true, None).await;
    let plan = Plan::new(STUDENT, CustomizationType::Distillation, Task::Qa, Some(120), 3).unwrap();
    let key = "incoming/retraining/support-eval.jsonl";
    cloud.put(&layout::sidecar_key(key), serde_json::to_vec(&sidecar()).unwrap(), "application/json").await.unwrap();
    cloud.put(key, plan.to_jsonl().into_bytes(), "application/jsonl").await.unwrap();
    let first = cloud.next_upload_result(PATIENCE).await.unwrap().unwrap();
    let arn = first["started"][0]["execution_arn"].as_str().unwrap().to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.unwrap().unwrap();
    assert_eq!(format!("{:?}", done.snapshot.status).to_uppercase(), "SUCCEEDED", "{:?}", done.snapshot.cause);

    let scheduled = || async {
        let input =
            json!({"dataset": format!("s3://{}/incoming/retraining/", local_stack::BUCKET), "skip_unchanged": true});
        let started = cloud.sfn.start_execution(&cloud.state_machine_arn, None, Some(&input.to_string())).unwrap();
        let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&started.execution_arn))
            .await
            .unwrap()
            .unwrap();
        done.snapshot.output.unwrap_or_default()
    };
    let output = scheduled().await;
    assert!(output["unchanged"]["message"].as_str().unwrap_or_default().contains("invocation logs"), "{output}");
    assert_eq!(jobs(&cloud), 1);

    // A new hour of logs: a new fingerprint, so the schedule trains again.
    let path = cloud.s3.root().join(LOGS).join(format!("{PREFIX}us-east-1/2026/11/30/12/20261130T1200Z_cc.json.gz"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, gzip(&converse("Where is my parcel?", "It ships today.", "support"))).unwrap();
    let output = scheduled().await;
    assert!(output["unchanged"].is_null(), "{output}");
    assert_eq!(output["data"]["train_records"], 2 * PER_OBJECT + 1, "{output}");
    assert_eq!(jobs(&cloud), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_split_reads_the_logs_only_through_its_own_grant() {
    let dir = tempfile::tempdir().unwrap();
    // Without validate-split's list grant on the log prefix, S3 refuses it and the run stops there.
    let grant = "- Sid: ListTheOperatorsInvocationLogsOnly\n                Effect: Allow\n                Action: s3:ListBucket\n";
    let template = with_action_swapped(grant, "s3:ListBucket", "s3:ListBucketVersions");
    let cloud = start(dir.path(), true, Some(template)).await;
    let (_, status, output) = run(&cloud, dir.path()).await;
    assert_eq!(status, "FAILED", "{output}");
    let cause = output["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("ListObjectsV2 (invocation logs)") && cause.contains("AccessDenied"), "{output}");
    assert_eq!(cloud.lambdas.invocation_count("start-job"), 0);
    assert_eq!(jobs(&cloud), 0);
}
