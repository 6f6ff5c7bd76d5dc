//! validate-split against mocked S3 and Step Functions clients, on the repository's sample dataset.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::Object;
use aws_sdk_s3::types::error::{NoSuchKey, NotFound};
use aws_sdk_sfn::error::ErrorMetadata;
use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
use aws_sdk_sfn::types::error::ExecutionAlreadyExists;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use functions_common::{Env, SdkConfig};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::pipeline::{PipelineError, PreparedRun, StartRequest, layout};
use std::sync::{Arc, Mutex};
use validate_split::{Deps, NotificationResult, handler, on_request};

use fixtures::{BUCKET, DATASET_KEY as KEY, SIDECAR_KEY as SIDECAR, STATE_MACHINE_ARN as SM_ARN, defaults};

const SAMPLE: &[u8] = fixtures::SAMPLE_DATASET.as_bytes();

type Seen<T> = Arc<Mutex<Vec<T>>>;

struct Cloud {
    s3_rules: Vec<Rule>,
    sfn_rules: Vec<Rule>,
    puts: Seen<String>,
    starts: Seen<(String, String, PreparedRun)>,
}

/// S3 holding `dataset` at KEY (ETag "abc") and `sidecar` beside it; StartExecution answering `start`.
fn cloud(dataset: Vec<u8>, sidecar: Option<Value>, start: Rule) -> Cloud {
    let puts: Seen<String> = Arc::default();
    let starts: Seen<(String, String, PreparedRun)> = Arc::default();
    let head = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.bucket() == Some(BUCKET) && r.key() == Some(KEY))
        .then_output(|| HeadObjectOutput::builder().e_tag("\"abc\"").build());
    let get = mock!(aws_sdk_s3::Client::get_object)
        // Reads exactly the version whose ETag went into the run id.
        .match_requests(|r| r.key() == Some(KEY) && r.if_match() == Some("\"abc\""))
        .then_output(move || GetObjectOutput::builder().body(ByteStream::from(dataset.clone())).build());
    let side =
        match sidecar {
            Some(v) => mock!(aws_sdk_s3::Client::get_object).match_requests(|r| r.key() == Some(SIDECAR)).then_output(
                move || GetObjectOutput::builder().body(ByteStream::from(serde_json::to_vec(&v).unwrap())).build(),
            ),
            None => mock!(aws_sdk_s3::Client::get_object)
                .match_requests(|r| r.key() == Some(SIDECAR))
                .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build())),
        };
    // No validation file beside the dataset: the split holds records out.
    let no_validation_file = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.key().is_some_and(|k| k.ends_with(layout::VALIDATION_SUFFIX)))
        .then_error(|| HeadObjectError::NotFound(NotFound::builder().build()));
    let sink = puts.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            sink.lock().unwrap().push(r.key().unwrap_or_default().to_string());
            r.bucket() == Some(BUCKET)
        })
        .then_output(|| PutObjectOutput::builder().build());
    let sink = starts.clone();
    let record = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(move |r| {
            let run: PreparedRun = serde_json::from_str(r.input().unwrap()).unwrap();
            let entry = (r.state_machine_arn().unwrap().to_string(), r.name().unwrap().to_string(), run);
            sink.lock().unwrap().push(entry);
            false // only records; `start` answers
        })
        .then_output(|| unreachable!());
    Cloud { s3_rules: vec![head, no_validation_file, get, side, put], sfn_rules: vec![record, start], puts, starts }
}

fn started() -> Rule {
    mock!(aws_sdk_sfn::Client::start_execution).then_output(|| {
        StartExecutionOutput::builder()
            .execution_arn("arn:aws:states:us-east-1:123456789012:execution:pipeline:x")
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    })
}

fn deps(cloud: &Cloud, work: &std::path::Path) -> Deps {
    let s3_rules: Vec<&Rule> = cloud.s3_rules.iter().collect();
    let sfn_rules: Vec<&Rule> = cloud.sfn_rules.iter().collect();
    Deps {
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &s3_rules, |c| c.retry_config(RetryConfig::disabled())),
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &sfn_rules, |c| c.retry_config(RetryConfig::disabled())),
        state_machine_arn: Ok(SM_ARN.into()),
        defaults: Ok(defaults()),
        work_dir: work.to_path_buf(),
    }
}

