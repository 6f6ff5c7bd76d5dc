//! The run itself, for both entries: the effective configuration (defaults <- sidecar <- input), then
//! the dataset downloaded, validated and split, and the split and the report uploaded under
//! `runs/<run-id>/`.

use crate::Deps;
use crate::objects::{download, head, upload_file};
use serde_json::Value;
use shared::pipeline::{
    Caps, ConfigProblem, DatasetSource, PipelineConfig, PipelineError, PreparedData, PreparedRun, config_invalid,
    layout,
};
use shared::prepare::{self, REPORT_FILE};
use shared::report::Report;
use shared::split::SplitConfig;
use shared::validate::Options;

/// Errors quoted in an invalid run's cause.
const CAUSE_ERRORS: usize = 5;
/// Longest error message quoted in a cause (Step Functions caps a cause at 32,768 characters).
const CAUSE_MESSAGE_CHARS: usize = 300;

/// Defaults <- sidecar <- input, settled (the model's deployment, the preset's hyperparameters, the
/// default teacher: what the run will do, written into its document), checked against the catalogue and
/// the operator's caps. Every problem is listed in one `ConfigInvalid`: a field only the operator sets,
/// tags beyond their bounds, a merge that fails, a value the catalogue refuses, a request beyond a cap
/// (naming the field, the value, the cap and its template parameter).
pub(crate) fn effective_config(
    defaults: &Result<PipelineConfig, PipelineError>,
    caps: &Result<Caps, PipelineError>,
    sidecar: Option<&Value>,
    input: Option<&Value>,
) -> Result<PipelineConfig, PipelineError> {
    let mut config = defaults.clone()?;
    let caps = caps.clone()?;
    let mut problems: Vec<ConfigProblem> = Vec::new();
    for (place, overrides) in [("the sidecar", sidecar), ("the input's `config`", input)] {
        let Some(overrides) = overrides else { continue };
        let refused = Caps::refused_overrides(overrides, place);
        if !refused.is_empty() {
            problems.extend(refused);
            continue;
        }
        match config.merge(overrides) {
            Ok(merged) => config = merged,
            Err(p) => problems.push(ConfigProblem { message: format!("{} (in {place})", p.message), ..p }),
        }
    }
    config.settle();
    if problems.is_empty() {
        problems.extend(config.problems().1);
        problems.extend(caps.problems(&config));
    }
    if problems.is_empty() { Ok(config) } else { Err(config_invalid(&problems)) }
}

/// Downloads, validates and splits the dataset, and uploads the split and the report under
/// runs/<run-id>/. An invalid dataset yields a run with `valid: false` and its cause.
pub(crate) async fn prepare_run(
    deps: &Deps,
    run_id: &str,
    source: DatasetSource,
    raw_etag: &str,
    config: PipelineConfig,
) -> Result<PreparedRun, PipelineError> {
    let run_id = run_id.to_string();
    let dataset_uri = layout::s3_uri(&source.bucket, &source.key);
    let work = tempfile::Builder::new().prefix("validate-split-").tempdir_in(&deps.work_dir).map_err(|e| {
        PipelineError::Internal(format!("cannot make a work folder in {}: {e}", deps.work_dir.display()))
    })?;
    let input = work.path().join("dataset.jsonl");
    download(deps, &source, raw_etag, &input).await?;
    let user_validation = user_validation(deps, &source, &config, work.path()).await?;

    let (_, customization) = config.check()?;
    let mut opts = Options::new(&config.base_model, config.customization_type)
        .map_err(|e| PipelineError::ConfigInvalid(e.to_string()))?;
    opts.epochs = Some(customization.epochs(config.hyperparameters.get("epochCount").map(String::as_str)));
    let split = SplitConfig { validation_ratio: config.validation_ratio, seed: config.seed, max_validation: None };
    let out_dir = work.path().join("out");
    let prepared = {
        let (input, out_dir) = (input.clone(), out_dir.clone());
        // Validation and the split are CPU-bound and synchronous.
        let user_validation = user_validation.clone();
        tokio::task::spawn_blocking(move || {
            prepare::prepare_file(&input, &opts, &split, user_validation.as_deref(), &out_dir)
        })
        .await
        .map_err(|e| PipelineError::Internal(format!("the split task failed: {e}")))?
        .map_err(|e| PipelineError::Internal(format!("preparing {dataset_uri}: {e}")))?
    };
    let mut report = prepared.report;
    // The report names the upload, not the Lambda's temporary copy.
    report.file = Some(dataset_uri.clone());
    let report_path = out_dir.join(REPORT_FILE);
    prepare::write_report(&report, &report_path).map_err(|e| PipelineError::Internal(e.to_string()))?;

    // The run's grader spec travels in its records: Bedrock hands each record's fields to the grader.
    let (train_file, validation_file) = match (&config.grader, report.valid) {
        (Some(spec), true) => (
            embedded(prepared.train.as_deref(), spec, "train")?,
            embedded(prepared.validation.as_deref(), spec, "validation")?,
        ),
        _ => (prepared.train.clone(), prepared.validation.clone()),
    };

    let bucket = &source.bucket;
    let report_key = layout::report_key(&run_id);
    let report_uri = layout::s3_uri(bucket, &report_key);
    upload_file(deps, bucket, &report_key, &report_path, "application/json").await?;
    // The cost is known only now, from the dataset's tokens; beyond the cap nothing more is written.
    if report.valid
        && let Some(problem) = deps.caps.clone()?.cost_problem(report.estimated_cost_usd, &config.base_model)
    {
        return Err(config_invalid(&[problem]).map_message(|m| format!("{m}; report: {report_uri}")));
    }
    let train_key = layout::train_key(&run_id);
    if let Some(train) = &train_file {
        upload_file(deps, bucket, &train_key, train, "application/jsonl").await?;
    }
    let validation_uri = match &validation_file {
        Some(path) => {
            let key = layout::validation_key(&run_id);
            upload_file(deps, bucket, &key, path, "application/jsonl").await?;
            Some(layout::s3_uri(bucket, &key))
        }
        None => None,
    };

    let cause = (!report.valid).then(|| invalid_cause(&report, &dataset_uri, &report_uri));
    let split = report.split.as_ref();
    let data = PreparedData {
        bucket: bucket.clone(),
        train_uri: layout::s3_uri(bucket, &train_key),
        validation_uri,
        report_uri,
        train_records: split.map_or(0, |s| s.train_records),
        validation_records: split.map_or(0, |s| s.validation_records),
        training_tokens: report.cost_basis.as_ref().map_or(report.tokens.total, |c| c.training_tokens),
        estimated_cost_usd: report.estimated_cost_usd,
        valid: report.valid,
        first_errors: report.first_errors(CAUSE_ERRORS),
        cause,
    };
    tracing::info!(%run_id, valid = data.valid, train = data.train_records, validation = data.validation_records, "prepared");
    Ok(PreparedRun { run_id, prepared: true, source, config, data })
}

