use lambda_runtime::{Error, run, service_fn};
use pipeline_common::{SystemClock, load_sdk_config, s3_client};
use teardown::notify::SnsNotifier;
use teardown::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = load_sdk_config().await;
    let deps = Deps {
        bedrock: aws_sdk_bedrock::Client::new(&config),
        s3: s3_client(&config),
        clock: SystemClock,
        notifier: SnsNotifier::from_env(aws_sdk_sns::Client::new(&config)),
        bucket: std::env::var("BUCKET").ok().filter(|b| !b.trim().is_empty()),
    };
    let deps = &deps;
    run(service_fn(move |event| async move { handler(deps, event).await })).await
}
