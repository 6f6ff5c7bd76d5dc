//! teardown: the end of every run. Nothing billed by the hour outlives a failed run, and one summary
//! says how the run ended.
//!
//! Two inputs, told apart by shape:
//! - the run document from the state machine's Finalize (`FinalizeRequest`: the `RunDocument` with
//!   `outcome`, and the execution's ARN; a bare `RunDocument` is taken too). On `FAILED` it
//!   deletes the provisioned throughput or deployment (recorded in `$.deployment`, or found by the name
//!   derived from the run id when Provision failed before recording it), unless the quality gate failed
//!   and `evaluation.keep_on_gate_failure` is set, and stops the customization job if it is still
//!   `InProgress`. On `SUCCEEDED` it keeps everything.
//! - an EventBridge "Step Functions Execution Status Change" event (`ABORTED`, `TIMED_OUT`, `FAILED`)
//!   whose execution name gives the run id (`run_id_for_execution`, as validate-split derives it): the
//!   same clean-up by derived names, since Finalize never ran.
//!
//! Nothing is stopped or deleted before its run tag, read back from Bedrock, proves it this run's
//! ([`ownership`]); a foreign resource is listed in the summary's `failures` and left alone.
//!   A `FAILED` execution whose Finalize already wrote the summary is left as Finalize left it.
//!
//! Both write `runs/<id>/summary.json` and publish it to the topic in `TOPIC_ARN` (none set: not
//! notified). Idempotent: whatever is already gone is a note, never an error. A throttled or transient
//! failure fails the call before anything is written or published, so a retry does the whole job once.
//!
//! Once the summary is written, both write `runs/<id>/report.html` ([`report_html`]), its timeline
//! from the execution's history.
//!
//! Output: `TeardownResult` (at `$.teardown`).
//! Environment ([`Deps::from_env`], [`notify::SnsNotifier::from_env`]): `TOPIC_ARN` (optional), `BUCKET`
//! (for the event entry; otherwise taken from the execution input in the event), `STATE_MACHINE_ARN`
//! (the only state machine whose executions' histories teardown reads; unset: none).

mod actions;
pub mod notify;
pub mod ownership;
pub mod report_html;
pub mod wait;

use aws_sdk_s3::primitives::ByteStream;
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, format_rfc3339, s3_client};
use lambda_runtime::LambdaEvent;
use notify::Notifier;
use serde_json::Value;
use shared::pipeline::{
    CaughtError, DeploymentMode, FinalizeRequest, LastSuccess, Outcome, PipelineConfig, PipelineError, PreparedRun,
    RunDocument, StartRequest, TeardownProgress, TeardownResult, fingerprint, layout, names, run_id_for_execution,
};
use shared::summary::{RunSummary, Trigger};

/// The EventBridge detail-type of Step Functions status changes.
pub const STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// The execution statuses this entry cleans up after.
pub const ENDED_BADLY: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

/// Built once per Lambda instance.
pub struct Deps<C, N> {
    pub bedrock: aws_sdk_bedrock::Client,
    pub s3: aws_sdk_s3::Client,
    pub clock: C,
    pub notifier: N,
    /// Where summaries go when the input does not say (`BUCKET`).
    pub bucket: Option<String>,
    /// The execution's history, for report.html's timeline.
    pub sfn: aws_sdk_sfn::Client,
    /// The stack's state machine (`STATE_MACHINE_ARN`): an execution ARN from the input is read only
    /// when it is one of this machine's.
    pub state_machine_arn: Option<String>,
}

impl<C: Clock, N: Notifier> Deps<C, N> {
    /// The one wiring, for Lambda and the local cloud alike; the notifier is a port (SNS on AWS).
    pub fn from_env(sdk: &SdkConfig, env: &Env, clock: C, notifier: N) -> Deps<C, N> {
        Deps {
            bedrock: aws_sdk_bedrock::Client::new(sdk),
            s3: s3_client(sdk, env),
            clock,
            notifier,
            bucket: env.get("BUCKET"),
            sfn: aws_sdk_sfn::Client::new(sdk),
            state_machine_arn: env.get("STATE_MACHINE_ARN"),
        }
    }
}

/// The two entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Finalize {
        document: Box<RunDocument>,
        /// `$$.Execution.Id`, as the state machine passes it; unchecked.
        execution_arn: Option<String>,
    },
    Execution(ExecutionEvent),
}

/// What teardown needs from a status-change event.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionEvent {
    pub run_id: String,
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The execution input, when the event carries it (a prepared run or a start request).
    pub input: Option<Value>,
    /// `detail.executionArn`; unchecked.
    pub execution_arn: Option<String>,
}

