//! Run ids: what makes a run unique, and the Bedrock names derived from it.

use super::PipelineConfig;
use super::layout;
use serde::{Deserialize, Serialize};

/// Where a dataset came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSource {
    pub bucket: String,
    pub key: String,
    /// The object's ETag (or version id): a re-upload with new content is a new run.
    pub etag: String,
    /// With `training_source: invocation_logs`: a digest of the log objects' keys and ETags under the
    /// operator's location, so that new or changed logs make a new fingerprint (a scheduled run retrains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
}

/// The fingerprint of a run's data and config: `<dataset name>-<hash of (dataset identity, effective
/// config)>`, at most 48 characters of `[a-z0-9-]`. Not a run id (that is the execution's, see
/// [`run_id_for_execution`]): a scheduled start compares it with the last successful run's to skip
/// unchanged data.
pub fn fingerprint(source: &DatasetSource, config: &PipelineConfig) -> String {
    let config_json = serde_json::to_string(config).unwrap_or_default();
    let mut identity = format!("{}\n{}\n{}\n{}", source.bucket, source.key, source.etag, config_json);
    if let Some(logs) = &source.logs {
        identity.push_str("\nlogs:");
        identity.push_str(logs);
    }
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

/// The most characters a run id has: `ft-<run id>` must fit Bedrock's 63-character job names.
pub const MAX_RUN_ID_CHARS: usize = 48;

/// Run ids made by hashing an execution name start with this; a name that already looks like a run id
/// but starts with it is hashed too, so no execution can be named to get another's run id.
const HASHED_PREFIX: &str = "id-";

/// The run id of an execution, from its name alone, for every entry path (S3 drop, console, schedule):
/// validate-split names the run with it and teardown finds the run's resources with it after an abort.
/// A name that is already a run id (`[a-z0-9]+(-[a-z0-9]+)*`, at most 48 characters, not starting with
/// `id-`) is the run id, as S3 drops and console UUIDs are; any other name gives
/// `id-<its letters>-<hash of the whole name>`. Two different names never give the same run id (but for
/// a hash collision), and Step Functions refuses a used name, so a run id belongs to one execution.
pub fn run_id_for_execution(execution_name: &str) -> String {
    let canonical = !execution_name.is_empty()
        && execution_name.len() <= MAX_RUN_ID_CHARS
        && !execution_name.starts_with(HASHED_PREFIX)
        && execution_name
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if canonical {
        return execution_name.to_string();
    }
    let hash = xxhash_rust::xxh3::xxh3_128(execution_name.as_bytes());
    let stem = slug(execution_name, 24);
    let hex = format!("{:020x}", hash >> 48);
    if stem.is_empty() { format!("{HASHED_PREFIX}{hex}") } else { format!("{HASHED_PREFIX}{stem}-{hex}") }
}

/// The execution name validate-split gives the run of one S3 `ObjectCreated` event: the same for a
/// duplicate delivery of that event (same bucket, key, version or ETag, sequencer and event time), a new
/// one for every new upload, even of the same bytes. It is its own run id ([`run_id_for_execution`]).
pub fn upload_execution_name(
    bucket: &str,
    key: &str,
    version_or_etag: &str,
    sequencer: &str,
    event_time: &str,
) -> String {
    let identity = format!("{bucket}\n{key}\n{version_or_etag}\n{sequencer}\n{event_time}");
    let hash = xxhash_rust::xxh3::xxh3_128(identity.as_bytes());
    let file = key.rsplit('/').next().unwrap_or("").trim_end_matches(layout::DATASET_SUFFIX);
    let stem = slug(file, 27);
    let hex = format!("{:020x}", hash >> 48);
    // Never the prefix of hashed names, so the name stays its own run id.
    let stem = if stem.is_empty() || stem == "id" || stem.starts_with(HASHED_PREFIX) {
        slug(&format!("run-{stem}"), 27)
    } else {
        stem
    };
    format!("{stem}-{hex}")
}

/// Lowercase letters and digits of `text`, runs of anything else as one `-`, at most `max` characters.
fn slug(text: &str, max: usize) -> String {
    let mut name: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(max);
    name.trim_end_matches('-').to_string()
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
    fn fingerprints_are_stable_short_and_change_with_content_or_config() {
        let source = DatasetSource {
            bucket: "b".into(),
            key: "incoming/Support Tickets!.jsonl".into(),
            etag: "e1".into(),
            logs: None,
        };
        let config = PipelineConfig::default();
        let id = fingerprint(&source, &config);
        assert_eq!(id, fingerprint(&source, &config));
        assert!(id.starts_with("support-tickets-"), "{id}");
        assert!(id.len() <= 48 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!id.contains("--"));
        let other = DatasetSource { etag: "e2".into(), ..source.clone() };
        // New or changed invocation logs change it too (a scheduled run from logs retrains).
        let logs = DatasetSource { logs: Some("digest-1".into()), ..source.clone() };
        assert_ne!(fingerprint(&logs, &config), id);
        assert_ne!(
            fingerprint(&logs, &config),
            fingerprint(&DatasetSource { logs: Some("digest-2".into()), ..logs.clone() }, &config)
        );
        assert_ne!(id, fingerprint(&other, &config));
        let tuned = PipelineConfig { seed: 7, ..config };
        assert_ne!(id, fingerprint(&source, &tuned));
        assert!(names::job_name(&id).len() <= 63);
    }

    #[test]
    fn an_execution_named_like_a_run_id_is_its_run_id_and_any_other_name_is_hashed_apart() {
        for name in ["support-tickets-0123456789abcdef0123", "9b1f6c1e-3c1a-4e7e-9a57-0d5a2b7c4f11"] {
            assert_eq!(run_id_for_execution(name), name);
        }
        let typed = run_id_for_execution("My Retrain (Monday)");
        assert!(typed.starts_with("id-my-retrain-monday-"), "{typed}");
        // Naming an execution after the hashed id of another gives a different id, not the other's.
        assert_ne!(run_id_for_execution(&typed), typed);
        assert!(run_id_for_execution(&typed).starts_with("id-"));
        let long = "a".repeat(80);
        for name in ["A", "a--b", "-a", "a_b", long.as_str(), "id-x", ""] {
            let id = run_id_for_execution(name);
            assert!(id.starts_with("id-") && id.len() <= MAX_RUN_ID_CHARS, "{name} -> {id}");
            assert!(id.split('-').all(|p| !p.is_empty()), "{id}");
            assert!(names::job_name(&id).len() <= 63);
        }
        assert_ne!(run_id_for_execution("A"), run_id_for_execution("a_"));
    }

    #[test]
    fn an_upload_execution_name_is_idempotent_per_event_and_new_per_upload() {
        let name =
            upload_execution_name("b", "incoming/Support Tickets!.jsonl", "e1", "0A", "2026-01-01T00:00:00.000Z");
        assert!(name.starts_with("support-tickets-") && name.len() <= MAX_RUN_ID_CHARS, "{name}");
        assert_eq!(run_id_for_execution(&name), name);
        assert_eq!(
            name,
            upload_execution_name("b", "incoming/Support Tickets!.jsonl", "e1", "0A", "2026-01-01T00:00:00.000Z")
        );
        // The same bytes uploaded again: a new event, a new run.
        assert_ne!(
            name,
            upload_execution_name("b", "incoming/Support Tickets!.jsonl", "e1", "0B", "2026-01-01T00:00:05.000Z")
        );
        for key in ["incoming/id.jsonl", "incoming/id-cards.jsonl", "incoming/.jsonl", "incoming/!!!.jsonl"] {
            let n = upload_execution_name("b", key, "e", "1", "t");
            assert_eq!(run_id_for_execution(&n), n, "{key} -> {n}");
        }
    }
}
