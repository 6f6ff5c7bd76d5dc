mod common;

use std::time::Duration;

use common::{Gate, LAMBDA, SLOW, gate_definition};
use local_sfn::{ApiErrorKind, Config, ExecutionStatus, StepFunctions, VirtualClock};
use serde_json::json;

const ROLE: &str = "arn:aws:iam::123456789012:role/sfn";

fn service() -> StepFunctions<Gate> {
    StepFunctions::new(Gate::default(), VirtualClock::default(), Config::default())
}

#[tokio::test]
async fn start_describe_and_wait() {
    let sfn = service();
    let m = sfn.create_state_machine("fast", &gate_definition(LAMBDA), ROLE).unwrap();
    assert_eq!(m.arn, "arn:aws:states:us-east-1:123456789012:stateMachine:fast");
    // Same definition again: the same machine; another definition: a conflict.
    assert_eq!(sfn.create_state_machine("fast", &gate_definition(LAMBDA), ROLE).unwrap().arn, m.arn);
    let err = sfn.create_state_machine("fast", &gate_definition(SLOW), ROLE).unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::StateMachineAlreadyExists);
    let err = sfn.create_state_machine("bad", r#"{"StartAt": "X", "States": {}}"#, ROLE).unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::InvalidDefinition);

    let started = sfn.start_execution(&m.arn, Some("run-1"), Some(r#"{"a": 1}"#)).unwrap();
    assert_eq!(started.execution_arn, "arn:aws:states:us-east-1:123456789012:execution:fast:run-1");
    let done = sfn.wait_for_execution(&started.execution_arn).await.unwrap();
    assert_eq!(done.snapshot.status, ExecutionStatus::Succeeded);
    assert_eq!(done.snapshot.output, Some(json!({"a": 1, "work": {"a": 1}, "after": "after"})));
    assert_eq!(done.name, "run-1");
    let described = sfn.describe_execution(&started.execution_arn).unwrap();
    assert_eq!(described.snapshot.stop_date, Some(described.snapshot.start_date));
    assert_eq!(sfn.get_execution_history(&started.execution_arn).unwrap().len(), 9);

    // A name is never reused once the execution has closed, whatever the input.
    let err = sfn.start_execution(&m.arn, Some("run-1"), Some(r#"{"a": 1}"#)).unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::ExecutionAlreadyExists);

    // Without a name: a UUID-shaped one; without input: {}.
    let anon = sfn.start_execution(&m.arn, None, None).unwrap();
    let d = sfn.wait_for_execution(&anon.execution_arn).await.unwrap();
    assert_eq!(d.name.len(), 36);
    assert_eq!(d.name.matches('-').count(), 4);
    assert_eq!(d.snapshot.input, json!({}));

    let list = sfn.list_executions(&m.arn, None).unwrap();
    assert_eq!(list.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), [d.name.as_str(), "run-1"]);
    assert!(sfn.list_executions(&m.arn, Some(ExecutionStatus::Running)).unwrap().is_empty());
}

fn kind<T>(r: Result<T, local_sfn::ApiError>) -> ApiErrorKind {
    r.map(|_| ()).unwrap_err().kind
}

#[tokio::test]
async fn request_validation_errors() {
    let sfn = service();
    let m = sfn.create_state_machine("fast", &gate_definition(LAMBDA), ROLE).unwrap();
    assert_eq!(kind(sfn.start_execution(&m.arn, Some("has space"), None)), ApiErrorKind::InvalidName);
    assert_eq!(kind(sfn.start_execution(&m.arn, Some(&"x".repeat(81)), None)), ApiErrorKind::InvalidName);
    assert_eq!(kind(sfn.start_execution(&m.arn, Some("ok"), Some("{"))), ApiErrorKind::InvalidExecutionInput);
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
    assert_eq!(kind(sfn.start_execution(missing, None, None)), ApiErrorKind::StateMachineDoesNotExist);
    assert_eq!(kind(sfn.start_execution("not-an-arn", None, None)), ApiErrorKind::InvalidArn);
    let missing_exec = "arn:aws:states:us-east-1:123456789012:execution:fast:nope";
    assert_eq!(kind(sfn.describe_execution(missing_exec)), ApiErrorKind::ExecutionDoesNotExist);
    assert_eq!(kind(sfn.stop_execution(&m.arn, None, None)), ApiErrorKind::InvalidArn);
}

#[tokio::test]
async fn idempotent_start_while_running_and_stop() {
    let sfn = service();
    let m = sfn.create_state_machine("slow", &gate_definition(SLOW), ROLE).unwrap();
    let first = sfn.start_execution(&m.arn, Some("run-1"), Some(r#"{"a": 1}"#)).unwrap();
    sfn.invoker().started.notified().await;

    // Same name and input while running: the same execution; other input: a conflict.
    let again = sfn.start_execution(&m.arn, Some("run-1"), Some(r#"{ "a" : 1 }"#)).unwrap();
    assert_eq!(again, first);
    let err = sfn.start_execution(&m.arn, Some("run-1"), Some(r#"{"a": 2}"#)).unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::ExecutionAlreadyExists);
    assert_eq!(sfn.list_executions(&m.arn, Some(ExecutionStatus::Running)).unwrap().len(), 1);

    sfn.clock().advance(Duration::from_secs(5));
    let stop = sfn.stop_execution(&first.execution_arn, Some("UserStopped"), Some("enough")).unwrap();
    assert_eq!(stop.duration_since(first.start_date), Duration::from_secs(5));
    let d = sfn.describe_execution(&first.execution_arn).unwrap();
    assert_eq!(d.snapshot.status, ExecutionStatus::Aborted);
    assert_eq!(d.snapshot.error.as_deref(), Some("UserStopped"));

    // The in-flight task is dropped: releasing it changes nothing and no later state runs.
    sfn.invoker().release();
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let d = sfn.wait_for_execution(&first.execution_arn).await.unwrap();
    assert_eq!(sfn.invoker().finished.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(
        d.snapshot.event_types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "ExecutionAborted"
        ]
    );
    assert_eq!(d.snapshot.states_entered(), ["Work"]);
    // Stopping again changes nothing.
    assert_eq!(sfn.stop_execution(&first.execution_arn, None, None).unwrap(), stop);
    assert_eq!(sfn.list_executions(&m.arn, Some(ExecutionStatus::Aborted)).unwrap().len(), 1);
}

#[tokio::test]
async fn saved_executions_come_back_with_their_histories_and_a_running_one_comes_back_aborted() {
    let sfn = service();
    let fast = sfn.create_state_machine("fast", &gate_definition(LAMBDA), ROLE).unwrap();
    let slow = sfn.create_state_machine("slow", &gate_definition(SLOW), ROLE).unwrap();
    let done = sfn.start_execution(&fast.arn, Some("done"), Some(r#"{"a": 1}"#)).unwrap().execution_arn;
    sfn.wait_for_execution(&done).await.unwrap();
    let running = sfn.start_execution(&slow.arn, Some("running"), None).unwrap().execution_arn;
    sfn.invoker().started.notified().await;
    let saved = sfn.save_executions();
    let json = serde_json::to_string(&saved).unwrap();

    // A restarted service: the same machines, the saved executions read back from JSON.
    let again = service();
    again.create_state_machine("fast", &gate_definition(LAMBDA), ROLE).unwrap();
    again.create_state_machine("slow", &gate_definition(SLOW), ROLE).unwrap();
    let aborted = again.restore_executions(serde_json::from_str(&json).unwrap(), "the local cloud stopped");
    assert_eq!(aborted, std::slice::from_ref(&running));
    assert_eq!(again.get_execution_history(&done).unwrap(), sfn.get_execution_history(&done).unwrap());
    let d = again.describe_execution(&done).unwrap();
    assert_eq!((d.snapshot.status, d.name.as_str()), (ExecutionStatus::Succeeded, "done"));
    assert_eq!(again.wait_for_execution(&done).await.unwrap().snapshot.output, d.snapshot.output);
    let r = again.wait_for_execution(&running).await.unwrap();
    assert_eq!(r.snapshot.status, ExecutionStatus::Aborted);
    assert_eq!(r.snapshot.cause.as_deref(), Some("the local cloud stopped"));
    let history = again.get_execution_history(&running).unwrap();
    assert_eq!(history.len(), sfn.get_execution_history(&running).unwrap().len() + 1);
    assert_eq!(history.last().unwrap().type_name(), "ExecutionAborted");
    // Names stay taken; the list keeps its order; restoring twice adds nothing.
    assert_eq!(
        kind(again.start_execution(&fast.arn, Some("done"), Some(r#"{"a": 1}"#))),
        ApiErrorKind::ExecutionAlreadyExists
    );
    assert_eq!(again.list_executions(&slow.arn, None).unwrap()[0].name, "running");
    assert!(again.restore_executions(saved, "again").is_empty());
    assert_eq!(again.save_executions().len(), 2);
}

#[tokio::test]
async fn an_execution_input_beyond_256_kib_is_refused_before_anything_starts() {
    let sfn = service();
    let m = sfn.create_state_machine("fast", &gate_definition(LAMBDA), ROLE).unwrap();
    let input = json!({"blob": "x".repeat(local_sfn::PAYLOAD_LIMIT_BYTES)}).to_string();
    let err = sfn.start_execution(&m.arn, Some("too-big"), Some(&input)).unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::ValidationException);
    assert!(err.message.contains("262144"), "{}", err.message);
    assert!(sfn.list_executions(&m.arn, None).unwrap().is_empty(), "nothing started");
}
