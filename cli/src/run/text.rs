//! The run's outcome for a person: status, job and model, the evaluation table and gate verdict, where
//! the reports are, the state transitions, and what the run would cost on AWS.

use shared::metrics::metric_value;
use shared::outcome::RunOutcome;
use shared::pipeline::Metric;
use std::fmt::Write as _;
use std::time::Duration;

pub fn render(o: &RunOutcome, wall: Duration) -> String {
    let mut out = String::new();
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    let _ = writeln!(out, "Status:      {}", o.status.as_str());
    let _ = writeln!(out, "Run id:      {}", o.run_id);
    if o.error.is_some() {
        let _ = writeln!(out, "Error:       {}", or_dash(&o.error));
        let _ = writeln!(out, "Cause:       {}", or_dash(&o.cause));
    }
    let _ = writeln!(out, "Job:         {}", or_dash(&o.job_arn));
    let _ = writeln!(out, "Model:       {}", or_dash(&o.custom_model_arn));
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
    if !o.artifacts.0.is_empty() {
        let _ = writeln!(out, "\nReports:");
        for (name, at) in &o.artifacts.0 {
            let _ = writeln!(out, "  {name:<20} {at}");
        }
    }
    let _ = writeln!(
        out,
        "\nStates entered: {} ({} job polls, {} deployment polls); state transitions: {}",
        o.states.len(),
        o.job.as_ref().map_or(0, |j| j.polls),
        o.deployment.as_ref().map_or(0, |d| d.polls),
        o.state_transitions
    );
    let c = &o.aws_cost_estimate;
    let training = match (c.training_usd, &o.job) {
        (_, None) => "none (no job started)".to_string(),
        (Some(v), Some(_)) => format!("${v:.4}"),
        (None, Some(_)) => "unknown (no published price)".to_string(),
    };
    let _ = writeln!(
        out,
        "On AWS this run would cost about: training {training}, Step Functions ${:.4}, Lambda requests ${:.6}",
        c.step_functions_usd, c.lambda_requests_usd,
    );
    for billing in &o.left_billing {
        let _ = writeln!(out, "Left billing: {} {}: {}", billing.what.label(), billing.arn, billing.basis);
    }
    let _ = writeln!(out, "Wall time: {:.2} s", wall.as_secs_f64());
    out
}
