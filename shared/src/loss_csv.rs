//! The loss curves Bedrock writes for a customization job, read tolerantly, and a terminal sparkline.
//!
//! Bedrock's user guide (model-customization-analyze.html) puts two CSV files in the job's output:
//! `training_artifacts/step_wise_training_metrics.csv` with the columns `step_number` (from 0),
//! `epoch_number`, `training_loss` and `perplexity`, and
//! `validation_artifacts/post_fine_tuning_validation/validation_metrics.csv` with the same columns
//! but `validation_loss` for `training_loss`. The reader finds columns by name in any order, ignores
//! columns it does not know, blank lines, a byte-order mark, CRLF line ends, spaces and quotes around
//! fields; a row it cannot read is skipped and listed with its line, never a failure of the whole file.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Where the files are, under the job's output prefix. These names and the columns below are the one
/// source of truth: the reader here, the local Bedrock emulator's writer and the report all use them.
pub const TRAINING_CSV: &str = "training_artifacts/step_wise_training_metrics.csv";
pub const VALIDATION_CSV: &str = "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv";
/// Bedrock's columns besides the loss.
pub const STEP_COLUMN: &str = "step_number";
pub const EPOCH_COLUMN: &str = "epoch_number";
pub const PERPLEXITY_COLUMN: &str = "perplexity";

/// Which file a series comes from; decides the loss column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    Training,
    Validation,
}

impl LossKind {
    pub fn loss_column(self) -> &'static str {
        match self {
            LossKind::Training => "training_loss",
            LossKind::Validation => "validation_loss",
        }
    }

    /// The file's path under the job's output prefix.
    pub fn path(self) -> &'static str {
        match self {
            LossKind::Training => TRAINING_CSV,
            LossKind::Validation => VALIDATION_CSV,
        }
    }

    /// The file's own name (its last path segment).
    pub fn file_name(self) -> &'static str {
        self.path().rsplit('/').next().unwrap_or_default()
    }

    /// Bedrock's header row, in Bedrock's column order.
    pub fn columns(self) -> [&'static str; 4] {
        [STEP_COLUMN, EPOCH_COLUMN, self.loss_column(), PERPLEXITY_COLUMN]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    pub step: u64,
    pub epoch: u64,
    pub loss: f64,
    pub perplexity: Option<f64>,
}

/// A row that could not be read: its 1-based line and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossSeries {
    pub kind: LossKind,
    /// In step order.
    pub points: Vec<LossPoint>,
    pub skipped: Vec<SkippedRow>,
}

/// The file cannot be read as this kind of metrics file at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty; expected a header such as `step_number,epoch_number,{0},perplexity`")]
    Empty(&'static str),
    #[error("line {line}: the header has no `{column}` column (found: {found}); is this Bedrock's {file}?")]
    MissingColumn { line: u64, column: &'static str, found: String, file: &'static str },
}

impl LossSeries {
    pub fn losses(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.loss).collect()
    }
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
    pub fn first(&self) -> Option<f64> {
        self.points.first().map(|p| p.loss)
    }
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.loss)
    }
    pub fn min(&self) -> Option<f64> {
        self.points.iter().map(|p| p.loss).reduce(f64::min)
    }
}

