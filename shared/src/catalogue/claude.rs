//! Anthropic Claude 3 Haiku (fine-tuning, us-west-2).

use super::hyperparameters::{float, int};
use super::model::*;
use super::*;

const CLAUDE_HAIKU_HP: &[HyperParameter] = &[
    int("epochCount", 1, 10, 2),
    int("batchSize", 4, 256, 32),
    float("learningRateMultiplier", 0.1, 2.0, 1.0),
    float("earlyStoppingThreshold", 0.0, 0.1, 0.001),
    int("earlyStoppingPatience", 1, 10, 2),
];

pub(super) const CLAUDE_3_HAIKU: Model = Model {
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
};
