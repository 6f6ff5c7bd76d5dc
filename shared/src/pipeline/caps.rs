//! The operator's caps: what a run may spend and under which identity. They come from the template's
//! parameters (through each function's environment), never from an upload's sidecar or an execution
//! input; those choose only within them. A request beyond a cap fails the run in ValidateSplit, before
//! anything is created, with a problem naming the field, the value, the cap and the parameter that sets it.

use super::{ConfigProblem, DeploymentMode, PipelineConfig};
use crate::aws::RUN_ID_TAG;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fields of the configuration only the operator sets (template parameters); a sidecar or an execution
/// input that names one is refused, whatever the value.
pub const OPERATOR_ONLY: [(&str, &str); 4] = [
    ("role_arn", "the Bedrock service role the stack creates"),
    ("kms_key_id", "template parameter KmsKeyArn"),
    ("vpc", "template parameters VpcSubnetIds and VpcSecurityGroupIds"),
    ("invocation_logs_s3_uri", "template parameters InvocationLogsBucket and InvocationLogsPrefix"),
];

/// Tags an uploader may add to a run's resources (the run tag and the operator's `RUN_TAGS` come on
/// top; a resource holds at most 50, and bills stay readable with far fewer).
pub const MAX_UPLOADER_TAGS: usize = 10;
/// Bedrock's `TagKey` is 1-128 characters.
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Bedrock's `TagValue` is 0-256 characters.
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// A Bedrock resource has at most 50 tags (TooManyTagsException); the run tag is one of them.
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

/// The caps, one per template parameter (the environment variable each function reads is beside it in
/// [`Caps::SETTINGS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Caps {
    /// Base model ids a run may use (`AllowedBaseModels`; default: the template's `BaseModel` only).
    pub allowed_base_models: Vec<String>,
    /// Deployment modes a run may ask for (`AllowedDeploymentModes`; default: none, on-demand).
    pub allowed_deployments: Vec<DeploymentMode>,
    /// Whether a provisioned throughput may be bought with a term commitment (`CommitmentAllowed`; default
    /// false: a commitment bills for one or six months whatever happens to the run).
    pub commitment_allowed: bool,
    /// Most model units a provisioned throughput may have (`MaxModelUnits`; default 1).
    pub max_model_units: u32,
    /// Most a run's training may cost by the catalogue's price and the dataset's tokens, USD
    /// (`MaxTrainingCostUsd`; default 50).
    pub max_training_cost_usd: f64,
    /// Lowest `evaluation.min_improvement` a run may set: the quality gate's floor (`MinImprovementFloor`;
    /// default 0: a tuned model must at least match its base model).
    pub min_improvement_floor: f64,
    /// Whether a run may keep its deployment after failing the gate (`KeepOnGateFailureAllowed`; default false).
    pub keep_on_gate_failure_allowed: bool,
    /// Most validation records an evaluation may score (`MaxEvaluationSamples`; default 200).
    pub max_evaluation_samples: u32,
    /// Hours a provisioned throughput or deployment may live before the reaper removes it
    /// (`ResourceTimeToLiveHours`; default 0: no limit).
    pub resource_ttl_hours: u32,
    /// Whether a model without a training price in the catalogue may train (`UnpricedModelsAllowed`;
    /// default false: the cost cap cannot be checked for it, so it is refused).
    pub unpriced_models_allowed: bool,
}

/// One cap's environment variable and the template parameter that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapSetting {
    pub env: &'static str,
    pub parameter: &'static str,
}

impl Caps {
    /// Every cap's variable and parameter, in [`Caps`]'s field order.
    pub const SETTINGS: [CapSetting; 10] = [
        CapSetting { env: "ALLOWED_BASE_MODELS", parameter: "AllowedBaseModels" },
        CapSetting { env: "ALLOWED_DEPLOYMENT_MODES", parameter: "AllowedDeploymentModes" },
        CapSetting { env: "COMMITMENT_ALLOWED", parameter: "CommitmentAllowed" },
        CapSetting { env: "MAX_MODEL_UNITS", parameter: "MaxModelUnits" },
        CapSetting { env: "MAX_TRAINING_COST_USD", parameter: "MaxTrainingCostUsd" },
        CapSetting { env: "MIN_IMPROVEMENT_FLOOR", parameter: "MinImprovementFloor" },
        CapSetting { env: "KEEP_ON_GATE_FAILURE_ALLOWED", parameter: "KeepOnGateFailureAllowed" },
        CapSetting { env: "MAX_EVALUATION_SAMPLES", parameter: "MaxEvaluationSamples" },
        CapSetting { env: "RESOURCE_TTL_HOURS", parameter: "ResourceTimeToLiveHours" },
        CapSetting { env: "UNPRICED_MODELS_ALLOWED", parameter: "UnpricedModelsAllowed" },
    ];

