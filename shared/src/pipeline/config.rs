//! The effective configuration of a run (deployment defaults, a sidecar, the execution input) and its
//! check against the catalogue before anything is spent.

use super::PipelineError;
use crate::CustomizationType;
use crate::catalogue::{self, Customization, Model};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
        assert_eq!(base.merged(&serde_json::Value::Null).unwrap(), base);
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
}
