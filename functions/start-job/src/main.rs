use functions_common::{Env, SystemClock, load_sdk_config};
use lambda_runtime::{Error, run, service_fn};
use start_job::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::process();
    let sdk = load_sdk_config(&env).await;
    let deps = Deps::from_env(&sdk, &env, SystemClock);
    let deps = &deps;
    run(service_fn(move |event| async move { handler(deps, event).await })).await
}
