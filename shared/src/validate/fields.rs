//! Helpers the format checkers share: a value's kind for messages, required text fields, unknown keys.

use super::RecordCx;
use crate::report::Code;
use serde_json::{Map, Value};

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A helper for format checkers: a required, non-empty string field.
pub(crate) fn required_text<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    path: &str,
    cx: &mut RecordCx<'_>,
) -> Option<&'v str> {
    match object.get(key) {
        None => {
            cx.error(path, Code::MissingField, format!("`{key}` is missing; add it as a non-empty string"));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            cx.error(path, Code::EmptyValue, format!("`{key}` is empty; give it text, or remove the record"));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            cx.error(path, Code::WrongType, format!("`{key}` must be a string, not {}", kind_of(other)));
            None
        }
    }
}

/// A helper for format checkers: warns about keys the format does not define.
pub(crate) fn warn_unknown_keys(object: &Map<String, Value>, known: &[&str], prefix: &str, cx: &mut RecordCx<'_>) {
    for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        cx.warn(
            path,
            Code::UnknownField,
            format!("`{key}` is not part of the format and is ignored by Bedrock; known: {}", known.join(", ")),
        );
    }
}

/// The start of a value, for a message.
pub(super) fn preview(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
