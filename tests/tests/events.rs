//! events/: a sample input for every function and every way to start a run, for
//! `cargo lambda invoke <function> --data-file events/<file>`. The contract samples are written from
//! the fixtures (`UPDATE_EVENTS=1 cargo test -p tests --test events` rewrites them) and
//! must read back into their contract type unchanged; the AWS-shaped ones must read into the
//! aws_lambda_events types the handlers take, with no field the type would silently drop.

use std::path::PathBuf;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use fixtures::Poll;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shared::pipeline::{
    CheckStatusRequest, DeploymentMode, FinalizeRequest, Outcome, PreparedRun, RunDocument, StartRequest,
    ValidateRequest,
};
use tests::{ACCOUNT, REGION, repo_root};

fn events_dir() -> PathBuf {
    repo_root().join("events")
}

fn read(name: &str) -> Value {
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"))
}

fn write(name: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("serializes") + "\n";
    std::fs::create_dir_all(events_dir()).expect("events/");
    std::fs::write(events_dir().join(name), text).expect("write event");
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EVENTS").is_some()
}

/// Drops `null` members: an absent optional field and a `null` one mean the same to serde.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// A contract sample: the file equals the fixture and survives a trip through its type.
fn contract<T: Serialize + DeserializeOwned>(name: &str, sample: T) -> T {
    // Samples leave out what is null (the schedule's input has no `config`), as a person would.
    let expected = strip_nulls(serde_json::to_value(&sample).expect("serializes"));
    if updating() {
        write(name, &expected);
    }
    let file = read(name);
    let typed: T = serde_json::from_value(file.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = strip_nulls(serde_json::to_value(&typed).expect("serializes"));
    assert_eq!(back, file, "{name}: changed by its contract type");
    assert_eq!(file, expected, "{name} differs from the fixture; UPDATE_EVENTS=1 rewrites it");
    typed
}

/// Every key of `file` is kept by the typed round trip (so no field is misspelt or ignored).
fn no_dropped_fields(name: &str, at: &str, file: &Value, typed: &Value) {
    match (file, typed) {
        (Value::Object(f), Value::Object(t)) => {
            for (k, v) in f {
                let here = format!("{at}.{k}");
                match t.get(k) {
                    Some(tv) => no_dropped_fields(name, &here, v, tv),
                    None => panic!("{name}: {here} is not a field of the event type"),
                }
            }
        }
        (Value::Array(f), Value::Array(t)) => {
            assert_eq!(f.len(), t.len(), "{name}: {at}");
            for (i, (fv, tv)) in f.iter().zip(t).enumerate() {
                no_dropped_fields(name, &format!("{at}[{i}]"), fv, tv);
            }
        }
        _ => {}
    }
}

fn aws_event<T: Serialize + DeserializeOwned>(name: &str, sample: Value) -> T {
    if updating() {
        write(name, &sample);
    }
    let file = read(name);
    let typed: T = serde_json::from_value(file.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    no_dropped_fields(name, "$", &file, &serde_json::to_value(&typed).expect("serializes"));
    typed
}

fn s3_put() -> Value {
    // As S3 sends it: the key URL-encoded (a space is `+`), the ETag without quotes.
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2025-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEPRINCIPAL"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "dataset-upload",
            "bucket": {"name": fixtures::BUCKET, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{}", fixtures::BUCKET)},
            "object": {"key": "incoming/support+tickets.jsonl", "size": 1048576, "eTag": fixtures::source().etag, "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko", "sequencer": "0055AED6DCD90281E5"}
        }
    }]})
}

fn sample_machine_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:finetune-pipeline")
}

/// The samples' execution: the run id is its name.
fn sample_execution_arn() -> String {
    shared::aws::execution_arn(&sample_machine_arn(), &fixtures::run_id_for_samples())
}

fn aborted_event() -> Value {
    let run_id = fixtures::run_id_for_samples();
    let machine = sample_machine_arn();
    let execution = sample_execution_arn();
    json!({
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": "2025-01-01T01:30:00Z",
        "region": REGION,
        "resources": [execution],
        "detail": {
            "executionArn": execution,
            "stateMachineArn": machine,
            "name": run_id,
            "status": "ABORTED",
            "startDate": 1735689600000_u64,
            "stopDate": 1735695000000_u64,
            "input": serde_json::to_string(&fixtures::start_request_upload()).expect("serializes"),
            "output": null,
            "inputDetails": {"included": true},
            "outputDetails": null,
            "error": null,
            "cause": null
        }
    })
}

