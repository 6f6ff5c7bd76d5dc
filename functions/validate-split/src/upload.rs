//! Entry (a): an S3 event notification. For each `.jsonl` under `incoming/`, start an execution whose
//! input is only the dataset's URI and whose name is made from the event ([`upload_execution_name`]):
//! a duplicate delivery of the event finds `ExecutionAlreadyExists` (one job), a new upload of the same
//! bytes is a new run. Validation, the sidecar and the caps are the state machine's first task, as for
//! every other entry, so an upload cannot start a run any other way.

use crate::{Deps, NotificationResult, StartedRun};
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use functions_common::sdk_error;
use shared::pipeline::{PipelineError, StartRequest, layout, upload_execution_name};

pub async fn on_upload(deps: &Deps, event: S3Event) -> Result<NotificationResult, PipelineError> {
    let mut result = NotificationResult { started: vec![], ignored: vec![] };
    let mut first_error = None;
    for record in event.records {
        let Some(raw_key) = record.s3.object.key.clone() else { continue };
        let key = shared::aws::decode_s3_event_key(&raw_key);
        if record.s3.bucket.name.is_none() || !layout::is_dataset_upload(&key) {
            tracing::info!(%key, "not a dataset upload; ignored");
            result.ignored.push(key);
            continue;
        }
        // One bad record must not stop the others; the first error is raised at the end so the
        // invocation is retried (a started execution is found again by its name).
        match start_execution(deps, &record, &key).await {
            Ok(started) => result.started.push(started),
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

async fn start_execution(deps: &Deps, record: &S3EventRecord, key: &str) -> Result<StartedRun, PipelineError> {
    let arn = deps.state_machine_arn.clone()?;
    let bucket = record.s3.bucket.name.as_deref().unwrap_or_default();
    let object = &record.s3.object;
    let version = object.version_id.as_deref().or(object.e_tag.as_deref()).unwrap_or_default();
    let event_time = record.event_time.to_rfc3339();
    let name =
        upload_execution_name(bucket, key, version, object.sequencer.as_deref().unwrap_or_default(), &event_time);
    let dataset = layout::s3_uri(bucket, key);
    let input = StartRequest { dataset: dataset.clone(), config: serde_json::Value::Null, skip_unchanged: false };
    let input = serde_json::to_string(&input).map_err(|e| PipelineError::Internal(e.to_string()))?;
    let sent = deps.sfn.start_execution().state_machine_arn(arn).name(&name).input(input).send().await;
    let (execution_arn, already_started) = match sent {
        Ok(out) => (Some(out.execution_arn), false),
        // The name comes from the event: this is a duplicate delivery of it.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_already_exists()) => (None, true),
        Err(e) => return Err(sdk_error("StartExecution", e)),
    };
    tracing::info!(run_id = %name, %dataset, already_started, "execution started");
    Ok(StartedRun { run_id: name, dataset, execution_arn, already_started })
}
