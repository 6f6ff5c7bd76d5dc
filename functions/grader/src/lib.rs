//! grader: the reward function Bedrock invokes during reinforcement fine-tuning (RFT). It gets a batch
//! of sampled responses and returns one score in [0, 1] per sample, with the metrics that explain it.
//!
//! The contract (Bedrock user guide, reward-functions.html, "Lambda function implementation details";
//! types in [`shared::grader`]): the event is a JSON array of
//! `{"id", "messages": [..., {"role": "assistant", "content": <the response>}], "metadata":
//! {"reference_answer", <the training record's other fields>}}`, and the answer is an array, in the
//! same order, of `{"id", "aggregate_reward_score", "metrics_list": [{"name", "value", "type":
//! "Reward" | "Metric"}]}`.
//!
//! Which grader: the sample's own spec under `metadata.finetune_grader` (validate-split copies the
//! run's `grader` config into every prepared record, see [`shared::grader::embed_in_record`]), else
//! the `GRADER_SPEC` environment variable (a JSON spec), else `exact`. Scoring is
//! [`shared::grader::Grader`]: pure, so the local cloud runs exactly this code.
//!
//! A malformed sample (no assistant response, no reference answer, an invalid spec, ...) scores 0
//! with a `malformed/<reason>` metric and a log line; the batch always succeeds. Only an event that
//! is not a batch at all (neither an array nor one sample object) is an error.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use shared::grader::{Grade, Grader, GraderSpecError, METADATA_KEY, Malformed, RewardOutput};
use shared::pipeline::PipelineError;

/// The environment variable holding the default spec, as JSON (`{"mode": "numeric", ...}`).
pub const DEFAULT_SPEC_ENV: &str = "GRADER_SPEC";

pub struct Deps {
    /// For samples that carry no spec of their own.
    pub default: Grader,
}

/// The default spec in the environment is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{DEFAULT_SPEC_ENV} is not JSON: {0}")]
    NotJson(String),
    #[error("{DEFAULT_SPEC_ENV}: {0}")]
    Invalid(GraderSpecError),
}

impl Deps {
    /// Reads [`DEFAULT_SPEC_ENV`]; unset or blank means `exact`.
    pub fn from_env() -> Result<Deps, ConfigError> {
        Deps::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Deps, ConfigError> {
        let default = match lookup(DEFAULT_SPEC_ENV).filter(|v| !v.trim().is_empty()) {
            None => Grader::new(Default::default()),
            Some(text) => {
                let value: Value = serde_json::from_str(&text).map_err(|e| ConfigError::NotJson(e.to_string()))?;
                Grader::from_value(&value)
            }
        }
        .map_err(ConfigError::Invalid)?;
        Ok(Deps { default })
    }
}

/// The handler's error: only for an event that is not a batch. Its `error_type` is a pipeline error
/// name, like every other function's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(transparent)]
pub struct GraderError(pub PipelineError);

impl From<GraderError> for Diagnostic {
    fn from(err: GraderError) -> Diagnostic {
        Diagnostic { error_type: err.0.error_type().to_string(), error_message: err.0.to_string() }
    }
}

/// Grading is pure CPU: the handler is synchronous and `main` wraps it in the future lambda_runtime wants.
pub fn handler(deps: &Deps, event: LambdaEvent<Value>) -> Result<Vec<RewardOutput>, GraderError> {
    grade_batch(deps, &event.payload)
}

/// Grades every sample of a batch, in order. A single sample object is taken as a batch of one.
pub fn grade_batch(deps: &Deps, event: &Value) -> Result<Vec<RewardOutput>, GraderError> {
    let samples = match event {
        Value::Array(samples) => samples.as_slice(),
        Value::Object(_) => std::slice::from_ref(event),
        other => {
            return Err(GraderError(PipelineError::ConfigInvalid(format!(
                "the reward function expects a JSON array of samples \
                 [{{\"id\", \"messages\", \"metadata\": {{\"reference_answer\"}}}}], not `{}`",
                other.to_string().chars().take(40).collect::<String>()
            ))));
        }
    };
    let mut specs = SpecCache::default();
    Ok(samples.iter().map(|sample| grade_sample(deps, sample, &mut specs)).collect())
}

/// Graders built from the samples' own specs, once per distinct spec in a batch (a batch normally
/// carries one run's spec on every sample).
#[derive(Default)]
struct SpecCache<'b> {
    entries: Vec<(&'b Value, Result<Grader, GraderSpecError>)>,
}

impl<'b> SpecCache<'b> {
    fn get(&mut self, spec: &'b Value) -> &Result<Grader, GraderSpecError> {
        let at = match self.entries.iter().position(|(known, _)| *known == spec) {
            Some(at) => at,
            None => {
                self.entries.push((spec, Grader::from_value(spec)));
                self.entries.len() - 1
            }
        };
        &self.entries[at].1
    }
}

fn grade_sample<'b>(deps: &Deps, sample: &'b Value, specs: &mut SpecCache<'b>) -> RewardOutput {
    let id = match sample.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let grade = match (sample.is_object(), &id) {
        (false, _) => Err(Malformed::NotAnObject),
        (true, None) => Err(Malformed::NoId),
        (true, Some(_)) => score(deps, sample, specs),
    };
    let grade = grade.unwrap_or_else(|why| {
        tracing::warn!(id = id.as_deref().unwrap_or(""), reason = why.metric_name(), "{why}");
        Grade::malformed(&why)
    });
    RewardOutput { id: id.unwrap_or_default(), aggregate_reward_score: grade.score, metrics_list: grade.metrics }
}

fn score<'b>(deps: &Deps, sample: &'b Value, specs: &mut SpecCache<'b>) -> Result<Grade, Malformed> {
    let metadata = sample.get("metadata");
    // Bedrock's guide puts the record's fields under `metadata`; the Nova guide's version of the
    // contract shows them at the top level. Either is read.
    let field = |key: &str| metadata.and_then(|m| m.get(key)).or_else(|| sample.get(key)).filter(|v| !v.is_null());
    let response = final_response(sample).ok_or(Malformed::NoResponse)?;
    let reference = field("reference_answer").unwrap_or(&Value::Null);
    let grader = match field(METADATA_KEY) {
        None => &deps.default,
        Some(spec) => specs.get(spec).as_ref().map_err(|e| Malformed::InvalidSpec(e.clone()))?,
    };
    grader.grade(&response, reference)
}

/// The text of the last assistant message: a string, or the text parts of a content array
/// (`[{"type": "text", "text": ...}]` or Bedrock's `[{"text": ...}]`), joined.
fn final_response(sample: &Value) -> Option<std::borrow::Cow<'_, str>> {
    let messages = sample.get("messages")?.as_array()?;
    let message = messages.iter().rev().find(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))?;
    match message.get("content")? {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
            (!texts.is_empty()).then(|| std::borrow::Cow::Owned(texts.concat()))
        }
        _ => None,
    }
}
