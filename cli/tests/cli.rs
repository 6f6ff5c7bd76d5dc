//! The `finetune` binary as a user runs it: exit codes, `--json` shape, files written.

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

fn finetune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_finetune")).args(args).output().expect("run finetune")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// `n` distinct prompt/completion records with three labels.
fn pc_records(n: usize) -> String {
    let labels = ["positive", "negative", "neutral"];
    (0..n).map(|i| format!("{{\"prompt\": \"review {i}\", \"completion\": \"{}\"}}\n", labels[i % 3])).collect()
}

const TITAN: &str = "amazon.titan-text-express-v1:0:8k";

#[test]
fn validate_exits_0_for_valid_and_1_for_invalid_with_json_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.jsonl", &pc_records(30));
    let out = finetune(&["validate", &good, "--model", TITAN, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["records"], 30);
    for key in ["errors", "warnings", "tokens", "estimated_cost_usd"] {
        assert!(report.get(key).is_some(), "missing {key}");
    }

    let bad = write(dir.path(), "bad.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\"}\n");
    let out = finetune(&["validate", &bad, "--model", TITAN, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let first = &report["errors"][0];
    assert_eq!(
        (first["line"].as_u64(), first["field"].as_str(), first["code"].as_str()),
        (Some(2), Some("completion"), Some("MISSING_FIELD"))
    );
}

#[test]
fn the_human_summary_names_the_line_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.jsonl", &(pc_records(5) + "{\"prompt\": \"x\", \"completion\": \"\"}\n"));
    let out = finetune(&["validate", &bad, "--model", TITAN]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NOT valid"), "{text}");
    assert!(text.contains("line 6, completion: `completion` is empty"), "{text}");
    assert!(text.contains("Estimated training cost"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.jsonl", &pc_records(3));
    let unknown_model = finetune(&["validate", &good, "--model", "amazon.nova-mega"]);
    assert_eq!(unknown_model.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown_model.stderr).contains("unknown model"));
    let unsupported =
        finetune(&["validate", &good, "--model", "amazon.nova-micro-v1:0", "--type", "continued-pre-training"]);
    assert_eq!(unsupported.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unsupported.stderr).contains("does not support CONTINUED_PRE_TRAINING"));
    assert_eq!(finetune(&["validate", &good, "--model", TITAN, "--type", "bogus"]).status.code(), Some(2));
    assert_eq!(finetune(&["validate", "/nonexistent.jsonl", "--model", TITAN]).status.code(), Some(2));
    assert_eq!(finetune(&["validate"]).status.code(), Some(2));
}

#[test]
fn type_accepts_lower_case_and_hyphens() {
    let dir = tempfile::tempdir().unwrap();
    let cpt = write(dir.path(), "cpt.jsonl", "{\"input\": \"some text\"}\n");
    let out = finetune(&["validate", &cpt, "--model", TITAN, "--type", "continued-pre-training", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn prepare_writes_a_normalized_deterministic_split_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    // CRLF, a BOM and a blank line: accepted with warnings, normalized in the output.
    let text = format!("\u{feff}{}\r\n\n", pc_records(100).trim_end().replace('\n', "\r\n"));
    let input = write(dir.path(), "in.jsonl", &text);
    let out_a = dir.path().join("a");
    let out_b = dir.path().join("b");
    for out in [&out_a, &out_b] {
        let o = finetune(&[
            "prepare",
            &input,
            "--model",
            TITAN,
            "--out",
            out.to_str().unwrap(),
            "--validation-ratio",
            "0.2",
            "--seed",
            "9",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    }
    let train = std::fs::read_to_string(out_a.join("train.jsonl")).unwrap();
    let validation = std::fs::read_to_string(out_a.join("validation.jsonl")).unwrap();
    assert_eq!((train.lines().count(), validation.lines().count()), (80, 20));
    assert!(!train.contains('\r') && !train.starts_with('\u{feff}') && !train.contains("\n\n"));
    assert_eq!(train, std::fs::read_to_string(out_b.join("train.jsonl")).unwrap());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out_a.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["split"]["strategy"], "stratified");
    assert_eq!(report["split"]["train_records"], 80);
    // The input is untouched.
    assert_eq!(std::fs::read_to_string(&input).unwrap(), text);
}

#[test]
fn prepare_of_invalid_data_writes_only_the_report_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", &(pc_records(10) + "not json\n"));
    let out = dir.path().join("out");
    let o = finetune(&["prepare", &input, "--model", TITAN, "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.join("report.json").exists());
    assert!(!out.join("train.jsonl").exists() && !out.join("validation.jsonl").exists());
    let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
}

#[test]
fn prepare_refuses_to_overwrite_its_input_and_a_bad_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "train.jsonl", &pc_records(10));
    let o = finetune(&["prepare", &input, "--model", TITAN, "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), pc_records(10));
    let o = finetune(&["prepare", &input, "--model", TITAN, "--out", "x", "--validation-ratio", "1.5"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn prepare_uses_a_supplied_validation_file_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", &pc_records(50));
    let val = write(dir.path(), "val.jsonl", "{\"prompt\": \"held\", \"completion\": \"out\"}\r\n");
    let out = dir.path().join("out");
    let o = finetune(&["prepare", &input, "--model", TITAN, "--out", out.to_str().unwrap(), "--validation-file", &val]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(std::fs::read_to_string(out.join("train.jsonl")).unwrap().lines().count(), 50);
    assert_eq!(
        std::fs::read_to_string(out.join("validation.jsonl")).unwrap(),
        "{\"prompt\": \"held\", \"completion\": \"out\"}\n"
    );
}

#[test]
fn run_takes_the_sample_through_the_local_cloud_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/support-tickets.jsonl");
    let args = ["run", sample, "--json", "--data-dir", data.to_str().unwrap()];
    let first = finetune(&args);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let outcome: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(outcome["status"], "SUCCEEDED");
    let states: Vec<&str> = outcome["states"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(states.iter().filter(|s| **s == "CheckJob").count() >= 2, "{states:?}");
    assert!(states.contains(&"CheckDeployment") && states.contains(&"Evaluate") && states.contains(&"Finalize"));
    assert_eq!(outcome["evaluation"]["passed"], true);
    assert!(outcome["job_arn"].as_str().unwrap().contains("model-customization-job"));
    assert!(outcome["state_transitions"].as_u64().unwrap() >= states.len() as u64);
    for key in ["run_id", "error", "cause", "custom_model_arn", "artifacts"] {
        assert!(outcome.get(key).is_some(), "{key}");
    }
    // The typed outcome's own fields: each visit timed, polls counted from the documents.
    let visits = outcome["visits"].as_array().unwrap();
    assert_eq!(visits.len(), states.len());
    assert!(visits.iter().all(|v| v["entered_at_ms"].as_i64() <= v["exited_at_ms"].as_i64()), "{visits:?}");
    let check_jobs = states.iter().filter(|s| **s == "CheckJob").count() as u64;
    assert_eq!(outcome["job"]["polls"].as_u64(), Some(check_jobs));
    assert_eq!((&outcome["job"]["status"], &outcome["deployment"]["kind"]), (&json!("Completed"), &json!("on-demand")));
    let billing = &outcome["left_billing"];
    assert_eq!(billing[0]["arn"], outcome["custom_model_arn"], "the kept model bills storage: {billing}");
    // The same file again: the same run id, no second job.
    let again: Value = serde_json::from_slice(&finetune(&args).stdout).unwrap();
    assert_eq!(again["run_id"], outcome["run_id"]);
    assert_eq!(again["repeated"], true);
}

#[test]
fn run_of_an_invalid_dataset_exits_1_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/support-tickets.jsonl")).unwrap();
    let mut lines: Vec<&str> = sample.lines().collect();
    lines[4] = "{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\": [";
    let input = write(dir.path(), "broken.jsonl", &(lines.join("\n") + "\n"));
    let data = dir.path().join("cloud");
    let out = finetune(&["run", &input, "--json", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((outcome["status"].as_str(), outcome["error"].as_str()), (Some("FAILED"), Some("DatasetInvalid")));
    assert!(outcome["cause"].as_str().unwrap().contains("line 5"), "{}", outcome["cause"]);
    assert!(outcome["job_arn"].is_null());
}

#[test]
fn help_describes_the_tool_and_its_three_commands() {
    let o = finetune(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("validate and prepare datasets, and run the whole pipeline"), "{help}");
    for command in ["validate", "prepare", "run"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "{command} missing from {help}");
    }
}

#[test]
fn the_example_config_is_valid_and_runs_the_sample() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/pipeline.json");
    let dir = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/support-tickets.jsonl");
    let data = dir.path().join("cloud");
    let out = finetune(&["run", sample, "--config", example, "--json", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["evaluation"]["min_improvement"], 0.05, "the example's gate was applied");
}

#[test]
fn the_readme_documents_every_field_of_the_pipeline_config() {
    use shared::pipeline::{PipelineConfig, VpcConfig};
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let table = readme.split("## Pipeline config").nth(1).and_then(|s| s.split("\n## ").next()).unwrap();
    // Every optional field set, so that it is serialized.
    let full = PipelineConfig {
        commitment: Some("OneMonth".into()),
        kms_key_id: Some("k".into()),
        vpc: Some(VpcConfig { subnet_ids: vec![], security_group_ids: vec![] }),
        training_source: shared::pipeline::TrainingSource::InvocationLogs,
        invocation_logs: Some(shared::pipeline::InvocationLogsOptions {
            use_prompt_response: true,
            request_metadata_filters: Some(shared::invocation_logs::RequestMetadataFilters::Equals(
                [("k".to_string(), "v".to_string())].into(),
            )),
        }),
        invocation_logs_s3_uri: Some("s3://logs/".into()),
        ..PipelineConfig::default()
    };
    let mut fields = Vec::new();
    for (key, value) in serde_json::to_value(full).unwrap().as_object().unwrap() {
        match value.as_object() {
            // Maps of free names (hyperparameters, tags) are one field; records list their fields.
            Some(inner) if key == "evaluation" || key == "vpc" || key == "invocation_logs" => {
                fields.extend(inner.keys().map(|k| format!("{key}.{k}")));
            }
            _ => fields.push(key.clone()),
        }
    }
    let missing: Vec<&String> = fields.iter().filter(|f| !table.contains(&format!("`{f}`"))).collect();
    assert!(missing.is_empty(), "README's Pipeline config lacks {missing:?}");
    // And the example sets only real fields.
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/pipeline.json")).unwrap(),
    )
    .unwrap();
    let merged = PipelineConfig::default().merge(&example).expect("the example merges");
    assert_eq!(merged.evaluation.min_improvement, 0.05);
}
