use super::*;
use serde_json::json;

fn grader(spec: Value) -> Grader {
    Grader::from_value(&spec).unwrap_or_else(|e| panic!("{e}"))
}

fn score(spec: Value, response: &str, reference: Value) -> f64 {
    grader(spec).grade(response, &reference).unwrap().score
}

fn spec_error(spec: Value) -> String {
    GraderSpec::from_value(&spec).unwrap_err().to_string()
}

#[test]
fn specs_round_trip_through_json_and_serde() {
    for spec in [
        json!({"mode": "exact"}),
        json!({"mode": "exact", "field": "answers[0].label", "partial_credit": true}),
        json!({"mode": "numeric", "abs_tolerance": 0.5, "rel_tolerance": 0.01, "partial_credit": true}),
        json!({"mode": "rubric", "criteria": [
            {"name": "polite", "weight": 2.5, "contains": "please", "case_sensitive": true},
            {"contains": {"reference": true}},
            {"contains": {"reference": "label"}},
            {"not_contains": "as an AI"},
            {"regex": "^Answer: [A-D]$"},
            {"number_within": {"value": 42.0, "abs_tolerance": 1.0}},
            {"number_within": {"reference": "total", "rel_tolerance": 0.1, "partial_credit": true}},
            {"number_within": {}},
            {"json_field_equals": {"path": "compliant"}},
            {"json_field_equals": {"path": "a.b", "value": [1, "x"], "case_sensitive": true}},
            {"json_field_equals": {"path": "a", "reference": "expected.a"}}
        ]}),
    ] {
        let parsed = GraderSpec::from_value(&spec).unwrap();
        assert_eq!(parsed.to_value(), spec);
        let via_serde: GraderSpec = serde_json::from_value(spec.clone()).unwrap();
        assert_eq!(via_serde, parsed);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), spec);
    }
    // `json_field_equals` without a value compares with the same field of the reference.
    let GraderSpec::Rubric(r) = GraderSpec::from_value(&json!({"mode": "rubric", "criteria": [
        {"json_field_equals": {"path": "x"}}]}))
    .unwrap() else {
        panic!()
    };
    assert!(
        matches!(&r.criteria[0].check, Check::JsonFieldEquals { value: Expected::Reference(Some(p)), .. } if p.as_str() == "x")
    );
    assert_eq!(GraderSpec::default(), GraderSpec::from_value(&json!({"mode": "exact"})).unwrap());
}

