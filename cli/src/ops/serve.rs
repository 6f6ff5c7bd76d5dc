//! `finetune local serve`: the local cloud of `finetune run`, kept running for any AWS client until
//! Ctrl-C. Its endpoints, region, credentials and stack outputs are printed and written to `DIR/env`
//! (`local_stack::env_file`), which a shell sources and `--local DIR` reads.
//!
//! What persists across a restart in the same DIR: the bucket (datasets, everything runs wrote under
//! `runs/`, Bedrock's outputs and metric CSVs), and in `DIR/.finetune/state.json` the emulator's jobs,
//! custom models, throughputs, deployments and tags, every execution with its history, what was
//! published to the topic, and the virtual clock (`local_stack::persist`; saved every few seconds
//! and at Ctrl-C). Ctrl-C first aborts the executions still running and runs their teardown; one
//! left running by a server that died comes back aborted at the next start, and is torn down then.

use crate::output::progress::Progress;
use crate::output::{CliError, Exit, Stdout, note};
use crate::validate::absolute;
use clap::Args;
use local_stack::{LocalCloud, Options, env_file};
use std::path::PathBuf;
use std::time::Duration;

/// The first of the five ports (S3, Bedrock, Step Functions, Lambda, SNS) unless --port says otherwise.
pub const DEFAULT_PORT: u16 = 4590;
/// Virtual time each Bedrock status poll moves: a client polling every second sees a two-hour job end
/// in about half a minute, and a throughput come into service in three polls.
pub const POLL_STEP: Duration = Duration::from_secs(5 * 60);
/// How often the server writes its state (only when it changed): what a crash can lose.
const SAVE_EVERY: Duration = Duration::from_secs(2);

#[derive(Args)]
pub struct ServeArgs {
    /// The local cloud's data folder (the bucket in DIR/finetune-local/, DIR/env for clients).
    #[arg(long, value_name = "DIR", default_value = super::target::DEFAULT_LOCAL_DIR)]
    pub data_dir: PathBuf,
    /// The first of five consecutive ports on 127.0.0.1: S3, Bedrock (and Bedrock Runtime), Step
    /// Functions, Lambda, SNS. 0 picks free ports.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Bedrock faults to inject, as `finetune run --fault` takes them.
    #[arg(long, value_name = "SPEC")]
    pub fault: Option<String>,
    /// Override a template parameter, as `finetune run --parameter` (repeatable): the operator's
    /// settings, e.g. `--parameter AllowedDeploymentModes=none,on-demand,provisioned`.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
}

pub fn serve(args: ServeArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let data_dir = PathBuf::from(absolute(&args.data_dir));
    if let Some(spec) = &args.fault {
        spec.parse::<local_stack::FaultSpec>()
            .map_err(|e| CliError::usage(format!("--fault `{spec}` is not a fault spec: {e}")))?;
    }
    let parameters = crate::run::parameter_overrides(local_stack::TEMPLATE, "template.yaml", &args.parameters)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let mut options = Options::new(&data_dir);
        options.parameters = parameters;
        options.faults = args.fault.clone();
        options.base_port = (args.port != 0).then_some(args.port);
        options.advance_clock_on_bedrock_poll = Some(POLL_STEP);
        options.persist = true;
        let cloud = LocalCloud::start(options).await.map_err(|e| {
            let error = CliError::failure(format!("the local cloud did not start in {}: {e}", data_dir.display()));
            if e.to_string().contains("cannot listen") {
                error.with_hint(
                    "another server holds that port (a `finetune local serve` already running?): pass --port N",
                )
            } else {
                error
            }
        })?;
        let env = env_file::render(&cloud.endpoints, &cloud.state_machine_arn);
        let path = env_file::path(&data_dir);
        std::fs::write(&path, &env).map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
        out.text(&env)?;
        out.flush()?;
        let mut progress = Progress::stderr(crate::output::is_quiet());
        progress.line(&format!(
            "Local cloud serving (bucket in {}); `. {}` points any AWS SDK or the AWS CLI at it, `--local {}` the \
             finetune commands. Ctrl-C stops it.",
            cloud.object_path("").display(),
            path.display(),
            args.data_dir.display()
        ));
        let pending = watch_uploads(&cloud);
        tokio::pin!(pending);
        // One listener for the whole loop: a fresh `ctrl_c()` per turn would miss a Ctrl-C that arrives
        // while the state is being saved, when no listener exists (the server then never stopped).
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        let mut saving = tokio::time::interval(SAVE_EVERY);
        loop {
            tokio::select! {
                signal = &mut interrupted => {
                    signal.map_err(|e| CliError::failure(format!("cannot wait for Ctrl-C: {e}")))?;
                    break;
                }
                () = &mut pending => break,
                _ = saving.tick() => {
                    if let Err(e) = cloud.save_state() {
                        note(&format!("could not save the local cloud's state: {e}"));
                    }
                }
            }
        }
        for arn in cloud.stop_running(local_stack::persist::ABORTED_BY_STOP).await {
            note(&format!("aborted {arn} (still running) and ran its teardown"));
        }
        cloud.save_state().map_err(|e| CliError::failure(format!("could not save the local cloud's state: {e}")))?;
        note(&format!(
            "stopped; the bucket and {} (jobs, models, throughputs, executions) stay for the next start",
            local_stack::persist::path(&data_dir).display()
        ));
        Ok(Exit::Success)
    })
}

/// Says on stderr what each upload under incoming/ started (or why it started nothing), as the
/// bucket notification's Lambda answered. Runs until the server stops.
async fn watch_uploads(cloud: &LocalCloud) {
    loop {
        match cloud.next_upload_result(Duration::from_secs(3600)).await {
            Some(Ok(result)) => {
                for started in result["started"].as_array().into_iter().flatten() {
                    note(&format!(
                        "upload started run {} ({})",
                        started["run_id"].as_str().unwrap_or("?"),
                        started["execution_arn"].as_str().unwrap_or("?")
                    ));
                }
            }
            Some(Err(error)) => note(&format!("an upload started no run: {error}")),
            None => {}
        }
    }
}
