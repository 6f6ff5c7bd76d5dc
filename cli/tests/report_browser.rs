//! The report.html of a real local run in a real browser: `finetune run` on the sample dataset makes the
//! page (from the run's own loss CSVs, predictions and history), and `.ci/browser-check.cjs` opens it in
//! headless Chromium and checks that both loss curves are drawn with every point the run's CSVs hold,
//! that the tables have a row per metric, example, state and cost line, and that the console is clean
//! and nothing was requested. The expectations come from the run's files and `--json` outcome, not
//! from the page.
//!
//! Needs Node.js, playwright-core and chromium, as `shared/tests/report_browser.rs` does:
//! `.ci/browser-check.sh` installs them and runs this with BROWSER_CHECK_REQUIRED=1; without them the
//! test says so and passes, unless required.

mod common;

use common::*;
use serde_json::{Value, json};
use shared::html_report::MAX_CHART_POINTS;
use shared::loss_csv::{self, LossKind};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct Browser {
    node: PathBuf,
    node_modules: PathBuf,
    chromium: PathBuf,
}

fn browser() -> Option<Browser> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let node = var("BROWSER_CHECK_NODE").unwrap_or_else(|| PathBuf::from("node"));
    let node_modules =
        var("BROWSER_CHECK_NODE_MODULES").unwrap_or_else(|| Path::new(WORKSPACE).join(".ci/browser/node_modules"));
    let chromium = var("BROWSER_CHECK_CHROMIUM").unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_runs = Command::new(&node).arg("--version").output().is_ok_and(|o| o.status.success());
    let ready = node_runs && node_modules.join("playwright-core/package.json").is_file() && chromium.is_file();
    if ready {
        return Some(Browser { node, node_modules, chromium });
    }
    let why = "browser check skipped: node, playwright-core or chromium missing; run .ci/browser-check.sh";
    if std::env::var("BROWSER_CHECK_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{why}, and BROWSER_CHECK_REQUIRED=1");
    }
    let _ = writeln!(std::io::stderr(), "{why}");
    None
}

/// Points the chart draws of `n`: every k-th and the last, at most MAX_CHART_POINTS (html_report's rule).
fn drawn(n: usize) -> usize {
    let stride = n.div_ceil(MAX_CHART_POINTS).max(1);
    let kept = n.div_ceil(stride);
    if stride > 1 && !(n - 1).is_multiple_of(stride) { kept + 1 } else { kept }
}

/// The first file called `name` under `dir`.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

#[test]
fn the_report_of_a_real_local_run_renders_in_headless_chromium() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let run = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "finetune run failed:\n{}", stderr(&run));
    let outcome: Value = json(&run);
    let page = PathBuf::from(outcome["artifacts"]["report_html"].as_str().expect("report_html in artifacts"));
    assert!(page.is_file(), "{}", page.display());

    // What the page must show, from the run's own files and outcome.
    let run_dir = page.parent().unwrap();
    let series = |kind: LossKind| {
        let file = find(run_dir, kind.file_name()).unwrap_or_else(|| panic!("no {}", kind.file_name()));
        loss_csv::parse(&std::fs::read_to_string(file).unwrap(), kind).unwrap().points.len()
    };
    let (training, validation) = (series(LossKind::Training), series(LossKind::Validation));
    assert!(training > 3 && validation > 0, "{training} training and {validation} validation points");
    let predictions = std::fs::read_to_string(find(run_dir, "predictions.jsonl").expect("predictions")).unwrap();
    let first_prompt: Value = serde_json::from_str(predictions.lines().next().unwrap()).unwrap();
    let examples = predictions.lines().filter(|l| !l.trim().is_empty()).count().min(5);
    let still_billing = outcome["left_billing"].as_array().map_or(0, Vec::len);
    let expect = json!({
        "polylines": [
            {"series": "training", "points": drawn(training)},
            {"series": "validation", "points": drawn(validation)}
        ],
        "tables": {
            "metrics": 6,
            "examples": examples,
            "timeline": outcome["visits"].as_array().unwrap().len(),
            "costs": 3 + still_billing
        },
        "ids": ["status", "emulated", "virtual-clock", "gate", "loss-chart"],
        "texts": [outcome["run_id"].as_str().unwrap(), first_prompt["prompt"].as_str().unwrap()]
    });
    let expect_path = dir.path().join("expect.json");
    std::fs::write(&expect_path, expect.to_string()).unwrap();
    let screenshot = Path::new(WORKSPACE).join("target/report-real-run.png");
    let out = Command::new(&browser.node)
        .arg(Path::new(WORKSPACE).join(".ci/browser-check.cjs"))
        .arg(&page)
        .arg(&expect_path)
        .arg(&screenshot)
        .env("BROWSER_CHECK_NODE_MODULES", &browser.node_modules)
        .env("BROWSER_CHECK_CHROMIUM", &browser.chromium)
        .output()
        .expect("node runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = writeln!(std::io::stderr(), "browser check of {}: {stdout}", page.display());
    assert!(out.status.success(), "browser check of a real run failed:\n{stdout}\n{stderr}\nexpected {expect}");
}
