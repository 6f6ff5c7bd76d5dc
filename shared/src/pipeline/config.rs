//! The effective configuration of a run (deployment defaults, a sidecar, the execution input) and its
//! check against the catalogue before anything is spent.

use super::PipelineError;
use crate::CustomizationType;
use crate::catalogue::{self, Customization, HyperParameterError, Model};
use crate::presets::Preset;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How the tuned model is made callable for evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentMode {
    /// Not chosen: the model's own default (see [`PipelineConfig::default_deployment`]). The effective
    /// configuration a run carries never holds it: [`PipelineConfig::settle`] replaces it.
    #[default]
    Auto,
    /// Train only; no evaluation against the base model.
    None,
    /// CreateCustomModelDeployment (pay per token), where the model supports it.
    OnDemand,
    /// CreateProvisionedModelThroughput, billed by the hour; no commitment unless configured.
    Provisioned,
}

impl DeploymentMode {
    pub const ALL: [DeploymentMode; 4] =
        [DeploymentMode::Auto, DeploymentMode::None, DeploymentMode::OnDemand, DeploymentMode::Provisioned];

    /// The config's spelling, e.g. `on-demand`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentMode::Auto => "auto",
            DeploymentMode::None => "none",
            DeploymentMode::OnDemand => "on-demand",
            DeploymentMode::Provisioned => "provisioned",
        }
    }
}

impl fmt::Display for DeploymentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeploymentMode {
    type Err = String;

    /// The config's spelling, in any case, with `_` for `-` too (`on_demand`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normal = s.trim().to_ascii_lowercase().replace('_', "-");
        DeploymentMode::ALL.into_iter().find(|m| m.as_str() == normal).ok_or_else(|| {
            let names: Vec<&str> = DeploymentMode::ALL.iter().map(|m| m.as_str()).collect();
            format!("unknown deployment `{s}`; use one of {}", names.join(", "))
        })
    }
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

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::ExactMatch, Metric::TokenF1, Metric::RougeL];

    /// The config's spelling, e.g. `token_f1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ExactMatch => "exact_match",
            Metric::TokenF1 => "token_f1",
            Metric::RougeL => "rouge_l",
        }
    }

    /// For a person, e.g. `token F1`.
    pub fn label(self) -> &'static str {
        match self {
            Metric::ExactMatch => "exact match",
            Metric::TokenF1 => "token F1",
            Metric::RougeL => "ROUGE-L",
        }
    }
}

/// The longest answer an evaluation asks for: the metrics compare against reference completions, so a
/// longer one only costs tokens and time (and Bedrock's models stop well before `i32::MAX`).
pub const MAX_EVALUATION_TOKENS: u32 = 8192;

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

/// Where a DISTILLATION job's training prompts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrainingSource {
    /// The uploaded dataset, validated and split (every customization type).
    #[default]
    Dataset,
    /// The account's model invocation logs under the operator's location (template parameters
    /// InvocationLogsBucket and InvocationLogsPrefix); the uploaded file is then the run's evaluation set.
    InvocationLogs,
}

impl TrainingSource {
    pub fn is_dataset(&self) -> bool {
        *self == TrainingSource::Dataset
    }
}

