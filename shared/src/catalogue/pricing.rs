//! What the pipeline's own AWS services cost, for the run's cost estimate. Training prices live with
//! each model's customization (`training_price_per_1k_tokens`); provisioned throughput rates are here,
//! by base model.

use super::{Fact, doc, secondary};

/// Step Functions Standard workflows: USD per state transition beyond the free tier (us-east-1;
/// a retry is a transition too). aws.amazon.com/step-functions/pricing: $0.025 per 1,000.
pub const STEP_FUNCTIONS_USD_PER_TRANSITION: Fact<f64> = doc(0.025 / 1000.0);

/// Lambda: USD per request ($0.20 per million), beyond the free tier; compute time is not counted.
pub const LAMBDA_USD_PER_REQUEST: Fact<f64> = secondary(0.20 / 1_000_000.0);

/// Bedrock: USD per month for storing one custom model, while it exists.
pub const CUSTOM_MODEL_STORAGE_USD_PER_MONTH: Fact<f64> = secondary(1.95);

/// Provisioned throughput without commitment, USD per model unit per hour, for a custom model of
/// the given base model (a custom model is priced as its base model). Only the models a source
/// gives a figure for; bedrock-facts §8 and aws.amazon.com/bedrock/pricing.
const PROVISIONED_NO_COMMITMENT_USD_PER_MU_HOUR: &[(&str, Fact<f64>)] = &[
    ("amazon.titan-text-lite-v1:0:4k", secondary(7.10)),
    ("cohere.command-light-text-v14:7:4k", secondary(8.56)),
    ("cohere.command-text-v14:7:4k", secondary(49.50)),
];

/// What a provisioned throughput of `model_units` bills per hour, when a price is known: the
/// no-commitment rate (a commitment's discounted rate is not in the catalogue, so none is given).
pub fn provisioned_throughput_usd_per_hour(
    base_model_id: &str,
    commitment: Option<&str>,
    model_units: u32,
) -> Option<Fact<f64>> {
    if commitment.is_some() {
        return None;
    }
    let model = super::find(base_model_id)?;
    PROVISIONED_NO_COMMITMENT_USD_PER_MU_HOUR
        .iter()
        .find(|(id, _)| *id == model.id)
        .map(|(_, rate)| Fact { value: rate.value * f64::from(model_units), provenance: rate.provenance })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_rates_are_per_model_unit_and_only_where_a_figure_exists() {
        let titan = provisioned_throughput_usd_per_hour("amazon.titan-text-lite-v1:0", None, 2).unwrap();
        assert_eq!((titan.value, titan.provenance), (14.20, super::super::Provenance::Secondary));
        assert_eq!(provisioned_throughput_usd_per_hour("amazon.titan-text-lite-v1:0:4k", Some("OneMonth"), 1), None);
        assert_eq!(provisioned_throughput_usd_per_hour("amazon.nova-micro-v1:0:128k", None, 1), None);
        for (id, _) in PROVISIONED_NO_COMMITMENT_USD_PER_MU_HOUR {
            assert_eq!(super::super::find(id).map(|m| m.id), Some(*id), "{id} is not a catalogue id");
        }
    }
}
