//! Hyperparameters: what each customization accepts, and the check of user-given values in Bedrock's
//! string form.

use super::{Customization, Model, Provenance};
use serde::Serialize;

/// Value type of a hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HyperValue {
    Integer {
        min: i64,
        max: i64,
        default: i64,
    },
    Float {
        min: f64,
        max: f64,
        default: f64,
    },
    /// A string from a fixed set.
    Choice {
        options: &'static [&'static str],
        default: &'static str,
    },
    /// An integer with no bounds in the service model.
    UnboundedInteger {
        default: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HyperParameter {
    pub name: &'static str,
    pub value: HyperValue,
    pub provenance: Provenance,
}

pub(super) const fn int(name: &'static str, min: i64, max: i64, default: i64) -> HyperParameter {
    HyperParameter { name, value: HyperValue::Integer { min, max, default }, provenance: Provenance::Documented }
}
pub(super) const fn float(name: &'static str, min: f64, max: f64, default: f64) -> HyperParameter {
    HyperParameter { name, value: HyperValue::Float { min, max, default }, provenance: Provenance::Documented }
}

/// A hyperparameter value that the model rejects, with a message that says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HyperParameterError {
    #[error("hyperparameter `{name}` is not known for {model}; known: {known}")]
    Unknown { name: String, model: &'static str, known: String },
    #[error("hyperparameter `{name}` = `{value}` is out of range for {model}: {allowed}")]
    OutOfRange { name: String, value: String, model: &'static str, allowed: String },
    #[error("hyperparameter `{name}` = `{value}` is not a {expected}")]
    WrongType { name: String, value: String, expected: &'static str },
}

impl HyperParameter {
    /// What the parameter accepts, for messages: `1–5 (default 2)`.
    pub fn allowed(&self) -> String {
        match self.value {
            HyperValue::Integer { min, max, default } => {
                format!("integer {min}–{max} (default {default})")
            }
            HyperValue::Float { min, max, default } => {
                format!("number {min:e}–{max:e} (default {default:e})")
            }
            HyperValue::Choice { options, default } => {
                format!("one of {} (default {default})", options.join(", "))
            }
            HyperValue::UnboundedInteger { default } => format!("integer (default {default})"),
        }
    }

    /// The default as Bedrock's string form.
    pub fn default_string(&self) -> String {
        match self.value {
            HyperValue::Integer { default, .. } | HyperValue::UnboundedInteger { default } => default.to_string(),
            HyperValue::Float { default, .. } => default.to_string(),
            HyperValue::Choice { default, .. } => default.to_string(),
        }
    }

    /// Checks one value given in Bedrock's string form.
    pub fn check(&self, value: &str, model: &'static str) -> Result<(), HyperParameterError> {
        let out_of_range = || HyperParameterError::OutOfRange {
            name: self.name.to_string(),
            value: value.to_string(),
            model,
            allowed: self.allowed(),
        };
        let wrong_type = |expected| HyperParameterError::WrongType {
            name: self.name.to_string(),
            value: value.to_string(),
            expected,
        };
        let trimmed = value.trim();
        match self.value {
            HyperValue::Integer { min, max, .. } => {
                let v: i64 = trimmed.parse().map_err(|_| wrong_type("whole number"))?;
                if v < min || v > max {
                    return Err(out_of_range());
                }
            }
            HyperValue::UnboundedInteger { .. } => {
                let v: i64 = trimmed.parse().map_err(|_| wrong_type("whole number"))?;
                if v < 1 {
                    return Err(out_of_range());
                }
            }
            HyperValue::Float { min, max, .. } => {
                let v: f64 = trimmed.parse().map_err(|_| wrong_type("number"))?;
                // Relative tolerance: "1e-4" written as "0.0001" must not fail on rounding.
                let eps = 1e-9 * max.abs().max(min.abs()).max(1e-12);
                if !v.is_finite() || v < min - eps || v > max + eps {
                    return Err(out_of_range());
                }
            }
            HyperValue::Choice { options, .. } => {
                if !options.contains(&trimmed) {
                    return Err(out_of_range());
                }
            }
        }
        Ok(())
    }
}

impl Customization {
    pub fn hyperparameter(&self, name: &str) -> Option<&'static HyperParameter> {
        self.hyperparameters.iter().find(|h| h.name == name)
    }

    /// Checks user-given hyperparameters (Bedrock's string form) against this customization.
    pub fn check_hyperparameters<'a>(
        &self,
        model: &'static Model,
        given: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<HyperParameterError> {
        let mut problems = Vec::new();
        for (name, value) in given {
            match self.hyperparameter(name) {
                Some(spec) => {
                    if let Err(e) = spec.check(value, model.id) {
                        problems.push(e);
                    }
                }
                None => problems.push(HyperParameterError::Unknown {
                    name: name.to_string(),
                    model: model.id,
                    known: self.hyperparameters.iter().map(|h| h.name).collect::<Vec<_>>().join(", "),
                }),
            }
        }
        problems
    }

    /// The number of epochs the job will run, from the given value or the default.
    pub fn epochs(&self, given: Option<&str>) -> u64 {
        let default = self.hyperparameter("epochCount").map(|h| match h.value {
            HyperValue::Integer { default, .. } => default as u64,
            _ => 1,
        });
        given.and_then(|v| v.trim().parse().ok()).or(default).unwrap_or(1)
    }
}
