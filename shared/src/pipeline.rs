//! The documents the pipeline's steps pass to each other through the state machine, the S3 layout of a
//! run, run ids, the error names Step Functions retries or catches, and the polling backoff.
//!
//! The state machine (statemachine/pipeline.asl.json) only moves these documents around with JSONPath;
//! a contract test checks that every path it uses exists in their serialized form.

use crate::CustomizationType;
use crate::catalogue::{self, Customization, Model};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------------
// Errors: the `error_type` a Lambda reports, matched by the state machine's Retry and Catch.

/// Every failure a step can report. The names are the contract with the state machine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// AWS throttled us; retried with backoff.
    #[error("{0}")]
    Throttled(String),
    /// A 5xx, a timeout, a dropped connection; retried.
    #[error("{0}")]
    Transient(String),
    /// The dataset breaks Bedrock's rules; the cause names the first errors and the report.
    #[error("{0}")]
    DatasetInvalid(String),
    /// The effective configuration is wrong (model, type, hyperparameters, names, missing input).
    #[error("{0}")]
    ConfigInvalid(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    AccessDenied(String),
    /// The customization job, throughput or deployment ended Failed.
    #[error("{0}")]
    JobFailed(String),
    /// The model did not beat its base model by the configured margin.
    #[error("{0}")]
    GateFailed(String),
    /// A bug or an unexpected answer; not retried.
    #[error("{0}")]
    Internal(String),
}

impl PipelineError {
    pub const THROTTLED: &'static str = "Throttled";
    pub const TRANSIENT: &'static str = "TransientError";
    pub const DATASET_INVALID: &'static str = "DatasetInvalid";
    pub const CONFIG_INVALID: &'static str = "ConfigInvalid";
    pub const QUOTA_EXCEEDED: &'static str = "QuotaExceeded";
    pub const ACCESS_DENIED: &'static str = "AccessDenied";
    pub const JOB_FAILED: &'static str = "JobFailed";
    pub const GATE_FAILED: &'static str = "GateFailed";
    pub const INTERNAL: &'static str = "InternalError";

    /// Names the state machine retries.
    pub const RETRYABLE: [&'static str; 2] = [Self::THROTTLED, Self::TRANSIENT];
    /// Every name, retryable or terminal.
    pub const ALL: [&'static str; 9] = [
        Self::THROTTLED,
        Self::TRANSIENT,
        Self::DATASET_INVALID,
        Self::CONFIG_INVALID,
        Self::QUOTA_EXCEEDED,
        Self::ACCESS_DENIED,
        Self::JOB_FAILED,
        Self::GATE_FAILED,
        Self::INTERNAL,
    ];

    /// The `error_type` a Lambda reports (Step Functions' `Error`).
    pub fn error_type(&self) -> &'static str {
        match self {
            PipelineError::Throttled(_) => Self::THROTTLED,
            PipelineError::Transient(_) => Self::TRANSIENT,
            PipelineError::DatasetInvalid(_) => Self::DATASET_INVALID,
            PipelineError::ConfigInvalid(_) => Self::CONFIG_INVALID,
            PipelineError::QuotaExceeded(_) => Self::QUOTA_EXCEEDED,
            PipelineError::AccessDenied(_) => Self::ACCESS_DENIED,
            PipelineError::JobFailed(_) => Self::JOB_FAILED,
            PipelineError::GateFailed(_) => Self::GATE_FAILED,
            PipelineError::Internal(_) => Self::INTERNAL,
        }
    }

    pub fn is_retryable(&self) -> bool {
        Self::RETRYABLE.contains(&self.error_type())
    }
}

// ---------------------------------------------------------------------------------------------------
// S3 layout: users write under incoming/; the pipeline writes only under runs/<run-id>/.

pub mod layout {
    /// Uploads here start a run (the bucket notification's prefix).
    pub const INCOMING_PREFIX: &str = "incoming/";
    pub const DATASET_SUFFIX: &str = ".jsonl";
    /// Everything a run writes lives under this prefix, never beside the user's upload.
    pub const RUNS_PREFIX: &str = "runs/";
    /// A sidecar beside an upload, `incoming/x.jsonl` -> `incoming/x.pipeline.json`, overrides defaults.
    pub const SIDECAR_SUFFIX: &str = ".pipeline.json";

