//! The local engine's execution history in the neutral form a run's outcome is built from
//! (`shared::outcome::ExecutionEvent`). AWS's GetExecutionHistory maps into the same form.

use local_sfn::{EventDetails, HistoryEvent};
use shared::outcome::{EventKind, ExecutionEvent, ExecutionStatus};

/// The event in neutral form; `None` for the kinds an outcome does not need (task started, succeeded,
/// failed or timed out: the state's exit, a retry's scheduling or the execution's end say what matters).
pub fn neutral(event: &HistoryEvent) -> Option<ExecutionEvent> {
    let ended = |status, error: &Option<String>, cause: &Option<String>| EventKind::ExecutionEnded {
        status,
        error: error.clone(),
        cause: cause.clone(),
        output: None,
    };
    let kind = match &event.details {
        EventDetails::ExecutionStarted { input, .. } => EventKind::ExecutionStarted { input: Some(input.clone()) },
        EventDetails::StateEntered { name, input, .. } => {
            EventKind::StateEntered { name: name.clone(), input: Some(input.clone()) }
        }
        EventDetails::StateExited { name, output, .. } => {
            EventKind::StateExited { name: name.clone(), output: Some(output.clone()) }
        }
        EventDetails::TaskScheduled { .. } => EventKind::TaskScheduled,
        EventDetails::TaskStarted { .. }
        | EventDetails::TaskSucceeded { .. }
        | EventDetails::TaskFailed { .. }
        | EventDetails::TaskTimedOut { .. } => return None,
        EventDetails::ExecutionSucceeded { output } => EventKind::ExecutionEnded {
            status: ExecutionStatus::Succeeded,
            error: None,
            cause: None,
            output: Some(output.clone()),
        },
        EventDetails::ExecutionFailed { error, cause } => ended(ExecutionStatus::Failed, error, cause),
        EventDetails::ExecutionAborted { error, cause } => ended(ExecutionStatus::Aborted, error, cause),
        EventDetails::ExecutionTimedOut { error, cause } => ended(ExecutionStatus::TimedOut, error, cause),
    };
    Some(ExecutionEvent { at_ms: event.timestamp.epoch_millis(), kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use local_sfn::{StateType, Timestamp};
    use serde_json::json;
    use shared::outcome::ExecutionFacts;

    fn event(id: u64, details: EventDetails) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp: Timestamp::from_epoch_millis(1000 * id as i64),
            details,
        }
    }

    #[test]
    fn the_neutral_history_bills_and_ends_as_the_engine_does() {
        let lambda = "arn:aws:lambda:us-east-1:123456789012:function:check".to_string();
        let history = vec![
            event(1, EventDetails::ExecutionStarted { input: json!({}), role_arn: "r".into() }),
            event(
                2,
                EventDetails::StateEntered { state_type: StateType::Task, name: "Check".into(), input: json!({}) },
            ),
            event(
                3,
                EventDetails::TaskScheduled { resource: lambda.clone(), parameters: json!({}), timeout_seconds: None },
            ),
            event(
                4,
                EventDetails::TaskFailed { resource: lambda.clone(), error: "Throttled".into(), cause: "c".into() },
            ),
            event(
                5,
                EventDetails::TaskScheduled { resource: lambda.clone(), parameters: json!({}), timeout_seconds: None },
            ),
            event(6, EventDetails::TaskSucceeded { resource: lambda, output: json!({"ok": true}) }),
            event(
                7,
                EventDetails::StateExited {
                    state_type: StateType::Task,
                    name: "Check".into(),
                    output: json!({"ok": true}),
                },
            ),
            event(
                8,
                EventDetails::StateEntered { state_type: StateType::Fail, name: "Failed".into(), input: json!({}) },
            ),
            event(9, EventDetails::ExecutionFailed { error: Some("JobFailed".into()), cause: Some("quota".into()) }),
        ];
        let neutral: Vec<ExecutionEvent> = history.iter().filter_map(neutral).collect();
        let facts = ExecutionFacts::read(&neutral);
        assert_eq!(facts.states(), local_sfn::states_entered(&history));
        assert_eq!(facts.state_transitions, local_sfn::state_transitions(&history));
        assert_eq!(facts.task_requests, 2);
        assert_eq!(facts.status, ExecutionStatus::Failed);
        assert_eq!((facts.error.as_deref(), facts.cause.as_deref()), (Some("JobFailed"), Some("quota")));
        assert_eq!((facts.started_at_ms, facts.ended_at_ms), (Some(1000), Some(9000)));
        assert_eq!(facts.visits[0].exited_at_ms, Some(7000));
    }
}
