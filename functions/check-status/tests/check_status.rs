//! check-status against a mocked Bedrock client: status normalization, backoff, bound, error names.

use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::error::ErrorMetadata;
use aws_sdk_bedrock::operation::get_custom_model_deployment::GetCustomModelDeploymentOutput;
use aws_sdk_bedrock::operation::get_model_customization_job::{
    GetModelCustomizationJobError, GetModelCustomizationJobOutput,
};
use aws_sdk_bedrock::operation::get_provisioned_model_throughput::GetProvisionedModelThroughputOutput;
use aws_sdk_bedrock::primitives::DateTime;
use aws_sdk_bedrock::types::error::ThrottlingException;
use aws_sdk_bedrock::types::{
    CustomModelDeploymentStatus, ModelCustomizationJobStatus, ProvisionedModelStatus, TrainingMetrics, ValidatorMetric,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use check_status::{Deps, check, handler};
use fixtures::{STARTED_AT, STARTED_AT_UNIX as START};
use functions_common::FixedClock;
use lambda_runtime::{Context, LambdaEvent};
use shared::pipeline::{
    Backoff, CheckStatusRequest, CheckStatusResponse, DeploymentMode, DeploymentRef, JobRef, PollState,
};

/// The sample run's job after `attempt` polls, still in progress.
fn job(attempt: u32) -> JobRef {
    let mut job = fixtures::job_started();
    job.status.attempt = attempt;
    job
}

fn deps(rules: &[&Rule], elapsed: u64) -> Deps<FixedClock> {
    let bedrock = mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, rules, |c| c.retry_config(RetryConfig::disabled()));
    Deps { bedrock, clock: FixedClock::at_unix(START + elapsed) }
}

fn job_output(status: ModelCustomizationJobStatus) -> GetModelCustomizationJobOutput {
    let job = fixtures::job_started();
    GetModelCustomizationJobOutput::builder()
        .job_arn(job.job_arn)
        .job_name(job.job_name)
        .output_model_name(job.custom_model_name)
        .role_arn(fixtures::ROLE_ARN)
        .base_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
        .creation_time(DateTime::from_secs(START as i64))
        .status(status)
        .build()
        .unwrap()
}

fn job_rule(make: fn() -> GetModelCustomizationJobOutput) -> Rule {
    mock!(Client::get_model_customization_job)
        .match_requests(|r| r.job_identifier() == Some(fixtures::JOB_ARN))
        .then_output(make)
}

