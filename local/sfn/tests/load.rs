use std::collections::BTreeMap;

use local_sfn::{Definition, LoadError, StateType, substitute_definition};
use serde_json::{Value, json};

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:work";

fn load(v: Value) -> Result<Definition, LoadError> {
    Definition::parse(&v.to_string())
}

/// A machine whose only state is `state`, named "S".
fn one(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state, "End": {"Type": "Succeed"}}})
}

fn refused(v: Value) -> String {
    match load(v.clone()) {
        Ok(_) => panic!("accepted: {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn accepts_every_implemented_construct() {
    let d = load(json!({
        "Comment": "all of it",
        "Version": "1.0",
        "QueryLanguage": "JSONPath",
        "TimeoutSeconds": 3600,
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Comment": "c", "QueryLanguage": "JSONPath", "InputPath": "$", "Parameters": {"a.$": "States.Array(1)"},
                "ResultPath": "$.p", "OutputPath": "$", "Next": "T"},
            "T": {"Type": "Task", "Resource": LAMBDA, "InputPath": null, "Parameters": {"x": 1}, "ResultSelector": {"y.$": "$.y"},
                "ResultPath": null, "OutputPath": null, "TimeoutSeconds": 30,
                "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 2, "MaxAttempts": 5, "BackoffRate": 1.5,
                    "MaxDelaySeconds": 60, "JitterStrategy": "FULL", "Comment": "r"}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F", "Comment": "c"}],
                "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "W", "Comment": "c"}],
                "Default": "S", "InputPath": "$", "OutputPath": "$"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "S"},
            "S": {"Type": "Succeed", "InputPath": "$", "OutputPath": "$"},
            "F": {"Type": "Fail", "Error": "E", "CausePath": "$.error.Cause"}
        }
    }))
    .unwrap();
    assert_eq!(d.start_at(), "P");
    assert_eq!(d.timeout_seconds(), Some(3600));
    assert_eq!(d.state_names().collect::<Vec<_>>(), ["C", "F", "P", "S", "T", "W"]);
    assert_eq!(d.state_type("W"), Some(StateType::Wait));
}

