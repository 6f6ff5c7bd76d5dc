//! The run itself, for both entries: the effective configuration (defaults <- sidecar <- input), then
//! the dataset streamed through validation and the split (see [`crate::stream`]), and the split and
//! the report written under `runs/<run-id>/`. Nothing is written to the Lambda's disk.

use crate::Deps;
use crate::objects::{ObjectInfo, head};
use crate::stream::{self, ChunkReader};
use serde_json::Value;
use shared::catalogue::Provenance;
use shared::pipeline::{
    Caps, ConfigProblem, DatasetSource, PipelineConfig, PipelineError, PreparedData, PreparedRun, config_invalid,
    layout,
};
use shared::report::Report;
use shared::split::{Side, SplitConfig};
use shared::split_stream::{Finished, PartSink, SplitStreamError, StreamSplit, complete_report, side_name};
use shared::validate::{self, FileRole, Options};

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

/// The validation options for a run's config, with the epochs its job will train (for the cost
/// estimate).
pub(crate) fn run_options(config: &PipelineConfig) -> Result<Options, PipelineError> {
    let (_, customization) = config.check()?;
    let mut opts = Options::new(&config.base_model, config.customization_type)
        .map_err(|e| PipelineError::ConfigInvalid(e.to_string()))?;
    opts.epochs = Some(customization.epochs(config.hyperparameters.get("epochCount").map(String::as_str)));
    Ok(opts)
}

