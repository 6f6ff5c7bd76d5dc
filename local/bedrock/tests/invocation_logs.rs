//! DISTILLATION from invocation logs (`trainingDataConfig.invocationLogsConfig`) in the state layer:
//! gzipped log objects in the store, the filters, the logged answers as targets, and the refusals.

mod common;

use common::*;
use local_bedrock::runtime::ConverseRequest;
use local_bedrock::wire::*;
use local_bedrock::{Config, Emulator, ErrorKind, MemoryStore, ObjectStore};
use serde_json::{Value, json};
use std::io::Write;

const LOGS: &str = "logs-bucket";
const PREFIX: &str = "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/";

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// A Converse record as Bedrock logs it.
fn record(prompt: &str, answer: &str, project: &str) -> Value {
    json!({
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": "2026-11-30T10:00:00Z",
        "accountId": "123456789012", "region": "us-east-1", "requestId": "r", "operation": "Converse",
        "modelId": "amazon.nova-pro-v1:0",
        "input": {"inputContentType": "application/json", "inputTokenCount": 20,
            "inputBodyJson": {"system": [{"text": "You label topics."}], "messages": [{"role": "user", "content": [{"text": prompt}]}]}},
        "output": {"outputContentType": "application/json", "outputTokenCount": 1,
            "outputBodyJson": {"output": {"message": {"role": "assistant", "content": [{"text": answer}]}}, "stopReason": "end_turn"}},
        "requestMetadata": {"project": project}
    })
}

/// Support traffic answered with the right topic, other traffic answered "noise", in two hourly objects.
fn seed_logs(store: &MemoryStore) {
    let lines = |offset: usize| -> String {
        samples(6, 0)
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == offset)
            .flat_map(|(_, (p, label))| [record(p, label, "support"), record(p, "noise", "other")])
            .map(|r| r.to_string() + "\n")
            .collect()
    };
    store.put(LOGS, &format!("{PREFIX}2026/11/30/10/a.json.gz"), &gzip(&lines(0))).unwrap();
    store.put(LOGS, &format!("{PREFIX}2026/11/30/11/b.json.gz"), &gzip(&lines(1))).unwrap();
    // Bedrock's own marker when logging is set up: not a log object.
    store.put(LOGS, &format!("{PREFIX}amazon-bedrock-logs-permission-check"), b"").unwrap();
}

fn logs_request(name: &str, logs: Value) -> CreateModelCustomizationJobRequest {
    CreateModelCustomizationJobRequest {
        customization_type: Some("DISTILLATION".into()),
        customization_config: Some(
            json!({"distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": "amazon.nova-pro-v1:0"}}}),
        ),
        training_data_config: Some(TrainingDataConfig { s3_uri: None, invocation_logs_config: Some(logs) }),
        validation_data_config: None,
        hyper_parameters: None,
        ..job_request(name, None)
    }
}

fn converse(text: &str) -> ConverseRequest {
    serde_json::from_value(json!({"messages": [{"role": "user", "content": [{"text": text}]}],
        "system": [{"text": "You label topics."}]}))
    .unwrap()
}

fn setup() -> (Emulator, MemoryStore, local_sfn::VirtualClock) {
    let (emu, store, clock) = emulator(Config::default());
    seed_logs(&store);
    (emu, store, clock)
}

#[test]
fn the_filtered_logged_answers_train_the_student() {
    let (emu, _, clock) = setup();
    let config = json!({"invocationLogSource": {"s3Uri": format!("s3://{LOGS}/{PREFIX}")}, "usePromptResponse": true,
        "requestMetadataFilters": {"equals": {"project": "support"}}});
    let arn = emu.create_model_customization_job(logs_request("from-logs", config.clone())).unwrap().job_arn;
    let job = emu.get_model_customization_job(&arn).unwrap();
    assert_eq!(job.training_data_config.invocation_logs_config, Some(config), "the job reports what it was given");
    assert_eq!(job.training_data_config.s3_uri, None);
    clock.advance(hours(6));
    assert_eq!(emu.get_model_customization_job(&arn).unwrap().status, "Completed");
    let pt = emu
        .create_provisioned_model_throughput(CreateProvisionedModelThroughputRequest {
            model_units: Some(1),
            provisioned_model_name: Some("logs-pt".into()),
            model_id: Some("from-logs-model".into()),
            ..Default::default()
        })
        .unwrap()
        .provisioned_model_arn;
    clock.advance(minutes(15));
    // Trained on the support answers only: the filtered-out "noise" answers never come back.
    let answers: Vec<String> =
        samples(3, 100).iter().map(|(p, _)| emu.converse(&pt, converse(p)).unwrap().0.text().to_string()).collect();
    assert!(!answers.iter().any(|a| a == "noise"), "{answers:?}");
    let right = samples(3, 100).iter().zip(&answers).filter(|((_, label), a)| label == *a).count();
    assert!(right >= 9, "{right}/12 right: {answers:?}");
}

#[test]
fn no_match_no_logs_both_sources_or_another_type_are_refused() {
    let (emu, _, _) = setup();
    let refused = |request: CreateModelCustomizationJobRequest, needle: &str| {
        let e = emu.create_model_customization_job(request).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation, "{}", e.message);
        assert!(e.message.contains(needle), "{needle} not in {}", e.message);
    };
    let source = json!({"s3Uri": format!("s3://{LOGS}/{PREFIX}")});
    refused(
        logs_request(
            "none-match",
            json!({"invocationLogSource": source, "requestMetadataFilters": {"equals": {"project": "x"}}}),
        ),
        "No prompts in the invocation logs",
    );
    refused(
        logs_request("empty", json!({"invocationLogSource": {"s3Uri": format!("s3://{LOGS}/elsewhere/")}})),
        "No invocation logs were found",
    );
    let mut both = logs_request("both", json!({"invocationLogSource": source}));
    both.training_data_config.as_mut().unwrap().s3_uri = Some(format!("s3://{BUCKET}/{TRAIN}"));
    refused(both, "not both");
    let fine_tuning = CreateModelCustomizationJobRequest {
        customization_type: Some("FINE_TUNING".into()),
        customization_config: None,
        ..logs_request("ft", json!({"invocationLogSource": source}))
    };
    refused(fine_tuning, "DISTILLATION only");
    refused(logs_request("no-source", json!({"usePromptResponse": true})), "invocationLogSource' failed to satisfy");
    refused(
        logs_request("two", json!({"invocationLogSource": source, "requestMetadataFilters": {"andAll": []}})),
        "Bedrock takes 1 to 16",
    );
}

#[test]
fn more_prompts_than_bedrock_takes_are_refused_naming_the_limit() {
    let (emu, store, _) = setup();
    let many: String = (0..15_001).map(|i| record(&format!("question {i}"), "a", "bulk").to_string() + "\n").collect();
    store.put(LOGS, "bulk/2026/11/30/10/many.jsonl", many.as_bytes()).unwrap();
    let e = emu
        .create_model_customization_job(logs_request(
            "bulk",
            json!({"invocationLogSource": {"s3Uri": format!("s3://{LOGS}/bulk/")}}),
        ))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(e.message.contains("15001 prompts") && e.message.contains("at most 15000"), "{}", e.message);
}
