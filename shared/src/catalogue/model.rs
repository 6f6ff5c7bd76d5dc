//! What a catalogue entry says about a model: its customizations, their limits and formats, its media
//! and token estimate; and the building blocks the family tables share.

use super::{DatasetFormat, Fact, HyperParameter, Provenance};
use crate::CustomizationType;
use serde::Serialize;

/// How tokens are approximated for a model family (see `tokens.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TokenEstimate {
    /// Characters (Unicode scalar values) per token for text in Latin scripts.
    pub chars_per_token: f64,
    pub provenance: Provenance,
}

/// Bedrock's documented rule of thumb for Titan, Cohere and Llama 3.1 prompt/completion data.
pub(super) const SIX_CHARS: TokenEstimate = TokenEstimate { chars_per_token: 6.0, provenance: Provenance::Documented };
/// No figure is published for Nova, Claude or Llama 3.2+; 4 characters per token over-estimates
/// English text slightly, which errs towards warning early.
pub(super) const FOUR_CHARS: TokenEstimate = TokenEstimate { chars_per_token: 4.0, provenance: Provenance::Unverified };

/// Bounds on the number of records. `total` counts training plus validation records.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RecordBounds {
    pub min: Option<Fact<u64>>,
    pub max_total: Option<Fact<u64>>,
    pub max_train: Option<Fact<u64>>,
    pub max_validation: Option<Fact<u64>>,
}

/// Per-record token limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TokenLimits {
    /// Prompt plus completion (or the whole conversation).
    pub total: Option<Fact<u64>>,
    /// Separate limits where the model has them (Cohere Command).
    pub input: Option<Fact<u64>>,
    pub output: Option<Fact<u64>>,
}

pub(super) const fn total_tokens(limit: Fact<u64>) -> TokenLimits {
    TokenLimits { total: Some(limit), input: None, output: None }
}

pub(super) const GIB: u64 = 1 << 30;
pub(super) const MIB: u64 = 1 << 20;

/// File-size limits in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FileLimits {
    pub train_bytes: Option<Fact<u64>>,
    pub validation_bytes: Option<Fact<u64>>,
}

pub(super) const NO_FILE_LIMITS: FileLimits = FileLimits { train_bytes: None, validation_bytes: None };

/// Multimodal content a conversation record may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Media {
    pub max_images: u32,
    pub max_videos: u32,
}

pub(super) const TEXT_ONLY: Media = Media { max_images: 0, max_videos: 0 };

/// How hyperparameters are passed to CreateModelCustomizationJob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HyperParameterEncoding {
    /// `hyperParameters`: a map of strings.
    StringMap,
    /// `customizationConfig.rftConfig.hyperParameters`: typed values.
    RftConfig,
}

/// One customization type of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Customization {
    #[serde(rename = "type")]
    pub kind: CustomizationType,
    pub format: DatasetFormat,
    pub records: RecordBounds,
    pub tokens_per_record: TokenLimits,
    pub files: FileLimits,
    pub hyperparameters: &'static [HyperParameter],
    pub hyperparameter_encoding: HyperParameterEncoding,
    /// Training price in USD per 1,000 tokens (tokens × epochs are billed).
    pub training_price_per_1k_tokens: Option<Fact<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Nova,
    Nova2,
    ClaudeHaiku,
    Llama31,
    Llama32,
    Llama33,
    TitanText,
    Cohere,
}

/// A base model that can be customized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Model {
    /// The id to pass as `baseModelIdentifier`, with its context-length suffix.
    pub id: &'static str,
    pub name: &'static str,
    pub family: Family,
    pub regions: &'static [&'static str],
    /// Dropped from the current fine-tuning table; may no longer be offered.
    pub legacy: bool,
    /// CreateCustomModelDeployment (on-demand inference) is available for its custom models.
    pub on_demand_deployment: bool,
    pub media: Media,
    pub tokens: TokenEstimate,
    pub customizations: &'static [Customization],
}

impl Model {
    /// The id without the `:128k`-style context suffix, as used for inference.
    pub fn base_id(&self) -> &'static str {
        strip_context_suffix(self.id)
    }

    /// Where to customize it when `preferred` may not be possible: `preferred` if the model is offered
    /// there, else the first region it is offered in (Llama and Claude: us-west-2 only).
    pub fn region_for<'a>(&self, preferred: &'a str) -> &'a str
    where
        'static: 'a,
    {
        if self.regions.contains(&preferred) { preferred } else { self.regions.first().copied().unwrap_or(preferred) }
    }

    pub fn customization(&self, kind: CustomizationType) -> Option<&'static Customization> {
        self.customizations.iter().find(|c| c.kind == kind)
    }

    pub fn supported_types(&self) -> impl Iterator<Item = CustomizationType> + '_ {
        self.customizations.iter().map(|c| c.kind)
    }
}

/// `amazon.nova-micro-v1:0:128k` -> `amazon.nova-micro-v1:0`. Ids without a third `:` part are kept.
pub(super) fn strip_context_suffix(id: &str) -> &str {
    match id.match_indices(':').nth(1) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

pub(super) const fn fine_tuning(
    format: DatasetFormat,
    records: RecordBounds,
    tokens_per_record: TokenLimits,
    files: FileLimits,
    hyperparameters: &'static [HyperParameter],
    price: Option<Fact<f64>>,
) -> Customization {
    Customization {
        kind: CustomizationType::FineTuning,
        format,
        records,
        tokens_per_record,
        files,
        hyperparameters,
        hyperparameter_encoding: HyperParameterEncoding::StringMap,
        training_price_per_1k_tokens: price,
    }
}

pub(super) const US_EAST_1: &[&str] = &["us-east-1"];
pub(super) const US_WEST_2: &[&str] = &["us-west-2"];
pub(super) const BOTH_US: &[&str] = &["us-east-1", "us-west-2"];
