//! start-job against a mocked Bedrock client: the request it sends, idempotent retries, error names.

use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::error::ErrorMetadata;
use aws_sdk_bedrock::operation::create_model_customization_job::{
    CreateModelCustomizationJobError, CreateModelCustomizationJobInput, CreateModelCustomizationJobOutput,
};
use aws_sdk_bedrock::operation::get_model_customization_job::GetModelCustomizationJobOutput;
use aws_sdk_bedrock::primitives::DateTime;
use aws_sdk_bedrock::types::error::{ConflictException, ThrottlingException};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use fixtures::{BUCKET, JOB_ARN, RUN_ID as RUN};
use functions_common::FixedClock;
use lambda_runtime::{Context, LambdaEvent};
use shared::CustomizationType;
use shared::aws::RUN_ID_TAG;
use shared::pipeline::{Backoff, PipelineConfig, PipelineError, PollState, RunDocument, VpcConfig};
use start_job::{Deps, handler, start_job};
use std::sync::{Arc, Mutex};

/// The stack's grader Lambda, as template.yaml hands it to start-job.
const GRADER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:grader";

const NOW: u64 = 1_767_323_045; // 2026-01-02T03:04:05Z

/// The sample run after ValidateSplit, with its config as `change` leaves it, with or without its
/// validation split.
fn document(change: impl FnOnce(&mut PipelineConfig), validation: bool) -> RunDocument {
    let mut doc = fixtures::with_config(fixtures::after_validate_split(true), change);
    if !validation {
        doc.run.data.validation_uri = None;
    }
    doc
}

fn sample(validation: bool) -> RunDocument {
    document(|_| {}, validation)
}

fn deps(rules: &[&Rule]) -> Deps<FixedClock> {
    let bedrock = mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, rules, |c| c.retry_config(RetryConfig::disabled()));
    Deps { bedrock, clock: FixedClock::at_unix(NOW), grader_arn: Ok(GRADER_ARN.to_string()) }
}

fn capture_create() -> (Rule, Arc<Mutex<Vec<CreateModelCustomizationJobInput>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let rule = mock!(Client::create_model_customization_job)
        .match_requests(move |req| {
            sink.lock().unwrap().push(req.clone());
            true
        })
        .then_output(|| CreateModelCustomizationJobOutput::builder().job_arn(JOB_ARN).build().unwrap());
    (rule, seen)
}

