//! Reinforcement fine-tuning as the emulator trains it: at each evaluation point the emulated policy
//! answers a few training prompts several times, the job's reward Lambda (its
//! `rftConfig.graderConfig.lambdaGrader.lambdaArn`) grades the answers in batches, as Bedrock calls it,
//! and the mean reward per point is the job's reward curve. The policy's answers get better with
//! training — more often the reference, closer to it when not — so what the curve shows is what the
//! grader makes of them: a strict exact grader, a numeric grader with a tolerance, or a rubric each give
//! their own curve. Emulated answers, real grading.

use std::sync::Arc;

use serde_json::{Value, json};
use xxhash_rust::xxh3::xxh3_64;

/// How the emulator reaches a Lambda function: the local cloud gives it its Lambda functions.
pub trait RewardFunction: Send + Sync {
    /// Invokes `function_arn` synchronously with `payload`; the function's JSON answer, or why the
    /// call failed (function not found, function error), as Lambda would say it.
    fn invoke(&self, function_arn: &str, payload: &Value) -> Result<Value, String>;
}

pub(crate) type RewardHook = Arc<dyn RewardFunction>;

/// Evaluation points on the curve at most.
const MAX_POINTS: u64 = 12;
/// Prompts answered at each point at most.
const PROMPTS_PER_POINT: usize = 8;
/// Answers per prompt at most (Bedrock's `trainingSamplePerPrompt`, default 4).
const MAX_SAMPLES_PER_PROMPT: u64 = 4;

/// One point of the reward curve.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RewardRow {
    pub step: u64,
    pub epoch: u64,
    pub mean_reward: f64,
    /// Gradings this point is the mean of.
    pub graded: u64,
}

/// The reward curve of an RFT job, grading with `hook`. `records` are the training file's lines.
pub(crate) fn reward_curve(
    hook: &dyn RewardFunction,
    function_arn: &str,
    job_name: &str,
    records: &[Value],
    epochs: u64,
    steps_per_epoch: u64,
    samples_per_prompt: u64,
) -> Result<Vec<RewardRow>, String> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let seed = xxh3_64(job_name.as_bytes());
    let total_steps = (epochs.max(1) * steps_per_epoch.max(1)).max(1);
    let points = MAX_POINTS.min(total_steps);
    let samples = samples_per_prompt.clamp(1, MAX_SAMPLES_PER_PROMPT);
    let mut rows = Vec::new();
    for point in 0..points {
        let progress = if points == 1 { 1.0 } else { point as f64 / (points - 1) as f64 };
        let step = ((total_steps - 1) as f64 * progress).round() as u64;
        let mut batch = Vec::new();
        for p in 0..PROMPTS_PER_POINT.min(records.len()) {
            let at = (xxh3_64(&[seed.to_le_bytes(), point.to_le_bytes(), (p as u64).to_le_bytes()].concat()) as usize)
                % records.len();
            let record = &records[at];
            for s in 0..samples {
                let draw = unit(seed, point * 1000 + p as u64 * 10 + s);
                let answer = emulated_answer(record.get("reference_answer").unwrap_or(&Value::Null), progress, draw);
                batch.push(sample(record, format!("{job_name}-{point}-{p}-{s}"), answer));
            }
        }
        let answer = hook.invoke(function_arn, &Value::Array(batch.clone()))?;
        let scores = scores(&answer, batch.len())?;
        rows.push(RewardRow {
            step,
            epoch: step / steps_per_epoch.max(1),
            mean_reward: scores.iter().sum::<f64>() / scores.len().max(1) as f64,
            graded: scores.len() as u64,
        });
    }
    Ok(rows)
}

/// The sample Bedrock sends: the prompt's messages and the answer, the record's other fields as
/// metadata.
fn sample(record: &Value, id: String, answer: String) -> Value {
    let mut messages: Vec<Value> = record
        .get("messages")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter(|m| m.get("role").and_then(Value::as_str) != Some("assistant")).cloned().collect())
        .unwrap_or_default();
    messages.push(json!({"role": "assistant", "content": answer}));
    let metadata: serde_json::Map<String, Value> = record
        .as_object()
        .map(|o| o.iter().filter(|(k, _)| k.as_str() != "messages").map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    json!({"id": id, "messages": messages, "metadata": metadata})
}

/// The grader's answer: one `aggregate_reward_score` per sample, in [0, 1].
fn scores(answer: &Value, expected: usize) -> Result<Vec<f64>, String> {
    let items = answer.as_array().ok_or_else(|| format!("the reward function returned {answer}, not an array"))?;
    if items.len() != expected {
        return Err(format!("the reward function returned {} scores for {expected} samples", items.len()));
    }
    items
        .iter()
        .map(|i| {
            i.get("aggregate_reward_score")
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite())
                .ok_or_else(|| format!("a reward function result has no numeric aggregate_reward_score: {i}"))
        })
        .collect()
}