/// Streams the dataset (and the user's validation file) through validation and the split, writing the
/// split as multipart uploads under runs/<run-id>/ as it goes, and the report; completes the uploads
/// only for a valid dataset within the cost cap, and aborts them otherwise. An invalid dataset yields a
/// run with `valid: false` and its cause. A dataset larger than the model accepts is refused from HEAD
/// alone, before any byte is read.
pub(crate) async fn prepare_run(
    deps: &Deps,
    run_id: &str,
    source: DatasetSource,
    object: &ObjectInfo,
    config: PipelineConfig,
) -> Result<PreparedRun, PipelineError> {
    let run_id = run_id.to_string();
    let dataset_uri = layout::s3_uri(&source.bucket, &source.key);
    let opts = run_options(&config)?;
    refuse_oversized(&opts, FileRole::Dataset, &dataset_uri, object.size)?;
    let user_validation = user_validation(deps, &source, &config).await?;
    if let Some((key, info)) = &user_validation {
        refuse_oversized(&opts, FileRole::Validation, &layout::s3_uri(&source.bucket, key), info.size)?;
    }
    let split = SplitConfig {
        validation_ratio: config.validation_ratio,
        seed: config.seed,
        max_validation: opts.customization.records.max_validation.map(|f| f.value),
    };
    // The run's grader spec travels in its records: Bedrock hands each record's fields to the grader.
    let grader = match &config.grader {
        Some(spec) => Some(serde_json::to_string(spec).map_err(|e| PipelineError::Internal(e.to_string()))?),
        None => None,
    };

    let bucket = &source.bucket;
    let if_match = |etag: &str| (!etag.is_empty()).then(|| etag.to_string());
    let mut sources = vec![stream::Source {
        bucket: bucket.clone(),
        key: source.key.clone(),
        if_match: if_match(&object.raw_etag),
        size: object.size,
        what: "dataset",
    }];
    let validation_name = user_validation.as_ref().map(|(key, _)| layout::s3_uri(bucket, key));
    if let Some((key, info)) = &user_validation {
        sources.push(stream::Source {
            bucket: bucket.clone(),
            key: key.clone(),
            if_match: if_match(&info.raw_etag),
            size: info.size,
            what: "validation file",
        });
    }
    let streaming = deps.streaming;
    let mut readers = stream::spawn_reads(deps.s3.clone(), sources, streaming).into_iter().map(ChunkReader::new);
    let target = |key: String| stream::Target { bucket: bucket.clone(), key, content_type: "application/jsonl" };
    let targets = [target(layout::train_key(&run_id)), target(layout::validation_key(&run_id))];
    let (train_tx, train_task) = stream::spawn_upload(deps.s3.clone(), targets[0].clone(), streaming);
    let (validation_tx, validation_task) = stream::spawn_upload(deps.s3.clone(), targets[1].clone(), streaming);

    let (dataset, supplied) = (readers.next(), readers.next());
    let split_task = tokio::task::spawn_blocking(move || {
        let sink = Parts { senders: [Some(train_tx), Some(validation_tx)] };
        split_blocking(dataset, supplied, &opts, &split, streaming.part_size, grader, sink)
    });
    // Validation and the split are CPU-bound and synchronous; the transfers go on beside them.
    let outcome =
        split_task.await.map_err(|e| PipelineError::Internal(format!("the split task failed: {e}"))).and_then(|o| o);
    // Every upload ends (its parts sent, or aborted) before anything is decided.
    let mut upload_error = None;
    let mut files = [None, None];
    for (file, task) in files.iter_mut().zip([train_task, validation_task]) {
        match task.await {
            Ok(Ok(staged)) => *file = Some(staged),
            Ok(Err(e)) => {
                upload_error.get_or_insert(e);
            }
            Err(e) => {
                upload_error.get_or_insert(PipelineError::Internal(format!("an upload task failed: {e}")));
            }
        }
    }
    let staging = Staging { s3: &deps.s3, targets, files };
    let SplitOut { mut report, supplied, finished, error } = match outcome {
        Ok(out) => out,
        Err(e) => {
            staging.discard().await;
            return Err(e);
        }
    };
    match (&error, upload_error) {
        // An upload failed and the split stopped at its next part: the upload's error says why.
        (Some(SplitStreamError::Sink { .. }), upload_error) => {
            staging.discard().await;
            let stopped = error.map(|e| PipelineError::Internal(e.to_string()));
            return Err(upload_error
                .or(stopped)
                .unwrap_or_else(|| PipelineError::Internal("an upload stopped".into())));
        }
        (None, Some(upload_error)) => {
            staging.discard().await;
            return Err(upload_error);
        }
        // A grader error cancelled the uploads itself; it is reported below.
        _ => {}
    }
    complete_report(&mut report, supplied.as_ref().zip(validation_name.as_deref()), &finished, &split);
    // The report names the upload.
    report.file = Some(dataset_uri.clone());
    if let Some(e) = error
        && report.valid
    {
        // A record that cannot carry the grader spec (an invalid dataset is reported as such instead).
        staging.discard().await;
        return Err(PipelineError::ConfigInvalid(format!("grader: {e}")));
    }
    finish_run(deps, run_id, source, config, report, staging, dataset_uri).await
}

