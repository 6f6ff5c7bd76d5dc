use super::*;
use aws_sdk_bedrock::error::ErrorMetadata;
use aws_sdk_bedrock::operation::create_custom_model_deployment::{
    CreateCustomModelDeploymentError, CreateCustomModelDeploymentOutput,
};
use aws_sdk_bedrock::operation::create_provisioned_model_throughput::{
    CreateProvisionedModelThroughputError, CreateProvisionedModelThroughputOutput,
};
use aws_sdk_bedrock::operation::get_custom_model_deployment::GetCustomModelDeploymentOutput;
use aws_sdk_bedrock::operation::get_provisioned_model_throughput::GetProvisionedModelThroughputOutput;
use aws_sdk_bedrock::primitives::DateTime;
use aws_sdk_bedrock::types::error::{ServiceQuotaExceededException, ThrottlingException};
use aws_sdk_bedrock::types::{CustomModelDeploymentStatus, ProvisionedModelStatus};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use fixtures::{CUSTOM_MODEL_ARN as MODEL_ARN, DEPLOYMENT_ARN, Poll, RUN_ID as RUN, THROUGHPUT_ARN};
use functions_common::FixedClock;
use lambda_runtime::{Context, Diagnostic};
use shared::aws::RUN_ID_TAG;

/// A custom model of another run.
const OTHER_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/zzzzzzzzzzzz";
/// 2026-01-02T03:04:05Z
const NOW: u64 = 1_767_323_045;

/// The sample run after its job completed, to be deployed `deployment`.
fn doc(deployment: DeploymentMode) -> RunDocument {
    fixtures::with_config(fixtures::after_check_job(Poll::Ready), |c| c.deployment = deployment)
}

fn deps(rules: &[&Rule]) -> Deps<FixedClock> {
    // The SDK's own retries are off so each rule answers exactly one call.
    let bedrock = mock_client!(aws_sdk_bedrock, RuleMode::Sequential, rules, |c| c
        .retry_config(aws_sdk_bedrock::config::retry::RetryConfig::disabled()));
    Deps { bedrock, clock: FixedClock::at_unix(NOW) }
}

fn has_run_tag(tags: &[Tag]) -> bool {
    tags.iter().any(|t| t.key() == RUN_ID_TAG && t.value() == RUN) && tags.iter().any(|t| t.key() == "project")
}

#[tokio::test]
async fn mode_none_is_ready_at_once_and_creates_nothing() {
    let out = provision(&deps(&[]), &doc(DeploymentMode::None)).await.unwrap();
    assert_eq!(out.mode, DeploymentMode::None);
    assert_eq!(out.status.state, PollState::Ready);
    assert_eq!((out.arn, out.invoke_arn), (None, None));
    assert_eq!(out.started_at, "2026-01-02T03:04:05Z");
}

#[tokio::test]
async fn on_demand_creates_a_deployment_named_and_tokened_from_the_run() {
    let create = mock!(Client::create_custom_model_deployment)
        .match_requests(|r| {
            r.model_deployment_name() == Some(&names::deployment_name(RUN))
                && r.model_arn() == Some(MODEL_ARN)
                && r.client_request_token() == Some(&format!("{RUN}-deployment"))
                && has_run_tag(r.tags())
        })
        .then_output(|| {
            CreateCustomModelDeploymentOutput::builder().custom_model_deployment_arn(DEPLOYMENT_ARN).build().unwrap()
        });
    let event = LambdaEvent::new(doc(DeploymentMode::OnDemand), Context::default());
    let out = handler(&deps(&[&create]), event).await.unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(out.mode, DeploymentMode::OnDemand);
    assert_eq!(out.arn.as_deref(), Some(DEPLOYMENT_ARN));
    assert_eq!(out.invoke_arn.as_deref(), Some(DEPLOYMENT_ARN));
    assert_eq!(out.started_at, "2026-01-02T03:04:05Z");
    assert_eq!((out.status.state, out.status.attempt), (PollState::InProgress, 0));
    assert_eq!(out.status.next_wait_seconds, Backoff::DEPLOYMENT.initial_seconds);
    assert_eq!(out.hourly_cost_usd, Some(0.0));
}

