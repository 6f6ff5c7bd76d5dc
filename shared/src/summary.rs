//! The run summary: `runs/<id>/summary.json`, written by teardown when a run ends and published to the
//! notification topic. One document a person or a script reads to learn how a run ended, what it
//! produced and what is still running (and billing).

use crate::pipeline::{CaughtError, DeploymentRef, EvaluationResult, Outcome};
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

    #[test]
    fn subject_is_short_printable_ascii_and_round_trips() {
        let s = RunSummary {
            run_id: "r-1".into(),
            status: Outcome::Failed,
            trigger: Trigger::ExecutionEvent,
            execution_status: Some("ABORTED".into()),
            error: Some(CaughtError { error: "Aborted\n\u{e9}".into(), cause: "stopped".into() }),
            dataset: None,
            base_model: None,
            job_name: "ft-r-1".into(),
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
            finished_at: "2026-01-02T03:04:05Z".into(),
        };
        assert_eq!(s.subject(), "Fine-tuning run r-1: FAILED (Aborted)");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["trigger"], "execution-event");
        assert_eq!(json["status"], "FAILED");
        assert_eq!(serde_json::from_value::<RunSummary>(json).unwrap(), s);
    }
}
