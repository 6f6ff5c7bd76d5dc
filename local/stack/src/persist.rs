//! What a long-running local cloud (`finetune local serve`) keeps in its data folder besides the bucket,
//! so a restart finds what the last server left: the emulated Bedrock account (jobs, custom models,
//! throughputs, deployments, tags, tokens), every execution with its history, what was published to
//! the topic, and the virtual clock (statuses are functions of it, so it never goes back).
//!
//! One JSON file, `<data_dir>/.finetune/state.json`, written whole to a temporary file and renamed, so
//! a crash leaves the previous state or the new one, never half of one. A missing file is a fresh
//! start; one that cannot be read is an error naming the file and what to do, never a panic and never
//! silently discarded (it may hold a throughput someone must still delete).
//!
//! An execution saved while RUNNING (the server stopped without [`LocalCloud::stop_running`], or
//! died) comes back ABORTED, as nothing runs it any more, and its teardown runs as after any abort.

use crate::{LocalCloud, StackError, bookkeeping_dir};
use local_sfn::{ExecutionStatus, SavedExecution};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Bumped whenever a state file of the previous format would be read wrongly.
pub const FORMAT: u32 = 1;

/// The cause an execution saved while running is aborted with at the next start.
pub const ABORTED_BY_RESTART: &str =
    "The local cloud stopped while this execution ran; it was aborted at the next start and its teardown run.";

/// The cause of an execution still running when the server is stopped cleanly.
pub const ABORTED_BY_STOP: &str =
    "finetune local serve was stopped while this execution ran: aborted, and its teardown run, before it stopped.";

#[derive(Serialize, Deserialize)]
pub struct Saved {
    pub format: u32,
    /// The virtual clock, in milliseconds since the Unix epoch.
    pub clock_millis: i64,
    /// The emulator's own saved form (`local_bedrock::persist`).
    pub bedrock: serde_json::Value,
    pub executions: Vec<SavedExecution>,
    /// (subject, message) published to the topic, in order.
    pub published: Vec<(String, String)>,
}

impl Saved {
    pub fn bedrock_bytes(&self) -> Vec<u8> {
        self.bedrock.to_string().into_bytes()
    }
}

pub fn path(data_dir: &Path) -> PathBuf {
    bookkeeping_dir(data_dir).join("state.json")
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Inserts and pushes only: a panicking holder leaves nothing half-done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The error for a state file that exists but cannot be used.
pub(crate) fn refused(data_dir: &Path, why: &dyn std::fmt::Display) -> StackError {
    let file = path(data_dir);
    StackError::State(format!(
        "the local cloud's saved state {} cannot be restored: {why}. Move the file away to start with an empty \
         account (the bucket is kept apart, in {}); look in it first for provisioned throughputs you created.",
        file.display(),
        data_dir.display()
    ))
}

/// The saved state of `data_dir`, or None when there is none yet.
pub fn load(data_dir: &Path) -> Result<Option<Saved>, StackError> {
    let file = path(data_dir);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refused(data_dir, &e)),
    };
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| refused(data_dir, &e))?;
    if saved.format != FORMAT {
        return Err(refused(data_dir, &format!("it is in format {}, this build reads format {FORMAT}", saved.format)));
    }
    Ok(Some(saved))
}

impl LocalCloud {
    /// Everything [`Options::persist`](crate::Options::persist) keeps, as it is now.
    pub fn snapshot(&self) -> Result<Saved, StackError> {
        let bedrock = self.emulator.save().map_err(|e| StackError::State(e.to_string()))?;
        Ok(Saved {
            format: FORMAT,
            clock_millis: self.clock.now().epoch_millis(),
            bedrock: serde_json::from_slice(&bedrock).map_err(|e| StackError::State(e.to_string()))?,
            executions: self.sfn.save_executions(),
            published: lock(&self.lambdas.notifier.published).clone(),
        })
    }

    /// Writes [`LocalCloud::snapshot`] to `<data_dir>/.finetune/state.json` (whole, by rename); returns
    /// whether the file changed.
    pub fn save_state(&self) -> Result<bool, StackError> {
        let file = path(&self.data_dir);
        let bytes = serde_json::to_vec(&self.snapshot()?).map_err(|e| StackError::State(e.to_string()))?;
        if std::fs::read(&file).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &file)?;
        Ok(true)
    }

    /// Aborts every running execution and runs its teardown (as EventBridge's rule would), waiting
    /// for each: what a clean stop of the server does first, so nothing it started is left running
    /// or provisioned. Returns the aborted executions' ARNs.
    pub async fn stop_running(&self, cause: &str) -> Vec<String> {
        let running =
            self.sfn.list_executions(&self.state_machine_arn, Some(ExecutionStatus::Running)).unwrap_or_default();
        let mut stopped = Vec::new();
        for execution in running {
            let arn = execution.execution_arn.clone();
            // Claimed first, so the watcher does not run teardown a second time.
            if !lock(&self.torn_down).insert(arn.clone()) {
                continue;
            }
            if self.sfn.stop_execution(&arn, Some("States.Runtime"), Some(cause)).is_err() {
                continue;
            }
            let closed = self.sfn.describe_execution(&arn).map(|d| d.snapshot.status);
            if closed.as_ref().is_ok_and(|s| *s == ExecutionStatus::Aborted) && self.teardown_on_abort {
                let event = crate::stopped_event(&self.state_machine_arn, &execution, ExecutionStatus::Aborted);
                let _ = self.lambdas.call("teardown", event).await;
            }
            stopped.push(arn);
        }
        stopped
    }
}
