//! What `report.html` shows of a run (`crate::html_report`): filled from the run's outcome, its config,
//! Bedrock's loss files and the evaluation's predictions. Pure: the caller reads the files.

use super::{Billable, RunOutcome};
use crate::html_report::{CostLine, ExampleAnswer, GateVerdict, MetricRow, ReportInput, TimelineEntry};
use crate::loss_csv::{self, LossKind};
use crate::pipeline::{Metric, PipelineConfig};
use serde_json::Value;

/// Examples shown side by side at most.
const EXAMPLES: usize = 5;

/// What a page is made of, besides the outcome.
pub struct PageSources<'a> {
    pub outcome: &'a RunOutcome,
    pub config: Option<&'a PipelineConfig>,
    /// `s3://bucket/key` of the upload.
    pub dataset: Option<String>,
    /// `step_wise_training_metrics.csv`, `validation_metrics.csv`, `predictions.jsonl`, when written.
    pub training_csv: Option<&'a str>,
    pub validation_csv: Option<&'a str>,
    pub predictions: Option<&'a str>,
    /// RFC 3339.
    pub generated_at: String,
}

/// The page's input for one run.
pub fn report_input(s: &PageSources<'_>) -> ReportInput {
    let o = s.outcome;
    let series = |text: Option<&str>, kind| {
        text.and_then(|t| loss_csv::parse(t, kind).ok()).map(|series| series.points).unwrap_or_default()
    };
    let mut metrics = Vec::new();
    let mut gate = None;
    if let Some(e) = &o.evaluation {
        for (name, metric, base, custom) in [
            ("exact_match", Some(Metric::ExactMatch), e.base.exact_match, e.custom.exact_match),
            ("token_f1", Some(Metric::TokenF1), e.base.token_f1, e.custom.token_f1),
            ("rouge_l", Some(Metric::RougeL), e.base.rouge_l, e.custom.rouge_l),
            ("latency_p50_ms", None, e.base.latency_p50_ms, e.custom.latency_p50_ms),
            ("latency_p95_ms", None, e.base.latency_p95_ms, e.custom.latency_p95_ms),
            ("errors", None, f64::from(e.base.errors), f64::from(e.custom.errors)),
        ] {
            metrics.push(MetricRow {
                name: name.to_string(),
                base: Some(base),
                custom: Some(custom),
                higher_is_better: metric.is_some(),
                primary: metric == Some(e.primary_metric),
            });
        }
        gate = Some(GateVerdict {
            passed: e.passed,
            metric: e.primary_metric.as_str().to_string(),
            improvement: e.improvement,
            min_improvement: e.min_improvement,
        });
    }
    let timeline = o
        .visits
        .iter()
        .map(|v| TimelineEntry {
            state: v.name.clone(),
            entered: crate::aws::rfc3339_millis(v.entered_at_ms),
            duration_seconds: v.exited_at_ms.map(|x| (x - v.entered_at_ms) as f64 / 1000.0),
        })
        .collect();
    ReportInput {
        run_id: o.run_id.clone(),
        status: o.status.as_str().to_string(),
        error: o.error.clone(),
        cause: o.cause.clone(),
        customization_type: s.config.map(|c| c.customization_type.as_str().to_string()).unwrap_or_default(),
        base_model: s.config.map(|c| c.base_model.clone()).unwrap_or_default(),
        custom_model: o.custom_model_arn.clone(),
        dataset: s.dataset.clone(),
        emulated: o.emulated,
        virtual_clock: o.virtual_clock,
        generated_at: s.generated_at.clone(),
        training_loss: series(s.training_csv, LossKind::Training),
        validation_loss: series(s.validation_csv, LossKind::Validation),
        metrics,
        examples: s.predictions.map(examples).unwrap_or_default(),
        timeline,
        timeline_note: None,
        costs: costs(o),
        gate,
    }
}

/// The first predictions, side by side.
fn examples(predictions: &str) -> Vec<ExampleAnswer> {
    predictions
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .take(EXAMPLES)
        .map(|p| {
            let text = |v: &Value| v.as_str().map(str::to_string);
            ExampleAnswer {
                prompt: text(&p["prompt"]).unwrap_or_default(),
                reference: text(&p["reference"]).unwrap_or_default(),
                base: text(&p["base"]["answer"]),
                custom: text(&p["custom"]["answer"]),
            }
        })
        .collect()
}

/// The run's estimated AWS cost, line by line, and what still bills.
fn costs(o: &RunOutcome) -> Vec<CostLine> {
    let c = &o.aws_cost_estimate;
    let mut lines = Vec::new();
    match c.training_usd {
        Some(usd) => {
            lines
                .push(CostLine { item: "training (tokens × epochs × the catalogue's price)".into(), usd, note: None })
        }
        None => lines.push(CostLine {
            item: "training".into(),
            usd: 0.0,
            note: Some("no job was started, or the model has no published token price".into()),
        }),
    }
    lines.push(CostLine { item: "Step Functions state transitions".into(), usd: c.step_functions_usd, note: None });
    lines.push(CostLine { item: "Lambda requests".into(), usd: c.lambda_requests_usd, note: Some(c.note.clone()) });
    for b in &o.left_billing {
        let rate = match (b.usd_per_hour, b.usd_per_month) {
            (Some(h), _) if h > 0.0 => format!("${h:.2} per hour"),
            (_, Some(m)) => format!("${m:.2} per month"),
            _ => "per use".to_string(),
        };
        let what = if b.what == Billable::CustomModel { "storage" } else { "still billing" };
        lines.push(CostLine {
            item: format!("{} {} ({what})", b.what.label(), b.arn),
            usd: 0.0,
            note: Some(format!("{rate}: {}", b.basis)),
        });
    }
    lines
}
