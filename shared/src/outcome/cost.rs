//! What a run costs on AWS, and what still bills after it: priced from the catalogue.

use crate::catalogue::pricing::{
    CUSTOM_MODEL_STORAGE_USD_PER_MONTH, LAMBDA_USD_PER_REQUEST, STEP_FUNCTIONS_USD_PER_TRANSITION,
};
use crate::pipeline::DeploymentMode;
use serde::{Deserialize, Serialize};

/// What the estimate leaves out, for a reader of the numbers.
pub const COST_NOTE: &str = "estimate: training = tokens x epochs x the catalogue's price; Lambda compute time and on-demand inference tokens not included";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Tokens x epochs x the catalogue's training price, once the job completed. Absent when no job
    /// ran, the job did not complete, or the model has no published price.
    pub training_usd: Option<f64>,
    pub step_functions_usd: f64,
    pub lambda_requests_usd: f64,
    /// Storage of the custom model, while it exists.
    pub model_storage_usd_per_month: Option<f64>,
    pub note: String,
    /// What keeps billing after this point, with its rate.
    #[serde(default)]
    pub still_billing: Vec<Billing>,
}

/// A resource that bills while it exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    pub what: Billable,
    pub arn: String,
    /// USD per hour while it exists; absent when not billed by the hour or the rate is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_hour: Option<f64>,
    /// USD per month while it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_month: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Billable {
    /// Storage of a custom model, by the month.
    CustomModel,
    /// Provisioned throughput, by the hour whether used or not.
    ProvisionedThroughput,
    /// An on-demand custom model deployment: per inference token only.
    OnDemandDeployment,
}

/// A deployment the run still has, for the billing list.
pub(super) struct LiveDeployment<'a> {
    pub mode: DeploymentMode,
    pub arn: &'a str,
    pub hourly_cost_usd: Option<f64>,
}

/// What the run's usage of the pipeline's services and its training cost, and what still bills.
pub(super) fn estimate(
    state_transitions: u64,
    task_requests: u64,
    training_usd: Option<f64>,
    custom_model_arn: Option<&str>,
    deployment: Option<LiveDeployment<'_>>,
) -> CostEstimate {
    let storage = CUSTOM_MODEL_STORAGE_USD_PER_MONTH.value;
    let mut still_billing: Vec<Billing> = custom_model_arn
        .map(|arn| Billing {
            what: Billable::CustomModel,
            arn: arn.to_string(),
            usd_per_hour: None,
            usd_per_month: Some(storage),
        })
        .into_iter()
        .collect();
    if let Some(d) = deployment {
        let what = match d.mode {
            DeploymentMode::Provisioned => Some(Billable::ProvisionedThroughput),
            DeploymentMode::OnDemand => Some(Billable::OnDemandDeployment),
            DeploymentMode::None => None,
        };
        if let Some(what) = what {
            still_billing.push(Billing {
                what,
                arn: d.arn.to_string(),
                usd_per_hour: d.hourly_cost_usd.filter(|_| what == Billable::ProvisionedThroughput),
                usd_per_month: None,
            });
        }
    }
    CostEstimate {
        training_usd,
        step_functions_usd: state_transitions as f64 * STEP_FUNCTIONS_USD_PER_TRANSITION.value,
        lambda_requests_usd: task_requests as f64 * LAMBDA_USD_PER_REQUEST.value,
        model_storage_usd_per_month: custom_model_arn.map(|_| storage),
        note: COST_NOTE.to_string(),
        still_billing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_priced_from_the_catalogue_and_billing_lists_what_remains() {
        let deployment = LiveDeployment { mode: DeploymentMode::Provisioned, arn: "pt", hourly_cost_usd: Some(21.18) };
        let cost = estimate(47, 16, Some(0.5), Some("model"), Some(deployment));
        assert_eq!(cost.step_functions_usd, 47.0 * (0.025 / 1000.0));
        assert_eq!(cost.lambda_requests_usd, 16.0 * (0.20 / 1_000_000.0));
        assert_eq!((cost.training_usd, cost.model_storage_usd_per_month), (Some(0.5), Some(1.95)));
        assert_eq!(
            cost.still_billing,
            [
                Billing {
                    what: Billable::CustomModel,
                    arn: "model".into(),
                    usd_per_hour: None,
                    usd_per_month: Some(1.95)
                },
                Billing {
                    what: Billable::ProvisionedThroughput,
                    arn: "pt".into(),
                    usd_per_hour: Some(21.18),
                    usd_per_month: None
                },
            ]
        );
    }

    #[test]
    fn on_demand_bills_per_token_only_and_nothing_remains_without_a_model() {
        let on_demand = LiveDeployment { mode: DeploymentMode::OnDemand, arn: "dep", hourly_cost_usd: Some(0.0) };
        let cost = estimate(3, 1, None, None, Some(on_demand));
        assert_eq!(cost.model_storage_usd_per_month, None);
        assert_eq!(cost.still_billing.len(), 1);
        assert_eq!(
            (cost.still_billing[0].what, cost.still_billing[0].usd_per_hour),
            (Billable::OnDemandDeployment, None)
        );
        let none = LiveDeployment { mode: DeploymentMode::None, arn: "", hourly_cost_usd: None };
        assert!(estimate(3, 1, None, None, Some(none)).still_billing.is_empty());
    }
}
