//! `report.html` on AWS: when teardown has written the run's summary, the page a person opens
//! (`shared::html_report`) is rendered from what the bucket and the run's documents hold — the job's
//! loss CSVs under `runs/<id>/output/` (`shared::loss_csv`'s names), the evaluation's
//! `predictions.jsonl`, the summary teardown just wrote and the run document Finalize received — and
//! put beside `report.json` as `runs/<id>/report.html`. `finetune report RUN --stack NAME` fetches it.
//!
//! Teardown has no Step Functions client (and needs none for its work), so the timeline is built
//! from the documents' own times: the training job from its start for as long as its polls saw it,
//! the deployment likewise, then Finalize. `finetune run` on the local cloud writes the page again
//! from the execution's full history.
//!
//! Best effort: a page that cannot be rendered or written is logged and never fails the teardown
//! (the clean-up and the summary matter more than the page).

use aws_sdk_s3::primitives::ByteStream;
use shared::html_report::{self, TimelineEntry};
use shared::loss_csv::LossKind;
use shared::outcome::page::{PageSources, report_input};
use shared::outcome::{EventKind, ExecutionEvent, ExecutionStatus, RunOutcome, RunSources};
use shared::pipeline::{Outcome, RunDocument, layout};
use shared::summary::RunSummary;
use std::collections::BTreeSet;

/// After teardown's pass: once the summary is written (the wait loop over), the page is written
/// too; a failure is logged, never returned.
pub async fn after(
    s3: &aws_sdk_s3::Client,
    result: &shared::pipeline::TeardownResult,
    bucket: Option<&str>,
    run_id: &str,
    document: Option<&RunDocument>,
    now: std::time::SystemTime,
) {
    let Some(bucket) = bucket.filter(|_| !result.summary_uri.is_empty()) else { return };
    let now_ms = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    match write(s3, bucket, run_id, document, now_ms).await {
        Ok(uri) => tracing::info!(run_id, page = uri, "report.html written"),
        Err(why) => tracing::warn!(run_id, why, "report.html not written"),
    }
}