/// The sample S3 notification from events/, whose key is form-encoded (`support+tickets.jsonl`).
fn s3_event() -> Value {
    serde_json::from_str(include_str!("../../../events/s3-put.json")).unwrap()
}

async fn notify(deps: &Deps, event: Value) -> Result<NotificationResult, PipelineError> {
    let out = handler(deps, LambdaEvent::new(event, Context::default())).await.map_err(|e| e.0)?;
    Ok(serde_json::from_value(out).unwrap())
}

#[tokio::test]
async fn an_upload_is_split_under_runs_and_starts_an_execution_named_by_the_run_id() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), None, started());
    let result = notify(&deps(&cloud, work.path()), s3_event()).await.unwrap();

    let starts = cloud.starts.lock().unwrap();
    let (arn, name, run) = &starts[0];
    assert_eq!(arn, SM_ARN);
    assert_eq!(name, &run.run_id);
    assert!(run.run_id.starts_with("support-tickets-"), "{}", run.run_id);
    assert!(run.prepared && run.data.valid && run.data.cause.is_none());
    assert_eq!((run.source.key.as_str(), run.source.etag.as_str()), (KEY, "abc"));
    // Settled: the model's deployment and the moderate preset are written into the run.
    assert_eq!(run.config, defaults().settled());
    assert_eq!(run.config.preset, Some(shared::presets::Preset::Moderate));
    assert_eq!(run.data.train_records + run.data.validation_records, 200);
    assert!(run.data.validation_records > 0 && run.data.training_tokens > 0);
    let prefix = format!("s3://{BUCKET}/runs/{}/", run.run_id);
    assert_eq!(run.data.train_uri, format!("{prefix}train.jsonl"));
    assert_eq!(run.data.validation_uri.as_deref(), Some(&*format!("{prefix}validation.jsonl")));
    assert_eq!(run.data.report_uri, format!("{prefix}validation-report.json"));

    let mut puts = cloud.puts.lock().unwrap().clone();
    puts.sort();
    let id = &run.run_id;
    assert_eq!(
        puts,
        [
            format!("runs/{id}/train.jsonl"),
            format!("runs/{id}/validation-report.json"),
            format!("runs/{id}/validation.jsonl")
        ]
    );
    assert_eq!(result.started.len(), 1);
    assert!(!result.started[0].already_started && result.started[0].valid);
    // The temporary copy is gone.
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_duplicate_event_finds_the_execution_already_exists_and_succeeds() {
    let work = tempfile::tempdir().unwrap();
    let exists = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
        StartExecutionError::ExecutionAlreadyExists(
            ExecutionAlreadyExists::builder()
                .message("Execution Already Exists")
                .meta(ErrorMetadata::builder().code("ExecutionAlreadyExists").build())
                .build(),
        )
    });
    let cloud = cloud(SAMPLE.to_vec(), None, exists);
    let result = notify(&deps(&cloud, work.path()), s3_event()).await.unwrap();
    assert!(result.started[0].already_started);
    assert!(result.started[0].execution_arn.is_none());
}

#[tokio::test]
async fn keys_outside_incoming_or_not_jsonl_are_ignored_without_any_call() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), None, started());
    let mut event = s3_event();
    let record = event["Records"][0].clone();
    let mut records = vec![];
    for key in ["runs/x/train.jsonl", "incoming/notes.txt", "incoming/support+tickets.pipeline.json"] {
        let mut r = record.clone();
        r["s3"]["object"]["key"] = json!(key);
        records.push(r);
    }
    event["Records"] = json!(records);
    let result = notify(&deps(&cloud, work.path()), event).await.unwrap();
    assert!(result.started.is_empty());
    assert_eq!(result.ignored, ["runs/x/train.jsonl", "incoming/notes.txt", "incoming/support tickets.pipeline.json"]);
    assert!(cloud.s3_rules.iter().all(|r| r.num_calls() == 0));
    assert!(cloud.starts.lock().unwrap().is_empty());
}

