//! The wire shapes of Bedrock's reward-function contract for reinforcement fine-tuning, as the Bedrock
//! user guide gives them (reward-functions.html and reward-functions-open-weight.html, "Lambda function
//! implementation details"): Bedrock invokes the Lambda with a JSON array of samples and reads back an
//! array of scores.
//!
//! ```json
//! [{"id": "123",
//!   "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "<the response>"}],
//!   "metadata": {"reference_answer": ..., "my_key": "sample-001"}}]
//! ```
//! ```json
//! [{"id": "123", "aggregate_reward_score": 0.85,
//!   "metrics_list": [{"name": "accuracy", "value": 0.9, "type": "Reward"},
//!                    {"name": "policy_compliance", "value": 0.8, "type": "Metric"}]}]
//! ```
//!
//! The Nova user guide's version of the same page shows `reference_answer` at the top level of a
//! sample instead of under `metadata`; the grader reads either.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One sample as Bedrock sends it; for building requests (the emulator, tests). The grader itself
/// reads samples leniently from raw JSON, so a malformed one costs its score, not the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardSample {
    pub id: String,
    pub messages: Vec<SampleMessage>,
    /// `reference_answer` and every other field of the training record.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleMessage {
    pub role: String,
    pub content: String,
}

/// The grader's answer for one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardOutput {
    pub id: String,
    pub aggregate_reward_score: f64,
    pub metrics_list: Vec<RewardMetric>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardMetric {
    pub name: Cow<'static, str>,
    pub value: f64,
    #[serde(rename = "type")]
    pub kind: MetricType,
}

/// `Reward`: a component of the reward; `Metric`: reported for monitoring only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetricType {
    Reward,
    Metric,
}

impl RewardMetric {
    pub fn reward(name: impl Into<Cow<'static, str>>, value: f64) -> Self {
        RewardMetric { name: name.into(), value, kind: MetricType::Reward }
    }
    pub fn metric(name: impl Into<Cow<'static, str>>, value: f64) -> Self {
        RewardMetric { name: name.into(), value, kind: MetricType::Metric }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_match_the_documented_examples() {
        let input = json!([{
            "id": "123",
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            "metadata": {"reference_answer": {"compliant": "No"}, "my_key": "sample-001"}
        }]);
        let samples: Vec<RewardSample> = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(samples[0].metadata["my_key"], "sample-001");
        assert_eq!(serde_json::to_value(&samples).unwrap(), input);
        let out = RewardOutput {
            id: "123".into(),
            aggregate_reward_score: 0.85,
            metrics_list: vec![RewardMetric::reward("accuracy", 0.9), RewardMetric::metric("policy_compliance", 0.8)],
        };
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!({"id": "123", "aggregate_reward_score": 0.85, "metrics_list": [
                {"name": "accuracy", "value": 0.9, "type": "Reward"},
                {"name": "policy_compliance", "value": 0.8, "type": "Metric"}]})
        );
    }
}
