//! IAM on the local cloud: the shipped template runs the sample; a template missing a statement the
//! pipeline needs makes the run fail the way AWS would, with AccessDenied naming the action and the role.

use fixtures::edit::without_statement;
use local_sfn::{EventDetails, ExecutionStatus, HistoryEvent};
use local_stack::{LocalCloud, Options, TEMPLATE};
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl"))
}

/// The template with `old` (which must occur exactly once) replaced.
fn replaced(template: &str, old: &str, new: &str) -> String {
    assert_eq!(template.matches(old).count(), 1, "{old:?} must occur once in the template");
    template.replacen(old, new, 1)
}

async fn start(dir: &Path, template: String, faults: Option<&str>) -> LocalCloud {
    let mut options = Options::new(dir.join("cloud"));
    options.template = template;
    options.faults = faults.map(str::to_string);
    LocalCloud::start(options).await.expect("local cloud starts")
}

/// What became of an upload: validate-split's error, or the execution's end and its history.
enum Run {
    NotStarted { error_type: String, message: String },
    Ended { status: ExecutionStatus, error: Option<String>, cause: Option<String>, history: Vec<HistoryEvent> },
}

async fn run(template: String, faults: Option<&str>) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let cloud = start(dir.path(), template, faults).await;
    cloud.upload(sample(), "support-tickets.jsonl", None).await.expect("the administrator may upload");
    let answer = cloud.next_upload_result(PATIENCE).await.expect("the notification is answered in time");
    let result = match answer {
        Ok(result) => result,
        Err(e) => return Run::NotStarted { error_type: e.error_type, message: e.error_message },
    };
    let arn = result["started"][0]["execution_arn"].as_str().expect("an execution").to_string();
    let end = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn))
        .await
        .expect("finishes in time")
        .expect("describe");
    let s = end.snapshot;
    Run::Ended { status: s.status, error: s.error, cause: s.cause, history: s.history }
}

/// Every task failure of the history, as (error, cause).
fn task_failures(history: &[HistoryEvent]) -> Vec<(String, String)> {
    history
        .iter()
        .filter_map(|e| match &e.details {
            EventDetails::TaskFailed { error, cause, .. } => Some((error.clone(), cause.clone())),
            _ => None,
        })
        .collect()
}

