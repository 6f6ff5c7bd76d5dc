//! The reward grader of reinforcement fine-tuning: how a run says what a good answer is ([`GraderSpec`]),
//! and the pure scoring that the grader Lambda (`functions/grader`) runs on every response Bedrock
//! samples during training ([`Grader`]). No model is called: every mode is a deterministic check.
//!
//! # Modes
//!
//! ```json
//! {"mode": "exact"}
//! {"mode": "exact", "field": "label", "partial_credit": true}
//! {"mode": "numeric", "abs_tolerance": 0.01, "rel_tolerance": 0.001, "partial_credit": true}
//! {"mode": "rubric", "criteria": [
//!     {"name": "mentions refund", "weight": 2, "contains": "refund"},
//!     {"not_contains": "as an AI"},
//!     {"regex": "(?m)^Answer: [A-D]$"},
//!     {"number_within": {"abs_tolerance": 0.5}},
//!     {"json_field_equals": {"path": "compliant"}}
//! ]}
//! ```
//!
//! - `exact`: the final assistant response equals `reference_answer` after
//!   [`crate::metrics::normalize`] (case, whitespace and surrounding punctuation ignored): 1 or 0.
//!   `partial_credit: true` scores token F1 instead, so a response that contains the answer among
//!   other words earns part of the reward.
//! - `numeric`: the last number of the response (see [`number::last_number`] for what counts as a
//!   number) against the reference's number, within `abs_tolerance` or `rel_tolerance` (either
//!   suffices; neither given means equal up to 1e-9 relative). `partial_credit: true` decays the
//!   reward linearly from 1 at the tolerance to 0 at ten times the tolerance.
//! - `rubric`: weighted criteria; the reward is the weighted share of criteria met. `contains` and
//!   `not_contains` are case-insensitive unless `"case_sensitive": true`; `contains` takes a text or
//!   `{"reference": true}` / `{"reference": "path"}` (the reference answer, or a field of it);
//!   `number_within` compares the response's last number with `value`, or with the reference (or the
//!   field `reference` names); `json_field_equals` reads the response as JSON (a fenced ```json block
//!   or the outermost `{...}` also work) and compares the field at `path` with `value`, or with the
//!   reference answer's field at the same path (or at `reference`).
//!
//! `field` (exact, numeric) picks the part of a structured `reference_answer` to compare with, as a
//! path such as `solution` or `answers[0].value`.
//!
//! # How the spec reaches the Lambda
//!
//! One grader Lambda serves every run of a stack, and Bedrock invokes it with nothing but the samples:
//! `[{"id", "messages", "metadata": {"reference_answer", <every other field of the training record>}}]`.
//! So the run's spec travels with the data: when a run has a grader spec, validate-split writes it
//! into each prepared training record under the reserved top-level key [`METADATA_KEY`] (see
//! [`embed_in_record`]), Bedrock passes it back in `metadata`, and the Lambda grades with it. A record
//! without it is graded with the Lambda's default (its `GRADER_SPEC` environment variable), and
//! without that, `exact`. A user's record that already has the reserved key is refused at prepare
//! time, never silently overwritten.

mod contract;
pub mod number;
mod path;
mod score;

pub use contract::{MetricType, RewardMetric, RewardOutput, RewardSample, SampleMessage};
pub use path::{FieldPath, PathError};
pub use score::{Grade, Grader, Malformed};

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The top-level key of a prepared RFT record (and so of the `metadata` Bedrock hands the grader)
/// that carries the run's grader spec.
pub const METADATA_KEY: &str = "finetune_grader";

/// Most criteria a rubric may have (each is evaluated on every sampled response).
pub const MAX_CRITERIA: usize = 32;
/// Longest text, pattern or path in a spec, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Compiled size limit of one rubric pattern (regex-lite matches in linear time; this bounds memory).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const REGEX_NEST_LIMIT: u32 = 50;

/// How a response is graded; the config's `grader` object.
#[derive(Debug, Clone, PartialEq)]
pub enum GraderSpec {
    Exact(ExactSpec),
    Numeric(NumericSpec),
    Rubric(RubricSpec),
}

