//! The S3 layout of a run: users write under `incoming/`; the pipeline writes only under `runs/<run-id>/`.

/// Uploads here start a run (the bucket notification's prefix).
pub const INCOMING_PREFIX: &str = "incoming/";
pub const DATASET_SUFFIX: &str = ".jsonl";
/// Everything a run writes lives under this prefix, never beside the user's upload.
pub const RUNS_PREFIX: &str = "runs/";
/// A sidecar beside an upload, `incoming/x.jsonl` -> `incoming/x.pipeline.json`, overrides defaults.
pub const SIDECAR_SUFFIX: &str = ".pipeline.json";

pub fn run_prefix(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/")
}
pub fn train_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/train.jsonl")
}
pub fn validation_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/validation.jsonl")
}
pub fn report_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/validation-report.json")
}
/// Bedrock's outputDataConfig; the service role may write only here.
pub fn output_prefix(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/output/")
}
pub fn evaluation_prefix(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/evaluation/")
}
pub fn evaluation_report_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/evaluation/report.json")
}
pub fn evaluation_markdown_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/evaluation/report.md")
}
pub fn predictions_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/evaluation/predictions.jsonl")
}
/// The run's final summary (also published to SNS).
pub fn summary_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/summary.json")
}

/// The page a person opens: loss curves, metrics, examples, timeline, cost and verdict.
pub fn html_report_key(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}/report.html")
}

/// Everything a run may write, by the name reports give it, in the order a run writes it. Keys, except
/// `bedrock_output`: a prefix (Bedrock's output folder).
pub fn artifacts(run_id: &str) -> [(&'static str, String); 9] {
    [
        ("validation_report", report_key(run_id)),
        ("train", train_key(run_id)),
        ("validation", validation_key(run_id)),
        ("evaluation_report", evaluation_report_key(run_id)),
        ("evaluation_markdown", evaluation_markdown_key(run_id)),
        ("predictions", predictions_key(run_id)),
        ("summary", summary_key(run_id)),
        ("report_html", html_report_key(run_id)),
        ("bedrock_output", output_prefix(run_id)),
    ]
}

/// Where the last successful run of datasets in `dataset_key`'s folder is recorded (teardown writes
/// it, a scheduled start reads it): `runs/_last-success/<hash of the folder>.json`. Run ids never start
/// with `_`, so this cannot be a run's folder.
pub fn last_success_key(dataset_key: &str) -> String {
    let folder = dataset_key.rsplit_once('/').map_or("", |(folder, _)| folder);
    format!("{RUNS_PREFIX}_last-success/{:016x}.json", xxhash_rust::xxh3::xxh3_64(folder.as_bytes()))
}

/// A user's own validation file beside its dataset: `incoming/a/b.validation.jsonl` for `b.jsonl`.
pub const VALIDATION_SUFFIX: &str = ".validation.jsonl";

/// Whether an uploaded key should start a run (a validation file beside a dataset does not).
pub fn is_dataset_upload(key: &str) -> bool {
    key.starts_with(INCOMING_PREFIX)
        && key.ends_with(DATASET_SUFFIX)
        && !key.ends_with(VALIDATION_SUFFIX)
        && key.len() > INCOMING_PREFIX.len() + 6
}

/// `incoming/a/b.jsonl` -> `incoming/a/b.validation.jsonl`.
pub fn validation_beside(dataset_key: &str) -> String {
    let stem = dataset_key.strip_suffix(DATASET_SUFFIX).unwrap_or(dataset_key);
    format!("{stem}{VALIDATION_SUFFIX}")
}

/// The key a config's `validation_file` names in `bucket`: a key, or an `s3://` URI of that bucket.
/// `None` for a URI of another bucket.
pub fn validation_file_key<'a>(bucket: &str, validation_file: &'a str) -> Option<&'a str> {
    match parse_s3_uri(validation_file) {
        Some((b, key)) => (b == bucket).then_some(key),
        None if validation_file.starts_with("s3://") => None,
        None => Some(validation_file),
    }
}

/// `incoming/a/b.jsonl` -> `incoming/a/b.pipeline.json`.
pub fn sidecar_key(dataset_key: &str) -> String {
    let stem = dataset_key.strip_suffix(DATASET_SUFFIX).unwrap_or(dataset_key);
    format!("{stem}{SIDECAR_SUFFIX}")
}

pub fn s3_uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// `s3://bucket/key` -> (bucket, key). The key may be empty (a bucket or prefix URI).
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_run_output_under_runs_and_recognises_uploads() {
        assert!(is_dataset_upload("incoming/team/data.jsonl"));
        assert!(!is_dataset_upload("runs/x/train.jsonl"));
        assert!(!is_dataset_upload("incoming/data.json"));
        assert_eq!(sidecar_key("incoming/a/b.jsonl"), "incoming/a/b.pipeline.json");
        assert_eq!(parse_s3_uri("s3://bkt/a/b.jsonl"), Some(("bkt", "a/b.jsonl")));
        assert_eq!(parse_s3_uri("s3://bkt"), Some(("bkt", "")));
        assert_eq!(parse_s3_uri("https://x"), None);
        for key in [train_key("r"), output_prefix("r"), predictions_key("r")] {
            assert!(key.starts_with("runs/r/"));
        }
        for (_, key) in artifacts("r") {
            assert!(key.starts_with(&run_prefix("r")), "{key}");
        }
    }
}
