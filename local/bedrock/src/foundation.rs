//! ListFoundationModels: the catalogue as Bedrock reports it.

use shared::CustomizationType;
use shared::catalogue;

use crate::emulator::Emulator;
use crate::error::BedrockError;
use crate::wire::*;

impl Emulator {
    /// The catalogue as ListFoundationModels reports it: each customizable id (with its context
    /// suffix, provisioned inference) and its on-demand id.
    pub fn list_foundation_models(
        &self,
        req: &ListFoundationModelsRequest,
    ) -> Result<ListFoundationModelsResponse, BedrockError> {
        let mut out = Vec::new();
        for m in catalogue::all() {
            let provider = match m.id.split('.').next().unwrap_or_default() {
                "amazon" => "Amazon",
                "anthropic" => "Anthropic",
                "meta" => "Meta",
                "cohere" => "Cohere",
                other => other,
            };
            let customizations: Vec<String> = m
                .supported_types()
                .filter(|t| *t != CustomizationType::ReinforcementFineTuning)
                .map(|t| t.as_str().to_string())
                .collect();
            for (id, inference, custom) in
                [(m.id, "PROVISIONED", customizations.clone()), (m.base_id(), "ON_DEMAND", Vec::new())]
            {
                let s = FoundationModelSummary {
                    model_arn: format!("arn:aws:bedrock:{}::foundation-model/{id}", self.inner.config.region),
                    model_id: id.to_string(),
                    model_name: m.name.to_string(),
                    provider_name: provider.to_string(),
                    input_modalities: vec!["TEXT".into()],
                    output_modalities: vec!["TEXT".into()],
                    response_streaming_supported: true,
                    customizations_supported: custom,
                    inference_types_supported: vec![inference.to_string()],
                    model_lifecycle: ModelLifecycle { status: if m.legacy { "LEGACY" } else { "ACTIVE" }.into() },
                };
                let keep = req.by_provider.as_deref().is_none_or(|p| p.eq_ignore_ascii_case(provider))
                    && req
                        .by_customization_type
                        .as_deref()
                        .is_none_or(|t| s.customizations_supported.iter().any(|c| c == t))
                    && req.by_inference_type.as_deref().is_none_or(|t| t == inference)
                    && req.by_output_modality.as_deref().is_none_or(|t| t == "TEXT");
                if keep {
                    out.push(s);
                }
            }
        }
        Ok(ListFoundationModelsResponse { model_summaries: out })
    }
}
