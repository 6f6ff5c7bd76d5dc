//! reaper: the scheduled backstop behind teardown. Teardown can fail to delete (a throughput still
//! `Creating` when an aborted execution's event arrives, a wait loop that reached its bound, a teardown
//! that crashed); the reaper, run by an EventBridge schedule, lists the account's provisioned
//! throughputs, custom model deployments and custom models, reads each one's run-id tag
//! (`shared::aws::RUN_ID_TAG`), asks Step Functions how that run's execution stands, and deletes what
//! [`policy::decide`] says may go. It never touches an untagged resource or one whose run id names no
//! execution of this stack's state machine.
//!
//! Dry run by default: it then deletes nothing and publishes what it would delete. Either way it
//! publishes only when there is something to say (something deleted, to delete, or a failure).
//!
//! Environment ([`Deps::from_env`]): `STATE_MACHINE_ARN` (required), `REAPER_MODE` (`delete` to delete;
//! anything else, or unset, is a dry run), `RESOURCE_TTL_HOURS` (a throughput's or deployment's time
//! to live; unset: none), `TOPIC_ARN` (unset: nothing is published).
//!
//! Output: [`ReaperReport`].

pub mod policy;

use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, sdk_error};
use lambda_runtime::LambdaEvent;
use policy::{Found, Kind, RunState, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::aws::RUN_ID_TAG;
use shared::pipeline::PipelineError;
use std::collections::HashMap;
use std::future::Future;
use std::time::UNIX_EPOCH;

/// List pages read per kind in one round; what lies beyond waits for a later round.
const MAX_PAGES: usize = 20;

/// Where the report goes: SNS on AWS, the local notifier on the local cloud.
pub trait Publish: Send + Sync {
    /// `Ok(false)` when there is nowhere to publish.
    fn publish(&self, subject: &str, message: &str) -> impl Future<Output = Result<bool, PipelineError>> + Send;
}

/// Publishes to the topic in `TOPIC_ARN`.
pub struct SnsPublisher {
    pub client: aws_sdk_sns::Client,
    pub topic_arn: Option<String>,
}

impl SnsPublisher {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> SnsPublisher {
        SnsPublisher { client: aws_sdk_sns::Client::new(sdk), topic_arn: env.get("TOPIC_ARN") }
    }
}

impl Publish for SnsPublisher {
    async fn publish(&self, subject: &str, message: &str) -> Result<bool, PipelineError> {
        let Some(topic) = &self.topic_arn else { return Ok(false) };
        self.client.publish().topic_arn(topic).subject(subject).message(message).send().await.or_pipeline("Publish")?;
        Ok(true)
    }
}

pub struct Deps<C, P> {
    pub bedrock: aws_sdk_bedrock::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub clock: C,
    pub publisher: P,
    pub state_machine_arn: String,
    pub dry_run: bool,
    pub ttl_seconds: Option<u64>,
}

impl<C: Clock, P: Publish> Deps<C, P> {
    /// The one wiring, for Lambda and the local cloud alike.
    pub fn from_env(sdk: &SdkConfig, env: &Env, clock: C, publisher: P) -> Result<Deps<C, P>, PipelineError> {
        Ok(Deps {
            bedrock: aws_sdk_bedrock::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            clock,
            publisher,
            state_machine_arn: env.required("STATE_MACHINE_ARN")?,
            // Deleting is opt-in: a misspelt mode must not delete.
            dry_run: !env.get("REAPER_MODE").is_some_and(|m| m.eq_ignore_ascii_case("delete")),
            ttl_seconds: env.positive("RESOURCE_TTL_HOURS").map(|h| h.saturating_mul(3600)),
        })
    }
}

/// One resource acted on (or that would be).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub kind: Kind,
    pub arn: String,
    pub run_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReaperReport {
    pub dry_run: bool,
    pub deleted: Vec<Action>,
    /// Dry run: what a deleting run would delete.
    pub would_delete: Vec<Action>,
    /// Resources looked at and left alone.
    pub kept: u32,
    /// What could not be deleted this round (tried again next round).
    pub failures: Vec<String>,
    pub notified: bool,
}

pub async fn handler<C: Clock, P: Publish>(
    deps: &Deps<C, P>,
    _event: LambdaEvent<Value>,
) -> Result<ReaperReport, LambdaError> {
    Ok(reap(deps).await?)
}

pub async fn reap<C: Clock, P: Publish>(deps: &Deps<C, P>) -> Result<ReaperReport, PipelineError> {
    let now_unix = deps.clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut found = list_throughputs(&deps.bedrock).await?;
    found.extend(list_deployments(&deps.bedrock).await?);
    // Models last: one still served by a deployment cannot go before it.
    found.extend(list_models(&deps.bedrock).await?);

    let mut report = ReaperReport {
        dry_run: deps.dry_run,
        deleted: vec![],
        would_delete: vec![],
        kept: 0,
        failures: vec![],
        notified: false,
    };
    let mut runs: HashMap<String, RunState> = HashMap::new();
    for mut item in found {
        item.run_id = run_tag(&deps.bedrock, &item.arn).await?;
        if let Some(run_id) = &item.run_id
            && !runs.contains_key(run_id)
        {
            let state = run_state(&deps.sfn, &deps.state_machine_arn, run_id).await?;
            runs.insert(run_id.clone(), state);
        }
        let run = item.run_id.as_ref().and_then(|r| runs.get(r));
        let reason = match policy::decide(&item, run, now_unix, deps.ttl_seconds) {
            Verdict::Keep(why) => {
                tracing::debug!(arn = item.arn, why, "kept");
                report.kept += 1;
                continue;
            }
            Verdict::Delete(why) => why,
        };
        let action = Action { kind: item.kind, arn: item.arn.clone(), run_id: item.run_id.clone(), reason };
        if deps.dry_run {
            report.would_delete.push(action);
            continue;
        }
        match delete(&deps.bedrock, item.kind, &item.arn).await {
            Ok(()) => report.deleted.push(action),
            // Throttled, busy or refused: reported, and the next round tries again.
            Err(e) => report.failures.push(format!("{}: {}: {e}", item.arn, e.error_type())),
        }
    }

    if !(report.deleted.is_empty() && report.would_delete.is_empty() && report.failures.is_empty()) {
        let subject = if deps.dry_run {
            format!("Reaper (dry run): {} resources would be deleted", report.would_delete.len())
        } else {
            format!("Reaper: {} deleted, {} failed", report.deleted.len(), report.failures.len())
        };
        let message = serde_json::to_string_pretty(&report).map_err(|e| PipelineError::Internal(e.to_string()))?;
        report.notified = deps.publisher.publish(&subject, &message).await?;
    }
    tracing::info!(
        dry_run = deps.dry_run,
        deleted = report.deleted.len(),
        would_delete = report.would_delete.len(),
        failures = report.failures.len(),
        "reaped"
    );
    Ok(report)
}

fn unix(t: &aws_sdk_bedrock::primitives::DateTime) -> i64 {
    t.secs()
}

async fn list_throughputs(bedrock: &aws_sdk_bedrock::Client) -> Result<Vec<Found>, PipelineError> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = bedrock
            .list_provisioned_model_throughputs()
            .set_next_token(token)
            .send()
            .await
            .or_pipeline("ListProvisionedModelThroughputs")?;
        out.extend(page.provisioned_model_summaries().iter().map(|t| Found {
            kind: Kind::ProvisionedThroughput,
            arn: t.provisioned_model_arn().to_string(),
            created_unix: unix(t.creation_time()),
            commitment: t.commitment_duration().map(|c| c.as_str().to_string()),
            run_id: None,
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

async fn list_deployments(bedrock: &aws_sdk_bedrock::Client) -> Result<Vec<Found>, PipelineError> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = bedrock
            .list_custom_model_deployments()
            .set_next_token(token)
            .send()
            .await
            .or_pipeline("ListCustomModelDeployments")?;
        out.extend(page.model_deployment_summaries().iter().map(|d| Found {
            kind: Kind::Deployment,
            arn: d.custom_model_deployment_arn().to_string(),
            created_unix: unix(d.created_at()),
            commitment: None,
            run_id: None,
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

async fn list_models(bedrock: &aws_sdk_bedrock::Client) -> Result<Vec<Found>, PipelineError> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = bedrock.list_custom_models().set_next_token(token).send().await.or_pipeline("ListCustomModels")?;
        out.extend(page.model_summaries().iter().map(|m| Found {
            kind: Kind::CustomModel,
            arn: m.model_arn().to_string(),
            created_unix: unix(m.creation_time()),
            commitment: None,
            run_id: None,
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The run-id tag, read back from Bedrock; a resource gone meanwhile has none.
async fn run_tag(bedrock: &aws_sdk_bedrock::Client, arn: &str) -> Result<Option<String>, PipelineError> {
    match bedrock.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => Ok(out.tags().iter().find(|t| t.key() == RUN_ID_TAG).map(|t| t.value().to_string())),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(sdk_error("ListTagsForResource", e)),
    }
}

async fn run_state(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    run_id: &str,
) -> Result<RunState, PipelineError> {
    // The execution named by the run id, in this stack's state machine.
    let arn = shared::aws::execution_arn(state_machine_arn, run_id);
    match sfn.describe_execution().execution_arn(&arn).send().await {
        Ok(out) => Ok(match out.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => RunState::Running,
            ExecutionStatus::Succeeded => RunState::Succeeded,
            _ if matches!(out.error(), Some(PipelineError::GATE_FAILED | PipelineError::GATE_INCONCLUSIVE)) => {
                RunState::GateFailed
            }
            other => RunState::EndedBadly(other.as_str().to_string()),
        }),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_does_not_exist()) => Ok(RunState::NotOurs),
        Err(e) => Err(sdk_error("DescribeExecution", e)),
    }
}

async fn delete(bedrock: &aws_sdk_bedrock::Client, kind: Kind, arn: &str) -> Result<(), PipelineError> {
    let gone = |code: Option<&str>| code == Some("ResourceNotFoundException");
    let conflict = |op: &str, message: Option<&str>| {
        PipelineError::Internal(format!(
            "{op}: ConflictException (still creating, or in use): {}",
            message.unwrap_or("")
        ))
    };
    match kind {
        Kind::ProvisionedThroughput => {
            match bedrock.delete_provisioned_model_throughput().provisioned_model_id(arn).send().await {
                Ok(_) => Ok(()),
                Err(e) if gone(e.code()) => Ok(()),
                Err(e) if e.code() == Some("ConflictException") => {
                    Err(conflict("DeleteProvisionedModelThroughput", e.message()))
                }
                Err(e) => Err(sdk_error("DeleteProvisionedModelThroughput", e)),
            }
        }
        Kind::Deployment => {
            match bedrock.delete_custom_model_deployment().custom_model_deployment_identifier(arn).send().await {
                Ok(_) => Ok(()),
                Err(e) if gone(e.code()) => Ok(()),
                Err(e) if e.code() == Some("ConflictException") => {
                    Err(conflict("DeleteCustomModelDeployment", e.message()))
                }
                Err(e) => Err(sdk_error("DeleteCustomModelDeployment", e)),
            }
        }
        Kind::CustomModel => match bedrock.delete_custom_model().model_identifier(arn).send().await {
            Ok(_) => Ok(()),
            Err(e) if gone(e.code()) => Ok(()),
            Err(e) if e.code() == Some("ConflictException") => Err(conflict("DeleteCustomModel", e.message())),
            Err(e) => Err(sdk_error("DeleteCustomModel", e)),
        },
    }
}
