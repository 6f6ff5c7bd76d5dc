use lambda_runtime::{run, service_fn, tracing};
use pipeline_common::{defaults_from_env, load_sdk_config, s3_client};
use validate_split::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    let sdk = load_sdk_config().await;
    let deps = Deps {
        s3: s3_client(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        state_machine_arn: std::env::var("STATE_MACHINE_ARN").ok().filter(|v| !v.is_empty()),
        defaults: defaults_from_env(),
        work_dir: std::env::temp_dir(),
    };
    let deps = &deps;
    run(service_fn(move |ev| async move { handler(deps, ev).await })).await
}