#[test]
fn invalid_specs_name_the_field() {
    let cases = [
        (json!("exact"), "grader: must be an object"),
        (json!({}), "grader.mode: is missing"),
        (json!({"mode": "fuzzy"}), "grader.mode: `fuzzy` is not a grader mode"),
        (
            json!({"mode": "exact", "tolerance": 1}),
            "grader.tolerance: is not a known field here; known: mode, field, partial_credit",
        ),
        (json!({"mode": "exact", "field": "a..b"}), "grader.field: `a..b` is not a field path (a key is empty)"),
        (json!({"mode": "exact", "partial_credit": "yes"}), "grader.partial_credit: must be true or false"),
        (json!({"mode": "numeric", "abs_tolerance": -1}), "grader.abs_tolerance: must be a number ≥ 0"),
        (json!({"mode": "rubric"}), "grader.criteria: is missing"),
        (json!({"mode": "rubric", "criteria": []}), "grader.criteria: is empty"),
        (json!({"mode": "rubric", "criteria": [{"weight": 1}]}), "grader.criteria[0]: has no check"),
        (
            json!({"mode": "rubric", "criteria": [{"contains": "a", "regex": "b"}]}),
            "grader.criteria[0]: has 2 checks (contains, regex)",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"contains": "a"}, {"regex": "(unclosed"}]}),
            "grader.criteria[1].regex: does not compile",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"contains": "a", "weight": 0}]}),
            "grader.criteria[0].weight: must be a number above 0",
        ),
        (json!({"mode": "rubric", "criteria": [{"contains": ""}]}), "grader.criteria[0].contains: is empty"),
        (
            json!({"mode": "rubric", "criteria": [{"contains": {"reference": 3}}]}),
            "grader.criteria[0].contains.reference: must be true or a field path",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"contains": "a", "colour": "red"}]}),
            "grader.criteria[0].colour: is not a known field here",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"number_within": {"value": 1, "reference": "x"}}]}),
            "grader.criteria[0].number_within: gives both `value` and `reference`",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"number_within": {"value": "ten"}}]}),
            "grader.criteria[0].number_within.value: must be a number",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"json_field_equals": {"value": 1}}]}),
            "grader.criteria[0].json_field_equals.path: is missing",
        ),
        (
            json!({"mode": "rubric", "criteria": [{"regex": "x", "case_sensitive": true}]}),
            "grader.criteria[0].case_sensitive: is not a known field here",
        ),
        (json!({"mode": "rubric", "criteria": [{"name": " ", "regex": "x"}]}), "grader.criteria[0].name: is empty"),
    ];
    for (spec, expected) in cases {
        let message = spec_error(spec.clone());
        assert!(message.starts_with(expected), "{spec}\n  got:  {message}\n  want: {expected}");
    }
    let many: Vec<Value> = (0..=MAX_CRITERIA).map(|_| json!({"contains": "x"})).collect();
    assert!(spec_error(json!({"mode": "rubric", "criteria": many})).contains("at most 32"));
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    assert!(spec_error(json!({"mode": "rubric", "criteria": [{"contains": long}]})).contains("at most 1000"));
    // A pattern that would compile to a huge program is refused, not built.
    assert!(
        spec_error(json!({"mode": "rubric", "criteria": [{"regex": "(((a{100}){100}){100})"}]}))
            .contains("does not compile")
    );
    // The serde path gives the same message.
    let e = serde_json::from_value::<GraderSpec>(json!({"mode": "numeric", "rel_tolerance": "1%"})).unwrap_err();
    assert!(e.to_string().contains("grader.rel_tolerance"), "{e}");
}

#[test]
fn exact_mode_normalizes_and_gives_partial_credit_on_request() {
    let exact = json!({"mode": "exact"});
    assert_eq!(score(exact.clone(), "  Paris. ", json!("paris")), 1.0);
    assert_eq!(score(exact.clone(), "The answer is Paris", json!("Paris")), 0.0);
    assert_eq!(score(exact.clone(), "42", json!(42)), 1.0);
    assert_eq!(score(exact, "true", json!(true)), 1.0);
    let partial = json!({"mode": "exact", "partial_credit": true});
    let s = score(partial.clone(), "The answer is Paris", json!("Paris"));
    assert!((s - 0.4).abs() < 1e-9, "token F1 of 1 common token in 4 vs 1: {s}");
    let g = grader(partial).grade("Paris", &json!("Paris")).unwrap();
    assert_eq!(g.metrics, vec![RewardMetric::metric("exact_match", 1.0), RewardMetric::reward("token_f1", 1.0)]);
    // Structured references need `field`.
    let field = json!({"mode": "exact", "field": "label"});
    assert_eq!(score(field.clone(), "spam", json!({"label": "Spam", "why": "..."})), 1.0);
    let g = grader(json!({"mode": "exact"}));
    assert_eq!(g.grade("x", &json!({"label": "x"})), Err(Malformed::ReferenceStructured("an object")));
    assert_eq!(grader(field).grade("x", &json!({"other": 1})), Err(Malformed::ReferenceField("label".into())));
    assert_eq!(g.grade("x", &Value::Null), Err(Malformed::NoReference));
}

