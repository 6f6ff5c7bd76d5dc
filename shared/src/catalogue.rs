//! The model catalogue: every base model Bedrock can customize, as data.
//!
//! This table is the one source of truth for model ids, regions, customization types, dataset formats,
//! limits, hyperparameters and prices. Each number carries its [`Provenance`]: values that the AWS
//! documentation states are `Documented`; values taken from a secondary source or not confirmed are
//! marked so, and the validator reports a breach of an unverified limit as a warning, never an error,
//! so that a wrong guess here cannot block a dataset Bedrock would accept.

use crate::CustomizationType;
use serde::Serialize;

/// Where a number in the catalogue comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Stated in the Bedrock user guide or the service model.
    Documented,
    /// From a secondary source (blog, third-party summary) or an older snapshot of the docs.
    Secondary,
    /// Not confirmed anywhere we could check; an educated default.
    Unverified,
}

/// A number with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fact<T> {
    pub value: T,
    pub provenance: Provenance,
}

const fn doc<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Documented }
}
const fn secondary<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Secondary }
}
const fn unverified<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Unverified }
}

/// The JSON Lines shape Bedrock expects for one customization of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    /// `{"prompt": "...", "completion": "..."}` (Titan, Cohere, Llama 3.1).
    PromptCompletion,
    /// `bedrock-conversation-2024`: Nova, Llama 3.2 / 3.3.
    Conversation,
    /// Claude 3 Haiku: `{"system": "...", "messages": [{"role", "content": "..."}]}`.
    ClaudeMessages,
    /// Continued pre-training: `{"input": "..."}`.
    ContinuedPreTraining,
    /// Distillation prompts: `bedrock-conversation-2024` with the user turn (an assistant turn optional).
    DistillationPrompts,
    /// Reinforcement fine-tuning: OpenAI chat `messages` plus `reference_answer`.
    ReinforcementChat,
}

impl DatasetFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetFormat::PromptCompletion => "prompt-completion",
            DatasetFormat::Conversation => "bedrock-conversation-2024",
            DatasetFormat::ClaudeMessages => "claude-messages",
            DatasetFormat::ContinuedPreTraining => "continued-pre-training",
            DatasetFormat::DistillationPrompts => "distillation-prompts",
            DatasetFormat::ReinforcementChat => "rft-chat",
        }
    }

    /// One line a user can copy to see the expected shape.
    pub fn example(self) -> &'static str {
        match self {
            DatasetFormat::PromptCompletion => r#"{"prompt": "...", "completion": "..."}"#,
            DatasetFormat::Conversation => {
                r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}], "messages": [{"role": "user", "content": [{"text": "..."}]}, {"role": "assistant", "content": [{"text": "..."}]}]}"#
            }
            DatasetFormat::ClaudeMessages => {
                r#"{"system": "...", "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}"#
            }
            DatasetFormat::ContinuedPreTraining => r#"{"input": "..."}"#,
            DatasetFormat::DistillationPrompts => {
                r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}], "messages": [{"role": "user", "content": [{"text": "..."}]}]}"#
            }
            DatasetFormat::ReinforcementChat => {
                r#"{"messages": [{"role": "user", "content": "..."}], "reference_answer": "..."}"#
            }
        }
    }
}

/// How tokens are approximated for a model family (see `tokens.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TokenEstimate {
    /// Characters (Unicode scalar values) per token for text in Latin scripts.
    pub chars_per_token: f64,
    pub provenance: Provenance,
}

/// Bedrock's documented rule of thumb for Titan, Cohere and Llama 3.1 prompt/completion data.
const SIX_CHARS: TokenEstimate = TokenEstimate { chars_per_token: 6.0, provenance: Provenance::Documented };
/// No figure is published for Nova, Claude or Llama 3.2+; 4 characters per token over-estimates
/// English text slightly, which errs towards warning early.
const FOUR_CHARS: TokenEstimate = TokenEstimate { chars_per_token: 4.0, provenance: Provenance::Unverified };

