//! Bedrock Runtime: Converse and InvokeModel answered by the stand-ins of [`crate::standin`].

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::emulator::Emulator;
use crate::error::{BedrockError, ErrorKind};
use crate::resources::ServingStatus;
use crate::standin::{TunedModel, base_answer, token_count, truncate};

/// Which stand-in answered; the wire layer reports it in `x-local-emulated-model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandIn {
    /// A foundation model: generic, deterministic text.
    Base { model_id: String },
    /// A custom model: the completion of the nearest training examples.
    Tuned { model_name: String },
}

impl StandIn {
    pub fn label(&self) -> String {
        match self {
            StandIn::Base { model_id } => format!("base:{model_id}"),
            StandIn::Tuned { model_name } => format!("tuned:{model_name}"),
        }
    }
}

enum Target {
    Base(String),
    Tuned(String, Arc<TunedModel>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    pub messages: Option<Vec<Value>>,
    pub system: Option<Vec<Value>>,
    pub inference_config: Option<InferenceConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfig {
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub total_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    pub output: Value,
    pub stop_reason: String,
    pub usage: TokenUsage,
    pub metrics: Value,
}

impl ConverseResponse {
    pub fn text(&self) -> &str {
        self.output.pointer("/message/content/0/text").and_then(Value::as_str).unwrap_or_default()
    }
}

fn blocks_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(blocks_text).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n"),
        Value::Object(o) => o.get("text").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

/// A fixed, text-length-based latency: deterministic, yet longer answers take longer.
fn latency_ms(input_tokens: u32, output_tokens: u32) -> u64 {
    80 + u64::from(input_tokens) / 2 + 12 * u64::from(output_tokens)
}

/// Messages in Converse / Nova / Claude form -> the prompt the stand-ins compare, the same way the
/// training examples were read: system text, then the last user turn.
fn prompt_of(system: &str, messages: &[Value]) -> Result<String, BedrockError> {
    let first_role = messages.first().and_then(|m| m.get("role")).and_then(Value::as_str);
    if messages.is_empty() {
        return Err(BedrockError::validation("The messages field is required and must contain at least one message."));
    }
    if first_role != Some("user") {
        return Err(BedrockError::validation(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
        ));
    }
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| m.get("content"))
        .map(blocks_text)
        .unwrap_or_default();
    Ok(if system.is_empty() { last_user } else { format!("{system}\n{last_user}") })
}

impl Emulator {
    fn resolve_target(&self, model_id: &str) -> Result<Target, BedrockError> {
        let (st, now) = self.state();
        let not_ready = |what: &str| {
            BedrockError::new(
                ErrorKind::ModelNotReady,
                format!("The {what} {model_id} is not ready to serve inference requests yet. Try again later."),
            )
        };
        let tuned = |i: usize| {
            let m = &st.models[i];
            Target::Tuned(m.name.clone(), m.stand_in.clone())
        };
        if let Some(i) = Self::find_throughput(&st, model_id) {
            let t = &st.throughputs[i];
            return match t.status_at(now).0 {
                ServingStatus::Creating => Err(not_ready("provisioned model")),
                ServingStatus::Failed => Err(BedrockError::validation(format!(
                    "The provisioned model {model_id} is in the Failed state and cannot serve inference requests."
                ))),
                ServingStatus::Ready => Ok(match t.custom_model {
                    Some(i) => tuned(i),
                    None => Target::Base(t.foundation_model_arn.clone()),
                }),
            };
        }
        if let Some(i) = Self::find_deployment(&st, model_id) {
            let d = &st.deployments[i];
            return match d.status_at(now).0 {
                ServingStatus::Creating => Err(not_ready("custom model deployment")),
                ServingStatus::Failed => Err(BedrockError::validation(format!(
                    "The custom model deployment {model_id} is in the Failed state and cannot serve inference requests."
                ))),
                ServingStatus::Ready => Ok(tuned(d.custom_model)),
            };
        }
        if model_id.contains(":provisioned-model/") || model_id.contains(":custom-model-deployment/") {
            return Err(BedrockError::not_found(format!("The model {model_id} was not found.")));
        }
        if model_id.contains(":custom-model/") || Self::find_model(&st, model_id).is_some() {
            // As on AWS: a custom model is served through a provisioned throughput or a deployment.
            return Err(BedrockError::validation(format!(
                "Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request with the ARN of a provisioned throughput or a custom model deployment for this model."
            )));
        }
        // A cross-region inference profile (`us.meta.llama3-...`) routes to its model.
        match shared::catalogue::find(shared::catalogue::without_inference_profile(model_id)) {
            Some(m) => Ok(Target::Base(m.base_id().to_string())),
            None => Err(BedrockError::validation("The provided model identifier is invalid.")),
        }
    }

    fn answer(&self, model_id: &str, prompt: &str) -> Result<(String, StandIn), BedrockError> {
        Ok(match self.resolve_target(model_id)? {
            Target::Base(id) => (base_answer(&id, prompt), StandIn::Base { model_id: id }),
            Target::Tuned(name, m) => {
                let text = m.answer(prompt).unwrap_or_else(|| base_answer(&name, prompt));
                (text, StandIn::Tuned { model_name: name })
            }
        })
    }

