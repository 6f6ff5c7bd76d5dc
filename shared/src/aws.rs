//! AWS conventions the pipeline and the local cloud must read and write the same way, each in one place
//! with a test that pins AWS's documented behaviour: when a create operation's name is taken, RFC 3339
//! timestamps, S3 event key encoding, and the tag that ties a resource to its run. Pure functions: the
//! adapters that need SDK types (classifying an `SdkError`) call into these.

// ---------------------------------------------------------------------------------------------------
// Resource tags.

/// The tag every job, custom model, deployment and throughput carries, valued with its run id, so a
/// resource can be traced to its run and IAM can limit a function to its own runs' resources
/// (`aws:ResourceTag/finetune-run-id`). Letters, digits and `-` only: valid for Bedrock's `TagKey`
/// (`[a-zA-Z0-9\s._:/=+@-]*`, 1-128) and for IAM's condition-key tag names, with no `:` that a reader
/// could take for a service prefix, and not under the reserved `aws:` prefix.
pub const RUN_ID_TAG: &str = "finetune-run-id";

/// The tags a run's resource is created with: [`RUN_ID_TAG`] first, then the configuration's own tags
/// except one under that key, which would make the resource pass for another run's.
pub fn run_tags<'a>(
    run_id: &'a str,
    config_tags: &'a std::collections::BTreeMap<String, String>,
) -> Vec<(&'a str, &'a str)> {
    std::iter::once((RUN_ID_TAG, run_id))
        .chain(config_tags.iter().filter(|(k, _)| k.as_str() != RUN_ID_TAG).map(|(k, v)| (k.as_str(), v.as_str())))
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// "The name is already taken."

/// What Bedrock says when CreateModelCustomizationJob's job name is in use (observed for its sibling
/// CreateModelImportJob: `ValidationException: The provided job name is currently in use.`, reported in
/// aws/sagemaker-python-sdk#6076). The local emulator answers with exactly this.
pub const JOB_NAME_IN_USE: &str = "The provided job name is currently in use.";

/// Phrases of a ValidationException that says a name is taken. Bedrock documents no wording for its
/// create operations; these are the ones seen for Bedrock job names and the emulator's own for custom
/// model, throughput and deployment names (`... already exists ...`).
const NAME_TAKEN_PHRASES: &[&str] = &["currently in use", "already in use", "already exist", "duplicate"];

/// Whether a create call's error (its code and message) means its name is already taken, so the caller
/// should look the resource up by name. ConflictException counts whatever its message: the Bedrock
/// model lists it for CreateModelCustomizationJob as "a conflict while performing an operation"
/// (botocore bedrock 2023-04-20, `ConflictException`, HTTP 400), and a create has no other state to
/// conflict with than an existing resource of that name.
pub fn is_name_taken(code: &str, message: &str) -> bool {
    match code {
        "ConflictException" => true,
        "ValidationException" => {
            let message = message.to_ascii_lowercase();
            NAME_TAKEN_PHRASES.iter().any(|p| message.contains(p))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------------
// Timestamps.

/// `2026-01-02T03:04:05Z`: whole seconds, UTC (what the pipeline's documents carry).
pub fn rfc3339_seconds(epoch_seconds: i64) -> String {
    let (date, time) = civil(epoch_seconds);
    format!("{date}T{time}Z")
}

/// `2026-01-02T03:04:05.678Z`: milliseconds, UTC, the form AWS writes in S3 event notifications
/// ("ISO-8601 format (for example, 1970-01-01T00:00:00.000Z)", S3 User Guide, Event message
/// structure), Step Functions' context object and history, and Bedrock's `iso8601` timestamps.
pub fn rfc3339_millis(epoch_millis: i64) -> String {
    let (date, time) = civil(epoch_millis.div_euclid(1000));
    format!("{date}T{time}.{:03}Z", epoch_millis.rem_euclid(1000))
}

/// Milliseconds since the Unix epoch of an RFC 3339 time: an uppercase `T`, seconds, an optional
/// fraction (finer than milliseconds is truncated), and `Z` or a `±hh:mm` offset (the profile the
/// Amazon States Language requires of timestamps). `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if rest.first() == Some(&b'.') {
        let fraction = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if fraction == 0 {
            return None;
        }
        for (i, c) in rest[1..=fraction].iter().take(3).enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &rest[1 + fraction..];
    }
    let offset_minutes = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'-' { -(h * 60 + m) } else { h * 60 + m }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((seconds - offset_minutes * 60) * 1000 + millis)
}

/// (`YYYY-MM-DD`, `hh:mm:ss`) of a time in whole seconds since the epoch.
fn civil(epoch_seconds: i64) -> (String, String) {
    let (days, of_day) = (epoch_seconds.div_euclid(86_400), epoch_seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (format!("{y:04}-{m:02}-{d:02}"), format!("{:02}:{:02}:{:02}", of_day / 3600, (of_day / 60) % 60, of_day % 60))
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

// ---------------------------------------------------------------------------------------------------
// S3 event keys.

/// An object key as S3 writes it in an event notification: "The object key name value is URL encoded.
/// For example, "red flower.jpg" becomes "red+flower.jpg" (Amazon S3 returns
/// "application/x-www-form-urlencoded" as the content type in the response)" (S3 User Guide, Event
/// message structure). Form encoding: a space is `+`; anything but `A-Za-z0-9-_.*` and `/` (which S3
/// leaves as it is in keys) is `%XX` of its UTF-8 bytes.
pub fn encode_s3_event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `%XX` is the byte it names; a `%` not followed by two hex digits is kept as it is, and bytes that are
/// not UTF-8 are replaced, never an error (what is decoded is input from outside). `+` stays a `+`, as in
/// a URI path.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A component of a query string or form body (`application/x-www-form-urlencoded`): `+` is a space
/// (a literal `+` arrives as `%2B`), the rest as [`percent_decode`].
pub fn decode_form_component(text: &str) -> String {
    percent_decode(&text.replace('+', " "))
}

/// The object key an event notification names: encoded as a form component (`+` is a space, `%XX` a
/// byte), decoded as leniently as [`percent_decode`].
pub fn decode_s3_event_key(encoded: &str) -> String {
    decode_form_component(encoded)
}

// ---------------------------------------------------------------------------------------------------
// Step Functions execution ARNs.

/// The ARN of the execution `name` of a standard state machine:
/// `arn:<partition>:states:<region>:<account>:execution:<machine name>:<execution name>`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// Whether `execution_arn` names an execution of the standard state machine `state_machine_arn`: the
/// machine's own prefix, then one execution name (which cannot hold `:`; an express execution's or a
/// Map Run's ARN has more fields). For an ARN read from input, before acting on it.
pub fn is_execution_of(state_machine_arn: &str, arn: &str) -> bool {
    if !state_machine_arn.contains(":stateMachine:") {
        return false;
    }
    let prefix = execution_arn(state_machine_arn, "");
    arn.strip_prefix(&prefix).is_some_and(|name| !name.is_empty() && !name.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn path_segments_keep_plus_and_a_stray_percent() {
        assert_eq!(percent_decode("us.meta.llama3-2-1b-instruct-v1%3A0"), "us.meta.llama3-2-1b-instruct-v1:0");
        assert_eq!(percent_decode("arn%3Aaws%3Abedrock%3A%2Fx"), "arn:aws:bedrock:/x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a+b"), "a+b");
    }

    #[test]
    fn form_components_read_plus_as_a_space() {
        assert_eq!(decode_form_component("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(decode_form_component("a+b%2B"), "a b+");
    }

    #[test]
    fn the_run_id_tag_key_fits_bedrock_tags_and_iam_condition_keys() {
        // Bedrock's TagKey: 1-128 of [a-zA-Z0-9\s._:/=+@-] (botocore bedrock 2023-04-20).
        assert!((1..=128).contains(&RUN_ID_TAG.len()));
        assert!(RUN_ID_TAG.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert!(!RUN_ID_TAG.to_ascii_lowercase().starts_with("aws:"), "aws: is reserved for AWS's own tags");
    }

    #[test]
    fn a_run_tag_in_the_config_cannot_stand_in_for_the_runs_own() {
        let config = [(RUN_ID_TAG.to_string(), "someone-elses-run".to_string()), ("team".into(), "a".into())].into();
        assert_eq!(run_tags("run-1", &config), [(RUN_ID_TAG, "run-1"), ("team", "a")]);
    }

    #[test]
    fn a_taken_name_is_what_bedrock_reports_and_nothing_else() {
        assert!(is_name_taken("ValidationException", JOB_NAME_IN_USE));
        assert!(is_name_taken(
            "ConflictException",
            "Error occurred because of a conflict while performing an operation."
        ));
        assert!(is_name_taken("ValidationException", "A provisioned model with the name pt-x already exists."));
        // Other validation errors, and other codes, are not a taken name.
        assert!(!is_name_taken(
            "ValidationException",
            "1 validation error detected: Value 'ft x' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern"
        ));
        assert!(!is_name_taken("ThrottlingException", "already exists"));
        assert!(!is_name_taken("", ""));
    }

    #[test]
    fn timestamps_are_written_as_aws_writes_them() {
        // The S3 event notification's own example.
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_767_323_045), "2026-01-02T03:04:05Z");
        assert_eq!(rfc3339_millis(1_767_323_045_678), "2026-01-02T03:04:05.678Z");
        assert_eq!(rfc3339_millis(1_457_920_740_000), "2016-03-14T01:59:00.000Z");
        assert_eq!(rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_seconds(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn timestamps_are_read_with_offsets_and_fractions_and_nothing_else() {
        assert_eq!(parse_rfc3339("2026-01-02T03:04:05Z"), Some(1_767_323_045_000));
        assert_eq!(parse_rfc3339("2026-01-02T04:04:05+01:00"), Some(1_767_323_045_000));
        assert_eq!(parse_rfc3339("2024-02-29T23:00:00.123456+01:30"), parse_rfc3339("2024-02-29T21:30:00.123Z"));
        for bad in [
            "2016-03-14 01:59:00Z",
            "2016-03-14t01:59:00Z",
            "2016-02-30T01:59:00Z",
            "2016-03-14T01:59:00",
            "2016-03-14T01:59:00.Z",
            "2016-03-14T24:00:00Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_round_trip_over_many_days() {
        for day in (-700_000i64..2_900_000).step_by(997) {
            let millis = day * 86_400_000 + 12_345;
            assert_eq!(parse_rfc3339(&rfc3339_millis(millis)), Some(millis));
            assert_eq!(parse_rfc3339(&rfc3339_seconds(millis.div_euclid(1000))), Some(millis.div_euclid(1000) * 1000));
        }
    }

    #[test]
    fn event_keys_are_encoded_as_s3_encodes_them() {
        // The S3 User Guide's own example.
        assert_eq!(encode_s3_event_key("red flower.jpg"), "red+flower.jpg");
        assert_eq!(encode_s3_event_key("incoming/a-b_c.d*.jsonl"), "incoming/a-b_c.d*.jsonl");
        assert_eq!(encode_s3_event_key("incoming/my file (1).jsonl"), "incoming/my+file+%281%29.jsonl");
        assert_eq!(encode_s3_event_key("a+b=c:d&e~f%g#h"), "a%2Bb%3Dc%3Ad%26e%7Ef%25g%23h");
        assert_eq!(encode_s3_event_key("données/é.jsonl"), "donn%C3%A9es/%C3%A9.jsonl");
    }

    #[test]
    fn event_keys_decode_and_round_trip_spaces_plus_unicode_and_percent() {
        assert_eq!(decode_s3_event_key("red+flower.jpg"), "red flower.jpg");
        assert_eq!(decode_s3_event_key("incoming/Support+Tickets%21.jsonl"), "incoming/Support Tickets!.jsonl");
        assert_eq!(decode_s3_event_key("incoming/caf%C3%A9.jsonl"), "incoming/café.jsonl");
        // A literal `+` arrives as %2B and a literal `%` as %25.
        assert_eq!(decode_s3_event_key("a%2Bb%25c"), "a+b%c");
        // Malformed escapes are kept, never an error.
        for kept in ["a%2", "a%zz", "100%", "%", "%%41"] {
            assert_eq!(decode_s3_event_key(kept), kept.replace("%41", "A"), "{kept}");
        }
        for key in [
            "incoming/support tickets.jsonl",
            "incoming/a+b.jsonl",
            "incoming/100% real.jsonl",
            "incoming/日本語 データ/ünïcødé 🚀.jsonl",
            "incoming/%41 is not A.jsonl",
            "incoming/tab\there & more?=#.jsonl",
        ] {
            assert_eq!(decode_s3_event_key(&encode_s3_event_key(key)), key, "{key}");
        }
    }

    proptest! {
        #[test]
        fn any_key_round_trips(key in any::<String>()) {
            prop_assert_eq!(decode_s3_event_key(&encode_s3_event_key(&key)), key);
        }

        #[test]
        fn any_millisecond_round_trips(millis in -62_135_596_800_000i64..253_402_300_799_999) {
            prop_assert_eq!(parse_rfc3339(&rfc3339_millis(millis)), Some(millis));
        }
    }

    #[test]
    fn only_an_execution_of_the_machine_itself_is_one_of_its_executions() {
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:finetune-pipeline";
        let execution = execution_arn(machine, "run-1");
        assert_eq!(execution, "arn:aws:states:us-east-1:123456789012:execution:finetune-pipeline:run-1");
        assert!(is_execution_of(machine, &execution));
        for foreign in [
            // Another machine whose name starts with this one's, another account, another region.
            "arn:aws:states:us-east-1:123456789012:execution:finetune-pipeline-2:run-1",
            "arn:aws:states:us-east-1:999999999999:execution:finetune-pipeline:run-1",
            "arn:aws:states:eu-west-1:123456789012:execution:finetune-pipeline:run-1",
            // No execution name, a nested one (a Map Run's), the machine itself.
            "arn:aws:states:us-east-1:123456789012:execution:finetune-pipeline:",
            "arn:aws:states:us-east-1:123456789012:execution:finetune-pipeline:run-1:map",
            machine,
            "",
        ] {
            assert!(!is_execution_of(machine, foreign), "{foreign}");
        }
        assert!(!is_execution_of("", &execution), "no machine configured: nothing is its");
    }
}
