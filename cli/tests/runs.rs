//! `finetune run` end to end, for each bug the command had: a changed flag on a re-run, a deployment
//! failure's error name, costs on failure and with a kept throughput, the data folder's bookkeeping,
//! reports that name local files and mark what is emulated.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn run(data: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["run", sample(), "--json", "--data-dir", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = finetune(&args);
    (o.status.code(), json(&o), stderr(&o))
}

#[test]
fn every_flag_makes_a_different_run_and_force_starts_a_new_one_keeping_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let (code, first, _) = run(&data, &[]);
    assert_eq!((code, first["repeated"].as_bool()), (Some(0), Some(false)));
    let (code, again, err) = run(&data, &[]);
    assert_eq!((code, again["repeated"].as_bool()), (Some(0), Some(true)));
    assert_eq!(again["run_id"], first["run_id"]);
    assert!(err.contains("already ran") && err.contains("--force"), "{err}");
    // The same effective config, however it is spelt, is the same run.
    let (_, spelt, _) = run(&data, &["--deployment", "on-demand", "--type", "fine-tuning"]);
    assert_eq!((spelt["run_id"].clone(), spelt["repeated"].as_bool()), (first["run_id"].clone(), Some(true)));

    // A different --fault is a different run: checked, applied, and not confused with the first.
    let (code, faulty, _) = run(&data, &["--fault", "deployment-failed"]);
    assert_eq!((code, faulty["repeated"].as_bool()), (Some(1), Some(false)));
    assert_ne!(faulty["run_id"], first["run_id"]);
    assert_eq!(faulty["error"], "DeploymentFailed", "a failed deployment is not a failed job");
    let (_, faulty_again, _) = run(&data, &["--fault", "deployment-failed,seed=0"]);
    assert_eq!(
        (faulty_again["run_id"].clone(), faulty_again["repeated"].as_bool()),
        (faulty["run_id"].clone(), Some(true))
    );
    let invalid = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap(), "--fault", "throttle=abc"]);
    assert_eq!(invalid.status.code(), Some(2), "an invalid spec is a usage error before anything runs");
    assert!(stdout(&invalid).is_empty() && stderr(&invalid).contains("throttle=abc"), "{}", stderr(&invalid));

    // --force: a new run of the same input, the earlier ones and their files kept.
    let (code, forced, _) = run(&data, &["--force"]);
    assert_eq!((code, forced["repeated"].as_bool()), (Some(0), Some(false)));
    let ids: Vec<&str> = [&first, &faulty, &forced].iter().map(|o| o["run_id"].as_str().unwrap()).collect();
    assert!(ids[0] != ids[2] && ids[1] != ids[2], "{ids:?}");
    for outcome in [&first, &faulty, &forced] {
        let summary = outcome["artifacts"]["summary"].as_str().unwrap();
        assert!(Path::new(summary).is_file(), "{summary} was kept");
    }
}

#[test]
fn a_failed_run_prices_its_training_and_lists_what_teardown_removed_and_what_still_bills() {
    let dir = tempfile::tempdir().unwrap();
    let (_, succeeded, _) = run(&dir.path().join("ok"), &[]);
    let (code, failed, _) = run(&dir.path().join("failed"), &["--fault", "deployment-failed"]);
    assert_eq!(code, Some(1));
    assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("FAILED"), Some("DeploymentFailed")));
    let training = &failed["aws_cost_estimate"]["training_usd"];
    assert!(training.as_f64().is_some_and(|v| v > 0.0), "{failed}");
    assert_eq!(training, &succeeded["aws_cost_estimate"]["training_usd"], "the same data, the same price");
    let error = &failed["errors"][0];
    assert_eq!((error["code"].as_str(), error["line"].as_u64()), (Some("DeploymentFailed"), None));
    assert!(error["message"].as_str().unwrap().contains("deployment ended Failed"), "{error}");
    let removed = failed["cleaned_up"].as_array().unwrap();
    assert!(removed.iter().any(|r| r["what"] == "on-demand-deployment" && r["action"] == "deleted"), "{removed:?}");
    let billing: Vec<&str> =
        failed["left_billing"].as_array().unwrap().iter().map(|b| b["what"].as_str().unwrap()).collect();
    assert_eq!(billing, ["custom-model"], "the deployment was deleted; the model's storage remains");

    let failed_dir = dir.path().join("failed");
    let text =
        finetune(&["run", sample(), "--data-dir", failed_dir.to_str().unwrap(), "--fault", "deployment-failed", "-q"]);
    let text = stdout(&text);
    assert!(text.contains("Status:      FAILED (DeploymentFailed)"), "{text}");
    assert!(text.contains("(an earlier run, shown again: no job was started now"), "{text}");
    assert!(text.contains("training $0.0"), "priced, not 'unknown': {text}");
    assert!(text.contains("Deleted by teardown: on-demand deployment arn:"), "{text}");
}

