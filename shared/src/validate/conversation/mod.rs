//! `bedrock-conversation-2024` (Nova, Llama 3.2 / 3.3 fine-tuning) and distillation prompts.
//!
//! ```json
//! {"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}],
//!  "messages": [{"role": "user", "content": [{"text": "..."}]}, {"role": "assistant", "content": [{"text": "..."}]}]}
//! ```
//!
//! Rules are the Nova user guide's (roles, reserved tokens, media counts and file names) and the
//! Converse API's shapes (image and video formats, S3 locations, in `media.rs`). Roles, turn order
//! and reserved tokens are shared with the Claude and RFT checkers (`../chat.rs`).

mod media;
#[cfg(test)]
mod tests;

use super::chat::{ASSISTANT, LastTurn, Reserved, USER, check_turns, messages_array, object_at, role};
use super::fields::{kind_of, warn_unknown_keys};
use super::{Label, RecordCx, RecordText};
use crate::catalogue::Family;
use crate::report::Code;
use crate::tokens::TextSize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Supervised fine-tuning: the conversation must end with the assistant turn to learn.
    FineTuning,
    /// Distillation prompts: the teacher writes the answers, so an assistant turn is optional.
    Distillation,
}

/// A last assistant text longer than this cannot be a class label; not copied (saves an allocation
/// per record on large conversational datasets).
const MAX_LABEL_BYTES: usize = 1024;

pub(super) fn check(object: &Map<String, Value>, cx: &mut RecordCx<'_>, mode: Mode) -> RecordText {
    warn_unknown_keys(object, &["schemaVersion", "system", "messages"], "", cx);
    let mut text = RecordText::default();
    let nova = matches!(cx.model.family, Family::Nova | Family::Nova2);
    // The guide says the job fails on reserved tokens for fine-tuning; for distillation it is not
    // stated, so there they are warnings.
    let reserved = match (nova, mode) {
        (false, _) => Reserved::Ignore,
        (true, Mode::FineTuning) => Reserved::Error,
        (true, Mode::Distillation) => Reserved::Warn,
    };

    match object.get("schemaVersion") {
        // Nova: "may be any string"; AWS's validator treats it as optional, so a missing one is
        // only a warning (Bedrock's own examples always include it).
        None => cx.warn(
            "schemaVersion",
            Code::MissingField,
            "`schemaVersion` is missing; add \"schemaVersion\": \"bedrock-conversation-2024\" as in Bedrock's examples",
        ),
        Some(Value::String(_)) => {}
        Some(other) => cx.error(
            "schemaVersion",
            Code::WrongType,
            format!("`schemaVersion` must be a string such as \"bedrock-conversation-2024\", not {}", kind_of(other)),
        ),
    }

    if let Some(system) = object.get("system") {
        check_system(system, reserved, &mut text, cx);
    }

    if let Some(messages) = messages_array(object, cx) {
        check_messages(messages, mode, reserved, &mut text, cx);
    }
    text
}

fn check_system(system: &Value, reserved: Reserved, text: &mut RecordText, cx: &mut RecordCx<'_>) {
    let blocks = match system {
        Value::Array(blocks) => blocks,
        Value::String(_) => {
            cx.error(
                "system",
                Code::WrongType,
                "in this format `system` is an array of text blocks: write \"system\": [{\"text\": \"...\"}]",
            );
            return;
        }
        other => {
            cx.error(
                "system",
                Code::WrongType,
                format!(
                    "`system` must be an array of text blocks such as [{{\"text\": \"...\"}}], not {}",
                    kind_of(other)
                ),
            );
            return;
        }
    };
    for (i, block) in blocks.iter().enumerate() {
        let path = format!("system[{i}]");
        let Some(block) = object_at(block, &path, "a system block", r#"{"text": "..."}"#, cx) else {
            continue;
        };
        match block.get("text") {
            Some(Value::String(s)) => {
                if s.trim().is_empty() {
                    cx.warn(format!("{path}.text"), Code::EmptyValue, "this system text is empty; remove the block");
                }
                reserved.check(s, &format!("{path}.text"), cx);
                text.input.add(TextSize::of(s));
            }
            Some(other) => cx.error(
                format!("{path}.text"),
                Code::WrongType,
                format!("`text` must be a string, not {}", kind_of(other)),
            ),
            None => cx.error(
                path.clone(),
                Code::InvalidContentBlock,
                "a system block holds text only: write {\"text\": \"...\"}",
            ),
        }
        if block.contains_key("text") {
            warn_unknown_keys(block, &["text"], &path, cx);
        }
    }
}

