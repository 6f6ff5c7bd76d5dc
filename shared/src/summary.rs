//! The run summary: `runs/<id>/summary.json`, written by teardown when a run ends and published to the
//! notification topic. One document a person or a script reads to learn how a run ended, what it
//! produced and what is still running (and billing).

use crate::pipeline::{CaughtError, DeploymentRef, EvaluationResult, Outcome, PreparedRun, RunDocument, layout, names};
use serde::{Deserialize, Serialize};

/// Who ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The state machine's Finalize step.
    StateMachine,
    /// The EventBridge rule on an execution that was aborted, timed out or failed outside Finalize.
    ExecutionEvent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub status: Outcome,
    pub trigger: Trigger,
    /// The execution's status from the event (`ABORTED`, `TIMED_OUT`, `FAILED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
    /// The uploaded dataset, `s3://bucket/key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    pub job_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_model_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRef>,
    /// The verdict and both models' scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<EvaluationResult>,
    pub reports: Reports,
    /// ARNs (or names) deleted, stopped and kept by this teardown.
    pub deleted: Vec<String>,
    pub stopped: Vec<String>,
    pub kept: Vec<String>,
    /// What could not be cleaned up, and why: look at these by hand.
    #[serde(default)]
    pub failures: Vec<String>,
    /// Why something was kept, what was already gone.
    #[serde(default)]
    pub notes: Vec<String>,
    /// RFC 3339.
    pub finished_at: String,
}

/// Where the run's reports are, when they exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reports {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl RunSummary {
    /// The summary of a run of which only the end is known yet: its job name (derived from the run
    /// id), nothing deleted, stopped or kept, no reports. `with_run` and `with_document` add what the
    /// run's documents say; teardown adds what it cleaned up.
    pub fn new(run_id: &str, status: Outcome, trigger: Trigger, finished_at: String) -> RunSummary {
        RunSummary {
            run_id: run_id.to_string(),
            status,
            trigger,
            execution_status: None,
            error: None,
            dataset: None,
            base_model: None,
            job_name: names::job_name(run_id),
            job_arn: None,
            custom_model_arn: None,
            deployment: None,
            evaluation: None,
            reports: Reports::default(),
            deleted: vec![],
            stopped: vec![],
            kept: vec![],
            failures: vec![],
            notes: vec![],
            finished_at,
        }
    }

    /// What the prepared run says: the uploaded dataset, the base model, the validation report.
    pub fn with_run(mut self, run: &PreparedRun) -> RunSummary {
        self.dataset = Some(layout::s3_uri(&run.source.bucket, &run.source.key));
        self.base_model = Some(run.config.base_model.clone());
        self.job_name = run.config.job_name(&run.run_id);
        self.reports.validation = Some(run.data.report_uri.clone()).filter(|u| !u.is_empty());
        self
    }

    /// What the state document recorded: the prepared run, the caught error, the job and its model, the
    /// deployment, the evaluation and its reports.
    pub fn with_document(self, doc: &RunDocument) -> RunSummary {
        let mut summary = self.with_run(&doc.run);
        summary.error = doc.error.clone();
        summary.job_arn = doc.job.as_ref().map(|j| j.job_arn.clone());
        if let Some(job) = &doc.job {
            summary.job_name = job.job_name.clone();
        }
        summary.custom_model_arn = doc.job.as_ref().and_then(|j| j.custom_model_arn.clone());
        summary.deployment = doc.deployment.clone();
        if let Some(e) = &doc.evaluation {
            summary.reports.evaluation = Some(e.report_uri.clone());
            summary.reports.evaluation_markdown = Some(e.markdown_uri.clone());
            summary.reports.predictions = Some(e.predictions_uri.clone());
        }
        summary.evaluation = doc.evaluation.clone();
        summary
    }

    /// An SNS subject: at most 100 printable ASCII characters.
    pub fn subject(&self) -> String {
        let status = match self.status {
            Outcome::Succeeded => "SUCCEEDED",
            Outcome::Failed => "FAILED",
        };
        let mut subject = format!("Fine-tuning run {}: {status}", self.run_id);
        if let Some(e) = &self.error {
            subject.push_str(&format!(" ({})", e.error));
        }
        subject.retain(|c| c.is_ascii_graphic() || c == ' ');
        subject.truncate(100);
        subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{PollState, PreparedData};
    use crate::test_documents::{JOB, MODEL, document, evaluation, job};

    #[test]
    fn subject_is_short_printable_ascii_and_round_trips() {
        let s = RunSummary {
            execution_status: Some("ABORTED".into()),
            error: Some(CaughtError { error: "Aborted\n\u{e9}".into(), cause: "stopped".into() }),
            ..RunSummary::new("r-1", Outcome::Failed, Trigger::ExecutionEvent, "2026-01-02T03:04:05Z".into())
        };
        assert_eq!(s.subject(), "Fine-tuning run r-1: FAILED (Aborted)");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["trigger"], "execution-event");
        assert_eq!(json["status"], "FAILED");
        assert_eq!(serde_json::from_value::<RunSummary>(json).unwrap(), s);
    }

    #[test]
    fn a_summary_from_the_state_document_names_dataset_job_model_evaluation_and_reports() {
        let doc = RunDocument {
            job: Some(job(PollState::Ready, "Completed", 3)),
            evaluation: Some(evaluation()),
            error: Some(CaughtError { error: "GateFailed".into(), cause: "no gain".into() }),
            ..document()
        };
        let s = RunSummary::new("r", Outcome::Failed, Trigger::StateMachine, "t".into()).with_document(&doc);
        assert_eq!((s.job_name.as_str(), s.finished_at.as_str()), ("ft-r", "t"));
        assert_eq!(s.dataset.as_deref(), Some("s3://b/incoming/d.jsonl"));
        assert_eq!(s.base_model.as_deref(), Some("amazon.nova-micro-v1:0:128k"));
        assert_eq!((s.job_arn.as_deref(), s.custom_model_arn.as_deref()), (Some(JOB), Some(MODEL)));
        assert_eq!(s.error, doc.error);
        assert_eq!(s.evaluation, Some(evaluation()));
        assert_eq!(s.reports.validation.as_deref(), Some("s3://b/runs/r/validation-report.json"));
        assert_eq!(s.reports.evaluation_markdown.as_deref(), Some("s3://b/runs/r/evaluation/report.md"));
        assert_eq!(s.reports.predictions.as_deref(), Some("s3://b/runs/r/evaluation/predictions.jsonl"));
        assert!(s.deleted.is_empty() && s.stopped.is_empty() && s.kept.is_empty() && s.reports.summary.is_none());

        let unvalidated = RunDocument {
            run: PreparedRun {
                data: PreparedData { report_uri: String::new(), ..doc.run.data.clone() },
                ..doc.run.clone()
            },
            ..doc
        };
        let s = RunSummary::new("r", Outcome::Failed, Trigger::StateMachine, "t".into()).with_run(&unvalidated.run);
        assert_eq!(s.reports.validation, None, "no report, no link");
        assert_eq!(s.job_arn, None, "with_run alone says nothing of the job");
    }
}
