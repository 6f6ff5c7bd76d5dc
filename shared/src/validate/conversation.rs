//! `bedrock-conversation-2024` (Nova, Llama 3.2 / 3.3 fine-tuning) and distillation prompts.
//!
//! ```json
//! {"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}],
//!  "messages": [{"role": "user", "content": [{"text": "..."}]}, {"role": "assistant", "content": [{"text": "..."}]}]}
//! ```
//!
//! Rules are the Nova user guide's (roles, reserved tokens, media counts and file names) and the
//! Converse API's shapes (image and video formats, S3 locations). The role and reserved-token helpers
//! here are shared with the Claude and RFT checkers.

use super::fields::{kind_of, warn_unknown_keys};
use super::{RecordCx, RecordText};
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

pub(super) const USER: &str = "user";
pub(super) const ASSISTANT: &str = "assistant";
pub(super) const SYSTEM: &str = "system";

/// Image formats of the Converse API's `ImageFormat`.
const IMAGE_FORMATS: [&str; 4] = ["png", "jpeg", "gif", "webp"];
/// Video formats the Nova fine-tuning guide and AWS's validator accept.
const VIDEO_FORMATS: [&str; 4] = ["mov", "mkv", "mp4", "webm"];
/// The rest of the Converse API's `VideoFormat`: valid for inference, not listed for fine-tuning.
const OTHER_VIDEO_FORMATS: [&str; 5] = ["flv", "mpeg", "mpg", "wmv", "three_gp"];

/// Tokens the Nova user guide says fail a fine-tuning job wherever they appear.
const RESERVED: [&str; 8] = ["User:", "Bot:", "Assistant:", "System:", "Thought:", "[EOS]", "<image>", "<video>"];
/// Upper-case variants that AWS's own Nova validator script also rejects; the user guide does not
/// list them, so they are warnings.
const RESERVED_UPPER: [&str; 4] = ["USER:", "BOT:", "ASSISTANT:", "SYSTEM:"];

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

/// `messages`: present, an array, not empty.
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

/// What one conversation's media added up to, for the per-record limits.
#[derive(Default)]
struct MediaCount {
    images: u32,
    videos: u32,
    /// Where the first video is, to point at when images and a video are mixed.
    first_video: Option<String>,
}

