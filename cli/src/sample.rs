//! `finetune sample`: a small valid dataset (`shared::sample`) in the format a model and type take, to
//! try the pipeline with.

use crate::choices;
use crate::output::{CliError, Exit, Stdout, note};
use crate::validate::absolute;
use clap::Args;
use serde::Serialize;
use shared::CustomizationType;
use shared::sample::{Plan, Task};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct SampleArgs {
    /// `classification` (support tickets and their category) or `qa` (word problems with a numeric answer).
    #[arg(long, value_name = "TASK", value_parser = choices::task())]
    pub task: Task,
    /// How many records (default 100, or the model's minimum when higher).
    #[arg(long, value_name = "N")]
    pub records: Option<u64>,
    /// The base model whose format the records take (default amazon.nova-micro-v1:0:128k).
    #[arg(long, value_name = "MODEL_ID", default_value = "amazon.nova-micro-v1:0:128k")]
    pub model: String,
    /// Customization type (default FINE_TUNING).
    #[arg(long = "type", value_name = "TYPE", default_value = "FINE_TUNING", value_parser = choices::customization_type())]
    pub kind: CustomizationType,
    /// Seed: the same seed gives the same records.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Where to write it (a `.jsonl` file); stdout when not given.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With --out: print what was written as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `sample --json`.
#[derive(Serialize)]
struct Written {
    file: String,
    records: u64,
    bytes: u64,
    model: &'static str,
    customization_type: CustomizationType,
    format: &'static str,
    task: &'static str,
}

pub fn sample(args: SampleArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let plan = Plan::new(&args.model, args.kind, args.task, args.records, args.seed).map_err(|e| {
        CliError::usage(e.to_string()).with_hint("`finetune models` lists the models, their types and record limits")
    })?;
    let Some(path) = &args.out else {
        if args.json {
            return Err(CliError::usage("--json describes the file written: give --out FILE too"));
        }
        out.text(&plan.to_jsonl())?;
        return Ok(Exit::Success);
    };
    if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
        return Err(CliError::usage(format!(
            "{}: write the sample to a .jsonl file: only those start the pipeline when uploaded",
            path.display()
        )));
    }
    let written = std::fs::File::create(path)
        .and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            let n = plan.write(&mut w)?;
            w.flush()?;
            Ok(n)
        })
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
    note(&format!(
        "wrote {} {} records for {} ({}, {}) to {}; try `finetune run {} --model {} --type {}`",
        plan.records,
        plan.task.as_str(),
        plan.model.id,
        plan.customization.kind,
        plan.format().as_str(),
        path.display(),
        path.display(),
        plan.model.id,
        plan.customization.kind
    ));
    if args.json {
        out.json(&Written {
            file: absolute(path),
            records: plan.records,
            bytes: written,
            model: plan.model.id,
            customization_type: plan.customization.kind,
            format: plan.format().as_str(),
            task: plan.task.as_str(),
        })?;
    }
    Ok(Exit::Success)
}