impl Default for GraderSpec {
    fn default() -> Self {
        GraderSpec::Exact(ExactSpec::default())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExactSpec {
    /// Path into a structured `reference_answer`.
    pub field: Option<FieldPath>,
    /// Score token F1 instead of 1/0.
    pub partial_credit: bool,
}

/// Within `absolute` OR within `relative` × |reference|; neither set means equal up to 1e-9 relative.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tolerance {
    pub absolute: Option<f64>,
    pub relative: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumericSpec {
    pub field: Option<FieldPath>,
    pub tolerance: Tolerance,
    /// Linear decay from 1 at the tolerance to 0 at 10× the tolerance, instead of 1/0.
    pub partial_credit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RubricSpec {
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// The metric's name in `metrics_list`; `criterion_<n>_<kind>` when not given.
    pub name: Option<String>,
    pub weight: f64,
    pub check: Check,
}

/// Where a criterion's expected value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected<T> {
    Literal(T),
    /// The reference answer, or the field of it at this path.
    Reference(Option<FieldPath>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Contains { text: Expected<String>, case_sensitive: bool },
    NotContains { text: String, case_sensitive: bool },
    Regex { pattern: String },
    NumberWithin { value: Expected<f64>, tolerance: Tolerance, partial_credit: bool },
    JsonFieldEquals { path: FieldPath, value: Expected<Value>, case_sensitive: bool },
}

impl Check {
    /// The criterion's key in the spec (`contains`, `regex`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Contains { .. } => "contains",
            Check::NotContains { .. } => "not_contains",
            Check::Regex { .. } => "regex",
            Check::NumberWithin { .. } => "number_within",
            Check::JsonFieldEquals { .. } => "json_field_equals",
        }
    }
}

/// A spec the pipeline refuses, naming the field (`grader.criteria[2].regex`) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", display_field(.field))]
pub struct GraderSpecError {
    /// Path inside the spec, e.g. `criteria[2].regex`; empty for the spec itself.
    pub field: String,
    pub message: String,
}

fn display_field(field: &str) -> String {
    if field.is_empty() { "grader".to_string() } else { format!("grader.{field}") }
}

fn err(field: impl Into<String>, message: impl Into<String>) -> GraderSpecError {
    GraderSpecError { field: field.into(), message: message.into() }
}

const MODES: &str = "`exact`, `numeric` or `rubric`";
const CHECKS: [&str; 5] = ["contains", "not_contains", "regex", "number_within", "json_field_equals"];

impl GraderSpec {
    /// Parses and checks a spec: every field known, every value in range, every pattern compiles.
    pub fn from_value(value: &Value) -> Result<GraderSpec, GraderSpecError> {
        let object = value.as_object().ok_or_else(|| {
            err("", format!("must be an object such as {{\"mode\": \"exact\"}}, not {}", kind_of(value)))
        })?;
        let mode = match object.get("mode") {
            Some(Value::String(m)) => m.as_str(),
            Some(other) => return Err(err("mode", format!("must be a string ({MODES}), not {}", kind_of(other)))),
            None => return Err(err("mode", format!("is missing; use {MODES}"))),
        };
        match mode {
            "exact" => {
                known_keys(object, "", &["mode", "field", "partial_credit"])?;
                Ok(GraderSpec::Exact(ExactSpec {
                    field: optional_path(object, "", "field")?,
                    partial_credit: optional_bool(object, "", "partial_credit")?.unwrap_or(false),
                }))
            }
            "numeric" => {
                known_keys(object, "", &["mode", "field", "abs_tolerance", "rel_tolerance", "partial_credit"])?;
                Ok(GraderSpec::Numeric(NumericSpec {
                    field: optional_path(object, "", "field")?,
                    tolerance: tolerance(object, "")?,
                    partial_credit: optional_bool(object, "", "partial_credit")?.unwrap_or(false),
                }))
            }
            "rubric" => {
                known_keys(object, "", &["mode", "criteria"])?;
                let criteria = match object.get("criteria") {
                    Some(Value::Array(items)) if items.is_empty() => {
                        return Err(err("criteria", "is empty; give at least one criterion"));
                    }
                    Some(Value::Array(items)) if items.len() > MAX_CRITERIA => {
                        return Err(err(
                            "criteria",
                            format!("has {} criteria; at most {MAX_CRITERIA} are allowed", items.len()),
                        ));
                    }
                    Some(Value::Array(items)) => {
                        items.iter().enumerate().map(|(i, c)| criterion(c, &format!("criteria[{i}]"))).collect()
                    }
                    Some(other) => {
                        Err(err("criteria", format!("must be an array of criteria, not {}", kind_of(other))))
                    }
                    None => Err(err("criteria", "is missing; a rubric needs a list of criteria")),
                }?;
                Ok(GraderSpec::Rubric(RubricSpec { criteria }))
            }
            other => Err(err("mode", format!("`{}` is not a grader mode; use {MODES}", clip(other)))),
        }
    }

