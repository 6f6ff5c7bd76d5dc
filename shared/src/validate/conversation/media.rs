//! Images and videos in a conversation: where they may appear, how many, their formats and S3 locations.

use super::Mode;
use crate::catalogue::Family;
use crate::report::Code;
use crate::validate::RecordCx;
use crate::validate::chat::ASSISTANT;
use crate::validate::fields::{kind_of, preview, warn_unknown_keys};
use serde_json::{Map, Value};

/// Image formats of the Converse API's `ImageFormat`.
const IMAGE_FORMATS: [&str; 4] = ["png", "jpeg", "gif", "webp"];
/// Video formats the Nova fine-tuning guide and AWS's validator accept.
const VIDEO_FORMATS: [&str; 4] = ["mov", "mkv", "mp4", "webm"];
/// The rest of the Converse API's `VideoFormat`: valid for inference, not listed for fine-tuning.
const OTHER_VIDEO_FORMATS: [&str; 5] = ["flv", "mpeg", "mpg", "wmv", "three_gp"];

/// What one conversation's media added up to, for the per-record limits.
#[derive(Default)]
pub(super) struct MediaCount {
    images: u32,
    videos: u32,
    /// Where the first video is, to point at when images and a video are mixed.
    first_video: Option<String>,
}

/// Checks an `image` or `video` block (`kind`) of one message and counts it against the record's
/// limits. Returns whether the block is well formed.
pub(super) fn check_block(
    block: &Map<String, Value>,
    kind: &str,
    path: &str,
    role: Option<&str>,
    mode: Mode,
    media: &mut MediaCount,
    cx: &mut RecordCx<'_>,
) -> bool {
    let is_video = kind == "video";
    let well_formed = check_media_block(block.get(kind), is_video, path, cx);
    if media_allowed(is_video, role, mode, path, cx) {
        if is_video {
            media.videos += 1;
            media.first_video.get_or_insert_with(|| path.to_string());
            let max = cx.model.media.max_videos;
            if media.videos == max + 1 {
                cx.error(
                    path,
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
                    path,
                    Code::TooManyImages,
                    format!(
                        "{} takes at most {max} images per record; remove images, or split the record",
                        cx.model.name
                    ),
                );
            }
        }
    }
    well_formed
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

pub(super) fn check_totals(media: &MediaCount, cx: &mut RecordCx<'_>) {
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
