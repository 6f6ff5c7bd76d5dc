mod common;

use std::net::SocketAddr;

use aws_config::BehaviorVersion;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use common::{Gate, LAMBDA, SLOW, gate_definition};
use local_sfn::{Config, StepFunctions, VirtualClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROLE: &str = "arn:aws:iam::123456789012:role/sfn";

async fn start_server() -> (SocketAddr, StepFunctions<Gate>) {
    let sfn = StepFunctions::new(Gate::default(), VirtualClock::default(), Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(local_sfn::api::serve(listener, sfn.clone()));
    (addr, sfn)
}

async fn client(addr: SocketAddr) -> aws_sdk_sfn::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDLOCAL", "local-secret", None, None, "test"))
        .endpoint_url(format!("http://{addr}"))
        .load()
        .await;
    aws_sdk_sfn::Client::new(&conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_sdk_drives_the_local_api() {
    let (addr, sfn) = start_server().await;
    let sdk = client(addr).await;

    let created = sdk
        .create_state_machine()
        .name("fast")
        .definition(gate_definition(LAMBDA))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let machine = created.state_machine_arn();
    assert_eq!(machine, "arn:aws:states:us-east-1:123456789012:stateMachine:fast");
    let described = sdk.describe_state_machine().state_machine_arn(machine).send().await.unwrap();
    assert_eq!(described.name(), "fast");

    let started =
        sdk.start_execution().state_machine_arn(machine).name("run-1").input(r#"{"a":1}"#).send().await.unwrap();
    let arn = started.execution_arn().to_string();
    assert_eq!(started.start_date().secs(), 1_735_689_600);
    sfn.wait_for_execution(&arn).await.unwrap();

    let d = sdk.describe_execution().execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(d.name(), Some("run-1"));
    assert_eq!(d.state_machine_arn(), machine);
    assert_eq!(d.input(), Some(r#"{"a":1}"#));
    let output: serde_json::Value = serde_json::from_str(d.output().unwrap()).unwrap();
    assert_eq!(output["after"], "after");
    assert!(d.stop_date().is_some());

    let h = sdk.get_execution_history().execution_arn(&arn).send().await.unwrap();
    let types: Vec<HistoryEventType> = h.events().iter().map(|e| e.r#type().clone()).collect();
    assert_eq!(types.first(), Some(&HistoryEventType::ExecutionStarted));
    assert!(types.contains(&HistoryEventType::LambdaFunctionSucceeded));
    assert_eq!(types.last(), Some(&HistoryEventType::ExecutionSucceeded));
    let entered = h.events()[1].state_entered_event_details().unwrap();
    assert_eq!(entered.name(), "Work");
    assert_eq!(h.events()[1].previous_event_id(), 1);
    // Paging, newest first.
    let page = sdk.get_execution_history().execution_arn(&arn).reverse_order(true).max_results(2).send().await.unwrap();
    assert_eq!(page.events().len(), 2);
    assert_eq!(page.events()[0].r#type(), &HistoryEventType::ExecutionSucceeded);
    assert!(page.next_token().is_some());

    let err = sdk.start_execution().state_machine_arn(machine).name("run-1").send().await.unwrap_err();
    assert!(err.into_service_error().is_execution_already_exists());
    let err = sdk
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:fast:nope")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_execution_does_not_exist());

    let list = sdk.list_executions().state_machine_arn(machine).send().await.unwrap();
    assert_eq!(list.executions().len(), 1);
    assert_eq!(list.executions()[0].status(), &ExecutionStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_through_the_sdk() {
    let (addr, sfn) = start_server().await;
    let sdk = client(addr).await;
    let machine = sfn.create_state_machine("slow", &gate_definition(SLOW), ROLE).unwrap().arn;
    let started = sdk.start_execution().state_machine_arn(&machine).send().await.unwrap();
    sfn.invoker().started.notified().await;
    let running = sdk.list_executions().state_machine_arn(&machine).status_filter(ExecutionStatus::Running).send();
    assert_eq!(running.await.unwrap().executions().len(), 1);
    sdk.stop_execution().execution_arn(started.execution_arn()).error("Manual").cause("test").send().await.unwrap();
    let d = sdk.describe_execution().execution_arn(started.execution_arn()).send().await.unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
    assert_eq!((d.error(), d.cause()), (Some("Manual"), Some("test")));
    let h = sdk.get_execution_history().execution_arn(started.execution_arn()).send().await.unwrap();
    let last = h.events().last().unwrap();
    assert_eq!(last.r#type(), &HistoryEventType::ExecutionAborted);
    assert_eq!(last.execution_aborted_event_details().unwrap().error(), Some("Manual"));
}

async fn raw_post(addr: SocketAddr, target: &str, body: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn wire_errors_follow_aws_json_1_0() {
    let (addr, _sfn) = start_server().await;
    let resp = raw_post(addr, "AWSStepFunctions.DescribeExecution", "{}").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("x-amzn-errortype: validationexception"), "{resp}");
    assert!(resp.contains(r#""__type":"ValidationException""#), "{resp}");
    let resp = raw_post(
        addr,
        "AWSStepFunctions.StartExecution",
        r#"{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:none"}"#,
    )
    .await;
    assert!(resp.contains(r#""__type":"StateMachineDoesNotExist""#), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("content-type: application/x-amz-json-1.0"), "{resp}");
    let resp = raw_post(addr, "AWSStepFunctions.SendTaskSuccess", "{}").await;
    assert!(resp.contains(r#""__type":"UnknownOperationException""#), "{resp}");
    let resp = raw_post(addr, "AWSStepFunctions.ListExecutions", "not json").await;
    assert!(resp.contains(r#""__type":"SerializationException""#), "{resp}");
}
