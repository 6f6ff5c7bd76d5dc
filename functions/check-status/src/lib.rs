//! check-status: refreshes the reference it is given (a customization job, a provisioned
//! throughput or a custom model deployment) and returns it updated: normalized state, Bedrock's own
//! status, attempt count, elapsed time, the next wait from the backoff, and whether the loop's bound
//! is reached. A completed job also gets its custom model ARN and losses.
//! Reads no environment beyond the SDK's.

use aws_sdk_bedrock::Client;
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, elapsed_seconds};
use lambda_runtime::LambdaEvent;
use shared::pipeline::{
    Backoff, CheckStatusRequest, CheckStatusResponse, DeploymentMode, DeploymentRef, JobRef, PipelineError, PollState,
    PollStatus,
};

pub struct Deps<C: Clock> {
    pub bedrock: Client,
    pub clock: C,
}

impl<C: Clock> Deps<C> {
    /// The one wiring, for Lambda and the local cloud alike. Reads no variable of its own.
    pub fn from_env(sdk: &SdkConfig, _env: &Env, clock: C) -> Deps<C> {
        Deps { bedrock: Client::new(sdk), clock }
    }
}

pub async fn handler<C: Clock>(
    deps: &Deps<C>,
    event: LambdaEvent<CheckStatusRequest>,
) -> Result<CheckStatusResponse, LambdaError> {
    Ok(check(deps, event.payload).await?)
}

pub async fn check<C: Clock>(
    deps: &Deps<C>,
    request: CheckStatusRequest,
) -> Result<CheckStatusResponse, PipelineError> {
    match request {
        CheckStatusRequest::Job { job } => check_job(deps, job).await.map(CheckStatusResponse::Job),
        CheckStatusRequest::Deployment { deployment } => {
            check_deployment(deps, deployment).await.map(CheckStatusResponse::Deployment)
        }
    }
}

/// Bedrock's job status -> the pipeline's. Unknown future values keep the loop polling (it is bounded).
pub fn job_state(status: &str) -> PollState {
    match status {
        "Completed" => PollState::Ready,
        "Failed" => PollState::Failed,
        "Stopping" | "Stopped" => PollState::Stopped,
        _ => PollState::InProgress,
    }
}

/// Provisioned throughput: Creating/Updating -> in progress, InService -> ready, Failed.
pub fn throughput_state(status: &str) -> PollState {
    match status {
        "InService" => PollState::Ready,
        "Failed" => PollState::Failed,
        _ => PollState::InProgress,
    }
}

/// Custom model deployment: Creating -> in progress, Active -> ready, Failed.
pub fn deployment_state(status: &str) -> PollState {
    match status {
        "Active" => PollState::Ready,
        "Failed" => PollState::Failed,
        _ => PollState::InProgress,
    }
}

/// The status after one more poll.
fn advance(
    previous: &PollStatus,
    backoff: &Backoff,
    started_at: &str,
    now: std::time::SystemTime,
    state: PollState,
    raw_status: &str,
    failure_message: Option<String>,
) -> Result<PollStatus, PipelineError> {
    let attempt = previous.attempt.saturating_add(1);
    let elapsed = elapsed_seconds(started_at, now)?;
    Ok(PollStatus {
        state,
        raw_status: raw_status.to_string(),
        attempt,
        next_wait_seconds: backoff.next_wait(elapsed),
        elapsed_seconds: elapsed,
        // Only a loop still waiting gives up; a final state is reported as it is.
        exhausted: state == PollState::InProgress && attempt >= backoff.max_attempts,
        failure_message,
    })
}

async fn check_job<C: Clock>(deps: &Deps<C>, mut job: JobRef) -> Result<JobRef, PipelineError> {
    let out = deps
        .bedrock
        .get_model_customization_job()
        .job_identifier(&job.job_arn)
        .send()
        .await
        .or_pipeline("GetModelCustomizationJob")?;
    let raw = out.status.as_ref().map(|s| s.as_str()).unwrap_or("InProgress");
    let state = job_state(raw);
    let failure = match state {
        PollState::Failed => {
            Some(out.failure_message.clone().unwrap_or_else(|| format!("job {} failed", job.job_name)))
        }
        PollState::Stopped => {
            Some(out.failure_message.clone().unwrap_or_else(|| format!("job {} was stopped ({raw})", job.job_name)))
        }
        _ => None,
    };
    let backoff = Backoff::for_job(job.estimated_seconds);
    job.status = advance(&job.status, &backoff, &job.started_at, deps.clock.now(), state, raw, failure)?;
    if let Some(arn) = out.output_model_arn {
        job.custom_model_arn = Some(arn);
    }
    if let Some(loss) = out.training_metrics.and_then(|m| m.training_loss) {
        job.training_loss = Some(f64::from(loss));
    }
    if let Some(loss) = out.validation_metrics.unwrap_or_default().iter().find_map(|m| m.validation_loss) {
        job.validation_loss = Some(f64::from(loss));
    }
    tracing::info!(job = %job.job_name, status = raw, attempt = job.status.attempt, "job polled");
    Ok(job)
}

async fn check_deployment<C: Clock>(deps: &Deps<C>, mut dep: DeploymentRef) -> Result<DeploymentRef, PipelineError> {
    let arn = || {
        dep.arn.clone().ok_or_else(|| {
            PipelineError::Internal(format!("the {:?} deployment reference has no ARN to poll", dep.mode))
        })
    };
    let (state, raw, failure) = match dep.mode {
        // Nothing was deployed: nothing to wait for.
        // Provision records a settled mode only; `auto` would mean nothing was deployed either.
        DeploymentMode::None | DeploymentMode::Auto => (PollState::Ready, "None".to_string(), None),
        DeploymentMode::Provisioned => {
            let out = deps
                .bedrock
                .get_provisioned_model_throughput()
                .provisioned_model_id(arn()?)
                .send()
                .await
                .or_pipeline("GetProvisionedModelThroughput")?;
            let raw = out.status.as_str().to_string();
            (throughput_state(&raw), raw, out.failure_message)
        }
        DeploymentMode::OnDemand => {
            let out = deps
                .bedrock
                .get_custom_model_deployment()
                .custom_model_deployment_identifier(arn()?)
                .send()
                .await
                .or_pipeline("GetCustomModelDeployment")?;
            let raw = out.status.as_str().to_string();
            (deployment_state(&raw), raw, out.failure_message)
        }
    };
    let failure = (state == PollState::Failed)
        .then(|| failure.unwrap_or_else(|| format!("deployment {} failed ({raw})", dep.arn.as_deref().unwrap_or("-"))));
    dep.status = advance(&dep.status, &Backoff::DEPLOYMENT, &dep.started_at, deps.clock.now(), state, &raw, failure)?;
    tracing::info!(arn = dep.arn.as_deref().unwrap_or("-"), status = %raw, attempt = dep.status.attempt, "deployment polled");
    Ok(dep)
}
