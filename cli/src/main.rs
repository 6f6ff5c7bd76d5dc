//! `finetune`: validate and prepare Amazon Bedrock customization datasets, and run the whole pipeline on
//! the local cloud.
//!
//! Exit codes follow the aws CLI's habit: 0 valid, 1 invalid, 2 usage error (bad flags, unknown model,
//! unreadable file).

mod run;
mod summary;

use clap::{Args, Parser, Subcommand};
use shared::CustomizationType;
use shared::prepare::{self, PrepareError};
use shared::split::SplitConfig;
use shared::validate::{self, Options};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "finetune",
    version,
    about = "Amazon Bedrock model customization: validate and prepare datasets, run the whole pipeline on a local cloud"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a JSON Lines dataset against a model's rules, as Bedrock would.
    Validate {
        #[command(flatten)]
        target: Target,
        /// Print one JSON object (the report) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Validate, then write DIR/train.jsonl, DIR/validation.jsonl and DIR/report.json.
    Prepare {
        #[command(flatten)]
        target: Target,
        /// Output folder (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Share of records held out for validation, 0 to below 1.
        #[arg(long, value_name = "R", default_value_t = 0.1)]
        validation_ratio: f64,
        /// Seed of the split: the same seed and data give the same split.
        #[arg(long, value_name = "N", default_value_t = 42)]
        seed: u64,
        /// Use this validation file as is (validated, normalized) instead of holding records out.
        #[arg(long, value_name = "FILE")]
        validation_file: Option<PathBuf>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },

    /// Run the whole pipeline on the local cloud (no AWS account; Bedrock is emulated).
    Run {
        /// The JSON Lines dataset; it is uploaded to the local bucket's incoming/ folder.
        file: PathBuf,
        /// Base model id (default: the local defaults, amazon.nova-micro-v1:0:128k).
        #[arg(long, value_name = "MODEL_ID")]
        model: Option<String>,
        /// Customization type (default FINE_TUNING).
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<CustomizationType>,
        /// A pipeline config JSON (fields of the pipeline config), uploaded as the dataset's sidecar.
        #[arg(long, value_name = "PIPELINE_JSON")]
        config: Option<PathBuf>,
        /// Bedrock faults to inject, e.g. `throttle=0.3,seed=7`, `job-failed`, `quota`.
        #[arg(long, value_name = "SPEC")]
        fault: Option<String>,
        /// Where the local cloud keeps its data.
        #[arg(long, value_name = "DIR", default_value = ".local-cloud")]
        data_dir: PathBuf,
        /// Print one JSON object instead of progress and a summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct Target {
    /// The JSON Lines dataset.
    file: PathBuf,
    /// Base model id, e.g. amazon.nova-micro-v1:0:128k (with or without the :128k suffix).
    #[arg(long, value_name = "MODEL_ID")]
    model: String,
    /// FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION or REINFORCEMENT_FINE_TUNING (any case, hyphens ok).
    #[arg(long = "type", value_name = "TYPE", default_value = "FINE_TUNING")]
    kind: CustomizationType,
}

impl Target {
    fn options(&self) -> Result<Options, String> {
        Options::new(&self.model, self.kind).map_err(|e| e.to_string())
    }
}

const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(valid) => ExitCode::from(if valid { 0 } else { 1 }),
        Err(message) => {
            eprintln!("finetune: {message}");
            ExitCode::from(USAGE)
        }
    }
}

/// Ok(valid) for a verdict; Err for a usage problem.
fn run(cli: Cli) -> Result<bool, String> {
    match cli.command {
        Command::Validate { target, json } => {
            let opts = target.options()?;
            let report = validate::validate_path(&target.file, &opts)
                .map_err(|e| format!("cannot read {}: {e}", target.file.display()))?;
            if json {
                println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            } else {
                print!("{}", summary::render(&report, &opts));
            }
            Ok(report.valid)
        }
        Command::Prepare { target, out, validation_ratio, seed, validation_file, json } => {
            let opts = target.options()?;
            let config = SplitConfig { validation_ratio, seed, max_validation: None };
            let prepared = prepare::prepare_file(&target.file, &opts, &config, validation_file.as_deref(), &out)
                .map_err(|e: PrepareError| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string(&prepared.report).map_err(|e| e.to_string())?);
            } else {
                print!("{}", summary::render(&prepared.report, &opts));
                print!("{}", summary::outputs(&prepared, &out));
            }
            Ok(prepared.report.valid)
        }
        Command::Run { file, model, kind, config, fault, data_dir, json } => {
            run::run(run::RunArgs { file, model, kind, config, fault, json, data_dir })
        }
    }
}
