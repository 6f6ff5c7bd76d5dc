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
    RunSources { run_id: "r", history, summary, locate: &|_| None, notifications: None, emulated: false }
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
    assert_eq!(outcome.aws_cost_estimate.training_usd, None, "not billed before the job completes");
    assert!(outcome.aws_cost_estimate.still_billing.is_empty());
    assert_eq!(outcome.artifacts.0, [("train".to_string(), "s3://b/runs/r/train.jsonl".to_string())]);
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
    let cost = &outcome.aws_cost_estimate;
    assert_eq!((cost.training_usd, cost.model_storage_usd_per_month), (Some(0.25), Some(1.95)));
    let billing: Vec<_> = cost.still_billing.iter().map(|b| (b.what, b.arn.as_str())).collect();
    assert_eq!(billing, [(Billable::CustomModel, MODEL), (Billable::OnDemandDeployment, DEPLOYMENT)]);
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
    ended(&mut history, ExecutionStatus::Failed, Some("JobFailed"), None);
    let summary = RunSummary {
        deleted: vec![DEPLOYMENT.into()],
        ..RunSummary::new("r", Outcome::Failed, Trigger::StateMachine, "2026-01-02T05:00:00Z".into())
            .with_document(&doc)
    };

    let outcome = RunOutcome::build(&sources(&history, Some(&summary)));
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!((outcome.error.as_deref(), outcome.cause.as_deref()), (Some("JobFailed"), Some("because JobFailed")));
    assert_eq!(outcome.states.last().map(String::as_str), Some("Failed"));
    assert!(outcome.deployment.as_ref().unwrap().removed);
    let billing: Vec<_> = outcome.aws_cost_estimate.still_billing.iter().map(|b| b.what).collect();
    assert_eq!(billing, [Billable::CustomModel]);
    assert_eq!(outcome.aws_cost_estimate.training_usd, Some(0.25), "the job completed: its training was billed");
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
    assert_eq!(outcome.aws_cost_estimate.training_usd, None);
}

#[test]
fn the_json_keeps_the_original_field_names_in_order_and_reads_back_an_original_one() {
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
    for key in ["training_usd", "step_functions_usd", "lambda_requests_usd", "model_storage_usd_per_month", "note"] {
        assert!(json["aws_cost_estimate"].get(key).is_some(), "{key}");
    }
    assert_eq!(json["status"], "SUCCEEDED");
    assert_eq!(json["evaluation"], Value::Null);
    assert_eq!(serde_json::from_value::<RunOutcome>(json).unwrap(), outcome);

    // What `finetune run --json` printed before this type existed (and what its memo holds).
    let earlier = r#"{"run_id": "r", "status": "FAILED", "error": "DatasetInvalid", "cause": "line 5",
        "states": ["IsPrepared"], "state_transitions": 1, "job_arn": null, "custom_model_arn": null,
        "evaluation": null, "artifacts": {"validation_report": "/x/report.json", "train": "/x/train.jsonl"},
        "notifications": 1, "aws_cost_estimate": {"training_usd": null, "step_functions_usd": 0.0,
        "lambda_requests_usd": 0.0, "model_storage_usd_per_month": null, "note": "estimate"}, "emulated": true}"#;
    let read: RunOutcome = serde_json::from_str(earlier).unwrap();
    assert_eq!(read.status, ExecutionStatus::Failed);
    assert_eq!(read.artifacts.0[0], ("validation_report".to_string(), "/x/report.json".to_string()));
    assert!(read.visits.is_empty() && read.job.is_none());
}
