//! Reinforcement fine-tuning (Nova 2 Lite): OpenAI chat-completions prompts plus a reference answer,
//! `{"messages": [{"role": "user", "content": "..."}], "reference_answer": <any JSON>, ...}`.
//!
//! The model writes the answer during training and a grader scores it against `reference_answer`, so
//! a record is a prompt, not a conversation to imitate. Other top-level fields are passed to the
//! grader as metadata and are not warned about.

use super::chat::{ASSISTANT, Reserved, SYSTEM, USER, messages_array, object_at, role};
use super::fields::{kind_of, warn_unknown_keys};
use super::{Label, RecordCx, RecordText};
use crate::report::Code;
use crate::tokens::TextSize;
use serde_json::{Map, Value};

pub(super) fn check(object: &Map<String, Value>, cx: &mut RecordCx<'_>) -> RecordText {
    let mut text = RecordText::default();
    match object.get("reference_answer") {
        None => cx.error(
            "reference_answer",
            Code::MissingField,
            "`reference_answer` is missing; add what the grader compares the model's answer with (any JSON value)",
        ),
        Some(Value::Null) => cx.error(
            "reference_answer",
            Code::EmptyValue,
            "`reference_answer` is null; give the expected answer or grading criteria",
        ),
        Some(Value::String(s)) if s.trim().is_empty() => cx.warn(
            "reference_answer",
            Code::EmptyValue,
            "`reference_answer` is an empty string; the grader has nothing to compare with",
        ),
        // A short string answer doubles as a class label for the stratified split.
        Some(Value::String(s)) => text.label = Some(Label::Decoded(s.trim().to_string())),
        Some(_) => {}
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
        let role = role(message, &path, &[SYSTEM, USER, ASSISTANT], cx);
        if role == Some(SYSTEM) && i > 0 {
            cx.error(
                format!("{path}.role"),
                Code::InvalidRole,
                "a `system` message may only come first; move it to the start or merge it into the first one",
            );
        }
        roles.push(role);
        content(message, &path, &mut text.input, cx);
        warn_unknown_keys(message, &["role", "content"], &path, cx);
    }
    if !roles.contains(&Some(USER)) && roles.iter().all(Option::is_some) {
        cx.error("messages", Code::MissingField, "there is no `user` message; add the prompt the model should answer");
    }
    // The docs describe `messages` as the input prompt, and the grader gets it followed by the model's
    // response, so the prompt normally ends with the user's turn. A trailing assistant turn is not
    // documented as rejected, hence a warning, not an error.
    if let Some(Some(ASSISTANT)) = roles.last() {
        cx.warn(
            format!("messages[{}].role", roles.len() - 1),
            Code::LastMessageNotUser,
            "the prompt ends with an assistant message; the model answers after the last message, so end with the user's turn \
             (put the expected answer in `reference_answer`)",
        );
    }
    text
}

/// Adds a message's text to `input`. Content is a non-empty string; OpenAI's array of text parts is
/// accepted with a warning, since Bedrock's examples only show strings.
fn content(message: &Map<String, Value>, path: &str, input: &mut TextSize, cx: &mut RecordCx<'_>) {
    let path = format!("{path}.content");
    match message.get("content") {
        Some(Value::String(s)) if s.trim().is_empty() => {
            cx.error(path, Code::EmptyValue, "`content` is empty; write the message, or remove it")
        }
        Some(Value::String(s)) => {
            reserved(s, &path, cx);
            input.add(TextSize::of(s));
        }
        None => cx.error(path, Code::MissingField, "the message has no `content`; add it as a string"),
        Some(Value::Array(parts)) => {
            let texts: Option<Vec<&str>> = parts
                .iter()
                .map(|p| match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(t)) => Some(t),
                    _ => None,
                })
                .collect();
            match texts {
                Some(texts) if texts.iter().any(|t| !t.trim().is_empty()) => {
                    cx.warn(
                        &path,
                        Code::WrongType,
                        "Bedrock's RFT examples give `content` as a string; join the text parts into one string to be safe",
                    );
                    for t in texts {
                        reserved(t, &path, cx);
                        input.add(TextSize::of(t));
                    }
                }
                _ => cx.error(
                    path,
                    Code::WrongType,
                    "`content` must be a string (text only); write \"content\": \"...\"",
                ),
            }
        }
        Some(other) => cx.error(path, Code::WrongType, format!("`content` must be a string, not {}", kind_of(other))),
    }
}

/// Nova reserves chat-template tokens; whether RFT rejects them is not documented, so a warning.
fn reserved(text: &str, path: &str, cx: &mut RecordCx<'_>) {
    Reserved::Warn.check(text, path, cx);
}

