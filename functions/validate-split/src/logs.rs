//! DISTILLATION from invocation logs (`training_source: invocation_logs`): Bedrock trains on the model
//! invocation logs under the operator's location; the uploaded file is the run's evaluation set, held
//! out whole (nothing is split). Before anything is spent the logs are listed (their keys and ETags go
//! into the run's fingerprint, so a scheduled run retrains when they change) and read: the prompts the
//! run's filters keep are counted (none, or more than Bedrock takes, fails the run here) and their
//! tokens priced for the cost cap. Objects are read one at a time as streams (gzip decoded on the fly),
//! one record in memory at a time.

use crate::Deps;
use crate::objects::ObjectInfo;
use crate::prepare::{Parts, invalid_cause, refuse_oversized};
use crate::stream::{self, ChunkReader};
use functions_common::SdkResultExt;
use shared::catalogue::Model;
use shared::invocation_logs::{self as logs, LogScan};
use shared::pipeline::{
    DatasetSource, PipelineConfig, PipelineError, PreparedData, PreparedRun, TrainingSource, config_invalid, layout,
};
use shared::report::SplitSummary;
use shared::split::SplitConfig;
use shared::split_stream::StreamSplit;
use shared::validate::{self, FileRole};

/// Errors quoted in an invalid run's cause.
const CAUSE_ERRORS: usize = 5;

/// The log objects under the operator's location, as listed.
#[derive(Debug, Clone)]
pub(crate) struct LogListing {
    /// `s3://bucket/prefix/`: what Bedrock is given.
    pub uri: String,
    pub bucket: String,
    /// (key, ETag as S3 returned it, size)
    pub objects: Vec<(String, String, Option<u64>)>,
}

impl LogListing {
    /// The digest folded into the run's fingerprint.
    pub fn digest(&self) -> String {
        logs::listing_digest(self.objects.iter().map(|(k, e, _)| (k.as_str(), e.as_str())))
    }
}

/// Lists the log objects under the operator's location (`config.invocation_logs_s3_uri`); none is
/// refused here, with where it looked.
pub(crate) async fn list(deps: &Deps, config: &PipelineConfig) -> Result<LogListing, PipelineError> {
    let uri = config.invocation_logs_s3_uri.clone().ok_or_else(|| {
        PipelineError::ConfigInvalid(
            "training_source: `invocation_logs` needs the template parameter InvocationLogsBucket".to_string(),
        )
    })?;
    let (bucket, prefix) = layout::parse_s3_uri(&uri).ok_or_else(|| {
        PipelineError::ConfigInvalid(format!("invocation_logs_s3_uri: `{uri}` is not s3://bucket/prefix/"))
    })?;
    let mut pages = deps.s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.or_pipeline("ListObjectsV2 (invocation logs)")?;
        for object in page.contents.unwrap_or_default() {
            let Some(key) = object.key else { continue };
            if logs::is_log_key(&key) {
                let size = object.size.and_then(|n| u64::try_from(n).ok());
                objects.push((key, object.e_tag.unwrap_or_default(), size));
            }
        }
    }
    if objects.is_empty() {
        return Err(PipelineError::DatasetInvalid(format!(
            "no invocation log objects (.json.gz, .json, .jsonl) under {uri}: turn on model invocation logging to \
             S3 with this bucket and prefix (Bedrock writes AWSLogs/<account>/BedrockModelInvocationLogs/...), or \
             use training_source `dataset`"
        )));
    }
    let bucket = bucket.to_string();
    Ok(LogListing { uri, bucket, objects })
}