/// The report written, then the split committed (valid, within the cost cap) or discarded.
async fn finish_run(
    deps: &Deps,
    run_id: String,
    source: DatasetSource,
    config: PipelineConfig,
    report: Report,
    staging: Staging<'_>,
    dataset_uri: String,
) -> Result<PreparedRun, PipelineError> {
    let bucket = &source.bucket;
    let report_key = layout::report_key(&run_id);
    let report_uri = layout::s3_uri(bucket, &report_key);
    let report_target = stream::Target { bucket: bucket.clone(), key: report_key, content_type: "application/json" };
    let json = match serde_json::to_vec_pretty(&report) {
        Ok(json) => json,
        Err(e) => {
            staging.discard().await;
            return Err(PipelineError::Internal(format!("the report: {e}")));
        }
    };
    if let Err(e) = stream::put_run_object(&deps.s3, &report_target, json.into()).await {
        staging.discard().await;
        return Err(e);
    }
    // The cost is known only now, from the dataset's tokens; beyond the cap nothing more is written.
    let cost_problem = match &deps.caps {
        Ok(caps) if report.valid => caps.cost_problem(report.estimated_cost_usd, &config.base_model),
        Ok(_) => None,
        Err(e) => {
            staging.discard().await;
            return Err(e.clone());
        }
    };
    if let Some(problem) = cost_problem {
        staging.discard().await;
        return Err(config_invalid(&[problem]).map_message(|m| format!("{m}; report: {report_uri}")));
    }
    let split = report.split.as_ref();
    let wrote_validation = split.is_some_and(|s| s.validation_records > 0);
    let train_uri = layout::s3_uri(bucket, &staging.targets[0].key);
    let validation_uri = (report.valid && wrote_validation).then(|| layout::s3_uri(bucket, &staging.targets[1].key));
    if report.valid {
        staging.commit(wrote_validation).await?;
    } else {
        staging.discard().await;
    }

    let cause = (!report.valid).then(|| invalid_cause(&report, &dataset_uri, &report_uri));
    let data = PreparedData {
        training_source: Default::default(),
        bucket: bucket.clone(),
        train_uri,
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

/// A dataset (or validation file) larger than the model accepts, from its size alone: refused before any
/// byte is read. Only a documented limit refuses (an unverified one is a warning in the report).
pub(crate) fn refuse_oversized(
    opts: &Options,
    role: FileRole,
    uri: &str,
    size: Option<u64>,
) -> Result<(), PipelineError> {
    let files = opts.customization.files;
    let (limit, what) = match role {
        FileRole::Dataset => (files.train_bytes, "training"),
        FileRole::Validation => (files.validation_bytes, "validation"),
    };
    match (size, limit) {
        (Some(size), Some(limit)) if size > limit.value && limit.provenance == Provenance::Documented => {
            Err(PipelineError::DatasetInvalid(format!(
                "{uri} is {size} bytes ({}); {} ({}) accepts {what} files of at most {} bytes ({}): split it into \
                 several runs or remove records. Nothing was read",
                human_bytes(size),
                opts.model.name,
                opts.model.id,
                limit.value,
                human_bytes(limit.value),
            )))
        }
        _ => Ok(()),
    }
}

fn human_bytes(n: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if n as f64 >= GIB { format!("{:.2} GiB", n as f64 / GIB) } else { format!("{:.1} MiB", n as f64 / MIB) }
}

/// What the blocking split hands back.
struct SplitOut {
    report: Report,
    /// The user's validation file's own report.
    supplied: Option<Report>,
    finished: Finished,
    /// Why the split stopped early, if it did (the reports are still complete).
    error: Option<SplitStreamError>,
}

/// Validates and splits the dataset, then the user's validation file, as their chunks arrive.
fn split_blocking(
    dataset: Option<ChunkReader>,
    supplied: Option<ChunkReader>,
    opts: &Options,
    config: &SplitConfig,
    part_size: usize,
    grader: Option<String>,
    sink: Parts,
) -> Result<SplitOut, PipelineError> {
    let read_error = |reader: &mut ChunkReader, e: std::io::Error| {
        reader.error.take().unwrap_or_else(|| PipelineError::Internal(format!("reading the dataset: {e}")))
    };
    let mut dataset = dataset.ok_or_else(|| PipelineError::Internal("no dataset stream".into()))?;
    let mut split = StreamSplit::new(sink, config, supplied.is_some(), part_size, grader);
    let report = validate::validate_reader(&mut dataset, opts, |record| split.record(record))
        .map_err(|e| read_error(&mut dataset, e))?;
    let supplied = match supplied {
        Some(mut reader) => {
            let opts = Options { role: FileRole::Validation, ..opts.clone() };
            let report = validate::validate_reader(&mut reader, &opts, |record| split.validation_record(record))
                .map_err(|e| read_error(&mut reader, e))?;
            Some(report)
        }
        None => None,
    };
    let (mut finished, mut sink, error) = split.finish();
    if error.is_none() {
        // Without these the uploads abort themselves when the senders are dropped.
        let tails = [std::mem::take(&mut finished.train_tail), std::mem::take(&mut finished.validation_tail)];
        for (sender, tail) in sink.senders.iter_mut().zip(tails) {
            if let Some(tx) = sender.take() {
                // A closed upload already failed; its error is reported.
                let _ = tx.blocking_send(stream::Chunk::Last(tail));
            }
        }
    }
    Ok(SplitOut { report, supplied, finished, error })
}

/// The split's parts, to the two upload tasks.
pub(crate) struct Parts {
    pub senders: [Option<tokio::sync::mpsc::Sender<stream::Chunk>>; 2],
}

impl PartSink for Parts {
    fn part(&mut self, side: Side, bytes: Vec<u8>) -> std::io::Result<()> {
        let i = usize::from(side == Side::Validation);
        let sent = self.senders[i].as_ref().map(|tx| tx.blocking_send(stream::Chunk::Part(bytes)));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(std::io::Error::other(format!("the upload of the {} file stopped", side_name(side)))),
        }
    }
}

/// The two split files, staged: committed together, or discarded together.
struct Staging<'a> {
    s3: &'a aws_sdk_s3::Client,
    targets: [stream::Target; 2],
    files: [Option<stream::Staged>; 2],
}

