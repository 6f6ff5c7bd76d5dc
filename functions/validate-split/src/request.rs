//! The run itself, as the state machine's first task (ValidateSplit) for every entry: the execution
//! input is checked to be a [`StartRequest`] (nothing else is trusted), the dataset is found (a URI, or
//! the newest `.jsonl` under a prefix), the config is layered and checked against the catalogue and the
//! operator's caps, and the run is named after the execution.
//!
//! A scheduled start (`skip_unchanged`) whose newest dataset and effective config are those of its
//! folder's last successful run starts nothing: the fingerprint (a hash of the dataset's bucket, key and
//! ETag and the effective config) equals the one teardown recorded for the folder's last successful run
//! (`layout::last_success_key`). The run id itself stays the execution's, so a run is never confused
//! with an earlier one.

use crate::Deps;
use crate::logs::{self, LogListing};
use crate::objects::{ObjectInfo, head, read_sidecar};
use crate::prepare::{effective_config, prepare_run};
use functions_common::SdkResultExt;
use serde_json::Value;
use shared::pipeline::{
    DatasetSource, LastSuccess, PipelineConfig, PipelineError, PreparedRun, StartRequest, TrainingSource, Unchanged,
    UnchangedRun, ValidateRequest, clip, config_invalid, fingerprint, layout, run_id_for_execution,
};

/// What a run's first task leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    Prepared(Box<PreparedRun>),
    /// `skip_unchanged` and nothing changed: no run.
    Unchanged(UnchangedRun),
}

/// The execution's run, prepared (see [`start`] for the scheduled skip).
pub async fn on_request(deps: &Deps, request: ValidateRequest) -> Result<PreparedRun, PipelineError> {
    let run_id = run_id_for_execution(&request.execution_name);
    let start = start_request(request.input)?;
    let (source, object, config, listing) = resolve(deps, &start).await?;
    prepare(deps, &run_id, source, &object, config, listing).await
}

/// The execution's run: prepared, or, with `skip_unchanged`, nothing when the data and config are those
/// of the last successful run of the dataset's folder.
pub async fn start(deps: &Deps, request: ValidateRequest) -> Result<Started, PipelineError> {
    let run_id = run_id_for_execution(&request.execution_name);
    let start = start_request(request.input)?;
    let (source, object, config, listing) = resolve(deps, &start).await?;
    if start.skip_unchanged {
        let print = fingerprint(&source, &config);
        if let Some(last) = last_success(deps, &source).await?
            && last.fingerprint == print
        {
            let dataset = layout::s3_uri(&source.bucket, &source.key);
            tracing::info!(%run_id, last = %last.run_id, %dataset, "unchanged since the last successful run; nothing started");
            let message = format!(
                "nothing changed since the last successful run {} (finished {}): the newest dataset {dataset} \
                 (same ETag){} and the effective config are the same, so no job was started",
                last.run_id,
                last.finished_at,
                if listing.is_some() { ", the invocation logs (same keys and ETags)" } else { "" }
            );
            return Ok(Started::Unchanged(UnchangedRun {
                unchanged: Unchanged { run_id, dataset, last_success: last, message },
            }));
        }
    }
    prepare(deps, &run_id, source, &object, config, listing).await.map(|run| Started::Prepared(Box::new(run)))
}

/// What a run starts from: the dataset, its HEAD, the effective config, and the invocation logs' listing
/// when it trains on them.
type Resolved = (DatasetSource, ObjectInfo, PipelineConfig, Option<LogListing>);