/// Reads every listed log object (one at a time, streamed) and counts the prompts the filters keep.
async fn scan(
    deps: &Deps,
    listing: &LogListing,
    config: &PipelineConfig,
    model: &Model,
) -> Result<LogScan, PipelineError> {
    let sources: Vec<stream::Source> = listing
        .objects
        .iter()
        .map(|(key, etag, size)| stream::Source {
            bucket: listing.bucket.clone(),
            key: key.clone(),
            if_match: (!etag.is_empty()).then(|| etag.clone()),
            size: *size,
            what: "invocation log",
        })
        .collect();
    let keys: Vec<String> = listing.objects.iter().map(|(k, _, _)| k.clone()).collect();
    let readers: Vec<ChunkReader> =
        stream::spawn_reads(deps.s3.clone(), sources, deps.streaming).into_iter().map(ChunkReader::new).collect();
    let options = config.invocation_logs.clone().unwrap_or_default();
    let estimate = model.tokens;
    let task = tokio::task::spawn_blocking(move || -> Result<LogScan, PipelineError> {
        let mut scan = LogScan::default();
        let filters = options.request_metadata_filters.as_ref();
        for (mut reader, key) in readers.into_iter().zip(keys) {
            scan.objects += 1;
            let read = logs::decoded(&mut reader).and_then(|decoded| {
                logs::for_each_record(decoded, |record| {
                    scan.add(record, filters, options.use_prompt_response, &estimate)
                })
                .map_err(std::io::Error::other)
            });
            if let Some(e) = reader.error.take() {
                return Err(e); // S3's error, not the data's.
            }
            if read.is_err() {
                // Not JSON or not gzip: Bedrock skips what it cannot read; the count says so.
                scan.unreadable_objects += 1;
                scan.first_unreadable.get_or_insert(key);
            }
        }
        Ok(scan)
    });
    task.await.map_err(|e| PipelineError::Internal(format!("the log scan failed: {e}")))?
}

