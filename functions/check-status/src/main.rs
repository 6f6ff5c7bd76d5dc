use check_status::{Deps, handler};
use lambda_runtime::{run, service_fn, tracing};
use pipeline_common::{SystemClock, load_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    let sdk = load_sdk_config().await;
    let deps = Deps { bedrock: aws_sdk_bedrock::Client::new(&sdk), clock: SystemClock };
    let deps = &deps;
    run(service_fn(move |ev| async move { handler(deps, ev).await })).await
}
