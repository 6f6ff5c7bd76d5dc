//! The three files an evaluation leaves under runs/<id>/evaluation/: report.json, report.md and
//! predictions.jsonl.

use crate::converse::Answer;
use crate::sample::Sample;
use serde::Serialize;
use serde_json::json;
use shared::metrics::{SampleScores, metric_value, sample_scores};
use shared::pipeline::{EvaluationResult, GateVerdict, Metric, ModelScores};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// report.json: the verdict plus what a reader needs to trust or question it.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    pub run_id: &'a str,
    pub evaluated_at: &'a str,
    /// `evaluated_at` comes from the local cloud's virtual clock, not the wall clock.
    pub virtual_clock: bool,
    pub base_model_id: &'a str,
    pub custom_model_id: &'a str,
    pub result: &'a EvaluationResult,
    /// Why the run is labelled emulated (empty when it is not).
    pub emulation_evidence: &'a [String],
    pub records_read: u64,
    /// Records without an answer to compare (or unreadable), by reason.
    pub records_skipped: &'a BTreeMap<String, u64>,
    pub models: BTreeMap<&'static str, ModelDetails>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelDetails {
    pub model_id: String,
    pub answered: u32,
    pub errors: u32,
    /// Calls repeated after throttling or a transient error.
    pub retries: u32,
    /// The first few failures, by message.
    pub first_errors: Vec<String>,
}

const ERRORS_KEPT: usize = 5;

pub fn details(model_id: &str, answers: &[Answer]) -> ModelDetails {
    ModelDetails {
        model_id: model_id.to_string(),
        answered: answers.iter().filter(|a| a.text.is_ok()).count() as u32,
        errors: answers.iter().filter(|a| a.text.is_err()).count() as u32,
        retries: answers.iter().map(|a| a.attempts.saturating_sub(1)).sum(),
        first_errors: answers
            .iter()
            .filter_map(|a| a.text.as_ref().err().map(|e| format!("{}: {e}", e.error_type())))
            .take(ERRORS_KEPT)
            .collect(),
    }
}

