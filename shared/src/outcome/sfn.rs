//! Step Functions' GetExecutionHistory events in the neutral form (`ExecutionEvent`), as the local
//! engine's map into it: the one mapping the CLI (a stack's or a served local cloud's runs) and
//! teardown (the stack's `report.html`) read AWS histories with. Behind the `sfn` feature, so the
//! crates that never read a history build no SDK.

use super::{EventKind, ExecutionEvent, ExecutionStatus};
use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryError;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use serde_json::Value;

/// A history page's size when reading with data: GetExecutionHistory's largest `maxResults`.
pub const PAGE_SIZE: i32 = 1000;
/// Pages of history read at most: Step Functions keeps at most 25,000 events of an execution, so this
/// reads any whole history and bounds the work when something answers without end.
pub const MAX_HISTORY_PAGES: usize = 25;

/// Why a history was not read whole.
#[derive(Debug)]
pub enum HistoryError {
    /// A GetExecutionHistory call failed (boxed: the SDK's error is large).
    Call(Box<aws_sdk_sfn::error::SdkError<GetExecutionHistoryError>>),
    /// More than [`MAX_HISTORY_PAGES`] pages: more than Step Functions keeps of an execution.
    TooLong,
}

/// Every event of `execution_arn`'s history, with its data, in neutral form: the one reader of
/// histories for the CLI and teardown.
pub async fn read_history(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<Vec<ExecutionEvent>, HistoryError> {
    let mut events = Vec::new();
    let mut token = None;
    for _ in 0..MAX_HISTORY_PAGES {
        let page = sfn
            .get_execution_history()
            .execution_arn(execution_arn)
            .include_execution_data(true)
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| HistoryError::Call(Box::new(e)))?;
        events.extend(page.events().iter().filter_map(neutral));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(events);
        }
    }
    Err(HistoryError::TooLong)
}

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