    /// The mode's name.
    pub fn mode(&self) -> &'static str {
        match self {
            GraderSpec::Exact(_) => "exact",
            GraderSpec::Numeric(_) => "numeric",
            GraderSpec::Rubric(_) => "rubric",
        }
    }

    /// The spec as JSON, in the form [`GraderSpec::from_value`] reads (defaults left out).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("mode".into(), self.mode().into());
        match self {
            GraderSpec::Exact(e) => {
                put_path(&mut m, "field", &e.field);
                put_flag(&mut m, "partial_credit", e.partial_credit);
            }
            GraderSpec::Numeric(n) => {
                put_path(&mut m, "field", &n.field);
                put_tolerance(&mut m, &n.tolerance);
                put_flag(&mut m, "partial_credit", n.partial_credit);
            }
            GraderSpec::Rubric(r) => {
                m.insert("criteria".into(), r.criteria.iter().map(Criterion::to_value).collect());
            }
        }
        Value::Object(m)
    }
}

impl Criterion {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(name) = &self.name {
            m.insert("name".into(), name.clone().into());
        }
        if self.weight != 1.0 {
            m.insert("weight".into(), self.weight.into());
        }
        let reference = |p: &Option<FieldPath>| p.as_ref().map_or(Value::Bool(true), |p| p.as_str().into());
        match &self.check {
            Check::Contains { text, case_sensitive } => {
                let v = match text {
                    Expected::Literal(t) => t.clone().into(),
                    Expected::Reference(p) => serde_json::json!({ "reference": reference(p) }),
                };
                m.insert("contains".into(), v);
                put_flag(&mut m, "case_sensitive", *case_sensitive);
            }
            Check::NotContains { text, case_sensitive } => {
                m.insert("not_contains".into(), text.clone().into());
                put_flag(&mut m, "case_sensitive", *case_sensitive);
            }
            Check::Regex { pattern } => {
                m.insert("regex".into(), pattern.clone().into());
            }
            Check::NumberWithin { value, tolerance, partial_credit } => {
                let mut inner = Map::new();
                match value {
                    Expected::Literal(v) => {
                        inner.insert("value".into(), (*v).into());
                    }
                    Expected::Reference(Some(p)) => {
                        inner.insert("reference".into(), p.as_str().into());
                    }
                    Expected::Reference(None) => {}
                }
                put_tolerance(&mut inner, tolerance);
                put_flag(&mut inner, "partial_credit", *partial_credit);
                m.insert("number_within".into(), Value::Object(inner));
            }
            Check::JsonFieldEquals { path, value, case_sensitive } => {
                let mut inner = Map::new();
                inner.insert("path".into(), path.as_str().into());
                match value {
                    Expected::Literal(v) => {
                        inner.insert("value".into(), v.clone());
                    }
                    // The same field of the reference is the default.
                    Expected::Reference(Some(p)) if p == path => {}
                    Expected::Reference(Some(p)) => {
                        inner.insert("reference".into(), p.as_str().into());
                    }
                    Expected::Reference(None) => {
                        inner.insert("reference".into(), true.into());
                    }
                }
                put_flag(&mut inner, "case_sensitive", *case_sensitive);
                m.insert("json_field_equals".into(), Value::Object(inner));
            }
        }
        Value::Object(m)
    }
}

