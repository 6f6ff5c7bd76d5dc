//! Streaming validation of a JSON Lines dataset against one model's rules for one customization type.
//!
//! The file is read once, line by line, with memory bounded by the longest allowed record. Each line
//! is checked for encoding and JSON, then by its format's checker (one module per format), then
//! against the model's token limits; file-level rules (record counts, size, format, class balance)
//! are judged at the end. Every problem names its 1-based line and field path.

mod claude;
mod conversation;
mod cpt;
mod fast;
pub mod lines;
mod prompt_completion;
mod rft;

use crate::CustomizationType;
use crate::catalogue::{self, Customization, DatasetFormat, Fact, Model, Provenance};
use crate::report::{Code, CostBasis, Issues, Report, TokenStats};
use crate::tokens::{self, TextSize};
use lines::{Line, LineReader};
use serde_json::{Map, Value};
use std::collections::HashMap;
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
    pub label: Option<String>,
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
    pub label: Option<&'a str>,
    pub tokens: u64,
}

/// Distinct labels tracked before completions are judged free text.
const MAX_CLASSES: usize = 50;
/// Longest completion still taken as a class label.
const MAX_LABEL_CHARS: usize = 64;
/// Distinct records remembered for duplicate detection (16 bytes each).
const MAX_TRACKED_RECORDS: usize = 2_000_000;

