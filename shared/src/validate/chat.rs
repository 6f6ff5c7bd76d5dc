//! Rules the chat formats share (`bedrock-conversation-2024`, Claude messages, RFT chat): the
//! `messages` array, roles, turn order and Nova's reserved tokens.

use super::RecordCx;
use super::fields::{kind_of, preview};
use crate::report::Code;
use serde_json::{Map, Value};

pub(super) const USER: &str = "user";
pub(super) const ASSISTANT: &str = "assistant";
pub(super) const SYSTEM: &str = "system";

/// Tokens the Nova user guide says fail a fine-tuning job wherever they appear.
const RESERVED: [&str; 8] = ["User:", "Bot:", "Assistant:", "System:", "Thought:", "[EOS]", "<image>", "<video>"];
/// Upper-case variants that AWS's own Nova validator script also rejects; the user guide does not
/// list them, so they are warnings.
const RESERVED_UPPER: [&str; 4] = ["USER:", "BOT:", "ASSISTANT:", "SYSTEM:"];

/// `messages`: present, an array, not empty.
pub(super) fn messages_array<'v>(object: &'v Map<String, Value>, cx: &mut RecordCx<'_>) -> Option<&'v [Value]> {
    match object.get("messages") {
        None => {
            cx.error(
                "messages",
                Code::MissingField,
                "`messages` is missing; add the conversation as an array of messages",
            );
            None
        }
        Some(Value::Array(a)) if a.is_empty() => {
            cx.error("messages", Code::EmptyValue, "`messages` is empty; add at least one user message");
            None
        }
        Some(Value::Array(a)) => Some(a),
        Some(other) => {
            cx.error(
                "messages",
                Code::WrongType,
                format!("`messages` must be an array of messages, not {}", kind_of(other)),
            );
            None
        }
    }
}

/// `value` as an object, or an error at `path` saying what `what` must look like.
pub(super) fn object_at<'v>(
    value: &'v Value,
    path: &str,
    what: &str,
    example: &str,
    cx: &mut RecordCx<'_>,
) -> Option<&'v Map<String, Value>> {
    match value {
        Value::Object(object) => Some(object),
        other => {
            cx.error(path, Code::WrongType, format!("{what} must be an object {example}, not {}", kind_of(other)));
            None
        }
    }
}

/// Reads a message's `role`; reports it and returns `None` when it is missing or not one of `allowed`.
pub(super) fn role(
    message: &Map<String, Value>,
    path: &str,
    allowed: &[&'static str],
    cx: &mut RecordCx<'_>,
) -> Option<&'static str> {
    let role_path = format!("{path}.role");
    let names = allowed.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(" or ");
    let role = match message.get("role") {
        Some(Value::String(s)) => s.as_str(),
        None => {
            cx.error(role_path, Code::MissingField, format!("the message has no `role`; set it to {names}"));
            return None;
        }
        Some(other) => {
            cx.error(role_path, Code::WrongType, format!("`role` must be the string {names}, not {}", kind_of(other)));
            return None;
        }
    };
    if let Some(found) = allowed.iter().find(|r| **r == role) {
        return Some(found);
    }
    let hint = if let Some(lower) = allowed.iter().find(|r| r.eq_ignore_ascii_case(role)) {
        format!("roles are lower case: write `{lower}`")
    } else if role == SYSTEM {
        "put system instructions in the top-level `system` field, not in a message".to_string()
    } else {
        format!("use {names}")
    };
    cx.error(role_path, Code::InvalidRole, format!("role `{}` is not allowed here; {hint}", preview(role)));
    None
}

/// How a conversation must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LastTurn {
    Assistant,
    Any,
}

/// First user, user and assistant alternating, and (for training) ending with the assistant.
/// `roles` has one entry per message, `None` where the role was already reported.
pub(super) fn check_turns(roles: &[Option<&str>], last: LastTurn, cx: &mut RecordCx<'_>) {
    if let Some(Some(first)) = roles.first()
        && *first != USER
    {
        cx.error(
            "messages[0].role",
            Code::FirstMessageNotUser,
            format!("the conversation starts with `{first}`; it must start with a `user` message"),
        );
    }
    for (i, pair) in roles.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair
            && a == b
        {
            cx.error(
                format!("messages[{}].role", i + 1),
                Code::RolesNotAlternating,
                format!(
                    "two `{a}` messages in a row (messages[{i}] and messages[{}]); user and assistant must alternate: \
                     merge them, or put the other role's turn between",
                    i + 1
                ),
            );
        }
    }
    if last == LastTurn::Assistant
        && let Some(Some(role)) = roles.last()
        && *role != ASSISTANT
    {
        cx.error(
            format!("messages[{}].role", roles.len() - 1),
            Code::LastMessageNotAssistant,
            "the conversation ends with a user message; add the assistant's reply the model should learn, or remove the last turn",
        );
    }
}

/// How to treat reserved tokens in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reserved {
    Ignore,
    Warn,
    Error,
}

impl Reserved {
    /// Reports the reserved tokens in `text` (one issue per field, naming every token found).
    pub(super) fn check(self, text: &str, path: &str, cx: &mut RecordCx<'_>) {
        if self == Reserved::Ignore || !text.bytes().any(|b| matches!(b, b':' | b'[' | b'<')) {
            return;
        }
        let found: Vec<&str> = RESERVED.into_iter().filter(|t| text.contains(t)).collect();
        if !found.is_empty() {
            let message = format!(
                "contains {}, reserved by Nova's chat template (a job with it fails); rephrase, e.g. `Assistant -` instead of `Assistant:`",
                quote(&found)
            );
            if self == Reserved::Error {
                cx.error(path, Code::ReservedToken, message);
            } else {
                cx.warn(path, Code::ReservedToken, message);
            }
        }
        let upper: Vec<&str> = RESERVED_UPPER.into_iter().filter(|t| text.contains(t)).collect();
        if !upper.is_empty() {
            cx.warn(
                path,
                Code::ReservedToken,
                format!(
                    "contains {}, which AWS's Nova validator rejects (the user guide lists only the mixed-case forms); rephrase to be safe",
                    quote(&upper)
                ),
            );
        }
    }
}

fn quote(tokens: &[&str]) -> String {
    tokens.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
}
