//! Entry (a): an S3 event notification. For each `.jsonl` under `incoming/`, prepare the run and call
//! StartExecution (name = run id, input = the prepared run). A run whose data or config is invalid is
//! still started, with `data.valid = false` and a cause, so it shows as a FAILED execution.

use crate::objects::{head, put_run_object, read_sidecar};
use crate::prepare::{effective_config, prepare_run};
use crate::{Deps, NotificationResult, StartedRun};
use aws_lambda_events::event::s3::S3Event;
use aws_sdk_s3::primitives::ByteStream;
use functions_common::sdk_error;
use shared::pipeline::{DatasetSource, PipelineConfig, PipelineError, PreparedData, PreparedRun, layout, run_id};

pub async fn on_upload(deps: &Deps, event: S3Event) -> Result<NotificationResult, PipelineError> {
    let mut result = NotificationResult { started: vec![], ignored: vec![] };
    let mut first_error = None;
    for record in event.records {
        let (Some(bucket), Some(raw_key)) = (record.s3.bucket.name, record.s3.object.key) else { continue };
        let key = shared::aws::decode_s3_event_key(&raw_key);
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