fn with_bad_line_2() -> Vec<u8> {
    let text = std::str::from_utf8(SAMPLE).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\": [";
    (lines.join("\n") + "\n").into_bytes()
}

#[tokio::test]
async fn invalid_data_still_starts_an_execution_whose_cause_names_the_line_and_the_report() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(with_bad_line_2(), None, started());
    let result = notify(&deps(&cloud, work.path()), s3_event()).await.unwrap();
    assert!(!result.started[0].valid);
    let starts = cloud.starts.lock().unwrap();
    let run = &starts[0].2;
    assert!(!run.data.valid);
    let cause = run.data.cause.as_deref().unwrap();
    assert!(cause.contains("line 2"), "{cause}");
    assert!(cause.contains(&run.data.report_uri), "{cause}");
    assert!(run.data.first_errors[0].contains("line 2"));
    // Only the report is written for invalid data.
    assert_eq!(*cloud.puts.lock().unwrap(), [format!("runs/{}/validation-report.json", run.run_id)]);
}

#[tokio::test]
async fn a_bad_sidecar_starts_an_execution_that_fails_with_the_config_problem() {
    let work = tempfile::tempdir().unwrap();
    let sidecar = json!({"base_model": "amazon.nova-micro-v1:0:128k", "hyperparameters": {"epochCount": "99"}});
    let cloud = cloud(SAMPLE.to_vec(), Some(sidecar), started());
    notify(&deps(&cloud, work.path()), s3_event()).await.unwrap();
    let starts = cloud.starts.lock().unwrap();
    let run = &starts[0].2;
    let cause = run.data.cause.as_deref().unwrap();
    assert!(!run.data.valid && cause.starts_with("ConfigInvalid: ") && cause.contains("epochCount"), "{cause}");
    assert_eq!(*cloud.puts.lock().unwrap(), [format!("runs/{}/validation-report.json", run.run_id)]);
}

#[tokio::test]
async fn a_sidecar_overrides_the_defaults_and_changes_the_run_id() {
    let work = tempfile::tempdir().unwrap();
    let plain = cloud(SAMPLE.to_vec(), None, started());
    notify(&deps(&plain, work.path()), s3_event()).await.unwrap();
    let tuned = cloud(SAMPLE.to_vec(), Some(json!({"hyperparameters": {"epochCount": "3"}})), started());
    notify(&deps(&tuned, work.path()), s3_event()).await.unwrap();
    let (a, b) = (&plain.starts.lock().unwrap()[0].2, &tuned.starts.lock().unwrap()[0].2);
    assert_eq!(b.config.hyperparameters["epochCount"], "3");
    assert_ne!(a.run_id, b.run_id);
}

#[tokio::test]
async fn throttled_start_execution_is_reported_for_retry() {
    let work = tempfile::tempdir().unwrap();
    let throttled = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
        StartExecutionError::generic(
            ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build(),
        )
    });
    let cloud = cloud(SAMPLE.to_vec(), None, throttled);
    let err = notify(&deps(&cloud, work.path()), s3_event()).await.unwrap_err();
    assert_eq!(err.error_type(), "Throttled");
    assert!(err.to_string().contains("StartExecution"));
}

fn listing(cloud: &mut Cloud) -> Rule {
    // Two pages: the newest .jsonl is on the second; sidecars, other files and older uploads lose.
    let pages = mock!(aws_sdk_s3::Client::list_objects_v2)
        .match_requests(|r| r.bucket() == Some(BUCKET) && r.prefix() == Some("incoming/"))
        .sequence()
        .output(|| {
            ListObjectsV2Output::builder()
                .contents(Object::builder().key("incoming/old.jsonl").last_modified(DateTime::from_secs(100)).build())
                .contents(Object::builder().key("incoming/newer.txt").last_modified(DateTime::from_secs(900)).build())
                .is_truncated(true)
                .next_continuation_token("page-2")
                .build()
        })
        .output(|| {
            ListObjectsV2Output::builder()
                .contents(Object::builder().key(KEY).last_modified(DateTime::from_secs(500)).build())
                .contents(Object::builder().key(SIDECAR).last_modified(DateTime::from_secs(800)).build())
                .is_truncated(false)
                .build()
        })
        .build();
    cloud.s3_rules.push(pages.clone());
    pages
}