/// How a run reads the invocation logs: only what narrows the operator's location, never another one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvocationLogsOptions {
    /// Train on the logged answers (Bedrock's `usePromptResponse`); false (Bedrock's default): the
    /// teacher answers every prompt again.
    #[serde(default)]
    pub use_prompt_response: bool,
    /// Bedrock's `requestMetadataFilters` union, in its own camelCase (`equals`, `notEquals`, `andAll`,
    /// `orAll`); unset: every logged prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_metadata_filters: Option<crate::invocation_logs::RequestMetadataFilters>,
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
    /// `conservative`, `moderate` or `aggressive` (`shared::presets`): the hyperparameters it maps to for
    /// the model, overridden key by key by `hyperparameters`. Unset with no hyperparameters: moderate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
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
    /// DISTILLATION: the teacher model id (or inference-profile ARN); unset: the catalogue's default
    /// teacher for the student (`catalogue::distillation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher_model: Option<String>,
    /// DISTILLATION: the teacher's `maxResponseLengthForInference`, in tokens; unset: Bedrock's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher_max_response_tokens: Option<u32>,
    /// The validation file to use instead of a split: a key in the dataset's bucket, or `s3://` URI.
    /// Unset: `<name>.validation.jsonl` beside the dataset when it exists, else the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_file: Option<String>,
    /// Prepended to the customization job's name (`<prefix>-<run id>`; default `ft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name_prefix: Option<String>,
    /// Prepended to the custom model's name (`<prefix>-<run id>`; default `model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name_prefix: Option<String>,
    /// REINFORCEMENT_FINE_TUNING: how the stack's grader scores this run's responses (`exact`,
    /// `numeric`, `rubric`; see [`crate::grader`]). It travels in the prepared records; the operator's
    /// `GraderSpec` parameter is the default and the template decides which function runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader: Option<crate::grader::GraderSpec>,
    /// DISTILLATION: `dataset` (the default) or `invocation_logs` (Bedrock reads the operator's
    /// invocation logs; the uploaded file is held out whole as the evaluation set).
    #[serde(default, skip_serializing_if = "TrainingSource::is_dataset")]
    pub training_source: TrainingSource,
    /// With `training_source: invocation_logs`: which logged prompts, and whether their answers train.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_logs: Option<InvocationLogsOptions>,
    /// Operator only (InvocationLogsBucket and InvocationLogsPrefix, through `INVOCATION_LOGS_S3_URI`):
    /// where invocation logs may be read, `s3://bucket/prefix/`. Unset: the source is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_logs_s3_uri: Option<String>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            base_model: "amazon.nova-micro-v1:0:128k".to_string(),
            customization_type: CustomizationType::FineTuning,
            preset: None,
            hyperparameters: BTreeMap::new(),
            validation_ratio: 0.1,
            seed: 42,
            deployment: DeploymentMode::Auto,
            commitment: None,
            model_units: 1,
            evaluation: EvaluationConfig::default(),
            role_arn: String::new(),
            kms_key_id: None,
            vpc: None,
            tags: BTreeMap::new(),
            teacher_model: None,
            teacher_max_response_tokens: None,
            validation_file: None,
            job_name_prefix: None,
            model_name_prefix: None,
            grader: None,
            training_source: TrainingSource::Dataset,
            invocation_logs: None,
            invocation_logs_s3_uri: None,
        }
    }
}

/// One problem with a configuration: where it is (a field path such as `hyperparameters.epochCount`,
/// or `config` for the whole object) and what is wrong, with the value and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub field: String,
    pub message: String,
}

impl ConfigProblem {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
        ConfigProblem { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem of a configuration, in one error a state machine can carry.
pub fn config_invalid(problems: &[ConfigProblem]) -> PipelineError {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    PipelineError::ConfigInvalid(format!("invalid configuration: {}", list.join("; ")))
}

impl PipelineConfig {
    /// Applies overrides (a sidecar's or an execution input's `config` object) on top of this
    /// configuration: a field present in `overrides` replaces this one; objects merge key by key.
    pub fn merged(&self, overrides: &Value) -> Result<PipelineConfig, PipelineError> {
        self.merge(overrides).map_err(|problem| config_invalid(&[problem]))
    }

    /// [`merged`](Self::merged), with the problem that stops it: the field path, the value, and
    /// what to write instead.
    pub fn merge(&self, overrides: &Value) -> Result<PipelineConfig, ConfigProblem> {
        let mut base = serde_json::to_value(self).map_err(|e| ConfigProblem::new("config", e.to_string()))?;
        if !overrides.is_null() && !overrides.is_object() {
            return Err(ConfigProblem::new(
                "config",
                format!(
                    "must be a JSON object of pipeline config fields, e.g. {{\"deployment\": \"none\"}}, not {overrides}"
                ),
            ));
        }
        merge_json(&mut base, overrides);
        serde_path_to_error::deserialize(base).map_err(|e| {
            let path: Vec<&str> = e
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Map { key } => Some(key.as_str()),
                    _ => None,
                })
                .collect();
            serde_problem(&path, overrides, &e.inner().to_string())
        })
    }
}

