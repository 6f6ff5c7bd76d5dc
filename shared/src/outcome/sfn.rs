//! Step Functions' GetExecutionHistory events in the neutral form (`ExecutionEvent`), as the local
//! engine's map into it: the one mapping the CLI (a stack's or a served local cloud's runs) and
//! teardown (the stack's `report.html`) read AWS histories with. Behind the `sfn` feature, so the
//! crates that never read a history build no SDK.

use super::{EventKind, ExecutionEvent, ExecutionStatus};
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use serde_json::Value;

/// A history page's size when reading with data: GetExecutionHistory's largest `maxResults`.
pub const PAGE_SIZE: i32 = 1000;

fn data(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// The event in neutral form; `None` for the kinds an outcome does not need.
pub fn neutral(event: &HistoryEvent) -> Option<ExecutionEvent> {
    let at_ms = event.timestamp().to_millis().ok()?;
    let ended = |status, error: Option<&str>, cause: Option<&str>| EventKind::ExecutionEnded {
        status,
        error: error.map(str::to_string),
        cause: cause.map(str::to_string),
        output: None,
    };
    let kind = match event.r#type() {
        HistoryEventType::ExecutionStarted => {
            EventKind::ExecutionStarted { input: data(event.execution_started_event_details()?.input()) }
        }
        HistoryEventType::ExecutionSucceeded => EventKind::ExecutionEnded {
            status: ExecutionStatus::Succeeded,
            error: None,
            cause: None,
            output: data(event.execution_succeeded_event_details().and_then(|d| d.output())),
        },
        HistoryEventType::ExecutionFailed => {
            let d = event.execution_failed_event_details();
            ended(ExecutionStatus::Failed, d.and_then(|d| d.error()), d.and_then(|d| d.cause()))
        }
        HistoryEventType::ExecutionAborted => {
            let d = event.execution_aborted_event_details();
            ended(ExecutionStatus::Aborted, d.and_then(|d| d.error()), d.and_then(|d| d.cause()))
        }
        HistoryEventType::ExecutionTimedOut => {
            let d = event.execution_timed_out_event_details();
            ended(ExecutionStatus::TimedOut, d.and_then(|d| d.error()), d.and_then(|d| d.cause()))
        }
        HistoryEventType::LambdaFunctionScheduled | HistoryEventType::TaskScheduled => EventKind::TaskScheduled,
        kind if kind.as_str().ends_with("StateEntered") => {
            let d = event.state_entered_event_details()?;
            EventKind::StateEntered { name: d.name().to_string(), input: data(d.input()) }
        }
        kind if kind.as_str().ends_with("StateExited") => {
            let d = event.state_exited_event_details()?;
            EventKind::StateExited { name: d.name().to_string(), output: data(d.output()) }
        }
        _ => return None,
    };
    Some(ExecutionEvent { at_ms, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ExecutionFacts;
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{
        ExecutionFailedEventDetails, ExecutionStartedEventDetails, StateEnteredEventDetails, StateExitedEventDetails,
    };

    fn event(id: i64, kind: HistoryEventType) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        HistoryEvent::builder().id(id).timestamp(DateTime::from_millis(1000 * id)).r#type(kind)
    }

    #[test]
    fn the_apis_history_reads_as_the_engines_does() {
        let events = [
            event(1, HistoryEventType::ExecutionStarted)
                .execution_started_event_details(ExecutionStartedEventDetails::builder().input("{\"a\":1}").build())
                .build()
                .unwrap(),
            event(2, HistoryEventType::TaskStateEntered)
                .state_entered_event_details(
                    StateEnteredEventDetails::builder().name("Check").input("{}").build().unwrap(),
                )
                .build()
                .unwrap(),
            event(3, HistoryEventType::LambdaFunctionScheduled).build().unwrap(),
            event(4, HistoryEventType::LambdaFunctionFailed).build().unwrap(),
            event(5, HistoryEventType::LambdaFunctionScheduled).build().unwrap(),
            event(6, HistoryEventType::TaskStateExited)
                .state_exited_event_details(
                    StateExitedEventDetails::builder().name("Check").output("{}").build().unwrap(),
                )
                .build()
                .unwrap(),
            event(7, HistoryEventType::FailStateEntered)
                .state_entered_event_details(StateEnteredEventDetails::builder().name("Failed").build().unwrap())
                .build()
                .unwrap(),
            event(8, HistoryEventType::ExecutionFailed)
                .execution_failed_event_details(
                    ExecutionFailedEventDetails::builder().error("JobFailed").cause("quota").build(),
                )
                .build()
                .unwrap(),
        ];
        let neutral: Vec<ExecutionEvent> = events.iter().filter_map(neutral).collect();
        assert_eq!(neutral.len(), 7, "the failed Lambda attempt is left out");
        assert_eq!(neutral[0].kind, EventKind::ExecutionStarted { input: Some(serde_json::json!({"a": 1})) });
        let facts = ExecutionFacts::read(&neutral);
        assert_eq!(facts.states(), vec!["Check".to_string(), "Failed".to_string()]);
        assert_eq!(facts.task_requests, 2);
        assert_eq!(facts.status, ExecutionStatus::Failed);
        assert_eq!((facts.error.as_deref(), facts.cause.as_deref()), (Some("JobFailed"), Some("quota")));
        assert_eq!((facts.started_at_ms, facts.ended_at_ms), (Some(1000), Some(8000)));
    }
}