    pub fn run_prefix(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/")
    }
    pub fn train_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/train.jsonl")
    }
    pub fn validation_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/validation.jsonl")
    }
    pub fn report_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/validation-report.json")
    }
    /// Bedrock's outputDataConfig; the service role may write only here.
    pub fn output_prefix(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/output/")
    }
    pub fn evaluation_prefix(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/evaluation/")
    }
    pub fn evaluation_report_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/evaluation/report.json")
    }
    pub fn evaluation_markdown_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/evaluation/report.md")
    }
    pub fn predictions_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/evaluation/predictions.jsonl")
    }
    /// The run's final summary (also published to SNS).
    pub fn summary_key(run_id: &str) -> String {
        format!("{RUNS_PREFIX}{run_id}/summary.json")
    }

    /// Whether an uploaded key should start a run.
    pub fn is_dataset_upload(key: &str) -> bool {
        key.starts_with(INCOMING_PREFIX) && key.ends_with(DATASET_SUFFIX) && key.len() > INCOMING_PREFIX.len() + 6
    }

    /// `incoming/a/b.jsonl` -> `incoming/a/b.pipeline.json`.
    pub fn sidecar_key(dataset_key: &str) -> String {
        let stem = dataset_key.strip_suffix(DATASET_SUFFIX).unwrap_or(dataset_key);
        format!("{stem}{SIDECAR_SUFFIX}")
    }

    pub fn s3_uri(bucket: &str, key: &str) -> String {
        format!("s3://{bucket}/{key}")
    }

    /// `s3://bucket/key` -> (bucket, key). The key may be empty (a bucket or prefix URI).
    pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then_some((bucket, key))
    }
}

// ---------------------------------------------------------------------------------------------------
// Configuration.

/// How the tuned model is made callable for evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentMode {
    /// Train only; no evaluation against the base model.
    None,
    /// CreateCustomModelDeployment (pay per token), where the model supports it.
    #[default]
    OnDemand,
    /// CreateProvisionedModelThroughput, billed by the hour; no commitment unless configured.
    Provisioned,
}

/// The evaluation metric the quality gate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    ExactMatch,
    #[default]
    TokenF1,
    RougeL,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Validation records scored (the first N of the split).
    pub sample_size: u32,
    /// Requests in flight at once per model.
    pub concurrency: u32,
    pub primary_metric: Metric,
    /// Custom must beat base by at least this much on the primary metric (absolute, 0..1).
    pub min_improvement: f64,
    /// Keep the deployment when the gate fails (it is torn down otherwise).
    pub keep_on_gate_failure: bool,
    pub max_tokens: u32,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            sample_size: 100,
            concurrency: 4,
            primary_metric: Metric::TokenF1,
            min_improvement: 0.0,
            keep_on_gate_failure: false,
            max_tokens: 512,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcConfig {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// The effective configuration of a run: deployment defaults, overridden by a sidecar beside the
/// upload, overridden by the execution input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Base model id, e.g. `amazon.nova-micro-v1:0:128k`.
    pub base_model: String,
    pub customization_type: CustomizationType,
    /// Bedrock's string form, e.g. `{"epochCount": "2"}`.
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, String>,
    pub validation_ratio: f64,
    pub seed: u64,
    pub deployment: DeploymentMode,
    /// `OneMonth` or `SixMonths`: only when set explicitly; no commitment otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    pub model_units: u32,
    #[serde(default)]
    pub evaluation: EvaluationConfig,
    /// The Bedrock service role the job runs as.
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<VpcConfig>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            base_model: "amazon.nova-micro-v1:0:128k".to_string(),
            customization_type: CustomizationType::FineTuning,
            hyperparameters: BTreeMap::new(),
            validation_ratio: 0.1,
            seed: 42,
            deployment: DeploymentMode::OnDemand,
            commitment: None,
            model_units: 1,
            evaluation: EvaluationConfig::default(),
            role_arn: String::new(),
            kms_key_id: None,
            vpc: None,
            tags: BTreeMap::new(),
        }
    }
}