async fn poll_job(rule: &Rule, attempt: u32, elapsed: u64) -> JobRef {
    let deps = deps(&[rule], elapsed);
    let event = LambdaEvent::new(CheckStatusRequest::Job { job: job(attempt) }, Context::default());
    match handler(&deps, event).await.unwrap() {
        CheckStatusResponse::Job(j) => j,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_in_progress_job_counts_the_attempt_and_backs_off_with_elapsed_time() {
    let rule = job_rule(|| job_output(ModelCustomizationJobStatus::InProgress));
    let j = poll_job(&rule, 0, 1200).await;
    assert_eq!(j.status.state, PollState::InProgress);
    assert_eq!(j.status.raw_status, "InProgress");
    assert_eq!((j.status.attempt, j.status.elapsed_seconds), (1, 1200));
    assert_eq!(j.status.next_wait_seconds, Backoff::JOB.next_wait(1200));
    assert!(!j.status.exhausted && j.custom_model_arn.is_none());
    // The bound: the last allowed poll still in progress gives up.
    let last = poll_job(&rule, Backoff::JOB.max_attempts - 1, 4 * 86_400).await;
    assert!(last.status.exhausted);
    assert_eq!(last.status.next_wait_seconds, Backoff::JOB.max_seconds);
}

#[tokio::test]
async fn a_completed_job_is_ready_with_its_model_arn_and_losses() {
    let rule = job_rule(|| {
        let mut out = job_output(ModelCustomizationJobStatus::Completed);
        out.output_model_arn = Some(fixtures::CUSTOM_MODEL_ARN.into());
        out.training_metrics = Some(TrainingMetrics::builder().training_loss(0.25).build());
        out.validation_metrics = Some(vec![ValidatorMetric::builder().validation_loss(0.5).build()]);
        out
    });
    let j = poll_job(&rule, 299, 7200).await;
    assert_eq!(j.status.state, PollState::Ready);
    assert!(!j.status.exhausted, "a finished job is not an exhausted loop");
    assert_eq!(j.custom_model_arn.as_deref(), Some(fixtures::CUSTOM_MODEL_ARN));
    assert_eq!((j.training_loss, j.validation_loss), (Some(0.25), Some(0.5)));
}

#[tokio::test]
async fn failed_and_stopped_jobs_carry_a_message() {
    let failed = job_rule(|| {
        let mut out = job_output(ModelCustomizationJobStatus::Failed);
        out.failure_message = Some("Training data has 3 invalid records".into());
        out
    });
    let j = poll_job(&failed, 3, 900).await;
    assert_eq!(j.status.state, PollState::Failed);
    assert_eq!(j.status.failure_message.as_deref(), Some("Training data has 3 invalid records"));
    for s in [ModelCustomizationJobStatus::Stopping, ModelCustomizationJobStatus::Stopped] {
        let rule = match s {
            ModelCustomizationJobStatus::Stopping => job_rule(|| job_output(ModelCustomizationJobStatus::Stopping)),
            _ => job_rule(|| job_output(ModelCustomizationJobStatus::Stopped)),
        };
        let j = poll_job(&rule, 3, 900).await;
        assert_eq!(j.status.state, PollState::Stopped);
        assert_eq!(j.status.raw_status, s.as_str());
        assert!(j.status.failure_message.unwrap().contains("stopped"));
    }
}

#[tokio::test]
async fn throttling_and_missing_jobs_map_to_their_error_names() {
    let throttled = mock!(Client::get_model_customization_job).then_error(|| {
        GetModelCustomizationJobError::ThrottlingException(
            ThrottlingException::builder()
                .message("Rate exceeded")
                .meta(ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build())
                .build(),
        )
    });
    let err = check(&deps(&[&throttled], 10), CheckStatusRequest::Job { job: job(0) }).await.unwrap_err();
    assert_eq!(err.error_type(), "Throttled");
    assert!(err.to_string().contains("GetModelCustomizationJob"));
    let five_hundred = mock!(Client::get_model_customization_job).sequence().http_status(503, None).build();
    let err = check(&deps(&[&five_hundred], 10), CheckStatusRequest::Job { job: job(0) }).await.unwrap_err();
    assert_eq!(err.error_type(), "TransientError");
}

/// The sample run's deployment of `mode`, started at [`START`], after `attempt` polls.
fn deployment(mode: DeploymentMode, attempt: u32) -> DeploymentRef {
    let mut deployment = DeploymentRef { started_at: STARTED_AT.into(), ..fixtures::deployment_started(mode) };
    deployment.status.attempt = attempt;
    deployment
}

async fn poll_deployment(rules: &[&Rule], mode: DeploymentMode, attempt: u32, elapsed: u64) -> DeploymentRef {
    let request = CheckStatusRequest::Deployment { deployment: deployment(mode, attempt) };
    match check(&deps(rules, elapsed), request).await.unwrap() {
        CheckStatusResponse::Deployment(d) => d,
        other => panic!("{other:?}"),
    }
}

fn throughput(status: ProvisionedModelStatus) -> GetProvisionedModelThroughputOutput {
    GetProvisionedModelThroughputOutput::builder()
        .model_units(1)
        .desired_model_units(1)
        .provisioned_model_name(shared::pipeline::names::throughput_name(fixtures::RUN_ID))
        .provisioned_model_arn(fixtures::THROUGHPUT_ARN)
        .model_arn(fixtures::CUSTOM_MODEL_ARN)
        .desired_model_arn(fixtures::CUSTOM_MODEL_ARN)
        .foundation_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0")
        .status(status)
        .creation_time(DateTime::from_secs(START as i64))
        .last_modified_time(DateTime::from_secs(START as i64))
        .build()
        .unwrap()
}

#[tokio::test]
async fn provisioned_throughput_states_are_normalized() {
    for (status, state) in [
        (ProvisionedModelStatus::Creating, PollState::InProgress),
        (ProvisionedModelStatus::Updating, PollState::InProgress),
        (ProvisionedModelStatus::InService, PollState::Ready),
        (ProvisionedModelStatus::Failed, PollState::Failed),
    ] {
        let s = status.clone();
        let rule = mock!(Client::get_provisioned_model_throughput)
            .match_requests(|r| r.provisioned_model_id() == Some(fixtures::THROUGHPUT_ARN))
            .then_output(move || throughput(s.clone()));
        let d = poll_deployment(&[&rule], DeploymentMode::Provisioned, 2, 600).await;
        assert_eq!((d.status.state, d.status.raw_status.as_str()), (state, status.as_str()));
        assert_eq!((d.status.attempt, d.status.next_wait_seconds), (3, Backoff::DEPLOYMENT.next_wait(600)));
        assert_eq!(d.status.failure_message.is_some(), state == PollState::Failed);
    }
}

#[tokio::test]
async fn on_demand_deployment_states_are_normalized_and_bounded() {
    for (status, state) in [
        (CustomModelDeploymentStatus::Creating, PollState::InProgress),
        (CustomModelDeploymentStatus::Active, PollState::Ready),
        (CustomModelDeploymentStatus::Failed, PollState::Failed),
    ] {
        let s = status.clone();
        let rule = mock!(Client::get_custom_model_deployment)
            .match_requests(|r| r.custom_model_deployment_identifier() == Some(fixtures::DEPLOYMENT_ARN))
            .then_output(move || {
                GetCustomModelDeploymentOutput::builder()
                    .custom_model_deployment_arn(fixtures::DEPLOYMENT_ARN)
                    .model_deployment_name(shared::pipeline::names::deployment_name(fixtures::RUN_ID))
                    .model_arn(fixtures::CUSTOM_MODEL_ARN)
                    .created_at(DateTime::from_secs(START as i64))
                    .status(s.clone())
                    .set_failure_message((s == CustomModelDeploymentStatus::Failed).then(|| "capacity".to_string()))
                    .build()
                    .unwrap()
            });
        let d = poll_deployment(&[&rule], DeploymentMode::OnDemand, Backoff::DEPLOYMENT.max_attempts - 1, 3600).await;
        assert_eq!(d.status.state, state);
        assert_eq!(d.status.exhausted, state == PollState::InProgress);
        if state == PollState::Failed {
            assert_eq!(d.status.failure_message.as_deref(), Some("capacity"));
        }
    }
}

#[tokio::test]
async fn mode_none_is_ready_without_any_call() {
    let d = poll_deployment(&[], DeploymentMode::None, 0, 5).await;
    assert_eq!(d.status.state, PollState::Ready);
    assert_eq!(d.status.attempt, 1);
}
