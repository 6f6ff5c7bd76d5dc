use super::*;
use crate::pipeline::{Outcome, TeardownResult};
use crate::summary::Trigger;
use crate::test_documents::{DEPLOYMENT, JOB, MODEL, deployment, document, evaluation, job};
use serde_json::Value;

fn event(at_ms: i64, kind: EventKind) -> ExecutionEvent {
    ExecutionEvent { at_ms, kind }
}

/// A state entered and exited, with the document it left.
fn step(history: &mut Vec<ExecutionEvent>, name: &str, task: bool, output: &RunDocument) {
    let at = history.last().map_or(0, |e| e.at_ms) + 1000;
    history.push(event(at, EventKind::StateEntered { name: name.into(), input: None }));
    if task {
        history.push(event(at, EventKind::TaskScheduled));
    }
    let output = Some(serde_json::to_value(output).unwrap());
    history.push(event(at + 500, EventKind::StateExited { name: name.into(), output }));
}

fn sources<'a>(history: &'a [ExecutionEvent], summary: Option<&'a RunSummary>) -> RunSources<'a> {
    RunSources {
        run_id: "r",
        history,
        summary,
        locate: &|_| None,
        notifications: None,
        emulated: false,
        validation: None,
        virtual_clock: false,
        live: None,
    }
}

fn ended(
    history: &mut Vec<ExecutionEvent>,
    status: ExecutionStatus,
    error: Option<&str>,
    output: Option<&RunDocument>,
) {
    let at = history.last().map_or(0, |e| e.at_ms) + 1;
    history.push(event(
        at,
        EventKind::ExecutionEnded {
            status,
            error: error.map(str::to_string),
            cause: error.map(|e| format!("because {e}")),
            output: output.map(|d| serde_json::to_value(d).unwrap()),
        },
    ));
}

#[test]
fn a_running_execution_shows_where_it_is_and_what_it_has_started() {
    let start = document();
    let mut history =
        vec![event(0, EventKind::ExecutionStarted { input: Some(serde_json::to_value(&start).unwrap()) })];
    let mut doc = RunDocument { job: Some(job(PollState::InProgress, "InProgress", 0)), ..start };
    step(&mut history, "StartJob", true, &doc);
    doc.job = Some(job(PollState::InProgress, "InProgress", 1));
    step(&mut history, "CheckJob", true, &doc);
    history.push(event(9000, EventKind::StateEntered { name: "WaitForJob".into(), input: None }));

    let found = |key: &str| key.ends_with("train.jsonl").then(|| format!("s3://b/{key}"));
    let outcome = RunOutcome::build(&RunSources { locate: &found, ..sources(&history, None) });
    assert_eq!(outcome.status, ExecutionStatus::Running);
    assert_eq!(outcome.states, ["StartJob", "CheckJob", "WaitForJob"]);
    assert_eq!(outcome.visits.last().unwrap().exited_at_ms, None);
    assert_eq!((outcome.started_at_ms, outcome.ended_at_ms), (Some(0), None));
    assert_eq!(outcome.job_arn.as_deref(), Some(JOB));
    let job = outcome.job.as_ref().unwrap();
    assert_eq!((job.status.as_deref(), job.polls), (Some("InProgress"), 1));
    assert_eq!(outcome.custom_model_arn, None);
    assert_eq!(outcome.aws_cost_estimate.training_usd, Some(0.25), "priced once a job started, whatever its end");
    assert!(outcome.left_billing.is_empty() && outcome.cleaned_up.is_empty() && outcome.errors.is_empty());
    assert_eq!(outcome.artifacts.written().collect::<Vec<_>>(), [("train", "s3://b/runs/r/train.jsonl")]);
    assert_eq!(outcome.artifacts.0.len(), layout::artifacts("r").len(), "every name, null when not written");
    assert_eq!(outcome.artifacts.get("summary"), None);
    assert_eq!(outcome.state_transitions, 3);
}

