//! Scoring one response against its reference answer with a checked spec. Pure: no I/O, no clock.

use super::{
    Check, Criterion, Expected, FieldPath, GraderSpec, GraderSpecError, RewardMetric, Tolerance, compile, number,
};
use crate::metrics;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;

/// A spec made ready to grade: checked once, its patterns compiled once.
#[derive(Debug, Clone)]
pub struct Grader {
    spec: GraderSpec,
    /// One entry per rubric criterion (`Some` for `regex` criteria).
    patterns: Vec<Option<regex_lite::Regex>>,
}

/// The reward for one response, with the metrics that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// In [0, 1].
    pub score: f64,
    pub metrics: Vec<RewardMetric>,
}

/// Why a sample could not be graded. It scores 0 with a `malformed/<code>` metric; the message goes
/// to the log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Malformed {
    #[error("the sample is not a JSON object")]
    NotAnObject,
    #[error("the sample has no `id`")]
    NoId,
    #[error("the sample has no assistant message with text content (the response to grade)")]
    NoResponse,
    #[error("the sample has no `reference_answer` (in `metadata` or at the top level)")]
    NoReference,
    #[error("`reference_answer` has no value at `{0}`")]
    ReferenceField(String),
    #[error("`reference_answer` is {0}; set the grader's `field` to the part to compare with")]
    ReferenceStructured(&'static str),
    #[error("`reference_answer` has no number to compare with")]
    ReferenceNotNumeric,
    #[error("the sample's grader spec is invalid: {0}")]
    InvalidSpec(GraderSpecError),
}

impl Malformed {
    /// The metric's name: stable, short, no sample text in it.
    pub fn metric_name(&self) -> &'static str {
        match self {
            Malformed::NotAnObject => "malformed/not_an_object",
            Malformed::NoId => "malformed/no_id",
            Malformed::NoResponse => "malformed/no_response",
            Malformed::NoReference => "malformed/no_reference_answer",
            Malformed::ReferenceField(_) => "malformed/reference_field_missing",
            Malformed::ReferenceStructured(_) => "malformed/reference_is_structured",
            Malformed::ReferenceNotNumeric => "malformed/reference_not_numeric",
            Malformed::InvalidSpec(_) => "malformed/invalid_grader_spec",
        }
    }
}

impl Grade {
    /// Score 0 and one metric naming the reason.
    pub fn malformed(why: &Malformed) -> Grade {
        Grade { score: 0.0, metrics: vec![RewardMetric::metric(why.metric_name(), 1.0)] }
    }
}

