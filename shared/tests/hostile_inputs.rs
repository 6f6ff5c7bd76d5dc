//! The new readers of untrusted text never panic and keep their promises on any input: the grader's
//! number reader and scoring (responses come from a model, references and specs from the uploader),
//! the JSON-array converter, the loss CSV reader, and the HTML report's escaping.

use proptest::prelude::*;
use serde_json::{Value, json};
use shared::convert::array_to_jsonl_with_limit;
use shared::grader::{Grader, number};
use shared::html_report::{self, ExampleAnswer, ReportInput};
use shared::loss_csv::{self, LossKind};

/// Text made of the characters the readers care about, so inputs hit their edge cases often.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "0",
        "7",
        "42",
        "-",
        "+",
        "−",
        ".",
        ",",
        "/",
        "e",
        "E",
        "%",
        "$",
        " ",
        "\n",
        "\\boxed{",
        "}",
        "{",
        "####",
        "\\frac{",
        "\\dfrac{",
        "x",
        "1,234",
        "3/4",
        "[",
        "]",
        "\"",
        "\\",
        "<",
        ">",
        "&",
        "</script>",
        "é",
        "🌍",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

fn graders() -> Vec<Grader> {
    [
        json!({"mode": "exact"}),
        json!({"mode": "exact", "partial_credit": true, "field": "a"}),
        json!({"mode": "numeric", "abs_tolerance": 0.5, "partial_credit": true}),
        json!({"mode": "rubric", "criteria": [
            {"contains": {"reference": true}}, {"not_contains": "x"}, {"regex": "[0-9]+$"},
            {"number_within": {"rel_tolerance": 0.1, "partial_credit": true}},
            {"json_field_equals": {"path": "a[0]"}}]}),
    ]
    .iter()
    .map(|s| Grader::from_value(s).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn numbers_are_finite_and_the_last_one_is_chosen(text in tricky_text()) {
        let all = number::numbers(&text);
        prop_assert!(all.iter().all(|n| n.is_finite()));
        if !text.contains("\\boxed{") && !text.contains("####") {
            prop_assert_eq!(number::last_number(&text), all.last().copied());
        }
    }

    #[test]
    fn grades_are_in_range_or_say_why(response in tricky_text(), reference in tricky_text(), structured in any::<bool>()) {
        let reference = if structured { json!({"a": [reference]}) } else { Value::String(reference) };
        for grader in graders() {
            if let Ok(grade) = grader.grade(&response, &reference) {
                prop_assert!((0.0..=1.0).contains(&grade.score), "{}", grade.score);
                prop_assert!(!grade.metrics.is_empty());
                prop_assert!(grade.metrics.iter().all(|m| m.value.is_finite()));
            }
        }
    }

    #[test]
    fn any_spec_json_parses_or_is_refused(spec in tricky_text()) {
        if let Ok(value) = serde_json::from_str::<Value>(&spec) {
            let _ = Grader::from_value(&value);
        }
        let _ = Grader::from_value(&json!({"mode": "rubric", "criteria": [{"regex": spec}, {"contains": spec}]}));
    }

    #[test]
    fn conversion_output_lines_are_the_array_elements(text in tricky_text(), limit in 1usize..200) {
        let mut out = Vec::new();
        if let Ok(c) = array_to_jsonl_with_limit(text.as_bytes(), &mut out, limit) {
            prop_assert_eq!(out.iter().filter(|b| **b == b'\n').count() as u64, c.records);
            // When the input is a valid JSON array, every line is its element.
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&text) {
                let lines: Vec<Value> = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
                prop_assert_eq!(lines, items);
            }
        }
    }

    #[test]
    fn loss_csvs_never_panic(text in tricky_text()) {
        for kind in [LossKind::Training, LossKind::Validation] {
            if let Ok(series) = loss_csv::parse(&format!("step_number,{},epoch_number\n{text}", kind.loss_column()), kind) {
                prop_assert!(series.points.windows(2).all(|w| w[0].step <= w[1].step));
                let _ = loss_csv::sparkline(&series.losses(), 20);
            }
        }
    }

    #[test]
    fn report_text_never_becomes_markup(text in tricky_text()) {
        let input = ReportInput {
            run_id: text.clone(),
            examples: vec![ExampleAnswer { prompt: text.clone(), reference: text.clone(), base: Some(text.clone()), custom: None }],
            ..ReportInput::default()
        };
        let html = html_report::render(&input);
        let body = html.split("</style>").nth(1).unwrap();
        prop_assert!(!body.contains("</script>") && !body.contains("<script"));
        // The text is there, escaped.
        prop_assert!(body.contains(&html_report::esc(&text)));
    }
}
