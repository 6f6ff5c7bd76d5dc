//! Amazon Titan Text (legacy): Lite, Express and Premier, fine-tuning and continued pre-training.

use super::hyperparameters::{float, int};
use super::model::*;
use super::*;

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

/// Titan record quotas ("sum of training and validation records") are unverified here.
const TITAN_FT_RECORDS: RecordBounds =
    RecordBounds { min: None, max_total: Some(unverified(10_000)), max_train: None, max_validation: None };
const TITAN_CPT_RECORDS: RecordBounds =
    RecordBounds { min: None, max_total: Some(unverified(100_000)), max_train: None, max_validation: None };
const TITAN_FILES: FileLimits = FileLimits { train_bytes: Some(doc(GIB)), validation_bytes: Some(doc(100 * MIB)) };

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

pub(super) const TITAN_TEXT_LITE: Model = Model {
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
};
pub(super) const TITAN_TEXT_EXPRESS: Model = Model {
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
};
pub(super) const TITAN_TEXT_PREMIER: Model = Model {
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
};
