//! provision: makes the tuned model callable for evaluation.
//!
//! Input: the run document (`RunDocument`, after the job completed: `$.job.custom_model_arn` is set).
//! Output: a `DeploymentRef` at `$.deployment`, by the configured mode:
//! - `none`: nothing is created; the reference is `READY` at once (the run ends without evaluation);
//! - `on-demand`: CreateCustomModelDeployment (pay per token), only for models the catalogue marks
//!   `on_demand_deployment`, checked before anything is created;
//! - `provisioned`: CreateProvisionedModelThroughput, billed by the hour, with a commitment only when
//!   the configuration names one.
//!
//! Names and clientRequestTokens derive from the run id, so a retried step gets the same resource back;
//! when a name is taken (a token that expired, a run retried by hand) the existing resource is used if it
//! serves this run's model.

use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::{CommitmentDuration, Tag};
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, format_rfc3339, is_name_taken, sdk_error};
use lambda_runtime::LambdaEvent;
use shared::catalogue;
use shared::pipeline::{
    Backoff, DeploymentMode, DeploymentRef, PipelineConfig, PipelineError, PollState, PollStatus, RunDocument, names,
};

/// `raw_status` of the reference when nothing was deployed.
pub const NOT_DEPLOYED: &str = "NotDeployed";
/// `purpose` parts of the clientRequestTokens.
pub const DEPLOYMENT_TOKEN: &str = "deployment";
pub const THROUGHPUT_TOKEN: &str = "throughput";

/// Built once per Lambda instance.
pub struct Deps<C> {
    pub bedrock: Client,
    pub clock: C,
}

impl<C: Clock> Deps<C> {
    /// The one wiring, for Lambda and the local cloud alike. Reads no variable of its own.
    pub fn from_env(sdk: &SdkConfig, _env: &Env, clock: C) -> Deps<C> {
        Deps { bedrock: Client::new(sdk), clock }
    }
}

pub async fn handler<C: Clock>(deps: &Deps<C>, event: LambdaEvent<RunDocument>) -> Result<DeploymentRef, LambdaError> {
    Ok(provision(deps, &event.payload).await?)
}

pub async fn provision<C: Clock>(deps: &Deps<C>, doc: &RunDocument) -> Result<DeploymentRef, PipelineError> {
    let run_id = doc.run.run_id.as_str();
    // validate-split settled it; a hand-made document may still say `auto`.
    let settled;
    let config = if doc.run.config.deployment == DeploymentMode::Auto {
        settled = doc.run.config.settled();
        &settled
    } else {
        &doc.run.config
    };
    let started_at = format_rfc3339(deps.clock.now());
    if config.deployment == DeploymentMode::None {
        return Ok(not_deployed(started_at));
    }
    let model = catalogue::find(&config.base_model)
        .ok_or_else(|| PipelineError::ConfigInvalid(format!("unknown base_model `{}`", config.base_model)))?;
    let custom_model_arn = doc.job.as_ref().and_then(|j| j.custom_model_arn.as_deref()).ok_or_else(|| {
        PipelineError::Internal(format!(
            "run {run_id}: provision needs $.job.custom_model_arn, which check-status sets when the job completes"
        ))
    })?;
    let (arn, hourly) = match config.deployment {
        DeploymentMode::OnDemand => {
            if !model.on_demand_deployment {
                return Err(PipelineError::ConfigInvalid(format!(
                    "deployment `on-demand` is not offered for custom models of {}; use `provisioned` or `none`",
                    model.id
                )));
            }
            // Billed per token at the base model's price, nothing by the hour.
            (create_deployment(&deps.bedrock, run_id, config, custom_model_arn).await?, Some(0.0))
        }
        DeploymentMode::Provisioned => {
            // Priced from the catalogue where a figure exists; unknown rather than guessed otherwise.
            let hourly = catalogue::pricing::provisioned_throughput_usd_per_hour(
                model.id,
                config.commitment.as_deref(),
                config.model_units,
            );
            (create_throughput(&deps.bedrock, run_id, config, custom_model_arn).await?, hourly.map(|f| f.value))
        }
        DeploymentMode::None => unreachable!("handled above"),
        // settle() decides every known model's mode; only an unknown model keeps `auto`, refused above.
        DeploymentMode::Auto => {
            return Err(PipelineError::ConfigInvalid(format!("deployment `auto` was not settled for {}", model.id)));
        }
    };
    tracing::info!(run_id, mode = ?config.deployment, arn, "deployment requested");
    Ok(DeploymentRef {
        mode: config.deployment,
        arn: Some(arn.clone()),
        invoke_arn: Some(arn),
        started_at,
        status: PollStatus::fresh(PollState::InProgress, "Creating", Backoff::DEPLOYMENT.initial_seconds),
        hourly_cost_usd: hourly,
    })
}

