use grader::{Deps, handler};
use lambda_runtime::{run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    // A bad default spec fails the cold start loudly rather than scoring every sample 0.
    let deps = Deps::from_env()?;
    let deps = &deps;
    run(service_fn(move |ev| async move { handler(deps, ev) })).await
}
