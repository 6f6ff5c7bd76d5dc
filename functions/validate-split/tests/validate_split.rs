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
use shared::pipeline::{
    Caps, DeploymentMode, PipelineError, StartRequest, ValidateRequest, layout, run_id_for_execution,
    upload_execution_name,
};
use std::sync::{Arc, Mutex};
use validate_split::{Deps, NotificationResult, handler, on_request};

use fixtures::{BUCKET, DATASET_KEY as KEY, SIDECAR_KEY as SIDECAR, STATE_MACHINE_ARN as SM_ARN, defaults};

const SAMPLE: &[u8] = fixtures::SAMPLE_DATASET.as_bytes();

type Seen<T> = Arc<Mutex<Vec<T>>>;

struct Cloud {
    s3_rules: Vec<Rule>,
    sfn_rules: Vec<Rule>,
    puts: Seen<String>,
    starts: Seen<(String, String, StartRequest)>,
}

/// S3 holding `dataset` at KEY (ETag "abc") and `sidecar` beside it; StartExecution answering `start`.
fn cloud(dataset: Vec<u8>, sidecar: Option<Value>, start: Rule) -> Cloud {
    let size = dataset.len() as i64;
    cloud_sized(dataset, size, sidecar, start)
}

/// As [`cloud`], with HEAD answering `size` as the dataset's Content-Length.
fn cloud_sized(dataset: Vec<u8>, size: i64, sidecar: Option<Value>, start: Rule) -> Cloud {
    let puts: Seen<String> = Arc::default();
    let starts: Seen<(String, String, StartRequest)> = Arc::default();
    let head = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.bucket() == Some(BUCKET) && r.key() == Some(KEY))
        .then_output(move || HeadObjectOutput::builder().e_tag("\"abc\"").content_length(size).build());
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
            let run: StartRequest = serde_json::from_str(r.input().unwrap()).unwrap();
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

fn deps(cloud: &Cloud, _work: &std::path::Path) -> Deps {
    let s3_rules: Vec<&Rule> = cloud.s3_rules.iter().collect();
    let sfn_rules: Vec<&Rule> = cloud.sfn_rules.iter().collect();
    Deps {
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &s3_rules, |c| c.retry_config(RetryConfig::disabled())),
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &sfn_rules, |c| c.retry_config(RetryConfig::disabled())),
        state_machine_arn: Ok(SM_ARN.into()),
        defaults: Ok(defaults()),
        caps: Ok(Caps::for_defaults(&defaults())),
        streaming: validate_split::stream::Streaming::default(),
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
async fn an_upload_starts_an_execution_named_from_the_event_with_only_the_dataset_as_input() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), None, started());
    let result = notify(&deps(&cloud, work.path()), s3_event()).await.unwrap();

    let starts = cloud.starts.lock().unwrap();
    let (arn, name, input) = &starts[0];
    assert_eq!(arn, SM_ARN);
    assert!(name.starts_with("support-tickets-"), "{name}");
    assert_eq!(run_id_for_execution(name), *name, "the name is its own run id");
    let record = &s3_event()["Records"][0];
    let object = &record["s3"]["object"];
    let expected = upload_execution_name(
        BUCKET,
        KEY,
        object["versionId"].as_str().unwrap(),
        object["sequencer"].as_str().unwrap(),
        "2025-01-01T00:00:00+00:00",
    );
    assert_eq!(name, &expected);
    // Nothing but the dataset: the state machine validates it, whoever started the run.
    assert_eq!(
        input,
        &StartRequest { dataset: format!("s3://{BUCKET}/{KEY}"), config: Value::Null, skip_unchanged: false }
    );
    assert_eq!(result.started.len(), 1);
    assert_eq!(result.started[0].run_id, *name);
    assert!(!result.started[0].already_started);
    // The notification reads and writes nothing in S3.
    assert!(cloud.s3_rules.iter().all(|r| r.num_calls() == 0));
}

