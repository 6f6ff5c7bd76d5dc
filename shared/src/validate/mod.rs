//! Streaming validation of a JSON Lines dataset against one model's rules for one customization type.
//!
//! The file is read once, line by line, with memory bounded by the longest allowed record. Each line
//! is checked for encoding and JSON, then by its format's checker (one module per format), then
//! against the model's token limits; file-level rules (record counts, size, format, class balance)
//! are judged at the end. Every problem names its 1-based line and field path.
//!
//! - `records.rs`: the pass over the lines and each record's checks
//! - `file_rules.rs`: the rules judged on the whole file, and the report
//! - `detect.rs`: which format a record looks like
//! - `fields.rs`, `chat.rs`: helpers and rules the format checkers share
//! - one file per format: `prompt_completion.rs`, `conversation/` (with its media rules), `claude.rs`,
//!   `cpt.rs`, `rft.rs`

mod chat;
mod claude;
mod conversation;
mod cpt;
mod detect;
mod fast;
mod fields;
mod file_rules;
pub mod lines;
mod parallel;
mod prompt_completion;
mod records;
mod rft;

use crate::CustomizationType;
use crate::catalogue::{self, Customization, DatasetFormat, Model};
use crate::report::{Code, Issues, Report};
use crate::tokens::TextSize;
use lines::LineReader;
pub use parallel::{validate_parallel, validate_slice_parallel};
use records::State;
use std::io::{self, Read};

/// Which file of a job is being checked: limits differ for training and validation files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// The whole dataset, before a split (training plus validation).
    Dataset,
    /// A user-supplied validation file.
    Validation,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub model: &'static Model,
    pub customization: &'static Customization,
    pub role: FileRole,
    /// Epochs the job will run, for the cost estimate; the model's default when `None`.
    pub epochs: Option<u64>,
    /// Longest line read into memory; longer lines are reported and skipped.
    pub max_line_bytes: usize,
}

/// Why options could not be made: a usage problem, not a dataset problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionsError {
    #[error("unknown model `{id}`{}", hint(.suggestions))]
    UnknownModel { id: String, suggestions: Vec<&'static str> },
    #[error("{model} does not support {kind}; it supports: {supported}")]
    Unsupported { model: &'static str, kind: CustomizationType, supported: String },
}

fn hint(suggestions: &[&str]) -> String {
    if suggestions.is_empty() {
        let ids: Vec<_> = catalogue::all().iter().map(|m| m.id).collect();
        format!("; known models: {}", ids.join(", "))
    } else {
        format!("; did you mean {}?", suggestions.join(" or "))
    }
}

/// A record is never allowed to be larger than this, whatever its model (memory bound).
pub const MAX_LINE_BYTES_CAP: usize = 16 << 20;

impl Options {
    pub fn new(model_id: &str, kind: CustomizationType) -> Result<Options, OptionsError> {
        let model = catalogue::find(model_id).ok_or_else(|| OptionsError::UnknownModel {
            id: model_id.to_string(),
            suggestions: catalogue::suggestions(model_id),
        })?;
        let customization = model.customization(kind).ok_or_else(|| OptionsError::Unsupported {
            model: model.id,
            kind,
            supported: model.supported_types().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
        })?;
        // A record at the token limit is at most ~4 bytes per character, doubled for JSON escapes
        // and structure; never below 1 MiB so small limits do not reject merely verbose JSON.
        let limit = customization.tokens_per_record.total.map(|f| f.value).unwrap_or(32_000);
        let max_line_bytes =
            ((limit as f64 * model.tokens.chars_per_token * 8.0) as usize).clamp(1 << 20, MAX_LINE_BYTES_CAP);
        Ok(Options { model, customization, role: FileRole::Dataset, epochs: None, max_line_bytes })
    }

    pub fn format(&self) -> DatasetFormat {
        self.customization.format
    }
}

/// What a format checker learned about one record.
#[derive(Debug, Default, Clone)]
pub struct RecordText {
    /// Text the model reads (prompt, system, user turns).
    pub input: TextSize,
    /// Text the model learns to write (completion, assistant turns).
    pub output: TextSize,
    /// The completion, when it is short enough to be a class label.
    pub label: Option<Label>,
}

/// A record's class label: its completion or last answer, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// These bytes of the record's line, which need no decoding: nothing is copied.
    InLine(std::ops::Range<usize>),
    Decoded(String),
}

