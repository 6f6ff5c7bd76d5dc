//! The human-readable summary: the verdict, the first problems with their lines, counts, the estimate.

use shared::prepare::Prepared;
use shared::report::{Issue, Report};
use shared::validate::Options;
use std::fmt::Write;
use std::path::Path;

const SHOWN: usize = 10;

pub fn render(report: &Report, opts: &Options) -> String {
    let mut out = String::new();
    let file = report.file.as_deref().unwrap_or("dataset");
    let verdict = if report.valid { "valid" } else { "NOT valid" };
    let _ = writeln!(
        out,
        "{file}: {verdict} for {} ({}, format {})",
        opts.model.id, report.customization_type, report.format
    );
    let _ = writeln!(
        out,
        "  {} records, {} errors, {} warnings",
        group(report.records),
        group(report.error_count),
        group(report.warning_count)
    );
    section(&mut out, "Errors", &report.errors, report.error_count);
    section(&mut out, "Warnings", &report.warnings, report.warning_count);
    let t = &report.tokens;
    let _ = writeln!(out, "\nTokens ({})", t.method);
    let _ = write!(
        out,
        "  total {}, mean {:.0} per record, longest {}",
        group(t.total),
        t.mean_per_record,
        group(t.max_per_record)
    );
    if let Some(line) = t.max_record_line {
        let _ = write!(out, " (line {line})");
    }
    match t.limit_per_record {
        Some(limit) => {
            let _ = writeln!(out, "; limit {} per record", group(limit));
        }
        None => {
            let _ = writeln!(out);
        }
    }
    match (&report.cost_basis, report.estimated_cost_usd) {
        (Some(b), Some(cost)) => {
            let _ = writeln!(
                out,
                "Estimated training cost: ${} = {} tokens x {} epochs x ${}/1K tokens (price: {})",
                dollars(cost),
                group(b.training_tokens),
                b.epochs,
                b.price_per_1k_tokens_usd,
                b.price_provenance
            );
        }
        _ => {
            let _ = writeln!(out, "Estimated training cost: unknown (no training price is published for this model)");
        }
    }
    if let Some(classes) = &report.classes {
        let list: Vec<String> = classes.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        let _ = writeln!(out, "Classes: {}", list.join(", "));
    }
    out
}

pub fn outputs(prepared: &Prepared, dir: &Path) -> String {
    let mut out = String::new();
    if let Some(split) = &prepared.report.split
        && prepared.train.is_some()
    {
        let _ = writeln!(
            out,
            "\nSplit ({}, seed {}): {} training, {} validation records{}",
            split.strategy,
            split.seed,
            group(split.train_records),
            group(split.validation_records),
            if split.duplicate_groups > 0 {
                format!("; {} groups of duplicates kept on one side", split.duplicate_groups)
            } else {
                String::new()
            }
        );
    }
    let mut written: Vec<String> = Vec::new();
    for path in [&prepared.train, &prepared.validation].into_iter().flatten() {
        written.push(path.display().to_string());
    }
    written.push(dir.join(shared::prepare::REPORT_FILE).display().to_string());
    if prepared.train.is_none() {
        let _ = writeln!(out, "\nNothing split: fix the errors and run again. Wrote {}", written.join(", "));
    } else {
        let _ = writeln!(out, "Wrote {}", written.join(", "));
    }
    out
}

fn section(out: &mut String, title: &str, issues: &[Issue], total: u64) {
    if issues.is_empty() {
        return;
    }
    let shown = issues.len().min(SHOWN);
    let more = total.saturating_sub(shown as u64);
    let _ = writeln!(
        out,
        "\n{title}{}:",
        if more > 0 { format!(" (first {shown} of {})", group(total)) } else { String::new() }
    );
    for issue in &issues[..shown] {
        let _ = writeln!(out, "  {issue} [{}]", issue.code.as_str());
    }
    if more > 0 {
        let _ = writeln!(out, "  ... and {} more (use --json for the full list)", group(more));
    }
}

/// Cents, or four decimals below a cent so a small run does not read as free.
fn dollars(cost: f64) -> String {
    if cost > 0.0 && cost < 0.01 { format!("{cost:.4}") } else { format!("{cost:.2}") }
}

/// 1234567 -> "1,234,567".
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }
}
