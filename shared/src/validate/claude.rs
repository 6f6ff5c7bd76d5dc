//! Claude 3 Haiku fine-tuning:
//! `{"system": "...", "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}`.
//!
//! Content and system are plain strings (not the block arrays of the Converse format); single- and
//! multi-turn conversations are both allowed, with the same turn order as the conversation format.

use super::chat::{ASSISTANT, LastTurn, USER, check_turns, messages_array, object_at, role};
use super::fields::{kind_of, warn_unknown_keys};
use super::{Label, RecordCx, RecordText};
use crate::report::Code;
use crate::tokens::TextSize;
use serde_json::{Map, Value};

/// A last answer longer than this cannot be a class label; not copied.
const MAX_LABEL_BYTES: usize = 1024;

pub(super) fn check(object: &Map<String, Value>, cx: &mut RecordCx<'_>) -> RecordText {
    warn_unknown_keys(object, &["system", "messages"], "", cx);
    let mut text = RecordText::default();
    match object.get("system") {
        None => {}
        Some(Value::String(s)) => {
            if s.trim().is_empty() {
                cx.warn("system", Code::EmptyValue, "`system` is empty; give instructions or leave the key out");
            }
            text.input.add(TextSize::of(s));
        }
        Some(Value::Array(_)) => cx.error(
            "system",
            Code::WrongType,
            "Claude 3 Haiku fine-tuning takes `system` as a plain string, not an array of blocks: write \"system\": \"...\"",
        ),
        Some(other) => {
            cx.error("system", Code::WrongType, format!("`system` must be a string, not {}", kind_of(other)))
        }
    }
    let Some(messages) = messages_array(object, cx) else {
        return text;
    };
    let mut roles = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let Some(message) = object_at(message, &path, "a message", r#"{"role": ..., "content": "..."}"#, cx) else {
            roles.push(None);
            continue;
        };
        let role = role(message, &path, &[USER, ASSISTANT], cx);
        roles.push(role);
        if let Some(content) = content(message, &path, cx) {
            if role == Some(ASSISTANT) {
                text.output.add(TextSize::of(content));
                let trimmed = content.trim();
                text.label = (trimmed.len() <= MAX_LABEL_BYTES).then(|| Label::Decoded(trimmed.to_string()));
            } else {
                text.input.add(TextSize::of(content));
            }
        }
        warn_unknown_keys(message, &["role", "content"], &path, cx);
    }
    check_turns(&roles, LastTurn::Assistant, cx);
    text
}

/// A message's `content`: a non-empty string.
fn content<'v>(message: &'v Map<String, Value>, path: &str, cx: &mut RecordCx<'_>) -> Option<&'v str> {
    let path = format!("{path}.content");
    match message.get("content") {
        Some(Value::String(s)) if s.trim().is_empty() => {
            cx.error(path, Code::EmptyValue, "`content` is empty; write the turn, or remove the message");
            None
        }
        Some(Value::String(s)) => Some(s),
        None => {
            cx.error(path, Code::MissingField, "the message has no `content`; add it as a string");
            None
        }
        Some(Value::Array(_)) => {
            cx.error(
                path,
                Code::WrongType,
                "Claude 3 Haiku fine-tuning takes plain-string content, not an array of blocks: write \"content\": \"...\"",
            );
            None
        }
        Some(other) => {
            cx.error(path, Code::WrongType, format!("`content` must be a string, not {}", kind_of(other)));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::CustomizationType::FineTuning;
    use crate::report::{Code, Report};
    use crate::validate::test_support::{line_errors as errors, line_warnings as warnings, *};

    const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0:200k";
    const GOOD: &str = r#"{"system": "Be brief.", "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}"#;

    fn msg(role: &str, content: &str) -> String {
        format!(r#"{{"role": "{role}", "content": "{content}"}}"#)
    }
    fn record(messages: &[String]) -> String {
        format!(r#"{{"messages": [{}]}}"#, messages.join(", "))
    }
    /// A good line 1, then `bad` on line 2.
    fn check(bad: &str) -> Report {
        run(&opts(HAIKU, FineTuning), &format!("{GOOD}\n{bad}\n"))
    }

    #[test]
    fn single_and_multi_turn_records_pass() {
        let multi = record(&[msg("user", "a"), msg("assistant", "b"), msg("user", "c"), msg("assistant", "d")]);
        let r = check(&multi);
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![]);
        // Line 1: "Be brief." + "2+2?" in, "4" out; line 2: "a" + "c" in, "b" + "d" out (4 chars per token).
        assert_eq!((r.tokens.input, r.tokens.output), (4 + 1, 1 + 1));
    }

    #[test]
    fn content_must_be_a_non_empty_string() {
        let blocks = record(&[r#"{"role": "user", "content": [{"text": "a"}]}"#.to_string(), msg("assistant", "b")]);
        let r = check(&blocks);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::WrongType)]);
        assert!(r.errors.iter().any(|e| e.message.contains("plain-string content")));
        let r = check(&record(&[msg("user", "a"), msg("assistant", " ")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].content"), Code::EmptyValue)]);
        let r = check(&record(&[r#"{"role": "user"}"#.to_string(), msg("assistant", "b")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::MissingField)]);
    }

    #[test]
    fn system_is_an_optional_string() {
        assert_eq!(errors(&check(&record(&[msg("user", "a"), msg("assistant", "b")]))), vec![]);
        let r = check(
            r#"{"system": [{"text": "x"}], "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}"#,
        );
        assert_eq!(errors(&r), vec![(Some(2), Some("system"), Code::WrongType)]);
    }

    #[test]
    fn roles_and_turn_order() {
        let r = check(&record(&[msg("human", "a"), msg("assistant", "b")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
        let r = check(&record(&[msg("system", "s"), msg("user", "a"), msg("assistant", "b")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
        assert!(r.errors.iter().any(|e| e.message.contains("top-level `system`")));
        let r = check(&record(&[msg("assistant", "a"), msg("user", "b"), msg("assistant", "c")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::FirstMessageNotUser)]);
        let r = check(&record(&[msg("user", "a"), msg("assistant", "b"), msg("assistant", "c")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[2].role"), Code::RolesNotAlternating)]);
        let r = check(&record(&[msg("user", "a"), msg("assistant", "b"), msg("user", "c")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[2].role"), Code::LastMessageNotAssistant)]);
    }

    #[test]
    fn messages_missing_or_mistyped_and_unknown_keys() {
        let r = run(&opts(HAIKU, FineTuning), "{\"system\": \"s\"}\n{\"messages\": \"hi\"}\n");
        assert_eq!(
            errors(&r),
            vec![(Some(1), Some("messages"), Code::MissingField), (Some(2), Some("messages"), Code::WrongType)]
        );
        let extra = GOOD.replacen('{', "{\"id\": 1, ", 1);
        let r = check(&extra);
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("id"), Code::UnknownField)]);
    }

    #[test]
    fn the_label_is_the_last_answer() {
        let data: String = (0..40)
            .map(|i| {
                record(&[msg("user", &format!("q{i}")), msg("assistant", if i % 2 == 0 { "yes " } else { "no" })])
                    + "\n"
            })
            .collect();
        let r = run(&opts(HAIKU, FineTuning), &data);
        assert!(r.valid, "{:?}", r.errors);
        assert_eq!(r.classes, Some(vec![("no".to_string(), 20), ("yes".to_string(), 20)]));
    }
}
