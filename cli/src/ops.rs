//! Operating runs where they live: a deployed stack (`--stack NAME`) or a local cloud kept running
//! by `finetune local serve` (`--local [DIR]`). One code path for both: the target only decides the
//! endpoints and the stack's outputs (`target.rs`); every command then speaks the same AWS APIs
//! (S3, Step Functions, Bedrock, Bedrock Runtime) with the same SDK clients.
//!
//! - `serve.rs`: `finetune local serve`
//! - `submit.rs`: `finetune submit` (upload under incoming/, find the execution it started)
//! - `runs.rs`: `finetune runs`, `status`, `stop`; `watch.rs`: following one run live
//! - `history.rs`: GetExecutionHistory in the neutral form a `RunOutcome` is built from
//! - `metrics.rs`, `ask.rs` (ask and compare), `cost.rs`

pub mod ask;
pub mod cost;
pub mod errors;
pub mod help;
pub mod history;
pub mod live;
pub mod metrics;
pub mod runs;
pub mod serve;
pub mod submit;
pub mod target;
pub mod watch;

use crate::output::CliError;
use clap::{Args, Subcommand};

/// `finetune local ...`.
#[derive(Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: LocalCommand,
}

#[derive(Subcommand)]
pub enum LocalCommand {
    /// Keep the local cloud running for any AWS client (boto3, the AWS CLI, `finetune ... --local`)
    /// until Ctrl-C; its endpoints and stack outputs go to DIR/env.
    #[command(after_help = help::LOCAL_SERVE)]
    Serve(serve::ServeArgs),
}

/// The runtime the operating commands' SDK calls run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))
}

/// The target flags again, for a command line printed as a next step.
pub fn target_flags(target: &target::TargetArgs) -> String {
    match (&target.stack, &target.local) {
        (Some(stack), _) => {
            let mut flags = format!(" --stack {stack}");
            if let Some(region) = &target.region {
                flags.push_str(&format!(" --region {region}"));
            }
            if let Some(profile) = &target.profile {
                flags.push_str(&format!(" --profile {profile}"));
            }
            flags
        }
        (None, Some(dir)) => format!(" --local {}", dir.display()),
        (None, None) => String::new(),
    }
}
