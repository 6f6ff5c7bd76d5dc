//! The service models' patterns, written out by hand (they are simple enough that a regex engine
//! would cost more build time than it saves). Each function matches the whole string, as the
//! service does once botocore's removed `^...$` anchors are put back.

pub const JOB_NAME: &str = r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*";
pub const MODEL_NAME: &str = "([0-9a-zA-Z][_-]?){1,63}";
pub const PROVISIONED_NAME: &str = "([0-9a-zA-Z][_-]?)+";
pub const ROLE_ARN: &str = "arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+";
pub const TOKEN: &str = "[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?";
pub const S3_URI: &str = r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?";

/// `[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*`: the class after the first character contains `-`, so this
/// is an alphanumeric followed by any of alphanumerics, `+`, `-`, `.`.
pub fn is_job_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `([0-9a-zA-Z][_-]?)+`: alphanumerics, each optionally followed by one `_` or `-`.
pub fn is_resource_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        && !b.windows(2).any(|w| matches!(w[0], b'_' | b'-') && matches!(w[1], b'_' | b'-'))
}

/// `arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+`
pub fn is_role_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws") else { return false };
    let rest = match rest.strip_prefix('-') {
        Some(r) => match r.find(':') {
            Some(0) | None => return false,
            Some(i) => &r[i..],
        },
        None => rest,
    };
    let Some(rest) = rest.strip_prefix(":iam::") else { return false };
    let rest = match rest.get(..12) {
        Some(acct) if acct.bytes().all(|c| c.is_ascii_digit()) => &rest[12..],
        _ => rest,
    };
    rest.strip_prefix(":role/").is_some_and(|r| !r.is_empty())
}

/// `[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?`
pub fn is_token(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// The model's S3Uri pattern: a bucket of 3-63 of `[-.a-z0-9]` starting and ending alphanumeric, then
/// non-empty path segments of `[-!_*'().a-zA-Z0-9]`, an optional trailing `/`.
pub fn is_s3_uri(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("s3://") else { return false };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let bb = bucket.as_bytes();
    let bucket_ok = (3..=63).contains(&bb.len())
        && bb[0].is_ascii_alphanumeric()
        && !bb[0].is_ascii_uppercase()
        && bb[bb.len() - 1].is_ascii_alphanumeric()
        && !bb[bb.len() - 1].is_ascii_uppercase()
        && bb.iter().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || matches!(c, b'-' | b'.'));
    let key = key.strip_suffix('/').unwrap_or(key);
    bucket_ok
        && (key.is_empty()
            || key.split('/').all(|seg| {
                !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_alphanumeric() || b"-!_*'().".contains(&c))
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_accept_and_reject_like_the_service() {
        assert!(is_job_name("ft-run-1.v2+x"));
        assert!(!is_job_name("-leading") && !is_job_name("") && !is_job_name("has space") && !is_job_name("a_b"));
        assert!(is_resource_name("my_model-1") && is_resource_name("a"));
        assert!(!is_resource_name("a__b") && !is_resource_name("_a") && !is_resource_name("a.b"));
        assert!(is_resource_name("a-"));
        assert!(is_role_arn("arn:aws:iam::123456789012:role/BedrockFT"));
        assert!(is_role_arn("arn:aws-us-gov:iam::123456789012:role/path/r"));
        assert!(is_role_arn("arn:aws:iam:::role/r"));
        assert!(!is_role_arn("arn:aws:iam::1234:role/r") && !is_role_arn("arn:aws:iam::123456789012:user/u"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/") && !is_role_arn("arn:aws-:iam::123456789012:role/r"));
        assert!(is_token("abc-123") && is_token("a"));
        assert!(!is_token("-a") && !is_token("a-") && !is_token("a_b") && !is_token(&"a".repeat(257)));
        assert!(is_s3_uri("s3://my-bucket/runs/r1/train.jsonl") && is_s3_uri("s3://my-bucket/out/"));
        assert!(is_s3_uri("s3://my.bucket"));
        assert!(!is_s3_uri("s3://My-Bucket/x") && !is_s3_uri("s3://ab/x") && !is_s3_uri("s3://bucket/a//b"));
        assert!(!is_s3_uri("https://bucket/x") && !is_s3_uri("s3://bucket/a b"));
    }
}