#[cfg(test)]
mod tests {
    use crate::CustomizationType::ReinforcementFineTuning;
    use crate::report::{Code, Report};
    use crate::validate::test_support::{line_errors as errors, line_warnings as warnings, *};

    const NOVA2: &str = "amazon.nova-2-lite-v1:0:256k";
    const GOOD: &str = r#"{"messages": [{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": "2+2?"}], "reference_answer": "4"}"#;

    fn msg(role: &str, content: &str) -> String {
        format!(r#"{{"role": "{role}", "content": "{content}"}}"#)
    }
    fn record(messages: &[String], answer: &str) -> String {
        format!(r#"{{"messages": [{}], "reference_answer": {answer}}}"#, messages.join(", "))
    }
    fn check(bad: &str) -> Report {
        run(&opts(NOVA2, ReinforcementFineTuning), &format!("{GOOD}\n{bad}\n"))
    }

    #[test]
    fn a_prompt_with_any_reference_answer_and_metadata_passes() {
        let structured = record(&[msg("user", "Sort 3,1,2")], r#"{"sorted": [1, 2, 3]}"#).replacen(
            '{',
            r#"{"task_id": 7, "difficulty": "easy", "#,
            1,
        );
        let r = check(&structured);
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![], "extra fields go to the grader: no warning");
        // All message text is input, nothing is output: line 1 is 21 + 4 characters, line 2 is 10.
        assert_eq!((r.tokens.input, r.tokens.output), (7 + 3, 0));
    }

    #[test]
    fn reference_answer_is_required_and_not_null() {
        let r = check(r#"{"messages": [{"role": "user", "content": "q"}]}"#);
        assert_eq!(errors(&r), vec![(Some(2), Some("reference_answer"), Code::MissingField)]);
        let r = check(&record(&[msg("user", "q")], "null"));
        assert_eq!(errors(&r), vec![(Some(2), Some("reference_answer"), Code::EmptyValue)]);
        let r = check(&record(&[msg("user", "q")], "\"\""));
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("reference_answer"), Code::EmptyValue)]);
    }

    #[test]
    fn roles_system_first_and_a_user_message() {
        let r = check(&record(&[msg("tool", "x"), msg("user", "q")], "1"));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
        let r = check(&record(&[msg("user", "q"), msg("system", "s"), msg("user", "q")], "1"));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].role"), Code::InvalidRole)]);
        let r = check(&record(&[msg("system", "s")], "1"));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages"), Code::MissingField)]);
        // Multi-turn prompts need not alternate strictly.
        let r = check(&record(&[msg("user", "a"), msg("assistant", "b"), msg("user", "c"), msg("user", "d")], "1"));
        assert_eq!(errors(&r), vec![]);
    }

    #[test]
    fn a_prompt_ending_with_the_assistant_is_a_warning() {
        let r = check(&record(&[msg("user", "q"), msg("assistant", "a")], "1"));
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("messages[1].role"), Code::LastMessageNotUser)]);
    }

    #[test]
    fn content_is_a_non_empty_string_text_parts_warn() {
        let r = check(&record(&[msg("user", "")], "1"));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::EmptyValue)]);
        let parts = record(&[r#"{"role": "user", "content": [{"type": "text", "text": "q"}]}"#.to_string()], "1");
        let r = check(&parts);
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content"), Code::WrongType)]);
        let image =
            record(&[r#"{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}"#.to_string()], "1");
        assert_eq!(errors(&check(&image)), vec![(Some(2), Some("messages[0].content"), Code::WrongType)]);
        let r = check(&record(&[r#"{"role": "user", "content": 5}"#.to_string()], "1"));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::WrongType)]);
    }

    #[test]
    fn messages_are_required_and_reserved_tokens_warn() {
        let r = check(r#"{"reference_answer": "4", "messages": []}"#);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages"), Code::EmptyValue)]);
        let r = check(&record(&[msg("user", "User: what is 2+2?")], "\"4\""));
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content"), Code::ReservedToken)]);
    }

    #[test]
    fn a_short_string_answer_is_the_label() {
        let data: String = (0..120)
            .map(|i| record(&[msg("user", &format!("q{i}"))], if i < 110 { "\"A\"" } else { "\" B \"" }) + "\n")
            .collect();
        let r = run(&opts(NOVA2, ReinforcementFineTuning), &data);
        assert!(r.valid, "{:?}", r.errors);
        assert_eq!(r.classes, Some(vec![("A".to_string(), 110), ("B".to_string(), 10)]));
    }
}