fn check_messages(messages: &[Value], mode: Mode, reserved: Reserved, text: &mut RecordText, cx: &mut RecordCx<'_>) {
    let mut roles = Vec::with_capacity(messages.len());
    let mut media = media::MediaCount::default();
    let mut last_answer: Option<String> = None;
    for (i, message) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let Value::Object(message) = message else {
            cx.error(
                path,
                Code::WrongType,
                format!("a message must be an object {{\"role\": ..., \"content\": [...]}}, not {}", kind_of(message)),
            );
            roles.push(None);
            continue;
        };
        let role = role(message, &path, &[USER, ASSISTANT], cx);
        roles.push(role);
        let content_path = format!("{path}.content");
        let blocks = match message.get("content") {
            None => {
                cx.error(&content_path, Code::MissingField, "the message has no `content`; add [{\"text\": \"...\"}]");
                None
            }
            Some(Value::Array(b)) if b.is_empty() => {
                cx.error(
                    &content_path,
                    Code::EmptyValue,
                    "`content` is empty; add at least one {\"text\": \"...\"} block",
                );
                None
            }
            Some(Value::Array(b)) => Some(b),
            Some(Value::String(_)) => {
                cx.error(
                    &content_path,
                    Code::WrongType,
                    "in this format `content` is an array of blocks: write \"content\": [{\"text\": \"...\"}]",
                );
                None
            }
            Some(other) => {
                cx.error(
                    &content_path,
                    Code::WrongType,
                    format!(
                        "`content` must be an array of blocks such as [{{\"text\": \"...\"}}], not {}",
                        kind_of(other)
                    ),
                );
                None
            }
        };
        if let Some(blocks) = blocks {
            let turn = check_content(blocks, &content_path, role, mode, reserved, &mut media, cx);
            if turn.texts == 0 && turn.media == 0 && turn.all_valid {
                cx.error(content_path, Code::EmptyValue, "the message has no text; write the turn, or remove it");
            }
            match role {
                Some(ASSISTANT) => {
                    text.output.add(turn.size);
                    last_answer = turn.label;
                }
                _ => text.input.add(turn.size),
            }
        }
        warn_unknown_keys(message, &["role", "content"], &path, cx);
    }
    media::check_totals(&media, cx);
    let last = match mode {
        Mode::FineTuning => LastTurn::Assistant,
        Mode::Distillation => LastTurn::Any,
    };
    check_turns(&roles, last, cx);
    text.label = last_answer.map(Label::Decoded);
}

/// What the blocks of one message held.
struct Turn {
    size: TextSize,
    /// Non-blank text blocks.
    texts: usize,
    media: usize,
    /// The turn's text trimmed, when short enough to be a label.
    label: Option<String>,
    /// Every block was well formed (so "no text" is the message's only problem).
    all_valid: bool,
}

fn check_content(
    blocks: &[Value],
    path: &str,
    role: Option<&str>,
    mode: Mode,
    reserved: Reserved,
    media: &mut media::MediaCount,
    cx: &mut RecordCx<'_>,
) -> Turn {
    let mut turn = Turn { size: TextSize::default(), texts: 0, media: 0, label: None, all_valid: true };
    let mut label = String::new();
    let mut label_fits = true;
    for (j, block) in blocks.iter().enumerate() {
        let path = format!("{path}[{j}]");
        let Value::Object(block) = block else {
            turn.all_valid = false;
            cx.error(
                path,
                Code::InvalidContentBlock,
                format!("a content block must be an object such as {{\"text\": \"...\"}}, not {}", kind_of(block)),
            );
            continue;
        };
        let kinds: Vec<&str> =
            ["text", "image", "video"].into_iter().filter(|k| block.contains_key(*k)).collect::<Vec<_>>();
        let kind = match kinds.as_slice() {
            [one] => *one,
            [] => {
                turn.all_valid = false;
                let keys: Vec<&str> = block.keys().map(String::as_str).collect();
                cx.error(
                    path,
                    Code::InvalidContentBlock,
                    format!(
                        "a content block must have one of `text`, `image` or `video`; this one has {}",
                        if keys.is_empty() { "no keys".to_string() } else { format!("`{}`", keys.join("`, `")) }
                    ),
                );
                continue;
            }
            several => {
                turn.all_valid = false;
                cx.error(
                    path,
                    Code::InvalidContentBlock,
                    format!(
                        "a content block holds exactly one of `text`, `image` or `video`, this one has `{}`: split it into one block each",
                        several.join("`, `")
                    ),
                );
                continue;
            }
        };
        warn_unknown_keys(block, &[kind], &path, cx);
        match kind {
            "text" => match block.get("text") {
                Some(Value::String(s)) => {
                    let text_path = format!("{path}.text");
                    if s.trim().is_empty() {
                        cx.warn(&text_path, Code::EmptyValue, "this text block is empty; remove it");
                    } else {
                        turn.texts += 1;
                    }
                    reserved.check(s, &text_path, cx);
                    turn.size.add(TextSize::of(s));
                    label_fits = label_fits && label.len() + s.len() <= MAX_LABEL_BYTES;
                    if label_fits {
                        label.push_str(s);
                    }
                }
                Some(other) => {
                    turn.all_valid = false;
                    cx.error(
                        format!("{path}.text"),
                        Code::WrongType,
                        format!("`text` must be a string, not {}", kind_of(other)),
                    );
                }
                None => {}
            },
            _ => {
                turn.media += 1;
                if !media::check_block(block, kind, &path, role, mode, media, cx) {
                    turn.all_valid = false;
                }
            }
        }
    }
    if label_fits {
        let trimmed = label.trim();
        turn.label = (!trimmed.is_empty()).then(|| trimmed.to_string());
    }
    turn
}