fn criterion(value: &Value, at: &str) -> Result<Criterion, GraderSpecError> {
    let object = value.as_object().ok_or_else(|| {
        err(
            at,
            format!("must be an object such as {{\"contains\": \"refund\", \"weight\": 2}}, not {}", kind_of(value)),
        )
    })?;
    let present: Vec<&str> = CHECKS.iter().copied().filter(|k| object.contains_key(*k)).collect();
    let kind = match present.as_slice() {
        [one] => *one,
        [] => return Err(err(at, format!("has no check; give exactly one of {}", CHECKS.join(", ")))),
        many => {
            return Err(err(
                at,
                format!("has {} checks ({}); give exactly one per criterion", many.len(), many.join(", ")),
            ));
        }
    };
    let name = match object.get("name") {
        None => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(err(format!("{at}.name"), "is empty; name the criterion or leave `name` out"));
        }
        Some(Value::String(s)) => Some(bounded_text(s, &format!("{at}.name"))?.to_string()),
        Some(other) => return Err(err(format!("{at}.name"), format!("must be a string, not {}", kind_of(other)))),
    };
    let weight = match object.get("weight") {
        None => 1.0,
        Some(v) => match v.as_f64() {
            Some(w) if w.is_finite() && w > 0.0 && w <= 1000.0 => w,
            _ => {
                return Err(err(
                    format!("{at}.weight"),
                    format!("must be a number above 0 and at most 1000, not {}", clip(&v.to_string())),
                ));
            }
        },
    };
    let case_sensitive = optional_bool(object, at, "case_sensitive")?.unwrap_or(false);
    let field = format!("{at}.{kind}");
    let check = match kind {
        "contains" => {
            known_keys(object, at, &["name", "weight", "contains", "case_sensitive"])?;
            let text = match &object["contains"] {
                Value::String(s) => Expected::Literal(non_empty_text(s, &field)?),
                Value::Object(inner) => {
                    known_keys(inner, &field, &["reference"])?;
                    Expected::Reference(reference_source(inner, &field)?.ok_or_else(|| {
                        err(
                            format!("{field}.reference"),
                            "is missing; use true (the whole reference answer) or a field path",
                        )
                    })?)
                }
                other => {
                    return Err(err(
                        field,
                        format!("must be a text or {{\"reference\": true}}, not {}", kind_of(other)),
                    ));
                }
            };
            Check::Contains { text, case_sensitive }
        }
        "not_contains" => {
            known_keys(object, at, &["name", "weight", "not_contains", "case_sensitive"])?;
            match &object["not_contains"] {
                Value::String(s) => Check::NotContains { text: non_empty_text(s, &field)?, case_sensitive },
                other => return Err(err(field, format!("must be a text, not {}", kind_of(other)))),
            }
        }
        "regex" => {
            known_keys(object, at, &["name", "weight", "regex"])?;
            let pattern = match &object["regex"] {
                Value::String(s) => non_empty_text(s, &field)?,
                other => return Err(err(field, format!("must be a pattern string, not {}", kind_of(other)))),
            };
            compile(&pattern).map_err(|e| err(&field, format!("does not compile: {e}")))?;
            Check::Regex { pattern }
        }
        "number_within" => {
            known_keys(object, at, &["name", "weight", "number_within"])?;
            let inner = object["number_within"].as_object().ok_or_else(|| {
                err(&field, "must be an object such as {\"value\": 42, \"abs_tolerance\": 0.5} (no `value`: the reference answer)")
            })?;
            known_keys(inner, &field, &["value", "reference", "abs_tolerance", "rel_tolerance", "partial_credit"])?;
            let value = match (inner.get("value"), reference_source(inner, &field)?) {
                (Some(_), Some(_)) => return Err(err(&field, "gives both `value` and `reference`; keep one")),
                (Some(v), None) => match v.as_f64() {
                    Some(x) if x.is_finite() => Expected::Literal(x),
                    _ => {
                        return Err(err(
                            format!("{field}.value"),
                            format!("must be a number, not {}", clip(&v.to_string())),
                        ));
                    }
                },
                (None, Some(p)) => Expected::Reference(p),
                (None, None) => Expected::Reference(None),
            };
            Check::NumberWithin {
                value,
                tolerance: tolerance(inner, &field)?,
                partial_credit: optional_bool(inner, &field, "partial_credit")?.unwrap_or(false),
            }
        }
        "json_field_equals" => {
            known_keys(object, at, &["name", "weight", "json_field_equals"])?;
            let inner = object["json_field_equals"]
                .as_object()
                .ok_or_else(|| err(&field, "must be an object such as {\"path\": \"label\", \"value\": \"spam\"}"))?;
            known_keys(inner, &field, &["path", "value", "reference", "case_sensitive"])?;
            let path = optional_path(inner, &field, "path")?.ok_or_else(|| {
                err(format!("{field}.path"), "is missing; name the field of the response's JSON to check")
            })?;
            let value = match (inner.get("value"), reference_source(inner, &field)?) {
                (Some(_), Some(_)) => return Err(err(&field, "gives both `value` and `reference`; keep one")),
                (Some(v), None) => Expected::Literal(v.clone()),
                (None, Some(p)) => Expected::Reference(p),
                // The same field of the reference answer.
                (None, None) => Expected::Reference(Some(path.clone())),
            };
            let case_sensitive = optional_bool(inner, &field, "case_sensitive")?.unwrap_or(false);
            Check::JsonFieldEquals { path, value, case_sensitive }
        }
        _ => unreachable!("kind comes from CHECKS"),
    };
    Ok(Criterion { name, weight, check })
}