/// Validates a JSON Lines stream. `sink` receives each record that passed the line-level checks,
/// in order; the report is complete only when this returns.
pub fn validate_reader<R: Read>(reader: R, opts: &Options, mut sink: impl FnMut(&Record<'_>)) -> io::Result<Report> {
    let mut state = State::new(opts);
    let mut lines = LineReader::new(reader, opts.max_line_bytes);
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

struct State<'o> {
    opts: &'o Options,
    issues: Issues,
    records: u64,
    lines_seen: u64,
    blank_lines: u64,
    crlf_lines: u64,
    abandoned: bool,
    tokens: TokenStats,
    token_sum: u64,
    seen: crate::PrehashedMap<u64>,
    duplicate_check_limited: bool,
    classes: HashMap<String, u64>,
    labels_possible: bool,
    /// Records that look like another format, by format.
    other_formats: HashMap<DatasetFormat, u64>,
    first_other_format_line: Option<u64>,
    /// Records that passed every check.
    good_records: u64,
}

impl<'o> State<'o> {
    fn new(opts: &'o Options) -> Self {
        let tokens = TokenStats {
            limit_per_record: opts.customization.tokens_per_record.total.map(|f| f.value),
            method: tokens::describe(&opts.model.tokens),
            ..TokenStats::default()
        };
        State {
            opts,
            issues: Issues::default(),
            records: 0,
            lines_seen: 0,
            blank_lines: 0,
            crlf_lines: 0,
            abandoned: false,
            tokens,
            token_sum: 0,
            seen: crate::PrehashedMap::default(),
            duplicate_check_limited: false,
            classes: HashMap::new(),
            labels_possible: true,
            other_formats: HashMap::new(),
            first_other_format_line: None,
            good_records: 0,
        }
    }

    fn line(&mut self, line: Line<'_>, sink: &mut impl FnMut(&Record<'_>)) {
        self.lines_seen += 1;
        let (number, offset, bytes, terminated) = match line {
            Line::TooLong { number, len, .. } => {
                self.records += 1;
                self.issues.error(
                    Some(number),
                    None,
                    Code::LineTooLong,
                    format!(
                        "the line is {len} bytes, more than any {} record can be ({} bytes read at most); \
                         shorten or split this record",
                        self.opts.model.name, self.opts.max_line_bytes
                    ),
                );
                return;
            }
            Line::Text { number, offset, bytes, terminated, crlf } => {
                if crlf {
                    self.crlf_lines += 1;
                }
                (number, offset, bytes, terminated)
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if terminated || !bytes.is_empty() {
                self.blank_lines += 1;
                self.issues.warning(
                    Some(number),
                    None,
                    Code::BlankLine,
                    "blank line: it is skipped here and `prepare` leaves it out; Bedrock expects one JSON object on every line",
                );
            }
            return;
        }
        self.records += 1;
        // simdutf8 is several times faster than std on non-ASCII text; std says where the error is.
        let text = match simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes)) {
            Ok(text) => text,
            Err(e) => {
                self.issues.error(
                    Some(number),
                    None,
                    Code::InvalidUtf8,
                    format!(
                        "byte {} of the line is not valid UTF-8; save the file as UTF-8 (Bedrock reads nothing else)",
                        e.valid_up_to() + 1
                    ),
                );
                return;
            }
        };
        if self.records == 1 && text.trim_start().starts_with('[') {
            self.issues.error(
                None,
                None,
                Code::JsonArrayNotJsonLines,
                "the file is a JSON array, not JSON Lines: write one JSON object per line, with no enclosing `[` `]` and no commas between records",
            );
            self.abandoned = true;
            return;
        }
        let mut cx = RecordCx {
            line: number,
            model: self.opts.model,
            customization: self.opts.customization,
            issues: &mut self.issues,
            errors: 0,
        };
        let checked = match self.opts.format() {
            DatasetFormat::ContinuedPreTraining => cpt::check_fast(text),
            DatasetFormat::PromptCompletion => prompt_completion::check_fast(text),
            _ => None,
        };
        let record_text = match checked {
            Some(t) => t,
            None => {
                let value = match serde_json::from_str::<Value>(text) {
                    Ok(v) => v,
                    Err(e) => {
                        self.json_error(number, text, terminated, &e);
                        return;
                    }
                };
                let Value::Object(object) = &value else {
                    cx.error(
                        "$",
                        Code::NotAnObject,
                        format!(
                            "each line must be a JSON object, this is {}; expected e.g. {}",
                            kind_of(&value),
                            self.opts.format().example()
                        ),
                    );
                    return;
                };
                if let Some(other) = detect(object).filter(|f| !compatible(*f, self.opts.format())) {
                    *self.other_formats.entry(other).or_default() += 1;
                    self.first_other_format_line.get_or_insert(number);
                    cx.error(
                        "$",
                        Code::WrongFormat,
                        format!(
                            "this record is in the {} format, not {}; see the file-level error",
                            other.as_str(),
                            self.opts.format().as_str()
                        ),
                    );
                    return;
                }
                check_object(self.opts.format(), object, &mut cx)
            }
        };
        let record_errors = cx.errors();
        let (tokens, over_limit) = self.check_tokens(number, &record_text);
        if record_errors > 0 || over_limit {
            return;
        }
        let hash = xxhash_rust::xxh3::xxh3_64(bytes);
        self.track_duplicate(number, hash);
        let label = record_text.label.as_deref().filter(|l| l.chars().count() <= MAX_LABEL_CHARS);
        self.track_label(label);
        self.good_records += 1;
        sink(&Record { line: number, offset, bytes, hash, label, tokens });
    }

    fn json_error(&mut self, number: u64, text: &str, terminated: bool, e: &serde_json::Error) {
        let (code, message) = if e.is_eof() && !terminated {
            (
                Code::TruncatedLine,
                "the last line ends in the middle of a record (the file may have been cut off); complete or remove it"
                    .to_string(),
            )
        } else if e.is_eof() && text.trim() == "{" {
            (
                Code::InvalidJson,
                "a record is spread over several lines (pretty-printed JSON); write each record on one line"
                    .to_string(),
            )
        } else {
            (
                Code::InvalidJson,
                format!(
                    "not valid JSON at column {}: {}; fix the record or remove the line",
                    e.column(),
                    strip_position(e)
                ),
            )
        };
        self.issues.error(Some(number), None, code, message);
    }

    /// Returns the record's tokens and whether it broke a documented limit.
    fn check_tokens(&mut self, number: u64, text: &RecordText) -> (u64, bool) {
        let estimate = &self.opts.model.tokens;
        let input = text.input.tokens(estimate);
        let output = text.output.tokens(estimate);
        let total = input + output;
        self.tokens.input += input;
        self.tokens.output += output;
        self.token_sum += total;
        if total > self.tokens.max_per_record {
            self.tokens.max_per_record = total;
            self.tokens.max_record_line = Some(number);
        }
        let limits = &self.opts.customization.tokens_per_record;
        let mut over = false;
        let mut errored = false;
        for (limit, count, code, what) in [
            (limits.total, total, Code::TooManyTokens, "tokens"),
            (limits.input, input, Code::TooManyInputTokens, "input tokens"),
            (limits.output, output, Code::TooManyOutputTokens, "output tokens"),
        ] {
            let Some(limit) = limit else { continue };
            if count > limit.value {
                over = true;
                let message = format!(
                    "about {count} {what} ({}), over the {} limit of {} per record{}; shorten or split the record",
                    tokens::describe(estimate),
                    self.opts.model.name,
                    limit.value,
                    unverified_note(limit)
                );
                if limit.provenance == Provenance::Documented {
                    errored = true;
                    self.issues.error(Some(number), None, code, message);
                } else {
                    self.issues.warning(Some(number), None, code, message);
                }
            } else if count * 10 > limit.value * 9 {
                self.issues.warning(
                    Some(number),
                    None,
                    Code::NearTokenLimit,
                    format!(
                        "about {count} {what}, within 10% of the limit of {}; the estimate is approximate, so this record may be rejected",
                        limit.value
                    ),
                );
            }
        }
        if over {
            self.tokens.records_over_limit += 1;
        }
        (total, errored)
    }

    fn track_duplicate(&mut self, number: u64, hash: u64) {
        if let Some(first) = self.seen.get(&hash) {
            self.issues.warning(
                Some(number),
                None,
                Code::DuplicateRecord,
                format!("same record as line {first}; duplicates weigh that example more in training (the split keeps copies on one side)"),
            );
        } else if self.seen.len() < MAX_TRACKED_RECORDS {
            self.seen.insert(hash, number);
        } else if !self.duplicate_check_limited {
            self.duplicate_check_limited = true;
            self.issues.warning(
                None,
                None,
                Code::DuplicateCheckLimited,
                format!("duplicates are checked among the first {MAX_TRACKED_RECORDS} distinct records only"),
            );
        }
    }

    fn track_label(&mut self, label: Option<&str>) {
        if !self.labels_possible {
            return;
        }
        match label {
            Some(l) if self.classes.contains_key(l) => *self.classes.get_mut(l).unwrap() += 1,
            Some(l) if self.classes.len() < MAX_CLASSES => {
                self.classes.insert(l.to_string(), 1);
            }
            _ => {
                self.labels_possible = false;
                self.classes = HashMap::new();
            }
        }
    }

    fn finish(mut self, bytes: u64, bom: bool) -> Report {
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
        let mut classes: Vec<(String, u64)> = self.classes.drain().collect();
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

fn unverified_note<T>(fact: Fact<T>) -> &'static str {
    match fact.provenance {
        Provenance::Documented => "",
        Provenance::Secondary => " (from a secondary source, so this is a warning)",
        Provenance::Unverified => " (an unverified limit, so this is a warning)",
    }
}