fn check_messages(messages: &[Value], mode: Mode, reserved: Reserved, text: &mut RecordText, cx: &mut RecordCx<'_>) {
    let mut roles = Vec::with_capacity(messages.len());
    let mut media = MediaCount::default();
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
    check_media_totals(&media, cx);
    let last = match mode {
        Mode::FineTuning => LastTurn::Assistant,
        Mode::Distillation => LastTurn::Any,
    };
    check_turns(&roles, last, cx);
    text.label = last_answer;
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
    media: &mut MediaCount,
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
                let is_video = kind == "video";
                if !check_media_block(block.get(kind), is_video, &path, cx) {
                    turn.all_valid = false;
                }
                if media_allowed(is_video, role, mode, &path, cx) {
                    if is_video {
                        media.videos += 1;
                        media.first_video.get_or_insert_with(|| path.clone());
                        let max = cx.model.media.max_videos;
                        if media.videos == max + 1 {
                            cx.error(
                                &path,
                                Code::TooManyVideos,
                                format!(
                                    "{} takes at most {max} video per record; keep one video, or split the record",
                                    cx.model.name
                                ),
                            );
                        }
                    } else {
                        media.images += 1;
                        let max = cx.model.media.max_images;
                        if media.images == max + 1 {
                            cx.error(
                                &path,
                                Code::TooManyImages,
                                format!(
                                    "{} takes at most {max} images per record; remove images, or split the record",
                                    cx.model.name
                                ),
                            );
                        }
                    }
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

/// Whether this model, customization and turn may carry an image or video; reports when not.
fn media_allowed(is_video: bool, role: Option<&str>, mode: Mode, path: &str, cx: &mut RecordCx<'_>) -> bool {
    let (what, code, max) = if is_video {
        ("video", Code::VideoNotAllowed, cx.model.media.max_videos)
    } else {
        ("images", Code::ImageNotAllowed, cx.model.media.max_images)
    };
    let reason = if mode == Mode::Distillation {
        // "Distillation supports only the text-to-text modality" (Bedrock user guide).
        Some(format!("distillation prompts are text only; remove the {what} block"))
    } else if max == 0 {
        Some(format!(
            "{} takes text only, not {what}; remove the block or choose a model that accepts {what}",
            cx.model.name
        ))
    } else if role == Some(ASSISTANT) {
        // Nova, and AWS's validator: media only in user turns, since the model writes text.
        Some(format!("{what} may appear in user turns only; move the block to the user message before it"))
    } else {
        None
    };
    match reason {
        Some(reason) => {
            cx.error(path, code, reason);
            false
        }
        None => true,
    }
}

fn check_media_totals(media: &MediaCount, cx: &mut RecordCx<'_>) {
    if media.images > 0
        && media.videos > 0
        && let Some(path) = &media.first_video
    {
        cx.error(
            path,
            Code::VideoNotAllowed,
            "a record may have images or one video, not both; move the video to a record of its own",
        );
    }
}

/// Checks `{"format": ..., "source": {"s3Location": {"uri": ..., "bucketOwner"?: ...}}}`.
/// Returns whether it is well formed.
fn check_media_block(value: Option<&Value>, is_video: bool, path: &str, cx: &mut RecordCx<'_>) -> bool {
    let kind = if is_video { "video" } else { "image" };
    let path = format!("{path}.{kind}");
    let Some(Value::Object(media)) = value else {
        cx.error(
            path,
            Code::InvalidContentBlock,
            format!(
                "`{kind}` must be an object {{\"format\": \"...\", \"source\": {{\"s3Location\": {{\"uri\": \"s3://...\"}}}}}}, not {}",
                value.map_or("missing", kind_of)
            ),
        );
        return false;
    };
    let mut ok = check_media_format(media.get("format"), is_video, &format!("{path}.format"), cx);
    ok &= check_media_source(media.get("source"), &format!("{path}.source"), cx);
    warn_unknown_keys(media, &["format", "source"], &path, cx);
    ok
}

fn check_media_format(format: Option<&Value>, is_video: bool, path: &str, cx: &mut RecordCx<'_>) -> bool {
    let allowed: &[&str] = if is_video { &VIDEO_FORMATS } else { &IMAGE_FORMATS };
    let list = allowed.join(", ");
    let format = match format {
        Some(Value::String(s)) => s.as_str(),
        None => {
            cx.error(path, Code::MissingField, format!("`format` is missing; give one of {list}"));
            return false;
        }
        Some(other) => {
            cx.error(
                path,
                Code::WrongType,
                format!("`format` must be a string, one of {list}, not {}", kind_of(other)),
            );
            return false;
        }
    };
    let lower = format.to_ascii_lowercase();
    if allowed.contains(&format) {
        true
    } else if allowed.contains(&lower.as_str()) {
        // AWS's validator lower-cases the format; the API's enum is lower case. Accept, but say so.
        cx.warn(path, Code::InvalidContentBlock, format!("write the format in lower case, `{lower}`, as the API does"));
        true
    } else if is_video && OTHER_VIDEO_FORMATS.contains(&lower.as_str()) {
        // Valid for Converse inference, but not among the formats listed for fine-tuning.
        cx.warn(
            path,
            Code::InvalidContentBlock,
            format!("`{format}` video is not among the formats listed for fine-tuning ({list}); convert it to be safe"),
        );
        true
    } else {
        let hint = if lower == "jpg" { " (write `jpeg`)" } else { "" };
        cx.error(
            path,
            Code::InvalidContentBlock,
            format!("`{format}` is not a supported format{hint}; use one of {list}"),
        );
        false
    }
}

fn check_media_source(source: Option<&Value>, path: &str, cx: &mut RecordCx<'_>) -> bool {
    const SHAPE: &str = "{\"s3Location\": {\"uri\": \"s3://bucket/key\"}}";
    let Some(Value::Object(source)) = source else {
        let problem = match source {
            None => Code::MissingField,
            Some(_) => Code::WrongType,
        };
        cx.error(path, problem, format!("`source` must be {SHAPE}"));
        return false;
    };
    if source.contains_key("bytes") && !source.contains_key("s3Location") {
        cx.error(
            format!("{path}.bytes"),
            Code::InvalidMediaLocation,
            "training data cannot embed media bytes; upload the file to S3 (the dataset's bucket) and give source.s3Location.uri",
        );
        return false;
    }
    let location_path = format!("{path}.s3Location");
    let Some(Value::Object(location)) = source.get("s3Location") else {
        cx.error(&location_path, Code::MissingField, format!("`source` must be {SHAPE}"));
        return false;
    };
    warn_unknown_keys(source, &["s3Location"], path, cx);
    warn_unknown_keys(location, &["uri", "bucketOwner"], &location_path, cx);
    let mut ok = true;
    if let Some(owner) = location.get("bucketOwner") {
        let valid = owner.as_str().is_some_and(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            ok = false;
            cx.error(
                format!("{location_path}.bucketOwner"),
                Code::InvalidMediaLocation,
                "`bucketOwner` must be the 12-digit AWS account id of the bucket's owner, as a string; or leave it out",
            );
        }
    }
    let uri_path = format!("{location_path}.uri");
    let uri = match location.get("uri") {
        Some(Value::String(s)) => s,
        None => {
            cx.error(uri_path, Code::MissingField, "`uri` is missing; give the object's S3 URI, s3://bucket/key");
            return false;
        }
        Some(other) => {
            cx.error(
                uri_path,
                Code::WrongType,
                format!("`uri` must be a string s3://bucket/key, not {}", kind_of(other)),
            );
            return false;
        }
    };
    match check_s3_uri(uri) {
        Ok(()) => ok,
        Err(UriProblem::Malformed(why)) => {
            cx.error(uri_path, Code::InvalidMediaLocation, why);
            false
        }
        Err(UriProblem::KeyCharacters(c)) => {
            let message = format!(
                "the file name has `{c}`; media file names may contain only letters, digits, `_`, `-`, `/` and `.`: rename the object"
            );
            // A Nova guide rule; for other models it is a precaution.
            if matches!(cx.model.family, Family::Nova | Family::Nova2) {
                cx.error(uri_path, Code::InvalidMediaLocation, message);
                false
            } else {
                cx.warn(uri_path, Code::InvalidMediaLocation, message);
                ok
            }
        }
    }
}

enum UriProblem {
    Malformed(String),
    KeyCharacters(char),
}

/// `s3://bucket/key` with a valid bucket name (the Converse API's `S3Uri` pattern) and a key of
/// `[\w\-/.]` characters (Nova's file-name rule; `\w` as in Python, so Unicode letters pass).
fn check_s3_uri(uri: &str) -> Result<(), UriProblem> {
    let Some(rest) = uri.strip_prefix("s3://") else {
        return Err(UriProblem::Malformed(format!(
            "`{}` is not an S3 URI; upload the file to S3 and write s3://bucket/key",
            preview(uri)
        )));
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !bucket_ok {
        return Err(UriProblem::Malformed(format!(
            "`{}` is not a valid bucket name (3–63 lower-case letters, digits, `.` and `-`); write s3://bucket/key",
            preview(bucket)
        )));
    }
    if key.is_empty() || key.ends_with('/') {
        return Err(UriProblem::Malformed("the URI names no object; write s3://bucket/path/to/file".to_string()));
    }
    match key.chars().find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))) {
        Some(c) => Err(UriProblem::KeyCharacters(c)),
        None => Ok(()),
    }
}