impl PipelineConfig {
    /// Applies overrides (a sidecar's or an execution input's `config` object) on top of this
    /// configuration: a field present in `overrides` replaces this one; objects merge key by key.
    pub fn merged(&self, overrides: &serde_json::Value) -> Result<PipelineConfig, PipelineError> {
        let mut base = serde_json::to_value(self).map_err(|e| PipelineError::Internal(e.to_string()))?;
        if !overrides.is_null() && !overrides.is_object() {
            return Err(PipelineError::ConfigInvalid("`config` must be a JSON object".to_string()));
        }
        merge_json(&mut base, overrides);
        serde_json::from_value(base).map_err(|e| PipelineError::ConfigInvalid(format!("invalid config: {e}")))
    }
}

impl PipelineConfig {
    /// Checks the effective configuration against the catalogue before anything is spent: the model
    /// is known and supports the customization type, hyperparameters are known and in range, the
    /// deployment mode is offered for the model, a commitment is `OneMonth` or `SixMonths`, the role
    /// is an IAM role ARN. Every problem is listed in one `ConfigInvalid`.
    pub fn check(&self) -> Result<(&'static Model, &'static Customization), PipelineError> {
        let mut problems: Vec<String> = Vec::new();
        let model = catalogue::find(&self.base_model);
        let customization = match model {
            None => {
                let hint = catalogue::suggestions(&self.base_model);
                problems.push(if hint.is_empty() {
                    format!("unknown base_model `{}`", self.base_model)
                } else {
                    format!("unknown base_model `{}`; did you mean {}?", self.base_model, hint.join(" or "))
                });
                None
            }
            Some(m) => match m.customization(self.customization_type) {
                None => {
                    let supported: Vec<_> = m.supported_types().map(|t| t.as_str()).collect();
                    problems.push(format!(
                        "{} does not support {}; it supports: {}",
                        m.id,
                        self.customization_type,
                        supported.join(", ")
                    ));
                    None
                }
                Some(c) => {
                    let given = self.hyperparameters.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                    problems.extend(c.check_hyperparameters(m, given).iter().map(ToString::to_string));
                    Some(c)
                }
            },
        };
        if let Some(m) = model
            && self.deployment == DeploymentMode::OnDemand
            && !m.on_demand_deployment
        {
            problems.push(format!(
                "deployment `on-demand` is not offered for custom models of {}; use `provisioned` or `none`",
                m.id
            ));
        }
        if let Some(c) = &self.commitment
            && !matches!(c.as_str(), "OneMonth" | "SixMonths")
        {
            problems.push(format!("commitment `{c}` must be OneMonth or SixMonths (or absent: no commitment)"));
        }
        if self.commitment.is_some() && self.deployment != DeploymentMode::Provisioned {
            problems.push("commitment applies only to deployment `provisioned`".to_string());
        }
        if self.deployment == DeploymentMode::Provisioned && self.model_units == 0 {
            problems.push("model_units must be at least 1 for deployment `provisioned`".to_string());
        }
        if !(self.validation_ratio.is_finite() && (0.0..1.0).contains(&self.validation_ratio)) {
            problems.push(format!("validation_ratio {} must be at least 0 and below 1", self.validation_ratio));
        }
        if !is_role_arn(&self.role_arn) {
            problems.push(if self.role_arn.is_empty() {
                "role_arn is not set (the Bedrock service role, arn:aws:iam::<account>:role/<name>)".to_string()
            } else {
                format!("role_arn `{}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", self.role_arn)
            });
        }
        if let Some(vpc) = &self.vpc
            && (!(1..=16).contains(&vpc.subnet_ids.len()) || !(1..=5).contains(&vpc.security_group_ids.len()))
        {
            problems.push("vpc needs 1–16 subnet_ids and 1–5 security_group_ids".to_string());
        }
        match (model, customization) {
            (Some(m), Some(c)) if problems.is_empty() => Ok((m, c)),
            _ => Err(PipelineError::ConfigInvalid(format!("invalid configuration: {}", problems.join("; ")))),
        }
    }
}