#[tokio::test]
async fn a_start_request_with_a_prefix_uses_the_newest_dataset_and_layers_its_config() {
    let work = tempfile::tempdir().unwrap();
    let mut cloud = cloud(SAMPLE.to_vec(), Some(json!({"seed": 7})), started());
    let pages = listing(&mut cloud);
    let request = StartRequest {
        dataset: format!("s3://{BUCKET}/incoming/"),
        config: json!({"hyperparameters": {"epochCount": "3"}}),
        skip_unchanged: false,
    };
    let run = on_request(&deps(&cloud, work.path()), request).await.unwrap();
    assert_eq!(pages.num_calls(), 2);
    assert_eq!(run.source.key, KEY);
    assert_eq!((run.config.seed, run.config.hyperparameters["epochCount"].as_str()), (7, "3"));
    assert!(run.data.valid);
    // The state machine starts the job itself: no StartExecution from this entry.
    assert!(cloud.starts.lock().unwrap().is_empty());
    assert_eq!(cloud.puts.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_start_request_with_invalid_data_raises_dataset_invalid_after_writing_the_report() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(with_bad_line_2(), None, started());
    let request = StartRequest { dataset: format!("s3://{BUCKET}/{KEY}"), config: Value::Null, skip_unchanged: false };
    let event = LambdaEvent::new(serde_json::to_value(&request).unwrap(), Context::default());
    let err = handler(&deps(&cloud, work.path()), event).await.unwrap_err();
    let PipelineError::DatasetInvalid(cause) = &err.0 else { panic!("{err:?}") };
    assert!(cause.contains("line 2") && cause.contains("validation-report.json"), "{cause}");
    let puts = cloud.puts.lock().unwrap();
    assert!(puts.len() == 1 && puts[0].ends_with("/validation-report.json"));
}

#[tokio::test]
async fn start_requests_with_bad_uris_or_config_are_config_errors() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), None, started());
    let deps = deps(&cloud, work.path());
    for dataset in ["incoming/x.jsonl", "s3://", "s3://bkt"] {
        let err =
            on_request(&deps, StartRequest { dataset: dataset.into(), config: Value::Null, skip_unchanged: false })
                .await
                .unwrap_err();
        assert_eq!(err.error_type(), "ConfigInvalid", "{dataset}");
    }
    let bad = StartRequest {
        dataset: format!("s3://{BUCKET}/{KEY}"),
        config: json!({"deployment": "sometimes"}),
        skip_unchanged: false,
    };
    let err = on_request(&deps, bad).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("input")), "{err}");
    let err = handler(&deps, LambdaEvent::new(json!({"hello": 1}), Context::default())).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfigInvalid");
}

#[test]
fn from_env_reads_the_state_machine_the_defaults_and_the_work_folder() {
    let sdk = SdkConfig::builder().behavior_version(aws_sdk_s3::config::BehaviorVersion::latest()).build();
    let env = Env::from_vars([("STATE_MACHINE_ARN", SM_ARN), ("TMPDIR", "/mnt/work"), ("DEPLOYMENT_MODE", "none")]);
    let deps = Deps::from_env(&sdk, &env);
    assert_eq!(deps.state_machine_arn, Ok(SM_ARN.to_string()));
    assert_eq!(deps.work_dir, std::path::PathBuf::from("/mnt/work"));
    assert_eq!(deps.defaults.unwrap().deployment, shared::pipeline::DeploymentMode::None);
    let bare = Deps::from_env(&sdk, &Env::from_vars([("STATE_MACHINE_ARN", " ")]));
    assert!(matches!(bare.state_machine_arn, Err(PipelineError::ConfigInvalid(m)) if m.contains("STATE_MACHINE_ARN")));
    assert_eq!(bare.work_dir, std::env::temp_dir());
}
