//! report.html in a real browser: the sample report (every section filled, hostile dataset text
//! included) is written to a file and opened in headless Chromium by `.ci/browser-check.cjs`
//! (playwright-core driving Debian's chromium), which checks that the loss polylines are drawn with
//! every point, the tables have their rows, hostile text is shown as text and ran nothing, the console
//! is clean, nothing was requested, and the screenshot is not blank.
//!
//! Needs Node.js, playwright-core and chromium: `.ci/browser-check.sh` installs them (pinned; no
//! browser download of playwright's own) and runs this with BROWSER_CHECK_REQUIRED=1. Without them the
//! test says so and passes, unless required. BROWSER_CHECK_NODE, BROWSER_CHECK_NODE_MODULES and
//! BROWSER_CHECK_CHROMIUM point elsewhere.

use serde_json::json;
use shared::html_report::{self, ReportInput};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

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
    let missing: Vec<String> = [
        (!node_runs).then(|| format!("node ({})", node.display())),
        (!node_modules.join("playwright-core/package.json").is_file())
            .then(|| format!("playwright-core ({})", node_modules.display())),
        (!chromium.is_file()).then(|| format!("chromium ({})", chromium.display())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some(Browser { node, node_modules, chromium });
    }
    let why = format!("browser check skipped: {} missing; run .ci/browser-check.sh", missing.join(", "));
    if std::env::var("BROWSER_CHECK_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{why}, and BROWSER_CHECK_REQUIRED=1");
    }
    // Straight to stderr: the harness hides a passing test's captured output, and a skip should be seen.
    let _ = writeln!(std::io::stderr(), "{why}");
    None
}

fn open_in_browser(browser: &Browser, input: &ReportInput, expect: serde_json::Value, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    std::fs::write(&report, html_report::render(input)).unwrap();
    let expect_path = dir.path().join("expect.json");
    std::fs::write(&expect_path, expect.to_string()).unwrap();
    // Kept beside the build output so a person can look at it after a run.
    let screenshot = Path::new(WORKSPACE).join(format!("target/report-{name}.png"));
    let started = Instant::now();
    let out = Command::new(&browser.node)
        .arg(Path::new(WORKSPACE).join(".ci/browser-check.cjs"))
        .args([&report, &expect_path, &screenshot])
        .env("BROWSER_CHECK_NODE_MODULES", &browser.node_modules)
        .env("BROWSER_CHECK_CHROMIUM", &browser.chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = writeln!(std::io::stderr(), "browser check `{name}` ({:.1}s): {stdout}", started.elapsed().as_secs_f64());
    assert!(out.status.success(), "browser check `{name}` failed:\n{stdout}\n{stderr}");
}

#[test]
fn the_sample_report_renders_in_headless_chromium() {
    let Some(browser) = browser() else { return };
    let input = html_report::sample_input();
    let expect = json!({
        "polylines": [
            {"series": "training", "points": input.training_loss.len()},
            {"series": "validation", "points": input.validation_loss.len()}
        ],
        "tables": {"metrics": input.metrics.len(), "examples": input.examples.len(),
                   "timeline": input.timeline.len(), "costs": input.costs.len()},
        "ids": ["status", "emulated", "virtual-clock", "gate", "loss-chart"],
        "texts": [input.examples[1].prompt, input.examples[1].reference, "Passed: exact_match improved by +0.650"]
    });
    open_in_browser(&browser, &input, expect, "sample");
}

#[test]
fn a_long_training_curve_without_validation_renders_thinned() {
    let Some(browser) = browser() else { return };
    let mut input = html_report::sample_input();
    input.training_loss = (0..10_001u64)
        .map(|i| shared::loss_csv::LossPoint {
            step: i,
            epoch: i / 2_500,
            loss: 3.0 / (1.0 + i as f64 / 500.0),
            perplexity: None,
        })
        .collect();
    input.validation_loss.clear();
    input.emulated = false;
    input.virtual_clock = false;
    let expect = json!({
        "polylines": [{"series": "training", "points": 10_001usize.div_ceil(6) + 1}],
        "tables": {"metrics": 4, "examples": 2, "timeline": 5, "costs": 3},
        "ids": ["status", "gate", "loss-chart"],
        "texts": ["one every 6 steps"]
    });
    open_in_browser(&browser, &input, expect, "long");
}