/// `arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+` (Bedrock's roleArn pattern).
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws") else { return false };
    let Some((partition_tail, rest)) = rest.split_once(":iam::") else { return false };
    let partition_ok = partition_tail.is_empty()
        || partition_tail.strip_prefix('-').is_some_and(|p| !p.is_empty() && !p.contains(':'));
    let Some((account, role)) = rest.split_once(":role/") else { return false };
    let account_ok = account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    partition_ok && account_ok && !role.is_empty() && arn.len() <= 2048
}

fn merge_json(base: &mut serde_json::Value, overrides: &serde_json::Value) {
    match (base, overrides) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) if !v.is_null() => *slot = v.clone(),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------
// Documents.

/// Where a dataset came from: what makes a run id unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSource {
    pub bucket: String,
    pub key: String,
    /// The object's ETag (or version id): a re-upload with new content is a new run.
    pub etag: String,
}

/// The run id: `<dataset name>-<hash of (dataset identity, effective config)>`, at most 48 characters
/// of `[a-z0-9-]`, usable as an execution name and inside job and model names.
pub fn run_id(source: &DatasetSource, config: &PipelineConfig) -> String {
    let config_json = serde_json::to_string(config).unwrap_or_default();
    let identity = format!("{}\n{}\n{}\n{}", source.bucket, source.key, source.etag, config_json);
    let hash = xxhash_rust::xxh3::xxh3_128(identity.as_bytes());
    let stem = source.key.rsplit('/').next().unwrap_or("").trim_end_matches(layout::DATASET_SUFFIX);
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(27);
    let name = name.trim_end_matches('-');
    let hex = format!("{:020x}", hash >> 48);
    if name.is_empty() { format!("run-{hex}") } else { format!("{name}-{hex}") }
}

/// Names derived from the run id, so a retried step finds what an earlier attempt created.
pub mod names {
    /// Bedrock names allow 63 characters; run ids are at most 48.
    pub fn job_name(run_id: &str) -> String {
        format!("ft-{run_id}")
    }
    /// `([0-9a-zA-Z][_-]?){1,63}`: run ids have no doubled hyphens.
    pub fn custom_model_name(run_id: &str) -> String {
        format!("model-{run_id}")
    }
    pub fn throughput_name(run_id: &str) -> String {
        format!("pt-{run_id}")
    }
    pub fn deployment_name(run_id: &str) -> String {
        format!("dep-{run_id}")
    }
    /// clientRequestToken for a create call: `[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?`.
    pub fn client_token(run_id: &str, purpose: &str) -> String {
        format!("{run_id}-{purpose}")
    }
}

/// The execution input from the console or the schedule (validate-split's second entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// `s3://bucket/key.jsonl`, or a prefix `s3://bucket/incoming/team/` (its newest .jsonl is used).
    pub dataset: String,
    #[serde(default)]
    pub config: serde_json::Value,
}

/// The prepared run: validate-split's output and the state machine's document from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedRun {
    pub run_id: String,
    /// Always true: the first Choice state tests it to skip ValidateSplit.
    pub prepared: bool,
    pub source: DatasetSource,
    pub config: PipelineConfig,
    pub data: PreparedData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedData {
    pub bucket: String,
    pub train_uri: String,
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
    /// The quality gate's verdict.
    pub passed: bool,
    pub report_uri: String,
    pub markdown_uri: String,
    pub predictions_uri: String,
    /// True when the answers came from the local emulator's stand-in models.
    pub emulated: bool,
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
    /// Per class precision/recall/F1 when completions are labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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

// ---------------------------------------------------------------------------------------------------
// Polling: a backoff that grows with elapsed time, so a long job costs few state transitions.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait, before any poll.
    pub initial_seconds: u64,
    /// Later waits are this share of the time elapsed so far...
    pub ratio: f64,
    /// ...at least this...
    pub min_seconds: u64,
    /// ...and at most this.
    pub max_seconds: u64,
    /// Polls before the loop gives up.
    pub max_attempts: u32,
}

