//! The grader Lambda's handler on batches shaped as Bedrock sends them: the documented example, a math
//! batch carrying the run's spec, a rubric batch, mixed and malformed samples, and the environment's
//! default spec.

use grader::{ConfigError, DEFAULT_SPEC_ENV, Deps, grade_batch, handler};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use shared::grader::{METADATA_KEY, MetricType, RewardMetric, RewardOutput};

fn deps(default: Option<&str>) -> Deps {
    Deps::from_lookup(|name| (name == DEFAULT_SPEC_ENV).then(|| default.map(str::to_string)).flatten()).unwrap()
}

fn sample(id: &str, prompt: &str, response: &str, metadata: Value) -> Value {
    json!({
        "id": id,
        "messages": [
            {"role": "system", "content": "Solve the problem. End with the answer."},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response}
        ],
        "metadata": metadata
    })
}

fn scores(out: &[RewardOutput]) -> Vec<f64> {
    out.iter().map(|o| o.aggregate_reward_score).collect()
}

fn metric<'o>(out: &'o RewardOutput, name: &str) -> Option<&'o RewardMetric> {
    out.metrics_list.iter().find(|m| m.name == name)
}

fn invoke(deps: &Deps, event: Value) -> Value {
    let out = handler(deps, LambdaEvent::new(event, Context::default())).unwrap();
    serde_json::to_value(out).unwrap()
}

