//! `report.html` on AWS: when teardown has written the run's summary, the page a person opens
//! (`shared::html_report`) is rendered from what the bucket and the run's documents hold — the job's
//! loss CSVs under `runs/<id>/output/` (`shared::loss_csv`'s names), the evaluation's
//! `predictions.jsonl`, the summary teardown just wrote and the run document Finalize received — and
//! put beside `report.json` as `runs/<id>/report.html`. `finetune report RUN --stack NAME` fetches it.
//!
//! The timeline is the execution's own history (GetExecutionHistory, mapped by `shared::outcome::sfn`
//! as the CLI maps it), built into the page exactly as `finetune run` builds the local one. The
//! execution's ARN comes from the input (Finalize's `$$.Execution.Id`, the event's `executionArn`),
//! so it is read only when it names an execution of this stack's state machine (`STATE_MACHINE_ARN`;
//! IAM allows no other either). When the history cannot be read (refused, throttled, too long, no
//! ARN), the timeline falls back to phases from the documents' own times, and the page says so and why.
//!
//! Best effort: a page that cannot be rendered or written is logged and never fails the teardown
//! (the clean-up and the summary matter more than the page).

use crate::Deps;
use crate::notify::Notifier;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use functions_common::Clock;
use shared::html_report::{self, TimelineEntry};
use shared::loss_csv::LossKind;
use shared::outcome::page::{PageSources, report_input};
use shared::outcome::sfn::{HistoryError, MAX_HISTORY_PAGES, PAGE_SIZE};
use shared::outcome::{EventKind, ExecutionEvent, ExecutionStatus, RunOutcome, RunSources, latest_document};
use shared::pipeline::{Outcome, RunDocument, layout};
use shared::summary::RunSummary;
use std::collections::BTreeSet;
use std::time::Duration;

/// The whole read at most, retries included: the page must not hold up the teardown (its timeout is
/// 120 s).
pub const HISTORY_TIME_LIMIT: Duration = Duration::from_secs(30);

/// The run a page is written for, as teardown's entry knows it.
pub struct Page<'a> {
    pub run_id: &'a str,
    pub bucket: Option<&'a str>,
    /// The run document Finalize received (absent for the event entry).
    pub document: Option<&'a RunDocument>,
    /// The execution's ARN as the input gave it: not yet checked.
    pub execution_arn: Option<&'a str>,
}

/// Where the page's timeline comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Timeline {
    /// The execution's history (so far, when Finalize writes the page from inside the execution).
    History(Vec<ExecutionEvent>),
    /// The history could not be read, and why: phases from the documents' own times.
    Approximate { why: String },
}

/// After teardown's pass: once the summary is written (the wait loop over), the page is written
/// too; a failure is logged, never returned.
pub async fn after<C: Clock, N: Notifier>(
    deps: &Deps<C, N>,
    result: &shared::pipeline::TeardownResult,
    page: &Page<'_>,
) {
    let run_id = page.run_id;
    let Some(bucket) = page.bucket.filter(|_| !result.summary_uri.is_empty()) else { return };
    let timeline = match read_history(&deps.sfn, deps.state_machine_arn.as_deref(), page.execution_arn).await {
        Ok(events) => Timeline::History(events),
        Err(why) => {
            tracing::warn!(
                run_id,
                why,
                "report.html: the execution's history was not read; the timeline is approximate"
            );
            Timeline::Approximate { why }
        }
    };
    let now_ms =
        deps.clock.now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    match write(&deps.s3, bucket, run_id, page.document, &timeline, now_ms).await {
        Ok(uri) => tracing::info!(run_id, page = uri, "report.html written"),
        Err(why) => tracing::warn!(run_id, why, "report.html not written"),
    }
}

/// The history of `execution_arn`, every page (at most [`MAX_HISTORY_PAGES`], within
/// [`HISTORY_TIME_LIMIT`]), in neutral form; or why not. Only an execution of `state_machine_arn` is
/// asked for: the ARN comes from the input.
pub async fn read_history(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: Option<&str>,
    execution_arn: Option<&str>,
) -> Result<Vec<ExecutionEvent>, String> {
    let arn = execution_arn.ok_or("teardown's input named no execution (Finalize passes $$.Execution.Id)")?;
    let machine = state_machine_arn.ok_or("teardown's environment variable STATE_MACHINE_ARN is not set")?;
    if !shared::aws::is_execution_of(machine, arn) {
        let shown: String = arn.chars().take(200).collect();
        return Err(format!("{shown:?} is not an execution of this stack's state machine {machine}; not read"));
    }
    tokio::time::timeout(HISTORY_TIME_LIMIT, history_or_why(sfn, arn)).await.unwrap_or_else(|_| {
        Err(format!("GetExecutionHistory {arn} took longer than {} s", HISTORY_TIME_LIMIT.as_secs()))
    })
}