impl PipelineConfig {
    /// Every problem of `overrides` on top of this configuration, in one list: each field serde
    /// refuses (a wrong type, an unknown name, an unknown value) and every check of
    /// [`problems`](Self::problems) on the rest. A refused field is set aside (back to this
    /// configuration's value, or dropped) so that the fields after it are still checked.
    pub fn merge_checked(&self, overrides: &Value) -> Result<PipelineConfig, Vec<ConfigProblem>> {
        let defaults = serde_json::to_value(self).map_err(|e| vec![ConfigProblem::new("config", e.to_string())])?;
        if !overrides.is_null() && !overrides.is_object() {
            return Err(vec![
                self.merge(overrides).err().unwrap_or_else(|| ConfigProblem::new("config", "not an object")),
            ]);
        }
        let mut merged = defaults.clone();
        merge_json(&mut merged, overrides);
        let mut problems = Vec::new();
        // Each round sets one refused field aside; a config has far fewer fields than this.
        for _ in 0..64 {
            match serde_path_to_error::deserialize::<_, PipelineConfig>(merged.clone()) {
                Ok(config) => {
                    problems.extend(config.problems().1);
                    return if problems.is_empty() { Ok(config) } else { Err(problems) };
                }
                Err(e) => {
                    let path: Vec<String> = e
                        .path()
                        .iter()
                        .filter_map(|segment| match segment {
                            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                            _ => None,
                        })
                        .collect();
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    problems.push(serde_problem(&path, overrides, &e.inner().to_string()));
                    if !set_aside(&mut merged, &defaults, &path) {
                        return Err(problems);
                    }
                }
            }
        }
        Err(problems)
    }
}

/// Puts the field at `path` back to its default, or drops it when it has none; false when nothing
/// changed (the problem is not one field's).
fn set_aside(merged: &mut Value, defaults: &Value, path: &[&str]) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let default = path.iter().try_fold(defaults, |v, key| v.get(*key));
    let Some(parent) = parents.iter().try_fold(merged, |v, key| v.get_mut(*key)).and_then(Value::as_object_mut) else {
        return false;
    };
    match default {
        Some(d) if parent.get(*last) != Some(d) => {
            parent.insert((*last).to_string(), d.clone());
            true
        }
        Some(_) => false,
        None => parent.remove(*last).is_some(),
    }
}

/// serde's message, with the field path, the value given and what to do.
fn serde_problem(path: &[&str], overrides: &Value, message: &str) -> ConfigProblem {
    let field = if path.is_empty() { "config".to_string() } else { path.join(".") };
    let given = path.iter().try_fold(overrides, |v, key| v.get(*key));
    if let Some(unknown) = quoted(message, "unknown field `") {
        // The path ends with the unknown key itself.
        let expected: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
        let hint = closest(unknown, &expected).map(|c| format!("did you mean `{c}`? ")).unwrap_or_default();
        let parent = &path[..path.len().saturating_sub(1)];
        let place = if parent.is_empty() { String::new() } else { format!(" in `{}`", parent.join(".")) };
        return ConfigProblem::new(field, format!("unknown field{place}; {hint}known fields: {}", expected.join(", ")));
    }
    match given {
        Some(value) if path.first() == Some(&"hyperparameters") && message.contains("expected a string") => {
            ConfigProblem::new(
                field,
                format!(
                    "{value} is not a string; Bedrock takes hyperparameter values as strings: write \"{}\": \"{}\"",
                    path.last().unwrap_or(&""),
                    value.as_str().map_or_else(|| value.to_string(), str::to_string)
                ),
            )
        }
        Some(value) => ConfigProblem::new(field, format!("{value} is not valid here: {message}")),
        None => ConfigProblem::new(field, message.to_string()),
    }
}