#[tokio::test]
async fn creates_the_job_with_names_token_uris_hyperparameters_and_tags_from_the_run() {
    let (rule, seen) = capture_create();
    let doc = document(
        |c| {
            c.kms_key_id = Some("alias/ft".into());
            c.vpc = Some(VpcConfig { subnet_ids: vec!["subnet-1".into()], security_group_ids: vec!["sg-1".into()] });
        },
        true,
    );
    let deps = deps(&[&rule]);
    let job = handler(&deps, LambdaEvent::new(doc, Context::default())).await.unwrap();

    let req = seen.lock().unwrap().pop().expect("one CreateModelCustomizationJob call");
    assert_eq!(req.job_name(), Some(format!("ft-{RUN}").as_str()));
    assert_eq!(req.custom_model_name(), Some(format!("model-{RUN}").as_str()));
    assert_eq!(req.client_request_token(), Some(format!("{RUN}-job").as_str()));
    assert_eq!(req.role_arn(), Some(fixtures::ROLE_ARN));
    assert_eq!(req.base_model_identifier(), Some("amazon.nova-micro-v1:0:128k"));
    assert_eq!(req.customization_type().map(|t| t.as_str()), Some("FINE_TUNING"));
    assert_eq!(
        req.training_data_config().and_then(|c| c.s3_uri()),
        Some(format!("s3://{BUCKET}/runs/{RUN}/train.jsonl").as_str())
    );
    let validators = req.validation_data_config().map(|v| v.validators()).unwrap();
    assert_eq!(validators[0].s3_uri(), format!("s3://{BUCKET}/runs/{RUN}/validation.jsonl"));
    assert_eq!(
        req.output_data_config().map(|o| o.s3_uri()),
        Some(format!("s3://{BUCKET}/runs/{RUN}/output/").as_str())
    );
    assert_eq!(req.hyper_parameters().unwrap().get("epochCount").map(String::as_str), Some("2"));
    assert_eq!(req.custom_model_kms_key_id(), Some("alias/ft"));
    assert_eq!(req.vpc_config().unwrap().subnet_ids(), ["subnet-1"]);
    for tags in [req.job_tags(), req.custom_model_tags()] {
        let tags: Vec<(&str, &str)> = tags.iter().map(|t| (t.key(), t.value())).collect();
        assert!(tags.contains(&(RUN_ID_TAG, RUN)) && tags.contains(&("project", "support-bot")), "{tags:?}");
    }

    assert_eq!(job.job_arn, JOB_ARN);
    assert_eq!(
        (job.job_name.as_str(), job.custom_model_name.as_str()),
        (&*format!("ft-{RUN}"), &*format!("model-{RUN}"))
    );
    assert_eq!(job.started_at, "2026-01-02T03:04:05Z");
    assert_eq!(job.output_uri, format!("s3://{BUCKET}/runs/{RUN}/output/"));
    assert_eq!(job.status.state, PollState::InProgress);
    // The first wait is most of the job's estimated training time (catalogue throughput).
    let estimate = job.estimated_seconds.expect("an estimate");
    assert!(estimate >= 1200, "{estimate}: at least the fixed overhead");
    assert_eq!(
        (job.status.attempt, job.status.next_wait_seconds),
        (0, Backoff::for_job(Some(estimate)).initial_seconds)
    );
    assert!(!job.status.exhausted);
}

#[tokio::test]
async fn a_run_without_a_validation_split_or_options_sends_none_of_them() {
    let (rule, seen) = capture_create();
    let doc = document(
        |c| {
            c.hyperparameters.clear();
            c.tags.clear();
        },
        false,
    );
    start_job(&deps(&[&rule]), &doc).await.unwrap();
    let req = seen.lock().unwrap().pop().unwrap();
    assert!(req.validation_data_config().is_none());
    assert!(req.hyper_parameters().is_none());
    assert!(req.vpc_config().is_none() && req.custom_model_kms_key_id().is_none());
    assert_eq!(req.job_tags().len(), 1, "only the run-id tag");
}

#[tokio::test]
async fn throttling_is_reported_as_throttled_for_the_state_machine_to_retry() {
    let rule = mock!(Client::create_model_customization_job).then_error(|| {
        CreateModelCustomizationJobError::ThrottlingException(
            ThrottlingException::builder()
                .message("slow down")
                .meta(ErrorMetadata::builder().code("ThrottlingException").message("slow down").build())
                .build(),
        )
    });
    let err = start_job(&deps(&[&rule]), &sample(true)).await.unwrap_err();
    assert_eq!(err.error_type(), "Throttled", "{err}");
    assert!(err.to_string().contains("CreateModelCustomizationJob"));

    let quota = mock!(Client::create_model_customization_job).then_error(|| {
        CreateModelCustomizationJobError::generic(
            ErrorMetadata::builder().code("ServiceQuotaExceededException").message("too many jobs").build(),
        )
    });
    let err = start_job(&deps(&[&quota]), &sample(true)).await.unwrap_err();
    assert_eq!(err.error_type(), "QuotaExceeded");
}

fn existing(token: &str) -> Rule {
    let token = token.to_string();
    mock!(Client::get_model_customization_job)
        .match_requests(|r| r.job_identifier() == Some(&*format!("ft-{RUN}")))
        .then_output(move || {
            GetModelCustomizationJobOutput::builder()
                .job_arn(JOB_ARN)
                .job_name(format!("ft-{RUN}"))
                .output_model_name(format!("model-{RUN}"))
                .role_arn(fixtures::ROLE_ARN)
                .base_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
                .creation_time(DateTime::from_secs(NOW as i64 - 600))
                .client_request_token(token.clone())
                .build()
                .unwrap()
        })
}

