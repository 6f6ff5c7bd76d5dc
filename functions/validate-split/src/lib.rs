//! validate-split: validates an uploaded JSONL dataset against the effective configuration's model,
//! splits it, and writes `train.jsonl`, `validation.jsonl` and `validation-report.json` under
//! `runs/<run-id>/`. It never modifies or deletes the upload and writes nothing outside `runs/`.
//!
//! Two entries, told apart by the input's shape:
//! - **S3 event notification** (`Records`): for each `.jsonl` under `incoming/`, prepare the run and
//!   call StartExecution (name = run id, input = the [`PreparedRun`]). A run whose data or config is
//!   invalid is still started, with `data.valid = false` and a cause, so it shows as a FAILED execution
//!   in the console; a duplicate event finds `ExecutionAlreadyExists`, which is success. Returns a
//!   [`NotificationResult`].
//! - **[`StartRequest`]** (the state machine's ValidateSplit task, from a console or scheduled run):
//!   a dataset URI, or a prefix whose newest `.jsonl` is used. Returns the [`PreparedRun`], or raises
//!   `DatasetInvalid` with the cause (the report is still written) or `ConfigInvalid`.
//!
//! Configuration: deployment defaults from the environment (see `pipeline_common`), overridden by the
//! sidecar `<name>.pipeline.json` beside the upload, overridden by the StartRequest's `config`.
//!
//! Environment ([`Deps::from_env`]): `STATE_MACHINE_ARN` (S3 entry only), the defaults' variables (see
//! `pipeline_common`), `TMPDIR` (where datasets are split; the system's temporary folder when unset), the
//! SDK's variables.

use aws_lambda_events::event::s3::S3Event;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use lambda_runtime::LambdaEvent;
use pipeline_common::{Env, LambdaError, SdkConfig, SdkResultExt, defaults_from, s3_client, sdk_error};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::pipeline::{
    DatasetSource, PipelineConfig, PipelineError, PreparedData, PreparedRun, StartRequest, layout, run_id,
};
use shared::prepare::{self, REPORT_FILE};
use shared::report::Report;
use shared::split::SplitConfig;
use shared::validate::Options;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Errors quoted in an invalid run's cause.
const CAUSE_ERRORS: usize = 5;
/// Longest error message quoted in a cause (Step Functions caps a cause at 32,768 characters).
const CAUSE_MESSAGE_CHARS: usize = 300;
/// PutObject of a split file (the function's own timeout is 15 minutes).
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

pub struct Deps {
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// Needed by the S3 entry only, so a missing one surfaces there.
    pub state_machine_arn: Result<String, PipelineError>,
    /// Read once at init; an error surfaces per run, as a failed run or a ConfigInvalid.
    pub defaults: Result<PipelineConfig, PipelineError>,
    /// Where datasets are downloaded and split (Lambda: /tmp).
    pub work_dir: PathBuf,
}

