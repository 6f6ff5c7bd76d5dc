//! How a run ended, or where it is now: one typed document, built once from the execution's history
//! and the run's own documents (the state document the history carries, and the summary teardown
//! writes). `finetune run` renders it as text and as JSON; a history that is still growing (a running
//! execution) gives the outcome so far, with status `RUNNING`.
//!
//! - `history.rs`: the neutral history event both the local engine's and AWS's histories map into
//! - `sfn.rs` (feature `sfn`): GetExecutionHistory's events mapped into that neutral form
//! - `cost.rs`: the run's cost, what it leaves billing and what teardown removed, priced from
//!   `catalogue::pricing`
//!
//! As `finetune run --json` (and every command that shows a run) prints it, every key is always
//! present, `null` when it does not apply.

mod cost;
mod history;
pub mod page;
#[cfg(feature = "sfn")]
pub mod sfn;

pub use cost::{Billable, Billing, COST_NOTE, CostEstimate, PRICING_PAGE, Removal, RemovalAction};
pub use history::{EventKind, ExecutionEvent, ExecutionFacts, ExecutionStatus, StateVisit, latest_document};

use crate::pipeline::{DeploymentMode, EvaluationResult, JobRef, PipelineError, PollState, RunDocument, layout};
use crate::report::{Issue, Report};
use crate::summary::RunSummary;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What an outcome is built from.
pub struct RunSources<'a> {
    /// The execution's name.
    pub run_id: &'a str,
    /// The execution's history so far, with its data (inputs and outputs) when available.
    pub history: &'a [ExecutionEvent],
    /// `runs/<id>/summary.json`, once teardown wrote it.
    pub summary: Option<&'a RunSummary>,
    /// Where an object of the run is, if it exists: an S3 key (or a prefix ending in `/`) to a location
    /// a person can open, such as an S3 URI or a local path.
    pub locate: &'a dyn Fn(&str) -> Option<String>,
    /// Summaries published to the topic, when the caller counted them; otherwise teardown's word.
    pub notifications: Option<u64>,
    /// Bedrock was the local emulator: its models are stand-ins.
    pub emulated: bool,
    /// The dataset's validation report (`runs/<id>/validation-report.json`), once written.
    pub validation: Option<&'a Report>,
    /// The history's times come from a virtual clock (the local cloud's), not the wall clock.
    pub virtual_clock: bool,
    /// What of the run exists now, read from the account (ARNs of its jobs in progress, custom model,
    /// throughput and deployment, found by its run-id tag). When given, `left_billing` is what is
    /// really there, not what the documents imply; `None` when nobody looked.
    pub live: Option<&'a [String]>,
}

/// The outcome of a run. The first fields are `finetune run --json`'s original ones, with their names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub status: ExecutionStatus,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// State names in the order entered (a poll loop's states once per poll).
    pub states: Vec<String>,
    pub state_transitions: u64,
    pub job_arn: Option<String>,
    pub custom_model_arn: Option<String>,
    pub evaluation: Option<EvaluationResult>,
    pub artifacts: Artifacts,
    pub notifications: u64,
    pub aws_cost_estimate: CostEstimate,
    pub emulated: bool,
    /// Milliseconds since the Unix epoch (on the local cloud's virtual clock when `virtual_clock`).
    pub started_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    /// Each state entered, with when it was entered and exited.
    pub visits: Vec<StateVisit>,
    pub job: Option<JobProgress>,
    pub deployment: Option<DeploymentProgress>,
    /// Times are the local cloud's virtual clock (a training job of hours passes in milliseconds).
    pub virtual_clock: bool,
    /// Why the run failed: the dataset's errors with their lines and fields when it was invalid,
    /// otherwise the pipeline's error; empty unless the run failed.
    pub errors: Vec<Problem>,
    /// The dataset's warnings from validation: what Bedrock accepts but a person should know.
    pub warnings: Vec<Problem>,
    /// What the configuration implies that a person may not expect (`deployment: none` skips the
    /// evaluation).
    pub notes: Vec<String>,
    /// What keeps billing after the run, with its rate; empty when nothing bills.
    pub left_billing: Vec<Billing>,
    /// What teardown deleted or stopped.
    pub cleaned_up: Vec<Removal>,
}