#[test]
fn the_documented_example_round_trips_through_the_handler() {
    // reward-functions.html's input, with a structured reference; the default spec compares a field.
    let event = json!([{
        "id": "123",
        "messages": [
            {"role": "user", "content": "Do you have a dedicated security team?"},
            {"role": "assistant", "content": "No."}
        ],
        "metadata": {
            "reference_answer": {"compliant": "No", "explanation": "As an AI developed by Company, ..."},
            "my_key": "sample-001"
        }
    }]);
    let out = invoke(&deps(Some(r#"{"mode": "exact", "field": "compliant"}"#)), event);
    assert_eq!(
        out,
        json!([{"id": "123", "aggregate_reward_score": 1.0,
                "metrics_list": [{"name": "exact_match", "value": 1.0, "type": "Reward"}]}])
    );
}

#[test]
fn a_math_batch_is_graded_with_the_spec_each_record_carries() {
    let spec = json!({"mode": "numeric", "abs_tolerance": 0.01});
    let meta = |answer: Value| json!({"reference_answer": answer, METADATA_KEY: spec.clone(), "task_id": "gsm-7"});
    let batch = json!([
        sample(
            "s1",
            "A box holds 12 pens. How many pens in 4 boxes?",
            "12 pens per box, 4 boxes: 12 × 4 = 48. The answer is 48.",
            meta(json!("48"))
        ),
        sample("s2", "Same question", "I think it's 12 + 4 = 16.", meta(json!("48"))),
        sample("s3", "Price after 10% off 250?", r"250 − 25 = \boxed{225.00}", meta(json!(225))),
        sample("s4", "What is 1/3 of 0.9?", "0.9/3 = 0.3", meta(json!({"value": 0.3}))),
        sample("s5", "How many?", "I cannot answer that.", meta(json!("7"))),
    ]);
    // The Lambda's default would score all of these 0: the records' own spec must win.
    let out = grade_batch(&deps(Some(r#"{"mode": "exact", "field": "nothing"}"#)), &batch).unwrap();
    assert_eq!(out.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["s1", "s2", "s3", "s4", "s5"]);
    assert_eq!(scores(&out), [1.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(metric(&out[1], "abs_error").unwrap().value, 32.0);
    // s4's reference is structured and the spec names no field: malformed, and it says so.
    assert_eq!(out[3].metrics_list, [RewardMetric::metric("malformed/reference_is_structured", 1.0)]);
    assert_eq!(metric(&out[4], "number_found").unwrap().value, 0.0);
}

#[test]
fn a_rubric_batch_reports_each_criterion() {
    let spec = json!({"mode": "rubric", "criteria": [
        {"name": "label", "weight": 3, "json_field_equals": {"path": "label"}},
        {"name": "reason given", "regex": "(?i)\"reason\"\\s*:\\s*\"[^\"]{10,}\""},
        {"name": "no apology", "not_contains": "sorry"}
    ]});
    let meta = |label: &str| json!({"reference_answer": {"label": label}, METADATA_KEY: spec.clone()});
    let batch = json!([
        sample(
            "a",
            "Classify: refund not received",
            r#"{"label": "billing", "reason": "Mentions a missing refund."}"#,
            meta("billing")
        ),
        sample(
            "b",
            "Classify: app crashes",
            "Sorry! ```json\n{\"label\": \"technical\", \"reason\": \"short\"}\n```",
            meta("technical")
        ),
        sample("c", "Classify: where is my parcel", r#"{"label": "billing"}"#, meta("shipping")),
    ]);
    let out = grade_batch(&deps(None), &batch).unwrap();
    assert_eq!(scores(&out), [1.0, 0.6, 0.2]);
    let b: Vec<(&str, f64, MetricType)> =
        out[1].metrics_list.iter().map(|m| (m.name.as_ref(), m.value, m.kind)).collect();
    assert_eq!(
        b,
        [
            ("label", 1.0, MetricType::Reward),
            ("reason given", 0.0, MetricType::Reward),
            ("no apology", 0.0, MetricType::Reward)
        ]
    );
}

#[test]
fn malformed_samples_score_zero_and_never_fail_the_batch() {
    let good = sample("ok", "2+2?", "4", json!({"reference_answer": "4"}));
    let batch = json!([
        good,
        "not an object",
        {"messages": [{"role": "assistant", "content": "4"}], "metadata": {"reference_answer": "4"}},
        {"id": "no-response", "messages": [{"role": "user", "content": "2+2?"}], "metadata": {"reference_answer": "4"}},
        {"id": "no-messages", "metadata": {"reference_answer": "4"}},
        {"id": "no-reference", "messages": [{"role": "assistant", "content": "4"}], "metadata": {}},
        {"id": "null-reference", "messages": [{"role": "assistant", "content": "4"}], "metadata": {"reference_answer": null}},
        {"id": "bad-spec", "messages": [{"role": "assistant", "content": "4"}],
         "metadata": {"reference_answer": "4", METADATA_KEY: {"mode": "rubric", "criteria": [{"regex": "("}]}}},
        {"id": "content-number", "messages": [{"role": "assistant", "content": 4}], "metadata": {"reference_answer": "4"}},
        {"id": 17, "messages": [{"role": "assistant", "content": [{"type": "text", "text": "4"}]}], "metadata": {"reference_answer": 4}},
        {"id": "top-level", "messages": [{"role": "assistant", "content": [{"text": "4"}]}], "reference_answer": "4"},
        {"id": "empty-response", "messages": [{"role": "assistant", "content": ""}], "metadata": {"reference_answer": "4"}}
    ]);
    let out = grade_batch(&deps(None), &batch).unwrap();
    let summary: Vec<(&str, f64, &str)> =
        out.iter().map(|o| (o.id.as_str(), o.aggregate_reward_score, o.metrics_list[0].name.as_ref())).collect();
    assert_eq!(
        summary,
        [
            ("ok", 1.0, "exact_match"),
            ("", 0.0, "malformed/not_an_object"),
            ("", 0.0, "malformed/no_id"),
            ("no-response", 0.0, "malformed/no_response"),
            ("no-messages", 0.0, "malformed/no_response"),
            ("no-reference", 0.0, "malformed/no_reference_answer"),
            ("null-reference", 0.0, "malformed/no_reference_answer"),
            ("bad-spec", 0.0, "malformed/invalid_grader_spec"),
            ("content-number", 0.0, "malformed/no_response"),
            ("17", 1.0, "exact_match"),
            ("top-level", 1.0, "exact_match"),
            ("empty-response", 0.0, "exact_match"),
        ]
    );
}

#[test]
fn one_sample_object_is_a_batch_of_one_and_anything_else_is_an_error() {
    let one = sample("x", "q", "Paris", json!({"reference_answer": "paris"}));
    assert_eq!(invoke(&deps(None), one)[0]["aggregate_reward_score"], 1.0);
    assert_eq!(invoke(&deps(None), json!([])), json!([]));
    let err = handler(&deps(None), LambdaEvent::new(json!("grade me"), Context::default())).unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "ConfigInvalid");
    assert!(diagnostic.error_message.contains("JSON array of samples"), "{}", diagnostic.error_message);
}

#[test]
fn the_default_spec_comes_from_the_environment() {
    let lookup = |value: &'static str| move |name: &str| (name == DEFAULT_SPEC_ENV).then(|| value.to_string());
    assert!(Deps::from_lookup(lookup("  ")).is_ok(), "blank means unset: exact");
    let numeric = Deps::from_lookup(lookup(r#"{"mode": "numeric", "rel_tolerance": 0.05}"#)).unwrap();
    let out = grade_batch(&numeric, &json!([sample("n", "q", "about 103", json!({"reference_answer": 100}))])).unwrap();
    assert_eq!(out[0].aggregate_reward_score, 1.0);
    assert!(matches!(Deps::from_lookup(lookup("{mode: exact}")), Err(ConfigError::NotJson(_))));
    let e = Deps::from_lookup(lookup(r#"{"mode": "numeric", "abs_tolerance": -1}"#)).err().unwrap();
    assert_eq!(e.to_string(), "GRADER_SPEC: grader.abs_tolerance: must be a number ≥ 0, not -1");
}