#[test]
fn numeric_mode_reads_the_last_number_within_tolerance() {
    let strict = json!({"mode": "numeric"});
    assert_eq!(score(strict.clone(), "2 + 2 = 4", json!(4)), 1.0);
    assert_eq!(score(strict.clone(), "It is 0.30000000000000004", json!("0.3")), 1.0, "float noise is equal");
    assert_eq!(score(strict.clone(), "4.001", json!(4)), 0.0);
    assert_eq!(score(strict.clone(), r"\boxed{1,250} after 3 steps", json!("x = 1250")), 1.0);
    let abs = json!({"mode": "numeric", "abs_tolerance": 0.5});
    assert_eq!(score(abs.clone(), "about 10.4", json!(10)), 1.0);
    assert_eq!(score(abs, "about 10.6", json!(10)), 0.0);
    let rel = json!({"mode": "numeric", "rel_tolerance": 0.01});
    assert_eq!(score(rel.clone(), "1009", json!(1000)), 1.0);
    assert_eq!(score(rel, "1011", json!(1000)), 0.0);
    // Partial credit: 1 at the tolerance, 0 at ten times it, linear between.
    let partial = json!({"mode": "numeric", "abs_tolerance": 1, "partial_credit": true});
    assert_eq!(score(partial.clone(), "11", json!(10)), 1.0);
    assert!((score(partial.clone(), "15.5", json!(10)) - 0.5).abs() < 1e-9);
    assert_eq!(score(partial.clone(), "20", json!(10)), 0.0);
    assert_eq!(score(partial, "50", json!(10)), 0.0);
    // No number in the response: 0, and the metric says so.
    let g = grader(strict.clone()).grade("I don't know", &json!(3)).unwrap();
    assert_eq!(g.score, 0.0);
    assert!(g.metrics.contains(&RewardMetric::metric("number_found", 0.0)));
    let g = grader(strict.clone()).grade("3.5", &json!(3)).unwrap();
    assert_eq!(g.metrics[2], RewardMetric::metric("abs_error", 0.5));
    assert_eq!(grader(strict.clone()).grade("3", &json!("three")), Err(Malformed::ReferenceNotNumeric));
    assert_eq!(grader(strict).grade("3", &json!([3])), Err(Malformed::ReferenceStructured("an array")));
    let field = json!({"mode": "numeric", "field": "solution.value"});
    assert_eq!(score(field, "x = -2", json!({"solution": {"value": -2}})), 1.0);
}

#[test]
fn rubric_scores_the_weighted_share_of_criteria_met() {
    let spec = json!({"mode": "rubric", "criteria": [
        {"name": "mentions refund", "weight": 2, "contains": "REFUND"},
        {"name": "no boilerplate", "not_contains": "as an AI"},
        {"name": "answer line", "regex": "(?m)^Answer: [A-D]$"},
        {"name": "total", "weight": 3, "number_within": {"reference": "total", "abs_tolerance": 0.01}},
        {"name": "label", "json_field_equals": {"path": "label", "reference": "label"}},
        {"json_field_equals": {"path": "ok", "value": true}}
    ]});
    let reference = json!({"total": 12.5, "label": "Billing"});
    let response = "We will refund you.\nAnswer: B\n```json\n{\"label\": \"billing\", \"ok\": true}\n```\nTotal 12.50";
    let g = grader(spec.clone()).grade(response, &reference).unwrap();
    assert_eq!(g.score, 1.0, "{:?}", g.metrics);
    let names: Vec<&str> = g.metrics.iter().map(|m| m.name.as_ref()).collect();
    assert_eq!(
        names,
        ["mentions refund", "no boilerplate", "answer line", "total", "label", "criterion_6_json_field_equals"]
    );
    assert!(g.metrics.iter().all(|m| m.kind == MetricType::Reward));

    // Miss the refund (2), add boilerplate (1) and a wrong total (3): 9 - 6 = 3 of 9 met... plus JSON.
    let response = "As an AI I can't.\nAnswer: B\n{\"label\": \"Billing\", \"ok\": true} total 13";
    let g = grader(spec.clone()).grade(response, &reference).unwrap();
    let met: Vec<f64> = g.metrics.iter().map(|m| m.value).collect();
    assert_eq!(met, [0.0, 0.0, 1.0, 0.0, 1.0, 1.0]);
    assert!((g.score - 3.0 / 9.0).abs() < 1e-12);

    // A criterion that needs a reference field the sample lacks makes the sample malformed.
    assert_eq!(grader(spec).grade("x", &json!({"label": "x"})), Err(Malformed::ReferenceField("total".into())));
}

