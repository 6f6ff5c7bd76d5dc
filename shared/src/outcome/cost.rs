//! What a run costs on AWS, what it leaves billing, and what its teardown removed: priced from the
//! catalogue.

use crate::catalogue::Provenance;
use crate::catalogue::pricing::{
    CUSTOM_MODEL_STORAGE_USD_PER_MONTH, LAMBDA_USD_PER_REQUEST, STEP_FUNCTIONS_USD_PER_TRANSITION,
    provisioned_throughput_usd_per_hour,
};
use crate::pipeline::DeploymentMode;
use serde::{Deserialize, Serialize};

/// What the estimate leaves out, for a reader of the numbers.
pub const COST_NOTE: &str = "estimate: training = tokens x epochs x the catalogue's price; Lambda compute time and on-demand inference tokens not included";

/// Where a person finds the rates the catalogue lacks.
pub const PRICING_PAGE: &str = "https://aws.amazon.com/bedrock/pricing/";

/// What the run itself cost (or would cost on AWS, for a local run). What keeps billing afterwards
/// is `RunOutcome::left_billing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Tokens x epochs x the catalogue's training price, once a job was started, whatever its end
    /// (Bedrock's charge for a job that failed or was stopped part-way is at most this). `null` when
    /// no job was started or the model has no published price.
    pub training_usd: Option<f64>,
    pub step_functions_usd: f64,
    pub lambda_requests_usd: f64,
    pub note: String,
}

/// A resource that bills while it exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    pub what: Billable,
    pub arn: String,
    /// USD per hour while it exists (0 for what bills only per use); `null` when the rate is unknown
    /// or it bills by the month.
    pub usd_per_hour: Option<f64>,
    /// USD per month while it exists; `null` when it bills by the hour or per use.
    pub usd_per_month: Option<f64>,
    /// How it bills and where the rate comes from, for a person.
    pub basis: String,
}

/// Something a run created on Bedrock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Billable {
    /// The training job: billed per token trained.
    CustomizationJob,
    /// Storage of a custom model, by the month.
    CustomModel,
    /// Provisioned throughput, by the hour whether used or not.
    ProvisionedThroughput,
    /// An on-demand custom model deployment: per inference token only.
    OnDemandDeployment,
}

impl Billable {
    /// For a person, e.g. `provisioned throughput`.
    pub fn label(self) -> &'static str {
        match self {
            Billable::CustomizationJob => "customization job",
            Billable::CustomModel => "custom model",
            Billable::ProvisionedThroughput => "provisioned throughput",
            Billable::OnDemandDeployment => "on-demand deployment",
        }
    }

    /// The kind of a Bedrock ARN, by its resource type
    /// (`arn:aws:bedrock:<region>:<account>:<resource-type>/...`).
    pub fn of_arn(arn: &str) -> Option<Billable> {
        let resource = arn.splitn(6, ':').nth(5)?;
        match resource.split('/').next()? {
            "model-customization-job" => Some(Billable::CustomizationJob),
            "custom-model" => Some(Billable::CustomModel),
            "provisioned-model" => Some(Billable::ProvisionedThroughput),
            "custom-model-deployment" => Some(Billable::OnDemandDeployment),
            _ => None,
        }
    }
}

/// What teardown removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Removal {
    /// `null` for an ARN of a kind this version does not know.
    pub what: Option<Billable>,
    pub arn: String,
    pub action: RemovalAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemovalAction {
    Deleted,
    Stopped,
}

/// A deployment the run still has.
pub(super) struct LiveDeployment<'a> {
    pub mode: DeploymentMode,
    pub arn: &'a str,
    /// What provision recorded; the catalogue's rate when it recorded none.
    pub hourly_cost_usd: Option<f64>,
    pub base_model: Option<&'a str>,
    pub model_units: u32,
    pub commitment: Option<&'a str>,
}

/// What the run's own use of the pipeline's services and its training cost.
pub(super) fn estimate(state_transitions: u64, task_requests: u64, training_usd: Option<f64>) -> CostEstimate {
    CostEstimate {
        training_usd,
        step_functions_usd: state_transitions as f64 * STEP_FUNCTIONS_USD_PER_TRANSITION.value,
        lambda_requests_usd: task_requests as f64 * LAMBDA_USD_PER_REQUEST.value,
        note: COST_NOTE.to_string(),
    }
}