    /// `POST /model/{modelId}/converse`.
    pub fn converse(&self, model_id: &str, req: ConverseRequest) -> Result<(ConverseResponse, StandIn), BedrockError> {
        let system = req.system.as_ref().map(|s| blocks_text(&Value::Array(s.clone()))).unwrap_or_default();
        let prompt = prompt_of(&system, req.messages.as_deref().unwrap_or_default())?;
        let max_tokens = req.inference_config.and_then(|c| c.max_tokens);
        let (text, stand_in) = self.answer(model_id, &prompt)?;
        let (text, cut) = truncate(text, max_tokens);
        let (input, output) = (token_count(&prompt), token_count(&text));
        let response = ConverseResponse {
            output: json!({"message": {"role": "assistant", "content": [{"text": text}]}}),
            stop_reason: if cut { "max_tokens" } else { "end_turn" }.into(),
            usage: TokenUsage { input_tokens: input, output_tokens: output, total_tokens: input + output },
            metrics: json!({"latencyMs": latency_ms(input, output)}),
        };
        Ok((response, stand_in))
    }

    /// `POST /model/{modelId}/invoke`: the body format is recognised by its fields (Nova
    /// messages-v1, Claude Messages, Titan Text, Llama) and answered in the same family's format.
    pub fn invoke_model(&self, model_id: &str, body: &[u8]) -> Result<(Value, StandIn), BedrockError> {
        let req: Value = serde_json::from_slice(body).map_err(|e| {
            BedrockError::validation(format!("Malformed input request: {e}, please reformat your input and try again."))
        })?;
        let text = |k: &str| req.get(k).and_then(Value::as_str);
        if req.get("anthropic_version").is_some() {
            let system = req.get("system").map(blocks_text).unwrap_or_default();
            let prompt = prompt_of(
                &system,
                req.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default(),
            )?;
            let max = req.get("max_tokens").and_then(Value::as_u64).map(|m| m as u32);
            let (answer, stand_in) = self.answer(model_id, &prompt)?;
            let (answer, cut) = truncate(answer, max);
            let body = json!({
                "id": "msg_bdrk_emulated",
                "type": "message",
                "role": "assistant",
                "model": model_id,
                "content": [{"type": "text", "text": answer}],
                "stop_reason": if cut { "max_tokens" } else { "end_turn" },
                "stop_sequence": null,
                "usage": {"input_tokens": token_count(&prompt), "output_tokens": token_count(&answer)},
            });
            return Ok((body, stand_in));
        }
        if let Some(input) = text("inputText") {
            // Titan's chat convention: "User: ...\nBot:".
            let prompt = input.trim().trim_end_matches("Bot:").trim().trim_start_matches("User:").trim().to_string();
            let max = req.pointer("/textGenerationConfig/maxTokenCount").and_then(Value::as_u64).map(|m| m as u32);
            let (answer, stand_in) = self.answer(model_id, &prompt)?;
            let (answer, cut) = truncate(answer, max);
            let body = json!({
                "inputTextTokenCount": token_count(input),
                "results": [{"tokenCount": token_count(&answer), "outputText": answer, "completionReason": if cut { "LENGTH" } else { "FINISH" }}],
            });
            return Ok((body, stand_in));
        }
        if let Some(raw) = text("prompt") {
            let prompt = strip_llama_template(raw);
            let max = req.get("max_gen_len").and_then(Value::as_u64).map(|m| m as u32);
            let (answer, stand_in) = self.answer(model_id, &prompt)?;
            let (answer, cut) = truncate(answer, max);
            let body = json!({
                "generation": answer,
                "prompt_token_count": token_count(raw),
                "generation_token_count": token_count(&answer),
                "stop_reason": if cut { "length" } else { "stop" },
            });
            return Ok((body, stand_in));
        }
        if let Some(messages) = req.get("messages").and_then(Value::as_array) {
            let system = req.get("system").map(blocks_text).unwrap_or_default();
            let prompt = prompt_of(&system, messages)?;
            let max =
                req.pointer("/inferenceConfig/maxTokens").or_else(|| req.pointer("/inferenceConfig/max_new_tokens"));
            let (answer, stand_in) = self.answer(model_id, &prompt)?;
            let (answer, cut) = truncate(answer, max.and_then(Value::as_u64).map(|m| m as u32));
            let (input, output) = (token_count(&prompt), token_count(&answer));
            let body = json!({
                "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
                "stopReason": if cut { "max_tokens" } else { "end_turn" },
                "usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
            });
            return Ok((body, stand_in));
        }
        Err(BedrockError::validation(
            "Malformed input request: expected a Nova (messages), Claude (anthropic_version), Titan (inputText) or Llama (prompt) body, please reformat your input and try again.",
        ))
    }
}

/// The user turns of a Llama 3 chat template, or the raw prompt when it has none.
fn strip_llama_template(raw: &str) -> String {
    const USER: &str = "<|start_header_id|>user<|end_header_id|>";
    let mut system = String::new();
    if let Some(s) = raw.split("<|start_header_id|>system<|end_header_id|>").nth(1) {
        system = s.split("<|eot_id|>").next().unwrap_or_default().trim().to_string();
    }
    let user = raw
        .rsplit(USER)
        .next()
        .filter(|_| raw.contains(USER))
        .map(|u| u.split("<|eot_id|>").next().unwrap_or_default().trim());
    match user {
        Some(u) if system.is_empty() => u.to_string(),
        Some(u) => format!("{system}\n{u}"),
        None => raw.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_template_is_reduced_to_system_and_user_text() {
        let p = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\nBe brief<|eot_id|><|start_header_id|>user<|end_header_id|>\nHello there<|eot_id|><|start_header_id|>assistant<|end_header_id|>";
        assert_eq!(strip_llama_template(p), "Be brief\nHello there");
        assert_eq!(strip_llama_template(" plain "), "plain");
    }
}