/// Value type of a hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HyperValue {
    Integer {
        min: i64,
        max: i64,
        default: i64,
    },
    Float {
        min: f64,
        max: f64,
        default: f64,
    },
    /// A string from a fixed set.
    Choice {
        options: &'static [&'static str],
        default: &'static str,
    },
    /// An integer with no bounds in the service model.
    UnboundedInteger {
        default: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HyperParameter {
    pub name: &'static str,
    pub value: HyperValue,
    pub provenance: Provenance,
}

const fn int(name: &'static str, min: i64, max: i64, default: i64) -> HyperParameter {
    HyperParameter { name, value: HyperValue::Integer { min, max, default }, provenance: Provenance::Documented }
}
const fn float(name: &'static str, min: f64, max: f64, default: f64) -> HyperParameter {
    HyperParameter { name, value: HyperValue::Float { min, max, default }, provenance: Provenance::Documented }
}

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

const fn total_tokens(limit: Fact<u64>) -> TokenLimits {
    TokenLimits { total: Some(limit), input: None, output: None }
}

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// File-size limits in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FileLimits {
    pub train_bytes: Option<Fact<u64>>,
    pub validation_bytes: Option<Fact<u64>>,
}

const NO_FILE_LIMITS: FileLimits = FileLimits { train_bytes: None, validation_bytes: None };

/// Multimodal content a conversation record may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Media {
    pub max_images: u32,
    pub max_videos: u32,
}

const TEXT_ONLY: Media = Media { max_images: 0, max_videos: 0 };
/// Nova: "at most 10 images or 1 video per sample".
const NOVA_MEDIA: Media = Media { max_images: 10, max_videos: 1 };
/// Llama 3.2 vision models accept images; no per-record count is documented.
const LLAMA_VISION: Media = Media { max_images: 10, max_videos: 0 };

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

    pub fn customization(&self, kind: CustomizationType) -> Option<&'static Customization> {
        self.customizations.iter().find(|c| c.kind == kind)
    }

    pub fn supported_types(&self) -> impl Iterator<Item = CustomizationType> + '_ {
        self.customizations.iter().map(|c| c.kind)
    }
}

/// `amazon.nova-micro-v1:0:128k` -> `amazon.nova-micro-v1:0`. Ids without a third `:` part are kept.
fn strip_context_suffix(id: &str) -> &str {
    match id.match_indices(':').nth(1) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

/// Finds a model by id, with or without the context suffix, or by a foundation-model ARN
/// (`arn:aws:bedrock:<region>::foundation-model/<id>`).
pub fn find(model_id: &str) -> Option<&'static Model> {
    let id = model_id.trim();
    let id = id.rsplit_once("foundation-model/").map_or(id, |(_, tail)| tail);
    MODELS
        .iter()
        .find(|m| m.id == id || m.base_id() == id)
        // `amazon.titan-text-express-v1`: the name without its version, when it is unambiguous.
        .or_else(|| {
            let mut named = MODELS.iter().filter(|m| m.id.split(':').next() == Some(id));
            named.next().filter(|_| named.next().is_none())
        })
}

/// Every model, for error messages and `--help`.
pub fn all() -> &'static [Model] {
    MODELS
}

/// The closest known ids to an unknown one, for "did you mean".
pub fn suggestions(model_id: &str) -> Vec<&'static str> {
    let needle = model_id.to_ascii_lowercase();
    let parts: Vec<&str> = needle.split(['.', '-', ':']).filter(|p| p.len() > 2).collect();
    MODELS.iter().filter(|m| parts.iter().any(|p| m.id.contains(p))).map(|m| m.id).take(5).collect()
}

const NOVA_1_HP: &[HyperParameter] =
    &[int("epochCount", 1, 5, 2), float("learningRate", 1e-6, 1e-4, 1e-5), int("learningRateWarmupSteps", 0, 100, 10)];
const TITAN_HP: &[HyperParameter] = &[
    int("epochCount", 1, 10, 5),
    int("batchSize", 1, 64, 1),
    float("learningRate", 0.0, 1.0, 1e-5),
    int("learningRateWarmupSteps", 0, 250, 5),
];
const TITAN_PREMIER_HP: &[HyperParameter] = &[
    int("epochCount", 1, 5, 2),
    int("batchSize", 1, 1, 1),
    float("learningRate", 1e-7, 1e-5, 1e-6),
    int("learningRateWarmupSteps", 0, 20, 5),
];
const CLAUDE_HAIKU_HP: &[HyperParameter] = &[
    int("epochCount", 1, 10, 2),
    int("batchSize", 4, 256, 32),
    float("learningRateMultiplier", 0.1, 2.0, 1.0),
    float("earlyStoppingThreshold", 0.0, 0.1, 0.001),
    int("earlyStoppingPatience", 1, 10, 2),
];
const LLAMA_HP: &[HyperParameter] =
    &[int("epochCount", 1, 10, 5), int("batchSize", 1, 1, 1), float("learningRate", 5e-6, 0.1, 1e-4)];
