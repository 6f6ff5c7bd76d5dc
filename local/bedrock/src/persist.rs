//! Saving the emulated account and restoring it in a new emulator, so a long-running local cloud
//! (`finetune local serve`) keeps its jobs, custom models, throughputs, deployments, tags and
//! idempotency tokens across a restart. The clock is the caller's: statuses are functions of "now", so
//! whoever restores the account also moves its clock to at least the time it was saved at.
//!
//! The format is JSON with a version number. A file that does not parse, is of another version, or
//! points from one resource to another that is not there is refused with an error naming what is
//! wrong; nothing is half-restored.

use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::emulator::{Emulator, State, lock};
use crate::standin::{Example, TunedModel};

/// Bumped whenever a saved account of the previous format would be read wrongly.
pub const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("not a saved local-bedrock account: {0}")]
    Corrupt(String),
    #[error("saved in format {found}, this build reads format {FORMAT}")]
    Format { found: u32 },
    #[error("the emulator already holds resources; an account is restored into a fresh one only")]
    NotEmpty,
}

#[derive(Serialize)]
struct SavedRef<'a> {
    format: u32,
    state: &'a State,
}

#[derive(Deserialize)]
struct Saved {
    format: u32,
    state: serde_json::Value,
}

impl Emulator {
    /// The whole account as JSON (everything but the clock, the faults and the request count).
    pub fn save(&self) -> Result<Vec<u8>, PersistError> {
        let st = lock(&self.inner.state);
        serde_json::to_vec(&SavedRef { format: FORMAT, state: &st }).map_err(|e| PersistError::Corrupt(e.to_string()))
    }

    /// Replaces this fresh emulator's (empty) account with a saved one. Jobs in progress go on from
    /// where the clock is; a throughput or deployment that existed still exists (and would still bill).
    pub fn restore(&self, bytes: &[u8]) -> Result<(), PersistError> {
        let saved: Saved = serde_json::from_slice(bytes).map_err(|e| PersistError::Corrupt(e.to_string()))?;
        if saved.format != FORMAT {
            return Err(PersistError::Format { found: saved.format });
        }
        let state: State = serde_json::from_value(saved.state).map_err(|e| PersistError::Corrupt(e.to_string()))?;
        check_links(&state)?;
        let mut st = lock(&self.inner.state);
        if !(st.jobs.is_empty() && st.models.is_empty() && st.throughputs.is_empty() && st.deployments.is_empty()) {
            return Err(PersistError::NotEmpty);
        }
        *st = state;
        Ok(())
    }
}

/// Resources refer to each other by index; a saved file edited by hand must not make a lookup panic.
fn check_links(st: &State) -> Result<(), PersistError> {
    let broken = |what: &str, name: &str| PersistError::Corrupt(format!("{what} {name} refers to a missing resource"));
    for m in &st.models {
        if m.job >= st.jobs.len() {
            return Err(broken("custom model", &m.name));
        }
    }
    for t in &st.throughputs {
        if t.custom_model.is_some_and(|i| i >= st.models.len()) {
            return Err(broken("provisioned throughput", &t.name));
        }
    }
    for d in &st.deployments {
        if d.custom_model >= st.models.len() {
            return Err(broken("deployment", &d.name));
        }
    }
    Ok(())
}

/// A catalogue model is saved as its id and found again in this build's catalogue.
pub(crate) mod catalogue_model {
    use super::*;
    use shared::catalogue::Model;

    pub fn serialize<S: Serializer>(model: &&'static Model, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(model.id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Model, D::Error> {
        let id = String::deserialize(d)?;
        shared::catalogue::find(&id)
            .ok_or_else(|| D::Error::custom(format!("base model {id} is not in this build's catalogue")))
    }
}

/// A custom model's stand-in is saved as its examples and rebuilt from them (it is deterministic).
pub(crate) mod stand_in {
    use super::*;

    pub fn serialize<S: Serializer>(model: &Arc<TunedModel>, s: S) -> Result<S::Ok, S::Error> {
        model.examples().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<TunedModel>, D::Error> {
        Ok(Arc::new(TunedModel::new(Vec::<Example>::deserialize(d)?)))
    }
}