/// What keeps billing after the run: the custom model's storage and the deployment, with their rates.
pub(super) fn left_billing(custom_model_arn: Option<&str>, deployment: Option<LiveDeployment<'_>>) -> Vec<Billing> {
    let storage = CUSTOM_MODEL_STORAGE_USD_PER_MONTH;
    let mut billing: Vec<Billing> = custom_model_arn
        .map(|arn| Billing {
            what: Billable::CustomModel,
            arn: arn.to_string(),
            usd_per_hour: None,
            usd_per_month: Some(storage.value),
            basis: format!(
                "storage, ${:.2} per month while the model exists (catalogue: {})",
                storage.value,
                provenance(storage.provenance)
            ),
        })
        .into_iter()
        .collect();
    if let Some(d) = deployment {
        match d.mode {
            DeploymentMode::Provisioned => billing.push(throughput(&d)),
            DeploymentMode::OnDemand => billing.push(Billing {
                what: Billable::OnDemandDeployment,
                arn: d.arn.to_string(),
                usd_per_hour: Some(0.0),
                usd_per_month: None,
                basis: "per inference token at the base model's price; nothing by the hour".to_string(),
            }),
            // Provision records a settled mode only.
            DeploymentMode::None | DeploymentMode::Auto => {}
        }
    }
    billing
}

/// `billing` (what the documents imply) checked against what exists: only what is there is kept, and
/// what is there that the documents do not know (a throughput created before its step could record
/// it) is added, its rate unknown. A job in progress is not listed: it bills by the token trained,
/// which the cost estimate already counts.
pub(super) fn as_found(billing: Vec<Billing>, live: &[String]) -> Vec<Billing> {
    let mut found: Vec<Billing> = billing.into_iter().filter(|b| live.contains(&b.arn)).collect();
    for arn in live {
        if found.iter().any(|b| &b.arn == arn) {
            continue;
        }
        let Some(what) = Billable::of_arn(arn).filter(|w| *w != Billable::CustomizationJob) else { continue };
        let (usd_per_hour, usd_per_month) = match what {
            Billable::CustomModel => (None, Some(CUSTOM_MODEL_STORAGE_USD_PER_MONTH.value)),
            Billable::OnDemandDeployment => (Some(0.0), None),
            _ => (None, None),
        };
        found.push(Billing {
            what,
            arn: arn.clone(),
            usd_per_hour,
            usd_per_month,
            basis: format!(
                "found in the account with the run's tag, unknown to its documents; {}",
                match what {
                    Billable::ProvisionedThroughput => format!("billed by the hour until deleted: see {PRICING_PAGE}"),
                    Billable::CustomModel => "storage, billed by the month".to_string(),
                    _ => "per inference token".to_string(),
                }
            ),
        });
    }
    found
}

fn throughput(d: &LiveDeployment<'_>) -> Billing {
    let units = d.model_units.max(1);
    let plural = if units == 1 { "" } else { "s" };
    let catalogue = d.base_model.and_then(|m| provisioned_throughput_usd_per_hour(m, d.commitment, units));
    let term = match d.commitment {
        Some(term) => format!("commitment {term}: billed for the whole term"),
        None => "no commitment: billed until deleted".to_string(),
    };
    let (usd_per_hour, basis) = match (d.hourly_cost_usd, catalogue) {
        (Some(rate), _) => {
            (Some(rate), format!("${rate:.2} per hour for {units} model unit{plural}, used or not; {term}"))
        }
        (None, Some(rate)) => (
            Some(rate.value),
            format!(
                "${:.2} per hour for {units} model unit{plural}, used or not; {term} (catalogue: {})",
                rate.value,
                provenance(rate.provenance)
            ),
        ),
        (None, None) => (
            None,
            format!(
                "by the hour for {units} model unit{plural}, used or not; {term}; the catalogue has no rate for {}{}: \
                 see {PRICING_PAGE}",
                d.base_model.unwrap_or("this model"),
                d.commitment.map(|_| " with a commitment").unwrap_or_default()
            ),
        ),
    };
    Billing { what: Billable::ProvisionedThroughput, arn: d.arn.to_string(), usd_per_hour, usd_per_month: None, basis }
}