    /// The template parameter behind an environment variable, for messages.
    pub fn parameter(env: &str) -> &'static str {
        Self::SETTINGS.iter().find(|s| s.env == env).map_or("(unknown)", |s| s.parameter)
    }

    /// The caps of a stack deployed with the template's defaults: `defaults`' base model only, no
    /// hourly billing, no commitment.
    pub fn for_defaults(defaults: &PipelineConfig) -> Caps {
        Caps {
            allowed_base_models: vec![defaults.base_model.clone()],
            allowed_deployments: vec![DeploymentMode::None, DeploymentMode::OnDemand],
            commitment_allowed: false,
            max_model_units: 1,
            max_training_cost_usd: 50.0,
            min_improvement_floor: 0.0,
            keep_on_gate_failure_allowed: false,
            max_evaluation_samples: 200,
            resource_ttl_hours: 0,
            unpriced_models_allowed: false,
        }
    }

    /// What a sidecar or execution input (`overrides`, at `place`) may not say at all, whatever the caps:
    /// an operator-only field, or tags beyond the bounds (count, key and value length, the reserved
    /// `aws:` prefix, the run tag itself).
    pub fn refused_overrides(overrides: &Value, place: &str) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let Some(fields) = overrides.as_object() else { return problems };
        for (field, owner) in OPERATOR_ONLY {
            if let Some(value) = fields.get(field).filter(|v| !v.is_null()) {
                problems.push(ConfigProblem::new(
                    field,
                    format!(
                        "{} in {place} is refused: the operator sets it ({owner}), never an upload or an execution \
                         input; remove it",
                        clip(&value.to_string(), 80)
                    ),
                ));
            }
        }
        let Some(tags) = fields.get("tags").and_then(Value::as_object) else { return problems };
        if tags.len() > MAX_UPLOADER_TAGS {
            problems.push(ConfigProblem::new(
                "tags",
                format!("{} tags in {place}: at most {MAX_UPLOADER_TAGS} may be added to a run", tags.len()),
            ));
        }
        for (key, value) in tags {
            let field = format!("tags.{}", clip(key, 40));
            let value_chars = value.as_str().map_or(0, |v| v.chars().count());
            if key.is_empty() || key.chars().count() > MAX_TAG_KEY_CHARS {
                problems.push(ConfigProblem::new(
                    &field,
                    format!("a tag key of {} characters: 1 to {MAX_TAG_KEY_CHARS}", key.chars().count()),
                ));
            } else if key.to_ascii_lowercase().starts_with("aws:") {
                problems
                    .push(ConfigProblem::new(&field, "the `aws:` prefix is reserved for AWS's own tags".to_string()));
            } else if key == RUN_ID_TAG {
                problems.push(ConfigProblem::new(
                    &field,
                    format!("`{RUN_ID_TAG}` is set by the pipeline to the run id; a run cannot claim another's"),
                ));
            } else if !key.chars().all(is_tag_char) {
                problems.push(ConfigProblem::new(
                    &field,
                    "tag keys may hold letters, digits, spaces and _ . : / = + - @ only".to_string(),
                ));
            }
            if value_chars > MAX_TAG_VALUE_CHARS {
                problems.push(ConfigProblem::new(
                    &field,
                    format!("a tag value of {value_chars} characters: at most {MAX_TAG_VALUE_CHARS}"),
                ));
            } else if value.as_str().is_some_and(|v| !v.chars().all(is_tag_char)) {
                problems.push(ConfigProblem::new(
                    &field,
                    "tag values may hold letters, digits, spaces and _ . : / = + - @ only".to_string(),
                ));
            }
        }
        problems
    }

    /// Every cap the effective configuration goes beyond, each naming the field, the value, the cap and
    /// the parameter that sets it. Judged on the configuration as it will run (settled: an `auto`
    /// deployment is the model's default).
    pub fn problems(&self, config: &PipelineConfig) -> Vec<ConfigProblem> {
        let settled = config.settled();
        let config = &settled;
        let mut problems = Vec::new();
        let mut beyond = |field: &str, value: String, cap: String, env: &str| {
            problems.push(ConfigProblem::new(
                field,
                format!("{value} is beyond the operator's cap: {cap} (template parameter {})", Self::parameter(env)),
            ));
        };
        if !self.allowed_base_models.iter().any(|m| m == &config.base_model) {
            beyond(
                "base_model",
                format!("`{}`", config.base_model),
                format!("allowed base models are {}", self.allowed_base_models.join(", ")),
                "ALLOWED_BASE_MODELS",
            );
        }
        // A distillation's teacher answers every training prompt, billed as on-demand inference of that
        // model: the operator's model allow-list applies to it as to the base model.
        if config.customization_type == crate::CustomizationType::Distillation
            && let Some(teacher) = &config.teacher_model
            && !self.allowed_base_models.iter().any(|m| m == teacher)
        {
            beyond(
                "teacher_model",
                format!("`{}`", clip(teacher, 120)),
                format!(
                    "a teacher bills inference as a base model does; allowed models are {}",
                    self.allowed_base_models.join(", ")
                ),
                "ALLOWED_BASE_MODELS",
            );
        }
        if !self.allowed_deployments.contains(&config.deployment) {
            let allowed: Vec<&str> = self.allowed_deployments.iter().map(|m| m.as_str()).collect();
            beyond(
                "deployment",
                format!("`{}`", config.deployment),
                format!("allowed deployment modes are {}", allowed.join(", ")),
                "ALLOWED_DEPLOYMENT_MODES",
            );
        }
        if let Some(term) = &config.commitment
            && !self.commitment_allowed
        {
            beyond(
                "commitment",
                format!("`{term}`"),
                "no commitment term may be bought".to_string(),
                "COMMITMENT_ALLOWED",
            );
        }
        if config.deployment == DeploymentMode::Provisioned && config.model_units > self.max_model_units {
            beyond(
                "model_units",
                config.model_units.to_string(),
                format!("at most {} model units", self.max_model_units),
                "MAX_MODEL_UNITS",
            );
        }
        let evaluated = config.deployment != DeploymentMode::None;
        if evaluated && config.evaluation.min_improvement < self.min_improvement_floor {
            beyond(
                "evaluation.min_improvement",
                config.evaluation.min_improvement.to_string(),
                format!("the quality gate's floor is {}", self.min_improvement_floor),
                "MIN_IMPROVEMENT_FLOOR",
            );
        }
        if evaluated && config.evaluation.keep_on_gate_failure && !self.keep_on_gate_failure_allowed {
            beyond(
                "evaluation.keep_on_gate_failure",
                "true".to_string(),
                "a deployment that failed the gate is always removed".to_string(),
                "KEEP_ON_GATE_FAILURE_ALLOWED",
            );
        }
        if evaluated && config.evaluation.sample_size > self.max_evaluation_samples {
            beyond(
                "evaluation.sample_size",
                config.evaluation.sample_size.to_string(),
                format!("at most {} records scored", self.max_evaluation_samples),
                "MAX_EVALUATION_SAMPLES",
            );
        }
        if config.tags.len() + 1 > MAX_TAGS_PER_RESOURCE {
            problems.push(ConfigProblem::new(
                "tags",
                format!("{} tags with the run tag: Bedrock allows {MAX_TAGS_PER_RESOURCE}", config.tags.len() + 1),
            ));
        }
        problems
    }

    /// The training cost cap against the estimate made from the dataset's tokens (known only once it is
    /// validated). No estimate (the catalogue has no price) is refused too: the cap could not be kept.
    pub fn cost_problem(&self, estimated_usd: Option<f64>, base_model: &str) -> Option<ConfigProblem> {
        let parameter = Self::parameter("MAX_TRAINING_COST_USD");
        match estimated_usd {
            Some(cost) if cost.is_finite() && cost <= self.max_training_cost_usd => None,
            Some(cost) => Some(ConfigProblem::new(
                "estimated_cost_usd",
                format!(
                    "an estimated training cost of {cost:.2} USD is beyond the operator's cap: at most {:.2} USD per \
                     run (template parameter {parameter}); use fewer records or epochs",
                    self.max_training_cost_usd
                ),
            )),
            None if self.unpriced_models_allowed => None,
            None => Some(ConfigProblem::new(
                "estimated_cost_usd",
                format!(
                    "no training price is known for {base_model}, so the operator's cap of {:.2} USD per run \
                     (template parameter {parameter}) cannot be checked; the run is refused (the operator may allow unpriced models with \
                     {})",
                    self.max_training_cost_usd,
                    Self::parameter("UNPRICED_MODELS_ALLOWED")
                ),
            )),
        }
    }
}

