use lambda_runtime::{run, service_fn, tracing};
use pipeline_common::{SystemClock, load_sdk_config};
use start_job::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    let sdk = load_sdk_config().await;
    let deps = Deps { bedrock: aws_sdk_bedrock::Client::new(&sdk), clock: SystemClock };
    let deps = &deps;
    run(service_fn(move |ev| async move { handler(deps, ev).await })).await
}
