//! The function's small S3 reads: an object's HEAD (ETag and size) and the sidecar. The dataset's
//! streaming and every write are in [`crate::stream`].

use crate::Deps;
use functions_common::sdk_error;
use serde_json::Value;
use shared::pipeline::{PipelineError, layout};

pub(crate) struct ObjectInfo {
    /// Without quotes, for the run id.
    pub etag: String,
    /// As S3 returned it, for If-Match.
    pub raw_etag: String,
    /// Content-Length; unknown when S3 does not say.
    pub size: Option<u64>,
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
            let size = out.content_length.and_then(|n| u64::try_from(n).ok());
            Ok(Some(ObjectInfo { etag, raw_etag, size }))
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
