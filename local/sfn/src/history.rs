//! Execution history: typed events with Step Functions' own names and detail fields, and what is
//! derived from them.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::definition::StateType;

/// How a task resource shows in the history. A direct Lambda function ARN gives the
/// `LambdaFunction*` events, as on AWS; any other resource gives the generic `Task*` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFlavor {
    Lambda,
    Generic,
}

impl TaskFlavor {
    pub fn of(resource: &str) -> Self {
        let mut parts = resource.split(':');
        let lambda_arn = parts.next() == Some("arn")
            && parts.next().is_some_and(|p| p.starts_with("aws"))
            && parts.next() == Some("lambda")
            && parts.nth(2) == Some("function");
        if lambda_arn { TaskFlavor::Lambda } else { TaskFlavor::Generic }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum EventDetails {
    ExecutionStarted { input: Value, role_arn: String },
    StateEntered { state_type: StateType, name: String, input: Value },
    StateExited { state_type: StateType, name: String, output: Value },
    TaskScheduled { resource: String, parameters: Value, timeout_seconds: Option<u64> },
    TaskStarted { resource: String },
    TaskSucceeded { resource: String, output: Value },
    TaskFailed { resource: String, error: String, cause: String },
    TaskTimedOut { resource: String, error: String, cause: String },
    ExecutionSucceeded { output: Value },
    ExecutionFailed { error: Option<String>, cause: Option<String> },
    ExecutionAborted { error: Option<String>, cause: Option<String> },
    ExecutionTimedOut { error: Option<String>, cause: Option<String> },
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: Timestamp,
    pub details: EventDetails,
}

fn resource_parts(resource: &str) -> (String, String) {
    // `arn:aws:states:::lambda:invoke` -> ("lambda", "invoke"), as the console shows it.
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    if parts.len() >= 6 && parts[2] == "states" {
        (parts[5].to_string(), parts[6..].join(":"))
    } else {
        ("unknown".to_string(), resource.to_string())
    }
}

impl HistoryEvent {
    /// The Step Functions event type name, e.g. `TaskStateEntered`, `LambdaFunctionScheduled`.
    pub fn type_name(&self) -> String {
        let task = |resource: &str, what: &str| match TaskFlavor::of(resource) {
            TaskFlavor::Lambda => format!("LambdaFunction{what}"),
            TaskFlavor::Generic => format!("Task{what}"),
        };
        match &self.details {
            EventDetails::ExecutionStarted { .. } => "ExecutionStarted".into(),
            EventDetails::StateEntered { state_type, .. } => {
                format!("{}StateEntered", state_type.as_str())
            }
            EventDetails::StateExited { state_type, .. } => {
                format!("{}StateExited", state_type.as_str())
            }
            EventDetails::TaskScheduled { resource, .. } => task(resource, "Scheduled"),
            EventDetails::TaskStarted { resource } => task(resource, "Started"),
            EventDetails::TaskSucceeded { resource, .. } => task(resource, "Succeeded"),
            EventDetails::TaskFailed { resource, .. } => task(resource, "Failed"),
            EventDetails::TaskTimedOut { resource, .. } => task(resource, "TimedOut"),
            EventDetails::ExecutionSucceeded { .. } => "ExecutionSucceeded".into(),
            EventDetails::ExecutionFailed { .. } => "ExecutionFailed".into(),
            EventDetails::ExecutionAborted { .. } => "ExecutionAborted".into(),
            EventDetails::ExecutionTimedOut { .. } => "ExecutionTimedOut".into(),
        }
    }

    /// The event as GetExecutionHistory returns it. Inputs and outputs are JSON text, as on AWS;
    /// `include_data = false` leaves them out (includeExecutionData).
    pub fn to_api_json(&self, region: &str, include_data: bool) -> Value {
        let data = |v: &Value| include_data.then(|| Value::String(v.to_string()));
        let mut ev = json!({
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": self.timestamp.epoch_seconds_f64(),
            "type": self.type_name(),
        });
        let (key, details) = match &self.details {
            EventDetails::ExecutionStarted { input, role_arn } => (
                "executionStartedEventDetails",
                json!({"input": data(input), "inputDetails": {"truncated": false}, "roleArn": role_arn}),
            ),
            EventDetails::StateEntered { name, input, .. } => (
                "stateEnteredEventDetails",
                json!({"name": name, "input": data(input), "inputDetails": {"truncated": false}}),
            ),
            EventDetails::StateExited { name, output, .. } => (
                "stateExitedEventDetails",
                json!({"name": name, "output": data(output), "outputDetails": {"truncated": false}}),
            ),
            EventDetails::TaskScheduled { resource, parameters, timeout_seconds } => match TaskFlavor::of(resource) {
                TaskFlavor::Lambda => (
                    "lambdaFunctionScheduledEventDetails",
                    json!({"resource": resource, "input": data(parameters),
                        "inputDetails": {"truncated": false}, "timeoutInSeconds": timeout_seconds}),
                ),
                TaskFlavor::Generic => {
                    let (rt, r) = resource_parts(resource);
                    (
                        "taskScheduledEventDetails",
                        json!({"resourceType": rt, "resource": r, "region": region,
                            "parameters": data(parameters).unwrap_or(Value::String(String::new())),
                            "timeoutInSeconds": timeout_seconds}),
                    )
                }
            },
            EventDetails::TaskStarted { resource } => match TaskFlavor::of(resource) {
                // LambdaFunctionStarted carries no details.
                TaskFlavor::Lambda => return strip_nulls(ev),
                TaskFlavor::Generic => {
                    let (rt, r) = resource_parts(resource);
                    ("taskStartedEventDetails", json!({"resourceType": rt, "resource": r}))
                }
            },
            EventDetails::TaskSucceeded { resource, output } => match TaskFlavor::of(resource) {
                TaskFlavor::Lambda => (
                    "lambdaFunctionSucceededEventDetails",
                    json!({"output": data(output), "outputDetails": {"truncated": false}}),
                ),
                TaskFlavor::Generic => {
                    let (rt, r) = resource_parts(resource);
                    (
                        "taskSucceededEventDetails",
                        json!({"resourceType": rt, "resource": r, "output": data(output),
                            "outputDetails": {"truncated": false}}),
                    )
                }
            },
            EventDetails::TaskFailed { resource, error, cause }
            | EventDetails::TaskTimedOut { resource, error, cause } => {
                let timed_out = matches!(self.details, EventDetails::TaskTimedOut { .. });
                match (TaskFlavor::of(resource), timed_out) {
                    (TaskFlavor::Lambda, false) => {
                        ("lambdaFunctionFailedEventDetails", json!({"error": error, "cause": cause}))
                    }
                    (TaskFlavor::Lambda, true) => {
                        ("lambdaFunctionTimedOutEventDetails", json!({"error": error, "cause": cause}))
                    }
                    (TaskFlavor::Generic, t) => {
                        let (rt, r) = resource_parts(resource);
                        (
                            if t { "taskTimedOutEventDetails" } else { "taskFailedEventDetails" },
                            json!({"resourceType": rt, "resource": r, "error": error, "cause": cause}),
                        )
                    }
                }
            }
            EventDetails::ExecutionSucceeded { output } => (
                "executionSucceededEventDetails",
                json!({"output": data(output), "outputDetails": {"truncated": false}}),
            ),
            EventDetails::ExecutionFailed { error, cause } => {
                ("executionFailedEventDetails", json!({"error": error, "cause": cause}))
            }
            EventDetails::ExecutionAborted { error, cause } => {
                ("executionAbortedEventDetails", json!({"error": error, "cause": cause}))
            }
            EventDetails::ExecutionTimedOut { error, cause } => {
                ("executionTimedOutEventDetails", json!({"error": error, "cause": cause}))
            }
        };
        ev[key] = details;
        strip_nulls(ev)
    }
}

/// Absent members are left out rather than sent as null, as AWS does.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        other => other,
    }
}