pub fn parse_input(value: Value) -> Result<Input, PipelineError> {
    let is_event = value.get("detail-type").and_then(Value::as_str) == Some(STATUS_CHANGE)
        || (value.get("source").and_then(Value::as_str) == Some("aws.states") && value.get("detail").is_some());
    if !is_event {
        let neither = |e: serde_json::Error| {
            PipelineError::Internal(format!("teardown input is neither a run document nor an event: {e}"))
        };
        // Finalize's shape, `{document, execution_arn}`; a bare run document (a hand-made invocation) too.
        let request = if value.get("document").is_some() {
            serde_json::from_value::<FinalizeRequest>(value).map_err(neither)?
        } else {
            FinalizeRequest { document: serde_json::from_value(value).map_err(neither)?, execution_arn: None }
        };
        return Ok(Input::Finalize { document: Box::new(request.document), execution_arn: request.execution_arn });
    }
    let detail = &value["detail"];
    let text = |field: &str| detail.get(field).and_then(Value::as_str).map(str::to_string);
    // The run id derives from the execution name exactly as validate-split derived it.
    let run_id = text("name").filter(|n| !n.is_empty()).map(|n| run_id_for_execution(&n)).ok_or_else(|| {
        PipelineError::Internal("the execution status event has no detail.name (the execution name)".to_string())
    })?;
    Ok(Input::Execution(ExecutionEvent {
        run_id,
        status: text("status").unwrap_or_default(),
        error: text("error"),
        cause: text("cause"),
        // The input is a JSON string inside the event (absent when it was too large to include).
        input: text("input").and_then(|s| serde_json::from_str(&s).ok()),
        execution_arn: text("executionArn"),
    }))
}

pub async fn handler<C: Clock, N: Notifier>(
    deps: &Deps<C, N>,
    event: LambdaEvent<Value>,
) -> Result<TeardownResult, LambdaError> {
    Ok(teardown(deps, parse_input(event.payload)?).await?)
}

pub async fn teardown<C: Clock, N: Notifier>(deps: &Deps<C, N>, input: Input) -> Result<TeardownResult, PipelineError> {
    match input {
        Input::Finalize { document, execution_arn } => finalize(deps, &document, execution_arn.as_deref()).await,
        Input::Execution(event) => on_execution_event(deps, &event).await,
    }
}

/// What the clean-up acts on, from either entry.
struct Plan<'a> {
    run_id: &'a str,
    outcome: Outcome,
    config: Option<&'a PipelineConfig>,
    /// The job's ARN when recorded, else its derived name.
    job: String,
    deployment: actions::Target,
    /// Why the deployment is kept on a failed run, if it is.
    keep_reason: Option<String>,
    /// What an earlier pass of Finalize's wait loop did (see [`wait`]).
    previous: Option<&'a TeardownResult>,
    entry: wait::Entry,
}

async fn finalize<C: Clock, N: Notifier>(
    deps: &Deps<C, N>,
    doc: &RunDocument,
    execution_arn: Option<&str>,
) -> Result<TeardownResult, PipelineError> {
    let run_id = doc.run.run_id.as_str();
    let config = &doc.run.config;
    // Finalize always sets it; a hand-made input without it is judged by its error.
    let outcome = doc.outcome.unwrap_or(if doc.error.is_some() { Outcome::Failed } else { Outcome::Succeeded });
    // An inconclusive gate is no pass either: the same keep rule as a failed one.
    let gate_failed = doc
        .error
        .as_ref()
        .is_some_and(|e| e.error == PipelineError::GATE_FAILED || e.error == PipelineError::GATE_INCONCLUSIVE);
    let deployment = match &doc.deployment {
        Some(d) => match (&d.arn, d.mode) {
            (Some(arn), mode) => actions::Target::Recorded { mode, arn: arn.clone() },
            (None, _) => actions::Target::Nothing,
        },
        // Provision may have created it and failed before returning its reference.
        None => actions::Target::ByName(config.deployment),
    };
    let keep_reason = (gate_failed && config.evaluation.keep_on_gate_failure)
        .then(|| "kept after the quality gate failed (evaluation.keep_on_gate_failure)".to_string());
    let plan = Plan {
        run_id,
        outcome,
        config: Some(config),
        job: doc.job.as_ref().map_or_else(|| config.job_name(run_id), |j| j.job_arn.clone()),
        deployment,
        keep_reason,
        previous: doc.teardown.as_ref(),
        entry: wait::Entry::Finalize,
    };
    let summary =
        RunSummary::new(run_id, outcome, Trigger::StateMachine, format_rfc3339(deps.clock.now())).with_document(doc);
    if outcome == Outcome::Succeeded {
        // Before the summary: a retry after a failure below writes it again, harmlessly.
        record_success(deps, doc).await?;
    }
    let bucket = doc.run.data.bucket.as_str();
    let result = finish(deps, plan, summary, Some(bucket)).await?;
    let page = report_html::Page { run_id, bucket: Some(bucket), document: Some(doc), execution_arn };
    report_html::after(deps, &result, &page).await;
    Ok(result)
}