impl Backoff {
    /// Customization jobs take tens of minutes to days; the first minutes are data validation.
    /// 5 min first, then half the elapsed time, capped at 20 min; 300 polls cover 4 days.
    pub const JOB: Backoff =
        Backoff { initial_seconds: 300, ratio: 0.5, min_seconds: 60, max_seconds: 1200, max_attempts: 300 };
    /// Throughput and deployments take minutes to about an hour.
    pub const DEPLOYMENT: Backoff =
        Backoff { initial_seconds: 60, ratio: 0.5, min_seconds: 30, max_seconds: 300, max_attempts: 60 };

    /// The wait after a poll made `elapsed_seconds` after the start.
    pub fn next_wait(&self, elapsed_seconds: u64) -> u64 {
        let grown = (elapsed_seconds as f64 * self.ratio).round() as u64;
        grown.clamp(self.min_seconds, self.max_seconds)
    }

    /// Polls (check-status calls) until a job of `duration_seconds` is seen finished.
    pub fn polls_for(&self, duration_seconds: u64) -> u32 {
        let mut elapsed = self.initial_seconds;
        let mut polls = 1;
        while elapsed < duration_seconds {
            elapsed += self.next_wait(elapsed);
            polls += 1;
        }
        polls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_unique_and_only_throttled_and_transient_retry() {
        let mut names = PipelineError::ALL.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PipelineError::ALL.len());
        assert!(PipelineError::Throttled("x".into()).is_retryable());
        assert!(PipelineError::Transient("x".into()).is_retryable());
        assert!(!PipelineError::JobFailed("x".into()).is_retryable());
        assert_eq!(PipelineError::DatasetInvalid("x".into()).error_type(), "DatasetInvalid");
    }

    #[test]
    fn layout_keeps_run_output_under_runs_and_recognises_uploads() {
        assert!(layout::is_dataset_upload("incoming/team/data.jsonl"));
        assert!(!layout::is_dataset_upload("runs/x/train.jsonl"));
        assert!(!layout::is_dataset_upload("incoming/data.json"));
        assert_eq!(layout::sidecar_key("incoming/a/b.jsonl"), "incoming/a/b.pipeline.json");
        assert_eq!(layout::parse_s3_uri("s3://bkt/a/b.jsonl"), Some(("bkt", "a/b.jsonl")));
        assert_eq!(layout::parse_s3_uri("s3://bkt"), Some(("bkt", "")));
        assert_eq!(layout::parse_s3_uri("https://x"), None);
        for key in [layout::train_key("r"), layout::output_prefix("r"), layout::predictions_key("r")] {
            assert!(key.starts_with("runs/r/"));
        }
    }

    #[test]
    fn run_ids_are_stable_short_and_change_with_content_or_config() {
        let source =
            DatasetSource { bucket: "b".into(), key: "incoming/Support Tickets!.jsonl".into(), etag: "e1".into() };
        let config = PipelineConfig::default();
        let id = run_id(&source, &config);
        assert_eq!(id, run_id(&source, &config));
        assert!(id.starts_with("support-tickets-"), "{id}");
        assert!(id.len() <= 48 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!id.contains("--"));
        let other = DatasetSource { etag: "e2".into(), ..source.clone() };
        assert_ne!(id, run_id(&other, &config));
        let tuned = PipelineConfig { seed: 7, ..config };
        assert_ne!(id, run_id(&source, &tuned));
        assert!(names::job_name(&id).len() <= 63);
    }

    #[test]
    fn config_overrides_merge_field_by_field_and_reject_unknown_fields() {
        let base = PipelineConfig::default();
        let merged = base
            .merged(&serde_json::json!({"base_model": "meta.llama3-1-8b-instruct-v1:0:128k", "evaluation": {"sample_size": 5}}))
            .unwrap();
        assert_eq!(merged.base_model, "meta.llama3-1-8b-instruct-v1:0:128k");
        assert_eq!(merged.evaluation.sample_size, 5);
        assert_eq!(merged.evaluation.concurrency, base.evaluation.concurrency);
        assert!(matches!(base.merged(&serde_json::json!({"modle": "x"})), Err(PipelineError::ConfigInvalid(_))));
        assert!(matches!(base.merged(&serde_json::json!([1])), Err(PipelineError::ConfigInvalid(_))));
        assert_eq!(base.merged(&serde_json::Value::Null).unwrap(), base);
    }

