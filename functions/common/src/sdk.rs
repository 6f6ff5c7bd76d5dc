//! The SDK configuration every function builds once at init.

use crate::Env;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

const DEFAULT_OPERATION_TIMEOUT: u64 = 45;
const DEFAULT_ATTEMPT_TIMEOUT: u64 = 15;

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL_*`),
/// with operation and attempt timeouts below the Lambda timeout, so a hung call becomes a retryable
/// `TransientError` instead of a Lambda timeout.
pub async fn load_sdk_config(env: &Env) -> SdkConfig {
    let seconds = |var: &str, default: u64| Duration::from_secs(env.positive(var).unwrap_or(default));
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(seconds("SDK_OPERATION_TIMEOUT_SECONDS", DEFAULT_OPERATION_TIMEOUT))
        .operation_attempt_timeout(seconds("SDK_ATTEMPT_TIMEOUT_SECONDS", DEFAULT_ATTEMPT_TIMEOUT))
        .build();
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).load().await
}

/// Path-style addressing: asked for explicitly, or implied by an endpoint override (a local S3 has no
/// per-bucket host names).
pub fn s3_path_style(config: &SdkConfig, env: &Env) -> bool {
    match env.flag("FINETUNE_S3_PATH_STYLE") {
        Some(asked) => asked,
        None => config.endpoint_url().is_some() || env.get("AWS_ENDPOINT_URL_S3").is_some(),
    }
}

pub fn s3_client(config: &SdkConfig, env: &Env) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(s3_path_style(config, env)).build();
    aws_sdk_s3::Client::from_conf(s3)
}