#[tokio::test]
async fn on_demand_for_a_model_without_it_is_a_config_error_before_any_call() {
    let create = mock!(Client::create_custom_model_deployment).then_output(|| {
        CreateCustomModelDeploymentOutput::builder().custom_model_deployment_arn(DEPLOYMENT_ARN).build().unwrap()
    });
    let mut d = doc(DeploymentMode::OnDemand);
    d.run.config.base_model = "amazon.titan-text-express-v1:0:8k".into();
    let err = provision(&deps(&[&create]), &d).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("on-demand")), "{err:?}");
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn provisioned_sends_no_commitment_unless_configured() {
    let create = mock!(Client::create_provisioned_model_throughput)
        .match_requests(|r| {
            r.provisioned_model_name() == Some(&names::throughput_name(RUN))
                && r.model_id() == Some(MODEL_ARN)
                && r.model_units() == Some(1)
                && r.commitment_duration().is_none()
                && r.client_request_token() == Some(&format!("{RUN}-throughput"))
                && has_run_tag(r.tags())
        })
        .then_output(|| {
            CreateProvisionedModelThroughputOutput::builder().provisioned_model_arn(THROUGHPUT_ARN).build().unwrap()
        });
    let out = provision(&deps(&[&create]), &doc(DeploymentMode::Provisioned)).await.unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(out.mode, DeploymentMode::Provisioned);
    assert_eq!(out.invoke_arn.as_deref(), Some(THROUGHPUT_ARN));
    assert_eq!(out.hourly_cost_usd, None, "no price in the catalogue: unknown, not guessed");
}

#[tokio::test]
async fn a_throughput_with_a_catalogue_rate_carries_its_hourly_bill_for_every_unit() {
    let create = mock!(Client::create_provisioned_model_throughput).then_output(|| {
        CreateProvisionedModelThroughputOutput::builder().provisioned_model_arn(THROUGHPUT_ARN).build().unwrap()
    });
    let mut d = doc(DeploymentMode::Provisioned);
    d.run.config.base_model = "amazon.titan-text-lite-v1:0:4k".into();
    d.run.config.model_units = 2;
    let out = provision(&deps(&[&create]), &d).await.unwrap();
    let rate = catalogue::pricing::provisioned_throughput_usd_per_hour(&d.run.config.base_model, None, 1);
    assert_eq!(out.hourly_cost_usd, rate.map(|r| r.value * 2.0));
    assert!(out.hourly_cost_usd.is_some_and(|v| v > 0.0));
}

#[tokio::test]
async fn provisioned_sends_the_commitment_and_units_configured() {
    let create = mock!(Client::create_provisioned_model_throughput)
        .match_requests(|r| {
            r.commitment_duration() == Some(&CommitmentDuration::SixMonths) && r.model_units() == Some(2)
        })
        .then_output(|| {
            CreateProvisionedModelThroughputOutput::builder().provisioned_model_arn(THROUGHPUT_ARN).build().unwrap()
        });
    let mut d = doc(DeploymentMode::Provisioned);
    d.run.config.commitment = Some("SixMonths".into());
    d.run.config.model_units = 2;
    provision(&deps(&[&create]), &d).await.unwrap();
    assert_eq!(create.num_calls(), 1);

    d.run.config.commitment = Some("ThreeYears".into());
    let err = provision(&deps(&[]), &d).await.unwrap_err();
    assert!(matches!(err, PipelineError::ConfigInvalid(m) if m.contains("ThreeYears")));
}

/// Errors as the SDK deserializes them: the code lives in the metadata.
fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn conflict() -> CreateProvisionedModelThroughputError {
    CreateProvisionedModelThroughputError::generic(meta("ConflictException", "name already in use"))
}

