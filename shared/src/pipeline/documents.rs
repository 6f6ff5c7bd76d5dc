//! The documents the pipeline's steps pass to each other through the state machine: the execution
//! input, the prepared run, each step's output, and the state document they build up.

use super::{DatasetSource, DeploymentMode, Metric, PipelineConfig};
use serde::{Deserialize, Serialize};

/// The execution input of every run: from the S3 upload entry, the console or the schedule. Nothing
/// else is accepted: a prepared run, a job or a deployment in the input is refused, never trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// `s3://bucket/key.jsonl`, or a prefix `s3://bucket/incoming/team/` (its newest .jsonl is used).
    pub dataset: String,
    #[serde(default)]
    pub config: serde_json::Value,
    /// The schedule sets it: when the newest dataset and the effective config are those of the last
    /// successful run of that folder (the same fingerprint), nothing is started and the execution says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_unchanged: bool,
}

/// The last successful run of a folder's datasets (`layout::last_success_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSuccess {
    /// That run's id (its execution's).
    pub run_id: String,
    /// [`fingerprint`](super::fingerprint) of its dataset (bucket, key, ETag) and effective config; a
    /// record without one (written before it existed) matches nothing.
    #[serde(default)]
    pub fingerprint: String,
    pub dataset: String,
    pub finished_at: String,
}

/// validate-split's answer to a StartRequest with `skip_unchanged` whose data and config have not
/// changed since the last successful run: the execution ends here, with this as its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnchangedRun {
    pub unchanged: Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchanged {
    /// This execution's run id (nothing was started under it).
    pub run_id: String,
    pub dataset: String,
    pub last_success: LastSuccess,
    /// For a person: what was compared and why nothing started.
    pub message: String,
}

impl StartRequest {
    /// The only fields an execution input may have.
    pub const FIELDS: [&'static str; 3] = ["dataset", "config", "skip_unchanged"];
}

/// ValidateSplit's task input, made by the state machine: the execution input as the caller gave it
/// (checked to be a [`StartRequest`]), and the execution's name from the context object, which the
/// run id derives from (`run_id_for_execution`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateRequest {
    pub input: serde_json::Value,
    pub execution_name: String,
}

/// The prepared run: validate-split's output and the state machine's document from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedRun {
    pub run_id: String,
    /// Always true: made by ValidateSplit (an execution input saying so is refused).
    pub prepared: bool,
    pub source: DatasetSource,
    pub config: PipelineConfig,
    pub data: PreparedData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedData {
    pub bucket: String,
    /// The training data Bedrock reads: the split's train file, or, with `training_source:
    /// invocation_logs`, the operator's log location (`s3://bucket/prefix/`).
    pub train_uri: String,
    /// `invocation_logs`: `train_uri` is a log location for `trainingDataConfig.invocationLogsConfig`.
    #[serde(default, skip_serializing_if = "super::TrainingSource::is_dataset")]
    pub training_source: super::TrainingSource,
    /// Absent when the split held nothing out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_uri: Option<String>,
    pub report_uri: String,
    pub train_records: u64,
    pub validation_records: u64,
    pub training_tokens: u64,
    pub estimated_cost_usd: Option<f64>,
    pub valid: bool,
    /// The first errors with their lines, when invalid.
    #[serde(default)]
    pub first_errors: Vec<String>,
    /// When invalid: the execution's failure cause (first errors and the report's URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Normalized status of anything the pipeline polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PollState {
    /// Still going: wait and poll again.
    InProgress,
    /// Job Completed, throughput InService, deployment Active.
    Ready,
    Failed,
    /// Stopping or Stopped: someone stopped it.
    Stopped,
}

/// What the poll loops test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollStatus {
    pub state: PollState,
    /// Bedrock's own status string, e.g. `InProgress`, `InService`.
    pub raw_status: String,
    pub attempt: u32,
    /// Seconds to wait before the next poll (the backoff).
    pub next_wait_seconds: u64,
    pub elapsed_seconds: u64,
    /// True when `attempt` reached the loop's bound: the Choice gives up.
    pub exhausted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

impl PollStatus {
    /// The status of something just created or requested: not polled yet, first wait given.
    pub fn fresh(state: PollState, raw_status: &str, next_wait_seconds: u64) -> PollStatus {
        PollStatus {
            state,
            raw_status: raw_status.to_string(),
            attempt: 0,
            next_wait_seconds,
            elapsed_seconds: 0,
            exhausted: false,
            failure_message: None,
        }
    }
}

/// start-job's output, at `$.job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRef {
    pub job_arn: String,
    pub job_name: String,
    pub custom_model_name: String,
    /// RFC 3339.
    pub started_at: String,
    pub output_uri: String,
    pub status: PollStatus,
    /// Set by check-status once the job completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_model_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_loss: Option<f64>,
    /// The job's estimated duration from its creation (`catalogue::throughput`): the poll loop's first
    /// wait and ladder come from it (`Backoff::for_job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_seconds: Option<u64>,
}

