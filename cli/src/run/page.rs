//! `report.html` for a local run: the outcome, the config, Bedrock's loss files and the evaluation's
//! predictions made into one page (`shared::outcome::page`, `shared::html_report`), put in the local
//! bucket beside the run's other files, as any writer of the bucket would.

use local_stack::LocalCloud;
use shared::html_report;
use shared::loss_csv::LossKind;
use shared::outcome::RunOutcome;
use shared::outcome::page::{PageSources, report_input};
use shared::pipeline::{PipelineConfig, layout};
use std::path::Path;

/// Writes `runs/<run-id>/report.html` to the local bucket.
pub async fn write(
    cloud: &LocalCloud,
    outcome: &RunOutcome,
    config: &PipelineConfig,
    dataset: String,
) -> Result<(), String> {
    let run_id = &outcome.run_id;
    let output = cloud.object_path(&layout::output_prefix(run_id));
    let read = |name: &str| find(&output, name).and_then(|p| std::fs::read_to_string(p).ok());
    let training = read(LossKind::Training.file_name());
    let validation = read(LossKind::Validation.file_name());
    let predictions = std::fs::read_to_string(cloud.object_path(&layout::predictions_key(run_id))).ok();
    let input = report_input(&PageSources {
        outcome,
        config: Some(config),
        dataset: Some(dataset),
        training_csv: training.as_deref(),
        validation_csv: validation.as_deref(),
        predictions: predictions.as_deref(),
        generated_at: shared::aws::rfc3339_millis(cloud.clock.now().epoch_millis()),
    });
    let page = html_report::render(&input);
    cloud
        .put(&layout::html_report_key(run_id), page.into_bytes(), "text/html; charset=utf-8")
        .await
        .map_err(|e| format!("the upload to the local bucket failed: {e}"))
}

/// The first file called `name` under `dir` (Bedrock's output folder has one job folder).
fn find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path);
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    dirs.sort();
    dirs.iter().find_map(|d| find(d, name))
}