/// State names in the order they were entered (a state entered twice appears twice).
pub fn states_entered(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .filter_map(|e| match &e.details {
            EventDetails::StateEntered { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// State transitions as Step Functions bills them: one for every state entered, plus one for
/// every retry attempt (each task scheduled again within the same state entry).
pub fn state_transitions(history: &[HistoryEvent]) -> u64 {
    let mut count = 0;
    let mut scheduled_in_state = 0;
    for e in history {
        match e.details {
            EventDetails::StateEntered { .. } => {
                count += 1;
                scheduled_in_state = 0;
            }
            EventDetails::TaskScheduled { .. } => {
                if scheduled_in_state > 0 {
                    count += 1;
                }
                scheduled_in_state += 1;
            }
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors_and_api_shapes() {
        let lambda = "arn:aws:lambda:us-east-1:123456789012:function:start-job";
        assert_eq!(TaskFlavor::of(lambda), TaskFlavor::Lambda);
        assert_eq!(TaskFlavor::of("arn:aws:states:::lambda:invoke"), TaskFlavor::Generic);
        let ev = HistoryEvent {
            id: 3,
            previous_event_id: 2,
            timestamp: Timestamp::from_epoch_millis(1_500),
            details: EventDetails::TaskScheduled {
                resource: lambda.into(),
                parameters: json!({"a": 1}),
                timeout_seconds: None,
            },
        };
        assert_eq!(ev.type_name(), "LambdaFunctionScheduled");
        assert_eq!(
            ev.to_api_json("us-east-1", true),
            json!({"id": 3, "previousEventId": 2, "timestamp": 1.5, "type": "LambdaFunctionScheduled",
                "lambdaFunctionScheduledEventDetails": {"resource": lambda, "input": "{\"a\":1}",
                    "inputDetails": {"truncated": false}}})
        );
        let generic = HistoryEvent {
            details: EventDetails::TaskFailed {
                resource: "arn:aws:states:::lambda:invoke".into(),
                error: "E".into(),
                cause: "c".into(),
            },
            ..ev
        };
        assert_eq!(generic.type_name(), "TaskFailed");
        assert_eq!(
            generic.to_api_json("us-east-1", true)["taskFailedEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "error": "E", "cause": "c"})
        );
    }
}
