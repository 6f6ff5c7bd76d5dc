//! Every `--json` document's keys, pinned: a key added, renamed or dropped fails here until its
//! golden file (cli/tests/golden/) and its entry in docs/json-output.md change with it. Run with
//! `UPDATE_GOLDEN=1` to rewrite the golden files after a deliberate change.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.keys"))
}

fn pin(name: &str, paths: &BTreeSet<String>) {
    let text: String = paths.iter().map(|p| format!("{p}\n")).collect();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden(name), &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(golden(name)).unwrap_or_default();
    let expected: BTreeSet<String> = expected.lines().map(String::from).collect();
    let added: Vec<_> = paths.difference(&expected).collect();
    let dropped: Vec<_> = expected.difference(paths).collect();
    assert!(
        added.is_empty() && dropped.is_empty(),
        "{name}: keys added {added:?}, dropped {dropped:?}; update docs/json-output.md, then rerun with UPDATE_GOLDEN=1"
    );
}

/// One JSON document on one line, as printed.
fn printed(o: &std::process::Output) -> String {
    json(o);
    stdout(o)
}

/// Each command's documents in the situations that change which keys have values.
fn documents() -> Vec<(&'static str, serde_json::Value)> {
    documents_as_printed().into_iter().map(|(name, text)| (name, serde_json::from_str(&text).unwrap())).collect()
}

/// The same, as the commands printed them.
fn documents_as_printed() -> Vec<(&'static str, String)> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut docs = Vec::new();
    let valid =
        write(d, "valid.jsonl", &(pc_records(30) + "{\"prompt\": \"review 0\", \"completion\": \"positive\"}\r\n"));
    let invalid = write(d, "invalid.jsonl", &(pc_records(5) + "{\"prompt\": \"x\"}\n"));
    docs.push(("validate-valid", printed(&finetune(&["validate", &valid, "--model", TITAN, "--json"]))));
    docs.push(("validate-invalid", printed(&finetune(&["validate", &invalid, "--model", TITAN, "--json"]))));
    let out = d.join("prepared");
    let out = out.to_str().unwrap();
    docs.push(("prepare-valid", printed(&finetune(&["prepare", &valid, "--model", TITAN, "--out", out, "--json"]))));
    docs.push((
        "prepare-invalid",
        printed(&finetune(&["prepare", &invalid, "--model", TITAN, "--out", out, "--json"])),
    ));
    let data = |name: &str| d.join(name).to_str().unwrap().to_string();
    docs.push(("run-succeeded", printed(&finetune(&["run", sample(), "--json", "--data-dir", &data("ok")]))));
    let failed =
        printed(&finetune(&["run", sample(), "--json", "--data-dir", &data("f"), "--fault", "deployment-failed"]));
    docs.push(("run-failed-deployment", failed));
    let broken = std::fs::read_to_string(sample()).unwrap().replacen('\n', "\r\n{\"messages\": [\r\n", 1);
    let broken = write(d, "broken.jsonl", &broken);
    docs.push(("run-invalid-dataset", printed(&finetune(&["run", &broken, "--json", "--data-dir", &data("bad")]))));
    docs.push(("models", printed(&finetune(&["models", "--json"]))));
    docs.push(("presets", printed(&finetune(&["presets", TITAN, "--json"]))));
    let sample_file = data("sample.jsonl");
    docs.push((
        "sample",
        printed(&finetune(&["sample", "--task", "qa", "--model", TITAN, "--out", &sample_file, "--json"])),
    ));
    docs
}

#[test]
fn every_json_document_has_its_pinned_keys_and_every_key_is_documented() {
    let docs = documents();
    let documentation = std::fs::read_to_string(repo_file("docs/json-output.md")).unwrap();
    let mut undocumented = Vec::new();
    for (name, doc) in &docs {
        let paths = key_paths(doc);
        pin(name, &paths);
        let command = name.split('-').next().unwrap();
        // prepare's document is validate's report plus its own keys.
        let commands: &[&str] = if command == "prepare" { &["validate", "prepare"] } else { &[command] };
        let section: String = documentation
            .split("\n## ")
            .filter(|s| commands.iter().any(|c| s.starts_with(&format!("`{c} --json`"))))
            .collect();
        undocumented
            .extend(paths.iter().filter(|p| !section.contains(&format!("`{p}`"))).map(|p| format!("{command}: {p}")));
    }
    undocumented.sort();
    undocumented.dedup();
    assert!(undocumented.is_empty(), "keys missing from docs/json-output.md:\n{}", undocumented.join("\n"));
}

#[test]
fn every_key_is_always_present_whatever_the_outcome() {
    let docs = documents();
    let top = |name: &str| -> BTreeSet<String> {
        let doc = &docs.iter().find(|(n, _)| *n == name).unwrap().1;
        doc.as_object().unwrap().keys().cloned().collect()
    };
    for family in [
        &["validate-valid", "validate-invalid"][..],
        &["prepare-valid", "prepare-invalid"],
        &["run-succeeded", "run-failed-deployment", "run-invalid-dataset"],
    ] {
        for name in &family[1..] {
            assert_eq!(top(family[0]), top(name), "{} and {name} differ in their keys", family[0]);
        }
    }
    let run = &docs.iter().find(|(n, _)| *n == "run-invalid-dataset").unwrap().1;
    for key in ["evaluation", "job", "deployment", "job_arn", "custom_model_arn"] {
        assert_eq!(run[key], serde_json::Value::Null, "{key}: present and null when not applicable");
    }
    assert!(run["artifacts"].as_object().unwrap().values().any(serde_json::Value::is_null));
}

#[test]
fn numbers_are_rounded_and_paths_absolute() {
    let printed = documents_as_printed();
    for (name, text) in &printed {
        let exponent = numbers(text).into_iter().find(|n| n.contains(['e', 'E']));
        assert_eq!(exponent, None, "{name}: a number with an exponent in {text}");
        assert!(!text.contains("00000000001") && !text.contains("99999999"), "{name}: float noise in {text}");
    }
    let raw = |name: &str| &printed.iter().find(|(n, _)| *n == name).unwrap().1;
    assert!(raw("run-succeeded").contains(r#""lambda_requests_usd":0.000003"#), "{}", raw("run-succeeded"));
    let docs = documents();
    let run = &docs.iter().find(|(n, _)| *n == "run-succeeded").unwrap().1;
    for at in run["artifacts"].as_object().unwrap().values() {
        assert!(at.as_str().unwrap().starts_with('/'), "{at}");
    }
    let prepared = &docs.iter().find(|(n, _)| *n == "prepare-valid").unwrap().1;
    assert!(prepared["file"].as_str().unwrap().starts_with('/'));
    assert!(prepared["outputs"]["train"].as_str().unwrap().starts_with('/'));
}

/// The number tokens of a JSON text, as written (strings skipped).
fn numbers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '-' | '0'..='9' => {
                let mut token = c.to_string();
                while let Some(&c) =
                    chars.peek().filter(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    token.push(c);
                    chars.next();
                }
                found.push(token);
            }
            _ => {}
        }
    }
    found
}

#[test]
fn the_number_scanner_finds_numbers_outside_strings_only() {
    assert_eq!(numbers(r#"{"a":"3e5 \"2e1","b":[1.5,-2e-6],"c":0.0000032}"#), ["1.5", "-2e-6", "0.0000032"]);
}
