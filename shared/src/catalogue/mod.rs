//! The model catalogue: every base model Bedrock can customize, as data.
//!
//! This table is the one source of truth for model ids, regions, customization types, dataset formats,
//! limits, hyperparameters and prices. Each number carries its [`Provenance`]: values that the AWS
//! documentation states are `Documented`; values taken from a secondary source or not confirmed are
//! marked so, and the validator reports a breach of an unverified limit as a warning, never an error,
//! so that a wrong guess here cannot block a dataset Bedrock would accept.
//!
//! - `model.rs`: what an entry says ([`Model`], [`Customization`], limits, media, token estimate)
//! - `format.rs`: [`DatasetFormat`], the JSON Lines shapes
//! - `hyperparameters.rs`: [`HyperParameter`] ranges and the check of given values
//! - `nova.rs`, `claude.rs`, `llama.rs`, `titan.rs`, `cohere.rs`: the entries, one file per family
//! - `pricing.rs`: what the pipeline's own services cost (Step Functions, Lambda, model storage)

mod claude;
mod cohere;
pub mod distillation;
mod format;
mod hyperparameters;
mod llama;
mod model;
mod nova;
pub mod pricing;
pub mod throughput;
mod titan;

pub use format::DatasetFormat;
pub use hyperparameters::{HyperParameter, HyperParameterError, HyperValue};
pub use model::{
    Customization, Family, FileLimits, HyperParameterEncoding, Media, Model, RecordBounds, TokenEstimate, TokenLimits,
};

use crate::CustomizationType;
use serde::Serialize;

/// Where a number in the catalogue comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Stated by AWS: the Bedrock user guide, a service model or a pricing page.
    Documented,
    /// From a secondary source (blog, third-party summary) or an older snapshot of the docs.
    Secondary,
    /// Not confirmed anywhere we could check; an educated default.
    Unverified,
}

/// A number with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fact<T> {
    pub value: T,
    pub provenance: Provenance,
}

const fn doc<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Documented }
}
const fn secondary<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Secondary }
}
const fn unverified<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Unverified }
}

/// Every model, in the order `all()` lists them: current families first, legacy ones last.
static MODELS: &[Model] = &[
    nova::NOVA_MICRO,
    nova::NOVA_LITE,
    nova::NOVA_PRO,
    nova::NOVA_2_LITE,
    claude::CLAUDE_3_HAIKU,
    llama::LLAMA_3_1_8B,
    llama::LLAMA_3_1_70B,
    llama::LLAMA_3_2_1B,
    llama::LLAMA_3_2_3B,
    llama::LLAMA_3_2_11B,
    llama::LLAMA_3_2_90B,
    llama::LLAMA_3_3_70B,
    titan::TITAN_TEXT_LITE,
    titan::TITAN_TEXT_EXPRESS,
    titan::TITAN_TEXT_PREMIER,
    cohere::COMMAND,
    cohere::COMMAND_LIGHT,
];

/// Finds a model by id, with or without the context suffix, or by a foundation-model ARN
/// (`arn:aws:bedrock:<region>::foundation-model/<id>`).
pub fn find(model_id: &str) -> Option<&'static Model> {
    let id = model_id.trim();
    let id = id.rsplit_once("foundation-model/").map_or(id, |(_, tail)| tail);
    MODELS
        .iter()
        .find(|m| m.id == id || m.base_id() == id)
        // `amazon.titan-text-express-v1`: the name without its version, when it is unambiguous.
        .or_else(|| {
            let mut named = MODELS.iter().filter(|m| m.id.split(':').next() == Some(id));
            named.next().filter(|_| named.next().is_none())
        })
}

/// The geographic prefixes of Bedrock's cross-region inference profiles, as in
/// `us.meta.llama3-2-1b-instruct-v1:0`.
pub const INFERENCE_PROFILE_PREFIXES: [&str; 5] = ["us-gov.", "us.", "eu.", "apac.", "global."];

/// A model id without an inference profile's geographic prefix (the model the profile routes to).
pub fn without_inference_profile(model_id: &str) -> &str {
    let id = model_id.trim();
    INFERENCE_PROFILE_PREFIXES.iter().find_map(|p| id.strip_prefix(p)).unwrap_or(id)
}

/// The id to call a base model with on demand (InvokeModel, Converse): its id without the context
/// suffix, or, for the models Bedrock serves on demand only through a cross-region inference profile
/// (Llama 3.2 and 3.3, Nova 2: secondary, from the model cards), that profile for the region's
/// geography (`us.` for `us-east-1`).
pub fn invocation_id(model: &Model, region: &str) -> String {
    let needs_profile = matches!(model.family, Family::Llama32 | Family::Llama33 | Family::Nova2);
    if !needs_profile {
        return model.base_id().to_string();
    }
    let geography = match region {
        r if r.starts_with("us-gov-") => "us-gov",
        r if r.starts_with("eu-") => "eu",
        r if r.starts_with("ap-") => "apac",
        _ => "us",
    };
    format!("{geography}.{}", model.base_id())
}

/// Every model, for error messages and `--help`.
pub fn all() -> &'static [Model] {
    MODELS
}