/// check-status's input: the reference to refresh. It returns the same reference, updated (status,
/// attempt, next wait; for a completed job the custom model ARN and losses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "kebab-case")]
pub enum CheckStatusRequest {
    Job { job: JobRef },
    Deployment { deployment: DeploymentRef },
}

/// check-status's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CheckStatusResponse {
    Job(JobRef),
    Deployment(DeploymentRef),
}

/// provision's output, at `$.deployment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRef {
    pub mode: DeploymentMode,
    /// The provisioned-model or custom-model-deployment ARN; absent for mode `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The ARN to call through Converse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_arn: Option<String>,
    pub started_at: String,
    pub status: PollStatus,
    /// What it costs while it exists, for the summary (USD per hour, when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly_cost_usd: Option<f64>,
}

/// evaluate's output, at `$.evaluation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationResult {
    pub samples: u32,
    pub primary_metric: Metric,
    pub base: ModelScores,
    pub custom: ModelScores,
    /// custom − base on the primary metric.
    pub improvement: f64,
    pub min_improvement: f64,
    /// The quality gate's verdict: true only when `verdict` is PASSED.
    pub passed: bool,
    /// PASSED, FAILED, or INCONCLUSIVE when too few samples were answered by both models to judge.
    #[serde(default)]
    pub verdict: GateVerdict,
    /// Share of the samples both models answered; the scores and the gate use only those.
    #[serde(default = "full_coverage")]
    pub coverage: f64,
    /// The coverage the gate needs (`shared::metrics::MIN_GATE_COVERAGE`).
    #[serde(default)]
    pub min_coverage: f64,
    pub report_uri: String,
    pub markdown_uri: String,
    pub predictions_uri: String,
    /// True when the answers came from the local emulator's stand-in models.
    pub emulated: bool,
}

fn full_coverage() -> f64 {
    1.0
}

/// The quality gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GateVerdict {
    Passed,
    #[default]
    Failed,
    /// Too few samples answered by both models (throttling, errors, the deadline): neither passed nor
    /// failed. The run ends as a failed gate does (GateInconclusive), deployment kept only if
    /// keep_on_gate_failure says so.
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScores {
    pub model_id: String,
    pub exact_match: f64,
    pub token_f1: f64,
    pub rouge_l: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub errors: u32,
    /// Per class precision/recall/F1 when completions are labels (empty otherwise).
    #[serde(default)]
    pub per_class: Vec<ClassScores>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u32,
}

/// teardown's input: the whole state document, and how the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Succeeded,
    Failed,
}

/// teardown's output, at `$.teardown`: what was deleted or stopped, and the summary published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeardownResult {
    pub outcome: Outcome,
    pub deleted: Vec<String>,
    pub stopped: Vec<String>,
    /// Resources kept on purpose (a successful run's deployment, or keep_on_gate_failure).
    pub kept: Vec<String>,
    pub summary_uri: String,
    pub notified: bool,
    /// What could not be deleted yet, and the wait loop around Finalize.
    #[serde(default)]
    pub progress: TeardownProgress,
}

/// Teardown's wait loop: a provisioned throughput still `Creating` answers a delete with
/// ConflictException; Finalize then waits (`WaitForTeardown`) and runs again, a bounded number of
/// times (`Backoff::TEARDOWN`). Each pass carries what earlier passes deleted and stopped, so the one
/// summary, written when nothing is pending any more, lists everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TeardownProgress {
    /// Deletions to try again after `next_wait_seconds`; empty when teardown is done.
    #[serde(default)]
    pub pending: Vec<String>,
    /// Passes that found something pending so far.
    #[serde(default)]
    pub attempt: u32,
    #[serde(default)]
    pub next_wait_seconds: u64,
    #[serde(default)]
    pub elapsed_seconds: u64,
    /// Set when the loop gave up with something still billing (the summary lists it under
    /// `failures`; the reaper deletes it once it can): the execution fails with TeardownFailed and this
    /// as its cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// The error Step Functions puts at a Catch's ResultPath.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

/// The state document after each step, as the state machine builds it. Fields appear as the run
/// advances; teardown reads whatever is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDocument {
    #[serde(flatten)]
    pub run: PreparedRun,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<EvaluationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
    /// Set by the state machine before teardown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<TeardownResult>,
}

/// Finalize's task input, made by the state machine: the state document as it stands, and the
/// execution's ARN from the context object (`$$.Execution.Id`), whose history teardown reads for the
/// run's timeline in `report.html`. The ARN is input like any other: teardown reads the history only
/// of an execution of its own stack's state machine (`aws::is_execution_of`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalizeRequest {
    pub document: RunDocument,
    /// Absent from a hand-made invocation: the page's timeline is then approximate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}