/// The text after `prefix` up to the next backtick.
fn quoted<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.split_once(prefix).and_then(|(_, rest)| rest.split_once('`')).map(|(name, _)| name)
}

/// The known name closest to a misspelt one, if it is close (at most 2 edits, or a prefix).
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= 2 || k.starts_with(name) || name.starts_with(k))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

impl PipelineConfig {
    /// Checks the effective configuration against the catalogue before anything is spent: the model
    /// is known and supports the customization type, hyperparameters are known and in range, the
    /// deployment mode is offered for the model, a commitment is `OneMonth` or `SixMonths`, the role
    /// is an IAM role ARN, and an evaluation can run and its gate can be met. Every problem is listed
    /// in one `ConfigInvalid`.
    pub fn check(&self) -> Result<(&'static Model, &'static Customization), PipelineError> {
        match self.problems() {
            (Some(found), problems) if problems.is_empty() => Ok(found),
            (_, problems) => Err(config_invalid(&problems)),
        }
    }

    /// The model and customization the configuration names (when both exist), and every problem, judged
    /// on the configuration as it will run ([`settled`](Self::settled): deployment and preset applied).
    pub fn problems(&self) -> (Option<(&'static Model, &'static Customization)>, Vec<ConfigProblem>) {
        self.settled().settled_problems()
    }

    fn settled_problems(&self) -> (Option<(&'static Model, &'static Customization)>, Vec<ConfigProblem>) {
        let mut problems: Vec<ConfigProblem> = Vec::new();
        let mut problem = |field: &str, message: String| problems.push(ConfigProblem::new(field, message));
        let model = catalogue::find(&self.base_model);
        let customization = match model {
            None => {
                let hint = catalogue::suggestions(&self.base_model);
                let did_you_mean =
                    if hint.is_empty() { String::new() } else { format!("did you mean {}? ", hint.join(" or ")) };
                problem(
                    "base_model",
                    format!("unknown model `{}`; {did_you_mean}`finetune models` lists them", self.base_model),
                );
                None
            }
            Some(m) => match m.customization(self.customization_type) {
                None => {
                    let supported: Vec<_> = m.supported_types().map(|t| t.as_str()).collect();
                    problem(
                        "customization_type",
                        format!(
                            "{} does not support {}; it supports: {}",
                            m.id,
                            self.customization_type,
                            supported.join(", ")
                        ),
                    );
                    None
                }
                Some(c) => {
                    let given = self.hyperparameters.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                    for error in c.check_hyperparameters(m, given) {
                        let name = match &error {
                            HyperParameterError::Unknown { name, .. }
                            | HyperParameterError::OutOfRange { name, .. }
                            | HyperParameterError::WrongType { name, .. } => name.clone(),
                        };
                        problem(&format!("hyperparameters.{name}"), error.to_string());
                    }
                    Some(c)
                }
            },
        };
        if let Some(m) = model
            && self.deployment == DeploymentMode::OnDemand
            && !m.on_demand_deployment
        {
            problem(
                "deployment",
                format!(
                    "`on-demand` is not offered for custom models of {}; use `provisioned` (billed by the hour) or `none`",
                    m.id
                ),
            );
        }
        if let Some(c) = &self.commitment
            && !matches!(c.as_str(), "OneMonth" | "SixMonths")
        {
            problem("commitment", format!("`{c}` must be OneMonth or SixMonths (or absent: no commitment)"));
        }
        if self.commitment.is_some() && self.deployment != DeploymentMode::Provisioned {
            problem("commitment", "applies only to deployment `provisioned`; remove it".to_string());
        }
        if self.deployment == DeploymentMode::Provisioned && self.model_units == 0 {
            problem("model_units", "0: must be at least 1 for deployment `provisioned`".to_string());
        }
        // Bedrock's modelUnits is a 32-bit signed Integer.
        if i32::try_from(self.model_units).is_err() {
            problem(
                "model_units",
                format!("{} is beyond what Bedrock accepts (at most {})", self.model_units, i32::MAX),
            );
        }
        if !(self.validation_ratio.is_finite() && (0.0..1.0).contains(&self.validation_ratio)) {
            problem(
                "validation_ratio",
                format!("{} must be at least 0 and below 1 (default 0.1)", self.validation_ratio),
            );
        } else if self.validation_ratio == 0.0 && self.deployment != DeploymentMode::None {
            problem(
                "validation_ratio",
                "0 holds out no records, so the evaluation has nothing to score; set it above 0 (default 0.1), \
                 or deployment `none` to skip evaluation"
                    .to_string(),
            );
        }
        if self.deployment != DeploymentMode::None {
            self.evaluation.problems(&mut problem);
        }
        if !is_role_arn(&self.role_arn) {
            problem(
                "role_arn",
                if self.role_arn.is_empty() {
                    "is not set (the Bedrock service role, arn:aws:iam::<account>:role/<name>)".to_string()
                } else {
                    format!("`{}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", self.role_arn)
                },
            );
        }
        if let Some(vpc) = &self.vpc
            && (!(1..=16).contains(&vpc.subnet_ids.len()) || !(1..=5).contains(&vpc.security_group_ids.len()))
        {
            problem("vpc", "needs 1–16 subnet_ids and 1–5 security_group_ids".to_string());
        }
        if let Some(m) = model {
            self.type_problems(m, &mut problem);
        }
        self.choice_problems(&mut problem);
        (model.zip(customization), problems)
    }

