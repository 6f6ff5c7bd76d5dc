//! The domain library of the Bedrock fine-tuning pipeline: Bedrock's dataset rules and model catalogue,
//! streaming validation, the deterministic split, token and cost estimates, the documents the
//! pipeline passes between its steps, and a run's outcome read from its execution history. No AWS SDK
//! (but for the `sfn` feature's history mapping, `outcome::sfn`) and no async runtime: fast to build,
//! easy to test.

pub mod aws;
pub mod catalogue;
pub mod convert;
pub mod grader;
pub mod html_report;
pub mod invocation_logs;
pub mod loss_csv;
pub mod metrics;
pub mod outcome;
pub mod pipeline;
pub mod prepare;
pub mod presets;
pub mod report;
pub mod sample;
pub mod split;
pub mod split_stream;
pub mod summary;
#[cfg(test)]
mod test_documents;
pub mod tokens;
pub mod validate;

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for keys that are already hashes (xxh3 of a record): hashing them again with SipHash is
/// wasted work on the hot path of validation and the split.
#[derive(Default, Clone, Copy)]
pub struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are expected; fold anything else so the hasher stays correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A hasher for short keys (class labels, at most 50 of them): a multiply-rotate over the bytes, a
/// fraction of SipHash's cost for the few bytes of a label, looked up once per record.
#[derive(Default, Clone, Copy)]
pub struct ShortKeyHasher(u64);

impl Hasher for ShortKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
}

impl ShortKeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A map keyed by short strings, as bytes.
pub type ShortKeyMap<V> = std::collections::HashMap<Box<[u8]>, V, BuildHasherDefault<ShortKeyHasher>>;

/// A map keyed by record hashes.
pub type PrehashedMap<V> = std::collections::HashMap<u64, V, BuildHasherDefault<PrehashedHasher>>;
use std::fmt;
use std::str::FromStr;

/// Bedrock's `customizationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomizationType {
    #[default]
    FineTuning,
    ContinuedPreTraining,
    Distillation,
    ReinforcementFineTuning,
}

impl CustomizationType {
    pub const ALL: [CustomizationType; 4] = [
        CustomizationType::FineTuning,
        CustomizationType::ContinuedPreTraining,
        CustomizationType::Distillation,
        CustomizationType::ReinforcementFineTuning,
    ];

    /// The API's spelling, e.g. `FINE_TUNING`.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomizationType::FineTuning => "FINE_TUNING",
            CustomizationType::ContinuedPreTraining => "CONTINUED_PRE_TRAINING",
            CustomizationType::Distillation => "DISTILLATION",
            CustomizationType::ReinforcementFineTuning => "REINFORCEMENT_FINE_TUNING",
        }
    }
}

impl fmt::Display for CustomizationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown customization type `{0}`; use one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING"
)]
pub struct UnknownCustomizationType(pub String);

impl FromStr for CustomizationType {
    type Err = UnknownCustomizationType;

    /// Accepts the API spelling in any case, with hyphens or underscores (`fine-tuning`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normal = s.trim().to_ascii_uppercase().replace('-', "_");
        CustomizationType::ALL
            .into_iter()
            .find(|t| t.as_str() == normal)
            .ok_or_else(|| UnknownCustomizationType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customization_type_parses_any_case_and_hyphens() {
        assert_eq!("fine-tuning".parse(), Ok(CustomizationType::FineTuning));
        assert_eq!("Continued_Pre_Training".parse(), Ok(CustomizationType::ContinuedPreTraining));
        assert_eq!("reinforcement-fine-tuning".parse(), Ok(CustomizationType::ReinforcementFineTuning));
        assert!("pretraining".parse::<CustomizationType>().is_err());
        assert_eq!(serde_json::to_string(&CustomizationType::Distillation).unwrap(), "\"DISTILLATION\"");
    }
}
