//! Entry (b): a StartRequest (the state machine's ValidateSplit task, from a console or scheduled run):
//! a dataset URI, or a prefix whose newest `.jsonl` is used.

use crate::Deps;
use crate::objects::{head, read_sidecar};
use crate::prepare::{effective_config, prepare_run};
use functions_common::SdkResultExt;
use shared::pipeline::{DatasetSource, PipelineError, PreparedRun, StartRequest, layout};

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
        return Err(PipelineError::DatasetInvalid(run.data.cause.unwrap_or_default()));
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
