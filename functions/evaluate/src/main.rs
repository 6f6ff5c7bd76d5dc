use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use evaluate::converse::RetryPolicy;
use evaluate::{Deps, handler, local_cloud_from_env};
use lambda_runtime::{Error, run, service_fn};
use pipeline_common::{SystemClock, load_sdk_config, s3_client};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = load_sdk_config().await;
    // Generating up to max_tokens takes longer than a control-plane call; the handler owns the retries.
    let answer_timeout =
        std::env::var("CONVERSE_TIMEOUT_SECONDS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(120);
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(answer_timeout))
        .operation_attempt_timeout(Duration::from_secs(answer_timeout))
        .build();
    let runtime = aws_sdk_bedrockruntime::config::Builder::from(&config)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .build();
    let deps = Deps {
        s3: s3_client(&config),
        runtime: aws_sdk_bedrockruntime::Client::from_conf(runtime),
        clock: SystemClock,
        retry: RetryPolicy::DEFAULT,
        local_cloud: local_cloud_from_env(),
    };
    let deps = &deps;
    run(service_fn(move |event| async move { handler(deps, event).await })).await
}