#[test]
fn a_succeeded_run_knows_its_model_deployment_polls_cost_and_what_still_bills() {
    let mut doc = RunDocument { job: Some(job(PollState::Ready, "Completed", 5)), ..document() };
    doc.deployment = Some(deployment(DeploymentMode::OnDemand, PollState::Ready, "Active", 7));
    doc.evaluation = Some(evaluation());
    doc.teardown = Some(TeardownResult {
        outcome: Outcome::Succeeded,
        deleted: vec![],
        stopped: vec![],
        kept: vec![DEPLOYMENT.into()],
        summary_uri: "s3://b/runs/r/summary.json".into(),
        notified: true,
        progress: Default::default(),
    });
    let mut history = Vec::new();
    step(&mut history, "Finalize", true, &doc);
    ended(&mut history, ExecutionStatus::Succeeded, None, Some(&doc));

    let outcome = RunOutcome::build(&sources(&history, None));
    assert_eq!((outcome.status, outcome.error.as_deref()), (ExecutionStatus::Succeeded, None));
    assert_eq!(outcome.custom_model_arn.as_deref(), Some(MODEL));
    assert_eq!(outcome.evaluation, Some(evaluation()));
    assert_eq!(outcome.job.as_ref().map(|j| j.polls), Some(5));
    let d = outcome.deployment.as_ref().unwrap();
    assert_eq!((d.kind, d.polls, d.status.as_str(), d.removed), (DeploymentMode::OnDemand, 7, "Active", false));
    assert_eq!(outcome.aws_cost_estimate.training_usd, Some(0.25));
    let billing: Vec<_> = outcome.left_billing.iter().map(|b| (b.what, b.arn.as_str(), b.usd_per_month)).collect();
    assert_eq!(billing, [(Billable::CustomModel, MODEL, Some(1.95)), (Billable::OnDemandDeployment, DEPLOYMENT, None)]);
    assert!(outcome.errors.is_empty() && outcome.notes.is_empty());
    assert_eq!(outcome.notifications, 1, "teardown's word when the caller did not count");
    assert_eq!(RunOutcome::build(&RunSources { notifications: Some(3), ..sources(&history, None) }).notifications, 3);
}

#[test]
fn a_failed_run_takes_the_summary_first_and_a_deleted_deployment_no_longer_bills() {
    let mut doc = RunDocument { job: Some(job(PollState::Ready, "Completed", 4)), ..document() };
    doc.deployment = Some(deployment(DeploymentMode::Provisioned, PollState::Failed, "Failed", 2));
    let mut history = Vec::new();
    step(&mut history, "CheckDeployment", true, &doc);
    step(&mut history, "Finalize", true, &doc);
    history.push(event(99_000, EventKind::StateEntered { name: "Failed".into(), input: None }));
    ended(&mut history, ExecutionStatus::Failed, Some("DeploymentFailed"), None);
    let summary = RunSummary {
        deleted: vec![DEPLOYMENT.into()],
        ..RunSummary::new("r", Outcome::Failed, Trigger::StateMachine, "2026-01-02T05:00:00Z".into())
            .with_document(&doc)
    };

    let outcome = RunOutcome::build(&sources(&history, Some(&summary)));
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    let cause = Some("because DeploymentFailed");
    assert_eq!((outcome.error.as_deref(), outcome.cause.as_deref()), (Some("DeploymentFailed"), cause));
    assert_eq!(outcome.states.last().map(String::as_str), Some("Failed"));
    assert!(outcome.deployment.as_ref().unwrap().removed);
    let billing: Vec<_> = outcome.left_billing.iter().map(|b| b.what).collect();
    assert_eq!(billing, [Billable::CustomModel]);
    let cleaned: Vec<_> = outcome.cleaned_up.iter().map(|r| (r.what, r.arn.as_str(), r.action)).collect();
    assert_eq!(cleaned, [(Some(Billable::ProvisionedThroughput), DEPLOYMENT, RemovalAction::Deleted)]);
    assert_eq!(outcome.aws_cost_estimate.training_usd, Some(0.25), "the job completed: its training was billed");
    let error = Problem {
        line: None,
        field: None,
        code: "DeploymentFailed".into(),
        message: "because DeploymentFailed".into(),
    };
    assert_eq!(outcome.errors, [error]);
}