/// The folder's last successful run, whose fingerprint (data and config) a scheduled start compares its own with.
async fn record_success<C: Clock, N: Notifier>(deps: &Deps<C, N>, doc: &RunDocument) -> Result<(), PipelineError> {
    let source = &doc.run.source;
    let record = LastSuccess {
        run_id: doc.run.run_id.clone(),
        fingerprint: fingerprint(source, &doc.run.config),
        dataset: layout::s3_uri(&source.bucket, &source.key),
        finished_at: format_rfc3339(deps.clock.now()),
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| PipelineError::Internal(e.to_string()))?;
    deps.s3
        .put_object()
        .bucket(&source.bucket)
        .key(layout::last_success_key(&source.key))
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .or_pipeline("PutObject (last success)")?;
    Ok(())
}

async fn on_execution_event<C: Clock, N: Notifier>(
    deps: &Deps<C, N>,
    event: &ExecutionEvent,
) -> Result<TeardownResult, PipelineError> {
    let run_id = event.run_id.as_str();
    if !ENDED_BADLY.contains(&event.status.as_str()) {
        // A broader rule must never tear down a running or successful run.
        tracing::info!(run_id, status = event.status, "not an ended-badly status; nothing to do");
        let outcome = if event.status == "SUCCEEDED" { Outcome::Succeeded } else { Outcome::Failed };
        return Ok(TeardownResult {
            outcome,
            deleted: vec![],
            stopped: vec![],
            kept: vec![],
            summary_uri: String::new(),
            notified: false,
            progress: TeardownProgress::default(),
        });
    }
    let prepared: Option<PreparedRun> = event.input.clone().and_then(|v| serde_json::from_value(v).ok());
    let input_bucket = prepared.as_ref().map(|p| p.data.bucket.clone()).or_else(|| {
        let request: StartRequest = serde_json::from_value(event.input.clone()?).ok()?;
        layout::parse_s3_uri(&request.dataset).map(|(b, _)| b.to_string())
    });
    let bucket = deps.bucket.clone().or(input_bucket);
    if event.status == "FAILED"
        && let Some(bucket) = &bucket
        && let Some(done) = actions::existing_summary(&deps.s3, bucket, run_id).await?
        && done.trigger == Trigger::StateMachine
    {
        // Finalize ran and decided (maybe to keep a deployment); the execution failed afterwards on purpose.
        tracing::info!(run_id, "Finalize already summarised this run; nothing to do");
        return Ok(TeardownResult {
            outcome: done.status,
            deleted: vec![],
            stopped: vec![],
            kept: done.kept,
            summary_uri: layout::s3_uri(bucket, &layout::summary_key(run_id)),
            notified: false,
            progress: TeardownProgress::default(),
        });
    }
    let config = prepared.as_ref().map(|p| &p.config);
    let plan = Plan {
        run_id,
        outcome: Outcome::Failed,
        config,
        job: config.map_or_else(|| names::job_name(run_id), |c| c.job_name(run_id)),
        deployment: actions::Target::ByName(config.map_or(DeploymentMode::Auto, |c| c.deployment)),
        keep_reason: None,
        previous: None,
        entry: wait::Entry::Event,
    };
    let mut summary =
        RunSummary::new(run_id, Outcome::Failed, Trigger::ExecutionEvent, format_rfc3339(deps.clock.now()));
    if let Some(p) = &prepared {
        summary = summary.with_run(p);
    }
    summary.execution_status = Some(event.status.clone());
    summary.error = Some(CaughtError {
        error: event.error.clone().unwrap_or_else(|| format!("Execution{}", title_case(&event.status))),
        cause: event.cause.clone().unwrap_or_else(|| format!("the execution ended {}", event.status)),
    });
    // Unknown mode: look for both kinds by name.
    let plan = if config.is_none() { Plan { deployment: actions::Target::AnyByName, ..plan } } else { plan };
    let result = finish(deps, plan, summary, bucket.as_deref()).await?;
    let page = report_html::Page {
        run_id,
        bucket: bucket.as_deref(),
        document: None,
        execution_arn: event.execution_arn.as_deref(),
    };
    report_html::after(deps, &result, &page).await;
    Ok(result)
}

fn title_case(status: &str) -> String {
    status
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect()
}

