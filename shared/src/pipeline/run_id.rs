//! Run ids: what makes a run unique, and the Bedrock names derived from it.

use super::PipelineConfig;
use super::layout;
use serde::{Deserialize, Serialize};

/// Where a dataset came from: what makes a run id unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSource {
    pub bucket: String,
    pub key: String,
    /// The object's ETag (or version id): a re-upload with new content is a new run.
    pub etag: String,
}

/// The run id: `<dataset name>-<hash of (dataset identity, effective config)>`, at most 48 characters
/// of `[a-z0-9-]`, usable as an execution name and inside job and model names.
pub fn run_id(source: &DatasetSource, config: &PipelineConfig) -> String {
    let config_json = serde_json::to_string(config).unwrap_or_default();
    let identity = format!("{}\n{}\n{}\n{}", source.bucket, source.key, source.etag, config_json);
    let hash = xxhash_rust::xxh3::xxh3_128(identity.as_bytes());
    let stem = source.key.rsplit('/').next().unwrap_or("").trim_end_matches(layout::DATASET_SUFFIX);
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(27);
    let name = name.trim_end_matches('-');
    let hex = format!("{:020x}", hash >> 48);
    if name.is_empty() { format!("run-{hex}") } else { format!("{name}-{hex}") }
}

/// Names derived from the run id, so a retried step finds what an earlier attempt created.
pub mod names {
    /// Bedrock names allow 63 characters; run ids are at most 48.
    pub fn job_name(run_id: &str) -> String {
        format!("ft-{run_id}")
    }
    /// `([0-9a-zA-Z][_-]?){1,63}`: run ids have no doubled hyphens.
    pub fn custom_model_name(run_id: &str) -> String {
        format!("model-{run_id}")
    }
    pub fn throughput_name(run_id: &str) -> String {
        format!("pt-{run_id}")
    }
    pub fn deployment_name(run_id: &str) -> String {
        format!("dep-{run_id}")
    }
    /// clientRequestToken for a create call: `[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?`.
    pub fn client_token(run_id: &str, purpose: &str) -> String {
        format!("{run_id}-{purpose}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_stable_short_and_change_with_content_or_config() {
        let source =
            DatasetSource { bucket: "b".into(), key: "incoming/Support Tickets!.jsonl".into(), etag: "e1".into() };
        let config = PipelineConfig::default();
        let id = run_id(&source, &config);
        assert_eq!(id, run_id(&source, &config));
        assert!(id.starts_with("support-tickets-"), "{id}");
        assert!(id.len() <= 48 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!id.contains("--"));
        let other = DatasetSource { etag: "e2".into(), ..source.clone() };
        assert_ne!(id, run_id(&other, &config));
        let tuned = PipelineConfig { seed: 7, ..config };
        assert_ne!(id, run_id(&source, &tuned));
        assert!(names::job_name(&id).len() <= 63);
    }
}