#[tokio::test]
async fn a_duplicate_event_finds_the_execution_already_exists_and_a_new_upload_is_a_new_run() {
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
    // The same bytes uploaded again: a later event with its own sequencer, so another name.
    let mut again = s3_event();
    again["Records"][0]["s3"]["object"]["sequencer"] = json!("0055AED6DCD90281F0");
    again["Records"][0]["eventTime"] = json!("2025-01-01T00:05:00.000Z");
    notify(&deps(&cloud, work.path()), again).await.unwrap();
    let starts = cloud.starts.lock().unwrap();
    assert_ne!(starts[0].1, starts[1].1);
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

/// ValidateSplit's task input for an execution named `name` started with `input`.
fn task(name: &str, input: Value) -> ValidateRequest {
    ValidateRequest { input, execution_name: name.to_string() }
}

fn console(config: Value) -> Value {
    json!({"dataset": format!("s3://{BUCKET}/{KEY}"), "config": config})
}

/// A UUID, as the console and the scheduler name executions.
const CONSOLE_NAME: &str = "9b1f6c1e-3c1a-4e7e-9a57-0d5a2b7c4f11";

#[tokio::test]
async fn a_start_request_with_a_prefix_uses_the_newest_dataset_and_layers_its_config() {
    let work = tempfile::tempdir().unwrap();
    let mut cloud = cloud(SAMPLE.to_vec(), Some(json!({"seed": 7})), started());
    let pages = listing(&mut cloud);
    let input =
        json!({"dataset": format!("s3://{BUCKET}/incoming/"), "config": {"hyperparameters": {"epochCount": "3"}}});
    let run = on_request(&deps(&cloud, work.path()), task(CONSOLE_NAME, input)).await.unwrap();
    assert_eq!(pages.num_calls(), 2);
    assert_eq!(run.source.key, KEY);
    assert_eq!((run.config.seed, run.config.hyperparameters["epochCount"].as_str()), (7, "3"));
    assert!(run.data.valid && run.prepared);
    // The run is named after the execution, wherever it came from.
    assert_eq!(run.run_id, CONSOLE_NAME);
    let prefix = format!("s3://{BUCKET}/runs/{CONSOLE_NAME}/");
    assert_eq!(run.data.train_uri, format!("{prefix}train.jsonl"));
    assert_eq!(run.data.report_uri, format!("{prefix}validation-report.json"));
    assert_eq!(run.data.train_records + run.data.validation_records, 200);
    // The state machine starts the job itself: no StartExecution from this entry.
    assert!(cloud.starts.lock().unwrap().is_empty());
    let mut puts = cloud.puts.lock().unwrap().clone();
    puts.sort();
    let id = CONSOLE_NAME;
    assert_eq!(
        puts,
        [
            format!("runs/{id}/train.jsonl"),
            format!("runs/{id}/validation-report.json"),
            format!("runs/{id}/validation.jsonl")
        ]
    );
    // Nothing is written to the disk: the dataset is streamed.
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn an_execution_with_a_typed_name_gets_a_run_id_derived_from_it() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), None, started());
    let run = on_request(&deps(&cloud, work.path()), task("Retrain_Monday", console(Value::Null))).await.unwrap();
    assert_eq!(run.run_id, run_id_for_execution("Retrain_Monday"));
    assert!(run.run_id.starts_with("id-retrain-monday-"), "{}", run.run_id);
    // Settled: the model's deployment and the moderate preset are written into the run.
    assert_eq!(run.config, defaults().settled());
    assert_eq!(run.config.preset, Some(shared::presets::Preset::Moderate));
}

#[tokio::test]
async fn invalid_data_raises_dataset_invalid_naming_the_line_after_writing_the_report() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(with_bad_line_2(), None, started());
    let request = task(CONSOLE_NAME, console(Value::Null));
    let event = LambdaEvent::new(serde_json::to_value(&request).unwrap(), Context::default());
    let err = handler(&deps(&cloud, work.path()), event).await.unwrap_err();
    let PipelineError::DatasetInvalid(cause) = &err.0 else { panic!("{err:?}") };
    assert!(cause.contains("line 2") && cause.contains("validation-report.json"), "{cause}");
    assert_eq!(*cloud.puts.lock().unwrap(), [format!("runs/{CONSOLE_NAME}/validation-report.json")]);
}

#[tokio::test]
async fn a_bad_sidecar_is_a_config_error_naming_the_field_and_the_sidecar() {
    let work = tempfile::tempdir().unwrap();
    let sidecar = json!({"hyperparameters": {"epochCount": "99"}});
    let cloud = cloud(SAMPLE.to_vec(), Some(sidecar), started());
    let err = on_request(&deps(&cloud, work.path()), task(CONSOLE_NAME, console(Value::Null))).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("epochCount")), "{err}");
    assert!(cloud.puts.lock().unwrap().is_empty(), "nothing is written before the config is sound");
}

