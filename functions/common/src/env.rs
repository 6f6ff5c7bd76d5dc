//! Deployment defaults from the environment (the SAM template sets them).

use serde_json::{Map, Value, json};
use shared::pipeline::{PipelineConfig, PipelineError};

/// The defaults for every run of this deployment: `PipelineConfig::default()` overridden by the
/// variables listed in the crate documentation.
pub fn defaults_from_env() -> Result<PipelineConfig, PipelineError> {
    defaults_from(|name| std::env::var(name).ok())
}

/// [`defaults_from_env`] over any lookup (tests pass a map).
pub fn defaults_from(lookup: impl Fn(&str) -> Option<String>) -> Result<PipelineConfig, PipelineError> {
    let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut overrides = Map::new();
    let mut problems = Vec::new();
    for (var, field) in [
        ("BASE_MODEL", "base_model"),
        ("CUSTOMIZATION_TYPE", "customization_type"),
        ("ROLE_ARN", "role_arn"),
        ("DEPLOYMENT_MODE", "deployment"),
        ("COMMITMENT", "commitment"),
        ("KMS_KEY_ID", "kms_key_id"),
    ] {
        if let Some(v) = get(var) {
            let v = if var == "CUSTOMIZATION_TYPE" {
                match v.parse::<shared::CustomizationType>() {
                    Ok(t) => t.as_str().to_string(),
                    Err(e) => {
                        problems.push(format!("{var}: {e}"));
                        continue;
                    }
                }
            } else {
                v
            };
            overrides.insert(field.to_string(), Value::String(v));
        }
    }
    for (var, field) in
        [("VALIDATION_RATIO", "validation_ratio"), ("SPLIT_SEED", "seed"), ("MODEL_UNITS", "model_units")]
    {
        if let Some(v) = get(var) {
            match serde_json::from_str::<Value>(&v) {
                Ok(n @ Value::Number(_)) => {
                    overrides.insert(field.to_string(), n);
                }
                _ => problems.push(format!("{var}: `{v}` is not a number")),
            }
        }
    }
    for (var, field) in [("HYPERPARAMETERS", "hyperparameters"), ("EVALUATION", "evaluation"), ("RUN_TAGS", "tags")] {
        if let Some(v) = get(var) {
            match serde_json::from_str::<Value>(&v) {
                Ok(o @ Value::Object(_)) => {
                    overrides.insert(field.to_string(), o);
                }
                _ => problems.push(format!("{var}: `{v}` is not a JSON object")),
            }
        }
    }
    let list = |v: String| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    match (get("VPC_SUBNET_IDS").map(list), get("VPC_SECURITY_GROUP_IDS").map(list)) {
        (Some(subnets), Some(groups)) => {
            overrides.insert("vpc".into(), json!({"subnet_ids": subnets, "security_group_ids": groups}));
        }
        (None, None) => {}
        _ => problems.push("VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS must be set together".to_string()),
    }
    if !problems.is_empty() {
        return Err(PipelineError::ConfigInvalid(format!(
            "deployment defaults in the environment are invalid: {}",
            problems.join("; ")
        )));
    }
    PipelineConfig::default()
        .merged(&Value::Object(overrides))
        .map_err(|e| PipelineError::ConfigInvalid(format!("deployment defaults in the environment are invalid: {e}")))
}

/// A variable the function cannot run without (e.g. `STATE_MACHINE_ARN`).
pub fn required_env(name: &str) -> Result<String, PipelineError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| PipelineError::ConfigInvalid(format!("environment variable {name} is not set")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::CustomizationType;
    use shared::pipeline::DeploymentMode;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<PipelineConfig, PipelineError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        defaults_from(|k| map.get(k).cloned())
    }

    #[test]
    fn no_variables_give_the_library_defaults() {
        assert_eq!(from(&[]).unwrap(), PipelineConfig::default());
        assert_eq!(from(&[("BASE_MODEL", "  ")]).unwrap(), PipelineConfig::default());
    }

    #[test]
    fn variables_override_each_field() {
        let c = from(&[
            ("BASE_MODEL", "meta.llama3-1-8b-instruct-v1:0:128k"),
            ("CUSTOMIZATION_TYPE", "continued-pre-training"),
            ("ROLE_ARN", "arn:aws:iam::123456789012:role/ft"),
            ("DEPLOYMENT_MODE", "provisioned"),
            ("VALIDATION_RATIO", "0.2"),
            ("SPLIT_SEED", "7"),
            ("MODEL_UNITS", "2"),
            ("HYPERPARAMETERS", r#"{"epochCount":"3"}"#),
            ("EVALUATION", r#"{"sample_size":10}"#),
            ("RUN_TAGS", r#"{"team":"a"}"#),
            ("VPC_SUBNET_IDS", "subnet-1, subnet-2"),
            ("VPC_SECURITY_GROUP_IDS", "sg-1"),
        ])
        .unwrap();
        assert_eq!(c.customization_type, CustomizationType::ContinuedPreTraining);
        assert_eq!(c.deployment, DeploymentMode::Provisioned);
        assert_eq!(c.validation_ratio, 0.2);
        assert_eq!((c.seed, c.model_units), (7, 2));
        assert_eq!(c.hyperparameters["epochCount"], "3");
        assert_eq!(c.evaluation.sample_size, 10);
        assert_eq!(c.evaluation.concurrency, PipelineConfig::default().evaluation.concurrency);
        assert_eq!(c.tags["team"], "a");
        assert_eq!(c.vpc.unwrap().subnet_ids, vec!["subnet-1", "subnet-2"]);
    }

    #[test]
    fn bad_variables_are_config_errors_naming_each_variable() {
        let err =
            from(&[("VALIDATION_RATIO", "a tenth"), ("HYPERPARAMETERS", "[1]"), ("VPC_SUBNET_IDS", "s")]).unwrap_err();
        let PipelineError::ConfigInvalid(msg) = err else { panic!("{err:?}") };
        for needle in ["VALIDATION_RATIO", "HYPERPARAMETERS", "VPC_SECURITY_GROUP_IDS"] {
            assert!(msg.contains(needle), "{msg}");
        }
        assert!(matches!(from(&[("DEPLOYMENT_MODE", "sometimes")]), Err(PipelineError::ConfigInvalid(_))));
        assert!(matches!(from(&[("CUSTOMIZATION_TYPE", "magic")]), Err(PipelineError::ConfigInvalid(_))));
    }
}