#[test]
fn rubric_contains_reference_and_case_rules() {
    let spec = json!({"mode": "rubric", "criteria": [
        {"contains": {"reference": true}},
        {"contains": "Exact", "case_sensitive": true},
        {"number_within": {"value": 100, "rel_tolerance": 0.1, "partial_credit": true}}
    ]});
    let g = grader(spec).grade("the label is SPAM (exact), roughly 125", &json!("spam")).unwrap();
    let met: Vec<f64> = g.metrics.iter().map(|m| m.value).collect();
    // 125 vs 100 at 10%: error 25 = 2.5 tolerances -> 1 - 15/90.
    assert_eq!(met[..2], [1.0, 0.0]);
    assert!((met[2] - (1.0 - 15.0 / 90.0)).abs() < 1e-9);
}

#[test]
fn json_is_found_whole_fenced_or_embedded() {
    let spec = json!({"mode": "rubric", "criteria": [{"json_field_equals": {"path": "n", "value": 4}}]});
    for response in [r#"{"n": 4}"#, "```json\n{\"n\": \"4\"}\n```", "Result: {\"n\": 4.0} done", "```\n{\"n\": 4}\n```"]
    {
        assert_eq!(score(spec.clone(), response, json!(null)), 1.0, "{response}");
    }
    for response in ["{\"n\": 5}", "no json", "{broken", "} {"] {
        assert_eq!(score(spec.clone(), response, json!(null)), 0.0, "{response}");
    }
}

#[test]
fn grader_new_checks_specs_built_in_code() {
    let spec = GraderSpec::Rubric(RubricSpec {
        criteria: vec![Criterion { name: None, weight: -1.0, check: Check::Regex { pattern: "x".into() } }],
    });
    assert!(Grader::new(spec).unwrap_err().to_string().contains("weight"));
}

#[test]
fn the_spec_is_embedded_after_the_opening_brace() {
    let spec = serde_json::to_string(&GraderSpec::from_value(&json!({"mode": "numeric", "abs_tolerance": 1})).unwrap())
        .unwrap();
    let mut out = Vec::new();
    embed_in_record(br#"  {"messages": [], "reference_answer": "4"}"#, &spec, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[METADATA_KEY], json!({"mode": "numeric", "abs_tolerance": 1.0}));
    assert_eq!(v["reference_answer"], "4");
    out.clear();
    embed_in_record(b"{ }", &spec, &mut out).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&out).unwrap().as_object().unwrap().len(), 1);
    // The key inside a message is fine; at the top level it is refused.
    out.clear();
    let quoted = br#"{"messages": [{"role": "user", "content": "\"finetune_grader\""}], "reference_answer": 1}"#;
    embed_in_record(quoted, &spec, &mut out).unwrap();
    let nested = br#"{"x": {"finetune_grader": 1}}"#;
    assert!(embed_in_record(nested, &spec, &mut Vec::new()).is_ok());
    let taken = br#"{"finetune_grader": {"mode": "exact"}, "reference_answer": 1}"#;
    assert_eq!(embed_in_record(taken, &spec, &mut Vec::new()), Err(EmbedError::KeyTaken));
    assert_eq!(embed_in_record(b"[1]", &spec, &mut Vec::new()), Err(EmbedError::NotAnObject));
    assert_eq!(embed_in_record(b"   ", &spec, &mut Vec::new()), Err(EmbedError::NotAnObject));
}
