//! Cohere Command and Command Light (legacy), fine-tuning in us-east-1.

use super::hyperparameters::{float, int};
use super::model::*;
use super::*;

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

pub(super) const COMMAND: Model = Model {
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
};
pub(super) const COMMAND_LIGHT: Model = Model {
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
};
