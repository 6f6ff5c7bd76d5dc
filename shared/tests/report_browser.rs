//! report.html in a real browser: the sample report (every section filled, hostile dataset text
//! included) is written to a file and opened in headless Chromium by `.ci/browser-check.cjs`
//! (playwright-core driving Debian's chromium), which checks that the loss polylines are drawn with
//! every point, the tables have their rows, hostile text is shown as text and ran nothing, the console
//! is clean, nothing was requested, and the screenshot is not blank.
//!
//! Needs Node.js, playwright-core and chromium (`fixtures::browser`): `.ci/browser-check.sh` installs
//! them and runs this with BROWSER_CHECK_REQUIRED=1. Without them the test says so and passes, unless
//! required.

use fixtures::browser::{Browser, browser};
use serde_json::json;
use shared::html_report::{self, ReportInput};

fn open_in_browser(browser: &Browser, input: &ReportInput, expect: serde_json::Value, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    std::fs::write(&report, html_report::render(input)).unwrap();
    browser.check(&report, &expect, name);
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