impl Grader {
    /// Checks the spec (as [`GraderSpec::from_value`] would) and compiles its patterns.
    pub fn new(spec: GraderSpec) -> Result<Grader, GraderSpecError> {
        // Specs built in code skip the parser's checks; the round trip applies them.
        let spec = GraderSpec::from_value(&spec.to_value())?;
        let patterns = match &spec {
            GraderSpec::Rubric(r) => r
                .criteria
                .iter()
                .map(|c| match &c.check {
                    Check::Regex { pattern } => compile(pattern).ok(),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Grader { spec, patterns })
    }

    /// Parses, checks and compiles a spec given as JSON.
    pub fn from_value(value: &Value) -> Result<Grader, GraderSpecError> {
        Grader::new(GraderSpec::from_value(value)?)
    }

    pub fn spec(&self) -> &GraderSpec {
        &self.spec
    }

    /// Grades `response` (the final assistant text) against `reference` (`reference_answer`).
    pub fn grade(&self, response: &str, reference: &Value) -> Result<Grade, Malformed> {
        match &self.spec {
            GraderSpec::Exact(spec) => {
                let expected = reference_text(reference, spec.field.as_ref())?;
                let exact = metrics::exact_match(response, &expected);
                Ok(if spec.partial_credit {
                    let f1 = metrics::token_f1(response, &expected);
                    Grade {
                        score: f1.max(exact),
                        metrics: vec![RewardMetric::metric("exact_match", exact), RewardMetric::reward("token_f1", f1)],
                    }
                } else {
                    Grade { score: exact, metrics: vec![RewardMetric::reward("exact_match", exact)] }
                })
            }
            GraderSpec::Numeric(spec) => {
                let target = reference_number(reference, spec.field.as_ref())?;
                Ok(match number::last_number(response) {
                    None => Grade {
                        score: 0.0,
                        metrics: vec![
                            RewardMetric::reward("within_tolerance", 0.0),
                            RewardMetric::metric("number_found", 0.0),
                        ],
                    },
                    Some(got) => {
                        let error = (got - target).abs();
                        let credit = tolerance_credit(error, target, spec.tolerance, spec.partial_credit);
                        Grade {
                            score: credit,
                            metrics: vec![
                                RewardMetric::reward("within_tolerance", credit),
                                RewardMetric::metric("number_found", 1.0),
                                RewardMetric::metric("abs_error", error),
                            ],
                        }
                    }
                })
            }
            GraderSpec::Rubric(spec) => self.rubric(&spec.criteria, response, reference),
        }
    }

    fn rubric(&self, criteria: &[Criterion], response: &str, reference: &Value) -> Result<Grade, Malformed> {
        let response_json = OnceCell::new();
        let lowered = OnceCell::new();
        let lower = || lowered.get_or_init(|| response.to_lowercase());
        let (mut earned, mut total) = (0.0, 0.0);
        let mut list = Vec::with_capacity(criteria.len());
        for (i, criterion) in criteria.iter().enumerate() {
            let credit = match &criterion.check {
                Check::Contains { text, case_sensitive } => {
                    let needle = match text {
                        Expected::Literal(t) => Cow::Borrowed(t.as_str()),
                        Expected::Reference(path) => reference_text(reference, path.as_ref())?,
                    };
                    flag(contains(response, lower, &needle, *case_sensitive))
                }
                Check::NotContains { text, case_sensitive } => flag(!contains(response, lower, text, *case_sensitive)),
                Check::Regex { .. } => flag(self.patterns[i].as_ref().is_some_and(|p| p.is_match(response))),
                Check::NumberWithin { value, tolerance, partial_credit } => {
                    let target = match value {
                        Expected::Literal(v) => *v,
                        Expected::Reference(path) => reference_number(reference, path.as_ref())?,
                    };
                    number::last_number(response)
                        .map_or(0.0, |got| tolerance_credit((got - target).abs(), target, *tolerance, *partial_credit))
                }
                Check::JsonFieldEquals { path, value, case_sensitive } => {
                    let expected = match value {
                        Expected::Literal(v) => v,
                        Expected::Reference(path) => at(reference, path.as_ref())?,
                    };
                    let parsed = response_json.get_or_init(|| json_in(response));
                    let got = parsed.as_ref().and_then(|v| path.get(v));
                    flag(got.is_some_and(|g| json_equal(g, expected, *case_sensitive)))
                }
            };
            earned += criterion.weight * credit;
            total += criterion.weight;
            let name = match &criterion.name {
                Some(n) => Cow::Owned(n.clone()),
                None => Cow::Owned(format!("criterion_{}_{}", i + 1, criterion.check.kind())),
            };
            list.push(RewardMetric::reward(name, credit));
        }
        let score = if total > 0.0 { (earned / total).clamp(0.0, 1.0) } else { 0.0 };
        Ok(Grade { score, metrics: list })
    }
}

fn flag(met: bool) -> f64 {
    if met { 1.0 } else { 0.0 }
}

fn contains<'a>(haystack: &str, lowered: impl Fn() -> &'a String, needle: &str, case_sensitive: bool) -> bool {
    if case_sensitive { haystack.contains(needle) } else { lowered().contains(&needle.to_lowercase()) }
}

/// 1 within the tolerance; with partial credit, falling linearly to 0 at ten times the tolerance.
fn tolerance_credit(error: f64, target: f64, tolerance: Tolerance, partial: bool) -> f64 {
    let allowed = match (tolerance.absolute, tolerance.relative) {
        (None, None) => 1e-9 * target.abs().max(1.0),
        (a, r) => a.unwrap_or(0.0).max(r.unwrap_or(0.0) * target.abs()),
    };
    // Float noise (0.1 + 0.2 vs 0.3) is never an error, whatever the tolerance.
    let slack = 4.0 * f64::EPSILON * target.abs().max(1.0);
    if error <= allowed + slack {
        1.0
    } else if partial && allowed > 0.0 {
        (1.0 - (error - allowed) / (9.0 * allowed)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        _ => "not text",
    }
}

/// The reference, or its field at `path`; a sample without a reference (null) has neither.
fn at<'v>(reference: &'v Value, path: Option<&FieldPath>) -> Result<&'v Value, Malformed> {
    match path {
        _ if reference.is_null() => Err(Malformed::NoReference),
        None => Ok(reference),
        Some(p) => p.get(reference).ok_or_else(|| Malformed::ReferenceField(p.as_str().to_string())),
    }
}

