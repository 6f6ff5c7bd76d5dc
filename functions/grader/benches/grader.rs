//! The grader's throughput and per-invocation latency (issue 11's targets: at least 100,000 exact or
//! numeric gradings per second on one core, and a batch of 64 responses graded in under 5 ms inside
//! the handler, JSON in to JSON out).
//!
//! `cargo bench -p grader --bench grader`
//!
//! - `grade/exact`, `grade/numeric`, `grade/rubric`: 1,000 realistic (response, reference) pairs per
//!   iteration through `Grader::grade`; criterion reports elements per second.
//! - `handler/batch64_*`: a 64-sample batch as Bedrock sends it (system + user + a worked answer of a
//!   few hundred characters, metadata with the run's spec), from the request bytes to the response
//!   bytes: parse, `grade_batch`, serialize — what the Lambda does per invocation besides the runtime.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use grader::{Deps, grade_batch};
use serde_json::{Value, json};
use shared::grader::{Grader, METADATA_KEY};
use std::hint::black_box;

const PAIRS: usize = 1000;

/// A worked answer ending in a number, with a wrong answer every fourth sample.
fn math_response(i: usize) -> (String, Value) {
    let (boxes, per_box) = (3 + i % 17, 6 + i % 23);
    let total = boxes * per_box;
    let given = if i % 4 == 3 { total + 1 } else { total };
    let response = format!(
        "Each box holds {per_box} pens and there are {boxes} boxes. Multiplying the number of boxes by the \
         number of pens per box gives {boxes} × {per_box} = {given}. Checking: {given} ÷ {boxes} = {per_box}, \
         which matches. So the shop has {given} pens in total, about {:.1} dozen.\n#### {given}",
        given as f64 / 12.0
    );
    (response, json!(total.to_string()))
}

fn label_response(i: usize) -> (String, Value) {
    const LABELS: [&str; 5] = ["billing", "technical", "shipping", "account", "returns"];
    let label = LABELS[i % 5];
    let response = if i.is_multiple_of(3) { format!("{}.", label.to_uppercase()) } else { format!(" {label}") };
    (response, json!(LABELS[(i + i / 7) % 5]))
}

fn bench_grading(c: &mut Criterion) {
    let exact = Grader::from_value(&json!({"mode": "exact"})).unwrap();
    let numeric = Grader::from_value(&json!({"mode": "numeric", "abs_tolerance": 0.01})).unwrap();
    let rubric = Grader::from_value(&json!({"mode": "rubric", "criteria": [
        {"weight": 3, "number_within": {"abs_tolerance": 0.01}},
        {"contains": "total"},
        {"not_contains": "sorry"},
        {"regex": "#### -?[0-9]+$"}
    ]}))
    .unwrap();
    let labels: Vec<(String, Value)> = (0..PAIRS).map(label_response).collect();
    let math: Vec<(String, Value)> = (0..PAIRS).map(math_response).collect();

    let mut group = c.benchmark_group("grade");
    group.throughput(Throughput::Elements(PAIRS as u64));
    for (name, grader, data) in [("exact", &exact, &labels), ("numeric", &numeric, &math), ("rubric", &rubric, &math)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut sum = 0.0;
                for (response, reference) in data {
                    sum += grader.grade(black_box(response), black_box(reference)).unwrap().score;
                }
                sum
            })
        });
    }
    group.finish();
}

fn batch(spec: &Value, pair: fn(usize) -> (String, Value)) -> Vec<u8> {
    let samples: Vec<Value> = (0..64)
        .map(|i| {
            let (response, reference) = pair(i);
            json!({
                "id": format!("sample-{i:03}"),
                "messages": [
                    {"role": "system", "content": "You are a careful assistant. Show your work, then give the final answer after ####."},
                    {"role": "user", "content": format!("A shop has {} boxes with {} pens in each box. How many pens does the shop have?", 3 + i % 17, 6 + i % 23)},
                    {"role": "assistant", "content": response}
                ],
                "metadata": {"reference_answer": reference, METADATA_KEY: spec, "task_id": format!("pens-{i}"), "difficulty": "easy"}
            })
        })
        .collect();
    serde_json::to_vec(&samples).unwrap()
}

fn bench_handler(c: &mut Criterion) {
    let deps = Deps::from_lookup(|_| None).unwrap();
    let mut group = c.benchmark_group("handler");
    let cases = [
        ("batch64_exact", batch(&json!({"mode": "exact"}), label_response)),
        ("batch64_numeric", batch(&json!({"mode": "numeric", "abs_tolerance": 0.01}), math_response)),
        (
            "batch64_rubric",
            batch(
                &json!({"mode": "rubric", "criteria": [
                    {"weight": 3, "number_within": {"abs_tolerance": 0.01}},
                    {"contains": "total"}, {"not_contains": "sorry"}, {"regex": "#### -?[0-9]+$"}]}),
                math_response,
            ),
        ),
    ];
    for (name, request) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let event: Value = serde_json::from_slice(black_box(request)).unwrap();
                let out = grade_batch(&deps, &event).unwrap();
                serde_json::to_vec(&out).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_grading, bench_handler);
criterion_main!(benches);
