//! Amazon Nova: Nova 1 (Micro, Lite, Pro: fine-tuning and distillation) and Nova 2 Lite (fine-tuning
//! and reinforcement fine-tuning).

use super::hyperparameters::{float, int};
use super::model::*;
use super::*;

const NOVA_1_HP: &[HyperParameter] =
    &[int("epochCount", 1, 5, 2), float("learningRate", 1e-6, 1e-4, 1e-5), int("learningRateWarmupSteps", 0, 100, 10)];
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

/// Nova: "at most 10 images or 1 video per sample".
const NOVA_MEDIA: Media = Media { max_images: 10, max_videos: 1 };

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

// Macros rather than const fns: a slice built inside a const fn cannot be borrowed for 'static.
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

pub(super) const NOVA_MICRO: Model =
    nova_1!("amazon.nova-micro-v1:0:128k", "Amazon Nova Micro", TEXT_ONLY, Some(secondary(0.001)),);
pub(super) const NOVA_LITE: Model = nova_1!("amazon.nova-lite-v1:0:300k", "Amazon Nova Lite", NOVA_MEDIA, None,);
pub(super) const NOVA_PRO: Model = nova_1!("amazon.nova-pro-v1:0:300k", "Amazon Nova Pro", NOVA_MEDIA, None,);
pub(super) const NOVA_2_LITE: Model = Model {
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
};
