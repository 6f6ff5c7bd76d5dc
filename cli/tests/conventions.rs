//! The conventions every command follows (README: "Command-line conventions"): results on stdout and
//! progress on stderr, no panic on any output condition, exit codes, errors that say where and what to
//! do, help with examples and exit status.

mod common;

use common::*;
use std::process::Stdio;

/// Spawns the command with stdout closed by its reader before anything is written, as `| head` does
/// once it has its lines.
fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let mut child = bin().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly_with_141_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let data = data.to_str().unwrap();
    // Large enough that validation is still running when the pipe closes.
    let big = write(dir.path(), "big.jsonl", &pc_records(30_000));
    let commands: [&[&str]; 4] = [
        &["run", sample(), "--data-dir", data],
        &["run", sample(), "--data-dir", data, "--json", "--force"],
        &["validate", &big, "--model", TITAN],
        &["validate", &big, "--model", TITAN, "--json"],
    ];
    for args in commands {
        let o = with_stdout_closed(args);
        let err = stderr(&o);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(141), "{args:?}: {err}");
        assert!(!err.contains("cannot write"), "a closed stdout is not worth a message: {err}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_a_failure_with_a_message_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    for args in [
        vec!["validate", sample(), "--model", "amazon.nova-micro-v1:0"],
        vec!["models", "--json"],
        vec!["run", sample(), "--json", "--data-dir", data.to_str().unwrap()],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let o = bin().args(&args).stdout(full).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains("cannot write the output to stdout") && err.contains("No space left"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[cfg(unix)]
#[test]
fn paths_that_are_not_utf8_are_shown_never_panicked_on() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"tickets-\xff.jsonl");
    let file = dir.path().join(name);
    std::fs::copy(sample(), &file).unwrap();
    let validate =
        bin().arg("validate").arg(&file).args(["--model", "amazon.nova-micro-v1:0", "--json"]).output().unwrap();
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    let report = json(&validate);
    let shown = report["file"].as_str().unwrap();
    assert!(shown.starts_with('/') && shown.ends_with("tickets-\u{fffd}.jsonl"), "{shown}");

    let data = dir.path().join(std::ffi::OsStr::from_bytes(b"cloud-\xfe"));
    let run = bin().arg("run").arg(&file).arg("--data-dir").arg(&data).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stdout(&run).contains("cloud-\u{fffd}"), "{}", stdout(&run));

    let gone = dir.path().join(std::ffi::OsStr::from_bytes(b"gone-\xff.jsonl"));
    let missing = bin().arg("validate").arg(gone).args(["--model", TITAN]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("gone-\u{fffd}.jsonl does not exist"), "{}", stderr(&missing));
}

#[test]
fn results_go_to_stdout_and_progress_to_stderr_one_line_per_state_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let o = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(out.starts_with("Status:      SUCCEEDED\n"), "{out}");
    assert!(!out.contains("[t+") && !out.contains("Uploaded"), "progress on stdout: {out}");
    assert!(err.contains("Uploaded s3://") && err.contains("virtual clock"), "{err}");
    // The poll loops: one line each, with the count and how long they took (on the virtual clock).
    let loop_line = err.lines().find(|l| l.contains("WaitForJob")).unwrap();
    // The first wait comes from the job's estimate, then a short ladder: a few polls.
    assert!(loop_line.contains("WaitForJob ×") && loop_line.contains("(with CheckJob, JobStatus)"), "{err}");
    assert_eq!(err.lines().filter(|l| l.contains("CheckJob") || l.contains("CheckDeployment")).count(), 2, "{err}");
    assert!(err.lines().count() < 20, "a piped run is a short log: {err}");

    let again = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap(), "--json", "--force", "-q"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(json(&again)["status"], "SUCCEEDED");
    assert_eq!(stderr(&again), "", "--quiet: no progress");
}

