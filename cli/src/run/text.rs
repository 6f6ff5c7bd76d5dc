//! The run's outcome for a person: status, job and model, why it failed (every error, whole), the
//! dataset's warnings, the evaluation table and gate verdict, where the reports are, the state
//! transitions, what the run would cost on AWS, and what it leaves billing.

use shared::metrics::metric_value;
use shared::outcome::{Problem, RemovalAction, RunOutcome};
use shared::pipeline::Metric;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Problems listed in text; `--json` and the reports list them all.
const SHOWN: usize = 10;

/// `wall`: how long the command took, when this is the run it just made; `None` for an earlier run
/// shown again.
pub fn render(o: &RunOutcome, wall: Option<Duration>) -> String {
    let mut out = String::new();
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    let error = o.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
    let _ = writeln!(out, "Status:      {}{error}", o.status.as_str());
    let _ = writeln!(out, "Run id:      {}", o.run_id);
    if wall.is_none() {
        let _ = writeln!(out, "             (an earlier run, shown again: no job was started now; --force starts one)");
    }
    let _ = writeln!(out, "Job:         {}", or_dash(&o.job_arn));
    let _ = writeln!(out, "Model:       {}", or_dash(&o.custom_model_arn));
    if !o.errors.is_empty() {
        let dataset = o.errors.iter().any(|p| p.line.is_some() || p.field.is_some());
        let title = if dataset { "The dataset is not valid" } else { "Why it failed" };
        problems(&mut out, title, &o.errors, report_of(o));
    }
    if !o.warnings.is_empty() {
        problems(&mut out, "Dataset warnings", &o.warnings, report_of(o));
    }
    if !o.notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for note in &o.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    if let Some(e) = &o.evaluation {
        let models = if e.emulated { " (EMULATED models: deterministic stand-ins, not Bedrock)" } else { "" };
        let _ = writeln!(out, "\nEvaluation on {} held-out samples{models}:", e.samples);
        let _ = writeln!(out, "  {:<12} {:>10} {:>10} {:>10}", "metric", "base", "custom", "delta");
        for metric in Metric::ALL {
            let (base, custom) = (metric_value(&e.base, metric), metric_value(&e.custom, metric));
            let _ = writeln!(out, "  {:<12} {base:>10.3} {custom:>10.3} {:>+10.3}", metric.label(), custom - base);
        }
        let _ = writeln!(out, "  {:<12} {:>10.0} {:>10.0}", "p95 ms", e.base.latency_p95_ms, e.custom.latency_p95_ms);
        let _ = writeln!(
            out,
            "  Gate {}: {} improved by {:+.3} (needs {:+.3})",
            if e.passed { "PASSED" } else { "FAILED" },
            e.primary_metric.as_str(),
            e.improvement,
            e.min_improvement
        );
    }
    if o.artifacts.written().next().is_some() {
        let _ = writeln!(out, "\nReports (local files):");
        for (name, at) in o.artifacts.written() {
            let _ = writeln!(out, "  {name:<20} {}", shorter(at));
        }
    }
    if let Some(page) = o.artifacts.get("report_html") {
        let _ = writeln!(out, "\nOpen the report in a browser: {page}");
    }
    let clock = match (o.virtual_clock, o.started_at_ms, o.ended_at_ms) {
        (true, Some(start), Some(end)) => format!(
            "; {} on the local cloud's virtual clock",
            crate::output::progress::human_duration(Duration::from_millis(u64::try_from(end - start).unwrap_or(0)))
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "\nStates entered: {} ({} job polls, {} deployment polls); state transitions: {}{clock}",
        o.states.len(),
        o.job.as_ref().map_or(0, |j| j.polls),
        o.deployment.as_ref().map_or(0, |d| d.polls),
        o.state_transitions
    );
    let c = &o.aws_cost_estimate;
    let training = match (c.training_usd, &o.job) {
        (_, None) => "none (no job started)".to_string(),
        (Some(v), Some(job)) => match job.status.as_deref() {
            Some("Completed") | None => format!("${v:.4}"),
            Some(status) => format!("${v:.4} at most (the job ended {status})"),
        },
        (None, Some(_)) => "unknown (the catalogue has no training price for this model)".to_string(),
    };
    let _ = writeln!(
        out,
        "On AWS this run would cost about: training {training}, Step Functions ${:.4}, Lambda requests ${:.6}",
        c.step_functions_usd, c.lambda_requests_usd
    );
    if o.left_billing.is_empty() {
        let _ = writeln!(out, "Left billing: nothing");
    } else {
        let hourly: f64 = o.left_billing.iter().filter_map(|b| b.usd_per_hour).sum();
        let monthly: f64 = o.left_billing.iter().filter_map(|b| b.usd_per_month).sum();
        let unknown = o.left_billing.iter().any(|b| b.usd_per_hour.is_none() && b.usd_per_month.is_none());
        let mut total = Vec::new();
        if hourly > 0.0 {
            total.push(format!("${hourly:.2} per hour"));
        }
        if monthly > 0.0 {
            total.push(format!("${monthly:.2} per month"));
        }
        if unknown {
            total.push("and an hourly rate the catalogue does not have".to_string());
        }
        let total = if total.is_empty() { String::new() } else { format!(" ({} in all)", total.join(" + ")) };
        let _ = writeln!(out, "Left billing{total}:");
        for b in &o.left_billing {
            let rate = match (b.usd_per_hour, b.usd_per_month) {
                (Some(hour), _) if hour > 0.0 => format!("${hour:.2}/hour"),
                (_, Some(month)) => format!("${month:.2}/month"),
                (Some(_), None) => "per use".to_string(),
                (None, None) => "hourly, rate unknown".to_string(),
            };
            let _ = writeln!(out, "  {:<23} {rate:<20} {}", b.what.label(), b.arn);
            let _ = writeln!(out, "  {:<23} {:<20} {}", "", "", b.basis);
        }
    }
    for r in &o.cleaned_up {
        let action = match r.action {
            RemovalAction::Deleted => "Deleted",
            RemovalAction::Stopped => "Stopped",
        };
        let what = r.what.map_or("resource", |w| w.label());
        let _ = writeln!(out, "{action} by teardown: {what} {}", r.arn);
    }
    if let Some(wall) = wall {
        let _ = writeln!(out, "Wall time: {:.2} s", wall.as_secs_f64());
    }
    out
}

fn problems(out: &mut String, title: &str, list: &[Problem], report: Option<&str>) {
    let shown = list.len().min(SHOWN);
    let more = list.len() - shown;
    let _ = writeln!(
        out,
        "\n{title}{}:",
        if more > 0 { format!(" (first {shown} of {})", list.len()) } else { String::new() }
    );
    for p in &list[..shown] {
        let place = match (p.line, &p.field) {
            (Some(line), Some(field)) => format!("line {line}, {field}: "),
            (Some(line), None) => format!("line {line}: "),
            (None, Some(field)) => format!("{field}: "),
            (None, None) => String::new(),
        };
        let code = if p.line.is_some() || p.field.is_some() { format!(" [{}]", p.code) } else { String::new() };
        let _ = writeln!(out, "  - {place}{}{code}", p.message);
    }
    if more > 0 {
        let all = report.map(|r| format!(": {}", shorter(r))).unwrap_or_default();
        let _ = writeln!(out, "  ... and {more} more (`--json` lists them all; so does the validation report{all})");
    }
}

fn report_of(o: &RunOutcome) -> Option<&str> {
    o.artifacts.get("validation_report")
}

/// A path under the current folder, relative to it (shorter to read); others as they are.
fn shorter(path: &str) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| Path::new(path).strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.to_string())
}