/// `file` (a prepared split) with the grader spec in every record, beside it as `<name>.graded`.
fn embedded(
    file: Option<&std::path::Path>,
    spec: &shared::grader::GraderSpec,
    which: &str,
) -> Result<Option<std::path::PathBuf>, PipelineError> {
    let Some(file) = file else { return Ok(None) };
    let to = file.with_extension("graded.jsonl");
    shared::grader::embed_in_file(file, &to, spec).map_err(|(line, e)| match e {
        shared::grader::EmbedFileError::Record(e) => PipelineError::ConfigInvalid(format!(
            "grader: record {line} of the prepared {which} file cannot carry the run's grader spec: {e}"
        )),
        shared::grader::EmbedFileError::Io(e) => PipelineError::Internal(e),
    })?;
    Ok(Some(to))
}

/// The user's validation file, downloaded: the config's `validation_file`, else
/// `<name>.validation.jsonl` beside the dataset when it exists; `None`: the split holds records out.
async fn user_validation(
    deps: &Deps,
    source: &DatasetSource,
    config: &PipelineConfig,
    work: &std::path::Path,
) -> Result<Option<std::path::PathBuf>, PipelineError> {
    let bucket = &source.bucket;
    let key = match &config.validation_file {
        Some(file) => {
            let key = layout::validation_file_key(bucket, file).ok_or_else(|| {
                PipelineError::ConfigInvalid(format!(
                    "validation_file: `{file}` is in another bucket; put it under incoming/ in {bucket}"
                ))
            })?;
            if head(deps, bucket, key).await?.is_none() {
                return Err(PipelineError::ConfigInvalid(format!(
                    "validation_file: {} does not exist",
                    layout::s3_uri(bucket, key)
                )));
            }
            key.to_string()
        }
        None => {
            let beside = layout::validation_beside(&source.key);
            if head(deps, bucket, &beside).await?.is_none() {
                return Ok(None);
            }
            beside
        }
    };
    let path = work.join("validation-upload.jsonl");
    let file = DatasetSource { bucket: bucket.clone(), key: key.clone(), etag: String::new() };
    download(deps, &file, "", &path).await?;
    tracing::info!(validation = %layout::s3_uri(bucket, &key), "the user's validation file is used instead of a split");
    Ok(Some(path))
}

/// `dataset s3://… is invalid (12 errors): line 3: …; line 9: …; report: s3://…`
fn invalid_cause(report: &Report, dataset_uri: &str, report_uri: &str) -> String {
    let errors: Vec<String> = report
        .first_errors(CAUSE_ERRORS)
        .into_iter()
        .map(|e| {
            if e.chars().count() > CAUSE_MESSAGE_CHARS {
                e.chars().take(CAUSE_MESSAGE_CHARS).collect::<String>() + "…"
            } else {
                e
            }
        })
        .collect();
    let count = report.error_count.max(errors.len() as u64);
    let noun = if count == 1 { "error" } else { "errors" };
    format!("dataset {dataset_uri} is invalid ({count} {noun}): {}; report: {report_uri}", errors.join("; "))
}
