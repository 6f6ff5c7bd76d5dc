//! The operator's caps ([`shared::pipeline::Caps`]) read from the environment the template gives
//! validate-split. An unset variable keeps the safe default of [`Caps::for_defaults`]; a variable that
//! does not parse is a config error naming it and its template parameter, so no run starts under caps
//! nobody meant.

use crate::Env;
use shared::pipeline::{Caps, DeploymentMode, PipelineConfig, PipelineError};

/// The caps for runs whose deployment defaults are `defaults`.
pub fn caps_from(env: &Env, defaults: &PipelineConfig) -> Result<Caps, PipelineError> {
    let mut caps = Caps::for_defaults(defaults);
    let mut problems = Vec::new();
    let mut bad = |var: &str, value: &str, expected: &str| {
        problems.push(format!("{var} (template parameter {}): `{value}` is not {expected}", Caps::parameter(var)));
    };
    let list = |v: &str| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
    if let Some(v) = env.get("ALLOWED_BASE_MODELS") {
        caps.allowed_base_models = list(&v);
    }
    if let Some(v) = env.get("ALLOWED_DEPLOYMENT_MODES") {
        match list(&v).iter().map(|m| m.parse::<DeploymentMode>()).collect::<Result<Vec<_>, _>>() {
            Ok(modes) => caps.allowed_deployments = modes,
            Err(_) => bad("ALLOWED_DEPLOYMENT_MODES", &v, "a comma-separated list of none, on-demand, provisioned"),
        }
    }
    for (var, slot) in [
        ("COMMITMENT_ALLOWED", &mut caps.commitment_allowed),
        ("KEEP_ON_GATE_FAILURE_ALLOWED", &mut caps.keep_on_gate_failure_allowed),
        ("UNPRICED_MODELS_ALLOWED", &mut caps.unpriced_models_allowed),
    ] {
        match env.get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => {}
            Some("true" | "yes" | "1") => *slot = true,
            Some("false" | "no" | "0") => *slot = false,
            Some(other) => bad(var, other, "true or false"),
        }
    }
    for (var, slot) in [
        ("MAX_MODEL_UNITS", &mut caps.max_model_units),
        ("MAX_EVALUATION_SAMPLES", &mut caps.max_evaluation_samples),
        ("RESOURCE_TTL_HOURS", &mut caps.resource_ttl_hours),
    ] {
        if let Some(v) = env.get(var) {
            match v.parse::<u32>() {
                Ok(n) => *slot = n,
                Err(_) => bad(var, &v, "a whole number"),
            }
        }
    }
    for (var, slot, range) in [
        ("MAX_TRAINING_COST_USD", &mut caps.max_training_cost_usd, 0.0..=f64::MAX),
        ("MIN_IMPROVEMENT_FLOOR", &mut caps.min_improvement_floor, -1.0..=1.0),
    ] {
        if let Some(v) = env.get(var) {
            match v.parse::<f64>() {
                Ok(n) if n.is_finite() && range.contains(&n) => *slot = n,
                _ => bad(var, &v, &format!("a number from {} to {}", range.start(), range.end())),
            }
        }
    }
    if caps.allowed_base_models.is_empty() {
        caps.allowed_base_models = vec![defaults.base_model.clone()];
    }
    if problems.is_empty() {
        Ok(caps)
    } else {
        Err(PipelineError::ConfigInvalid(format!(
            "the operator's caps in the environment are invalid: {}",
            problems.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(vars: &[(&str, &str)]) -> Result<Caps, PipelineError> {
        caps_from(&Env::from_vars(vars.iter().copied()), &PipelineConfig::default())
    }

    #[test]
    fn unset_variables_keep_the_safe_defaults() {
        let c = caps(&[("ALLOWED_BASE_MODELS", " , ")]).unwrap();
        assert_eq!(c, Caps::for_defaults(&PipelineConfig::default()));
        assert!(!c.commitment_allowed && !c.allowed_deployments.contains(&DeploymentMode::Provisioned));
    }

    #[test]
    fn each_variable_sets_its_cap() {
        let c = caps(&[
            ("ALLOWED_BASE_MODELS", "a, b"),
            ("ALLOWED_DEPLOYMENT_MODES", "provisioned,none"),
            ("COMMITMENT_ALLOWED", "True"),
            ("KEEP_ON_GATE_FAILURE_ALLOWED", "yes"),
            ("MAX_MODEL_UNITS", "3"),
            ("MAX_EVALUATION_SAMPLES", "40"),
            ("RESOURCE_TTL_HOURS", "6"),
            ("MAX_TRAINING_COST_USD", "12.5"),
            ("MIN_IMPROVEMENT_FLOOR", "-0.05"),
        ])
        .unwrap();
        assert_eq!(c.allowed_base_models, ["a", "b"]);
        assert_eq!(c.allowed_deployments, [DeploymentMode::Provisioned, DeploymentMode::None]);
        assert!(c.commitment_allowed && c.keep_on_gate_failure_allowed);
        assert_eq!((c.max_model_units, c.max_evaluation_samples, c.resource_ttl_hours), (3, 40, 6));
        assert_eq!((c.max_training_cost_usd, c.min_improvement_floor), (12.5, -0.05));
    }

    #[test]
    fn a_bad_variable_is_a_config_error_naming_it_and_its_parameter() {
        let err =
            caps(&[("ALLOWED_DEPLOYMENT_MODES", "always"), ("MAX_MODEL_UNITS", "-1"), ("MIN_IMPROVEMENT_FLOOR", "2")])
                .unwrap_err();
        let PipelineError::ConfigInvalid(msg) = err else { panic!("{err:?}") };
        for needle in ["AllowedDeploymentModes", "MaxModelUnits", "MIN_IMPROVEMENT_FLOOR", "`2`"] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
        assert!(caps(&[("COMMITMENT_ALLOWED", "maybe")]).is_err());
    }
}
