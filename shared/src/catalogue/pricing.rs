//! What the pipeline's own AWS services cost, for the run's cost estimate. Training prices live with
//! each model's customization (`training_price_per_1k_tokens`); deployments carry their hourly cost.

use super::{Fact, doc, secondary};

/// Step Functions Standard workflows: USD per state transition beyond the free tier (us-east-1;
/// a retry is a transition too). aws.amazon.com/step-functions/pricing: $0.025 per 1,000.
pub const STEP_FUNCTIONS_USD_PER_TRANSITION: Fact<f64> = doc(0.025 / 1000.0);

/// Lambda: USD per request ($0.20 per million), beyond the free tier; compute time is not counted.
pub const LAMBDA_USD_PER_REQUEST: Fact<f64> = secondary(0.20 / 1_000_000.0);

/// Bedrock: USD per month for storing one custom model, while it exists.
pub const CUSTOM_MODEL_STORAGE_USD_PER_MONTH: Fact<f64> = secondary(1.95);
