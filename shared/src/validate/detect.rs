//! Guessing a record's format from its keys, to tell a user they chose the wrong model or type.

use crate::catalogue::DatasetFormat;
use serde_json::{Map, Value};

/// Guesses a record's format from its keys, to tell a user they chose the wrong model or type.
/// `None` when the record matches no format well enough to say.
pub(super) fn detect(object: &Map<String, Value>) -> Option<DatasetFormat> {
    let has = |k: &str| object.contains_key(k);
    if has("prompt") && has("completion") {
        return Some(DatasetFormat::PromptCompletion);
    }
    if has("input") && object.len() == 1 {
        return Some(DatasetFormat::ContinuedPreTraining);
    }
    let messages = object.get("messages").and_then(Value::as_array);
    if let Some(messages) = messages {
        let string_content = messages.iter().any(|m| m.get("content").is_some_and(Value::is_string));
        let block_content = messages.iter().any(|m| m.get("content").is_some_and(Value::is_array));
        if has("reference_answer") {
            return Some(DatasetFormat::ReinforcementChat);
        }
        if has("schemaVersion") || block_content && !string_content {
            return Some(DatasetFormat::Conversation);
        }
        if string_content && !block_content {
            return Some(DatasetFormat::ClaudeMessages);
        }
    }
    None
}

/// Formats whose records can look alike without being wrong.
pub(super) fn compatible(detected: DatasetFormat, expected: DatasetFormat) -> bool {
    detected == expected
        || matches!(
            (detected, expected),
            (DatasetFormat::Conversation, DatasetFormat::DistillationPrompts)
                | (DatasetFormat::ClaudeMessages, DatasetFormat::ReinforcementChat)
        )
}
