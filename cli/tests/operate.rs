//! The operating commands against a served local cloud, as separate processes talk to it: `finetune
//! local serve` in the background, then `submit`, `runs`, `status`, `metrics`, `ask`, `compare`,
//! `cost` and `stop` with `--local DIR`, over the real wire. Then Ctrl-C stops the server cleanly
//! and the bucket is still there.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `finetune local serve` child; killed if a test fails before stopping it.
struct Served {
    child: Option<Child>,
    dir: PathBuf,
}

impl Served {
    fn start(dir: &Path) -> Served {
        let child = bin()
            // The operator allows a throughput (the run below keeps one).
            .args(["local", "serve", "--port", "0", "--parameter", "AllowedDeploymentModes=none,on-demand,provisioned"])
            .arg("--data-dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start finetune local serve");
        let env = dir.join("env");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !env.exists() {
            assert!(Instant::now() < deadline, "no {} after 60 s", env.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        Served { child: Some(child), dir: dir.to_path_buf() }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let dir = self.dir.to_str().unwrap();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--local", dir]);
        finetune(&all)
    }

    /// Ctrl-C, as a person stops it; returns its exit status.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 30 s of Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ok_json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", o.status, stdout(o), stderr(o));
    json(o)
}

#[test]
fn a_served_local_cloud_is_operated_like_a_stack() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(dir.path());
    let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
    for name in [
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_BEDROCK",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_ENDPOINT_URL_SFN",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "BucketName",
        "StateMachineArn",
        "TopicArn",
        "BedrockServiceRoleArn",
    ] {
        assert!(env.contains(&format!("export {name}=")), "{name} missing from DIR/env:\n{env}");
    }

    // An invalid dataset is refused before anything is uploaded.
    let bad = write(dir.path(), "bad.jsonl", "{\"prompt\": \"x\"}\n");
    let refused = served.run(&["submit", &bad]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("nothing was uploaded"), "{}", stderr(&refused));
    assert!(!dir.path().join("finetune-local/incoming/bad.jsonl").exists());

    // submit --wait --json prints the outcome `run --json` prints.
    let config = write(dir.path(), "config.json", r#"{"deployment": "provisioned"}"#);
    let outcome = ok_json(&served.run(&["submit", sample(), "--config", &config, "--wait", "--json"]));
    assert_eq!(outcome["status"], "SUCCEEDED", "{outcome}");
    assert_eq!(outcome["emulated"], true);
    let run_keys: std::collections::BTreeSet<String> =
        std::fs::read_to_string(repo_file("cli/tests/golden/run-succeeded.keys"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
    assert_eq!(key_paths(&outcome), run_keys, "submit --wait --json has run --json's keys");
    let run_id = outcome["run_id"].as_str().unwrap().to_string();
    assert!(dir.path().join("finetune-local/incoming/support-tickets.jsonl").exists());

    // Watching a run shows the job as Bedrock reports it: its status, estimate and latest losses.
    let watched = served.run(&["status", &run_id, "--watch"]);
    assert!(watched.status.success(), "{}", stderr(&watched));
    let job_line = stderr(&watched).lines().find(|l| l.contains("training job ")).map(str::to_string);
    let job_line = job_line.unwrap_or_else(|| panic!("no job line:\n{}", stderr(&watched)));
    assert!(job_line.contains(": Completed after ") && job_line.contains("(estimated "), "{job_line}");
    assert!(job_line.contains("latest training loss 0.") && job_line.contains("validation loss 0."), "{job_line}");

    // Teardown wrote report.html beside report.json; `report --local` fetches it.
    let page = dir.path().join("fetched.html");
    let fetched = served.run(&["report", &run_id, "--out", page.to_str().unwrap()]);
    assert!(fetched.status.success(), "{}", stderr(&fetched));
    assert_eq!(stdout(&fetched).trim(), page.display().to_string());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-series=\"training\"") && html.contains("data-series=\"validation\""), "curves");
    assert!(html.contains(&run_id) && html.contains("SUCCEEDED"));
    assert_eq!(served.run(&["report", "no-such-run-0000", "--out", page.to_str().unwrap()]).status.code(), Some(3));

    let runs = ok_json(&served.run(&["runs", "--json"]));
    let listed = &runs["runs"][0];
    assert_eq!((listed["run_id"].as_str(), listed["status"].as_str()), (Some(run_id.as_str()), Some("SUCCEEDED")));
    assert_eq!(listed["dataset"], "s3://finetune-local/incoming/support-tickets.jsonl");

    let status = ok_json(&served.run(&["status", &run_id, "--json"]));
    assert_eq!(status["states"], outcome["states"]);
    let text = served.run(&["status", &run_id]);
    assert!(stdout(&text).contains(&run_id), "{}", stdout(&text));

    let metrics = ok_json(&served.run(&["metrics", &run_id, "--json"]));
    let training = metrics["training"].as_array().unwrap();
    assert!(training.len() > 3, "{metrics}");
    assert!(training[0]["loss"].as_f64().unwrap() > training.last().unwrap()["loss"].as_f64().unwrap());
    assert!(!metrics["validation"].as_array().unwrap().is_empty());
    let csv = served.run(&["metrics", &run_id, "--csv"]);
    assert!(stdout(&csv).starts_with("kind,step,epoch,loss,perplexity\n"), "{}", stdout(&csv));
    let chart = served.run(&["metrics", &run_id]);
    assert!(stdout(&chart).contains("training loss") && stdout(&chart).contains("EPOCH"), "{}", stdout(&chart));

    // The run kept its provisioned throughput (the quality gate passed): ask it, compare it with the base.
    let asked = ok_json(&served.run(&["ask", &run_id, "I need a return label for order 30445", "--json"]));
    assert!(asked["model_id"].as_str().unwrap().contains(":provisioned-model/"), "{asked}");
    assert!(!asked["text"].as_str().unwrap().is_empty());
    assert!(asked["output_tokens"].as_i64().unwrap() > 0);
    let prompts =
        write(dir.path(), "prompts.txt", "I need a return label for order 30445\nMy card was charged twice\n");
    let compared = ok_json(&served.run(&[
        "compare",
        &run_id,
        "--base",
        "amazon.nova-micro-v1:0",
        "--prompts",
        &prompts,
        "--json",
    ]));
    assert_eq!(compared["results"].as_array().unwrap().len(), 2);
    assert_ne!(compared["results"][0]["tuned"]["model_id"], compared["results"][0]["base"]["model_id"]);

    let cost = ok_json(&served.run(&["cost", &run_id, "--json"]));
    assert!(cost["training_usd"].as_f64().unwrap() > 0.0, "{cost}");
    assert!(cost["training_tokens"].as_u64().unwrap() > 0 && cost["epochs"].as_u64().unwrap() > 0);
    assert!(cost["throughput_hours"].as_f64().unwrap() > 0.0, "{cost}");
    // What still bills is what Bedrock has with the run's tag: the kept throughput and the custom model.
    let billing: Vec<&str> =
        cost["still_billing"].as_array().unwrap().iter().map(|b| b["arn"].as_str().unwrap()).collect();
    assert!(billing.iter().any(|a| a.contains(":provisioned-model/")), "the kept throughput still bills: {cost}");
    assert!(billing.contains(&outcome["custom_model_arn"].as_str().unwrap()), "{cost}");

    // A second run, stopped before its end: stop says so and the run ends ABORTED.
    let other = write(dir.path(), "again.jsonl", &std::fs::read_to_string(sample()).unwrap());
    let started = ok_json(&served.run(&["submit", &other, "--json"]));
    let second = started["run_id"].as_str().unwrap().to_string();
    let stopped = served.run(&["stop", &second]);
    let watched = served.run(&["status", &second, "--watch", "--json"]);
    let ended = json(&watched);
    // The local run may have finished in virtual time before the stop reached it; the exit says which.
    match ended["status"].as_str().unwrap() {
        "ABORTED" => {
            assert!(stopped.status.success(), "{}", stderr(&stopped));
            assert_eq!(watched.status.code(), Some(1), "an aborted run exits 1");
            assert_eq!(ended["error"], "StoppedByUser");
        }
        "SUCCEEDED" => assert_eq!(watched.status.code(), Some(0)),
        other => panic!("{other}: {ended}"),
    }
    let missing = served.run(&["status", "no-such-run-0000", "--json"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));

    // Ctrl-C stops it cleanly; the bucket stays.
    let status = served.interrupt();
    assert!(status.success(), "serve exited {status:?} on Ctrl-C");
    assert!(dir.path().join("finetune-local/incoming/support-tickets.jsonl").exists());
    let gone = served.run(&["runs"]);
    assert_ne!(gone.status.code(), Some(0), "no server: {}", stdout(&gone));
}

#[test]
fn without_a_target_or_a_served_cloud_the_commands_say_what_to_do() {
    let none = finetune(&["runs"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("--stack NAME"), "{}", stderr(&none));
    let dir = tempfile::tempdir().unwrap();
    let absent = finetune(&["runs", "--local", dir.path().to_str().unwrap()]);
    assert_eq!(absent.status.code(), Some(2));
    assert!(stderr(&absent).contains("finetune local serve"), "{}", stderr(&absent));
}
