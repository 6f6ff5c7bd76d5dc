//! A small topic-classification dataset in bedrock-conversation-2024 form, and helpers.
#![allow(dead_code)]

use local_bedrock::wire::{
    CreateModelCustomizationJobRequest, OutputDataConfig, TrainingDataConfig, ValidationDataConfig, Validator,
};
use local_bedrock::{Config, Emulator, MemoryStore, ObjectStore};
use local_sfn::VirtualClock;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

pub const BUCKET: &str = "pipeline-bucket";
pub const TRAIN: &str = "runs/r1/train.jsonl";
pub const VALID: &str = "runs/r1/validation.jsonl";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockFineTuning";
pub const NOVA: &str = "amazon.nova-micro-v1:0:128k";

const TOPICS: [(&str, [&str; 8]); 4] = [
    ("sports", ["goal", "striker", "match", "referee", "league", "penalty", "stadium", "coach"]),
    ("finance", ["stocks", "dividend", "inflation", "bonds", "earnings", "investor", "market", "interest"]),
    ("weather", ["rain", "forecast", "storm", "sunny", "humidity", "temperature", "wind", "clouds"]),
    ("cooking", ["recipe", "oven", "garlic", "simmer", "flour", "butter", "onions", "bake"]),
];

/// (prompt, label) pairs; `offset` picks different word combinations for held-out data.
pub fn samples(n_per_topic: usize, offset: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..n_per_topic {
        for (label, words) in TOPICS {
            let k = i + offset;
            let (a, b, c) = (words[k % 8], words[(k * 3 + 1) % 8], words[(k * 5 + 2) % 8]);
            let prompt = if offset == 0 {
                format!("Classify the topic of this text: the {a} and the {b} were discussed near the {c}.")
            } else {
                // Held-out data: another wording and word order than training.
                format!("Which topic fits best: {c}, {a}, {b}?")
            };
            out.push((prompt, label.to_string()));
        }
    }
    out
}

pub fn conversation_jsonl(samples: &[(String, String)]) -> String {
    samples
        .iter()
        .map(|(p, l)| {
            json!({"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "You label topics."}],
                "messages": [{"role": "user", "content": [{"text": p}]}, {"role": "assistant", "content": [{"text": l}]}]})
            .to_string()
                + "\n"
        })
        .collect()
}

pub fn seeded_store() -> MemoryStore {
    let store = MemoryStore::new();
    store.put(BUCKET, TRAIN, conversation_jsonl(&samples(10, 0)).as_bytes()).unwrap();
    store.put(BUCKET, VALID, conversation_jsonl(&samples(3, 100)).as_bytes()).unwrap();
    store
}

pub fn emulator(config: Config) -> (Emulator, MemoryStore, VirtualClock) {
    let store = seeded_store();
    let clock = VirtualClock::default();
    (Emulator::new(store.clone(), clock.clone(), config), store, clock)
}

pub fn job_request(name: &str, token: Option<&str>) -> CreateModelCustomizationJobRequest {
    CreateModelCustomizationJobRequest {
        job_name: Some(name.into()),
        custom_model_name: Some(format!("{name}-model")),
        role_arn: Some(ROLE.into()),
        client_request_token: token.map(Into::into),
        base_model_identifier: Some(NOVA.into()),
        training_data_config: Some(TrainingDataConfig {
            s3_uri: Some(format!("s3://{BUCKET}/{TRAIN}")),
            invocation_logs_config: None,
        }),
        validation_data_config: Some(ValidationDataConfig {
            validators: vec![Validator { s3_uri: format!("s3://{BUCKET}/{VALID}") }],
        }),
        output_data_config: Some(OutputDataConfig { s3_uri: Some(format!("s3://{BUCKET}/runs/r1/output/")) }),
        hyper_parameters: Some(BTreeMap::from([("epochCount".to_string(), "2".to_string())])),
        ..Default::default()
    }
}

pub fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

pub fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}
