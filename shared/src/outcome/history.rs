//! An execution's history in the few kinds of event a run's outcome needs. Step Functions' own event
//! types (the local engine's and GetExecutionHistory's alike) map into these; the rest are left out.
//! A history may be partial: an execution still running has no end event yet.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an execution stands (DescribeExecution's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    /// The API's spelling, e.g. `TIMED_OUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionEvent {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub kind: EventKind,
}

/// Inputs and outputs are present when the history was read with its data (`includeExecutionData`).
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `ExecutionStarted`.
    ExecutionStarted { input: Option<Value> },
    /// `<Type>StateEntered`.
    StateEntered { name: String, input: Option<Value> },
    /// `<Type>StateExited`.
    StateExited { name: String, output: Option<Value> },
    /// `LambdaFunctionScheduled` or `TaskScheduled`: one request to a task's resource. A second one
    /// within the same state entry is a retry, which Step Functions bills as a transition.
    TaskScheduled,
    /// `ExecutionSucceeded`, `ExecutionFailed`, `ExecutionAborted` or `ExecutionTimedOut`.
    ExecutionEnded { status: ExecutionStatus, error: Option<String>, cause: Option<String>, output: Option<Value> },
}

/// One entry into a state; a poll loop's states are visited once per poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateVisit {
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub entered_at_ms: i64,
    /// Absent while the execution is in the state, and for a terminal Fail state.
    #[serde(default)]
    pub exited_at_ms: Option<i64>,
}

/// What a history says about its execution, so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionFacts {
    pub status: ExecutionStatus,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub started_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub visits: Vec<StateVisit>,
    /// State transitions as Step Functions bills them: one per state entered, plus one per retry.
    pub state_transitions: u64,
    /// Requests to task resources (Lambda invocations), retries included.
    pub task_requests: u64,
}

impl ExecutionFacts {
    pub fn read(history: &[ExecutionEvent]) -> ExecutionFacts {
        let mut facts = ExecutionFacts {
            status: ExecutionStatus::Running,
            error: None,
            cause: None,
            started_at_ms: None,
            ended_at_ms: None,
            visits: Vec::new(),
            state_transitions: 0,
            task_requests: 0,
        };
        let mut scheduled_in_state = 0u32;
        for event in history {
            match &event.kind {
                EventKind::ExecutionStarted { .. } => facts.started_at_ms = Some(event.at_ms),
                EventKind::StateEntered { name, .. } => {
                    facts.state_transitions += 1;
                    scheduled_in_state = 0;
                    facts.visits.push(StateVisit {
                        name: name.clone(),
                        entered_at_ms: event.at_ms,
                        exited_at_ms: None,
                    });
                }
                EventKind::StateExited { name, .. } => {
                    // The latest open visit of that state (states do not nest in this machine, but a
                    // history from a Parallel or Map would interleave them).
                    if let Some(visit) =
                        facts.visits.iter_mut().rev().find(|v| v.exited_at_ms.is_none() && v.name == *name)
                    {
                        visit.exited_at_ms = Some(event.at_ms);
                    }
                }
                EventKind::TaskScheduled => {
                    facts.task_requests += 1;
                    if scheduled_in_state > 0 {
                        facts.state_transitions += 1;
                    }
                    scheduled_in_state += 1;
                }
                EventKind::ExecutionEnded { status, error, cause, .. } => {
                    facts.status = *status;
                    facts.error = error.clone();
                    facts.cause = cause.clone();
                    facts.ended_at_ms = Some(event.at_ms);
                }
            }
        }
        facts
    }

    /// State names in the order they were entered.
    pub fn states(&self) -> Vec<String> {
        self.visits.iter().map(|v| v.name.clone()).collect()
    }
}

/// The newest input or output in the history that reads as a `T` (the run's state document): what the
/// run knew at its last step. `None` when the history carries no data, or none of that shape.
pub fn latest_document<T: DeserializeOwned>(history: &[ExecutionEvent]) -> Option<T> {
    history.iter().rev().find_map(|event| {
        let data = match &event.kind {
            EventKind::ExecutionStarted { input } | EventKind::StateEntered { input, .. } => input.as_ref(),
            EventKind::StateExited { output, .. } | EventKind::ExecutionEnded { output, .. } => output.as_ref(),
            EventKind::TaskScheduled => None,
        }?;
        T::deserialize(data).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(at_ms: i64, kind: EventKind) -> ExecutionEvent {
        ExecutionEvent { at_ms, kind }
    }
    fn entered(name: &str) -> EventKind {
        EventKind::StateEntered { name: name.into(), input: None }
    }
    fn exited(name: &str, output: Option<Value>) -> EventKind {
        EventKind::StateExited { name: name.into(), output }
    }

    #[test]
    fn a_partial_history_is_running_with_its_open_visit() {
        let history = [
            at(0, EventKind::ExecutionStarted { input: None }),
            at(1, entered("Start")),
            at(2, EventKind::TaskScheduled),
            at(5, exited("Start", None)),
            at(5, entered("Wait")),
        ];
        let facts = ExecutionFacts::read(&history);
        assert_eq!(facts.status, ExecutionStatus::Running);
        assert_eq!((facts.started_at_ms, facts.ended_at_ms), (Some(0), None));
        assert_eq!(facts.states(), ["Start", "Wait"]);
        assert_eq!(facts.visits[0].exited_at_ms, Some(5));
        assert_eq!(facts.visits[1], StateVisit { name: "Wait".into(), entered_at_ms: 5, exited_at_ms: None });
        assert_eq!((facts.state_transitions, facts.task_requests), (2, 1));
    }

    #[test]
    fn retries_are_billed_transitions_and_the_end_event_gives_status_error_and_cause() {
        let history = [
            at(1, entered("Check")),
            at(2, EventKind::TaskScheduled),
            at(3, EventKind::TaskScheduled),
            at(4, EventKind::TaskScheduled),
            at(5, exited("Check", None)),
            at(6, entered("Failed")),
            at(
                7,
                EventKind::ExecutionEnded {
                    status: ExecutionStatus::Failed,
                    error: Some("JobFailed".into()),
                    cause: Some("quota".into()),
                    output: None,
                },
            ),
        ];
        let facts = ExecutionFacts::read(&history);
        assert_eq!((facts.state_transitions, facts.task_requests), (4, 3));
        assert_eq!(facts.status, ExecutionStatus::Failed);
        assert_eq!((facts.error.as_deref(), facts.cause.as_deref()), (Some("JobFailed"), Some("quota")));
        assert_eq!(facts.ended_at_ms, Some(7));
        assert_eq!(facts.visits[1].exited_at_ms, None, "a Fail state is never exited");
        assert_eq!(serde_json::to_value(ExecutionStatus::TimedOut).unwrap(), "TIMED_OUT");
        assert_eq!(ExecutionStatus::TimedOut.as_str(), "TIMED_OUT");
    }

    #[test]
    fn the_latest_document_is_the_newest_data_of_the_asked_shape() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Doc {
            step: u32,
        }
        let history = [
            at(0, EventKind::ExecutionStarted { input: Some(json!({"step": 0})) }),
            at(1, exited("A", Some(json!({"step": 1})))),
            at(2, exited("B", Some(json!({"other": true})))),
            at(3, EventKind::TaskScheduled),
            at(4, entered("C")),
        ];
        assert_eq!(latest_document::<Doc>(&history), Some(Doc { step: 1 }));
        assert_eq!(latest_document::<Doc>(&history[2..]), None);
    }
}
