use functions_common::{Env, SystemClock, load_sdk_config};
use lambda_runtime::{Error, run, service_fn};
use reaper::{Deps, SnsPublisher, handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::process();
    let sdk = load_sdk_config(&env).await;
    let deps = Deps::from_env(&sdk, &env, SystemClock, SnsPublisher::from_env(&sdk, &env))?;
    let deps = &deps;
    run(service_fn(move |event| async move { handler(deps, event).await })).await
}
