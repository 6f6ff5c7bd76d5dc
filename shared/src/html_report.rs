//! `report.html`: one self-contained page a person opens after a run. The loss curves as inline SVG,
//! the metric table (base vs custom, with deltas), example answers side by side, the state timeline,
//! the cost lines and the gate verdict, and a clear label when the models were emulated and the times
//! came from a virtual clock.
//!
//! Self-contained: inline CSS and SVG, no script, no font, no image, nothing fetched; a Content
//! Security Policy in the page forbids loading anything, so it renders the same offline. Every text
//! in it is escaped: dataset text is hostile, and `</script>` or `<img onerror=...>` in a record shows
//! as those characters.
//!
//! A pure renderer: [`render`] takes a [`ReportInput`] the caller fills from the run's documents.

use crate::loss_csv::LossPoint;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Everything the page shows. Texts are plain text (never HTML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportInput {
    pub run_id: String,
    /// SUCCEEDED, FAILED, RUNNING, ...
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub customization_type: String,
    pub base_model: String,
    pub custom_model: Option<String>,
    pub dataset: Option<String>,
    /// Bedrock was the local emulator: the models are deterministic stand-ins.
    pub emulated: bool,
    /// Times come from the local cloud's virtual clock.
    pub virtual_clock: bool,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    pub training_loss: Vec<LossPoint>,
    pub validation_loss: Vec<LossPoint>,
    pub metrics: Vec<MetricRow>,
    pub examples: Vec<ExampleAnswer>,
    pub timeline: Vec<TimelineEntry>,
    /// Why the timeline is not the execution's history (teardown could not read it), shown above it.
    #[serde(default)]
    pub timeline_note: Option<String>,
    pub costs: Vec<CostLine>,
    pub gate: Option<GateVerdict>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub name: String,
    pub base: Option<f64>,
    pub custom: Option<f64>,
    /// Colours the delta: an increase is good unless lower is better (latency, errors).
    pub higher_is_better: bool,
    /// The gate's metric, marked in the table.
    pub primary: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExampleAnswer {
    pub prompt: String,
    pub reference: String,
    /// `None`: the call failed.
    pub base: Option<String>,
    pub custom: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub state: String,
    /// RFC 3339.
    pub entered: String,
    /// `None` while the state is still running.
    pub duration_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub item: String,
    pub usd: f64,
    /// How it was computed, or what is still billing.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateVerdict {
    pub passed: bool,
    pub metric: String,
    /// Custom minus base on `metric`.
    pub improvement: f64,
    pub min_improvement: f64,
}

/// Most points drawn per curve; longer series keep every k-th point (and the last).
pub const MAX_CHART_POINTS: usize = 2000;
/// Characters of an example text shown; the rest is cut with a note.
const MAX_EXAMPLE_CHARS: usize = 1500;

const STYLE: &str = "
:root{--ink:#1d2430;--muted:#5b6575;--line:#d8dde5;--bg:#fff;--good:#17803d;--bad:#b42318;--train:#2563eb;--valid:#ea580c}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:24px;font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:.85em;vertical-align:middle}
.status.ok{background:#dcfce7;color:var(--good)}.status.failed{background:#fee4e2;color:var(--bad)}.status.other{background:#eef2f6;color:var(--muted)}
.banner{border-left:4px solid #d97706;background:#fffbeb;padding:8px 12px;margin:12px 0}
.verdict{padding:12px 16px;border-radius:6px;font-weight:600}
.verdict.pass{background:#dcfce7;color:var(--good)}.verdict.fail{background:#fee4e2;color:var(--bad)}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.good{color:var(--good)}.bad{color:var(--bad)}.muted{color:var(--muted)}
.text{white-space:pre-wrap;word-break:break-word;margin:0;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
svg{max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:var(--muted)}
.axis{stroke:#8a94a3;stroke-width:1}.grid{stroke:#eef1f5;stroke-width:1}.epoch{stroke:#c3cad5;stroke-dasharray:4 4}
.series-training{fill:none;stroke:var(--train);stroke-width:2}.series-validation{fill:none;stroke:var(--valid);stroke-width:2}
.dot-validation{fill:var(--valid)}.legend-training{fill:var(--train)}.legend-validation{fill:var(--valid)}
footer{margin-top:40px;color:var(--muted);font-size:.85em}
";

/// The page.
pub fn render(input: &ReportInput) -> String {
    let mut out = String::with_capacity(32 * 1024 + 40 * input.training_loss.len().min(MAX_CHART_POINTS));
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may be loaded or run, whatever the page contains.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         base-uri 'none'; form-action 'none'\">\n",
    );
    let _ = writeln!(out, "<title>finetune run {}</title>", esc(&input.run_id));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    header(&mut out, input);
    gate(&mut out, input.gate.as_ref());
    chart(&mut out, input);
    metrics(&mut out, &input.metrics, input.emulated);
    examples(&mut out, &input.examples, input.emulated);
    timeline(&mut out, &input.timeline, input.timeline_note.as_deref(), input.virtual_clock);
    costs(&mut out, &input.costs);
    let _ = writeln!(
        out,
        "<footer>Made by finetune at {}{}. This file is self-contained: it loads nothing and runs no script.</footer>",
        esc(&input.generated_at),
        if input.virtual_clock { " (virtual clock)" } else { "" }
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newlines are not allowed in HTML text.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, r: &ReportInput) {
    let class = match r.status.as_str() {
        "SUCCEEDED" => "ok",
        "FAILED" | "TIMED_OUT" | "ABORTED" => "failed",
        _ => "other",
    };
    let _ = writeln!(
        out,
        "<h1>Run {} <span class=\"status {class}\" id=\"status\">{}</span></h1>",
        esc(&r.run_id),
        esc(&r.status)
    );
    let _ = write!(out, "<p class=\"meta\">{} of <b>{}</b>", esc(&r.customization_type), esc(&r.base_model));
    if let Some(m) = &r.custom_model {
        let _ = write!(out, " → <b>{}</b>", esc(m));
    }
    if let Some(d) = &r.dataset {
        let _ = write!(out, " · dataset {}", esc(d));
    }
    out.push_str("</p>\n");
    if r.emulated {
        out.push_str(
            "<p class=\"banner\" id=\"emulated\"><b>Emulated Bedrock.</b> This run used the local Bedrock emulator: \
             the base and custom models are deterministic stand-ins, not real models. Their answers, scores and loss \
             curves show the pipeline working, not what a real model would learn.</p>\n",
        );
    }
    if r.virtual_clock {
        out.push_str(
            "<p class=\"banner\" id=\"virtual-clock\"><b>Virtual clock.</b> Times and durations are those of the \
             local cloud's virtual clock: hours of training passed in moments of real time.</p>\n",
        );
    }
    if r.error.is_some() || r.cause.is_some() {
        let _ = writeln!(
            out,
            "<p class=\"verdict fail\" id=\"error\">{}{}</p>",
            esc(r.error.as_deref().unwrap_or("Error")),
            r.cause.as_deref().map(|c| format!(": {}", esc(c))).unwrap_or_default()
        );
    }
}

fn gate(out: &mut String, gate: Option<&GateVerdict>) {
    out.push_str("<h2>Quality gate</h2>\n");
    match gate {
        None => out.push_str("<p class=\"muted\" id=\"gate\">Not evaluated.</p>\n"),
        Some(g) => {
            let (class, word) = if g.passed { ("pass", "Passed") } else { ("fail", "Failed") };
            let _ = writeln!(
                out,
                "<p class=\"verdict {class}\" id=\"gate\">{word}: {} improved by {} (required: {}).</p>",
                esc(&g.metric),
                signed(g.improvement),
                signed(g.min_improvement)
            );
        }
    }
}

/// A number for tables: 3 decimals, 1 from 100 up.
fn number(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_string();
    }
    if v.abs() >= 100.0 { format!("{v:.1}") } else { format!("{v:.3}") }
}

fn signed(v: f64) -> String {
    let n = number(v.abs());
    if v > 0.0 {
        format!("+{n}")
    } else if v < 0.0 {
        format!("−{n}")
    } else {
        n
    }
}

struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

/// An axis from `lo` to `hi` with about five round ticks (1, 2 or 5 × 10^k apart).
fn nice_axis(lo: f64, hi: f64) -> Axis {
    let (lo, hi) = if hi - lo <= f64::EPSILON * hi.abs().max(1.0) { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let count = ((hi - lo) / step).round() as usize;
    Axis { lo, hi, ticks: (0..=count).map(|i| lo + i as f64 * step).collect() }
}

/// Every k-th point and the last, so a curve has at most [`MAX_CHART_POINTS`].
fn thin(points: &[LossPoint]) -> (Vec<&LossPoint>, usize) {
    let stride = points.len().div_ceil(MAX_CHART_POINTS).max(1);
    let mut kept: Vec<&LossPoint> = points.iter().step_by(stride).collect();
    if let Some(last) = points.last()
        && stride > 1
        && kept.last().map(|p| p.step) != Some(last.step)
    {
        kept.push(last);
    }
    (kept, stride)
}

fn chart(out: &mut String, r: &ReportInput) {
    out.push_str("<h2>Loss</h2>\n");
    let finite = |p: &&LossPoint| p.loss.is_finite();
    let training: Vec<LossPoint> = r.training_loss.iter().filter(finite).copied().collect();
    let validation: Vec<LossPoint> = r.validation_loss.iter().filter(finite).copied().collect();
    if training.is_empty() && validation.is_empty() {
        out.push_str("<p class=\"muted\" id=\"no-loss\">No loss curve: the job wrote no training metrics.</p>\n");
        return;
    }
    let (train, train_stride) = thin(&training);
    let (valid, valid_stride) = thin(&validation);
    let all = train.iter().chain(&valid);
    let (step_lo, step_hi) = all.clone().fold((u64::MAX, 0), |(lo, hi), p| (lo.min(p.step), hi.max(p.step)));
    let (loss_lo, loss_hi) =
        all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.loss), hi.max(p.loss)));
    let y = nice_axis(loss_lo, loss_hi);
    let x = nice_axis(step_lo as f64, step_hi as f64);
    let x = Axis { lo: x.lo.max(0.0), ticks: x.ticks.into_iter().filter(|t| *t >= 0.0).collect(), ..x };

    const W: f64 = 760.0;
    const H: f64 = 320.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 56.0;
    let px = |step: f64| LEFT + (step - x.lo) / (x.hi - x.lo) * (W - LEFT - RIGHT);
    let py = |loss: f64| TOP + (y.hi - loss) / (y.hi - y.lo) * (H - TOP - BOTTOM);

    let _ = writeln!(
        out,
        "<svg id=\"loss-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" \
         role=\"img\" aria-label=\"Training and validation loss by step\">"
    );
    for t in &y.ticks {
        let v = py(*t);
        let _ =
            writeln!(out, "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{v:.1}\" y2=\"{v:.1}\"/>", W - RIGHT);
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            v + 4.0,
            tick_label(*t)
        );
    }
    for t in &x.ticks {
        let h = px(*t);
        let _ = writeln!(
            out,
            "<line class=\"axis\" x1=\"{h:.1}\" x2=\"{h:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            H - BOTTOM,
            H - BOTTOM + 5.0
        );
        let _ = writeln!(
            out,
            "<text x=\"{h:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM + 18.0,
            tick_label(*t)
        );
    }
    // Epoch boundaries: where the epoch number changes along the training curve.
    for pair in training.windows(2).filter(|w| w[1].epoch != w[0].epoch) {
        let h = px(pair[1].step as f64);
        let _ = writeln!(
            out,
            "<line class=\"epoch\" x1=\"{h:.1}\" x2=\"{h:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\">epoch {}</text>",
            H - BOTTOM,
            h + 4.0,
            TOP + 12.0,
            pair[1].epoch + 1
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">step</text>",
        (LEFT + W - RIGHT) / 2.0,
        H - 22.0
    );
    let _ = writeln!(
        out,
        "<text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">loss</text>",
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    for (name, points) in [("training", &train), ("validation", &valid)] {
        if points.is_empty() {
            continue;
        }
        let coords: Vec<String> =
            points.iter().map(|p| format!("{:.1},{:.1}", px(p.step as f64), py(p.loss))).collect();
        let _ = writeln!(
            out,
            "<polyline class=\"series-{name}\" data-series=\"{name}\" data-points=\"{}\" points=\"{}\"/>",
            points.len(),
            coords.join(" ")
        );
        if name == "validation" {
            for p in points.iter() {
                let _ = writeln!(
                    out,
                    "<circle class=\"dot-validation\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                    px(p.step as f64),
                    py(p.loss)
                );
            }
        }
    }
    // Legend.
    let legend_y = H - 6.0;
    let mut lx = LEFT;
    for (name, points, stride) in [("training", &train, train_stride), ("validation", &valid, valid_stride)] {
        if points.is_empty() {
            continue;
        }
        let thinned = if stride > 1 { format!(", one every {stride} steps") } else { String::new() };
        let label = format!("{name} loss ({} points{thinned})", points.len());
        let _ = writeln!(
            out,
            "<rect class=\"legend-{name}\" x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"4\"/><text x=\"{:.1}\" y=\"{legend_y:.1}\">{}</text>",
            legend_y - 6.0,
            lx + 20.0,
            esc(&label)
        );
        lx += 40.0 + 7.0 * label.len() as f64;
    }
    out.push_str("</svg>\n");
    let summary = |name: &str, s: &[LossPoint]| match (s.first(), s.last()) {
        (Some(a), Some(b)) => format!("{name} loss {} → {}", number(a.loss), number(b.loss)),
        _ => String::new(),
    };
    let parts: Vec<String> = [summary("training", &training), summary("validation", &validation)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let _ = writeln!(out, "<p class=\"muted\">{}</p>", esc(&parts.join(" · ")));
}

fn tick_label(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    if rounded.fract() == 0.0 { format!("{rounded:.0}") } else { format!("{rounded}") }
}

fn metrics(out: &mut String, rows: &[MetricRow], emulated: bool) {
    out.push_str("<h2>Evaluation: base vs custom</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No evaluation.</p>\n");
        return;
    }
    if emulated {
        out.push_str("<p class=\"muted\">Scores of the emulator's stand-in models.</p>\n");
    }
    out.push_str(
        "<table id=\"metrics\"><thead><tr><th>metric</th><th class=\"num\">base</th><th class=\"num\">custom</th>\
         <th class=\"num\">delta</th></tr></thead><tbody>\n",
    );
    for m in rows {
        let cell = |v: Option<f64>| v.map_or("—".to_string(), number);
        let (delta, class) = match (m.base, m.custom) {
            (Some(b), Some(c)) => {
                let d = c - b;
                let better = if m.higher_is_better { d > 0.0 } else { d < 0.0 };
                let class = if d == 0.0 {
                    "muted"
                } else if better {
                    "good"
                } else {
                    "bad"
                };
                (signed(d), class)
            }
            _ => ("—".to_string(), "muted"),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num {class}\">{delta}</td></tr>",
            esc(&m.name),
            if m.primary { " <span class=\"muted\">(gate)</span>" } else { "" },
            cell(m.base),
            cell(m.custom)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn clipped(text: &str) -> String {
    match text.char_indices().nth(MAX_EXAMPLE_CHARS) {
        Some((at, _)) => format!("{}… [{} more characters]", &text[..at], text[at..].chars().count()),
        None => text.to_string(),
    }
}

fn examples(out: &mut String, rows: &[ExampleAnswer], emulated: bool) {
    out.push_str("<h2>Example answers</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No examples.</p>\n");
        return;
    }
    let who = if emulated { " (emulated stand-ins)" } else { "" };
    let _ = writeln!(
        out,
        "<table id=\"examples\"><thead><tr><th>prompt</th><th>reference</th><th>base{who}</th><th>custom{who}</th></tr></thead><tbody>"
    );
    for e in rows {
        let answer = |a: &Option<String>| match a {
            Some(t) => format!("<pre class=\"text\">{}</pre>", esc(&clipped(t))),
            None => "<span class=\"bad\">(the call failed)</span>".to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><td><pre class=\"text\">{}</pre></td><td><pre class=\"text\">{}</pre></td><td>{}</td><td>{}</td></tr>",
            esc(&clipped(&e.prompt)),
            esc(&clipped(&e.reference)),
            answer(&e.base),
            answer(&e.custom)
        );
    }
    out.push_str("</tbody></table>\n");
}

/// `2h 14m`, `3m 05s`, `42s`.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "—".to_string();
    }
    if seconds < 10.0 {
        let tenths = format!("{seconds:.1}");
        return format!("{}s", tenths.strip_suffix(".0").unwrap_or(&tenths));
    }
    let s = seconds.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

fn timeline(out: &mut String, rows: &[TimelineEntry], note: Option<&str>, virtual_clock: bool) {
    out.push_str("<h2>Timeline</h2>\n");
    if let Some(note) = note {
        let _ = writeln!(out, "<p class=\"muted\" id=\"timeline-note\">{}</p>", esc(note));
    }
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No states recorded.</p>\n");
        return;
    }
    let clock = if virtual_clock { " (virtual clock)" } else { "" };
    let _ = writeln!(
        out,
        "<table id=\"timeline\"><thead><tr><th>state</th><th>entered{clock}</th><th class=\"num\">duration</th></tr></thead><tbody>"
    );
    for t in rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&t.state),
            esc(&t.entered),
            t.duration_seconds.map_or("running".to_string(), duration)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 { format!("${v:.4}") } else { format!("${v:.2}") }
}

fn costs(out: &mut String, rows: &[CostLine]) {
    out.push_str("<h2>Cost</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No cost recorded.</p>\n");
        return;
    }
    out.push_str(
        "<table id=\"costs\"><thead><tr><th>item</th><th class=\"num\">USD</th><th>how</th></tr></thead><tbody>\n",
    );
    for c in rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"muted\">{}</td></tr>",
            esc(&c.item),
            usd(c.usd),
            esc(c.note.as_deref().unwrap_or(""))
        );
    }
    let total: f64 = rows.iter().map(|c| c.usd).sum();
    let _ = writeln!(
        out,
        "</tbody><tfoot><tr><th>total</th><th class=\"num\">{}</th><th></th></tr></tfoot></table>",
        usd(total)
    );
}

/// A report with every section filled, hostile text included: for the browser check and tests.
pub fn sample_input() -> ReportInput {
    let series = |n: u64, per_epoch: u64, start: f64, floor: f64, offset: f64| -> Vec<LossPoint> {
        (0..n)
            .map(|i| {
                let t = i as f64 / n as f64;
                let wobble = 0.03 * ((i * 7919 % 13) as f64 / 13.0 - 0.5);
                let loss = floor + (start - floor) * (-4.0 * t).exp() + wobble + offset;
                LossPoint { step: i, epoch: i / per_epoch, loss, perplexity: Some(loss.exp()) }
            })
            .collect()
    };
    let training = series(300, 100, 2.6, 0.35, 0.0);
    let validation: Vec<LossPoint> = [99u64, 199, 299]
        .iter()
        .enumerate()
        .map(|(e, &step)| LossPoint {
            step,
            epoch: e as u64,
            loss: training[step as usize].loss + 0.12,
            perplexity: None,
        })
        .collect();
    ReportInput {
        run_id: "tickets-0123456789abcdef0123".into(),
        status: "SUCCEEDED".into(),
        customization_type: "FINE_TUNING".into(),
        base_model: "amazon.nova-micro-v1:0:128k".into(),
        custom_model: Some("finetune-tickets-0123456789abcdef0123".into()),
        dataset: Some("s3://bucket/incoming/support-tickets.jsonl".into()),
        emulated: true,
        virtual_clock: true,
        generated_at: "2026-01-02T05:10:00Z".into(),
        training_loss: training,
        validation_loss: validation,
        metrics: vec![
            MetricRow {
                name: "exact_match".into(),
                base: Some(0.2),
                custom: Some(0.85),
                higher_is_better: true,
                primary: true,
            },
            MetricRow {
                name: "token_f1".into(),
                base: Some(0.41),
                custom: Some(0.9),
                higher_is_better: true,
                primary: false,
            },
            MetricRow {
                name: "latency_p50_ms".into(),
                base: Some(412.0),
                custom: Some(388.5),
                higher_is_better: false,
                primary: false,
            },
            MetricRow {
                name: "errors".into(),
                base: Some(0.0),
                custom: Some(1.0),
                higher_is_better: false,
                primary: false,
            },
        ],
        examples: vec![
            ExampleAnswer {
                prompt: "My refund has not arrived after 10 days.".into(),
                reference: "billing".into(),
                base: Some("I'm sorry to hear that. Could you share your order number?".into()),
                custom: Some("billing".into()),
            },
            ExampleAnswer {
                prompt: "</script><script>window.__pwned = 1</script> The app <b>crashes</b> & logs me out".into(),
                reference: "<img src=x onerror=\"window.__pwned = 2\">technical".into(),
                base: None,
                custom: Some("technical ' \" <!-- -->".into()),
            },
        ],
        timeline: vec![
            TimelineEntry {
                state: "ValidateSplit".into(),
                entered: "2026-01-02T03:04:05Z".into(),
                duration_seconds: Some(1.2),
            },
            TimelineEntry {
                state: "StartJob".into(),
                entered: "2026-01-02T03:04:06Z".into(),
                duration_seconds: Some(0.4),
            },
            TimelineEntry {
                state: "WaitForJob".into(),
                entered: "2026-01-02T03:04:07Z".into(),
                duration_seconds: Some(7_260.0),
            },
            TimelineEntry {
                state: "Evaluate".into(),
                entered: "2026-01-02T05:05:07Z".into(),
                duration_seconds: Some(185.0),
            },
            TimelineEntry { state: "Notify".into(), entered: "2026-01-02T05:08:12Z".into(), duration_seconds: None },
        ],
        timeline_note: None,
        costs: vec![
            CostLine {
                item: "training".into(),
                usd: 0.0034,
                note: Some("1,705 tokens × 2 epochs × $0.001/1K tokens".into()),
            },
            CostLine { item: "Step Functions".into(), usd: 0.00075, note: Some("30 transitions × $0.000025".into()) },
            CostLine { item: "on-demand inference".into(), usd: 0.012, note: Some("evaluation calls <script>".into()) },
        ],
        gate: Some(GateVerdict {
            passed: true,
            metric: "exact_match".into(),
            improvement: 0.65,
            min_improvement: 0.05,
        }),
        ..ReportInput::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_escaped_and_nothing_is_loaded_or_run() {
        let html = render(&sample_input());
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "no script element, even from hostile text");
        assert!(!lower.contains("<img"), "no image element from hostile text");
        assert!(!lower.contains("<b>crashes"), "markup in text is text");
        assert!(html.contains("&lt;/script&gt;&lt;script&gt;window.__pwned = 1&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt;technical"));
        assert!(html.contains("technical &#39; &quot; &lt;!-- --&gt;"));
        assert!(!lower.contains("http://") || lower.matches("http://").count() == 1, "only the SVG namespace");
        assert!(!lower.contains("https://") && !lower.contains("src=\"") && !lower.contains("href="));
        assert!(html.contains("Content-Security-Policy"));
        assert_eq!(esc("a\u{0}b\u{7}c\td"), "a\u{fffd}b\u{fffd}c\td");
    }

    #[test]
    fn charts_have_one_polyline_per_series_with_every_point() {
        let input = sample_input();
        let html = render(&input);
        assert!(html.contains("data-series=\"training\" data-points=\"300\""));
        assert!(html.contains("data-series=\"validation\" data-points=\"3\""));
        assert_eq!(html.matches("<circle class=\"dot-validation\"").count(), 3);
        assert_eq!(html.matches("class=\"epoch\"").count(), 2, "two epoch boundaries in three epochs");
        let training_points = html.split("data-series=\"training\"").nth(1).unwrap();
        let points = training_points.split("points=\"").nth(2).unwrap().split('"').next().unwrap();
        assert_eq!(points.split(' ').count(), 300);
        // A long series is thinned to the cap, keeping its last step.
        let mut long = input.clone();
        long.training_loss = (0..10_001)
            .map(|i| LossPoint { step: i, epoch: 0, loss: 1.0 / (1.0 + i as f64), perplexity: None })
            .collect();
        let html = render(&long);
        // 10,001 points over a cap of 2,000: one in 6 (1,667) plus the last step.
        assert!(html.contains("data-series=\"training\" data-points=\"1668\""));
        assert!(html.contains("one every 6 steps"));
        // No data: a sentence instead of an empty chart.
        let html = render(&ReportInput { training_loss: vec![], validation_loss: vec![], ..input });
        assert!(html.contains("id=\"no-loss\"") && !html.contains("<polyline"));
    }

    #[test]
    fn tables_show_deltas_timeline_costs_and_the_verdict() {
        let html = render(&sample_input());
        assert!(html.contains("<td class=\"num good\">+0.650</td>"), "exact_match up is good");
        assert!(html.contains("<td class=\"num good\">−23.500</td>"), "latency down is good");
        assert!(html.contains("<td class=\"num bad\">+1.000</td>"), "errors up is bad");
        assert!(html.contains("Passed: exact_match improved by +0.650 (required: +0.050)."));
        assert!(html.contains("<td class=\"num\">2h 01m</td>") && html.contains("<td class=\"num\">3m 05s</td>"));
        assert!(html.contains("<td class=\"num\">1.2s</td>") && html.contains(">running<"));
        assert!(html.contains("<th class=\"num\">$0.02</th>"), "total of the cost lines");
        assert!(html.contains("id=\"emulated\"") && html.contains("id=\"virtual-clock\""));
        let real = render(&ReportInput { emulated: false, virtual_clock: false, ..sample_input() });
        assert!(!real.contains("id=\"emulated\"") && !real.contains("virtual clock"));
        let failed = ReportInput {
            status: "FAILED".into(),
            error: Some("DatasetInvalid".into()),
            cause: Some("line 3: <bad>".into()),
            gate: None,
            ..sample_input()
        };
        let html = render(&failed);
        assert!(html.contains("status failed") && html.contains("DatasetInvalid: line 3: &lt;bad&gt;"));
        assert!(html.contains("Not evaluated."));
        assert!(!html.contains("timeline-note"), "no note when the timeline is the history");
        let noted = render(&ReportInput { timeline_note: Some("approximate: <denied>".into()), ..sample_input() });
        assert!(noted.contains("<p class=\"muted\" id=\"timeline-note\">approximate: &lt;denied&gt;</p>"));
    }

    #[test]
    fn axes_have_round_ticks() {
        let a = nice_axis(0.31, 2.58);
        assert_eq!(a.ticks, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        let flat = nice_axis(1.0, 1.0);
        assert!(flat.lo < 1.0 && flat.hi > 1.0);
        assert_eq!(nice_axis(0.0, 299.0).ticks.last(), Some(&300.0));
        assert_eq!(duration(7_260.0), "2h 01m");
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(0.4), "0.4s");
        assert_eq!(duration(3.0), "3s");
    }
}