fn conflict() -> Rule {
    mock!(Client::create_model_customization_job).then_error(|| {
        CreateModelCustomizationJobError::ConflictException(
            ConflictException::builder()
                .message("job name already exists")
                .meta(ErrorMetadata::builder().code("ConflictException").message("job name already exists").build())
                .build(),
        )
    })
}

#[tokio::test]
async fn a_name_conflict_with_this_runs_token_continues_with_the_existing_job() {
    let (create, get) = (conflict(), existing(&format!("{RUN}-job")));
    let job = start_job(&deps(&[&create, &get]), &sample(true)).await.unwrap();
    assert_eq!(job.job_arn, JOB_ARN);
    assert_eq!(get.num_calls(), 1);
    // Elapsed time counts from the job's creation, ten minutes earlier.
    assert_eq!(job.started_at, "2026-01-02T02:54:05Z");
    assert_eq!(job.status.attempt, 0);
}

#[tokio::test]
async fn a_name_taken_by_someone_else_is_a_config_error() {
    let (create, get) = (conflict(), existing("someone-else"));
    let err = start_job(&deps(&[&create, &get]), &sample(true)).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("already exists")), "{err}");
}

#[tokio::test]
async fn unsupported_types_invalid_data_and_bad_config_fail_before_any_call() {
    let (rule, seen) = capture_create();
    let with_grader = deps(&[&rule]);
    // A teacher Bedrock does not pair with the student, and an RFT job without the stack's grader.
    let no_grader = Deps {
        grader_arn: Err(PipelineError::ConfigInvalid("GRADER_FUNCTION_ARN is not set".into())),
        ..deps(&[&rule])
    };
    for (kind, needle, deps) in [
        (CustomizationType::Distillation, "cannot teach", &with_grader),
        (CustomizationType::ReinforcementFineTuning, "grader Lambda", &no_grader),
    ] {
        let model = shared::catalogue::all().iter().find(|m| m.customization(kind).is_some()).expect("a model");
        let doc = document(
            |c| {
                c.base_model = model.id.into();
                c.customization_type = kind;
                c.hyperparameters.clear();
                c.deployment = shared::pipeline::DeploymentMode::None;
                if kind == CustomizationType::Distillation {
                    c.teacher_model = Some("meta.llama3-1-405b-instruct-v1:0".into());
                }
            },
            true,
        );
        let err = start_job(deps, &doc).await.unwrap_err();
        assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains(needle)), "{err}");
    }
    let mut invalid = sample(true);
    invalid.run.data.valid = false;
    invalid.run.data.cause = Some("line 3: bad".into());
    let err = start_job(&with_grader, &invalid).await.unwrap_err();
    assert_eq!(err, PipelineError::DatasetInvalid("line 3: bad".into()));
    let err = start_job(&with_grader, &document(|c| c.role_arn = "nope".into(), true)).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfigInvalid");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn distillation_sends_its_teacher_and_rft_the_stack_grader_with_typed_hyperparameters() {
    let (rule, seen) = capture_create();
    let deps = deps(&[&rule]);
    let micro = "amazon.nova-micro-v1:0:128k";
    let mut distill = PipelineConfig {
        base_model: micro.into(),
        customization_type: CustomizationType::Distillation,
        hyperparameters: Default::default(),
        deployment: shared::pipeline::DeploymentMode::Auto,
        ..fixtures::config()
    };
    distill.settle();
    let doc = document(|c| *c = distill.clone(), true);
    start_job(&deps, &doc).await.unwrap();
    let rft = document(
        |c| {
            *c = PipelineConfig {
                base_model: "amazon.nova-2-lite-v1:0:256k".into(),
                customization_type: CustomizationType::ReinforcementFineTuning,
                hyperparameters: Default::default(),
                preset: Some(shared::presets::Preset::Aggressive),
                ..fixtures::config()
            }
            .settled()
        },
        true,
    );
    start_job(&deps, &rft).await.unwrap();
    let seen = seen.lock().unwrap();
    let teacher = seen[0].customization_config().and_then(|c| c.as_distillation_config().ok()).expect("distillation");
    let teacher = teacher.teacher_model_config().expect("teacher");
    assert_eq!(teacher.teacher_model_identifier(), "amazon.nova-pro-v1:0", "the catalogue's default teacher");
    assert!(seen[0].hyper_parameters().is_none());
    assert_eq!(seen[0].customization_type().map(|t| t.as_str()), Some("DISTILLATION"));
    let rft = seen[1].customization_config().and_then(|c| c.as_rft_config().ok()).expect("rft");
    let grader = rft.grader_config().and_then(|g| g.as_lambda_grader().ok()).expect("lambda grader");
    assert_eq!(grader.lambda_arn(), GRADER_ARN);
    let hp = rft.hyper_parameters().expect("typed hyperparameters");
    // The aggressive preset for Nova 2 Lite: 2 epochs, batch 16 (its minimum), rate 0.00005.
    assert_eq!((hp.epoch_count(), hp.batch_size()), (Some(2), Some(16)));
    assert!((hp.learning_rate().unwrap() - 0.00005).abs() < 1e-9);
    assert!(seen[1].hyper_parameters().is_none(), "RFT takes them in rftConfig only");
}