#[tokio::test]
async fn start_requests_with_bad_uris_or_config_are_config_errors() {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), None, started());
    let deps = deps(&cloud, work.path());
    for dataset in ["incoming/x.jsonl", "s3://", "s3://bkt"] {
        let err = on_request(&deps, task(CONSOLE_NAME, json!({"dataset": dataset}))).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfigInvalid", "{dataset}");
    }
    let err = on_request(&deps, task(CONSOLE_NAME, console(json!({"deployment": "sometimes"})))).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("input")), "{err}");
    for payload in [json!({"hello": 1}), json!({"dataset": format!("s3://{BUCKET}/{KEY}")})] {
        // Outside the state machine (no execution name) nothing runs.
        let err = handler(&deps, LambdaEvent::new(payload, Context::default())).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfigInvalid");
    }
}

// ---------------------------------------------------------------------------------------------------
// The trust boundary: an execution input or a sidecar chooses only within the operator's caps.

/// Runs ValidateSplit with `sidecar` beside the sample and `input`; the error it must raise.
async fn refused(sidecar: Option<Value>, input: Value, caps: Option<Caps>) -> String {
    let work = tempfile::tempdir().unwrap();
    let cloud = cloud(SAMPLE.to_vec(), sidecar, started());
    let mut deps = deps(&cloud, work.path());
    if let Some(caps) = caps {
        deps.caps = Ok(caps);
    }
    let err = on_request(&deps, task(CONSOLE_NAME, input)).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfigInvalid", "{err}");
    // Nothing beyond the report (for the cost, known only from the data) is written.
    let puts = cloud.puts.lock().unwrap();
    assert!(puts.iter().all(|k| k.ends_with("validation-report.json")), "{puts:?}");
    err.to_string()
}

#[tokio::test]
async fn an_execution_input_carrying_a_prepared_run_or_resources_is_refused_by_name() {
    let hostile = json!({
        "dataset": format!("s3://{BUCKET}/{KEY}"),
        "prepared": true,
        "job": {"job_arn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/other"},
        "deployment": {"arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/other"},
    });
    let message = refused(None, hostile, None).await;
    for field in ["prepared", "job", "deployment"] {
        assert!(message.contains(field), "{field}: {message}");
    }
    assert!(message.contains("may hold only `dataset`, `config` and `skip_unchanged`"), "{message}");
}