#[test]
fn refuses_unimplemented_constructs_naming_them_and_the_state() {
    let cases: Vec<(Value, &[&str])> = vec![
        (one(json!({"Type": "Parallel", "Branches": [], "Next": "End"})), &["state 'S'", "Parallel"]),
        (one(json!({"Type": "Map", "ItemProcessor": {}, "Next": "End"})), &["state 'S'", "Map"]),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "HeartbeatSeconds": 10, "Next": "End"})),
            &["state 'S'", "HeartbeatSeconds"],
        ),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "ItemReader": {}, "Next": "End"})),
            &["state 'S'", "ItemReader"],
        ),
        (one(json!({"Type": "Task", "Resource": LAMBDA, "Arguments": {}, "Next": "End"})), &["state 'S'", "Arguments"]),
        (one(json!({"Type": "Task", "Resource": LAMBDA, "Assign": {"x": 1}, "Next": "End"})), &["state 'S'", "Assign"]),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "TimeoutSecondsPath": "$.t", "Next": "End"})),
            &["state 'S'", "TimeoutSecondsPath"],
        ),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "Credentials": {}, "Next": "End"})),
            &["state 'S'", "Credentials"],
        ),
        (
            one(
                json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Next": "End"}),
            ),
            &["state 'S'", "waitForTaskToken"],
        ),
        (one(json!({"Type": "Task", "Resource": LAMBDA, "Colour": "red", "Next": "End"})), &["state 'S'", "Colour"]),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "Seconds": 3, "Next": "End"})),
            &["state 'S'", "Seconds", "Task"],
        ),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "QueryLanguage": "JSONata", "Next": "End"})),
            &["state 'S'", "JSONata"],
        ),
        (
            one(json!({"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "Next": "End"})),
            &["state 'S'", "States.UUID"],
        ),
        (
            one(json!({"Type": "Pass", "Parameters": {"h.$": "States.Hash($.a, 'MD5')"}, "Next": "End"})),
            &["state 'S'", "States.Hash"],
        ),
        (
            one(json!({"Type": "Pass", "Parameters": {"h.$": "States.Frobnicate($.a)"}, "Next": "End"})),
            &["state 'S'", "States.Frobnicate"],
        ),
        (
            one(json!({"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "End"}]})),
            &["state 'S'", "Condition"],
        ),
        (
            one(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringContains": "x", "Next": "End"}]})),
            &["state 'S'", "StringContains"],
        ),
        (
            one(
                json!({"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["X"], "Jitter": "FULL"}], "Next": "End"}),
            ),
            &["state 'S'", "Retry[0]", "Jitter"],
        ),
        (one(json!({"Type": "Fail", "ErrorPath": "States.Format('x')"})), &["state 'S'", "intrinsic", "ErrorPath"]),
        (one(json!({"Type": "Pass", "InputPath": "$$.Execution", "Next": "End"})), &["state 'S'", "InputPath"]),
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
            &["top level", "JSONata"],
        ),
        (json!({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}, "Extra": 1}), &["top level", "Extra"]),
    ];
    for (def, words) in cases {
        let msg = refused(def.clone());
        for w in words {
            assert!(msg.contains(w), "'{msg}' should mention '{w}' for {def}");
        }
        assert!(msg.contains("not supported"), "{msg}");
    }
}

#[test]
fn refuses_invalid_definitions() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"States": {"S": {"Type": "Succeed"}}}), "StartAt"),
        (json!({"StartAt": "Nope", "States": {"S": {"Type": "Succeed"}}}), "Nope"),
        (one(json!({"Type": "Pass", "Next": "Missing"})), "Missing"),
        (one(json!({"Type": "Pass"})), "Next"),
        (one(json!({"Type": "Pass", "Next": "End", "End": true})), "both"),
        (one(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "Gone"}]})), "Gone"),
        (
            one(
                json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "End"}], "Default": "Gone"}),
            ),
            "Gone",
        ),
        (one(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true}]})), "Next"),
        (
            one(
                json!({"Type": "Task", "Resource": LAMBDA, "Catch": [{"ErrorEquals": ["X"], "Next": "Gone"}], "Next": "End"}),
            ),
            "Gone",
        ),
        (
            one(
                json!({"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}], "Next": "End"}),
            ),
            "last",
        ),
        (
            one(
                json!({"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["States.ALL", "X"]}], "Next": "End"}),
            ),
            "alone",
        ),
        (
            one(
                json!({"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}], "Next": "End"}),
            ),
            "BackoffRate",
        ),
        (
            one(
                json!({"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}], "Next": "End"}),
            ),
            "JitterStrategy",
        ),
        (
            one(json!({"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": []}], "Next": "End"})),
            "ErrorEquals",
        ),
        (one(json!({"Type": "Task", "Next": "End"})), "Resource"),
        (one(json!({"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.a[*]", "Next": "End"})), "ResultPath"),
        (one(json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "Next": "End"})), "exactly one"),
        (one(json!({"Type": "Wait", "Timestamp": "tomorrow", "Next": "End"})), "Timestamp"),
        (one(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})), "both"),
        (one(json!({"Type": "Pass", "Parameters": {"a.$": "States.Format('{}')"}, "Next": "End"})), "placeholder"),
        (one(json!({"Type": "Dance", "Next": "End"})), "Dance"),
        (json!({"StartAt": "S", "States": {"S": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}}), "Orphan"),
    ];
    for (def, word) in cases {
        let msg = refused(def.clone());
        assert!(msg.contains(word), "'{msg}' should mention '{word}' for {def}");
    }
    assert!(matches!(Definition::parse("{not json"), Err(LoadError::Json(_))));
}

#[test]
fn substitution_then_load() {
    let text = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${WorkArn}", "End": true}}}"#;
    let values = BTreeMap::from([("WorkArn".to_string(), LAMBDA.to_string())]);
    let d = Definition::parse(&substitute_definition(text, &values).unwrap()).unwrap();
    assert_eq!(d.state_type("T"), Some(StateType::Task));
    let err = substitute_definition(text, &BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("${WorkArn}"), "{err}");
}

/// The project's own state machine, once it exists, must load after its substitutions.
#[test]
fn pipeline_definition_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../statemachine/pipeline.asl.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("{path} not present yet; skipped");
        return;
    };
    // Every `${Name}` becomes a Lambda ARN, as DefinitionSubstitutions would make it.
    let mut values = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("${") {
        let end = rest[i..].find('}').expect("closed placeholder") + i;
        let name = &rest[i + 2..end];
        values.insert(name.to_string(), format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"));
        rest = &rest[end + 1..];
    }
    let text = substitute_definition(&text, &values).unwrap();
    if let Err(e) = Definition::parse(&text) {
        panic!("statemachine/pipeline.asl.json is refused: {e}");
    }
}