const COHERE_COMMAND_HP: &[HyperParameter] = &[
    int("epochCount", 1, 100, 1),
    int("batchSize", 8, 8, 8),
    float("learningRate", 5e-6, 0.1, 1e-5),
    float("earlyStoppingThreshold", 0.0, 0.1, 0.01),
    int("earlyStoppingPatience", 1, 10, 6),
    int("evalPercentage", 5, 50, 20),
];
const COHERE_LIGHT_HP: &[HyperParameter] = &[
    int("epochCount", 1, 100, 1),
    int("batchSize", 8, 32, 8),
    float("learningRate", 5e-6, 0.1, 1e-5),
    float("earlyStoppingThreshold", 0.0, 0.1, 0.01),
    int("earlyStoppingPatience", 1, 10, 6),
    int("evalPercentage", 5, 50, 20),
];
/// Typed `rftConfig.hyperParameters`; defaults are the values of the documentation's example.
const RFT_HP: &[HyperParameter] = &[
    int("epochCount", 1, 50, 2),
    int("batchSize", 16, 512, 64),
    float("learningRate", 1e-7, 1e-3, 1e-5),
    int("trainingSamplePerPrompt", 2, 16, 4),
    int("evalInterval", 1, 100, 10),
    HyperParameter {
        name: "reasoningEffort",
        value: HyperValue::Choice { options: &["low", "medium", "high"], default: "high" },
        provenance: Provenance::Documented,
    },
    HyperParameter {
        name: "maxPromptLength",
        value: HyperValue::UnboundedInteger { default: 4096 },
        provenance: Provenance::Documented,
    },
    HyperParameter {
        name: "inferenceMaxTokens",
        value: HyperValue::UnboundedInteger { default: 8192 },
        provenance: Provenance::Documented,
    },
];
/// Distillation takes no hyperparameters we can check; Bedrock manages them.
const NO_HP: &[HyperParameter] = &[];

/// Nova 1: 8–20,000 records per AWS's own validator script; no per-record token limit is published.
const NOVA_RECORDS: RecordBounds =
    RecordBounds { min: Some(doc(8)), max_total: Some(doc(20_000)), max_train: None, max_validation: None };
/// Nova fine-tuning context is commonly given as 32k tokens; not found in the user guide.
const NOVA_TOKENS: TokenLimits = total_tokens(unverified(32_000));
/// Distillation: 100 to 15,000 prompts is the commonly cited range; not confirmed.
const DISTILLATION_RECORDS: RecordBounds = RecordBounds {
    min: Some(unverified(100)),
    max_total: Some(unverified(15_000)),
    max_train: None,
    max_validation: None,
};
const LLAMA_RECORDS: RecordBounds =
    RecordBounds { min: Some(doc(100)), max_total: Some(doc(10_000)), max_train: None, max_validation: None };
/// Titan record quotas ("sum of training and validation records") are unverified here.
const TITAN_FT_RECORDS: RecordBounds =
    RecordBounds { min: None, max_total: Some(unverified(10_000)), max_train: None, max_validation: None };
const TITAN_CPT_RECORDS: RecordBounds =
    RecordBounds { min: None, max_total: Some(unverified(100_000)), max_train: None, max_validation: None };
const TITAN_FILES: FileLimits = FileLimits { train_bytes: Some(doc(GIB)), validation_bytes: Some(doc(100 * MIB)) };

