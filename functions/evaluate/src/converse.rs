//! Asking one model one sample through the Converse API, with its own bounded retry on throttling.

use crate::sample::{Role, Sample};
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_bedrockruntime::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput as Reply, InferenceConfiguration, Message, SystemContentBlock,
};
use functions_common::SdkResultExt;
use shared::pipeline::PipelineError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The header the local Bedrock emulator puts on every answer of its stand-in models.
pub const EMULATED_HEADER: &str = "x-local-emulated";

/// Exponential backoff for throttled (and transient) calls, capped, for a bounded number of attempts;
/// after the last one the sample counts as an error for that model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// 0.25 s, 0.5 s, 1 s, 2 s, 4 s between six attempts: about 8 s of patience per call.
    pub const DEFAULT: RetryPolicy =
        RetryPolicy { max_attempts: 6, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(8) };

    /// The wait after failed attempt `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// One model's answer to one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: Result<String, PipelineError>,
    pub latency_ms: Option<f64>,
    pub attempts: u32,
}

/// Sets its flag when a response carries `x-local-emulated: true`. Added per request, so the flag
/// belongs to one evaluation, not to the client that outlives it.
#[derive(Debug, Clone)]
pub struct EmulatedHeader(pub Arc<AtomicBool>);

impl Intercept for EmulatedHeader {
    fn name(&self) -> &'static str {
        "EmulatedHeader"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if context.response().headers().get(EMULATED_HEADER).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            self.0.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// What every call of one evaluation shares.
#[derive(Debug, Clone)]
pub struct Asker<'a> {
    pub client: &'a Client,
    pub max_tokens: i32,
    pub retry: RetryPolicy,
    pub emulated: Arc<AtomicBool>,
}

impl Asker<'_> {
    pub async fn ask(&self, model_id: &str, sample: &Sample) -> Answer {
        let request = match build_request(sample) {
            Ok(r) => r,
            Err(e) => return Answer { text: Err(e), latency_ms: None, attempts: 0 },
        };
        let (system, messages) = request;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let sent = self
                .client
                .converse()
                .model_id(model_id)
                .set_system((!system.is_empty()).then(|| system.clone()))
                .set_messages(Some(messages.clone()))
                .inference_config(
                    InferenceConfiguration::builder().max_tokens(self.max_tokens).temperature(0.0).build(),
                )
                .customize()
                .interceptor(EmulatedHeader(self.emulated.clone()))
                .send()
                .await
                .or_pipeline("Converse");
            match sent {
                Ok(out) => {
                    let latency = match out.metrics() {
                        Some(m) => m.latency_ms() as f64,
                        None => started.elapsed().as_secs_f64() * 1000.0,
                    };
                    return Answer { text: Ok(reply_text(out.output())), latency_ms: Some(latency), attempts: attempt };
                }
                Err(e) if e.is_retryable() && attempt < self.retry.max_attempts => {
                    tracing::debug!(model_id, attempt, error = %e, "retrying Converse");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(e) => return Answer { text: Err(e), latency_ms: None, attempts: attempt },
            }
        }
    }
}

type Request = (Vec<SystemContentBlock>, Vec<Message>);

fn build_request(sample: &Sample) -> Result<Request, PipelineError> {
    let system = sample.system.iter().map(|s| SystemContentBlock::Text(s.clone())).collect();
    let messages = sample
        .turns
        .iter()
        .map(|t| {
            let role = match t.role {
                Role::User => ConversationRole::User,
                Role::Assistant => ConversationRole::Assistant,
            };
            Message::builder()
                .role(role)
                .content(ContentBlock::Text(t.text.clone()))
                .build()
                .map_err(|e| PipelineError::Internal(format!("Converse message: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok((system, messages))
}

/// The text blocks of the reply joined; an empty string when the model said nothing (a filtered or
/// empty answer scores 0, it is not an error).
fn reply_text(reply: Option<&Reply>) -> String {
    match reply {
        Some(Reply::Message(m)) => m
            .content()
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::DEFAULT;
        let waits: Vec<u128> = (1..=7).map(|a| p.delay(a).as_millis()).collect();
        assert_eq!(waits, vec![250, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(p.delay(100), p.max_delay);
    }
}