/// Renders and uploads the page; returns its S3 URI, or why it was not written.
pub async fn write(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    run_id: &str,
    document: Option<&RunDocument>,
    now_ms: i64,
) -> Result<String, String> {
    let summary: RunSummary = serde_json::from_slice(
        &read(s3, bucket, &layout::summary_key(run_id)).await?.ok_or("the run's summary.json is not there")?,
    )
    .map_err(|e| format!("summary.json: {e}"))?;
    let keys = list(s3, bucket, &layout::run_prefix(run_id)).await?;
    let find = |kind: LossKind| {
        let wanted = format!("/{}", kind.path());
        keys.iter().find(|k| k.starts_with(&layout::output_prefix(run_id)) && k.ends_with(&wanted)).cloned()
    };
    let text = |bytes: Option<Vec<u8>>| bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
    let training = match find(LossKind::Training) {
        Some(key) => text(read(s3, bucket, &key).await?),
        None => None,
    };
    let validation = match find(LossKind::Validation) {
        Some(key) => text(read(s3, bucket, &key).await?),
        None => None,
    };
    let predictions_key = layout::predictions_key(run_id);
    let predictions =
        if keys.contains(&predictions_key) { text(read(s3, bucket, &predictions_key).await?) } else { None };

    let page = render(
        &summary,
        document,
        &keys,
        bucket,
        training.as_deref(),
        validation.as_deref(),
        predictions.as_deref(),
        now_ms,
    );
    let key = layout::html_report_key(run_id);
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("text/html; charset=utf-8")
        .body(ByteStream::from(page.into_bytes()))
        .send()
        .await
        .map_err(|e| format!("PutObject s3://{bucket}/{key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
    Ok(layout::s3_uri(bucket, &key))
}

/// The page, pure: what [`write`] read, made into one HTML document.
#[allow(clippy::too_many_arguments)]
pub fn render(
    summary: &RunSummary,
    document: Option<&RunDocument>,
    keys: &BTreeSet<String>,
    bucket: &str,
    training_csv: Option<&str>,
    validation_csv: Option<&str>,
    predictions: Option<&str>,
    now_ms: i64,
) -> String {
    let status = match (summary.status, summary.execution_status.as_deref()) {
        (Outcome::Succeeded, _) => ExecutionStatus::Succeeded,
        (_, Some("ABORTED")) => ExecutionStatus::Aborted,
        (_, Some("TIMED_OUT")) => ExecutionStatus::TimedOut,
        _ => ExecutionStatus::Failed,
    };
    // Finalize was entered with the run document: the outcome reads the job, the deployment, the
    // config and the training estimate from it, as it does from a full history.
    let history = [
        ExecutionEvent {
            at_ms: now_ms,
            kind: EventKind::StateEntered {
                name: "Finalize".to_string(),
                input: document.and_then(|d| serde_json::to_value(d).ok()),
            },
        },
        ExecutionEvent {
            at_ms: now_ms,
            kind: EventKind::ExecutionEnded {
                status,
                error: summary.error.as_ref().map(|e| e.error.clone()),
                cause: summary.error.as_ref().map(|e| e.cause.clone()),
                output: None,
            },
        },
    ];
    let locate = |key: &str| {
        let present = if key.ends_with('/') { keys.iter().any(|k| k.starts_with(key)) } else { keys.contains(key) };
        present.then(|| layout::s3_uri(bucket, key))
    };
    let outcome = RunOutcome::build(&RunSources {
        run_id: &summary.run_id,
        history: &history,
        summary: Some(summary),
        locate: &locate,
        notifications: None,
        emulated: false,
        validation: None,
        virtual_clock: false,
        live: None,
    });
    let config = document.map(|d| &d.run.config);
    let mut input = report_input(&PageSources {
        outcome: &outcome,
        config,
        dataset: summary.dataset.clone(),
        training_csv,
        validation_csv,
        predictions,
        generated_at: shared::aws::rfc3339_millis(now_ms),
    });
    if input.base_model.is_empty() {
        input.base_model = summary.base_model.clone().unwrap_or_default();
    }
    let mut timeline = document.map(phases).unwrap_or_default();
    timeline.extend(input.timeline);
    input.timeline = timeline;
    html_report::render(&input)
}

/// The run's phases before Finalize, from the documents' own times.
fn phases(document: &RunDocument) -> Vec<TimelineEntry> {
    let mut phases = Vec::new();
    if let Some(job) = &document.job {
        phases.push(TimelineEntry {
            state: format!("Training job {} ({})", job.job_name, job.status.raw_status),
            entered: job.started_at.clone(),
            duration_seconds: Some(job.status.elapsed_seconds as f64),
        });
    }
    if let Some(d) = &document.deployment {
        phases.push(TimelineEntry {
            state: format!("{} ({})", d.mode.as_str(), d.status.raw_status),
            entered: d.started_at.clone(),
            duration_seconds: Some(d.status.elapsed_seconds as f64),
        });
    }
    phases
}

async fn read(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => object
            .body
            .collect()
            .await
            .map(|b| Some(b.into_bytes().to_vec()))
            .map_err(|e| format!("reading s3://{bucket}/{key}: {e}")),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
        Err(e) => Err(format!("GetObject s3://{bucket}/{key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e))),
    }
}

async fn list(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<BTreeSet<String>, String> {
    let mut keys = BTreeSet::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!("ListObjectsV2 s3://{bucket}/{prefix}: {}", aws_sdk_s3::error::DisplayErrorContext(&e))
        })?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::{BUCKET, Poll, RUN_ID};
    use shared::pipeline::DeploymentMode;
    use shared::summary::Trigger;

    #[test]
    fn the_page_shows_the_jobs_curves_the_examples_and_the_documents_timeline() {
        let doc = RunDocument {
            job: Some(fixtures::job_polled(Poll::Ready)),
            deployment: Some(fixtures::deployment_polled(DeploymentMode::OnDemand, Poll::Ready)),
            outcome: Some(Outcome::Succeeded),
            ..fixtures::after_validate_split(true)
        };
        let summary = RunSummary::new(RUN_ID, Outcome::Succeeded, Trigger::StateMachine, "2026-01-02T03:04:05Z".into())
            .with_document(&doc);
        let csv_key = format!("{}job-1/{}", layout::output_prefix(RUN_ID), LossKind::Training.path());
        let keys: BTreeSet<String> = [csv_key, layout::predictions_key(RUN_ID)].into_iter().collect();
        let training = "step_number,epoch_number,training_loss,perplexity\n0,0,2.5,12\n1,0,2.0,7\n2,1,1.5,4\n";
        let predictions = r#"{"prompt":"where is order 7?","reference":"shipped","base":{"answer":"unknown"},"custom":{"answer":"it shipped"}}"#;
        let html =
            render(&summary, Some(&doc), &keys, BUCKET, Some(training), None, Some(predictions), 1_767_000_000_000);
        assert!(html.contains("data-series=\"training\" data-points=\"3\""), "the loss curve is drawn");
        assert!(html.contains("it shipped") && html.contains("where is order 7?"), "the example is shown");
        assert!(html.contains("SUCCEEDED"));
        let job = fixtures::job_polled(Poll::Ready);
        assert!(html.contains(&format!("Training job {}", job.job_name)), "the job is on the timeline");
        assert!(html.contains("Finalize"));
        // Without a curve the page still renders, saying so rather than drawing nothing.
        let bare = render(&summary, None, &BTreeSet::new(), BUCKET, None, None, None, 0);
        assert!(!bare.contains("data-series=\"training\""));
        assert!(bare.contains(RUN_ID));
    }
}