impl Label {
    /// The label `part`, a slice of the record's `line`.
    fn in_line(line: &str, part: &str) -> Label {
        // Addresses only compared, never dereferenced.
        let start = part.as_ptr() as usize - line.as_ptr() as usize;
        Label::InLine(start..start + part.len())
    }

    /// The label's text (UTF-8), given the record's line.
    pub fn bytes<'a>(&'a self, line: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Label::InLine(range) => line.get(range.clone()),
            Label::Decoded(text) => Some(text.as_bytes()),
        }
    }
}

/// The context a format checker reports into.
pub struct RecordCx<'a> {
    pub line: u64,
    pub model: &'static Model,
    pub customization: &'static Customization,
    issues: &'a mut Issues,
    errors: u64,
}

impl RecordCx<'_> {
    pub fn error(&mut self, field: impl Into<String>, code: Code, message: impl Into<String>) {
        self.errors += 1;
        self.issues.error(Some(self.line), Some(field.into()), code, message);
    }

    pub fn warn(&mut self, field: impl Into<String>, code: Code, message: impl Into<String>) {
        self.issues.warning(Some(self.line), Some(field.into()), code, message);
    }

    /// Errors this record has had so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }
}

/// A record that passed every line-level check, as handed to the caller's sink.
#[derive(Debug)]
pub struct Record<'a> {
    pub line: u64,
    pub offset: u64,
    /// The line as read, without its terminator: valid UTF-8, one JSON object.
    pub bytes: &'a [u8],
    /// Hash of `bytes`: equal records have equal hashes (used for duplicates and the split).
    pub hash: u64,
    /// The index of the record's class label, numbered in order of first appearance, while the
    /// completions look like class labels (the report's `classes` says whether they did to the end).
    pub class: Option<u32>,
    pub tokens: u64,
}

/// Validates a JSON Lines stream. `sink` receives each record that passed the line-level checks,
/// in order; the report is complete only when this returns.
pub fn validate_reader<R: Read>(reader: R, opts: &Options, sink: impl FnMut(&Record<'_>)) -> io::Result<Report> {
    validate_lines(LineReader::new(reader, opts.max_line_bytes), opts, sink)
}

fn validate_lines<R: Read>(
    mut lines: LineReader<'_, R>,
    opts: &Options,
    mut sink: impl FnMut(&Record<'_>),
) -> io::Result<Report> {
    let mut state = State::new(opts);
    while let Some(line) = lines.next_line()? {
        if state.abandoned {
            // Count lines no further: the file-level error already says what is wrong.
            continue;
        }
        state.line(line, &mut sink);
    }
    Ok(state.finish(lines.bytes_read, lines.bom))
}

/// Validates a file on disk.
pub fn validate_path(path: &std::path::Path, opts: &Options) -> io::Result<Report> {
    let file = std::fs::File::open(path)?;
    let mut report = validate_reader(file, opts, |_| {})?;
    report.file = Some(path.display().to_string());
    Ok(report)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn opts(model: &str, kind: CustomizationType) -> Options {
        Options::new(model, kind).unwrap()
    }

    pub fn run(opts: &Options, data: &str) -> Report {
        validate_reader(data.as_bytes(), opts, |_| {}).unwrap()
    }

    /// Codes of the errors, in order.
    pub fn error_codes(report: &Report) -> Vec<Code> {
        report.errors.iter().map(|e| e.code).collect()
    }

    /// Line-level errors as (line, field, code); file-level ones (e.g. too few records) are left out.
    pub fn line_errors(r: &Report) -> Vec<(Option<u64>, Option<&str>, Code)> {
        r.errors.iter().filter(|e| e.line.is_some()).map(|e| (e.line, e.field.as_deref(), e.code)).collect()
    }

    /// Line-level warnings as (line, field, code).
    pub fn line_warnings(r: &Report) -> Vec<(Option<u64>, Option<&str>, Code)> {
        r.warnings.iter().filter(|e| e.line.is_some()).map(|e| (e.line, e.field.as_deref(), e.code)).collect()
    }

    pub fn warning_codes(report: &Report) -> Vec<Code> {
        report.warnings.iter().map(|e| e.code).collect()
    }

    /// Repeats a record `n` times with a distinct number substituted for `{i}`.
    pub fn lines(template: &str, n: usize) -> String {
        (0..n).map(|i| template.replace("{i}", &i.to_string()) + "\n").collect()
    }
}

#[cfg(test)]
mod tests;