/// One reason a run failed, or one warning about its dataset. `line` (1-based) and `field` (a path
/// such as `messages[1].role`) are `null` when the problem is not about one record; `code` is a
/// validation code (`MISSING_FIELD`) or a pipeline error name (`DeploymentFailed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub line: Option<u64>,
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

impl From<&Issue> for Problem {
    fn from(issue: &Issue) -> Problem {
        Problem {
            line: issue.line,
            field: issue.field.clone(),
            code: issue.code.as_str(),
            message: issue.message.clone(),
        }
    }
}

/// The customization job, as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub arn: String,
    /// Bedrock's status when last polled, e.g. `InProgress`, `Completed`; unknown from a summary alone.
    pub status: Option<String>,
    pub state: Option<PollState>,
    /// Status checks so far.
    pub polls: u32,
}

/// The deployment (provisioned throughput or on-demand deployment), as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentProgress {
    pub kind: DeploymentMode,
    /// Absent for kind `none`.
    pub arn: Option<String>,
    /// Bedrock's status when last polled, e.g. `Creating`, `Active`.
    pub status: String,
    pub state: PollState,
    /// Status checks so far.
    pub polls: u32,
    pub hourly_cost_usd: Option<f64>,
    /// Deleted or stopped by teardown.
    pub removed: bool,
}

/// What the run wrote, by name, in the order the run writes it (`layout::artifacts`): every name,
/// with where it is, or `None` when the run did not write it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Artifacts(pub Vec<(String, Option<String>)>);

impl Artifacts {
    /// The artifacts that exist, by name.
    pub fn written(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|(name, at)| at.as_deref().map(|at| (name.as_str(), at)))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.written().find(|(n, _)| *n == name).map(|(_, at)| at)
    }
}

