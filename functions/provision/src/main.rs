use lambda_runtime::{Error, run, service_fn};
use pipeline_common::{SystemClock, load_sdk_config};
use provision::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = load_sdk_config().await;
    let deps = Deps { bedrock: aws_sdk_bedrock::Client::new(&config), clock: SystemClock };
    let deps = &deps;
    run(service_fn(move |event| async move { handler(deps, event).await })).await
}
