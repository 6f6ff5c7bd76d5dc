//! The clean-up calls. Each records what it did in [`Done`] instead of failing the teardown: what is
//! already gone is a note, a retryable failure is kept for the caller to return, anything else is a
//! failure listed in the summary for a person to look at.

use aws_sdk_bedrock::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrock::types::ModelCustomizationJobStatus;
use functions_common::{HttpStatus, sdk_error};
use shared::pipeline::{DeploymentMode, PipelineError, layout, names};
use shared::summary::RunSummary;

use crate::ownership::{self, Ownership};

/// What to delete.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Nothing,
    /// The reference Provision returned.
    Recorded {
        mode: DeploymentMode,
        arn: String,
    },
    /// Provision's result is unknown: the name derived from the run id, for this mode.
    ByName(DeploymentMode),
    /// The mode is unknown too: both derived names.
    AnyByName,
}

#[derive(Debug, Default)]
pub struct Done {
    pub deleted: Vec<String>,
    pub stopped: Vec<String>,
    pub kept: Vec<String>,
    pub failures: Vec<String>,
    pub notes: Vec<String>,
    /// Deletions refused for now (ConflictException: still Creating): tried again after a wait.
    pub pending: Vec<String>,
    /// The first throttled or transient failure: the whole teardown is retried.
    pub retryable: Option<PipelineError>,
}

impl Done {
    fn failed(&mut self, what: &str, err: PipelineError) {
        if err.is_retryable() {
            self.retryable.get_or_insert(err);
        } else {
            self.failures.push(format!("{what}: {}: {err}", err.error_type()));
        }
    }
}

fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> &str {
    err.as_service_error().and_then(|e| e.code()).unwrap_or("")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Throughput,
    Deployment,
}

/// Stops the job if it is still running and this run's; a finished, unknown or foreign job is left alone.
pub async fn stop_job(bedrock: &aws_sdk_bedrock::Client, run_id: &str, job: &str, done: &mut Done) {
    let got = bedrock.get_model_customization_job().job_identifier(job).send().await;
    let job_arn = match got {
        Ok(out) => match out.status() {
            Some(ModelCustomizationJobStatus::InProgress) => out.job_arn().to_string(),
            Some(ModelCustomizationJobStatus::Stopping) => {
                done.notes.push(format!("job {job} is already stopping"));
                return;
            }
            _ => return,
        },
        Err(e) if code(&e) == "ResourceNotFoundException" => {
            done.notes.push(format!("no customization job {job}: nothing to stop"));
            return;
        }
        Err(e) => return done.failed(job, sdk_error("GetModelCustomizationJob", e)),
    };
    if !owned(bedrock, &job_arn, run_id, done).await {
        return;
    }
    match bedrock.stop_model_customization_job().job_identifier(&job_arn).send().await {
        Ok(_) => done.stopped.push(job_arn),
        // It finished between the two calls.
        Err(e) if matches!(code(&e), "ResourceNotFoundException" | "ConflictException" | "ValidationException") => {
            done.notes.push(format!("job {job_arn} ended before it could be stopped"));
        }
        Err(e) => done.failed(&job_arn, sdk_error("StopModelCustomizationJob", e)),
    }
}