/// The closest known ids to an unknown one, for "did you mean".
pub fn suggestions(model_id: &str) -> Vec<&'static str> {
    let needle = model_id.to_ascii_lowercase();
    let parts: Vec<&str> = needle.split(['.', '-', ':']).filter(|p| p.len() > 2).collect();
    MODELS.iter().filter(|m| parts.iter().any(|p| m.id.contains(p))).map(|m| m.id).take(5).collect()
}

#[cfg(test)]
mod tests {
    use super::model::strip_context_suffix;
    use super::*;

    #[test]
    fn inference_profiles_resolve_to_their_model_and_back() {
        assert_eq!(without_inference_profile("us.meta.llama3-2-1b-instruct-v1:0"), "meta.llama3-2-1b-instruct-v1:0");
        assert_eq!(without_inference_profile("amazon.nova-micro-v1:0"), "amazon.nova-micro-v1:0");
        let llama = find("meta.llama3-2-1b-instruct-v1:0:128k").unwrap();
        assert_eq!(invocation_id(llama, "eu-west-1"), "eu.meta.llama3-2-1b-instruct-v1:0");
        assert_eq!(find(without_inference_profile(&invocation_id(llama, "us-east-1"))).unwrap().id, llama.id);
        let nova = find("amazon.nova-micro-v1:0:128k").unwrap();
        assert_eq!(invocation_id(nova, "us-east-1"), "amazon.nova-micro-v1:0");
    }

    #[test]
    fn every_model_is_found_by_full_id_base_id_and_arn() {
        for m in all() {
            assert_eq!(find(m.id).map(|f| f.id), Some(m.id));
            assert_eq!(find(m.base_id()).map(|f| f.id), Some(m.id), "{}", m.base_id());
            let arn = format!("arn:aws:bedrock:us-east-1::foundation-model/{}", m.base_id());
            assert_eq!(find(&arn).map(|f| f.id), Some(m.id));
        }
        assert!(find("amazon.nova-mega-v9:0").is_none());
    }

    #[test]
    fn base_id_strips_only_the_context_suffix() {
        assert_eq!(find("amazon.nova-micro-v1:0").unwrap().base_id(), "amazon.nova-micro-v1:0");
        assert_eq!(strip_context_suffix("amazon.nova-micro-v1:0:128k"), "amazon.nova-micro-v1:0");
        assert_eq!(strip_context_suffix("plain"), "plain");
    }

    #[test]
    fn ids_are_unique_and_every_model_has_a_customization_with_defaults_in_range() {
        let mut ids: Vec<_> = all().iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all().len());
        for m in all() {
            assert!(!m.customizations.is_empty(), "{}", m.id);
            assert!(!m.regions.is_empty());
            for c in m.customizations {
                for h in c.hyperparameters {
                    h.check(&h.default_string(), m.id).unwrap_or_else(|e| panic!("{}: {e}", m.id));
                }
            }
        }
    }

    #[test]
    fn rft_only_on_nova_2_lite_and_cpt_only_on_titan() {
        for m in all() {
            let rft = m.customization(CustomizationType::ReinforcementFineTuning).is_some();
            assert_eq!(rft, m.id == "amazon.nova-2-lite-v1:0:256k", "{}", m.id);
            if m.customization(CustomizationType::ContinuedPreTraining).is_some() {
                assert_eq!(m.family, Family::TitanText);
            }
        }
    }

    #[test]
    fn hyperparameter_ranges_accept_inside_and_reject_outside() {
        let nova = find("amazon.nova-micro-v1:0").unwrap();
        let ft = nova.customization(CustomizationType::FineTuning).unwrap();
        assert!(ft.check_hyperparameters(nova, [("epochCount", "5"), ("learningRate", "0.0001")]).is_empty());
        let errs = ft.check_hyperparameters(nova, [("epochCount", "6"), ("learningRate", "1"), ("batchSize", "2")]);
        assert_eq!(errs.len(), 3);
        assert!(matches!(errs[0], HyperParameterError::OutOfRange { .. }));
        assert!(matches!(errs[2], HyperParameterError::Unknown { .. }));
        let e = ft.check_hyperparameters(nova, [("epochCount", "two")]);
        assert!(matches!(e[0], HyperParameterError::WrongType { .. }));
        assert!(e[0].to_string().contains("epochCount"));
    }

    #[test]
    fn epochs_default_from_the_table() {
        let titan = find("amazon.titan-text-express-v1").unwrap();
        let ft = titan.customization(CustomizationType::FineTuning).unwrap();
        assert_eq!(ft.epochs(None), 5);
        assert_eq!(ft.epochs(Some("3")), 3);
    }

    #[test]
    fn on_demand_only_where_documented() {
        let on_demand: Vec<_> = all().iter().filter(|m| m.on_demand_deployment).map(|m| m.id).collect();
        assert_eq!(
            on_demand,
            [
                "amazon.nova-micro-v1:0:128k",
                "amazon.nova-lite-v1:0:300k",
                "amazon.nova-pro-v1:0:300k",
                "amazon.nova-2-lite-v1:0:256k",
                "meta.llama3-3-70b-instruct-v1:0:128k"
            ]
        );
    }
}