/// Bedrock's tag pattern `[a-zA-Z0-9\s._:/=+@-]*`.
fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c)
}

/// At most `max` characters of `text`, with `…` when cut: a hostile value must not flood a message.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_string() } else { text.chars().take(max).collect::<String>() + "…" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> PipelineConfig {
        PipelineConfig::default()
    }

    fn caps() -> Caps {
        Caps::for_defaults(&config())
    }

    fn only_problem(problems: Vec<ConfigProblem>) -> ConfigProblem {
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.into_iter().next().unwrap()
    }

    #[test]
    fn the_defaults_pass_their_own_caps() {
        assert!(caps().problems(&config()).is_empty());
        assert!(Caps::refused_overrides(&json!({"seed": 7, "tags": {"team": "a"}}), "the sidecar").is_empty());
    }

    #[test]
    fn a_base_model_outside_the_allow_list_is_refused_naming_the_list() {
        let c = PipelineConfig { base_model: "meta.llama3-1-8b-instruct-v1:0:128k".into(), ..config() };
        let p = only_problem(caps().problems(&c));
        assert_eq!(p.field, "base_model");
        assert!(p.message.contains("`meta.llama3-1-8b-instruct-v1:0:128k` is beyond the operator's cap"), "{p}");
        assert!(p.message.contains("amazon.nova-micro-v1:0:128k") && p.message.contains("AllowedBaseModels"), "{p}");
    }

    #[test]
    fn a_distillation_teacher_outside_the_allow_list_is_refused_naming_the_list() {
        let micro = "amazon.nova-micro-v1:0:128k";
        let c = PipelineConfig {
            customization_type: crate::CustomizationType::Distillation,
            base_model: micro.into(),
            teacher_model: Some("amazon.nova-premier-v1:0".into()),
            ..config()
        };
        let p = only_problem(caps().problems(&c));
        assert_eq!(p.field, "teacher_model");
        assert!(p.message.contains("`amazon.nova-premier-v1:0` is beyond the operator's cap"), "{p}");
        assert!(p.message.contains("AllowedBaseModels") && p.message.contains(micro), "{p}");
        // The catalogue's default teacher (set when settled) is judged too.
        let default_teacher = PipelineConfig { teacher_model: None, ..c.clone() };
        assert_eq!(only_problem(caps().problems(&default_teacher)).field, "teacher_model");
        let allowed = Caps { allowed_base_models: vec![micro.into(), "amazon.nova-premier-v1:0".into()], ..caps() };
        assert!(allowed.problems(&c).is_empty());
    }

    #[test]
    fn provisioned_is_refused_unless_allowed() {
        let c = PipelineConfig { deployment: DeploymentMode::Provisioned, ..config() };
        let p = only_problem(caps().problems(&c));
        assert_eq!(p.field, "deployment");
        assert!(p.message.contains("`provisioned`") && p.message.contains("none, on-demand"), "{p}");
        let allowed = Caps { allowed_deployments: DeploymentMode::ALL.to_vec(), ..caps() };
        assert!(allowed.problems(&c).is_empty());
    }

    #[test]
    fn a_commitment_is_refused_unless_allowed() {
        let c = PipelineConfig {
            deployment: DeploymentMode::Provisioned,
            commitment: Some("SixMonths".into()),
            ..config()
        };
        let caps = Caps { allowed_deployments: DeploymentMode::ALL.to_vec(), ..caps() };
        let p = only_problem(caps.problems(&c));
        assert_eq!(p.field, "commitment");
        assert!(p.message.contains("`SixMonths`") && p.message.contains("CommitmentAllowed"), "{p}");
        assert!(Caps { commitment_allowed: true, ..caps }.problems(&c).is_empty());
    }

    #[test]
    fn model_units_beyond_the_cap_are_refused() {
        let caps = Caps { allowed_deployments: DeploymentMode::ALL.to_vec(), max_model_units: 2, ..caps() };
        let c = PipelineConfig { deployment: DeploymentMode::Provisioned, model_units: 3, ..config() };
        let p = only_problem(caps.problems(&c));
        assert_eq!(p.field, "model_units");
        assert!(p.message.starts_with("3 is beyond") && p.message.contains("at most 2 model units"), "{p}");
        assert!(caps.problems(&PipelineConfig { model_units: 2, ..c }).is_empty());
    }

    #[test]
    fn a_gate_below_the_floor_and_keeping_a_failed_deployment_are_refused() {
        let mut c = config();
        c.evaluation.min_improvement = -1.0;
        c.evaluation.keep_on_gate_failure = true;
        let fields: Vec<String> = caps().problems(&c).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["evaluation.min_improvement", "evaluation.keep_on_gate_failure"]);
        let lenient = Caps { min_improvement_floor: -1.0, keep_on_gate_failure_allowed: true, ..caps() };
        assert!(lenient.problems(&c).is_empty());
        // Nothing is deployed, so there is no gate to weaken.
        assert!(caps().problems(&PipelineConfig { deployment: DeploymentMode::None, ..c }).is_empty());
    }

    #[test]
    fn an_evaluation_sample_beyond_the_cap_is_refused() {
        let mut c = config();
        c.evaluation.sample_size = 5000;
        let p = only_problem(caps().problems(&c));
        assert_eq!(p.field, "evaluation.sample_size");
        assert!(p.message.contains("5000") && p.message.contains("MaxEvaluationSamples"), "{p}");
    }

    #[test]
    fn the_training_cost_is_capped_and_an_unpriced_model_refused() {
        let caps = caps();
        assert!(caps.cost_problem(Some(12.0), "m").is_none());
        let p = caps.cost_problem(Some(75.5), "m").unwrap();
        assert_eq!(p.field, "estimated_cost_usd");
        assert!(p.message.contains("75.50 USD") && p.message.contains("50.00 USD"), "{p}");
        assert!(p.message.contains("MaxTrainingCostUsd"), "{p}");
        assert!(caps.cost_problem(None, "m").unwrap().message.contains("no training price is known for m"));
        assert!(caps.cost_problem(Some(f64::NAN), "m").is_some());
        let unpriced = caps.cost_problem(None, "m").unwrap().message;
        assert!(unpriced.contains("UnpricedModelsAllowed"), "{unpriced}");
        let lenient = Caps { unpriced_models_allowed: true, ..caps };
        assert!(lenient.cost_problem(None, "m").is_none());
        assert!(lenient.cost_problem(Some(75.5), "m").is_some(), "a priced model stays capped");
    }

    #[test]
    fn operator_only_fields_are_refused_in_any_input_whatever_their_value() {
        let overrides = json!({
            "role_arn": "arn:aws:iam::111122223333:role/admin",
            "kms_key_id": "k",
            "vpc": {"subnet_ids": ["s"], "security_group_ids": ["g"]},
            "seed": 3
        });
        let problems = Caps::refused_overrides(&overrides, "the sidecar");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["role_arn", "kms_key_id", "vpc"]);
        assert!(problems[0].message.contains("in the sidecar is refused: the operator sets it"), "{}", problems[0]);
        assert!(Caps::refused_overrides(&json!({"role_arn": null}), "x").is_empty());
    }

    #[test]
    fn tags_are_bounded_in_count_length_prefix_and_may_not_claim_the_run_tag() {
        let many: serde_json::Map<String, Value> = (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
        let p = only_problem(Caps::refused_overrides(&json!({"tags": many}), "the sidecar"));
        assert_eq!(p.field, "tags");
        assert!(p.message.contains("11 tags") && p.message.contains("at most 10"), "{p}");
        let hostile = json!({"tags": {
            "aws:cloudformation:stack-name": "x",
            RUN_ID_TAG: "someone-elses-run",
            "k".repeat(129): "v",
            "long": "v".repeat(257),
            "semi;colon": "v",
        }});
        let mut fields: Vec<String> =
            Caps::refused_overrides(&hostile, "the input").into_iter().map(|p| p.field).collect();
        fields.sort();
        let long_key = format!("tags.{}…", "k".repeat(40));
        let mut expected = vec![
            "tags.aws:cloudformation:stack-name".to_string(),
            format!("tags.{RUN_ID_TAG}"),
            long_key,
            "tags.long".to_string(),
            "tags.semi;colon".to_string(),
        ];
        expected.sort();
        assert_eq!(fields, expected);
    }

    #[test]
    fn every_cap_names_a_distinct_variable_and_parameter() {
        let mut envs: Vec<&str> = Caps::SETTINGS.iter().map(|s| s.env).collect();
        envs.sort();
        envs.dedup();
        assert_eq!(envs.len(), Caps::SETTINGS.len());
        assert_eq!(Caps::parameter("MAX_MODEL_UNITS"), "MaxModelUnits");
        assert_eq!(clip("abcdef", 3), "abc…");
    }
}