/// Reads a metrics CSV of `kind`.
pub fn parse(text: &str, kind: LossKind) -> Result<LossSeries, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)));
    let (header_line, header) =
        lines.by_ref().find(|(_, l)| !l.trim().is_empty()).ok_or(CsvError::Empty(kind.loss_column()))?;
    let names: Vec<String> = fields(header).map(|f| f.to_ascii_lowercase()).collect();
    let column = |name: &'static str| names.iter().position(|n| n == name);
    let missing = |name: &'static str| CsvError::MissingColumn {
        line: header_line,
        column: name,
        found: names.join(", "),
        file: kind.file_name(),
    };
    let step_at = column(STEP_COLUMN).ok_or_else(|| missing(STEP_COLUMN))?;
    let loss_at = column(kind.loss_column()).ok_or_else(|| missing(kind.loss_column()))?;
    let epoch_at = column(EPOCH_COLUMN);
    let perplexity_at = column(PERPLEXITY_COLUMN);

    let mut points = Vec::new();
    let mut skipped = Vec::new();
    for (line, row) in lines {
        if row.trim().is_empty() {
            continue;
        }
        let values: Vec<&str> = fields(row).collect();
        let get = |at: usize| values.get(at).copied().unwrap_or("");
        let step = parse_count(get(step_at));
        let loss = get(loss_at).parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(step), Some(loss)) = (step, loss) else {
            let reason = if values.len() < names.len() {
                format!("{} fields where the header has {}", values.len(), names.len())
            } else {
                format!("`{}` or `{}` is not a number", get(step_at), get(loss_at))
            };
            skipped.push(SkippedRow { line, reason });
            continue;
        };
        let epoch = epoch_at.and_then(|at| parse_count(get(at))).unwrap_or(0);
        let perplexity = perplexity_at.and_then(|at| get(at).parse::<f64>().ok()).filter(|v| v.is_finite());
        points.push(LossPoint { step, epoch, loss, perplexity });
    }
    // Bedrock writes steps in order; a file concatenated or edited by hand may not be.
    points.sort_by_key(|p| p.step);
    Ok(LossSeries { kind, points, skipped })
}

/// Fields of a CSV row: split at commas, trimmed, surrounding double quotes removed (Bedrock's files
/// hold only numbers, so quoted commas need not be handled).
fn fields(row: &str) -> impl Iterator<Item = &str> {
    row.split(',').map(|f| {
        let f = f.trim();
        f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f).trim()
    })
}

/// A step or epoch: a whole number, also when written `3.0`.
fn parse_count(field: &str) -> Option<u64> {
    field.parse::<u64>().ok().or_else(|| {
        let v = field.parse::<f64>().ok()?;
        (v >= 0.0 && v.fract() == 0.0 && v < 1e15).then_some(v as u64)
    })
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `values` as at most `width` block characters, low to high; each character is the mean of its
/// share of the values. A flat series is a flat line; non-finite values are left out.
pub fn sparkline(values: &[f64], width: usize) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let buckets = width.min(values.len());
    let means: Vec<f64> = (0..buckets)
        .map(|b| {
            let (start, end) = (b * values.len() / buckets, (b + 1) * values.len() / buckets);
            let slice = &values[start..end.max(start + 1)];
            slice.iter().sum::<f64>() / slice.len() as f64
        })
        .collect();
    let (lo, hi) = means.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = hi - lo;
    means
        .iter()
        .map(|&v| {
            if span <= f64::EPSILON * hi.abs().max(1.0) {
                BARS[3]
            } else {
                BARS[(((v - lo) / span) * (BARS.len() - 1) as f64).round() as usize]
            }
        })
        .collect()
}

