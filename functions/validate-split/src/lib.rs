//! validate-split: validates an uploaded JSONL dataset against the effective configuration's model,
//! splits it, and writes `train.jsonl`, `validation.jsonl` and `validation-report.json` under
//! `runs/<run-id>/`. It never modifies or deletes the upload and writes nothing outside `runs/`.
//!
//! Two entries, told apart by the input's shape:
//! - **S3 event notification** (`Records`): for each `.jsonl` under `incoming/`, call StartExecution
//!   with the input `{"dataset": "s3://..."}` and a name made from the event (bucket, key, version or
//!   ETag, sequencer, event time): a duplicate event finds `ExecutionAlreadyExists`, which is success; a
//!   new upload of the same bytes is a new run. Returns a [`NotificationResult`]. It reads nothing else:
//!   the run is validated inside the execution, like any other.
//! - **[`ValidateRequest`]** (the state machine's ValidateSplit task, first for every entry): the
//!   execution input, which must be a [`StartRequest`](shared::pipeline::StartRequest) (a dataset URI, or
//!   a prefix whose newest `.jsonl` is used, and a `config`), and the execution's name, which gives the
//!   run id. Returns the prepared run, or raises `DatasetInvalid` with the cause (the report is still
//!   written) or `ConfigInvalid` (also for anything beyond the operator's caps, before anything is spent).
//!   A scheduled start (`skip_unchanged`) whose data and config are unchanged since the last successful
//!   run returns an [`UnchangedRun`](shared::pipeline::UnchangedRun) instead, and the execution ends there.
//!
//! A DISTILLATION with `training_source: invocation_logs` trains on the operator's model invocation logs
//! instead (see [`logs`]): they are listed, read and counted here, and the upload is held out whole as
//! the evaluation set.
//!
//! Configuration: deployment defaults from the environment (see `functions_common`), overridden by the
//! sidecar `<name>.pipeline.json` beside the upload (read when the execution starts, so upload it
//! before the dataset), overridden by the input's `config`; the sidecar and the input choose only within
//! the operator's caps (`shared::pipeline::Caps`, read by `functions_common::caps_from`).
//!
//! Environment ([`Deps::from_env`]): `STATE_MACHINE_ARN` (S3 entry only), the defaults' and the caps'
//! variables (see `functions_common`; `INVOCATION_LOGS_BUCKET` and `INVOCATION_LOGS_PREFIX` among them),
//! `SPLIT_PART_SIZE_MIB` (the part size of the dataset's ranged
//! reads and of the split's multipart uploads; 8 when unset), the SDK's variables. The dataset is
//! streamed: nothing is written to the Lambda's disk, and memory is bounded by the parts in flight
//! (see [`stream`]), whatever the dataset's size.

pub mod logs;
mod objects;
mod prepare;
mod request;
pub mod stream;
mod upload;

pub use request::{Started, on_request, start};
pub use upload::on_upload;

use aws_lambda_events::event::s3::S3Event;
use functions_common::{Env, LambdaError, SdkConfig, caps_from, defaults_from, s3_client};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::pipeline::{Caps, PipelineConfig, PipelineError, ValidateRequest};

pub struct Deps {
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// Needed by the S3 entry only, so a missing one surfaces there.
    pub state_machine_arn: Result<String, PipelineError>,
    /// Read once at init; an error surfaces per run, as a failed run or a ConfigInvalid.
    pub defaults: Result<PipelineConfig, PipelineError>,
    /// The operator's caps, read once at init like the defaults.
    pub caps: Result<Caps, PipelineError>,
    /// Part size and parallelism of the dataset's reads and the split's uploads.
    pub streaming: stream::Streaming,
}

impl Deps {
    /// The one wiring, for Lambda and the local cloud alike (see the crate documentation's variables).
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Deps {
        let defaults = defaults_from(env);
        Deps {
            s3: s3_client(sdk, env),
            sfn: aws_sdk_sfn::Client::new(sdk),
            state_machine_arn: env.required("STATE_MACHINE_ARN"),
            caps: defaults.clone().and_then(|d| caps_from(env, &d)),
            defaults,
            streaming: streaming_from(env),
        }
    }
}

/// [`stream::Streaming`] with `SPLIT_PART_SIZE_MIB` (S3 refuses parts below 5 MiB but the last: a
/// smaller setting makes a large run fail with EntityTooSmall, as it would on AWS).
pub fn streaming_from(env: &Env) -> stream::Streaming {
    let mut streaming = stream::Streaming::default();
    if let Some(mib) = env.positive("SPLIT_PART_SIZE_MIB") {
        streaming.part_size = usize::try_from(mib.min(5 * 1024)).unwrap_or(usize::MAX) << 20;
    }
    streaming
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
        let request: ValidateRequest = serde_json::from_value(payload).map_err(|e| {
            PipelineError::ConfigInvalid(format!(
                "expected an S3 event, or the state machine's {{\"input\": {{\"dataset\": ...}}, \"execution_name\": ...}} \
                 (start runs through the state machine): {e}"
            ))
        })?;
        match start(deps, request).await? {
            Started::Prepared(run) => Ok(to_json(serde_json::to_value(run))?),
            Started::Unchanged(unchanged) => Ok(to_json(serde_json::to_value(unchanged))?),
        }
    }
}
