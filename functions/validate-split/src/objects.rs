//! The function's S3 reads and writes: the upload's ETag, the sidecar, the dataset download, and the
//! only write, which refuses any key outside runs/.

use crate::Deps;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use functions_common::{SdkResultExt, sdk_error};
use serde_json::Value;
use shared::pipeline::{DatasetSource, PipelineError, layout};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// PutObject of a split file (the function's own timeout is 15 minutes).
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

pub(crate) struct ObjectInfo {
    /// Without quotes, for the run id.
    pub etag: String,
    /// As S3 returned it, for If-Match.
    pub raw_etag: String,
}

pub(crate) async fn head(deps: &Deps, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PipelineError> {
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
pub(crate) async fn read_sidecar(deps: &Deps, bucket: &str, dataset_key: &str) -> Result<Option<Value>, PipelineError> {
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

/// Streams the object to a file: a dataset can be larger than the Lambda's memory.
pub(crate) async fn download(
    deps: &Deps,
    source: &DatasetSource,
    raw_etag: &str,
    path: &Path,
) -> Result<(), PipelineError> {
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

pub(crate) async fn upload_file(
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
pub(crate) async fn put_run_object(
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