#[test]
fn every_contract_sample_reads_back_into_its_type() {
    let console: StartRequest = contract("start-console.json", fixtures::start_request_console());
    assert!(console.config.is_object());
    let schedule: StartRequest = contract("start-schedule.json", fixtures::start_request_schedule());
    assert!(schedule.dataset.ends_with('/'), "the schedule names a prefix");
    let task = ValidateRequest {
        input: serde_json::to_value(fixtures::start_request_console()).expect("serializes"),
        execution_name: "9b1f6c1e-3c1a-4e7e-9a57-0d5a2b7c4f11".to_string(),
    };
    let task: ValidateRequest = contract("validate-split.json", task);
    assert!(serde_json::from_value::<StartRequest>(task.input).is_ok());
    let prepared: PreparedRun = contract("start-job.json", fixtures::prepared_run(true));
    assert!(prepared.prepared && prepared.data.valid);
    let job: CheckStatusRequest = contract("check-status-job.json", fixtures::check_job_request());
    assert!(matches!(job, CheckStatusRequest::Job { .. }));
    let dep: CheckStatusRequest = contract("check-status-deployment.json", fixtures::check_deployment_request());
    assert!(matches!(dep, CheckStatusRequest::Deployment { .. }));
    let provision: RunDocument = contract("provision.json", fixtures::after_check_job(Poll::Ready));
    assert!(provision.job.and_then(|j| j.custom_model_arn).is_some());
    let evaluate: RunDocument =
        contract("evaluate.json", fixtures::after_check_deployment(DeploymentMode::OnDemand, Poll::Ready));
    assert!(evaluate.deployment.and_then(|d| d.invoke_arn).is_some());
    let failed = fixtures::with_outcome(
        fixtures::with_error(
            fixtures::after_evaluate(false),
            "GateFailed",
            "Quality gate failed: token_f1 improved by -0.02 over the base model, below the required 0.05",
        ),
        Outcome::Failed,
    );
    // Finalize's input: the document and the execution's ARN (`$$.Execution.Id`).
    let finalize = |document| FinalizeRequest { document, execution_arn: Some(sample_execution_arn()) };
    let failed: FinalizeRequest = contract("teardown-failed.json", finalize(failed));
    assert_eq!(failed.document.outcome, Some(Outcome::Failed));
    let succeeded: FinalizeRequest = contract(
        "teardown-succeeded.json",
        finalize(fixtures::with_outcome(fixtures::after_evaluate(true), Outcome::Succeeded)),
    );
    assert_eq!(succeeded.document.outcome, Some(Outcome::Succeeded));
    assert_eq!(succeeded.execution_arn, Some(sample_execution_arn()));
}

#[test]
fn the_s3_upload_event_reads_into_s3_event_with_its_key_encoded() {
    let event: S3Event = aws_event("s3-put.json", s3_put());
    let object = &event.records[0].s3.object;
    assert_eq!(object.key.as_deref(), Some("incoming/support+tickets.jsonl"), "S3 URL-encodes keys");
    assert_eq!(event.records[0].s3.bucket.name.as_deref(), Some(fixtures::BUCKET));
}

#[test]
fn the_aborted_execution_event_reads_into_an_eventbridge_event() {
    let event: EventBridgeEvent<Value> = aws_event("teardown-aborted-event.json", aborted_event());
    assert_eq!(event.detail_type, "Step Functions Execution Status Change");
    assert_eq!(event.source, "aws.states");
    assert_eq!(event.detail["status"], "ABORTED");
    // The execution name gives the run id: teardown derives every resource name from it.
    assert_eq!(event.detail["name"], json!(fixtures::run_id_for_samples()));
}

#[test]
fn events_holds_exactly_the_samples_checked_here() {
    let mut found: Vec<String> = std::fs::read_dir(events_dir())
        .expect("events/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected = vec![
        "check-status-deployment.json",
        "check-status-job.json",
        "evaluate.json",
        "provision.json",
        "s3-put.json",
        "start-console.json",
        "start-job.json",
        "start-schedule.json",
        "teardown-aborted-event.json",
        "teardown-failed.json",
        "teardown-succeeded.json",
        "validate-split.json",
    ];
    expected.sort();
    assert_eq!(found, expected);
}
