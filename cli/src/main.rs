//! `finetune`: Amazon Bedrock model customization. Validate a dataset as Bedrock would, prepare it
//! (normalized, split), run the whole pipeline (train, deploy, evaluate, tear down) on a local cloud
//! with an emulated Bedrock, and list the models that can be customized.
//!
//! Every command writes through `output` (streams, exit status, errors, JSON, progress: see its
//! module documentation and README's "Command-line conventions").

mod choices;
mod help;
mod models;
mod ops;
mod output;
mod presets;
mod report;
mod run;
mod sample;
mod summary;
mod validate;

use clap::{Parser, Subcommand};
use output::{CliError, Exit, Stdout};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "finetune",
    version,
    about = "Amazon Bedrock model customization: validate and prepare datasets, and run the whole pipeline \
             (train, deploy, evaluate, tear down) on a local cloud",
    after_help = help::MAIN
)]
struct Cli {
    /// Show no progress and no notes on stderr (errors are still shown).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a JSON Lines dataset against a model's rules, as Bedrock would.
    #[command(after_help = help::VALIDATE)]
    Validate(validate::ValidateArgs),
    /// Validate, then write DIR/train.jsonl, DIR/validation.jsonl and DIR/report.json.
    #[command(after_help = help::PREPARE)]
    Prepare(validate::PrepareArgs),
    /// Run the whole pipeline on the local cloud (no AWS account; Bedrock is emulated).
    #[command(after_help = help::RUN)]
    Run(run::RunArgs),
    /// List the base models that can be customized: ids, types, limits, regions, deployment options.
    #[command(after_help = help::MODELS)]
    Models(models::ModelsArgs),
    /// The local cloud as a server: `finetune local serve`.
    Local(ops::LocalArgs),
    /// Validate, then upload a dataset under incoming/ of a stack (--stack) or local cloud (--local).
    #[command(after_help = ops::help::SUBMIT)]
    Submit(ops::submit::SubmitArgs),
    /// List the runs (executions) of a stack or local cloud.
    #[command(after_help = ops::help::RUNS)]
    Runs(ops::runs::RunsArgs),
    /// One run's outcome so far; --watch follows it live.
    #[command(after_help = ops::help::STATUS)]
    Status(ops::runs::StatusArgs),
    /// Stop a run (teardown then removes what it deployed).
    #[command(after_help = ops::help::STOP)]
    Stop(ops::runs::StopArgs),
    /// A run's training and validation loss, from Bedrock's metric files.
    #[command(after_help = ops::help::METRICS)]
    Metrics(ops::metrics::MetricsArgs),
    /// Ask a model one prompt (a run's deployment, an ARN, or a base model).
    #[command(after_help = ops::help::ASK)]
    Ask(ops::ask::AskArgs),
    /// A tuned model and its base, side by side on a file of prompts.
    #[command(after_help = ops::help::COMPARE)]
    Compare(ops::ask::CompareArgs),
    /// What a run spent and what still bills.
    #[command(after_help = ops::help::COST)]
    Cost(ops::cost::CostArgs),
    /// Show the hyperparameters each preset (conservative, moderate, aggressive) sends for a model.
    #[command(after_help = help::PRESETS)]
    Presets(presets::PresetsArgs),
    /// Write a small valid dataset (support tickets or word problems) in the format a model takes.
    #[command(after_help = help::SAMPLE)]
    Sample(sample::SampleArgs),
    /// Print where a run's report.html is (a local run, or fetched from --stack/--local), or open it.
    #[command(after_help = help::REPORT)]
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    output::set_quiet(cli.quiet);
    let mut out = Stdout::new();
    let result = dispatch(cli, &mut out).and_then(|exit| out.flush().map(|()| exit));
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            let text = error.render();
            if !text.is_empty() {
                output::diagnostic(&text);
            }
            error.exit.into()
        }
    }
}

fn dispatch(cli: Cli, out: &mut Stdout) -> Result<Exit, CliError> {
    match cli.command {
        Command::Validate(args) => validate::validate(args, out),
        Command::Prepare(args) => validate::prepare(args, out),
        Command::Run(args) => run::run(args, out),
        Command::Models(args) => models::models(args, out),
        Command::Local(ops::LocalArgs { command: ops::LocalCommand::Serve(args) }) => ops::serve::serve(args, out),
        Command::Submit(args) => ops::submit::submit(args, out),
        Command::Runs(args) => ops::runs::runs(args, out),
        Command::Status(args) => ops::runs::status(args, out),
        Command::Stop(args) => ops::runs::stop(args, out),
        Command::Metrics(args) => ops::metrics::metrics(args, out),
        Command::Ask(args) => ops::ask::ask(args, out),
        Command::Compare(args) => ops::ask::compare(args, out),
        Command::Cost(args) => ops::cost::cost(args, out),
        Command::Presets(args) => presets::presets(args, out),
        Command::Sample(args) => sample::sample(args, out),
        Command::Report(args) => report::report(args, out),
    }
}

/// clap's own output (help and version on stdout, usage errors on stderr with exit 2), without
/// panicking on a closed stream.
fn clap_exit(error: &clap::Error) -> ExitCode {
    match error.print() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::ClosedOutput.into(),
        _ => ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(Exit::Usage.code())),
    }
}
