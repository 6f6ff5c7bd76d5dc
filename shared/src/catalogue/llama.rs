//! Meta Llama: 3.1 (prompt/completion) and 3.2 / 3.3 (`bedrock-conversation-2024`), fine-tuning in us-west-2.

use super::hyperparameters::{float, int};
use super::model::*;
use super::*;

const LLAMA_HP: &[HyperParameter] =
    &[int("epochCount", 1, 10, 5), int("batchSize", 1, 1, 1), float("learningRate", 5e-6, 0.1, 1e-4)];

const LLAMA_RECORDS: RecordBounds =
    RecordBounds { min: Some(doc(100)), max_total: Some(doc(10_000)), max_train: None, max_validation: None };

/// Llama 3.2 vision models accept images; no per-record count is documented.
const LLAMA_VISION: Media = Media { max_images: 10, max_videos: 0 };

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

pub(super) const LLAMA_3_1_8B: Model = llama_3_1!("meta.llama3-1-8b-instruct-v1:0:128k", "Meta Llama 3.1 8B Instruct",);
pub(super) const LLAMA_3_1_70B: Model =
    llama_3_1!("meta.llama3-1-70b-instruct-v1:0:128k", "Meta Llama 3.1 70B Instruct",);
pub(super) const LLAMA_3_2_1B: Model = llama_conversation!(
    "meta.llama3-2-1b-instruct-v1:0:128k",
    "Meta Llama 3.2 1B Instruct",
    Family::Llama32,
    TEXT_ONLY,
    16_000,
    false,
);
pub(super) const LLAMA_3_2_3B: Model = llama_conversation!(
    "meta.llama3-2-3b-instruct-v1:0:128k",
    "Meta Llama 3.2 3B Instruct",
    Family::Llama32,
    TEXT_ONLY,
    16_000,
    false,
);
pub(super) const LLAMA_3_2_11B: Model = llama_conversation!(
    "meta.llama3-2-11b-instruct-v1:0:128k",
    "Meta Llama 3.2 11B Vision Instruct",
    Family::Llama32,
    LLAMA_VISION,
    16_000,
    false,
);
pub(super) const LLAMA_3_2_90B: Model = llama_conversation!(
    "meta.llama3-2-90b-instruct-v1:0:128k",
    "Meta Llama 3.2 90B Vision Instruct",
    Family::Llama32,
    LLAMA_VISION,
    10_000,
    false,
);
pub(super) const LLAMA_3_3_70B: Model = llama_conversation!(
    "meta.llama3-3-70b-instruct-v1:0:128k",
    "Meta Llama 3.3 70B Instruct",
    Family::Llama33,
    TEXT_ONLY,
    16_000,
    true,
);