fn existing_throughput(model: &'static str) -> GetProvisionedModelThroughputOutput {
    let t = DateTime::from_secs(0);
    GetProvisionedModelThroughputOutput::builder()
        .model_units(1)
        .desired_model_units(1)
        .provisioned_model_name(names::throughput_name(RUN))
        .provisioned_model_arn(THROUGHPUT_ARN)
        .model_arn(model)
        .desired_model_arn(model)
        .foundation_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
        .status(ProvisionedModelStatus::Creating)
        .creation_time(t)
        .last_modified_time(t)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_taken_name_serving_this_runs_model_is_adopted() {
    let create = mock!(Client::create_provisioned_model_throughput).then_error(conflict);
    let get = mock!(Client::get_provisioned_model_throughput)
        .match_requests(|r| r.provisioned_model_id() == Some(&names::throughput_name(RUN)))
        .then_output(|| existing_throughput(MODEL_ARN));
    let out = provision(&deps(&[&create, &get]), &doc(DeploymentMode::Provisioned)).await.unwrap();
    assert_eq!(out.arn.as_deref(), Some(THROUGHPUT_ARN));
    assert_eq!((create.num_calls(), get.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_taken_name_serving_another_model_is_a_config_error() {
    let create = mock!(Client::create_provisioned_model_throughput).then_error(conflict);
    let get = mock!(Client::get_provisioned_model_throughput).then_output(|| existing_throughput(OTHER_MODEL_ARN));
    let err = provision(&deps(&[&create, &get]), &doc(DeploymentMode::Provisioned)).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("another model")), "{err:?}");
}

#[tokio::test]
async fn a_taken_deployment_name_is_looked_up_by_name() {
    let create = mock!(Client::create_custom_model_deployment).then_error(|| {
        CreateCustomModelDeploymentError::generic(meta(
            "ValidationException",
            "A deployment with this name already exists",
        ))
    });
    let get = mock!(Client::get_custom_model_deployment)
        .match_requests(|r| r.custom_model_deployment_identifier() == Some(&names::deployment_name(RUN)))
        .then_output(|| {
            GetCustomModelDeploymentOutput::builder()
                .custom_model_deployment_arn(DEPLOYMENT_ARN)
                .model_deployment_name(names::deployment_name(RUN))
                .model_arn(MODEL_ARN)
                .created_at(DateTime::from_secs(0))
                .status(CustomModelDeploymentStatus::Active)
                .build()
                .unwrap()
        });
    let out = provision(&deps(&[&create, &get]), &doc(DeploymentMode::OnDemand)).await.unwrap();
    assert_eq!(out.arn.as_deref(), Some(DEPLOYMENT_ARN));
    assert_eq!(out.status.state, PollState::InProgress, "check-status decides when it is ready");
}

#[tokio::test]
async fn quota_and_throttling_map_to_their_error_names() {
    let quota = mock!(Client::create_provisioned_model_throughput).then_error(|| {
        CreateProvisionedModelThroughputError::ServiceQuotaExceededException(
            ServiceQuotaExceededException::builder()
                .meta(meta("ServiceQuotaExceededException", "no-commitment throughput: 2 per account"))
                .build(),
        )
    });
    let event = LambdaEvent::new(doc(DeploymentMode::Provisioned), Context::default());
    let err = handler(&deps(&[&quota]), event).await.unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "QuotaExceeded");
    assert!(diagnostic.error_message.contains("2 per account"), "{}", diagnostic.error_message);

    let throttled = mock!(Client::create_custom_model_deployment).then_error(|| {
        CreateCustomModelDeploymentError::ThrottlingException(
            ThrottlingException::builder().meta(meta("ThrottlingException", "slow")).build(),
        )
    });
    let err = provision(&deps(&[&throttled]), &doc(DeploymentMode::OnDemand)).await.unwrap_err();
    assert!(matches!(err, PipelineError::Throttled(_)), "{err:?}");
}

#[tokio::test]
async fn a_job_without_a_custom_model_is_an_internal_error() {
    let mut d = doc(DeploymentMode::OnDemand);
    d.job.as_mut().unwrap().custom_model_arn = None;
    let err = provision(&deps(&[]), &d).await.unwrap_err();
    assert!(matches!(err, PipelineError::Internal(m) if m.contains("custom_model_arn")));
}