const fn fine_tuning(
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

const fn distillation(tokens_per_record: TokenLimits) -> Customization {
    Customization {
        kind: CustomizationType::Distillation,
        format: DatasetFormat::DistillationPrompts,
        records: DISTILLATION_RECORDS,
        tokens_per_record,
        files: NO_FILE_LIMITS,
        hyperparameters: NO_HP,
        hyperparameter_encoding: HyperParameterEncoding::StringMap,
        training_price_per_1k_tokens: None,
    }
}

const fn continued_pre_training(
    tokens_per_record: TokenLimits,
    hyperparameters: &'static [HyperParameter],
    price: Option<Fact<f64>>,
) -> Customization {
    Customization {
        kind: CustomizationType::ContinuedPreTraining,
        format: DatasetFormat::ContinuedPreTraining,
        records: TITAN_CPT_RECORDS,
        tokens_per_record,
        files: TITAN_FILES,
        hyperparameters,
        hyperparameter_encoding: HyperParameterEncoding::StringMap,
        training_price_per_1k_tokens: price,
    }
}

const US_EAST_1: &[&str] = &["us-east-1"];
const US_WEST_2: &[&str] = &["us-west-2"];
const BOTH_US: &[&str] = &["us-east-1", "us-west-2"];

// Macros rather than const fns: a slice built inside a const fn cannot be borrowed for 'static.
macro_rules! llama_3_1 {
    ($id:expr, $name:expr $(,)?) => {
        Model {
            id: $id,
            name: $name,
            family: Family::Llama31,
            regions: US_WEST_2,
            legacy: false,
            on_demand_deployment: false,
            media: TEXT_ONLY,
            tokens: SIX_CHARS,
            customizations: &[fine_tuning(
                DatasetFormat::PromptCompletion,
                LLAMA_RECORDS,
                total_tokens(doc(16_000)),
                NO_FILE_LIMITS,
                LLAMA_HP,
                None,
            )],
        }
    };
}

macro_rules! llama_conversation {
    ($id:expr, $name:expr, $family:expr, $media:expr, $token_limit:expr, $on_demand_deployment:expr $(,)?) => {
        Model {
            id: $id,
            name: $name,
            family: $family,
            regions: US_WEST_2,
            legacy: false,
            on_demand_deployment: $on_demand_deployment,
            media: $media,
            tokens: FOUR_CHARS,
            customizations: &[fine_tuning(
                DatasetFormat::Conversation,
                LLAMA_RECORDS,
                total_tokens(doc($token_limit)),
                NO_FILE_LIMITS,
                LLAMA_HP,
                None,
            )],
        }
    };
}

macro_rules! nova_1 {
    ($id:expr, $name:expr, $media:expr, $price:expr $(,)?) => {
        Model {
            id: $id,
            name: $name,
            family: Family::Nova,
            regions: US_EAST_1,
            legacy: false,
            on_demand_deployment: true,
            media: $media,
            tokens: FOUR_CHARS,
            customizations: &[
                fine_tuning(DatasetFormat::Conversation, NOVA_RECORDS, NOVA_TOKENS, NO_FILE_LIMITS, NOVA_1_HP, $price),
                distillation(NOVA_TOKENS),
            ],
        }
    };
}

static MODELS: &[Model] = &[
    nova_1!("amazon.nova-micro-v1:0:128k", "Amazon Nova Micro", TEXT_ONLY, Some(secondary(0.001)),),
    nova_1!("amazon.nova-lite-v1:0:300k", "Amazon Nova Lite", NOVA_MEDIA, None,),
    nova_1!("amazon.nova-pro-v1:0:300k", "Amazon Nova Pro", NOVA_MEDIA, None,),
    Model {
        id: "amazon.nova-2-lite-v1:0:256k",
        name: "Amazon Nova 2 Lite",
        family: Family::Nova2,
        regions: US_EAST_1,
        legacy: false,
        on_demand_deployment: true,
        media: NOVA_MEDIA,
        tokens: FOUR_CHARS,
        customizations: &[
            fine_tuning(DatasetFormat::Conversation, NOVA_RECORDS, NOVA_TOKENS, NO_FILE_LIMITS, NOVA_1_HP, None),
            Customization {
                kind: CustomizationType::ReinforcementFineTuning,
                format: DatasetFormat::ReinforcementChat,
                records: RecordBounds {
                    min: Some(doc(100)),
                    max_total: Some(doc(20_000)),
                    max_train: None,
                    max_validation: None,
                },
                tokens_per_record: NOVA_TOKENS,
                files: NO_FILE_LIMITS,
                hyperparameters: RFT_HP,
                hyperparameter_encoding: HyperParameterEncoding::RftConfig,
                // Reportedly billed per hour, not per token (secondary): no token price.
                training_price_per_1k_tokens: None,
            },
        ],
    },
    Model {
        id: "anthropic.claude-3-haiku-20240307-v1:0:200k",
        name: "Anthropic Claude 3 Haiku",
        family: Family::ClaudeHaiku,
        regions: US_WEST_2,
        legacy: false,
        on_demand_deployment: false,
        media: TEXT_ONLY,
        tokens: FOUR_CHARS,
        customizations: &[fine_tuning(
            DatasetFormat::ClaudeMessages,
            RecordBounds {
                min: Some(doc(32)),
                max_total: Some(doc(10_000)),
                max_train: Some(doc(10_000)),
                max_validation: Some(doc(1_000)),
            },
            total_tokens(doc(32_000)),
            FileLimits { train_bytes: Some(doc(10 * GIB)), validation_bytes: Some(doc(GIB)) },
            CLAUDE_HAIKU_HP,
            None,
        )],
    },
    llama_3_1!("meta.llama3-1-8b-instruct-v1:0:128k", "Meta Llama 3.1 8B Instruct",),
    llama_3_1!("meta.llama3-1-70b-instruct-v1:0:128k", "Meta Llama 3.1 70B Instruct",),
    llama_conversation!(
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "Meta Llama 3.2 1B Instruct",
        Family::Llama32,
        TEXT_ONLY,
        16_000,
        false,
    ),
    llama_conversation!(
        "meta.llama3-2-3b-instruct-v1:0:128k",
        "Meta Llama 3.2 3B Instruct",
        Family::Llama32,
        TEXT_ONLY,
        16_000,
        false,
    ),
    llama_conversation!(
        "meta.llama3-2-11b-instruct-v1:0:128k",
        "Meta Llama 3.2 11B Vision Instruct",
        Family::Llama32,
        LLAMA_VISION,
        16_000,
        false,
    ),
    llama_conversation!(
        "meta.llama3-2-90b-instruct-v1:0:128k",
        "Meta Llama 3.2 90B Vision Instruct",
        Family::Llama32,
        LLAMA_VISION,
        10_000,
        false,
    ),
    llama_conversation!(
        "meta.llama3-3-70b-instruct-v1:0:128k",
        "Meta Llama 3.3 70B Instruct",
        Family::Llama33,
        TEXT_ONLY,
        16_000,
        true,
    ),
    Model {
        id: "amazon.titan-text-lite-v1:0:4k",
        name: "Amazon Titan Text Lite (legacy)",
        family: Family::TitanText,
        regions: BOTH_US,
        legacy: true,
        on_demand_deployment: false,
        media: TEXT_ONLY,
        tokens: SIX_CHARS,
        customizations: &[
            fine_tuning(
                DatasetFormat::PromptCompletion,
                TITAN_FT_RECORDS,
                total_tokens(doc(4_096)),
                TITAN_FILES,
                TITAN_HP,
                Some(secondary(0.0004)),
            ),
            continued_pre_training(total_tokens(doc(4_096)), TITAN_HP, Some(secondary(0.0004))),
        ],
    },
    Model {
        id: "amazon.titan-text-express-v1:0:8k",
        name: "Amazon Titan Text Express (legacy)",
        family: Family::TitanText,
        regions: BOTH_US,
        legacy: true,
        on_demand_deployment: false,
        media: TEXT_ONLY,
        tokens: SIX_CHARS,
        customizations: &[
            fine_tuning(
                DatasetFormat::PromptCompletion,
                TITAN_FT_RECORDS,
                total_tokens(doc(4_096)),
                TITAN_FILES,
                TITAN_HP,
                Some(unverified(0.008)),
            ),
            continued_pre_training(total_tokens(doc(4_096)), TITAN_HP, Some(unverified(0.008))),
        ],
    },
    Model {
        id: "amazon.titan-text-premier-v1:0:32k",
        name: "Amazon Titan Text Premier (legacy)",
        family: Family::TitanText,
        regions: BOTH_US,
        legacy: true,
        on_demand_deployment: false,
        media: TEXT_ONLY,
        tokens: SIX_CHARS,
        customizations: &[fine_tuning(
            DatasetFormat::PromptCompletion,
            TITAN_FT_RECORDS,
            total_tokens(doc(4_096)),
            TITAN_FILES,
            TITAN_PREMIER_HP,
            None,
        )],
    },
    Model {
        id: "cohere.command-text-v14:7:4k",
        name: "Cohere Command (legacy)",
        family: Family::Cohere,
        regions: &["us-east-1"],
        legacy: true,
        on_demand_deployment: false,
        media: TEXT_ONLY,
        tokens: SIX_CHARS,
        customizations: &[fine_tuning(
            DatasetFormat::PromptCompletion,
            RecordBounds { min: None, max_total: None, max_train: Some(doc(10_000)), max_validation: Some(doc(1_000)) },
            TokenLimits { total: None, input: Some(doc(4_096)), output: Some(doc(2_048)) },
            NO_FILE_LIMITS,
            COHERE_COMMAND_HP,
            Some(secondary(0.004)),
        )],
    },
    Model {
        id: "cohere.command-light-text-v14:7:4k",
        name: "Cohere Command Light (legacy)",
        family: Family::Cohere,
        regions: &["us-east-1"],
        legacy: true,
        on_demand_deployment: false,
        media: TEXT_ONLY,
        tokens: SIX_CHARS,
        customizations: &[fine_tuning(
            DatasetFormat::PromptCompletion,
            RecordBounds { min: None, max_total: None, max_train: Some(doc(10_000)), max_validation: Some(doc(1_000)) },
            TokenLimits { total: None, input: Some(doc(4_096)), output: Some(doc(2_048)) },
            NO_FILE_LIMITS,
            COHERE_LIGHT_HP,
            Some(secondary(0.001)),
        )],
    },
];

/// A hyperparameter value that the model rejects, with a message that says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HyperParameterError {
    #[error("hyperparameter `{name}` is not known for {model}; known: {known}")]
    Unknown { name: String, model: &'static str, known: String },
    #[error("hyperparameter `{name}` = `{value}` is out of range for {model}: {allowed}")]
    OutOfRange { name: String, value: String, model: &'static str, allowed: String },
    #[error("hyperparameter `{name}` = `{value}` is not a {expected}")]
    WrongType { name: String, value: String, expected: &'static str },
}

impl HyperParameter {
    /// What the parameter accepts, for messages: `1–5 (default 2)`.
    pub fn allowed(&self) -> String {
        match self.value {
            HyperValue::Integer { min, max, default } => {
                format!("integer {min}–{max} (default {default})")
            }
            HyperValue::Float { min, max, default } => {
                format!("number {min:e}–{max:e} (default {default:e})")
            }
            HyperValue::Choice { options, default } => {
                format!("one of {} (default {default})", options.join(", "))
            }
            HyperValue::UnboundedInteger { default } => format!("integer (default {default})"),
        }
    }

    /// The default as Bedrock's string form.
    pub fn default_string(&self) -> String {
        match self.value {
            HyperValue::Integer { default, .. } | HyperValue::UnboundedInteger { default } => default.to_string(),
            HyperValue::Float { default, .. } => default.to_string(),
            HyperValue::Choice { default, .. } => default.to_string(),
        }
    }

    /// Checks one value given in Bedrock's string form.
    pub fn check(&self, value: &str, model: &'static str) -> Result<(), HyperParameterError> {
        let out_of_range = || HyperParameterError::OutOfRange {
            name: self.name.to_string(),
            value: value.to_string(),
            model,
            allowed: self.allowed(),
        };
        let wrong_type = |expected| HyperParameterError::WrongType {
            name: self.name.to_string(),
            value: value.to_string(),
            expected,
        };
        let trimmed = value.trim();
        match self.value {
            HyperValue::Integer { min, max, .. } => {
                let v: i64 = trimmed.parse().map_err(|_| wrong_type("whole number"))?;
                if v < min || v > max {
                    return Err(out_of_range());
                }
            }
            HyperValue::UnboundedInteger { .. } => {
                let v: i64 = trimmed.parse().map_err(|_| wrong_type("whole number"))?;
                if v < 1 {
                    return Err(out_of_range());
                }
            }
            HyperValue::Float { min, max, .. } => {
                let v: f64 = trimmed.parse().map_err(|_| wrong_type("number"))?;
                // Relative tolerance: "1e-4" written as "0.0001" must not fail on rounding.
                let eps = 1e-9 * max.abs().max(min.abs()).max(1e-12);
                if !v.is_finite() || v < min - eps || v > max + eps {
                    return Err(out_of_range());
                }
            }
            HyperValue::Choice { options, .. } => {
                if !options.contains(&trimmed) {
                    return Err(out_of_range());
                }
            }
        }
        Ok(())
    }
}

impl Customization {
    pub fn hyperparameter(&self, name: &str) -> Option<&'static HyperParameter> {
        self.hyperparameters.iter().find(|h| h.name == name)
    }

    /// Checks user-given hyperparameters (Bedrock's string form) against this customization.
    pub fn check_hyperparameters<'a>(
        &self,
        model: &'static Model,
        given: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<HyperParameterError> {
        let mut problems = Vec::new();
        for (name, value) in given {
            match self.hyperparameter(name) {
                Some(spec) => {
                    if let Err(e) = spec.check(value, model.id) {
                        problems.push(e);
                    }
                }
                None => problems.push(HyperParameterError::Unknown {
                    name: name.to_string(),
                    model: model.id,
                    known: self.hyperparameters.iter().map(|h| h.name).collect::<Vec<_>>().join(", "),
                }),
            }
        }
        problems
    }

    /// The number of epochs the job will run, from the given value or the default.
    pub fn epochs(&self, given: Option<&str>) -> u64 {
        let default = self.hyperparameter("epochCount").map(|h| match h.value {
            HyperValue::Integer { default, .. } => default as u64,
            _ => 1,
        });
        given.and_then(|v| v.trim().parse().ok()).or(default).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_is_found_by_full_id_base_id_and_arn() {
        for m in all() {
            assert_eq!(find(m.id).map(|f| f.id), Some(m.id));
            assert_eq!(find(m.base_id()).map(|f| f.id), Some(m.id), "{}", m.base_id());
            let arn = format!("arn:aws:bedrock:us-east-1::foundation-model/{}", m.base_id());
            assert_eq!(find(&arn).map(|f| f.id), Some(m.id));
        }
        assert!(find("amazon.nova-mega-v9:0").is_none());
    }

    #[test]
    fn base_id_strips_only_the_context_suffix() {
        assert_eq!(find("amazon.nova-micro-v1:0").unwrap().base_id(), "amazon.nova-micro-v1:0");
        assert_eq!(strip_context_suffix("amazon.nova-micro-v1:0:128k"), "amazon.nova-micro-v1:0");
        assert_eq!(strip_context_suffix("plain"), "plain");
    }

    #[test]
    fn ids_are_unique_and_every_model_has_a_customization_with_defaults_in_range() {
        let mut ids: Vec<_> = all().iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all().len());
        for m in all() {
            assert!(!m.customizations.is_empty(), "{}", m.id);
            assert!(!m.regions.is_empty());
            for c in m.customizations {
                for h in c.hyperparameters {
                    h.check(&h.default_string(), m.id).unwrap_or_else(|e| panic!("{}: {e}", m.id));
                }
            }
        }
    }

    #[test]
    fn rft_only_on_nova_2_lite_and_cpt_only_on_titan() {
        for m in all() {
            let rft = m.customization(CustomizationType::ReinforcementFineTuning).is_some();
            assert_eq!(rft, m.id == "amazon.nova-2-lite-v1:0:256k", "{}", m.id);
            if m.customization(CustomizationType::ContinuedPreTraining).is_some() {
                assert_eq!(m.family, Family::TitanText);
            }
        }
    }

    #[test]
    fn hyperparameter_ranges_accept_inside_and_reject_outside() {
        let nova = find("amazon.nova-micro-v1:0").unwrap();
        let ft = nova.customization(CustomizationType::FineTuning).unwrap();
        assert!(ft.check_hyperparameters(nova, [("epochCount", "5"), ("learningRate", "0.0001")]).is_empty());
        let errs = ft.check_hyperparameters(nova, [("epochCount", "6"), ("learningRate", "1"), ("batchSize", "2")]);
        assert_eq!(errs.len(), 3);
        assert!(matches!(errs[0], HyperParameterError::OutOfRange { .. }));
        assert!(matches!(errs[2], HyperParameterError::Unknown { .. }));
        let e = ft.check_hyperparameters(nova, [("epochCount", "two")]);
        assert!(matches!(e[0], HyperParameterError::WrongType { .. }));
        assert!(e[0].to_string().contains("epochCount"));
    }

    #[test]
    fn epochs_default_from_the_table() {
        let titan = find("amazon.titan-text-express-v1").unwrap();
        let ft = titan.customization(CustomizationType::FineTuning).unwrap();
        assert_eq!(ft.epochs(None), 5);
        assert_eq!(ft.epochs(Some("3")), 3);
    }

    #[test]
    fn on_demand_only_where_documented() {
        let on_demand: Vec<_> = all().iter().filter(|m| m.on_demand_deployment).map(|m| m.id).collect();
        assert_eq!(
            on_demand,
            [
                "amazon.nova-micro-v1:0:128k",
                "amazon.nova-lite-v1:0:300k",
                "amazon.nova-pro-v1:0:300k",
                "amazon.nova-2-lite-v1:0:256k",
                "meta.llama3-3-70b-instruct-v1:0:128k"
            ]
        );
    }
}