/// The run failed, and some task failed with `error` and a cause saying `role` may not `action`.
fn assert_denied(run: &Run, error: &str, role: &str, action: &str) {
    let Run::Ended { status, history, .. } = run else { panic!("the upload started no execution") };
    assert_eq!(*status, ExecutionStatus::Failed);
    let failures = task_failures(history);
    let sentence = format!("is not authorized to perform: {action} on resource: ");
    assert!(
        failures.iter().any(|(e, cause)| e == error
            && cause.contains(&format!(":assumed-role/{role}/"))
            && cause.contains(&sentence)
            && cause.contains(&format!("because no identity-based policy allows the {action} action"))),
        "no {error} for {role} / {action} among {failures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_template_runs_the_sample() {
    let Run::Ended { status, error, cause, history } = run(TEMPLATE.to_string(), None).await else {
        panic!("the upload started no execution")
    };
    assert_eq!(status, ExecutionStatus::Succeeded, "{error:?}: {cause:?}");
    assert!(task_failures(&history).iter().all(|(e, _)| !e.contains("AccessDenied")), "{:?}", task_failures(&history));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_split_without_put_object_on_runs_fails_before_any_job() {
    // The upload starts its execution; ValidateSplit, its first state, cannot write the split.
    let template = replaced(TEMPLATE, "Action: [s3:PutObject, s3:GetObject]", "Action: [s3:GetObject]");
    let run = run(template, None).await;
    assert_denied(&run, "AccessDenied", "finetune-ValidateSplitFunctionRole", "s3:PutObject");
    let Run::Ended { history, .. } = &run else { unreachable!() };
    let failures = task_failures(history);
    assert!(
        failures.iter().all(|(e, _)| e == "AccessDenied"),
        "only ValidateSplit failed, nothing after it ran: {failures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_job_without_create_model_customization_job() {
    let template = replaced(TEMPLATE, "                - bedrock:CreateModelCustomizationJob\n", "");
    let run = run(template, None).await;
    assert_denied(&run, "AccessDenied", "finetune-StartJobFunctionRole", "bedrock:CreateModelCustomizationJob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_job_without_pass_role() {
    let template = without_statement(TEMPLATE, "PassOnlyTheServiceRoleOnlyToBedrock");
    let run = run(template, None).await;
    assert_denied(&run, "AccessDenied", "finetune-StartJobFunctionRole", "iam:PassRole");
}

/// What EventBridge delivers to teardown when an execution FAILED (the template's rule).
fn failed_execution_event(run_id: &str) -> serde_json::Value {
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:finetune-pipeline";
    let execution = format!("arn:aws:states:us-east-1:123456789012:execution:finetune-pipeline:{run_id}");
    serde_json::json!({
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "region": "us-east-1",
        "resources": [execution],
        "detail": {"executionArn": execution, "stateMachineArn": machine, "name": run_id, "status": "FAILED"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_without_list_bucket_cannot_tell_a_missing_summary() {
    // A FAILED execution whose Finalize never wrote a summary: teardown looks for it first.
    let dir = tempfile::tempdir().expect("temp dir");
    let shipped = start(&dir.path().join("shipped"), TEMPLATE.to_string(), None).await;
    let done = shipped.lambdas.call("teardown", failed_execution_event("run-1")).await;
    assert!(done.is_ok(), "with the shipped template the missing summary is NoSuchKey: {done:?}");

    let template = without_statement(TEMPLATE, "TellAMissingSummaryFromADeniedRead");
    let cloud = start(&dir.path().join("changed"), template, None).await;
    let e = cloud.lambdas.call("teardown", failed_execution_event("run-1")).await.expect_err("denied");
    assert_eq!(e.error_type, "AccessDenied");
    assert!(
        e.error_message.contains("GetObject failed: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/finetune-TeardownFunctionRole/teardown is not authorized to perform: s3:ListBucket on resource: \"arn:aws:s3:::finetune-123456789012-us-east-1\""),
        "{}",
        e.error_message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_machine_without_invoke_on_start_job() {
    let template =
        replaced(TEMPLATE, "        - LambdaInvokePolicy:\n            FunctionName: !Ref StartJobFunction\n", "");
    let run = run(template, None).await;
    let Run::Ended { status, history, .. } = &run else { panic!("no execution") };
    assert_eq!(*status, ExecutionStatus::Failed);
    let failures = task_failures(history);
    assert!(
        failures.iter().any(|(e, cause)| e == "Lambda.AWSLambdaException"
            && cause.contains("assumed-role/finetune-PipelineStateMachineRole/")
            && cause.contains("is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:start-job")
            && cause.contains("Error Code: AccessDeniedException")),
        "{failures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_s3_permission_the_upload_starts_nothing() {
    // SAM's permission for the bucket notification goes with the event source: without the event,
    // S3 may not invoke validate-split.
    let template = replaced(
        TEMPLATE,
        "      Events:\n        DatasetUploaded:\n          Type: S3\n          Properties:\n            Bucket: !Ref PipelineBucket\n            Events: s3:ObjectCreated:*\n            Filter:\n              S3Key:\n                Rules:\n                  - Name: prefix\n                    Value: incoming/\n                  - Name: suffix\n                    Value: .jsonl\n",
        "",
    );
    let Run::NotStarted { error_type, message } = run(template, None).await else { panic!("a run started") };
    assert_eq!(error_type, "AccessDeniedException");
    assert!(
        message.contains("User: s3.amazonaws.com is not authorized to perform: lambda:InvokeFunction"),
        "{message}"
    );
}
