//! `finetune validate` and `finetune prepare`: a dataset judged as Bedrock would, and its split.

use crate::choices;
use crate::output::{CliError, Exit, Stdout, note};
use crate::summary;
use clap::Args;
use serde::Serialize;
use shared::CustomizationType;
use shared::convert;
use shared::prepare::{self, PrepareError};
use shared::presets::{self, Preset};
use shared::report::Report;
use shared::split::SplitConfig;
use shared::validate::{self, Options};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct Target {
    /// The JSON Lines dataset.
    pub file: PathBuf,
    /// Base model id, e.g. amazon.nova-micro-v1:0:128k (with or without the :128k suffix);
    /// `finetune models` lists them.
    #[arg(long, value_name = "MODEL_ID")]
    pub model: String,
    /// Customization type (any case, hyphens ok).
    #[arg(long = "type", value_name = "TYPE", default_value = "FINE_TUNING", value_parser = choices::customization_type())]
    pub kind: CustomizationType,
}

impl Target {
    fn options(&self) -> Result<Options, CliError> {
        Options::new(&self.model, self.kind).map_err(|e| CliError::usage(e.to_string()))
    }
}

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print the report as one JSON object (README: "validate --json").
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PrepareArgs {
    #[command(flatten)]
    pub target: Target,
    /// Output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Share of records held out for validation, 0 to below 1.
    #[arg(long, value_name = "R", default_value_t = 0.1)]
    pub validation_ratio: f64,
    /// Seed of the split: the same seed and data give the same split.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Use this validation file as is (validated, normalized) instead of holding records out.
    #[arg(long, value_name = "FILE")]
    pub validation_file: Option<PathBuf>,
    /// Hyperparameter preset the cost estimate assumes (default moderate); `finetune presets MODEL`.
    #[arg(long, value_name = "PRESET", value_parser = choices::preset())]
    pub preset: Option<Preset>,
    /// Print the report and the files written as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `prepare --json`: the report's keys, then where the files went.
#[derive(Serialize)]
struct PrepareOutput<'a> {
    #[serde(flatten)]
    report: &'a Report,
    outputs: Outputs,
}

/// Absolute paths; `null` for a file not written (an invalid dataset gets only the report).
#[derive(Serialize)]
struct Outputs {
    train: Option<String>,
    validation: Option<String>,
    report: String,
}

pub fn validate(args: ValidateArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let opts = args.target.options()?;
    let file = &args.target.file;
    let mut report = validate::validate_path(file, &opts).map_err(|e| CliError::unreadable(file, &e))?;
    if args.json {
        report.file = Some(absolute(file));
        out.json(&report)?;
    } else {
        out.text(&summary::render(&report, &opts))?;
    }
    Ok(Exit::verdict(report.valid))
}

pub fn prepare(args: PrepareArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let mut opts = args.target.options()?;
    // The estimate trains as many epochs as the run would send.
    let resolved = presets::resolve(opts.model, opts.customization, args.preset, &Default::default());
    opts.epochs = Some(opts.customization.epochs(resolved.hyperparameters.get("epochCount").map(String::as_str)));
    if let Some(preset) = resolved.preset {
        let sent: Vec<String> = resolved.hyperparameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let sent = if sent.is_empty() { "none (Bedrock sets them)".to_string() } else { sent.join(", ") };
        note(&format!("preset `{preset}`: hyperparameters {sent}"));
    }
    let config = SplitConfig { validation_ratio: args.validation_ratio, seed: args.seed, max_validation: None };
    let file = &args.target.file;
    // A JSON array is converted to JSON Lines beside the outputs (removed afterwards), never in place.
    let converted = convert_if_array(file, &args.out)?;
    let input = converted.as_ref().map_or(file.as_path(), |c| c.path());
    let mut prepared = prepare::prepare_file(input, &opts, &config, args.validation_file.as_deref(), &args.out)
        .map_err(|e| match e {
            PrepareError::Read { path, source } => CliError::unreadable(&path, &source),
            PrepareError::Write { path, source } => {
                CliError::failure(format!("cannot write {}: {source}", path.display()))
            }
            other => CliError::usage(other.to_string()),
        })?;
    // The report names the user's file, not the converted copy.
    prepared.report.file = Some(absolute(file));
    if args.json {
        let outputs = Outputs {
            train: prepared.train.as_deref().map(absolute),
            validation: prepared.validation.as_deref().map(absolute),
            report: absolute(&args.out.join(prepare::REPORT_FILE)),
        };
        out.json(&PrepareOutput { report: &prepared.report, outputs })?;
    } else {
        out.text(&summary::render(&prepared.report, &opts))?;
        out.text(&summary::outputs(&prepared, &args.out))?;
    }
    Ok(Exit::verdict(prepared.report.valid))
}

/// When `file` is one JSON array, its records as JSON Lines in a temporary file in `out_dir`, and a note
/// saying so on stderr; `None` for anything else (the validator judges it).
fn convert_if_array(file: &Path, out_dir: &Path) -> Result<Option<tempfile::NamedTempFile>, CliError> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let mut reader = std::fs::File::open(file).map_err(|e| CliError::unreadable(file, &e))?;
    let read = reader.read(&mut head).map_err(|e| CliError::unreadable(file, &e))?;
    if !convert::looks_like_json_array(&head[..read]) {
        return Ok(None);
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", out_dir.display())))?;
    let mut converted = tempfile::Builder::new()
        .prefix(".converted-")
        .suffix(".jsonl")
        .tempfile_in(out_dir)
        .map_err(|e| CliError::failure(format!("cannot write in {}: {e}", out_dir.display())))?;
    let source = std::fs::File::open(file).map_err(|e| CliError::unreadable(file, &e))?;
    let done =
        convert::array_to_jsonl(source, std::io::BufWriter::new(converted.as_file_mut())).map_err(|e| match e {
            convert::ConvertError::Io(io) => CliError::unreadable(file, &io),
            other => CliError::usage(format!("{}: {other}", file.display()))
                .with_hint("a dataset is JSON Lines (one object per line) or one JSON array of objects"),
        })?;
    note(&format!("{}: {}", file.display(), done.note()));
    Ok(Some(converted))
}

/// The path made absolute (not resolving links), as every `--json` gives paths; a path that is not
/// UTF-8 is shown with replacement characters.
pub fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}