impl RunOutcome {
    pub fn build(sources: &RunSources<'_>) -> RunOutcome {
        let facts = ExecutionFacts::read(sources.history);
        let document: Option<RunDocument> = latest_document(sources.history);
        let document = document.as_ref();
        let summary = sources.summary;
        let job_ref = document.and_then(|d| d.job.as_ref());
        let job_arn = summary.and_then(|s| s.job_arn.clone()).or_else(|| job_ref.map(|j| j.job_arn.clone()));
        let custom_model_arn = summary
            .and_then(|s| s.custom_model_arn.clone())
            .or_else(|| job_ref.and_then(|j| j.custom_model_arn.clone()));
        let evaluation =
            summary.and_then(|s| s.evaluation.clone()).or_else(|| document.and_then(|d| d.evaluation.clone()));
        let removed = |arn: &str| summary.is_some_and(|s| s.deleted.iter().chain(&s.stopped).any(|r| r == arn));

        let job = job_progress(job_ref, job_arn.as_deref());
        let deployment = document
            .and_then(|d| d.deployment.as_ref())
            .or_else(|| summary.and_then(|s| s.deployment.as_ref()))
            .map(|d| DeploymentProgress {
                kind: d.mode,
                arn: d.arn.clone(),
                status: d.status.raw_status.clone(),
                state: d.status.state,
                polls: d.status.attempt,
                hourly_cost_usd: d.hourly_cost_usd,
                removed: d.arn.as_deref().is_some_and(removed),
            });

        // Priced whatever the job's end: the catalogue's figure for what the run asked to train.
        let training_usd = job.as_ref().and_then(|_| {
            document
                .and_then(|d| d.run.data.estimated_cost_usd)
                .or_else(|| sources.validation.and_then(|r| r.estimated_cost_usd))
        });
        let config = document.map(|d| &d.run.config);
        let live_deployment = deployment.as_ref().filter(|d| !d.removed).and_then(|d| {
            d.arn.as_deref().map(|arn| cost::LiveDeployment {
                mode: d.kind,
                arn,
                hourly_cost_usd: d.hourly_cost_usd,
                base_model: config.map(|c| c.base_model.as_str()).or(summary.and_then(|s| s.base_model.as_deref())),
                model_units: config.map_or(1, |c| c.model_units),
                commitment: config.and_then(|c| c.commitment.as_deref()),
            })
        });
        let live_model = custom_model_arn.as_deref().filter(|arn| !removed(arn));
        let left_billing = cost::left_billing(live_model, live_deployment);
        let left_billing = match sources.live {
            Some(live) => cost::as_found(left_billing, live),
            None => left_billing,
        };
        let aws_cost_estimate = cost::estimate(facts.state_transitions, facts.task_requests, training_usd);
        let deployed = deployment.as_ref().and_then(|d| {
            let what = match d.kind {
                DeploymentMode::Provisioned => Billable::ProvisionedThroughput,
                DeploymentMode::OnDemand => Billable::OnDemandDeployment,
                DeploymentMode::None | DeploymentMode::Auto => return None,
            };
            Some((d.arn.as_deref(), what))
        });
        let known = [
            Some((job_arn.as_deref(), Billable::CustomizationJob)),
            Some((custom_model_arn.as_deref(), Billable::CustomModel)),
            deployed,
        ];
        let kind_of = |arn: &str| {
            known
                .iter()
                .flatten()
                .find(|(k, _)| *k == Some(arn))
                .map(|(_, what)| *what)
                .or_else(|| Billable::of_arn(arn))
        };
        let cleaned_up = summary
            .map(|s| {
                let deleted = s.deleted.iter().map(|arn| (arn, RemovalAction::Deleted));
                let stopped = s.stopped.iter().map(|arn| (arn, RemovalAction::Stopped));
                deleted
                    .chain(stopped)
                    .map(|(arn, action)| Removal { what: kind_of(arn), arn: arn.clone(), action })
                    .collect()
            })
            .unwrap_or_default();

        let artifacts = layout::artifacts(sources.run_id)
            .into_iter()
            .map(|(name, key)| (name.to_string(), (sources.locate)(&key)))
            .collect();
        let notifications = sources
            .notifications
            .unwrap_or_else(|| document.and_then(|d| d.teardown.as_ref()).map_or(0, |t| u64::from(t.notified)));
        let errors = errors(&facts, sources.validation);
        RunOutcome {
            run_id: sources.run_id.to_string(),
            status: facts.status,
            error: facts.error.clone(),
            cause: facts.cause.clone(),
            states: facts.states(),
            state_transitions: facts.state_transitions,
            job_arn,
            custom_model_arn,
            evaluation,
            artifacts: Artifacts(artifacts),
            notifications,
            aws_cost_estimate,
            emulated: sources.emulated,
            started_at_ms: facts.started_at_ms,
            ended_at_ms: facts.ended_at_ms,
            visits: facts.visits,
            job,
            deployment,
            virtual_clock: sources.virtual_clock,
            errors,
            warnings: sources.validation.map(|r| r.warnings.iter().map(Problem::from).collect()).unwrap_or_default(),
            notes: config.map(|c| c.notes()).unwrap_or_default(),
            left_billing,
            cleaned_up,
        }
    }
}

/// Why a run failed: an invalid dataset's errors from its report, otherwise the execution's error.
fn errors(facts: &ExecutionFacts, validation: Option<&Report>) -> Vec<Problem> {
    if matches!(facts.status, ExecutionStatus::Succeeded | ExecutionStatus::Running) {
        return Vec::new();
    }
    if facts.error.as_deref() == Some(PipelineError::DATASET_INVALID)
        && let Some(report) = validation.filter(|r| !r.errors.is_empty())
    {
        return report.errors.iter().map(Problem::from).collect();
    }
    vec![Problem {
        line: None,
        field: None,
        code: facts.error.clone().unwrap_or_else(|| facts.status.as_str().to_string()),
        message: facts.cause.clone().unwrap_or_default(),
    }]
}

fn job_progress(job: Option<&JobRef>, arn: Option<&str>) -> Option<JobProgress> {
    match job {
        Some(j) => Some(JobProgress {
            arn: j.job_arn.clone(),
            status: Some(j.status.raw_status.clone()),
            state: Some(j.status.state),
            polls: j.status.attempt,
        }),
        None => arn.map(|arn| JobProgress { arn: arn.to_string(), status: None, state: None, polls: 0 }),
    }
}

impl Serialize for Artifacts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, at) in &self.0 {
            map.serialize_entry(name, at)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Artifacts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Artifacts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of artifact names and locations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Artifacts, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Option<String>>()? {
                    entries.push(entry);
                }
                Ok(Artifacts(entries))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests;