async fn history_or_why(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<Vec<ExecutionEvent>, String> {
    shared::outcome::sfn::read_history(sfn, arn).await.map_err(|e| match e {
        HistoryError::Call(e) => match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("GetExecutionHistory {arn}: {code}: {message}"),
            _ => format!("GetExecutionHistory {arn}: {}", aws_sdk_sfn::error::DisplayErrorContext(&*e)),
        },
        HistoryError::TooLong => {
            format!("the history of {arn} is longer than {MAX_HISTORY_PAGES} pages of {PAGE_SIZE} events")
        }
    })
}

/// Renders and uploads the page; returns its S3 URI, or why it was not written.
pub async fn write(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    run_id: &str,
    document: Option<&RunDocument>,
    timeline: &Timeline,
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
        timeline,
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
    timeline: &Timeline,
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
    let end = ExecutionEvent {
        at_ms: now_ms,
        kind: EventKind::ExecutionEnded {
            status,
            error: summary.error.as_ref().map(|e| e.error.clone()),
            cause: summary.error.as_ref().map(|e| e.cause.clone()),
            output: None,
        },
    };
    let (history, note) = match timeline {
        Timeline::History(events) => (ended(events, end, now_ms), None),
        // Finalize was entered with the run document: the outcome reads the job, the deployment, the
        // config and the training estimate from it, as it does from a full history.
        Timeline::Approximate { why } => (
            vec![
                ExecutionEvent {
                    at_ms: now_ms,
                    kind: EventKind::StateEntered {
                        name: "Finalize".to_string(),
                        input: document.and_then(|d| serde_json::to_value(d).ok()),
                    },
                },
                end,
            ],
            Some(format!(
                "Approximate timeline, from the run's own documents: the execution's history could not be read ({why})."
            )),
        ),
    };
    // The event entry has no run document: the history's is the run's as it last stood.
    let from_history: Option<RunDocument> = match timeline {
        Timeline::History(_) if document.is_none() => latest_document(&history),
        _ => None,
    };
    let document = document.or(from_history.as_ref());
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
    if note.is_some() {
        let mut phases = document.map(phases).unwrap_or_default();
        phases.extend(input.timeline);
        input.timeline = phases;
        input.timeline_note = note;
    }
    html_report::render(&input)
}