/// serde_json appends " at line 1 column N"; the report has its own position.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_object(format: DatasetFormat, object: &Map<String, Value>, cx: &mut RecordCx<'_>) -> RecordText {
    match format {
        DatasetFormat::PromptCompletion => prompt_completion::check(object, cx),
        DatasetFormat::ContinuedPreTraining => cpt::check(object, cx),
        DatasetFormat::Conversation => conversation::check(object, cx, conversation::Mode::FineTuning),
        DatasetFormat::DistillationPrompts => conversation::check(object, cx, conversation::Mode::Distillation),
        DatasetFormat::ClaudeMessages => claude::check(object, cx),
        DatasetFormat::ReinforcementChat => rft::check(object, cx),
    }
}

/// Guesses a record's format from its keys, to tell a user they chose the wrong model or type.
/// `None` when the record matches no format well enough to say.
pub(crate) fn detect(object: &Map<String, Value>) -> Option<DatasetFormat> {
    let has = |k: &str| object.contains_key(k);
    if has("prompt") && has("completion") {
        return Some(DatasetFormat::PromptCompletion);
    }
    if has("input") && object.len() == 1 {
        return Some(DatasetFormat::ContinuedPreTraining);
    }
    let messages = object.get("messages").and_then(Value::as_array);
    if let Some(messages) = messages {
        let string_content = messages.iter().any(|m| m.get("content").is_some_and(Value::is_string));
        let block_content = messages.iter().any(|m| m.get("content").is_some_and(Value::is_array));
        if has("reference_answer") {
            return Some(DatasetFormat::ReinforcementChat);
        }
        if has("schemaVersion") || block_content && !string_content {
            return Some(DatasetFormat::Conversation);
        }
        if string_content && !block_content {
            return Some(DatasetFormat::ClaudeMessages);
        }
    }
    None
}

/// Formats whose records can look alike without being wrong.
fn compatible(detected: DatasetFormat, expected: DatasetFormat) -> bool {
    detected == expected
        || matches!(
            (detected, expected),
            (DatasetFormat::Conversation, DatasetFormat::DistillationPrompts)
                | (DatasetFormat::ClaudeMessages, DatasetFormat::ReinforcementChat)
        )
}

/// A helper for format checkers: a required, non-empty string field.
pub(crate) fn required_text<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    path: &str,
    cx: &mut RecordCx<'_>,
) -> Option<&'v str> {
    match object.get(key) {
        None => {
            cx.error(path, Code::MissingField, format!("`{key}` is missing; add it as a non-empty string"));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            cx.error(path, Code::EmptyValue, format!("`{key}` is empty; give it text, or remove the record"));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            cx.error(path, Code::WrongType, format!("`{key}` must be a string, not {}", kind_of(other)));
            None
        }
    }
}

/// A helper for format checkers: warns about keys the format does not define.
pub(crate) fn warn_unknown_keys(object: &Map<String, Value>, known: &[&str], prefix: &str, cx: &mut RecordCx<'_>) {
    for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        cx.warn(
            path,
            Code::UnknownField,
            format!("`{key}` is not part of the format and is ignored by Bedrock; known: {}", known.join(", ")),
        );
    }
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