impl Deps {
    /// The one wiring, for Lambda and the local cloud alike (see the crate documentation's variables).
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Deps {
        Deps {
            s3: s3_client(sdk, env),
            sfn: aws_sdk_sfn::Client::new(sdk),
            state_machine_arn: env.required("STATE_MACHINE_ARN"),
            defaults: defaults_from(env),
            work_dir: env.get("TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from),
        }
    }
}

/// What the S3 entry did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationResult {
    pub started: Vec<StartedRun>,
    /// Keys that do not start a run (outside incoming/, not .jsonl, or gone since the event).
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartedRun {
    pub run_id: String,
    pub dataset: String,
    /// Absent when an earlier event already started this run.
    pub execution_arn: Option<String>,
    pub already_started: bool,
    /// False when the execution was started only to report invalid data or config.
    pub valid: bool,
}

pub async fn handler(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, LambdaError> {
    let payload = event.payload;
    let to_json = |v: Result<Value, serde_json::Error>| v.map_err(|e| PipelineError::Internal(e.to_string()));
    if payload.get("Records").is_some() {
        let event: S3Event = serde_json::from_value(payload)
            .map_err(|e| PipelineError::ConfigInvalid(format!("not an S3 event notification: {e}")))?;
        let result = on_upload(deps, event).await?;
        Ok(to_json(serde_json::to_value(result))?)
    } else if payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        // S3 sends this once when the notification is configured.
        Ok(to_json(serde_json::to_value(NotificationResult { started: vec![], ignored: vec![] }))?)
    } else {
        let request: StartRequest = serde_json::from_value(payload).map_err(|e| {
            PipelineError::ConfigInvalid(format!(
                "expected an S3 event or {{\"dataset\": \"s3://bucket/key-or-prefix\", \"config\": {{...}}}}: {e}"
            ))
        })?;
        let run = on_request(deps, request).await?;
        Ok(to_json(serde_json::to_value(run))?)
    }
}

// ---------------------------------------------------------------------------------------------------
// Entry (a): S3 event notification.

pub async fn on_upload(deps: &Deps, event: S3Event) -> Result<NotificationResult, PipelineError> {
    let mut result = NotificationResult { started: vec![], ignored: vec![] };
    let mut first_error = None;
    for record in event.records {
        let (Some(bucket), Some(raw_key)) = (record.s3.bucket.name, record.s3.object.key) else { continue };
        let key = form_decode(&raw_key);
        if !layout::is_dataset_upload(&key) {
            tracing::info!(%key, "not a dataset upload; ignored");
            result.ignored.push(key);
            continue;
        }
        // One bad record must not stop the others; the first error is raised at the end so the
        // invocation is retried (every step is idempotent).
        match upload_run(deps, &bucket, &key).await {
            Ok(Some(started)) => result.started.push(started),
            Ok(None) => result.ignored.push(key),
            Err(e) => {
                tracing::error!(%key, error = %e, "could not start a run");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

async fn upload_run(deps: &Deps, bucket: &str, key: &str) -> Result<Option<StartedRun>, PipelineError> {
    let Some(object) = head(deps, bucket, key).await? else {
        tracing::warn!(%key, "the upload is gone; nothing to do");
        return Ok(None);
    };
    let sidecar = read_sidecar(deps, bucket, key).await;
    let source = DatasetSource { bucket: bucket.to_string(), key: key.to_string(), etag: object.etag.clone() };
    let layered = sidecar.and_then(|s| effective_config(&deps.defaults, s.as_ref(), None));
    let run = match layered {
        Ok(config) => prepare_run(deps, source, &object.raw_etag, config).await?,
        Err(problem) => config_failure_run(deps, source, problem).await?,
    };
    start_execution(deps, &run).await.map(Some)
}

/// A run whose configuration is wrong: its report says why, and its execution fails with that cause.
async fn config_failure_run(
    deps: &Deps,
    source: DatasetSource,
    problem: PipelineError,
) -> Result<PreparedRun, PipelineError> {
    let message = problem.to_string();
    let config = deps.defaults.clone().unwrap_or_default();
    // The problem is part of the identity: a fixed sidecar with the same dataset is a new run, even if
    // the fixed config happens to equal the defaults used here.
    let identity = DatasetSource { etag: format!("{}#{}", source.etag, problem.error_type()), ..source.clone() };
    let config_for_id =
        PipelineConfig { tags: [("config-error".to_string(), message.clone())].into(), ..config.clone() };
    let run_id = run_id(&identity, &config_for_id);
    let report_key = layout::report_key(&run_id);
    let report_uri = layout::s3_uri(&source.bucket, &report_key);
    let dataset = layout::s3_uri(&source.bucket, &source.key);
    let report = serde_json::json!({
        "valid": false,
        "error": problem.error_type(),
        "message": message,
        "file": dataset,
    });
    let body = serde_json::to_vec_pretty(&report).map_err(|e| PipelineError::Internal(e.to_string()))?;
    put_run_object(deps, &source.bucket, &report_key, ByteStream::from(body), "application/json").await?;
    let cause = format!("{}: {message}; report: {report_uri}", problem.error_type());
    Ok(PreparedRun {
        run_id: run_id.clone(),
        prepared: true,
        data: PreparedData {
            bucket: source.bucket.clone(),
            train_uri: layout::s3_uri(&source.bucket, &layout::train_key(&run_id)),
            validation_uri: None,
            report_uri,
            train_records: 0,
            validation_records: 0,
            training_tokens: 0,
            estimated_cost_usd: None,
            valid: false,
            first_errors: vec![message],
            cause: Some(cause),
        },
        source,
        config,
    })
}

async fn start_execution(deps: &Deps, run: &PreparedRun) -> Result<StartedRun, PipelineError> {
    let arn = deps.state_machine_arn.clone()?;
    let input = serde_json::to_string(run).map_err(|e| PipelineError::Internal(e.to_string()))?;
    let dataset = layout::s3_uri(&run.source.bucket, &run.source.key);
    let sent = deps.sfn.start_execution().state_machine_arn(arn).name(&run.run_id).input(input).send().await;
    let (execution_arn, already_started) = match sent {
        Ok(out) => (Some(out.execution_arn), false),
        // The execution name is the run id: a duplicate event, or a re-upload of the same content.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_already_exists()) => (None, true),
        Err(e) => return Err(sdk_error("StartExecution", e)),
    };
    tracing::info!(run_id = %run.run_id, %dataset, already_started, valid = run.data.valid, "execution started");
    Ok(StartedRun { run_id: run.run_id.clone(), dataset, execution_arn, already_started, valid: run.data.valid })
}

// ---------------------------------------------------------------------------------------------------
// Entry (b): a StartRequest from the console or the schedule.

pub async fn on_request(deps: &Deps, request: StartRequest) -> Result<PreparedRun, PipelineError> {
    let (bucket, key_or_prefix) = layout::parse_s3_uri(&request.dataset)
        .filter(|(_, k)| !k.is_empty() || request.dataset.ends_with('/'))
        .ok_or_else(|| {
            PipelineError::ConfigInvalid(format!(
                "`dataset` must be s3://bucket/key.jsonl or a prefix s3://bucket/folder/, not `{}`",
                request.dataset
            ))
        })?;
    let key = if key_or_prefix.ends_with(layout::DATASET_SUFFIX) {
        key_or_prefix.to_string()
    } else {
        newest_dataset(deps, bucket, key_or_prefix).await?
    };
    let object = head(deps, bucket, &key).await?.ok_or_else(|| {
        PipelineError::ConfigInvalid(format!("dataset {} does not exist", layout::s3_uri(bucket, &key)))
    })?;
    let sidecar = read_sidecar(deps, bucket, &key).await?;
    let config = effective_config(&deps.defaults, sidecar.as_ref(), Some(&request.config))?;
    let source = DatasetSource { bucket: bucket.to_string(), key, etag: object.etag };
    let run = prepare_run(deps, source, &object.raw_etag, config).await?;
    if !run.data.valid {
        return Err(PipelineError::DatasetInvalid(run.data.cause.clone().unwrap_or_default()));
    }
    Ok(run)
}

/// The newest `.jsonl` under a prefix, by LastModified (then key). Run outputs are skipped unless
/// the prefix itself is under runs/.
async fn newest_dataset(deps: &Deps, bucket: &str, prefix: &str) -> Result<String, PipelineError> {
    let mut pages = deps.s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut newest: Option<(aws_sdk_s3::primitives::DateTime, String)> = None;
    while let Some(page) = pages.next().await {
        let page = page.or_pipeline("ListObjectsV2")?;
        for object in page.contents.unwrap_or_default() {
            let (Some(key), Some(modified)) = (object.key, object.last_modified) else { continue };
            let is_output = key.starts_with(layout::RUNS_PREFIX) && !prefix.starts_with(layout::RUNS_PREFIX);
            if !key.ends_with(layout::DATASET_SUFFIX) || is_output {
                continue;
            }
            let candidate = (modified, key);
            if newest.as_ref().is_none_or(|n| (candidate.0.as_nanos(), &candidate.1) > (n.0.as_nanos(), &n.1)) {
                newest = Some(candidate);
            }
        }
    }
    newest.map(|(_, key)| key).ok_or_else(|| {
        PipelineError::ConfigInvalid(format!("no .jsonl dataset under {}", layout::s3_uri(bucket, prefix)))
    })
}

// ---------------------------------------------------------------------------------------------------
// Shared by both entries.

struct ObjectInfo {
    /// Without quotes, for the run id.
    etag: String,
    /// As S3 returned it, for If-Match.
    raw_etag: String,
}

async fn head(deps: &Deps, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PipelineError> {
    match deps.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let raw_etag = out.e_tag.unwrap_or_default();
            // Without an ETag the version id (or nothing) identifies the content.
            let etag = match raw_etag.trim_matches('"') {
                "" => out.version_id.unwrap_or_default(),
                e => e.to_string(),
            };
            Ok(Some(ObjectInfo { etag, raw_etag }))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(sdk_error("HeadObject", e)),
    }
}

/// The sidecar's overrides, if there is one.
async fn read_sidecar(deps: &Deps, bucket: &str, dataset_key: &str) -> Result<Option<Value>, PipelineError> {
    let key = layout::sidecar_key(dataset_key);
    let uri = layout::s3_uri(bucket, &key);
    let out = match deps.s3.get_object().bucket(bucket).key(&key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(sdk_error("GetObject (sidecar)", e)),
    };
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| PipelineError::Transient(format!("reading the sidecar {uri}: {e}")))?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| PipelineError::ConfigInvalid(format!("the sidecar {uri} is not valid JSON: {e}")))
}

/// Defaults <- sidecar <- input, checked against the catalogue.
fn effective_config(
    defaults: &Result<PipelineConfig, PipelineError>,
    sidecar: Option<&Value>,
    input: Option<&Value>,
) -> Result<PipelineConfig, PipelineError> {
    let mut config = defaults.clone()?;
    if let Some(overrides) = sidecar {
        config = config.merged(overrides).map_err(|e| within("the sidecar", e))?;
    }
    if let Some(overrides) = input {
        config = config.merged(overrides).map_err(|e| within("the input's `config`", e))?;
    }
    config.check()?;
    Ok(config)
}

fn within(place: &str, err: PipelineError) -> PipelineError {
    match err {
        PipelineError::ConfigInvalid(m) => PipelineError::ConfigInvalid(format!("{place}: {m}")),
        other => other,
    }
}

/// Downloads, validates and splits the dataset, and uploads the split and the report under
/// runs/<run-id>/. An invalid dataset yields a run with `valid: false` and its cause.
async fn prepare_run(
    deps: &Deps,
    source: DatasetSource,
    raw_etag: &str,
    config: PipelineConfig,
) -> Result<PreparedRun, PipelineError> {
    let run_id = run_id(&source, &config);
    let dataset_uri = layout::s3_uri(&source.bucket, &source.key);
    let work = tempfile::Builder::new().prefix("validate-split-").tempdir_in(&deps.work_dir).map_err(|e| {
        PipelineError::Internal(format!("cannot make a work folder in {}: {e}", deps.work_dir.display()))
    })?;
    let input = work.path().join("dataset.jsonl");
    download(deps, &source, raw_etag, &input).await?;

    let (_, customization) = config.check()?;
    let mut opts = Options::new(&config.base_model, config.customization_type)
        .map_err(|e| PipelineError::ConfigInvalid(e.to_string()))?;
    opts.epochs = Some(customization.epochs(config.hyperparameters.get("epochCount").map(String::as_str)));
    let split = SplitConfig { validation_ratio: config.validation_ratio, seed: config.seed, max_validation: None };
    let out_dir = work.path().join("out");
    let prepared = {
        let (input, out_dir) = (input.clone(), out_dir.clone());
        // Validation and the split are CPU-bound and synchronous.
        tokio::task::spawn_blocking(move || prepare::prepare_file(&input, &opts, &split, None, &out_dir))
            .await
            .map_err(|e| PipelineError::Internal(format!("the split task failed: {e}")))?
            .map_err(|e| PipelineError::Internal(format!("preparing {dataset_uri}: {e}")))?
    };
    let mut report = prepared.report;
    // The report names the upload, not the Lambda's temporary copy.
    report.file = Some(dataset_uri.clone());
    let report_path = out_dir.join(REPORT_FILE);
    prepare::write_report(&report, &report_path).map_err(|e| PipelineError::Internal(e.to_string()))?;

    let bucket = &source.bucket;
    let report_key = layout::report_key(&run_id);
    let report_uri = layout::s3_uri(bucket, &report_key);
    upload_file(deps, bucket, &report_key, &report_path, "application/json").await?;
    let train_key = layout::train_key(&run_id);
    if let Some(train) = &prepared.train {
        upload_file(deps, bucket, &train_key, train, "application/jsonl").await?;
    }
    let validation_uri = match &prepared.validation {
        Some(path) => {
            let key = layout::validation_key(&run_id);
            upload_file(deps, bucket, &key, path, "application/jsonl").await?;
            Some(layout::s3_uri(bucket, &key))
        }
        None => None,
    };

    let cause = (!report.valid).then(|| invalid_cause(&report, &dataset_uri, &report_uri));
    let split = report.split.as_ref();
    let data = PreparedData {
        bucket: bucket.clone(),
        train_uri: layout::s3_uri(bucket, &train_key),
        validation_uri,
        report_uri,
        train_records: split.map_or(0, |s| s.train_records),
        validation_records: split.map_or(0, |s| s.validation_records),
        training_tokens: report.cost_basis.as_ref().map_or(report.tokens.total, |c| c.training_tokens),
        estimated_cost_usd: report.estimated_cost_usd,
        valid: report.valid,
        first_errors: report.first_errors(CAUSE_ERRORS),
        cause,
    };
    tracing::info!(%run_id, valid = data.valid, train = data.train_records, validation = data.validation_records, "prepared");
    Ok(PreparedRun { run_id, prepared: true, source, config, data })
}

/// `dataset s3://… is invalid (12 errors): line 3: …; line 9: …; report: s3://…`
fn invalid_cause(report: &Report, dataset_uri: &str, report_uri: &str) -> String {
    let errors: Vec<String> = report
        .first_errors(CAUSE_ERRORS)
        .into_iter()
        .map(|e| {
            if e.chars().count() > CAUSE_MESSAGE_CHARS {
                e.chars().take(CAUSE_MESSAGE_CHARS).collect::<String>() + "…"
            } else {
                e
            }
        })
        .collect();
    let count = report.error_count.max(errors.len() as u64);
    let noun = if count == 1 { "error" } else { "errors" };
    format!("dataset {dataset_uri} is invalid ({count} {noun}): {}; report: {report_uri}", errors.join("; "))
}

/// Streams the object to a file: a dataset can be larger than the Lambda's memory.
async fn download(deps: &Deps, source: &DatasetSource, raw_etag: &str, path: &Path) -> Result<(), PipelineError> {
    let uri = layout::s3_uri(&source.bucket, &source.key);
    let mut request = deps.s3.get_object().bucket(&source.bucket).key(&source.key);
    // Validate exactly the content the run id was computed from.
    if !raw_etag.is_empty() {
        request = request.if_match(raw_etag);
    }
    let out = match request.send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("PreconditionFailed") => {
            return Err(PipelineError::Transient(format!("{uri} changed while it was being read; retrying")));
        }
        Err(e) => return Err(sdk_error("GetObject (dataset)", e)),
    };
    let io_err = |e: std::io::Error| PipelineError::Internal(format!("writing {}: {e}", path.display()));
    let mut file = tokio::fs::File::create(path).await.map_err(io_err)?;
    let mut body = out.body.into_async_read();
    tokio::io::copy(&mut body, &mut file)
        .await
        .map_err(|e| PipelineError::Transient(format!("downloading {uri}: {e}")))?;
    file.flush().await.map_err(io_err)?;
    Ok(())
}

async fn upload_file(
    deps: &Deps,
    bucket: &str,
    key: &str,
    path: &Path,
    content_type: &str,
) -> Result<(), PipelineError> {
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| PipelineError::Internal(format!("reading {}: {e}", path.display())))?;
    put_run_object(deps, bucket, key, body, content_type).await
}

/// The only write to S3: refuses any key outside runs/, so the upload can never be touched.
async fn put_run_object(
    deps: &Deps,
    bucket: &str,
    key: &str,
    body: ByteStream,
    content_type: &str,
) -> Result<(), PipelineError> {
    if !key.starts_with(layout::RUNS_PREFIX) {
        return Err(PipelineError::Internal(format!("refusing to write {key}: the pipeline writes only under runs/")));
    }
    deps.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(body)
        // A split file can take longer to send than the short default attempt timeout allows.
        .customize()
        .config_override(aws_sdk_s3::config::Builder::default().timeout_config(upload_timeouts()))
        .send()
        .await
        .or_pipeline("PutObject")?;
    Ok(())
}

fn upload_timeouts() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .operation_timeout(UPLOAD_TIMEOUT)
        .operation_attempt_timeout(UPLOAD_TIMEOUT / 2)
        .build()
}

/// S3 event keys are form-encoded: `+` is a space, `%XX` a byte.
pub fn form_decode(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(form_decode("incoming/Support+Tickets%21.jsonl"), "incoming/Support Tickets!.jsonl");
        assert_eq!(form_decode("incoming/caf%C3%A9.jsonl"), "incoming/café.jsonl");
        assert_eq!(form_decode("a%2"), "a%2");
        assert_eq!(form_decode("a%zz"), "a%zz");
        assert_eq!(form_decode("100%"), "100%");
    }
}