/// One line of predictions.jsonl.
pub fn prediction_line(index: usize, sample: &Sample, base: &Answer, custom: &Answer) -> String {
    let side = |a: &Answer| {
        let SampleScores { exact_match, token_f1, rouge_l } = sample_scores(a.text.as_deref().ok(), &sample.reference);
        json!({
            "answer": a.text.as_ref().ok(),
            "error": a.text.as_ref().err().map(|e| format!("{}: {e}", e.error_type())),
            "latency_ms": a.latency_ms,
            "attempts": a.attempts,
            "exact_match": exact_match,
            "token_f1": token_f1,
            "rouge_l": rouge_l,
        })
    };
    json!({
        "index": index,
        "prompt": sample.prompt_text(),
        "reference": sample.reference,
        "base": side(base),
        "custom": side(custom),
    })
    .to_string()
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::ExactMatch => "exact match",
        Metric::TokenF1 => "token F1",
        Metric::RougeL => "ROUGE-L",
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// report.md: a table a person reads in the S3 console or a pull request.
pub fn markdown(report: &Report<'_>) -> String {
    let r = report.result;
    let mut md = String::new();
    let _ = writeln!(md, "# Evaluation of run `{}`\n", report.run_id);
    if r.emulated {
        let _ = writeln!(
            md,
            "> **Emulated.** These answers come from the local cloud's stand-in models, not from Amazon Bedrock \
             ({}). The numbers show the pipeline works; they say nothing about model quality.\n",
            report.emulation_evidence.join("; ")
        );
    }
    let skipped: u64 = report.records_skipped.values().sum();
    let _ = writeln!(md, "- Base model: `{}`", report.base_model_id);
    let _ = writeln!(md, "- Custom model: `{}`", report.custom_model_id);
    let _ = writeln!(md, "- Samples: {} (of {} records read; {skipped} skipped)", r.samples, report.records_read);
    let clock = if report.virtual_clock {
        " (the local cloud's virtual clock, on which a training job of hours passes in milliseconds; not wall-clock time)"
    } else {
        ""
    };
    let _ = writeln!(md, "- Evaluated at: {}{clock}\n", report.evaluated_at);
    let _ = writeln!(md, "| metric | base | custom | delta |\n|---|---:|---:|---:|");
    for metric in [Metric::ExactMatch, Metric::TokenF1, Metric::RougeL] {
        let (b, c) = (metric_value(&r.base, metric), metric_value(&r.custom, metric));
        let name = if metric == r.primary_metric {
            format!("**{} (gate)**", metric_name(metric))
        } else {
            metric_name(metric).to_string()
        };
        let _ = writeln!(md, "| {name} | {b:.3} | {c:.3} | {:+.3} |", c - b);
    }
    let latency = |s: &ModelScores| (s.latency_p50_ms, s.latency_p95_ms);
    let ((b50, b95), (c50, c95)) = (latency(&r.base), latency(&r.custom));
    let _ = writeln!(md, "| latency p50 (ms) | {b50:.0} | {c50:.0} | {:+.0} |", c50 - b50);
    let _ = writeln!(md, "| latency p95 (ms) | {b95:.0} | {c95:.0} | {:+.0} |", c95 - b95);
    let _ = writeln!(
        md,
        "| errors | {} | {} | {:+} |",
        r.base.errors,
        r.custom.errors,
        r.custom.errors as i64 - r.base.errors as i64
    );
    if r.verdict == GateVerdict::Inconclusive {
        let _ = writeln!(
            md,
            "\n**Quality gate: INCONCLUSIVE.** Both models answered {:.0}% of the samples, below the {:.0}% needed to judge; on those the custom model scores {:+.3} against its base model on {} (required: at least {:+.3}).",
            r.coverage * 100.0,
            r.min_coverage * 100.0,
            r.improvement,
            metric_name(r.primary_metric),
            r.min_improvement
        );
    } else {
        let verdict = if r.passed { "PASSED" } else { "FAILED" };
        let _ = writeln!(
            md,
            "\n**Quality gate: {verdict}.** The custom model scores {:+.3} against its base model on {} (required: at least {:+.3}), on the {:.0}% of samples both models answered.",
            r.improvement,
            metric_name(r.primary_metric),
            r.min_improvement,
            r.coverage * 100.0
        );
    }
    if !r.custom.per_class.is_empty() {
        let _ = writeln!(
            md,
            "\n## Per class\n\n| label | support | base precision | base recall | base F1 | custom precision | custom recall | custom F1 |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for c in &r.custom.per_class {
            let b = r.base.per_class.iter().find(|b| b.label == c.label);
            let (bp, br, bf) = b.map_or((0.0, 0.0, 0.0), |b| (b.precision, b.recall, b.f1));
            let _ = writeln!(
                md,
                "| {} | {} | {bp:.3} | {br:.3} | {bf:.3} | {:.3} | {:.3} | {:.3} |",
                cell(&c.label),
                c.support,
                c.precision,
                c.recall,
                c.f1
            );
        }
    }
    let errors: Vec<(&str, &String)> =
        report.models.iter().flat_map(|(side, d)| d.first_errors.iter().map(move |e| (*side, e))).collect();
    if !errors.is_empty() {
        let _ = writeln!(md, "\n## First errors\n");
        for (side, e) in errors {
            let _ = writeln!(md, "- {side}: {}", cell(e));
        }
    }
    // A relative link: it opens the file beside this one wherever the report is read (a local copy,
    // the local cloud's folder, a repository); the URI says where it lives in S3.
    let predictions = r.predictions_uri.rsplit('/').next().unwrap_or("predictions.jsonl");
    let _ = writeln!(md, "\nEvery answer: [{predictions}]({predictions}) (`{}`).", r.predictions_uri);
    md
}