#[test]
fn every_command_has_examples_and_its_exit_status_in_its_help_and_enumerations_list_their_values() {
    for command in ["validate", "prepare", "run", "models"] {
        let o = finetune(&[command, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        let help = stdout(&o);
        assert!(help.contains("Examples:\n  finetune "), "{command}: {help}");
        assert!(help.contains("Exit status:\n  0 "), "{command}: {help}");
        assert!(help.contains("  2    usage error") && help.contains("141"), "{command}: {help}");
    }
    let run = stdout(&finetune(&["run", "--help"]));
    assert!(
        run.contains("[possible values: FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING]")
    );
    assert!(
        run.contains("--deployment <MODE>") && run.contains("[possible values: auto, none, on-demand, provisioned]")
    );
    assert!(run.contains("--force"), "{run}");
    let top = stdout(&finetune(&["--help"]));
    assert!(top.contains("Exit status:") && top.contains("models"), "{top}");
    let bad = finetune(&["run", sample(), "--deployment", "always"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("[possible values: auto, none, on-demand, provisioned]"), "{}", stderr(&bad));
}

#[test]
fn models_lists_the_catalogue_as_a_table_or_json_filtered_by_type() {
    let o = finetune(&["models"]);
    assert_eq!(o.status.code(), Some(0));
    let table = stdout(&o);
    assert!(table.starts_with("MODEL ") && table.contains("DEPLOYMENT"), "{table}");
    assert!(table.contains("amazon.nova-micro-v1:0:128k") && table.contains("on-demand, provisioned, none"));
    let cpt = stdout(&finetune(&["models", "--type", "continued-pre-training"]));
    assert!(
        cpt.lines()
            .skip(1)
            .take_while(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
            .all(|l| l.contains("CONTINUED_PRE_TRAINING"))
    );
    assert!(!cpt.contains("nova-micro"), "Nova Micro has no continued pre-training: {cpt}");

    let models = json(&finetune(&["models", "--json"]));
    let models = models.as_array().unwrap();
    assert_eq!(models.len(), shared::catalogue::all().len(), "every model of the catalogue");
    let micro = models.iter().find(|m| m["id"] == "amazon.nova-micro-v1:0:128k").unwrap();
    assert_eq!(micro["deployment"], serde_json::json!(["on-demand", "provisioned", "none"]));
    assert_eq!(micro["regions"], serde_json::json!(["us-east-1"]));
    let ft = &micro["customizations"][0];
    assert_eq!(ft["type"], "FINE_TUNING");
    assert_eq!(ft["max_tokens_per_record"]["value"], 32000);
    let epochs = ft["hyperparameters"].as_array().unwrap().iter().find(|h| h["name"] == "epochCount").unwrap();
    assert_eq!(
        (epochs["kind"].as_str(), epochs["min"].as_i64(), epochs["max"].as_i64()),
        (Some("integer"), Some(1), Some(5))
    );
    let lite = models.iter().find(|m| m["id"] == TITAN_LITE).unwrap();
    assert_eq!(lite["provisioned_throughput_usd_per_hour"]["value"], 7.1);
}

#[test]
fn errors_name_the_path_the_field_the_value_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = finetune(&["validate", "/nonexistent/data.jsonl", "--model", TITAN]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(stderr(&missing), "finetune: /nonexistent/data.jsonl does not exist\n");
    let folder = finetune(&["run", dir.path().to_str().unwrap()]);
    assert_eq!(folder.status.code(), Some(2));
    assert!(stderr(&folder).contains("is a folder, not a file"), "{}", stderr(&folder));

    // A CSV file: one clear hint, not an invalid-JSON error per line.
    let csv = write(dir.path(), "data.jsonl", "prompt,completion\nhello,world\nbye,moon\n");
    let o = finetune(&["validate", &csv, "--model", TITAN, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let report = json(&o);
    assert_eq!(report["error_count"], 1, "{report}");
    assert_eq!(report["errors"][0]["code"], "CSV_NOT_JSON_LINES");
    let named_csv = write(dir.path(), "data.csv", "prompt,completion\n");
    let o = finetune(&["run", &named_csv]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("must be a .jsonl file") && stderr(&o).contains("finetune validate"), "{}", stderr(&o));

    // The config is checked whole before anything starts: every problem with its field path.
    let data = dir.path().join("cloud");
    let config = write(
        dir.path(),
        "pipeline.json",
        r#"{"hyperparameters": {"epochCount": 3}, "evaluation": {"min_improvement": 2}}"#,
    );
    let o = finetune(&["run", sample(), "--config", &config, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(r#"  - hyperparameters.epochCount: 3 is not a string"#), "{err}");
    assert!(err.contains(r#"write "epochCount": "3""#) && err.contains("examples/pipeline.json"), "{err}");
    assert!(err.contains("invalid: 2 problems") && err.contains("  - evaluation.min_improvement: 2 can"), "{err}");
    let config = write(dir.path(), "gate.json", r#"{"evaluation": {"min_improvement": 2, "sample_size": 0}}"#);
    let o = finetune(&["run", sample(), "--config", &config, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("invalid: 2 problems\n"), "{err}");
    assert!(
        err.contains("\n  - evaluation.min_improvement: 2 can never be met")
            && err.contains("\n  - evaluation.sample_size: 0")
    );
    let fault = finetune(&["run", sample(), "--fault", "throttle=abc", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(fault.status.code(), Some(2));
    assert!(stderr(&fault).contains("--fault `throttle=abc`") && stderr(&fault).contains("not a number"));
    assert!(!data.exists(), "nothing started for a usage error");

    // deployment none: said up front that evaluation and the gate are skipped.
    let o = finetune(&["run", sample(), "--deployment", "none", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Notes:\n  - deployment `none`: the model is trained but not deployed, so the evaluation")
    );
}