/// The run from invocation logs: the logs counted, the uploaded file validated as the evaluation set and
/// written whole as `validation.jsonl`, the report, the cost cap.
pub(crate) async fn prepare_logs_run(
    deps: &Deps,
    run_id: &str,
    source: DatasetSource,
    object: &ObjectInfo,
    config: PipelineConfig,
    listing: LogListing,
) -> Result<PreparedRun, PipelineError> {
    let run_id = run_id.to_string();
    let dataset_uri = layout::s3_uri(&source.bucket, &source.key);
    let mut opts = crate::prepare::run_options(&config)?;
    let model = opts.model;
    opts.role = FileRole::Validation;
    refuse_oversized(&opts, FileRole::Validation, &dataset_uri, object.size)?;

    let scan = scan(deps, &listing, &config, model).await?;
    tracing::info!(%run_id, objects = scan.objects, records = scan.records, prompts = scan.prompts, "invocation logs read");
    if let Some(why) = scan.refusal(&listing.uri) {
        return Err(PipelineError::DatasetInvalid(why));
    }

    // The evaluation set: every record to the validation side, none trains.
    let bucket = &source.bucket;
    let read = stream::Source {
        bucket: bucket.clone(),
        key: source.key.clone(),
        if_match: (!object.raw_etag.is_empty()).then(|| object.raw_etag.clone()),
        size: object.size,
        what: "evaluation set",
    };
    let streaming = deps.streaming;
    let mut reader = stream::spawn_reads(deps.s3.clone(), vec![read], streaming).into_iter().map(ChunkReader::new);
    let target = stream::Target {
        bucket: bucket.clone(),
        key: layout::validation_key(&run_id),
        content_type: "application/jsonl",
    };
    let (tx, upload) = stream::spawn_upload(deps.s3.clone(), target.clone(), streaming);
    let split = SplitConfig { validation_ratio: 0.0, seed: config.seed, max_validation: None };
    let reader = reader.next();
    let blocking_opts = opts.clone();
    let task = tokio::task::spawn_blocking(move || -> Result<_, PipelineError> {
        let mut reader = reader.ok_or_else(|| PipelineError::Internal("no evaluation set stream".into()))?;
        let sink = Parts { senders: [None, Some(tx)] };
        let mut split = StreamSplit::new(sink, &split, true, streaming.part_size, None);
        let report = validate::validate_reader(&mut reader, &blocking_opts, |record| split.validation_record(record))
            .map_err(|e| {
            reader.error.take().unwrap_or_else(|| PipelineError::Internal(format!("reading the dataset: {e}")))
        })?;
        let (mut finished, mut sink, error) = split.finish();
        if error.is_none()
            && let Some(tx) = sink.senders[1].take()
        {
            // A closed upload already failed; its error is reported below.
            let _ = tx.blocking_send(stream::Chunk::Last(std::mem::take(&mut finished.validation_tail)));
        }
        Ok((report, finished.validation_records, error))
    });
    let outcome = task.await.map_err(|e| PipelineError::Internal(format!("the validation task failed: {e}")));
    let staged = upload.await.map_err(|e| PipelineError::Internal(format!("an upload task failed: {e}")));
    let (mut report, held_out, stopped) = match outcome.and_then(|o| o) {
        Ok(out) => out,
        Err(e) => {
            if let Ok(Ok(staged)) = staged {
                staged.discard(&deps.s3, &target).await;
            }
            return Err(e);
        }
    };
    let staged = match (staged.and_then(|s| s), stopped) {
        (Ok(staged), None) => staged,
        (Ok(staged), Some(e)) => {
            staged.discard(&deps.s3, &target).await;
            return Err(PipelineError::Internal(e.to_string()));
        }
        (Err(e), _) => return Err(e),
    };

    report.file = Some(dataset_uri.clone());
    report.split = Some(SplitSummary {
        train_records: scan.prompts,
        validation_records: held_out,
        seed: config.seed,
        validation_ratio: 1.0,
        strategy: "invocation_logs".to_string(),
        duplicate_groups: 0,
    });
    if let Some(basis) = report.cost_basis.as_mut() {
        // Bedrock trains on the logged prompts, not on the uploaded file.
        basis.training_tokens = scan.tokens;
        report.estimated_cost_usd =
            Some(basis.training_tokens as f64 * basis.epochs as f64 * basis.price_per_1k_tokens_usd / 1000.0);
    }
    report.invocation_logs = Some(scan.clone());

    let report_key = layout::report_key(&run_id);
    let report_uri = layout::s3_uri(bucket, &report_key);
    let report_target = stream::Target { bucket: bucket.clone(), key: report_key, content_type: "application/json" };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| PipelineError::Internal(format!("the report: {e}")));
    let written = match json {
        Ok(json) => stream::put_run_object(&deps.s3, &report_target, json.into()).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        staged.discard(&deps.s3, &target).await;
        return Err(e);
    }
    let cost_problem = match &deps.caps {
        Ok(caps) if report.valid => caps.cost_problem(report.estimated_cost_usd, &config.base_model),
        Ok(_) => None,
        Err(e) => {
            staged.discard(&deps.s3, &target).await;
            return Err(e.clone());
        }
    };
    if let Some(problem) = cost_problem {
        staged.discard(&deps.s3, &target).await;
        return Err(config_invalid(&[problem]).map_message(|m| format!("{m}; report: {report_uri}")));
    }
    let committed = report.valid && held_out > 0;
    if committed {
        staged.commit(&deps.s3, &target).await?;
    } else {
        staged.discard(&deps.s3, &target).await;
    }
    let cause = (!report.valid).then(|| invalid_cause(&report, &dataset_uri, &report_uri));
    let data = PreparedData {
        bucket: bucket.clone(),
        train_uri: listing.uri.clone(),
        training_source: TrainingSource::InvocationLogs,
        validation_uri: committed.then(|| layout::s3_uri(bucket, &target.key)),
        report_uri,
        train_records: scan.prompts,
        validation_records: held_out,
        training_tokens: scan.tokens,
        estimated_cost_usd: report.estimated_cost_usd,
        valid: report.valid,
        first_errors: report.first_errors(CAUSE_ERRORS),
        cause,
    };
    tracing::info!(%run_id, valid = data.valid, prompts = data.train_records, held_out, "prepared from invocation logs");
    Ok(PreparedRun { run_id, prepared: true, source, config, data })
}