/// Compiles a rubric pattern with the limits every pattern gets.
pub(crate) fn compile(pattern: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).nest_limit(REGEX_NEST_LIMIT).build()
}

/// `reference`: absent (None), `true` (Some(None): the whole answer) or a path (Some(Some(path))).
fn reference_source(object: &Map<String, Value>, at: &str) -> Result<Option<Option<FieldPath>>, GraderSpecError> {
    let field = format!("{at}.reference");
    match object.get("reference") {
        None => Ok(None),
        Some(Value::Bool(true)) => Ok(Some(None)),
        Some(Value::String(p)) => FieldPath::parse(p).map(|p| Some(Some(p))).map_err(|e| err(field, e.to_string())),
        Some(other) => Err(err(
            field,
            format!("must be true or a field path such as \"answer\", not {}", clip(&other.to_string())),
        )),
    }
}

fn tolerance(object: &Map<String, Value>, at: &str) -> Result<Tolerance, GraderSpecError> {
    let read = |key: &str| -> Result<Option<f64>, GraderSpecError> {
        match object.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
                _ => Err(err(join(at, key), format!("must be a number ≥ 0, not {}", clip(&v.to_string())))),
            },
        }
    };
    Ok(Tolerance { absolute: read("abs_tolerance")?, relative: read("rel_tolerance")? })
}

fn optional_bool(object: &Map<String, Value>, at: &str, key: &str) -> Result<Option<bool>, GraderSpecError> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(err(join(at, key), format!("must be true or false, not {}", clip(&other.to_string())))),
    }
}

fn optional_path(object: &Map<String, Value>, at: &str, key: &str) -> Result<Option<FieldPath>, GraderSpecError> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(p)) => FieldPath::parse(p).map(Some).map_err(|e| err(join(at, key), e.to_string())),
        Some(other) => {
            Err(err(join(at, key), format!("must be a field path such as \"answer\", not {}", kind_of(other))))
        }
    }
}

fn known_keys(object: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), GraderSpecError> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(err(join(at, key), format!("is not a known field here; known: {}", known.join(", ")))),
    }
}

fn non_empty_text(s: &str, field: &str) -> Result<String, GraderSpecError> {
    if s.is_empty() {
        return Err(err(field, "is empty"));
    }
    bounded_text(s, field).map(str::to_string)
}

fn bounded_text<'a>(s: &'a str, field: &str) -> Result<&'a str, GraderSpecError> {
    let chars = s.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(err(field, format!("has {chars} characters; at most {MAX_TEXT_CHARS} are allowed")));
    }
    Ok(s)
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_string() } else { format!("{at}.{key}") }
}