/// The history as the page tells it. Read by Finalize, it is the history of an execution still
/// running, in the state that invoked teardown: that state's visit ends now (the page is teardown's
/// last act) and the execution with the summary's status, as it will end. A history that ended (the
/// event entry's) is told as it is.
fn ended(events: &[ExecutionEvent], end: ExecutionEvent, now_ms: i64) -> Vec<ExecutionEvent> {
    let mut history = events.to_vec();
    if events.iter().any(|e| matches!(e.kind, EventKind::ExecutionEnded { .. })) {
        return history;
    }
    let last = events.iter().rposition(|e| matches!(e.kind, EventKind::StateEntered { .. }));
    if let Some(i) = last
        && let EventKind::StateEntered { name, .. } = &events[i].kind
        && !events[i + 1..].iter().any(|e| matches!(&e.kind, EventKind::StateExited { name: n, .. } if n == name))
    {
        history
            .push(ExecutionEvent { at_ms: now_ms, kind: EventKind::StateExited { name: name.clone(), output: None } });
    }
    history.push(end);
    history
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
    use aws_sdk_sfn::operation::get_execution_history::{GetExecutionHistoryError, GetExecutionHistoryOutput};
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use fixtures::{BUCKET, Poll, RUN_ID};
    use shared::pipeline::DeploymentMode;
    use shared::summary::Trigger;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:finetune-pipeline";

    fn succeeded_run() -> (RunDocument, RunSummary) {
        let doc = RunDocument {
            job: Some(fixtures::job_polled(Poll::Ready)),
            deployment: Some(fixtures::deployment_polled(DeploymentMode::OnDemand, Poll::Ready)),
            outcome: Some(Outcome::Succeeded),
            ..fixtures::after_validate_split(true)
        };
        let summary = RunSummary::new(RUN_ID, Outcome::Succeeded, Trigger::StateMachine, "2026-01-02T03:04:05Z".into())
            .with_document(&doc);
        (doc, summary)
    }

    fn at(at_ms: i64, kind: EventKind) -> ExecutionEvent {
        ExecutionEvent { at_ms, kind }
    }

    #[test]
    fn without_the_history_the_page_shows_the_documents_phases_and_says_why() {
        let (doc, summary) = succeeded_run();
        let csv_key = format!("{}job-1/{}", layout::output_prefix(RUN_ID), LossKind::Training.path());
        let keys: BTreeSet<String> = [csv_key, layout::predictions_key(RUN_ID)].into_iter().collect();
        let training = "step_number,epoch_number,training_loss,perplexity\n0,0,2.5,12\n1,0,2.0,7\n2,1,1.5,4\n";
        let predictions = r#"{"prompt":"where is order 7?","reference":"shipped","base":{"answer":"unknown"},"custom":{"answer":"it shipped"}}"#;
        let denied = Timeline::Approximate { why: "AccessDeniedException: not authorized <here>".into() };
        let html = render(
            &summary,
            Some(&doc),
            &denied,
            &keys,
            BUCKET,
            Some(training),
            None,
            Some(predictions),
            1_767_000_000_000,
        );
        assert!(html.contains("data-series=\"training\" data-points=\"3\""), "the loss curve is drawn");
        assert!(html.contains("it shipped") && html.contains("where is order 7?"), "the example is shown");
        assert!(html.contains("SUCCEEDED"));
        let job = fixtures::job_polled(Poll::Ready);
        let rows = fixtures::edit::timeline_rows(&html);
        assert!(
            rows[0].0.starts_with(&format!("Training job {}", job.job_name)),
            "the job is on the timeline: {rows:?}"
        );
        assert_eq!(rows.last().map(|r| r.0.as_str()), Some("Finalize"));
        assert!(html.contains("id=\"timeline-note\">Approximate timeline"), "the page says it is approximate");
        assert!(html.contains("AccessDeniedException: not authorized &lt;here&gt;"), "and why, escaped");
        // Without a curve the page still renders, saying so rather than drawing nothing.
        let bare = render(&summary, None, &denied, &BTreeSet::new(), BUCKET, None, None, None, 0);
        assert!(!bare.contains("data-series=\"training\""));
        assert!(bare.contains(RUN_ID));
    }

    #[test]
    fn with_the_history_the_timeline_is_the_executions_states_as_the_local_page_shows_them() {
        let (doc, summary) = succeeded_run();
        let entered = |name: &str, input| EventKind::StateEntered { name: name.into(), input };
        let exited = |name: &str| EventKind::StateExited { name: name.into(), output: None };
        // What Finalize reads: the execution so far, in Finalize.
        let document = serde_json::to_value(&doc).unwrap();
        let history = vec![
            at(0, EventKind::ExecutionStarted { input: None }),
            at(1_000, entered("ValidateSplit", None)),
            at(1_000, EventKind::TaskScheduled),
            at(4_000, exited("ValidateSplit")),
            at(4_000, entered("StartJob", None)),
            at(6_000, exited("StartJob")),
            at(6_000, entered("WaitForJob", None)),
            at(606_000, exited("WaitForJob")),
            at(606_000, entered("Finalize", Some(document))),
            at(606_000, EventKind::TaskScheduled),
        ];
        let html = render(
            &summary,
            Some(&doc),
            &Timeline::History(history.clone()),
            &BTreeSet::new(),
            BUCKET,
            None,
            None,
            None,
            609_500,
        );
        let rows = fixtures::edit::timeline_rows(&html);
        let expected = [("ValidateSplit", "3s"), ("StartJob", "2s"), ("WaitForJob", "10m 00s"), ("Finalize", "3.5s")];
        let rows: Vec<(&str, &str)> = rows.iter().map(|(s, d)| (s.as_str(), d.as_str())).collect();
        assert_eq!(rows, expected, "every state entered, with its duration; Finalize ends as the page is written");
        assert!(!html.contains("timeline-note") && !html.contains("Training job"), "no approximation");
        assert!(html.contains("SUCCEEDED"), "the summary's status, as the execution will end");

        // The event entry reads a history that ended: told as it is, the run document taken from it.
        let mut aborted = history[..8].to_vec();
        aborted.push(at(7_000, entered("CheckJob", Some(serde_json::to_value(&doc).unwrap()))));
        aborted.push(at(
            9_000,
            EventKind::ExecutionEnded { status: ExecutionStatus::Aborted, error: None, cause: None, output: None },
        ));
        let summary = RunSummary { execution_status: Some("ABORTED".into()), ..summary };
        let html =
            render(&summary, None, &Timeline::History(aborted), &BTreeSet::new(), BUCKET, None, None, None, 20_000);
        let rows = fixtures::edit::timeline_rows(&html);
        assert_eq!(rows.last(), Some(&("CheckJob".to_string(), "running".to_string())), "{rows:?}");
        assert!(html.contains("ABORTED"));
        assert!(html.contains(&doc.run.config.base_model), "the config is the history's document's");
    }

    fn event(id: i64, kind: HistoryEventType, state: Option<(&str, bool)>) -> HistoryEvent {
        let mut e = HistoryEvent::builder().id(id).timestamp(DateTime::from_millis(1000 * id)).r#type(kind);
        if let Some((name, entered)) = state {
            e = if entered {
                e.state_entered_event_details(StateEnteredEventDetails::builder().name(name).build().unwrap())
            } else {
                e.state_exited_event_details(StateExitedEventDetails::builder().name(name).build().unwrap())
            };
        }
        e.build().unwrap()
    }

    fn execution() -> String {
        shared::aws::execution_arn(MACHINE, RUN_ID)
    }

    #[tokio::test]
    async fn the_history_is_read_page_by_page_with_its_data() {
        let arn = execution();
        let wanted = arn.clone();
        let first = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(move |r| {
                r.execution_arn() == Some(wanted.as_str())
                    && r.include_execution_data() == Some(true)
                    && r.next_token().is_none()
            })
            .then_output(|| {
                GetExecutionHistoryOutput::builder()
                    .events(event(1, HistoryEventType::TaskStateEntered, Some(("StartJob", true))))
                    .next_token("page-2")
                    .build()
                    .unwrap()
            });
        let second = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                GetExecutionHistoryOutput::builder()
                    .events(event(2, HistoryEventType::TaskStateExited, Some(("StartJob", false))))
                    .events(event(3, HistoryEventType::LambdaFunctionStarted, None))
                    .build()
                    .unwrap()
            });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&first, &second]);
        let events = read_history(&sfn, Some(MACHINE), Some(&arn)).await.unwrap();
        assert_eq!(events.len(), 2, "both pages, without the kinds an outcome does not need: {events:?}");
        assert_eq!(events[1], at(2_000, EventKind::StateExited { name: "StartJob".into(), output: None }));
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_foreign_or_missing_execution_is_never_asked_for_and_a_refusal_is_the_reason() {
        let any = mock!(aws_sdk_sfn::Client::get_execution_history)
            .then_output(|| GetExecutionHistoryOutput::builder().set_events(Some(vec![])).build().unwrap());
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&any]);
        let foreign = "arn:aws:states:us-east-1:123456789012:execution:someone-elses-machine:run";
        let why = read_history(&sfn, Some(MACHINE), Some(foreign)).await.unwrap_err();
        assert!(why.contains("is not an execution of this stack's state machine"), "{why}");
        let why = read_history(&sfn, None, Some(&execution())).await.unwrap_err();
        assert!(why.contains("STATE_MACHINE_ARN is not set"), "{why}");
        let why = read_history(&sfn, Some(MACHINE), None).await.unwrap_err();
        assert!(why.contains("named no execution"), "{why}");
        assert_eq!(any.num_calls(), 0, "nothing was read");

        let denied = mock!(aws_sdk_sfn::Client::get_execution_history).then_error(|| {
            GetExecutionHistoryError::generic(
                aws_sdk_sfn::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("User: teardown is not authorized to perform: states:GetExecutionHistory")
                    .build(),
            )
        });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&denied]);
        let why = read_history(&sfn, Some(MACHINE), Some(&execution())).await.unwrap_err();
        assert!(why.starts_with("GetExecutionHistory arn:aws:states:"), "{why}");
        assert!(why.contains("AccessDeniedException: User: teardown is not authorized"), "{why}");
    }

    #[tokio::test]
    async fn a_history_that_never_ends_is_read_a_bounded_number_of_pages() {
        let endless = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
            GetExecutionHistoryOutput::builder().set_events(Some(vec![])).next_token("more").build().unwrap()
        });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&endless]);
        let why = read_history(&sfn, Some(MACHINE), Some(&execution())).await.unwrap_err();
        assert!(why.contains("longer than 25 pages"), "{why}");
        assert_eq!(endless.num_calls(), MAX_HISTORY_PAGES);
    }
}
