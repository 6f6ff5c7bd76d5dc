//! The notification port: the SNS adapter for AWS, and whatever the local cloud plugs in.

use aws_sdk_sns::types::MessageAttributeValue;
use functions_common::{Env, SdkConfig, SdkResultExt};
use shared::pipeline::{Outcome, PipelineError};
use shared::summary::RunSummary;
use std::future::Future;

pub trait Notifier: Send + Sync {
    /// Publishes the summary; `Ok(false)` when there is nowhere to publish.
    fn notify(
        &self,
        subject: &str,
        message: &str,
        summary: &RunSummary,
    ) -> impl Future<Output = Result<bool, PipelineError>> + Send;
}

/// Publishes to one SNS topic (`TOPIC_ARN`), with `status` and `run_id` message attributes so
/// subscriptions can filter (e.g. failures only).
pub struct SnsNotifier {
    pub client: aws_sdk_sns::Client,
    pub topic_arn: Option<String>,
}

impl SnsNotifier {
    /// `TOPIC_ARN` (unset: nothing is published).
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> SnsNotifier {
        SnsNotifier { client: aws_sdk_sns::Client::new(sdk), topic_arn: env.get("TOPIC_ARN") }
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, PipelineError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| PipelineError::Internal(format!("SNS message attribute: {e}")))
}

impl Notifier for SnsNotifier {
    async fn notify(&self, subject: &str, message: &str, summary: &RunSummary) -> Result<bool, PipelineError> {
        let Some(topic) = &self.topic_arn else { return Ok(false) };
        let status = match summary.status {
            Outcome::Succeeded => "SUCCEEDED",
            Outcome::Failed => "FAILED",
        };
        self.client
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message)
            .message_attributes("status", attribute(status)?)
            .message_attributes("run_id", attribute(&summary.run_id)?)
            .send()
            .await
            .or_pipeline("Publish")?;
        Ok(true)
    }
}

/// No topic: nothing is published.
pub struct NoNotifier;

impl Notifier for NoNotifier {
    async fn notify(&self, _: &str, _: &str, _: &RunSummary) -> Result<bool, PipelineError> {
        Ok(false)
    }
}