async fn finish<C: Clock, N: Notifier>(
    deps: &Deps<C, N>,
    plan: Plan<'_>,
    mut summary: RunSummary,
    bucket: Option<&str>,
) -> Result<TeardownResult, PipelineError> {
    let mut done = actions::Done::default();
    if let Some(previous) = plan.previous {
        // Earlier passes of the wait loop: the one summary lists everything.
        done.deleted.clone_from(&previous.deleted);
        done.stopped.clone_from(&previous.stopped);
    }
    if plan.outcome == Outcome::Failed {
        actions::stop_job(&deps.bedrock, plan.run_id, &plan.job, &mut done).await;
        let committed = plan.config.and_then(|c| c.commitment.clone());
        actions::remove_deployment(
            &deps.bedrock,
            plan.run_id,
            &plan.deployment,
            plan.keep_reason,
            committed,
            &mut done,
        )
        .await;
    } else if let actions::Target::Recorded { arn, .. } = &plan.deployment {
        done.kept.push(arn.clone());
        done.notes.push(format!("{arn} kept: the run succeeded; delete it when you no longer need it"));
    }
    // A retry repeats everything idempotently; writing or publishing now would do it twice.
    if let Some(err) = done.retryable.take() {
        return Err(err);
    }
    let progress = wait::progress(plan.previous.map(|p| &p.progress), plan.entry, &mut done);
    if !progress.pending.is_empty() {
        // Nothing is written or published until the loop ends: one summary per run.
        tracing::info!(run_id = plan.run_id, pending = ?progress.pending, attempt = progress.attempt, "waiting to delete");
        return Ok(TeardownResult {
            outcome: plan.outcome,
            deleted: done.deleted,
            stopped: done.stopped,
            kept: done.kept,
            summary_uri: String::new(),
            notified: false,
            progress,
        });
    }
    if plan.entry == wait::Entry::Finalize
        && let Some(bucket) = bucket
        && let Some(earlier) = actions::existing_summary(&deps.s3, bucket, plan.run_id).await?
        && earlier.trigger == Trigger::StateMachine
    {
        // A retry of a Finalize that already wrote and published (Step Functions retries a task whose
        // result it did not get, e.g. Lambda.ServiceException after the handler returned): one summary,
        // one message. Its lists are the first pass's, since this pass found everything gone already.
        tracing::info!(run_id = plan.run_id, "Finalize already summarised this run; not writing or publishing again");
        return Ok(TeardownResult {
            outcome: plan.outcome,
            deleted: earlier.deleted,
            stopped: earlier.stopped,
            kept: earlier.kept,
            summary_uri: layout::s3_uri(bucket, &layout::summary_key(plan.run_id)),
            notified: false,
            progress,
        });
    }
    summary.deleted = done.deleted.clone();
    summary.stopped = done.stopped.clone();
    summary.kept = done.kept.clone();
    summary.failures = done.failures;
    summary.notes = done.notes;
    if let Some(bucket) = bucket {
        summary.reports.summary = Some(layout::s3_uri(bucket, &layout::summary_key(plan.run_id)));
    }

    // Published before it is written: the written summary is what tells a retry that the run was
    // summarised, so a publish that failed (and is retried) is never skipped; only a write failing
    // after a publish can repeat the message.
    let message = serde_json::to_string_pretty(&summary).map_err(|e| PipelineError::Internal(e.to_string()))?;
    let notified = match deps.notifier.notify(&summary.subject(), &message, &summary).await {
        Ok(sent) => sent,
        Err(e) if e.is_retryable() => return Err(e),
        // The summary is still written; a broken topic must not hide the clean-up from the state machine.
        Err(e) => {
            tracing::error!(run_id = plan.run_id, error = %e, "could not publish the summary");
            false
        }
    };
    let summary_uri = match bucket {
        Some(bucket) => {
            let body = serde_json::to_vec_pretty(&summary).map_err(|e| PipelineError::Internal(e.to_string()))?;
            deps.s3
                .put_object()
                .bucket(bucket)
                .key(layout::summary_key(plan.run_id))
                .content_type("application/json")
                .body(ByteStream::from(body))
                .send()
                .await
                .or_pipeline("PutObject")?;
            layout::s3_uri(bucket, &layout::summary_key(plan.run_id))
        }
        None => {
            tracing::warn!(run_id = plan.run_id, "no bucket known (set BUCKET): the summary is only published");
            String::new()
        }
    };
    tracing::info!(run_id = plan.run_id, deleted = ?summary.deleted, stopped = ?summary.stopped, kept = ?summary.kept, notified, "run finalized");
    if let (Some(why), wait::Entry::Event) = (&progress.incomplete, plan.entry) {
        // Summarised and published; failing the invocation as well makes Lambda's Errors metric (and
        // its alarm) and the dead-letter queue see it. From Finalize the state machine fails instead.
        tracing::error!(run_id = plan.run_id, incomplete = %why, "teardown incomplete");
        return Err(PipelineError::TeardownFailed(why.clone()));
    }
    Ok(TeardownResult {
        outcome: plan.outcome,
        deleted: summary.deleted,
        stopped: summary.stopped,
        kept: summary.kept,
        summary_uri,
        notified,
        progress,
    })
}

#[cfg(test)]
mod tests;