#[test]
fn a_run_asking_beyond_the_operators_caps_fails_before_anything_bills() {
    // By default the operator allows only the template's base model and no throughput billed by the
    // hour; `--parameter AllowedDeploymentModes=...` is how a local user plays operator.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "reviews.jsonl", &pc_records(40));
    let data = dir.path().join("cloud");
    let args =
        ["run", &file, "--model", TITAN_LITE, "--deployment", "provisioned", "--data-dir", data.to_str().unwrap()];
    let o = finetune(&[&args[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let outcome = json(&o);
    assert_eq!(outcome["left_billing"], serde_json::json!([]), "{outcome}");
    let text = outcome.to_string();
    for needle in [
        "ConfigInvalid",
        "deployment: `provisioned` is beyond the operator's cap",
        "AllowedDeploymentModes",
        "AllowedBaseModels",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn an_invalid_dataset_lists_every_error_with_its_line_and_field_in_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(sample()).unwrap().lines().map(String::from).collect();
    lines[4] = "{\"schemaVersion\": \"bedrock-conversation-2024\", \"messages\": [".into();
    lines[7] = lines[7].replace("\"role\": \"user\"", "\"role\": \"bot\"");
    let input = write(dir.path(), "broken.jsonl", &(lines.join("\r\n") + "\r\n"));
    let o = finetune(&["run", &input, "--json", "--data-dir", dir.path().join("cloud").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let outcome = json(&o);
    let errors: Vec<(Option<u64>, Option<&str>, &str)> = outcome["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64(), e["field"].as_str(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(Some(5), None, "INVALID_JSON"), (Some(8), Some("messages[0].role"), "INVALID_ROLE")]);
    assert!(outcome["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "CRLF_LINE_ENDINGS"));
    assert_eq!(outcome["aws_cost_estimate"]["training_usd"], Value::Null, "no job was started");
    let text = stdout(&finetune(&["run", &input, "-q", "--data-dir", dir.path().join("cloud").to_str().unwrap()]));
    assert!(text.contains("The dataset is not valid:\n  - line 5: not valid JSON"), "{text}");
    assert!(text.contains("  - line 8, messages[0].role: role `bot`"), "{text}");
    assert!(text.contains("Dataset warnings:\n  - "), "{text}");
}

#[test]
fn the_data_folder_shows_the_bucket_and_keeps_its_bookkeeping_aside() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let (_, outcome, _) = run(&data, &[]);
    let mut entries: Vec<String> =
        std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    assert_eq!(entries, [".finetune", "finetune-local"]);
    let bucket: Vec<String> = std::fs::read_dir(data.join("finetune-local"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(bucket.iter().all(|n| !n.starts_with('.')), "{bucket:?}");
    for (name, at) in outcome["artifacts"].as_object().unwrap() {
        let at = at.as_str().unwrap_or_else(|| panic!("{name} was written"));
        assert!(at.starts_with(data.join("finetune-local").to_str().unwrap()), "{name}: {at}");
        assert!(Path::new(at).exists(), "{at}");
    }
}

#[test]
fn reports_link_to_the_files_beside_them_and_mark_virtual_times_and_emulated_curves() {
    let dir = tempfile::tempdir().unwrap();
    let (_, outcome, _) = run(&dir.path().join("cloud"), &[]);
    let markdown = Path::new(outcome["artifacts"]["evaluation_markdown"].as_str().unwrap());
    let md = std::fs::read_to_string(markdown).unwrap();
    assert!(md.contains("(the local cloud's virtual clock"), "{md}");
    let link = md.split("Every answer: [").nth(1).and_then(|l| l.split_once("](")).map(|(_, rest)| rest).unwrap();
    let target = markdown.parent().unwrap().join(&link[..link.find(')').unwrap()]);
    assert!(target.is_file(), "the link opens the local file: {}", target.display());
    assert_eq!(target, Path::new(outcome["artifacts"]["predictions"].as_str().unwrap()));

    let output = Path::new(outcome["artifacts"]["bedrock_output"].as_str().unwrap());
    let job = std::fs::read_dir(output).unwrap().next().unwrap().unwrap().path();
    for csv in [
        "training_artifacts/step_wise_training_metrics.csv",
        "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
    ] {
        let text = std::fs::read_to_string(job.join(csv)).unwrap();
        assert!(text.lines().next().unwrap().ends_with(",emulated"), "{csv}: {text}");
        assert!(text.lines().skip(1).all(|l| l.ends_with(",true")), "{csv}");
    }
    assert_eq!(outcome["virtual_clock"], true);
}

#[test]
fn a_model_offered_only_in_us_west_2_runs_there_by_default_and_a_region_without_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let llama = "meta.llama3-2-1b-instruct-v1:0:128k";
    let file = dir.path().join("llama.jsonl");
    let file = file.to_str().unwrap();
    let made = finetune(&["sample", "--task", "qa", "--records", "150", "--model", llama, "--out", file]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let data = dir.path().join("cloud");
    let allow = format!("AllowedBaseModels={llama}");
    // The catalogue has no training price for it: the operator accepts an uncapped cost.
    let unpriced = "UnpricedModelsAllowed=true";
    let data = data.to_str().unwrap();
    let base = ["run", file, "--model", llama, "--data-dir", data, "--parameter", &allow, "--parameter", unpriced];

    let o = finetune(&[&base[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("is not offered in us-east-1: the local stack runs in us-west-2"), "{err}");
    let outcome = json(&o);
    let text = outcome.to_string();
    assert!(text.contains("arn:aws:bedrock:us-west-2:"), "the job ran in us-west-2: {text}");
    assert!(!text.contains("arn:aws:bedrock:us-east-1:"), "{text}");

    // Asked for a region Bedrock does not customize it in: refused before anything starts.
    let o = finetune(&[&base[..], &["--region", "us-east-1"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--region us-east-1") && err.contains("offered in us-west-2"), "{err}");
    assert!(!err.contains("Uploaded"), "nothing was uploaded: {err}");
}
