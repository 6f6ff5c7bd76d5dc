//! File-level rules, judged once the whole file was read: an empty file, BOM and CRLF, a file in
//! another format, record counts, file size, a legacy model, class balance; then the report with its
//! token totals and cost estimate.

use super::FileRole;
use super::records::State;
use crate::catalogue::{self, Fact, Provenance};
use crate::report::{Code, CostBasis, Report};

impl State<'_> {
    pub(super) fn finish(mut self, bytes: u64, bom: bool) -> Report {
        let opts = self.opts;
        let c = opts.customization;
        if self.records == 0 && !self.abandoned {
            self.issues.error(
                None,
                None,
                Code::EmptyFile,
                format!("the file has no records; add one JSON object per line, e.g. {}", c.format.example()),
            );
        }
        if bom {
            self.issues.warning(
                Some(1),
                None,
                Code::ByteOrderMark,
                "the file starts with a UTF-8 byte order mark; it is ignored here and `prepare` removes it",
            );
        }
        if self.crlf_lines > 0 {
            self.issues.warning(
                None,
                None,
                Code::CrlfLineEndings,
                format!("{} lines end with CRLF (Windows); `prepare` writes LF", self.crlf_lines),
            );
        }
        self.wrong_format_summary();
        if !self.abandoned && self.records > 0 {
            self.check_record_counts();
        }
        self.check_file_size(bytes);
        if opts.model.legacy {
            self.issues.warning(
                None,
                None,
                Code::LegacyModel,
                format!(
                    "{} is no longer in Bedrock's table of models that can be fine-tuned; check ListFoundationModels in your region",
                    opts.model.id
                ),
            );
        }
        let classes = self.class_summary();
        if self.records > 0 {
            self.tokens.mean_per_record = self.token_sum as f64 / self.records as f64;
        }
        self.tokens.total = self.token_sum;
        let epochs = c.epochs(None).max(1);
        let epochs = opts.epochs.unwrap_or(epochs);
        let cost_basis = c.training_price_per_1k_tokens.map(|price| CostBasis {
            training_tokens: self.token_sum,
            epochs,
            price_per_1k_tokens_usd: price.value,
            price_provenance: provenance_name(price.provenance).to_string(),
        });
        let estimated_cost_usd = cost_basis
            .as_ref()
            .map(|b| b.training_tokens as f64 * b.epochs as f64 * b.price_per_1k_tokens_usd / 1000.0);
        self.issues.sort();
        Report {
            valid: self.issues.error_count == 0,
            records: self.records,
            error_count: self.issues.error_count,
            warning_count: self.issues.warning_count,
            errors: self.issues.errors,
            warnings: self.issues.warnings,
            tokens: self.tokens,
            estimated_cost_usd,
            model: opts.model.id.to_string(),
            customization_type: c.kind.as_str().to_string(),
            format: c.format.as_str().to_string(),
            file: None,
            bytes,
            cost_basis,
            classes,
            split: None,
            invocation_logs: None,
        }
    }

    fn wrong_format_summary(&mut self) {
        let Some((format, count)) = self.other_formats.iter().max_by_key(|(_, n)| **n).map(|(f, n)| (*f, *n)) else {
            return;
        };
        if count * 2 >= self.records {
            // One file-level error says it all; keep a few line-level examples in the list.
            let mut kept = 0;
            self.issues.errors.retain(|i| {
                kept += usize::from(i.code == Code::WrongFormat);
                i.code != Code::WrongFormat || kept <= 3
            });
            let suggestion = catalogue::all()
                .iter()
                .filter(|m| m.customizations.iter().any(|c| c.format == format))
                .map(|m| m.id)
                .take(3)
                .collect::<Vec<_>>()
                .join(", ");
            self.issues.error(
                None,
                None,
                Code::WrongFormat,
                format!(
                    "{count} of {} records (from line {}) are in the {} format, but {} {} needs {}: {}. \
                     Convert the file, or choose a model that takes this format ({suggestion})",
                    self.records,
                    self.first_other_format_line.unwrap_or(1),
                    format.as_str(),
                    self.opts.model.id,
                    self.opts.customization.kind,
                    self.opts.format().as_str(),
                    self.opts.format().example()
                ),
            );
        }
    }

    fn check_record_counts(&mut self) {
        let bounds = self.opts.customization.records;
        let name = self.opts.model.name;
        let (max, what) = match self.opts.role {
            FileRole::Dataset => (bounds.max_total.or(bounds.max_train), "records"),
            FileRole::Validation => (bounds.max_validation, "validation records"),
        };
        if let Some(min) = bounds.min.filter(|_| self.opts.role == FileRole::Dataset)
            && self.records < min.value
        {
            self.limit_issue(
                min,
                Code::TooFewRecords,
                format!(
                    "{} records; {name} needs at least {}{}: add more examples",
                    self.records,
                    min.value,
                    unverified_note(min)
                ),
            );
        }
        if let Some(max) = max
            && self.records > max.value
        {
            self.limit_issue(
                max,
                Code::TooManyRecords,
                format!(
                    "{} {what}; {name} takes at most {}{}: remove records or split into several jobs",
                    self.records,
                    max.value,
                    unverified_note(max)
                ),
            );
        }
    }

    fn check_file_size(&mut self, bytes: u64) {
        let files = self.opts.customization.files;
        let limit = match self.opts.role {
            FileRole::Dataset => files.train_bytes,
            FileRole::Validation => files.validation_bytes,
        };
        if let Some(limit) = limit
            && bytes > limit.value
        {
            self.limit_issue(
                limit,
                Code::FileTooLarge,
                format!(
                    "the file is {} bytes; {} accepts at most {} bytes{}: remove records",
                    bytes,
                    self.opts.model.name,
                    limit.value,
                    unverified_note(limit)
                ),
            );
        }
    }

    /// A breach of a documented limit is an error; of an unverified one, a warning.
    fn limit_issue(&mut self, limit: Fact<u64>, code: Code, message: String) {
        if limit.provenance == Provenance::Documented {
            self.issues.error(None, None, code, message);
        } else {
            self.issues.warning(None, None, code, message);
        }
    }

    fn class_summary(&mut self) -> Option<Vec<(String, u64)>> {
        if !self.labels_possible || self.classes.len() < 2 || (self.classes.len() as u64) * 2 > self.good_records {
            return None;
        }
        let mut classes: Vec<(String, u64)> = self
            .classes
            .drain()
            .map(|(label, (_, records))| (String::from_utf8_lossy(&label).into_owned(), records))
            .collect();
        classes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let (top, top_n) = classes[0].clone();
        let (low, low_n) = classes[classes.len() - 1].clone();
        if low_n * 10 < top_n {
            self.issues.warning(
                None,
                None,
                Code::ClassImbalance,
                format!(
                    "completions look like class labels and are imbalanced: `{top}` has {top_n} records, `{low}` only {low_n}; \
                     add examples of the rare classes or the model will rarely predict them"
                ),
            );
        }
        Some(classes)
    }
}

fn provenance_name(p: Provenance) -> &'static str {
    match p {
        Provenance::Documented => "documented",
        Provenance::Secondary => "secondary",
        Provenance::Unverified => "unverified",
    }
}

pub(super) fn unverified_note<T>(fact: Fact<T>) -> &'static str {
    match fact.provenance {
        Provenance::Documented => "",
        Provenance::Secondary => " (from a secondary source, so this is a warning)",
        Provenance::Unverified => " (an unverified limit, so this is a warning)",
    }
}