#[tokio::test]
async fn a_sidecar_setting_what_only_the_operator_sets_is_refused() {
    let sidecar = json!({
        "role_arn": "arn:aws:iam::111122223333:role/admin",
        "kms_key_id": "arn:aws:kms:us-east-1:111122223333:key/x",
        "vpc": {"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]},
    });
    let message = refused(Some(sidecar), console(Value::Null), None).await;
    for field in ["role_arn", "kms_key_id", "vpc"] {
        assert!(message.contains(&format!("{field}: ")), "{field}: {message}");
    }
    assert!(message.contains("in the sidecar is refused: the operator sets it"), "{message}");
}

#[tokio::test]
async fn each_cap_refuses_a_sidecar_or_input_beyond_it_naming_field_value_and_cap() {
    let cases = [
        (
            json!({"deployment": "provisioned"}),
            "deployment: `provisioned` is beyond the operator's cap",
            "AllowedDeploymentModes",
        ),
        (
            json!({"deployment": "provisioned", "commitment": "SixMonths"}),
            "commitment: `SixMonths`",
            "CommitmentAllowed",
        ),
        (
            json!({"evaluation": {"min_improvement": -1}}),
            "evaluation.min_improvement: -1 is beyond",
            "MinImprovementFloor",
        ),
        (
            json!({"evaluation": {"keep_on_gate_failure": true}}),
            "evaluation.keep_on_gate_failure: true",
            "KeepOnGateFailureAllowed",
        ),
        (json!({"evaluation": {"sample_size": 100000}}), "evaluation.sample_size: 100000", "MaxEvaluationSamples"),
        (
            json!({"base_model": "meta.llama3-1-8b-instruct-v1:0:128k"}),
            "base_model: `meta.llama3-1-8b-instruct-v1:0:128k`",
            "AllowedBaseModels",
        ),
    ];
    for (overrides, needle, parameter) in cases {
        for (sidecar, input) in [(Some(overrides.clone()), console(Value::Null)), (None, console(overrides.clone()))] {
            let message = refused(sidecar, input, None).await;
            assert!(message.contains(needle) && message.contains(parameter), "{overrides}: {message}");
        }
    }
    // Allowed modes, but more model units than the cap.
    let caps = Caps { allowed_deployments: DeploymentMode::ALL.to_vec(), ..Caps::for_defaults(&defaults()) };
    let message = refused(None, console(json!({"deployment": "provisioned", "model_units": 5})), Some(caps)).await;
    assert!(message.contains("model_units: 5 is beyond the operator's cap: at most 1 model units"), "{message}");
}

#[tokio::test]
async fn tags_beyond_their_bounds_are_refused() {
    let many: serde_json::Map<String, Value> = (0..20).map(|i| (format!("k{i}"), json!("v"))).collect();
    let message = refused(Some(json!({"tags": many})), console(Value::Null), None).await;
    assert!(message.contains("20 tags in the sidecar: at most 10"), "{message}");
    let claim = json!({"tags": {"finetune-run-id": "another-run", "aws:x": "y", "big": "v".repeat(300)}});
    let message = refused(None, console(claim), None).await;
    assert!(
        message.contains("tags.finetune-run-id") && message.contains("tags.aws:x") && message.contains("tags.big"),
        "{message}"
    );
}

#[tokio::test]
async fn a_training_cost_beyond_the_cap_is_refused_once_the_tokens_are_counted() {
    let caps = Caps { max_training_cost_usd: 0.0, ..Caps::for_defaults(&defaults()) };
    let message = refused(None, console(Value::Null), Some(caps)).await;
    assert!(message.contains("estimated_cost_usd: an estimated training cost of"), "{message}");
    assert!(message.contains("MaxTrainingCostUsd") && message.contains("validation-report.json"), "{message}");
}

#[tokio::test]
async fn a_dataset_beyond_the_models_file_limit_is_refused_from_head_before_any_byte_is_read() {
    let work = tempfile::tempdir().unwrap();
    let eleven_gib = 11 * (1i64 << 30);
    let cloud = cloud_sized(SAMPLE.to_vec(), eleven_gib, None, started());
    // Claude 3 Haiku takes training files up to 10 GB (a documented limit).
    let haiku = shared::pipeline::PipelineConfig {
        base_model: "anthropic.claude-3-haiku-20240307-v1:0:200k".into(),
        hyperparameters: Default::default(),
        ..defaults()
    };
    let mut deps = deps(&cloud, work.path());
    deps.defaults = Ok(haiku.clone());
    deps.caps = Ok(Caps::for_defaults(&haiku));
    let err = on_request(&deps, task(CONSOLE_NAME, console(Value::Null))).await.unwrap_err();
    let PipelineError::DatasetInvalid(message) = &err else { panic!("{err:?}") };
    let model = shared::catalogue::find(&haiku.base_model).unwrap();
    let limit = model.customization(haiku.customization_type).unwrap().files.train_bytes.unwrap().value;
    for needle in [eleven_gib.to_string(), limit.to_string(), model.name.to_string(), format!("s3://{BUCKET}/{KEY}")] {
        assert!(message.contains(&needle), "{needle}: {message}");
    }
    // HEAD only: no GetObject of the dataset, nothing written.
    let gets = &cloud.s3_rules[2];
    assert_eq!(gets.num_calls(), 0);
    assert!(cloud.puts.lock().unwrap().is_empty());
}

#[test]
fn from_env_reads_the_state_machine_the_defaults_and_the_part_size() {
    let sdk = SdkConfig::builder().behavior_version(aws_sdk_s3::config::BehaviorVersion::latest()).build();
    let env =
        Env::from_vars([("STATE_MACHINE_ARN", SM_ARN), ("SPLIT_PART_SIZE_MIB", "16"), ("DEPLOYMENT_MODE", "none")]);
    let deps = Deps::from_env(&sdk, &env);
    assert_eq!(deps.state_machine_arn, Ok(SM_ARN.to_string()));
    assert_eq!(deps.streaming.part_size, 16 << 20);
    assert_eq!(deps.defaults.unwrap().deployment, DeploymentMode::None);
    let capped = Deps::from_env(&sdk, &Env::from_vars([("MAX_MODEL_UNITS", "4"), ("COMMITMENT_ALLOWED", "true")]));
    let caps = capped.caps.unwrap();
    assert_eq!((caps.max_model_units, caps.commitment_allowed), (4, true));
    let broken = Deps::from_env(&sdk, &Env::from_vars([("ALLOWED_DEPLOYMENT_MODES", "always")]));
    assert!(matches!(broken.caps, Err(PipelineError::ConfigInvalid(m)) if m.contains("AllowedDeploymentModes")));
    let bare = Deps::from_env(&sdk, &Env::from_vars([("STATE_MACHINE_ARN", " ")]));
    assert!(matches!(bare.state_machine_arn, Err(PipelineError::ConfigInvalid(m)) if m.contains("STATE_MACHINE_ARN")));
    assert_eq!(bare.streaming.part_size, 8 << 20, "8 MiB parts by default");
}