    fn valid_config() -> PipelineConfig {
        PipelineConfig { role_arn: "arn:aws:iam::123456789012:role/bedrock-ft".into(), ..PipelineConfig::default() }
    }

    #[test]
    fn check_accepts_a_sound_config_and_returns_its_catalogue_entries() {
        let (model, customization) = valid_config().check().unwrap();
        assert_eq!(model.id, "amazon.nova-micro-v1:0:128k");
        assert_eq!(customization.kind, CustomizationType::FineTuning);
        let gov = PipelineConfig { role_arn: "arn:aws-us-gov:iam::123456789012:role/x".into(), ..valid_config() };
        assert!(gov.check().is_ok());
        let tuned = PipelineConfig {
            hyperparameters: [("epochCount".to_string(), "3".to_string())].into(),
            deployment: DeploymentMode::Provisioned,
            commitment: Some("OneMonth".into()),
            ..valid_config()
        };
        assert!(tuned.check().is_ok());
    }

    #[test]
    fn check_lists_every_problem_in_one_config_error() {
        let bad = PipelineConfig {
            hyperparameters: [("epochCount".to_string(), "99".to_string()), ("warp".to_string(), "1".to_string())]
                .into(),
            commitment: Some("ThreeYears".into()),
            validation_ratio: 1.0,
            role_arn: "arn:aws:iam::12:user/me".into(),
            ..PipelineConfig::default()
        };
        let Err(PipelineError::ConfigInvalid(msg)) = bad.check() else { panic!("expected ConfigInvalid") };
        for needle in
            ["epochCount", "warp", "ThreeYears", "only to deployment `provisioned`", "validation_ratio", "role_arn"]
        {
            assert!(msg.contains(needle), "{needle} missing from {msg}");
        }
    }

    #[test]
    fn check_rejects_unknown_models_unsupported_types_and_unoffered_on_demand() {
        let unknown = PipelineConfig { base_model: "amazon.nova-mega-v9".into(), ..valid_config() };
        assert!(matches!(unknown.check(), Err(PipelineError::ConfigInvalid(m)) if m.contains("unknown base_model")));
        let unsupported = catalogue::all()
            .iter()
            .find_map(|m| {
                CustomizationType::ALL.into_iter().find(|t| m.customization(*t).is_none()).map(|t| PipelineConfig {
                    base_model: m.id.into(),
                    customization_type: t,
                    ..valid_config()
                })
            })
            .expect("some model lacks some type");
        assert!(matches!(unsupported.check(), Err(PipelineError::ConfigInvalid(m)) if m.contains("does not support")));
        if let Some(m) = catalogue::all().iter().find(|m| !m.on_demand_deployment && !m.customizations.is_empty()) {
            let kind = m.customizations[0].kind;
            let c = PipelineConfig { base_model: m.id.into(), customization_type: kind, ..valid_config() };
            assert!(matches!(c.check(), Err(PipelineError::ConfigInvalid(msg)) if msg.contains("on-demand")));
            let provisioned = PipelineConfig { deployment: DeploymentMode::Provisioned, ..c };
            assert!(provisioned.check().is_ok());
        }
    }

    #[test]
    fn role_arns_follow_bedrocks_pattern() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/a/b"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/x"));
        for bad in ["", "arn:aws:iam::123456789012:role/", "arn:aws:iam::1234:role/x", "arn:aws:s3:::b", "role/x"] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn a_two_hour_job_costs_few_polls() {
        let polls = Backoff::JOB.polls_for(2 * 3600);
        // Each poll is three transitions (Wait, CheckStatus, Choice).
        assert!(polls * 3 <= 60, "{polls} polls");
        assert_eq!(Backoff::JOB.next_wait(0), 60);
        assert_eq!(Backoff::JOB.next_wait(100_000), 1200);
    }
}