fn not_deployed(started_at: String) -> DeploymentRef {
    DeploymentRef {
        mode: DeploymentMode::None,
        arn: None,
        invoke_arn: None,
        started_at,
        status: PollStatus::fresh(PollState::Ready, NOT_DEPLOYED, 0),
        hourly_cost_usd: None,
    }
}

/// The run-id tag ties a billed resource to its run (cost reports, clean-up, IAM conditions).
fn tags(run_id: &str, config: &PipelineConfig) -> Result<Vec<Tag>, PipelineError> {
    shared::aws::run_tags(run_id, &config.tags)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| PipelineError::Internal(format!("tag `{k}`: {e}")))
        })
        .collect()
}

async fn create_deployment(
    bedrock: &Client,
    run_id: &str,
    config: &PipelineConfig,
    model_arn: &str,
) -> Result<String, PipelineError> {
    let name = names::deployment_name(run_id);
    let sent = bedrock
        .create_custom_model_deployment()
        .model_deployment_name(&name)
        .model_arn(model_arn)
        .description(format!("Fine-tuning pipeline run {run_id}"))
        .set_tags(Some(tags(run_id, config)?))
        .client_request_token(names::client_token(run_id, DEPLOYMENT_TOKEN))
        .send()
        .await;
    match sent {
        Ok(out) => Ok(out.custom_model_deployment_arn().to_string()),
        Err(e) if is_name_taken(&e) => {
            let existing = bedrock
                .get_custom_model_deployment()
                .custom_model_deployment_identifier(&name)
                .send()
                .await
                .or_pipeline("GetCustomModelDeployment")?;
            adopt("deployment", &name, existing.model_arn(), model_arn, existing.custom_model_deployment_arn())
        }
        Err(e) => Err(sdk_error("CreateCustomModelDeployment", e)),
    }
}

async fn create_throughput(
    bedrock: &Client,
    run_id: &str,
    config: &PipelineConfig,
    model_arn: &str,
) -> Result<String, PipelineError> {
    let units = i32::try_from(config.model_units).ok().filter(|u| *u >= 1).ok_or_else(|| {
        PipelineError::ConfigInvalid(format!("model_units {} must be at least 1", config.model_units))
    })?;
    let commitment = match config.commitment.as_deref() {
        None => None,
        Some(c @ ("OneMonth" | "SixMonths")) => Some(CommitmentDuration::from(c)),
        Some(other) => {
            return Err(PipelineError::ConfigInvalid(format!(
                "commitment `{other}` must be OneMonth or SixMonths (or absent: no commitment)"
            )));
        }
    };
    let name = names::throughput_name(run_id);
    let sent = bedrock
        .create_provisioned_model_throughput()
        .provisioned_model_name(&name)
        .model_id(model_arn)
        .model_units(units)
        // Absent unless asked for: a commitment cannot be deleted before its term ends.
        .set_commitment_duration(commitment)
        .set_tags(Some(tags(run_id, config)?))
        .client_request_token(names::client_token(run_id, THROUGHPUT_TOKEN))
        .send()
        .await;
    match sent {
        Ok(out) => Ok(out.provisioned_model_arn().to_string()),
        Err(e) if is_name_taken(&e) => {
            let existing = bedrock
                .get_provisioned_model_throughput()
                .provisioned_model_id(&name)
                .send()
                .await
                .or_pipeline("GetProvisionedModelThroughput")?;
            // An update in flight may have moved it to this model already.
            let model = if existing.desired_model_arn() == model_arn { model_arn } else { existing.model_arn() };
            adopt("provisioned throughput", &name, model, model_arn, existing.provisioned_model_arn())
        }
        Err(e) => Err(sdk_error("CreateProvisionedModelThroughput", e)),
    }
}

/// Continues with a resource found under this run's name only if it serves this run's model.
fn adopt(what: &str, name: &str, serves: &str, wanted: &str, arn: &str) -> Result<String, PipelineError> {
    if serves == wanted {
        tracing::info!(name, arn, "{what} already exists for this run; continuing with it");
        Ok(arn.to_string())
    } else {
        Err(PipelineError::ConfigInvalid(format!(
            "a {what} named {name} already exists for another model ({serves}); delete it or start a new run"
        )))
    }
}

#[cfg(test)]
mod tests;