/// The reference (or its field) as text: a string as is, a number or boolean as JSON writes it.
fn reference_text<'v>(reference: &'v Value, path: Option<&FieldPath>) -> Result<Cow<'v, str>, Malformed> {
    match at(reference, path)? {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Number(n) => Ok(Cow::Owned(n.to_string())),
        Value::Bool(b) => Ok(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Null => Err(match path {
            Some(p) => Malformed::ReferenceField(p.as_str().to_string()),
            None => Malformed::NoReference,
        }),
        other => Err(Malformed::ReferenceStructured(kind_name(other))),
    }
}

fn reference_number(reference: &Value, path: Option<&FieldPath>) -> Result<f64, Malformed> {
    match at(reference, path)? {
        Value::Number(n) => n.as_f64().filter(|v| v.is_finite()).ok_or(Malformed::ReferenceNotNumeric),
        Value::String(s) => number::reference_number(s).ok_or(Malformed::ReferenceNotNumeric),
        Value::Null => Err(Malformed::NoReference),
        Value::Bool(_) => Err(Malformed::ReferenceNotNumeric),
        other => Err(Malformed::ReferenceStructured(kind_name(other))),
    }
}

/// The JSON a response gives: the whole text, else a fenced ```json block, else the outermost `{...}`.
fn json_in(response: &str) -> Option<Value> {
    let trimmed = response.trim();
    if let Ok(v) = serde_json::from_str(trimmed) {
        return Some(v);
    }
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let body = after.split_once('\n').map_or(after, |(first, rest)| {
            // The fence's info string (`json`) is not part of the block.
            if first.trim().chars().all(|c| c.is_ascii_alphanumeric()) { rest } else { after }
        });
        if let Some(end) = body.find("```")
            && let Ok(v) = serde_json::from_str(body[..end].trim())
        {
            return Some(v);
        }
    }
    let (open, close) = (trimmed.find('{')?, trimmed.rfind('}')?);
    (open < close).then(|| serde_json::from_str(&trimmed[open..=close]).ok()).flatten()
}

/// JSON equality for graders: numbers within 1e-9 relative, a number equals its decimal text
/// (`"4"` = `4`), strings trimmed and, unless case-sensitive, compared ignoring case.
fn json_equal(got: &Value, expected: &Value, case_sensitive: bool) -> bool {
    let numbers_equal = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    match (got, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).is_some_and(|(a, b)| numbers_equal(a, b)),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.trim().parse::<f64>().ok().zip(n.as_f64()).is_some_and(|(a, b)| numbers_equal(a, b))
        }
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (a.trim(), b.trim());
            if case_sensitive { a == b } else { a.to_lowercase() == b.to_lowercase() }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(x, y, case_sensitive))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| json_equal(x, y, case_sensitive)))
        }
        (a, b) => a == b,
    }
}