/// A value's JSON kind, for messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Hostile input is echoed in messages only in part.
fn clip(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn put_path(m: &mut Map<String, Value>, key: &str, path: &Option<FieldPath>) {
    if let Some(p) = path {
        m.insert(key.into(), p.as_str().into());
    }
}

fn put_flag(m: &mut Map<String, Value>, key: &str, on: bool) {
    if on {
        m.insert(key.into(), true.into());
    }
}

fn put_tolerance(m: &mut Map<String, Value>, t: &Tolerance) {
    if let Some(a) = t.absolute {
        m.insert("abs_tolerance".into(), a.into());
    }
    if let Some(r) = t.relative {
        m.insert("rel_tolerance".into(), r.into());
    }
}

impl Serialize for GraderSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_value() {
            Value::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in &m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            _ => unreachable!("to_value returns an object"),
        }
    }
}

impl<'de> Deserialize<'de> for GraderSpec {
    /// Through [`GraderSpec::from_value`], so a config's error names the field the same way.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        GraderSpec::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// Why a record could not carry the run's grader spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "the record already has a top-level `{METADATA_KEY}` field, which the pipeline reserves for the run's grader spec; rename that field"
    )]
    KeyTaken,
    #[error("the record is not a JSON object")]
    NotAnObject,
}

/// Writes `record` (one JSON object, as validated) to `out` with the spec under [`METADATA_KEY`],
/// without re-serializing the record: `{"finetune_grader":<spec>,` goes in after the opening brace.
/// `spec_json` is the compact JSON of the spec (`serde_json::to_string(&spec)`), made once per run.
pub fn embed_in_record(record: &[u8], spec_json: &str, out: &mut Vec<u8>) -> Result<(), EmbedError> {
    let start = record.iter().position(|b| !b.is_ascii_whitespace()).ok_or(EmbedError::NotAnObject)?;
    if record[start] != b'{' {
        return Err(EmbedError::NotAnObject);
    }
    // The key can only be taken if its text occurs; only then is the record parsed to be sure it is
    // a top-level key (and not, say, part of a message).
    let needle = format!("\"{METADATA_KEY}\"");
    if memchr::memmem::find(record, needle.as_bytes()).is_some() {
        let parsed: Value = serde_json::from_slice(record).map_err(|_| EmbedError::NotAnObject)?;
        if parsed.as_object().ok_or(EmbedError::NotAnObject)?.contains_key(METADATA_KEY) {
            return Err(EmbedError::KeyTaken);
        }
    }
    let rest = &record[start + 1..];
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    out.reserve(record.len() + spec_json.len() + METADATA_KEY.len() + 4);
    out.extend_from_slice(&record[..=start]);
    out.extend_from_slice(needle.as_bytes());
    out.push(b':');
    out.extend_from_slice(spec_json.as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// Copies the JSON Lines file `from` to `to` with the spec embedded in every record
/// ([`embed_in_record`]); blank lines are dropped. The records written, or the first line (from 1)
/// that cannot carry it and why.
pub fn embed_in_file(
    from: &std::path::Path,
    to: &std::path::Path,
    spec: &GraderSpec,
) -> Result<u64, (u64, EmbedFileError)> {
    use std::io::{BufRead, Write};
    let io = |e: std::io::Error| (0, EmbedFileError::Io(e.to_string()));
    let spec_json = serde_json::to_string(spec).map_err(|e| (0, EmbedFileError::Io(e.to_string())))?;
    let reader = std::io::BufReader::new(std::fs::File::open(from).map_err(io)?);
    let mut writer = std::io::BufWriter::new(std::fs::File::create(to).map_err(io)?);
    let (mut line_no, mut written, mut out) = (0u64, 0u64, Vec::new());
    for line in reader.split(b'\n') {
        line_no += 1;
        let line = line.map_err(io)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.clear();
        embed_in_record(&line, &spec_json, &mut out).map_err(|e| (line_no, EmbedFileError::Record(e)))?;
        out.push(b'\n');
        writer.write_all(&out).map_err(io)?;
        written += 1;
    }
    writer.flush().map_err(io)?;
    Ok(written)
}

/// Why [`embed_in_file`] stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedFileError {
    #[error("{0}")]
    Record(EmbedError),
    #[error("reading or writing the prepared file: {0}")]
    Io(String),
}

#[cfg(test)]
mod tests;