/// What the emulated policy answers at `progress` (0 untrained .. 1 trained): the reference with a
/// probability that grows with training; otherwise a near miss that gets nearer (a number off by a
/// shrinking share, a text missing a shrinking share of its words).
fn emulated_answer(reference: &Value, progress: f64, draw: f64) -> String {
    let text = match reference {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if draw < 0.15 + 0.7 * progress {
        return text;
    }
    let miss = 1.0 - progress;
    if let Some(n) = reference.as_f64().or_else(|| text.trim().parse::<f64>().ok()) {
        let off = n * (0.02 + 0.6 * miss) * if draw > 0.5 { 1.0 } else { -1.0 };
        let wrong = if n == 0.0 { 1.0 + miss * 10.0 } else { n + off };
        return format!("{}", (wrong * 1000.0).round() / 1000.0);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let keep = ((words.len() as f64) * (0.3 + 0.6 * progress)).floor() as usize;
    if keep == 0 { "I am not sure.".to_string() } else { words[..keep.min(words.len())].join(" ") }
}

fn unit(seed: u64, i: u64) -> f64 {
    let h = xxh3_64(&[seed.to_le_bytes(), i.to_le_bytes()].concat());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// `step_number,epoch_number,mean_reward,graded,emulated`: the reward curve beside Bedrock's loss files.
pub(crate) fn reward_csv(rows: &[RewardRow]) -> String {
    let mut out = String::from("step_number,epoch_number,mean_reward,graded,emulated\n");
    for r in rows {
        out.push_str(&format!("{},{},{:.6},{},true\n", r.step, r.epoch, r.mean_reward, r.graded));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact match, in-test: 1 when the answer equals the reference.
    struct Exact;
    impl RewardFunction for Exact {
        fn invoke(&self, arn: &str, payload: &Value) -> Result<Value, String> {
            assert_eq!(arn, "arn:aws:lambda:us-east-1:123456789012:function:grader");
            Ok(Value::Array(
                payload
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        let answer = s["messages"].as_array().unwrap().last().unwrap()["content"].clone();
                        let reference = &s["metadata"]["reference_answer"];
                        let same = answer.as_str() == reference.as_str()
                            || answer.as_str().map(str::to_string) == Some(reference.to_string());
                        json!({"id": s["id"], "aggregate_reward_score": if same { 1.0 } else { 0.0 }})
                    })
                    .collect(),
            ))
        }
    }

    struct Broken;
    impl RewardFunction for Broken {
        fn invoke(&self, _: &str, _: &Value) -> Result<Value, String> {
            Err("ResourceNotFoundException: Function not found".into())
        }
    }

    fn records() -> Vec<Value> {
        (0..20)
            .map(|i| json!({"messages": [{"role": "user", "content": format!("what is {i} + {i}?")}], "reference_answer": (2 * i).to_string(), "difficulty": "easy"}))
            .collect()
    }

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:grader";

    #[test]
    fn the_reward_curve_is_the_graders_mean_and_rises_with_training() {
        let rows = reward_curve(&Exact, ARN, "job", &records(), 2, 10, 4).unwrap();
        assert_eq!(rows.len(), 12);
        assert_eq!((rows[0].step, rows[11].step, rows[11].epoch), (0, 19, 1));
        assert!(rows.iter().all(|r| r.graded == 32 && (0.0..=1.0).contains(&r.mean_reward)));
        let first: f64 = rows[..3].iter().map(|r| r.mean_reward).sum();
        let last: f64 = rows[9..].iter().map(|r| r.mean_reward).sum();
        assert!(last > first + 0.5, "{rows:?}");
        assert_eq!(rows, reward_curve(&Exact, ARN, "job", &records(), 2, 10, 4).unwrap());
        let csv = reward_csv(&rows);
        assert!(csv.starts_with("step_number,epoch_number,mean_reward,graded,emulated\n0,0,"), "{csv}");
    }

    #[test]
    fn samples_carry_the_records_fields_as_metadata_and_a_grader_failure_is_the_jobs() {
        let s = sample(&records()[3], "x".into(), "6".into());
        assert_eq!(s["metadata"], json!({"reference_answer": "6", "difficulty": "easy"}));
        assert_eq!(s["messages"][1], json!({"role": "assistant", "content": "6"}));
        let err = reward_curve(&Broken, ARN, "job", &records(), 1, 5, 4).unwrap_err();
        assert!(err.contains("Function not found"));
        assert!(emulated_answer(&json!("12"), 0.0, 0.99).parse::<f64>().unwrap() != 12.0);
        assert_eq!(emulated_answer(&json!("the cat sat"), 1.0, 0.1), "the cat sat");
    }
}
