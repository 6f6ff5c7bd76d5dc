//! The report.html of a real local run in a real browser: `finetune run` on the sample dataset makes the
//! page (from the run's own loss CSVs, predictions and history), and `.ci/browser-check.cjs` opens it in
//! headless Chromium and checks that both loss curves are drawn with every point the run's CSVs hold,
//! that the tables have a row per metric, example, state and cost line, and that the console is clean
//! and nothing was requested. The expectations come from the run's files and `--json` outcome, not
//! from the page.
//!
//! Needs Node.js, playwright-core and chromium (`fixtures::browser`, as `shared/tests/report_browser.rs`):
//! `.ci/browser-check.sh` installs them and runs this with BROWSER_CHECK_REQUIRED=1; without them the
//! test says so and passes, unless required.

mod common;

use common::*;
use fixtures::browser::browser;
use serde_json::{Value, json};
use shared::html_report::MAX_CHART_POINTS;
use shared::loss_csv::{self, LossKind};
use std::path::{Path, PathBuf};

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
    browser.check(&page, &expect, "real-run");
}