/// Deletes the throughput or deployment, unless it is to be kept.
pub async fn remove_deployment(
    bedrock: &aws_sdk_bedrock::Client,
    run_id: &str,
    target: &Target,
    keep_reason: Option<String>,
    commitment: Option<String>,
    done: &mut Done,
) {
    let by_mode = |mode: DeploymentMode| match mode {
        DeploymentMode::Provisioned => vec![(Kind::Throughput, names::throughput_name(run_id))],
        DeploymentMode::OnDemand => vec![(Kind::Deployment, names::deployment_name(run_id))],
        DeploymentMode::None => vec![],
        // Unsettled: the mode the run would have taken is unknown here, so both names are tried.
        DeploymentMode::Auto => {
            vec![(Kind::Throughput, names::throughput_name(run_id)), (Kind::Deployment, names::deployment_name(run_id))]
        }
    };
    let items: Vec<(Kind, String)> = match target {
        Target::Nothing => vec![],
        Target::Recorded { mode: DeploymentMode::Provisioned, arn } => vec![(Kind::Throughput, arn.clone())],
        Target::Recorded { mode: DeploymentMode::OnDemand, arn } => vec![(Kind::Deployment, arn.clone())],
        Target::Recorded { mode: DeploymentMode::None, .. } => vec![],
        // Provision never records `auto`; the ARN says what it is.
        Target::Recorded { mode: DeploymentMode::Auto, arn } if arn.contains(":provisioned-model/") => {
            vec![(Kind::Throughput, arn.clone())]
        }
        Target::Recorded { mode: DeploymentMode::Auto, arn } => vec![(Kind::Deployment, arn.clone())],
        Target::ByName(mode) => by_mode(*mode),
        Target::AnyByName => [by_mode(DeploymentMode::Provisioned), by_mode(DeploymentMode::OnDemand)].concat(),
    };
    for (kind, id) in items {
        if let Some(reason) = &keep_reason {
            done.kept.push(id.clone());
            done.notes.push(format!("{id} {reason}"));
            continue;
        }
        if kind == Kind::Throughput
            && let Some(term) = &commitment
        {
            done.kept.push(id.clone());
            done.notes.push(format!(
                "{id} has a {term} commitment: it cannot be deleted before the term ends and bills until then"
            ));
            continue;
        }
        // A derived name is looked up: ownership is read from the ARN, and the ARN is what is deleted.
        let arn = if id.starts_with("arn:") {
            id
        } else {
            match resolve(bedrock, kind, &id).await {
                Ok(Some(arn)) => arn,
                Ok(None) => {
                    done.notes.push(format!("{id} does not exist: nothing to delete"));
                    continue;
                }
                Err(e) => {
                    done.failed(&id, e);
                    continue;
                }
            }
        };
        if !owned(bedrock, &arn, run_id, done).await {
            continue;
        }
        let result = match kind {
            Kind::Throughput => {
                let sent = bedrock.delete_provisioned_model_throughput().provisioned_model_id(&arn).send().await;
                classify(sent.map(|_| ()), "DeleteProvisionedModelThroughput")
            }
            Kind::Deployment => {
                let sent =
                    bedrock.delete_custom_model_deployment().custom_model_deployment_identifier(&arn).send().await;
                classify(sent.map(|_| ()), "DeleteCustomModelDeployment")
            }
        };
        match result {
            Deletion::Deleted => done.deleted.push(arn),
            Deletion::Gone => done.notes.push(format!("{arn} does not exist: nothing to delete")),
            Deletion::Busy(why) => {
                done.notes.push(format!("{arn} cannot be deleted yet: {why}"));
                done.pending.push(arn);
            }
            Deletion::Failed(err) => done.failed(&arn, err),
        }
    }
}

/// Whether `arn` is this run's (its run tag read back from Bedrock); what is not is reported, untouched.
async fn owned(bedrock: &aws_sdk_bedrock::Client, arn: &str, run_id: &str, done: &mut Done) -> bool {
    match ownership::check(bedrock, arn, run_id).await {
        Ok(Ownership::Owned) => true,
        Ok(Ownership::Gone) => {
            done.notes.push(format!("{arn} does not exist: nothing to do"));
            false
        }
        Ok(foreign) => {
            tracing::warn!(arn, run_id, "refused: not this run's resource");
            done.failures.push(foreign.refusal(arn, run_id));
            false
        }
        Err(e) => {
            done.failed(arn, e);
            false
        }
    }
}

/// The ARN of the throughput or deployment with this name, `None` when there is none.
async fn resolve(bedrock: &aws_sdk_bedrock::Client, kind: Kind, name: &str) -> Result<Option<String>, PipelineError> {
    match kind {
        Kind::Throughput => match bedrock.get_provisioned_model_throughput().provisioned_model_id(name).send().await {
            Ok(out) => Ok(Some(out.provisioned_model_arn().to_string())),
            Err(e) if code(&e) == "ResourceNotFoundException" => Ok(None),
            Err(e) => Err(sdk_error("GetProvisionedModelThroughput", e)),
        },
        Kind::Deployment => {
            match bedrock.get_custom_model_deployment().custom_model_deployment_identifier(name).send().await {
                Ok(out) => Ok(Some(out.custom_model_deployment_arn().to_string())),
                Err(e) if code(&e) == "ResourceNotFoundException" => Ok(None),
                Err(e) => Err(sdk_error("GetCustomModelDeployment", e)),
            }
        }
    }
}

enum Deletion {
    Deleted,
    Gone,
    /// ConflictException: still Creating (or Updating); deletable once it settles.
    Busy(String),
    Failed(PipelineError),
}

fn classify<E, R>(sent: Result<(), SdkError<E, R>>, operation: &str) -> Deletion
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    match sent {
        Ok(()) => Deletion::Deleted,
        Err(e) if code(&e) == "ResourceNotFoundException" => Deletion::Gone,
        // Still Creating (or Updating): deletable once it settles, which can take an hour; the state
        // machine's wait loop (or, after its bound, the reaper) tries again.
        Err(e) if code(&e) == "ConflictException" => Deletion::Busy(sdk_error(operation, e).to_string()),
        Err(e) => Deletion::Failed(sdk_error(operation, e)),
    }
}

/// The summary a previous teardown wrote, if any.
pub async fn existing_summary(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    run_id: &str,
) -> Result<Option<RunSummary>, PipelineError> {
    let key = layout::summary_key(run_id);
    let object = match s3.get_object().bucket(bucket).key(&key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(sdk_error("GetObject", e)),
    };
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| PipelineError::Transient(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    // Something else under our key is not a summary: act as if there were none.
    Ok(serde_json::from_slice(&bytes).ok())
}