/// The start of a value, for a message.
fn preview(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
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

#[cfg(test)]
mod tests {
    use crate::CustomizationType::{Distillation, FineTuning};
    use crate::report::{Code, Report};
    use crate::validate::test_support::{line_errors as errors, line_warnings as warnings, *};

    const MICRO: &str = "amazon.nova-micro-v1:0:128k";
    const LITE: &str = "amazon.nova-lite-v1:0:300k";
    const NOVA2: &str = "amazon.nova-2-lite-v1:0:256k";
    const LLAMA_3B: &str = "meta.llama3-2-3b-instruct-v1:0:128k";
    const LLAMA_11B: &str = "meta.llama3-2-11b-instruct-v1:0:128k";

    const GOOD: &str = r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "Be brief."}], "messages": [{"role": "user", "content": [{"text": "2+2?"}]}, {"role": "assistant", "content": [{"text": "4"}]}]}"#;

    fn user(text: &str) -> String {
        format!(r#"{{"role": "user", "content": [{{"text": "{text}"}}]}}"#)
    }
    fn assistant(text: &str) -> String {
        format!(r#"{{"role": "assistant", "content": [{{"text": "{text}"}}]}}"#)
    }
    fn record(messages: &[String]) -> String {
        format!(r#"{{"schemaVersion": "bedrock-conversation-2024", "messages": [{}]}}"#, messages.join(", "))
    }
    fn image(uri: &str) -> String {
        format!(r#"{{"image": {{"format": "png", "source": {{"s3Location": {{"uri": "{uri}"}}}}}}}}"#)
    }
    fn video(uri: &str) -> String {
        format!(r#"{{"video": {{"format": "mp4", "source": {{"s3Location": {{"uri": "{uri}"}}}}}}}}"#)
    }
    fn user_blocks(blocks: &[String]) -> String {
        format!(r#"{{"role": "user", "content": [{}]}}"#, blocks.join(", "))
    }

    /// The message of the n-th line-level error.
    fn message(r: &Report, n: usize) -> &str {
        r.errors.iter().filter(|e| e.line.is_some()).nth(n).map_or("", |e| e.message.as_str())
    }
    /// No line-level errors (file-level ones, such as too few records, are beside the point here).
    fn ok(r: &Report) -> bool {
        errors(r).is_empty()
    }
    /// Validates the lines, with a good first line so errors land on line 2.
    fn check(model: &str, kind: crate::CustomizationType, bad: &str) -> Report {
        run(&opts(model, kind), &format!("{GOOD}\n{bad}\n"))
    }

    #[test]
    fn a_good_record_passes_with_text_split_into_input_and_output() {
        let r = run(&opts(MICRO, FineTuning), &format!("{GOOD}\n"));
        assert_eq!(errors(&r), vec![]);
        assert!(warnings(&r).is_empty(), "{:?}", r.warnings);
        // "Be brief." + "2+2?" = 13 characters -> 4 tokens in; "4" -> 1 token out.
        assert_eq!((r.tokens.input, r.tokens.output), (4, 1));
        let llama = run(&opts(LLAMA_3B, FineTuning), &format!("{GOOD}\n"));
        assert_eq!(warnings(&llama), vec![]);
    }

    #[test]
    fn schema_version_missing_is_a_warning_and_mistyped_an_error() {
        let missing = r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "assistant", "content": [{"text": "b"}]}]}"#;
        let r = check(MICRO, FineTuning, missing);
        assert_eq!(errors(&r), vec![]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("schemaVersion"), Code::MissingField)]);
        let r = check(MICRO, FineTuning, &missing.replacen('{', "{\"schemaVersion\": 2024, ", 1));
        assert_eq!(errors(&r), vec![(Some(2), Some("schemaVersion"), Code::WrongType)]);
    }

    #[test]
    fn system_must_be_an_array_of_text_blocks() {
        let good = GOOD.replace("[{\"text\": \"Be brief.\"}]", "[{\"text\": \"a\"}, {\"text\": \"b\"}]");
        assert!(ok(&check(MICRO, FineTuning, &good)));
        let r = check(MICRO, FineTuning, &GOOD.replace("[{\"text\": \"Be brief.\"}]", "\"Be brief.\""));
        assert_eq!(errors(&r), vec![(Some(2), Some("system"), Code::WrongType)]);
        assert!(message(&r, 0).contains("[{\"text\": \"...\"}]"));
        let r = check(MICRO, FineTuning, &GOOD.replace("[{\"text\": \"Be brief.\"}]", "[{\"image\": {}}, 3]"));
        assert_eq!(
            errors(&r),
            vec![
                (Some(2), Some("system[0]"), Code::InvalidContentBlock),
                (Some(2), Some("system[1]"), Code::WrongType)
            ]
        );
    }

    #[test]
    fn messages_must_be_a_non_empty_array_of_objects() {
        let r = run(
            &opts(MICRO, FineTuning),
            "{\"schemaVersion\": \"x\"}\n{\"schemaVersion\": \"x\", \"messages\": []}\n{\"schemaVersion\": \"x\", \"messages\": {}}\n{\"schemaVersion\": \"x\", \"messages\": [\"hi\"]}\n",
        );
        assert_eq!(
            errors(&r),
            vec![
                (Some(1), Some("messages"), Code::MissingField),
                (Some(2), Some("messages"), Code::EmptyValue),
                (Some(3), Some("messages"), Code::WrongType),
                (Some(4), Some("messages[0]"), Code::WrongType),
            ]
        );
    }

    #[test]
    fn roles_must_be_user_or_assistant_exactly() {
        let bad = record(&[user("a").replace("user", "User"), assistant("b")]);
        let r = check(MICRO, FineTuning, &bad);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
        assert!(message(&r, 0).contains("write `user`"));
        let bad = record(&[user("a").replace("user", "system"), user("b"), assistant("c")]);
        let r = check(MICRO, FineTuning, &bad);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
        assert!(message(&r, 0).contains("top-level `system`"));
        let bad = record(&[r#"{"content": [{"text": "a"}]}"#.to_string(), assistant("b")]);
        assert_eq!(
            errors(&check(MICRO, FineTuning, &bad)),
            vec![(Some(2), Some("messages[0].role"), Code::MissingField)]
        );
    }

    #[test]
    fn turns_start_with_user_alternate_and_end_with_assistant() {
        let good = record(&[user("a"), assistant("b"), user("c"), assistant("d")]);
        assert!(ok(&check(MICRO, FineTuning, &good)));
        let r = check(MICRO, FineTuning, &record(&[assistant("a"), user("b"), assistant("c")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::FirstMessageNotUser)]);
        let r = check(MICRO, FineTuning, &record(&[user("a"), user("b"), assistant("c")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].role"), Code::RolesNotAlternating)]);
        let r = check(MICRO, FineTuning, &record(&[user("a"), assistant("b"), user("c")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[2].role"), Code::LastMessageNotAssistant)]);
        let r = check(MICRO, FineTuning, &record(&[user("a")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::LastMessageNotAssistant)]);
    }

    #[test]
    fn content_must_be_a_non_empty_array_with_some_text() {
        let as_string = record(&[r#"{"role": "user", "content": "hi"}"#.to_string(), assistant("b")]);
        let r = check(MICRO, FineTuning, &as_string);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::WrongType)]);
        let empty = record(&[r#"{"role": "user", "content": []}"#.to_string(), assistant("b")]);
        assert_eq!(
            errors(&check(MICRO, FineTuning, &empty)),
            vec![(Some(2), Some("messages[0].content"), Code::EmptyValue)]
        );
        let blank = record(&[user("  "), assistant("b")]);
        let r = check(MICRO, FineTuning, &blank);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::EmptyValue)]);
        assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].text"), Code::EmptyValue)]);
        let missing = record(&[r#"{"role": "user"}"#.to_string(), assistant("b")]);
        assert_eq!(
            errors(&check(MICRO, FineTuning, &missing)),
            vec![(Some(2), Some("messages[0].content"), Code::MissingField)]
        );
    }

    #[test]
    fn a_content_block_is_exactly_one_of_text_image_video() {
        let none = record(&[user_blocks(&[r#"{"txt": "a"}"#.to_string()]), assistant("b")]);
        let r = check(LITE, FineTuning, &none);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::InvalidContentBlock)]);
        assert!(message(&r, 0).contains("`txt`"));
        let both =
            record(&[user("a"), r#"{"role": "assistant", "content": [{"text": "b", "image": {}}]}"#.to_string()]);
        let r = check(LITE, FineTuning, &both);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].content[0]"), Code::InvalidContentBlock)]);
        let not_object = record(&[user_blocks(&["\"a\"".to_string()]), assistant("b")]);
        let r = check(LITE, FineTuning, &not_object);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::InvalidContentBlock)]);
        let extra = record(&[user_blocks(&[r#"{"text": "a", "cachePoint": {}}"#.to_string()]), assistant("b")]);
        let r = check(LITE, FineTuning, &extra);
        assert!(ok(&r), "{:?}", r.errors);
        assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].cachePoint"), Code::UnknownField)]);
    }

    #[test]
    fn images_and_video_are_accepted_where_the_model_allows_them() {
        let good = record(&[
            user_blocks(&[image("s3://my-bucket/imgs/cat_01.png"), "{\"text\": \"what is it?\"}".to_string()]),
            assistant("a cat"),
        ]);
        assert!(ok(&check(LITE, FineTuning, &good)));
        assert!(ok(&check(NOVA2, FineTuning, &good)));
        assert!(ok(&check(LLAMA_11B, FineTuning, &good)));
        let r = check(MICRO, FineTuning, &good);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::ImageNotAllowed)]);
        let r = check(LLAMA_3B, FineTuning, &good);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::ImageNotAllowed)]);

        let with_video = record(&[user_blocks(&[video("s3://my-bucket/v.mp4")]), assistant("a dog")]);
        assert!(ok(&check(LITE, FineTuning, &with_video)));
        let r = check(MICRO, FineTuning, &with_video);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::VideoNotAllowed)]);
        let r = check(LLAMA_11B, FineTuning, &with_video);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::VideoNotAllowed)]);
    }

    #[test]
    fn media_only_in_user_turns_and_not_in_distillation() {
        let in_answer =
            record(&[user("draw"), format!(r#"{{"role": "assistant", "content": [{}]}}"#, image("s3://b-1/x.png"))]);
        let r = check(LITE, FineTuning, &in_answer);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].content[0]"), Code::ImageNotAllowed)]);
        let prompt = record(&[user_blocks(&[image("s3://b-1/x.png")])]);
        let r = run(&opts(LITE, Distillation), &format!("{}\n{prompt}\n", record(&[user("a")])));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::ImageNotAllowed)]);
    }

    #[test]
    fn at_most_ten_images_or_one_video_and_not_both() {
        let ten: Vec<String> = (0..10).map(|i| image(&format!("s3://b-1/{i}.png"))).collect();
        assert!(ok(&check(LITE, FineTuning, &record(&[user_blocks(&ten), assistant("ok")]))));
        let mut eleven = ten.clone();
        eleven.push(image("s3://b-1/10.png"));
        let r = check(LITE, FineTuning, &record(&[user_blocks(&eleven), assistant("ok")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[10]"), Code::TooManyImages)]);
        // Counted over the whole record, not per message.
        let split =
            record(&[user_blocks(&ten), assistant("ok"), user_blocks(&[image("s3://b-1/x.png")]), assistant("ok")]);
        let r = check(LITE, FineTuning, &split);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[2].content[0]"), Code::TooManyImages)]);
        let two = record(&[user_blocks(&[video("s3://b-1/a.mp4"), video("s3://b-1/b.mp4")]), assistant("ok")]);
        let r = check(LITE, FineTuning, &two);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[1]"), Code::TooManyVideos)]);
        let mixed = record(&[user_blocks(&[image("s3://b-1/a.png"), video("s3://b-1/b.mp4")]), assistant("ok")]);
        let r = check(LITE, FineTuning, &mixed);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[1]"), Code::VideoNotAllowed)]);
    }

    #[test]
    fn media_formats_and_sources_are_checked() {
        let jpg = image("s3://b-1/a.jpg").replace("\"png\"", "\"jpg\"");
        let r = check(LITE, FineTuning, &record(&[user_blocks(&[jpg]), assistant("ok")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0].image.format"), Code::InvalidContentBlock)]);
        assert!(message(&r, 0).contains("`jpeg`"));
        let upper = image("s3://b-1/a.png").replace("\"png\"", "\"PNG\"");
        let r = check(LITE, FineTuning, &record(&[user_blocks(&[upper]), assistant("ok")]));
        assert!(ok(&r), "{:?}", r.errors);
        assert_eq!(
            warnings(&r),
            vec![(Some(2), Some("messages[0].content[0].image.format"), Code::InvalidContentBlock)]
        );
        let bytes = r#"{"image": {"format": "png", "source": {"bytes": "iVBORw0"}}}"#.to_string();
        let r = check(LITE, FineTuning, &record(&[user_blocks(&[bytes]), assistant("ok")]));
        assert_eq!(
            errors(&r),
            vec![(Some(2), Some("messages[0].content[0].image.source.bytes"), Code::InvalidMediaLocation)]
        );
        let no_source = r#"{"video": {"format": "mp4"}}"#.to_string();
        let r = check(LITE, FineTuning, &record(&[user_blocks(&[no_source]), assistant("ok")]));
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0].video.source"), Code::MissingField)]);
    }

    #[test]
    fn media_uris_must_be_s3_with_plain_file_names() {
        let owner = r#"{"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b-1/a.png", "bucketOwner": "123456789012"}}}}"#;
        assert!(ok(&check(LITE, FineTuning, &record(&[user_blocks(&[owner.to_string()]), assistant("ok")]))));
        let uri_field = Some("messages[0].content[0].image.source.s3Location.uri");
        for bad in ["https://b-1.s3.amazonaws.com/a.png", "s3://Bad_Bucket/a.png", "s3://b-1", "s3://b-1/my cat.png"] {
            let r = check(LITE, FineTuning, &record(&[user_blocks(&[image(bad)]), assistant("ok")]));
            assert_eq!(errors(&r), vec![(Some(2), uri_field, Code::InvalidMediaLocation)], "{bad}");
        }
        // The file-name rule is Nova's: a warning for Llama.
        let r = check(LLAMA_11B, FineTuning, &record(&[user_blocks(&[image("s3://b-1/my cat.png")]), assistant("ok")]));
        assert!(ok(&r), "{:?}", r.errors);
        assert_eq!(warnings(&r), vec![(Some(2), uri_field, Code::InvalidMediaLocation)]);
        let bad_owner = owner.replace("123456789012", "me");
        let r = check(LITE, FineTuning, &record(&[user_blocks(&[bad_owner]), assistant("ok")]));
        assert_eq!(
            errors(&r),
            vec![(
                Some(2),
                Some("messages[0].content[0].image.source.s3Location.bucketOwner"),
                Code::InvalidMediaLocation
            )]
        );
    }

    #[test]
    fn reserved_tokens_are_errors_for_nova_fine_tuning_only() {
        let bad = record(&[user("User: hi"), assistant("Bot: hello [EOS]")]);
        let r = check(NOVA2, FineTuning, &bad);
        assert_eq!(
            errors(&r),
            vec![
                (Some(2), Some("messages[0].content[0].text"), Code::ReservedToken),
                (Some(2), Some("messages[1].content[0].text"), Code::ReservedToken)
            ]
        );
        assert!(message(&r, 1).contains("`Bot:`, `[EOS]`"));
        assert!(message(&r, 1).contains("rephrase"));
        let in_system = GOOD.replace("Be brief.", "System: be brief");
        assert_eq!(
            errors(&check(MICRO, FineTuning, &in_system)),
            vec![(Some(2), Some("system[0].text"), Code::ReservedToken)]
        );
        // Not a Nova model: no such tokens.
        assert!(ok(&check(LLAMA_3B, FineTuning, &bad)));
        // Distillation: a warning, the guide states the failure for fine-tuning only.
        let r = run(&opts(MICRO, Distillation), &format!("{}\n", record(&[user("User: hi")])));
        assert!(error_codes(&r).iter().all(|c| *c != Code::ReservedToken));
        assert_eq!(warnings(&r), vec![(Some(1), Some("messages[0].content[0].text"), Code::ReservedToken)]);
        // Upper case: AWS's script rejects them, the guide does not list them.
        let r = check(MICRO, FineTuning, &record(&[user("USER: hi"), assistant("ok")]));
        assert!(ok(&r), "{:?}", r.errors);
        assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].text"), Code::ReservedToken)]);
    }

    #[test]
    fn distillation_prompts_may_end_with_user_or_assistant() {
        let o = opts(MICRO, Distillation);
        let data = format!("{}\n{}\n", record(&[user("a")]), record(&[user("a"), assistant("b"), user("c")]));
        let r = run(&o, &data);
        assert_eq!(errors(&r), vec![]);
        let data = format!("{}\n{}\n", record(&[user("a"), assistant("b")]), record(&[assistant("b")]));
        let r = run(&o, &data);
        assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::FirstMessageNotUser)]);
    }

    #[test]
    fn labels_are_the_last_answer_trimmed() {
        let data: String = (0..20)
            .map(|i| {
                record(&[user(&format!("review {i}")), assistant(if i < 19 { " positive " } else { "negative" })])
                    + "\n"
            })
            .collect();
        let r = run(&opts(MICRO, FineTuning), &data);
        assert!(r.valid, "{:?}", r.errors);
        assert_eq!(r.classes, Some(vec![("positive".to_string(), 19), ("negative".to_string(), 1)]));
        assert!(warning_codes(&r).contains(&Code::ClassImbalance));
    }

    #[test]
    fn unknown_keys_are_warnings_at_every_level() {
        let data = GOOD.replacen("{\"role\": \"user\"", "{\"role\": \"user\", \"name\": \"x\"", 1).replacen(
            '{',
            "{\"id\": 1, ",
            1,
        );
        let r = check(MICRO, FineTuning, &data);
        assert!(ok(&r), "{:?}", r.errors);
        assert_eq!(
            warnings(&r),
            vec![(Some(2), Some("id"), Code::UnknownField), (Some(2), Some("messages[0].name"), Code::UnknownField)]
        );
    }
}