/// One line for a terminal: `training loss   2.412 ▇▆▅▄▃▂▂▁ 0.315  (min 0.301, 2,400 steps, 3 epochs)`.
pub fn summary_line(label: &str, series: &LossSeries, width: usize) -> String {
    let (Some(first), Some(last), Some(min)) = (series.first(), series.last(), series.min()) else {
        return format!("{label:<16} (no data)");
    };
    let epochs = series.points.iter().map(|p| p.epoch).max().map_or(0, |e| e + 1);
    let mut out = format!("{label:<16} {first:.3} {} {last:.3}  (min {min:.3}, ", sparkline(&series.losses(), width));
    let unit = if series.points.len() == 1 { "point" } else { "points" };
    let _ = write!(out, "{} {unit}, {epochs} epoch{})", series.points.len(), if epochs == 1 { "" } else { "s" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAINING: &str =
        "step_number,epoch_number,training_loss,perplexity\n0,0,2.5,12.18\n1,0,2.1,8.17\n2,1,1.6,4.95\n";

    #[test]
    fn names_and_headers_are_bedrocks() {
        assert_eq!(LossKind::Training.columns().join(","), "step_number,epoch_number,training_loss,perplexity");
        assert_eq!(LossKind::Validation.file_name(), "validation_metrics.csv");
        assert_eq!(LossKind::Training.path(), TRAINING_CSV);
    }

    #[test]
    fn reads_bedrocks_training_file() {
        let s = parse(TRAINING, LossKind::Training).unwrap();
        assert_eq!(s.points.len(), 3);
        assert_eq!(s.points[2], LossPoint { step: 2, epoch: 1, loss: 1.6, perplexity: Some(4.95) });
        assert!(s.skipped.is_empty());
        assert_eq!((s.first(), s.last(), s.min()), (Some(2.5), Some(1.6), Some(1.6)));
    }

    #[test]
    fn tolerates_order_blank_lines_crlf_bom_quotes_and_extra_columns() {
        let text = "\u{feff}\r\n\"perplexity\", Validation_Loss ,step_number,epoch_number,lr\r\n\r\n3.0,1.1,9,0,0.1\r\n2.7, 1.0 ,\"19\",1.0,0.1\r\n\r\n";
        let s = parse(text, LossKind::Validation).unwrap();
        let got: Vec<(u64, u64, f64)> = s.points.iter().map(|p| (p.step, p.epoch, p.loss)).collect();
        assert_eq!(got, [(9, 0, 1.1), (19, 1, 1.0)]);
        assert_eq!(s.points[0].perplexity, Some(3.0));
    }

    #[test]
    fn bad_rows_are_skipped_with_their_line_and_steps_sorted() {
        let text =
            "step_number,epoch_number,training_loss,perplexity\n5,0,1.0,2.7\n6,0\nx,0,1,1\n1,0,nan,1\n2,0,3.0,\n";
        let s = parse(text, LossKind::Training).unwrap();
        assert_eq!(s.points.iter().map(|p| p.step).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(s.points[0].perplexity, None);
        let lines: Vec<u64> = s.skipped.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert_eq!(s.skipped[0].reason, "2 fields where the header has 4");
        assert_eq!(s.skipped[1].reason, "`x` or `1` is not a number");
    }

    #[test]
    fn a_missing_column_or_an_empty_file_is_an_error() {
        assert_eq!(parse("\n \n", LossKind::Training), Err(CsvError::Empty("training_loss")));
        let e = parse(TRAINING, LossKind::Validation).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: the header has no `validation_loss` column (found: step_number, epoch_number, training_loss, \
             perplexity); is this Bedrock's validation_metrics.csv?"
        );
        // Only the header: a valid file with no points.
        assert!(parse("step_number,training_loss\n", LossKind::Training).unwrap().is_empty());
    }

    #[test]
    fn sparklines_scale_between_min_and_max() {
        assert_eq!(sparkline(&[3.0, 2.0, 1.0, 0.0], 10), "█▆▃▁");
        assert_eq!(sparkline(&[1.0; 5], 3), "▄▄▄");
        assert_eq!(sparkline(&[], 10), "");
        assert_eq!(sparkline(&[f64::NAN, 1.0, 2.0], 5), "▁█");
        let long: Vec<f64> = (0..1000).map(|i| 1000.0 - i as f64).collect();
        let line = sparkline(&long, 8);
        assert_eq!(line.chars().count(), 8);
        assert!(line.starts_with('█') && line.ends_with('▁'), "{line}");
        let s = parse(TRAINING, LossKind::Training).unwrap();
        assert_eq!(
            summary_line("training loss", &s, 20),
            "training loss    2.500 █▅▁ 1.600  (min 1.600, 3 points, 2 epochs)"
        );
        let empty = LossSeries { kind: LossKind::Training, points: vec![], skipped: vec![] };
        assert_eq!(summary_line("validation loss", &empty, 20), "validation loss  (no data)");
    }
}