/// The dataset (the newest under a prefix), its ETag, the effective config, and, for a run from
/// invocation logs, their listing (its digest is part of the source, so of the fingerprint).
async fn resolve(deps: &Deps, start: &StartRequest) -> Result<Resolved, PipelineError> {
    let (bucket, key_or_prefix) = layout::parse_s3_uri(&start.dataset)
        .filter(|(_, k)| !k.is_empty() || start.dataset.ends_with('/'))
        .ok_or_else(|| {
            PipelineError::ConfigInvalid(format!(
                "`dataset` must be s3://bucket/key.jsonl or a prefix s3://bucket/folder/, not `{}`",
                clip(&start.dataset, 200)
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
    let config = effective_config(&deps.defaults, &deps.caps, sidecar.as_ref(), Some(&start.config))?;
    let listing = match config.training_source {
        TrainingSource::InvocationLogs => Some(logs::list(deps, &config).await?),
        TrainingSource::Dataset => None,
    };
    let logs = listing.as_ref().map(LogListing::digest);
    let source = DatasetSource { bucket: bucket.to_string(), key, etag: object.etag.clone(), logs };
    Ok((source, object, config, listing))
}

async fn prepare(
    deps: &Deps,
    run_id: &str,
    source: DatasetSource,
    object: &ObjectInfo,
    config: PipelineConfig,
    listing: Option<LogListing>,
) -> Result<PreparedRun, PipelineError> {
    let run = match listing {
        Some(listing) => logs::prepare_logs_run(deps, run_id, source, object, config, listing).await?,
        None => prepare_run(deps, run_id, source, object, config).await?,
    };
    if !run.data.valid {
        return Err(PipelineError::DatasetInvalid(run.data.cause.unwrap_or_default()));
    }
    Ok(run)
}

/// The execution input as a [`StartRequest`]; any other field (a prepared run, a job, a deployment, an
/// outcome) is refused by name, since acting on it would skip validation or touch what the run did not
/// create.
fn start_request(input: Value) -> Result<StartRequest, PipelineError> {
    let Some(fields) = input.as_object() else {
        return Err(PipelineError::ConfigInvalid(format!(
            "the execution input must be {{\"dataset\": \"s3://bucket/key-or-prefix\", \"config\": {{...}}}}, not {}",
            clip(&input.to_string(), 200)
        )));
    };
    let refused: Vec<String> =
        fields.keys().filter(|k| !StartRequest::FIELDS.contains(&k.as_str())).map(|k| clip(k, 40)).collect();
    if !refused.is_empty() {
        let shown: Vec<&str> = refused.iter().take(10).map(String::as_str).collect();
        let more = refused.len().saturating_sub(shown.len());
        return Err(PipelineError::ConfigInvalid(format!(
            "the execution input may hold only `dataset`, `config` and `skip_unchanged`; refused: {}{}. The pipeline always validates \
             the dataset itself and acts only on resources it created",
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        )));
    }
    serde_json::from_value(input).map_err(|e| {
        config_invalid(&[shared::pipeline::ConfigProblem {
            field: "input".to_string(),
            message: format!("{e}; expected {{\"dataset\": \"s3://bucket/key-or-prefix\", \"config\": {{...}}}}"),
        }])
    })
}

/// The folder's last successful run, if teardown recorded one (an unreadable record counts as none:
/// the run goes ahead).
async fn last_success(deps: &Deps, source: &DatasetSource) -> Result<Option<LastSuccess>, PipelineError> {
    let key = layout::last_success_key(&source.key);
    match deps.s3.get_object().bucket(&source.bucket).key(&key).send().await {
        Ok(out) => {
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| PipelineError::Transient(format!("reading {key}: {e}")))?
                .into_bytes();
            Ok(serde_json::from_slice(&bytes).ok())
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(functions_common::sdk_error("GetObject (last success)", e)),
    }
}

/// The newest `.jsonl` under a prefix, by LastModified (then key). Run outputs and validation files
/// beside a dataset are skipped (run outputs only unless the prefix itself is under runs/).
async fn newest_dataset(deps: &Deps, bucket: &str, prefix: &str) -> Result<String, PipelineError> {
    let mut pages = deps.s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut newest: Option<(aws_sdk_s3::primitives::DateTime, String)> = None;
    while let Some(page) = pages.next().await {
        let page = page.or_pipeline("ListObjectsV2")?;
        for object in page.contents.unwrap_or_default() {
            let (Some(key), Some(modified)) = (object.key, object.last_modified) else { continue };
            let is_output = key.starts_with(layout::RUNS_PREFIX) && !prefix.starts_with(layout::RUNS_PREFIX);
            if !key.ends_with(layout::DATASET_SUFFIX) || key.ends_with(layout::VALIDATION_SUFFIX) || is_output {
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
