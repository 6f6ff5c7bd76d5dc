//! What `finetune run` remembers in a data folder, so the same command run twice does not train
//! twice: for each input (the dataset's name and bytes, and the effective config its sidecar and
//! flags make, however they were spelt), the runs made from it, each with the fault spec it ran
//! under, and its outcome.
//!
//! Kept under `<data_dir>/.finetune/runs/`, out of the bucket's view. On AWS the run id (the
//! execution name) derives from the dataset and its config, and StartExecution refuses a used name;
//! the local cloud's services live in one process, so this file plays that part across commands.

use super::Stack;
use serde::{Deserialize, Serialize};
use shared::outcome::RunOutcome;
use shared::pipeline::PipelineConfig;
use std::path::{Path, PathBuf};

/// The runs made from one input.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Memo {
    pub runs: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The canonical `--fault` spec, `null` without faults.
    pub fault: Option<String>,
    pub outcome: RunOutcome,
}

/// Where the memo of an input lives.
pub fn path(data_dir: &Path, upload_name: &str, dataset: &[u8], config: &PipelineConfig, stack: &Stack) -> PathBuf {
    let mut identity = Vec::with_capacity(dataset.len() + 512);
    // The stack it runs on: another template, definition, region or parameter is another deployment.
    for part in [&stack.template, &stack.definition] {
        identity.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(part.as_bytes()).to_le_bytes());
    }
    identity.extend_from_slice(stack.region.as_bytes());
    identity.push(0);
    for (name, value) in &stack.parameters {
        identity.extend_from_slice(format!("{name}={value}").as_bytes());
        identity.push(0);
    }
    identity.extend_from_slice(upload_name.as_bytes());
    identity.push(0);
    // Fields in declaration order and maps sorted: the same config gives the same bytes.
    identity.extend_from_slice(serde_json::to_string(config).unwrap_or_default().as_bytes());
    identity.push(0);
    identity.extend_from_slice(dataset);
    let hash = xxhash_rust::xxh3::xxh3_128(&identity);
    local_stack::bookkeeping_dir(data_dir).join("runs").join(format!("{hash:032x}.json"))
}

impl Memo {
    /// The memo at `path`; empty when there is none. One this version cannot read is set aside
    /// (renamed `.unreadable`) rather than trusted, and said so.
    pub fn load(path: &Path) -> Memo {
        let Ok(text) = std::fs::read(path) else { return Memo::default() };
        match serde_json::from_slice(&text) {
            Ok(memo) => memo,
            Err(e) => {
                let aside = path.with_extension("json.unreadable");
                let _ = std::fs::rename(path, &aside);
                crate::output::note(&format!(
                    "{} was written by another version ({e}); moved to {} and starting afresh",
                    path.display(),
                    aside.display()
                ));
                Memo::default()
            }
        }
    }

    /// The latest run made with this fault spec.
    pub fn find(&self, fault: Option<&str>) -> Option<&Entry> {
        self.runs.iter().rev().find(|e| e.fault.as_deref() == fault)
    }

    /// Adds a run and writes the memo (through a temporary file, so a crash leaves the old one).
    pub fn record(&mut self, path: &Path, entry: Entry) -> std::io::Result<()> {
        self.runs.push(entry);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, path)
    }
}