#[tokio::test]
async fn a_distillation_from_invocation_logs_sends_the_logs_config_instead_of_a_file() {
    let (rule, seen) = capture_create();
    let deps = deps(&[&rule]);
    let logs_uri = "s3://logs-bucket/AWSLogs/123456789012/BedrockModelInvocationLogs/";
    let mut config = PipelineConfig {
        base_model: "amazon.nova-micro-v1:0:128k".into(),
        customization_type: CustomizationType::Distillation,
        hyperparameters: Default::default(),
        deployment: shared::pipeline::DeploymentMode::Auto,
        training_source: shared::pipeline::TrainingSource::InvocationLogs,
        invocation_logs_s3_uri: Some(logs_uri.into()),
        ..fixtures::config()
    };
    config = config
        .merged(&serde_json::json!({"invocation_logs": {"use_prompt_response": true, "request_metadata_filters":
            {"orAll": [{"equals": {"project": "support"}}, {"notEquals": {"env": "dev"}}]}}}))
        .unwrap()
        .settled();
    let mut doc = document(|c| *c = config.clone(), true);
    doc.run.data.train_uri = logs_uri.into();
    doc.run.data.training_source = shared::pipeline::TrainingSource::InvocationLogs;
    start_job(&deps, &doc).await.unwrap();
    let seen = seen.lock().unwrap();
    let training = seen[0].training_data_config().expect("trainingDataConfig");
    assert_eq!(training.s3_uri(), None, "the logs replace the file");
    let logs = training.invocation_logs_config().expect("invocationLogsConfig");
    assert_eq!(logs.invocation_log_source().and_then(|s| s.as_s3_uri().ok()).map(String::as_str), Some(logs_uri));
    assert!(logs.use_prompt_response());
    let filters = logs.request_metadata_filters().and_then(|f| f.as_or_all().ok()).expect("orAll");
    assert_eq!(filters.len(), 2);
    assert_eq!(filters[0].equals().and_then(|m| m.get("project")).map(String::as_str), Some("support"));
    assert_eq!(filters[1].not_equals().and_then(|m| m.get("env")).map(String::as_str), Some("dev"));
    assert!(seen[0].customization_config().and_then(|c| c.as_distillation_config().ok()).is_some());
}