fn provenance(p: Provenance) -> &'static str {
    match p {
        Provenance::Documented => "documented",
        Provenance::Secondary => "secondary source",
        Provenance::Unverified => "unverified",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provisioned<'a>(base_model: &'a str, hourly: Option<f64>, units: u32) -> LiveDeployment<'a> {
        LiveDeployment {
            mode: DeploymentMode::Provisioned,
            arn: "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt",
            hourly_cost_usd: hourly,
            base_model: Some(base_model),
            model_units: units,
            commitment: None,
        }
    }

    #[test]
    fn usage_is_priced_from_the_catalogue() {
        let cost = estimate(47, 16, Some(0.5));
        assert_eq!(cost.step_functions_usd, 47.0 * (0.025 / 1000.0));
        assert_eq!(cost.lambda_requests_usd, 16.0 * (0.20 / 1_000_000.0));
        assert_eq!(cost.training_usd, Some(0.5));
    }

    #[test]
    fn a_kept_throughput_bills_by_the_hour_at_its_rate_beside_the_models_storage() {
        let billing = left_billing(Some("model"), Some(provisioned("amazon.titan-text-lite-v1:0:4k", None, 2)));
        assert_eq!(billing.len(), 2);
        assert_eq!((billing[0].what, billing[0].usd_per_month), (Billable::CustomModel, Some(1.95)));
        let pt = &billing[1];
        assert_eq!((pt.what, pt.usd_per_hour, pt.usd_per_month), (Billable::ProvisionedThroughput, Some(14.2), None));
        assert!(pt.basis.starts_with("$14.20 per hour for 2 model units"), "{}", pt.basis);
        let recorded = left_billing(None, Some(provisioned("amazon.titan-text-lite-v1:0:4k", Some(7.1), 1)));
        assert_eq!(recorded[0].usd_per_hour, Some(7.1));
    }

    #[test]
    fn a_throughput_without_a_published_rate_still_says_it_bills_by_the_hour_and_where_to_look() {
        let billing = left_billing(None, Some(provisioned("amazon.nova-micro-v1:0:128k", None, 1)));
        assert_eq!(billing[0].usd_per_hour, None);
        assert!(billing[0].basis.contains("by the hour") && billing[0].basis.contains(PRICING_PAGE));
    }

    #[test]
    fn on_demand_bills_per_token_only_and_nothing_is_left_without_a_model() {
        let on_demand = LiveDeployment {
            mode: DeploymentMode::OnDemand,
            arn: "dep",
            hourly_cost_usd: Some(0.0),
            base_model: None,
            model_units: 1,
            commitment: None,
        };
        let billing = left_billing(None, Some(on_demand));
        assert_eq!((billing[0].what, billing[0].usd_per_hour), (Billable::OnDemandDeployment, Some(0.0)));
        let none = LiveDeployment { mode: DeploymentMode::None, arn: "", ..provisioned("x", None, 1) };
        assert!(left_billing(None, Some(none)).is_empty());
    }

    #[test]
    fn arns_are_classified_by_their_resource_type() {
        let arn = |t: &str| format!("arn:aws:bedrock:us-east-1:123456789012:{t}/amazon.nova-micro-v1:0:128k/x");
        assert_eq!(Billable::of_arn(&arn("model-customization-job")), Some(Billable::CustomizationJob));
        assert_eq!(Billable::of_arn(&arn("custom-model")), Some(Billable::CustomModel));
        assert_eq!(Billable::of_arn(&arn("provisioned-model")), Some(Billable::ProvisionedThroughput));
        assert_eq!(Billable::of_arn(&arn("custom-model-deployment")), Some(Billable::OnDemandDeployment));
        assert_eq!(Billable::of_arn("ft-run-1"), None);
    }

    #[test]
    fn what_bills_is_what_the_account_holds() {
        let model = "arn:aws:bedrock:us-east-1:123456789012:custom-model/m";
        let throughput = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt";
        let implied = left_billing(Some(model), Some(provisioned("amazon.titan-text-lite-v1:0:4k", None, 1)));
        assert_eq!(implied.len(), 2);
        // Teardown deleted the throughput: the documents say nothing of it, the account does.
        let found = as_found(implied.clone(), &[model.to_string()]);
        assert_eq!(found.iter().map(|b| b.what).collect::<Vec<_>>(), [Billable::CustomModel]);
        // A throughput the documents never recorded is still billing, and says so.
        let stray = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/stray";
        let found =
            as_found(vec![], &[stray.to_string(), "arn:aws:bedrock:us-east-1:1:model-customization-job/j".into()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].what, found[0].usd_per_hour), (Billable::ProvisionedThroughput, None));
        assert!(found[0].basis.contains("unknown to its documents"), "{}", found[0].basis);
        assert_eq!(as_found(implied, &[throughput.to_string()]).len(), 1);
    }
}