impl Staging<'_> {
    /// The train file always; the validation file when it has records (else it is discarded).
    async fn commit(self, with_validation: bool) -> Result<(), PipelineError> {
        let [train, validation] = self.files;
        let [train_target, validation_target] = &self.targets;
        let Some(train) = train else {
            return Err(PipelineError::Internal("the train file was not staged".into()));
        };
        if let Err(e) = train.commit(self.s3, train_target).await {
            if let Some(v) = validation {
                v.discard(self.s3, validation_target).await;
            }
            return Err(e);
        }
        match validation {
            Some(v) if with_validation => v.commit(self.s3, validation_target).await,
            Some(v) => {
                v.discard(self.s3, validation_target).await;
                Ok(())
            }
            None if with_validation => Err(PipelineError::Internal("the validation file was not staged".into())),
            None => Ok(()),
        }
    }

    async fn discard(self) {
        for (file, target) in self.files.into_iter().zip(&self.targets) {
            if let Some(file) = file {
                file.discard(self.s3, target).await;
            }
        }
    }
}

/// The user's validation file, if any: the config's `validation_file`, else `<name>.validation.jsonl`
/// beside the dataset when it exists; `None`: the split holds records out. Its key and HEAD.
async fn user_validation(
    deps: &Deps,
    source: &DatasetSource,
    config: &PipelineConfig,
) -> Result<Option<(String, ObjectInfo)>, PipelineError> {
    let bucket = &source.bucket;
    let found = match &config.validation_file {
        Some(file) => {
            let key = layout::validation_file_key(bucket, file).ok_or_else(|| {
                PipelineError::ConfigInvalid(format!(
                    "validation_file: `{file}` is in another bucket; put it under incoming/ in {bucket}"
                ))
            })?;
            match head(deps, bucket, key).await? {
                Some(info) => (key.to_string(), info),
                None => {
                    return Err(PipelineError::ConfigInvalid(format!(
                        "validation_file: {} does not exist",
                        layout::s3_uri(bucket, key)
                    )));
                }
            }
        }
        None => {
            let beside = layout::validation_beside(&source.key);
            match head(deps, bucket, &beside).await? {
                Some(info) => (beside, info),
                None => return Ok(None),
            }
        }
    };
    tracing::info!(validation = %layout::s3_uri(bucket, &found.0), "the user's validation file is used instead of a split");
    Ok(Some(found))
}

/// `dataset s3://… is invalid (12 errors): line 3: …; line 9: …; report: s3://…`
pub(crate) fn invalid_cause(report: &Report, dataset_uri: &str, report_uri: &str) -> String {
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