#[test]
fn a_summary_alone_still_names_the_job_and_model() {
    let mut history = Vec::new();
    ended(&mut history, ExecutionStatus::Aborted, Some("States.Aborted"), None);
    let summary = RunSummary {
        job_arn: Some(JOB.into()),
        stopped: vec![JOB.into()],
        ..RunSummary::new("r", Outcome::Failed, Trigger::ExecutionEvent, "2026-01-02T05:00:00Z".into())
    };
    let outcome = RunOutcome::build(&sources(&history, Some(&summary)));
    assert_eq!(outcome.status, ExecutionStatus::Aborted);
    let job = outcome.job.unwrap();
    assert_eq!((job.arn.as_str(), job.status, job.polls), (JOB, None, 0));
    assert_eq!(outcome.aws_cost_estimate.training_usd, None, "no document, no report: no price");
    assert_eq!(outcome.cleaned_up[0].action, RemovalAction::Stopped);
    assert_eq!(outcome.cleaned_up[0].what, Some(Billable::CustomizationJob));
}

#[test]
fn an_invalid_dataset_lists_its_errors_and_warnings_from_the_report() {
    let mut history = Vec::new();
    step(&mut history, "IsDatasetValid", false, &document());
    ended(&mut history, ExecutionStatus::Failed, Some("DatasetInvalid"), None);
    let opts = crate::validate::Options::new("amazon.titan-text-express-v1:0:8k", crate::CustomizationType::FineTuning)
        .unwrap();
    let data = "{\"prompt\": \"a\", \"completion\": \"b\"}\r\n{\"prompt\": \"a\"}\n";
    let report = crate::validate::validate_reader(data.as_bytes(), &opts, |_| {}).unwrap();
    let outcome = RunOutcome::build(&RunSources { validation: Some(&report), ..sources(&history, None) });
    let error = &outcome.errors[0];
    assert_eq!(
        (error.line, error.field.as_deref(), error.code.as_str()),
        (Some(2), Some("completion"), "MISSING_FIELD")
    );
    assert!(outcome.warnings.iter().any(|w| w.code == "CRLF_LINE_ENDINGS"), "{:?}", outcome.warnings);
    assert_eq!(outcome.aws_cost_estimate.training_usd, None, "no job, no training");
}

#[test]
fn a_run_that_deploys_nothing_says_the_evaluation_was_skipped() {
    let mut doc = document();
    doc.run.config.deployment = DeploymentMode::None;
    let mut history = Vec::new();
    step(&mut history, "Finalize", true, &doc);
    ended(&mut history, ExecutionStatus::Succeeded, None, Some(&doc));
    let outcome = RunOutcome::build(&RunSources { virtual_clock: true, ..sources(&history, None) });
    assert!(outcome.notes[0].contains("evaluation"), "{:?}", outcome.notes);
    assert!(outcome.virtual_clock);
}

#[test]
fn the_json_keeps_the_original_field_names_in_order_and_reads_back() {
    let mut history = Vec::new();
    step(&mut history, "Finalize", true, &document());
    ended(&mut history, ExecutionStatus::Succeeded, None, Some(&document()));
    let outcome = RunOutcome::build(&sources(&history, None));
    // Field order as written (a `Value` may sort its keys).
    let text = serde_json::to_string(&outcome).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let original = [
        "run_id",
        "status",
        "error",
        "cause",
        "states",
        "state_transitions",
        "job_arn",
        "custom_model_arn",
        "evaluation",
        "artifacts",
        "notifications",
        "aws_cost_estimate",
        "emulated",
    ];
    let positions: Vec<usize> = original.iter().map(|k| text.find(&format!("\"{k}\":")).expect(k)).collect();
    assert!(positions.is_sorted(), "{text}");
    for key in ["training_usd", "step_functions_usd", "lambda_requests_usd", "note"] {
        assert!(json["aws_cost_estimate"].get(key).is_some(), "{key}");
    }
    assert_eq!(json["status"], "SUCCEEDED");
    assert_eq!(json["evaluation"], Value::Null);
    assert!(json["artifacts"].as_object().is_some_and(|a| a.values().all(Value::is_null)), "{json}");
    assert_eq!(serde_json::from_str::<RunOutcome>(&text).unwrap(), outcome, "read back in the order written");
}