    /// What the configuration implies that a person may not expect, for the run's notes.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let settled = self.settled();
        if self.deployment == DeploymentMode::Auto
            && let Some(why) = settled.default_deployment_reason()
        {
            notes.push(why);
        }
        if settled.deployment == DeploymentMode::None {
            notes.push(
                "deployment `none`: the model is trained but not deployed, so the evaluation against the base \
                 model and the quality gate are skipped"
                    .to_string(),
            );
        }
        notes
    }
}

impl EvaluationConfig {
    fn problems(&self, problem: &mut impl FnMut(&str, String)) {
        if !(self.min_improvement.is_finite() && (-1.0..=1.0).contains(&self.min_improvement)) {
            problem(
                "evaluation.min_improvement",
                format!(
                    "{} can never be met: the metrics are between 0 and 1, so custom minus base lies between -1 \
                     and 1; use a margin such as 0.05 (default 0)",
                    self.min_improvement
                ),
            );
        }
        for (field, value, default) in [
            ("evaluation.sample_size", self.sample_size, 100),
            ("evaluation.concurrency", self.concurrency, 4),
            ("evaluation.max_tokens", self.max_tokens, 512),
        ] {
            if value == 0 {
                problem(field, format!("0: must be at least 1 (default {default})"));
            }
        }
        if self.max_tokens > MAX_EVALUATION_TOKENS {
            problem(
                "evaluation.max_tokens",
                format!(
                    "{} is more than any answer the evaluation scores needs; at most {MAX_EVALUATION_TOKENS} \
                     (default 512)",
                    self.max_tokens
                ),
            );
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

fn merge_json(base: &mut Value, overrides: &Value) {
    match (base, overrides) {
        (Value::Object(b), Value::Object(o)) => {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(base.merged(&Value::Null).unwrap(), base);
    }

    #[test]
    fn metric_names_match_their_serialized_form() {
        for metric in Metric::ALL {
            assert_eq!(serde_json::to_value(metric).unwrap(), metric.as_str());
        }
        assert_eq!(Metric::RougeL.label(), "ROUGE-L");
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
        assert!(
            matches!(unknown.check(), Err(PipelineError::ConfigInvalid(m)) if m.contains("base_model: unknown model"))
        );
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
            let c = PipelineConfig {
                base_model: m.id.into(),
                customization_type: kind,
                deployment: DeploymentMode::OnDemand,
                ..valid_config()
            };
            assert!(matches!(c.check(), Err(PipelineError::ConfigInvalid(msg)) if msg.contains("on-demand")));
            // Unchosen, the deployment is the model's own: none, with the reason in the notes.
            let auto = PipelineConfig { deployment: DeploymentMode::Auto, ..c.clone() };
            assert_eq!(auto.settled().deployment, DeploymentMode::None);
            assert!(auto.check().is_ok());
            assert!(auto.notes()[0].contains("cannot be deployed on demand"), "{:?}", auto.notes());
            let provisioned = PipelineConfig { deployment: DeploymentMode::Provisioned, ..c };
            assert!(provisioned.check().is_ok());
        }
    }

    #[test]
    fn a_merge_problem_names_the_field_path_the_value_and_what_to_write() {
        let base = valid_config();
        let number = base.merge(&serde_json::json!({"hyperparameters": {"epochCount": 3}})).unwrap_err();
        assert_eq!(number.field, "hyperparameters.epochCount");
        assert!(number.message.contains(r#"write "epochCount": "3""#), "{}", number.message);
        let typo = base.merge(&serde_json::json!({"deploymnet": "none"})).unwrap_err();
        assert_eq!(typo.field, "deploymnet");
        assert!(typo.message.contains("did you mean `deployment`?"), "{}", typo.message);
        let nested = base.merge(&serde_json::json!({"evaluation": {"min_improvment": 0.1}})).unwrap_err();
        assert_eq!(nested.field, "evaluation.min_improvment");
        assert!(nested.message.contains("in `evaluation`; did you mean `min_improvement`?"), "{}", nested.message);
        let variant = base.merge(&serde_json::json!({"deployment": "always"})).unwrap_err();
        assert_eq!(variant.field, "deployment");
        assert!(
            variant.message.contains(r#""always""#) && variant.message.contains("on-demand"),
            "{}",
            variant.message
        );
        assert_eq!(base.merge(&serde_json::json!([1])).unwrap_err().field, "config");
    }

    #[test]
    fn every_problem_of_a_config_is_listed_at_once() {
        let overrides = serde_json::json!({
            "hyperparameters": {"epochCount": 3, "learningRate": "9"},
            "deploymnet": "none",
            "deployment": "always",
            "evaluation": {"min_improvement": 2}
        });
        let problems = valid_config().merge_checked(&overrides).unwrap_err();
        let mut fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "deployment",
                "deploymnet",
                "evaluation.min_improvement",
                "hyperparameters.epochCount",
                "hyperparameters.learningRate"
            ],
            "{problems:?}"
        );
        let fine = valid_config().merge_checked(&serde_json::json!({"deployment": "none"})).unwrap();
        assert_eq!(fine.deployment, DeploymentMode::None);
        assert_eq!(valid_config().merge_checked(&serde_json::json!("x")).unwrap_err()[0].field, "config");
    }

    #[test]
    fn an_evaluation_that_cannot_run_or_pass_is_refused_unless_nothing_is_deployed() {
        let mut c = valid_config();
        c.evaluation.min_improvement = 2.0;
        c.evaluation.sample_size = 0;
        c.validation_ratio = 0.0;
        let fields: Vec<String> = c.problems().1.into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["validation_ratio", "evaluation.min_improvement", "evaluation.sample_size"]);
        let Err(PipelineError::ConfigInvalid(message)) = c.check() else { panic!("expected ConfigInvalid") };
        assert!(message.contains("evaluation.min_improvement: 2 can never be met"), "{message}");
        let untested = PipelineConfig { deployment: DeploymentMode::None, ..c };
        assert!(untested.check().is_ok());
        assert!(untested.notes()[0].contains("evaluation against the base model and the quality gate are skipped"));
        assert!(valid_config().notes().is_empty());
    }

    #[test]
    fn deployment_modes_parse_in_any_case_and_print_as_the_config_writes_them() {
        for mode in DeploymentMode::ALL {
            assert_eq!(serde_json::to_value(mode).unwrap(), mode.as_str());
            assert_eq!(mode.as_str().to_uppercase().parse::<DeploymentMode>(), Ok(mode));
        }
        assert_eq!("on_demand".parse::<DeploymentMode>(), Ok(DeploymentMode::OnDemand));
        assert!("always".parse::<DeploymentMode>().unwrap_err().contains("none, on-demand, provisioned"));
    }

    fn from_logs() -> PipelineConfig {
        PipelineConfig {
            base_model: "amazon.nova-micro-v1:0:128k".into(),
            customization_type: CustomizationType::Distillation,
            training_source: TrainingSource::InvocationLogs,
            invocation_logs_s3_uri: Some("s3://logs/AWSLogs/123456789012/".into()),
            ..valid_config()
        }
    }

    #[test]
    fn distillation_from_invocation_logs_is_checked_field_by_field() {
        assert!(from_logs().check().is_ok(), "{:?}", from_logs().problems().1);
        let with_filters = from_logs()
            .merge_checked(&serde_json::json!({"invocation_logs": {"use_prompt_response": true,
                "request_metadata_filters": {"andAll": [{"equals": {"project": "support"}}, {"notEquals": {"env": "dev"}}]}}}))
            .unwrap();
        let options = with_filters.invocation_logs.unwrap();
        assert!(options.use_prompt_response);
        assert!(
            options.request_metadata_filters.unwrap().keeps(&[("project".to_string(), "support".to_string())].into())
        );

        let fields = |c: &PipelineConfig| c.problems().1.into_iter().map(|p| p.field).collect::<Vec<_>>();
        let fine_tuning =
            PipelineConfig { customization_type: CustomizationType::FineTuning, teacher_model: None, ..from_logs() };
        assert_eq!(fields(&fine_tuning), ["training_source"]);
        let disabled = PipelineConfig { invocation_logs_s3_uri: None, ..from_logs() };
        let problems = disabled.problems().1;
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("InvocationLogsBucket"), "{}", problems[0]);
        let stray = PipelineConfig {
            training_source: TrainingSource::Dataset,
            invocation_logs: Some(InvocationLogsOptions::default()),
            ..from_logs()
        };
        assert_eq!(fields(&stray), ["invocation_logs"]);
        let bad_filters = from_logs()
            .merge_checked(&serde_json::json!({"invocation_logs": {"request_metadata_filters":
                {"orAll": [{"equals": {"a": "1", "b": "2"}}, {"notEquals": {"bad;key": "x"}}]}}}))
            .unwrap_err();
        let bad: Vec<&str> = bad_filters.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            bad,
            [
                "invocation_logs.request_metadata_filters.orAll[0].equals",
                "invocation_logs.request_metadata_filters.orAll[1].notEquals"
            ]
        );
        let two_members = from_logs()
            .merge_checked(&serde_json::json!({"invocation_logs": {"request_metadata_filters":
                {"equals": {"a": "1"}, "notEquals": {"b": "2"}}}}))
            .unwrap_err();
        assert!(two_members[0].field.starts_with("invocation_logs"), "{two_members:?}");
        let with_file = PipelineConfig { validation_file: Some("incoming/v.jsonl".into()), ..from_logs() };
        assert_eq!(fields(&with_file), ["validation_file"]);
        let not_a_folder = PipelineConfig { invocation_logs_s3_uri: Some("s3://logs/file.json".into()), ..from_logs() };
        assert_eq!(fields(&not_a_folder), ["invocation_logs_s3_uri"]);
        // The default source is not written into the run's document, so older fingerprints stay the same.
        let json = serde_json::to_value(valid_config()).unwrap();
        assert!(json.get("training_source").is_none() && json.get("invocation_logs_s3_uri").is_none());
    }

    #[test]
    fn role_arns_follow_bedrocks_pattern() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/a/b"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/x"));
        for bad in ["", "arn:aws:iam::123456789012:role/", "arn:aws:iam::1234:role/x", "arn:aws:s3:::b", "role/x"] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }
}
