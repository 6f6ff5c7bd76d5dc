//! Where a function reads its settings, and the deployment defaults among them (the SAM template sets
//! them). One rule for every variable: absent, empty or only whitespace is unset.

use serde_json::{Map, Value, json};
use shared::pipeline::{PipelineConfig, PipelineError};
use std::collections::BTreeMap;

/// A function's environment: the process's on Lambda, the template's variables for that function on the
/// local cloud. Every setting a function reads goes through here, so both read the same names the same way.
#[derive(Debug, Clone)]
pub struct Env {
    /// `None`: the process environment.
    vars: Option<BTreeMap<String, String>>,
}

impl Env {
    /// The process environment (Lambda).
    pub fn process() -> Env {
        Env { vars: None }
    }

    /// Exactly these variables, nothing from the process (the local cloud, tests).
    pub fn from_vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Env {
        Env { vars: Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect()) }
    }

    /// The value of `name`, trimmed, or `None` when it is unset (see [`set_value`]).
    pub fn get(&self, name: &str) -> Option<String> {
        let raw = match &self.vars {
            None => std::env::var(name).ok(),
            Some(vars) => vars.get(name).cloned(),
        };
        set_value(raw)
    }

    /// A variable the function cannot do its work without (e.g. `STATE_MACHINE_ARN`).
    pub fn required(&self, name: &str) -> Result<String, PipelineError> {
        self.get(name).ok_or_else(|| PipelineError::ConfigInvalid(format!("environment variable {name} is not set")))
    }

    /// `true` for `1`, `true` or `yes` (any case), `false` for anything else set, `None` when unset.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    /// A positive whole number, or `None` when unset or not one (the caller's default applies).
    pub fn positive(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse::<u64>().ok()).filter(|n| *n > 0)
    }
}

/// The one rule for "unset": absent, empty or only whitespace. A set value is trimmed.
pub fn set_value(raw: Option<String>) -> Option<String> {
    raw.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The defaults for every run of this deployment: `PipelineConfig::default()` overridden by the
/// variables listed in the crate documentation.
pub fn defaults_from(env: &Env) -> Result<PipelineConfig, PipelineError> {
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
        if let Some(v) = env.get(var) {
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
        if let Some(v) = env.get(var) {
            match serde_json::from_str::<Value>(&v) {
                Ok(n @ Value::Number(_)) => {
                    overrides.insert(field.to_string(), n);
                }
                _ => problems.push(format!("{var}: `{v}` is not a number")),
            }
        }
    }
    for (var, field) in [("HYPERPARAMETERS", "hyperparameters"), ("EVALUATION", "evaluation"), ("RUN_TAGS", "tags")] {
        if let Some(v) = env.get(var) {
            match serde_json::from_str::<Value>(&v) {
                Ok(o @ Value::Object(_)) => {
                    overrides.insert(field.to_string(), o);
                }
                _ => problems.push(format!("{var}: `{v}` is not a JSON object")),
            }
        }
    }
    let list = |v: String| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    match (env.get("VPC_SUBNET_IDS").map(list), env.get("VPC_SECURITY_GROUP_IDS").map(list)) {
        (Some(subnets), Some(groups)) => {
            overrides.insert("vpc".into(), json!({"subnet_ids": subnets, "security_group_ids": groups}));
        }
        (None, None) => {}
        _ => problems.push("VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS must be set together".to_string()),
    }
    // Where invocation logs may be read: only the operator says (the template's two parameters, since
    // CloudFormation cannot take a key prefix out of one URI for the roles' s3:prefix condition).
    match (env.get("INVOCATION_LOGS_BUCKET"), env.get("INVOCATION_LOGS_PREFIX")) {
        (Some(bucket), prefix) => {
            let prefix = prefix.unwrap_or_default();
            overrides.insert("invocation_logs_s3_uri".into(), Value::String(format!("s3://{bucket}/{prefix}")));
        }
        (None, Some(_)) => problems.push(
            "INVOCATION_LOGS_PREFIX is set without INVOCATION_LOGS_BUCKET (template parameters InvocationLogsPrefix \
             and InvocationLogsBucket)"
                .to_string(),
        ),
        (None, None) => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::CustomizationType;
    use shared::pipeline::DeploymentMode;

    fn from(vars: &[(&str, &str)]) -> Result<PipelineConfig, PipelineError> {
        defaults_from(&Env::from_vars(vars.iter().copied()))
    }

    #[test]
    fn unset_means_absent_empty_or_whitespace_and_values_are_trimmed() {
        let env = Env::from_vars([("EMPTY", ""), ("BLANK", " \t\n"), ("PADDED", "  arn:x \n"), ("FLAG", " Yes ")]);
        for name in ["ABSENT", "EMPTY", "BLANK"] {
            assert_eq!(env.get(name), None, "{name}");
            assert!(matches!(env.required(name), Err(PipelineError::ConfigInvalid(m)) if m.contains(name)));
            assert_eq!(env.flag(name), None);
        }
        assert_eq!(env.get("PADDED").as_deref(), Some("arn:x"));
        assert_eq!(env.required("PADDED").unwrap(), "arn:x");
        assert_eq!(env.flag("FLAG"), Some(true));
        assert_eq!(Env::from_vars([("FLAG", "0")]).flag("FLAG"), Some(false));
        let numbers = Env::from_vars([("N", " 30 "), ("ZERO", "0"), ("WORDS", "thirty")]);
        assert_eq!(
            (numbers.positive("N"), numbers.positive("ZERO"), numbers.positive("WORDS")),
            (Some(30), None, None)
        );
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
    fn the_invocation_log_location_is_the_operators_bucket_and_prefix() {
        assert_eq!(from(&[]).unwrap().invocation_logs_s3_uri, None, "unset: the source is disabled");
        let c = from(&[("INVOCATION_LOGS_BUCKET", "logs-b"), ("INVOCATION_LOGS_PREFIX", "AWSLogs/1/")]).unwrap();
        assert_eq!(c.invocation_logs_s3_uri.as_deref(), Some("s3://logs-b/AWSLogs/1/"));
        let whole = from(&[("INVOCATION_LOGS_BUCKET", "logs-b"), ("INVOCATION_LOGS_PREFIX", "")]).unwrap();
        assert_eq!(whole.invocation_logs_s3_uri.as_deref(), Some("s3://logs-b/"));
        let Err(PipelineError::ConfigInvalid(m)) = from(&[("INVOCATION_LOGS_PREFIX", "p/")]) else { panic!() };
        assert!(m.contains("InvocationLogsBucket"), "{m}");
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
