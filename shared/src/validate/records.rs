//! One pass over the file, one record at a time: blank lines, encoding, JSON, the record's format
//! checker, token limits, duplicates and class labels. File-level rules are judged at the end
//! (`file_rules.rs`).

use super::detect::{compatible, detect};
use super::fields::kind_of;
use super::file_rules::unverified_note;
use super::lines::Line;
use super::parallel::Checked;
use super::{Options, Record, RecordCx, RecordText};
use super::{claude, conversation, cpt, prompt_completion, rft};
use crate::catalogue::{DatasetFormat, Provenance};
use crate::report::{Code, Issues, TokenStats};
use crate::tokens;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Distinct labels tracked before completions are judged free text.
const MAX_CLASSES: usize = 50;
/// Longest completion still taken as a class label.
const MAX_LABEL_CHARS: usize = 64;
/// Distinct records remembered for duplicate detection (16 bytes each).
const MAX_TRACKED_RECORDS: usize = 2_000_000;

/// What the pass has learned so far; `file_rules.rs` turns it into the report.
pub(super) struct State<'o> {
    pub(super) opts: &'o Options,
    pub(super) issues: Issues,
    pub(super) records: u64,
    pub(super) lines_seen: u64,
    pub(super) blank_lines: u64,
    pub(super) crlf_lines: u64,
    pub(super) abandoned: bool,
    pub(super) tokens: TokenStats,
    pub(super) token_sum: u64,
    pub(super) seen: crate::PrehashedMap<u64>,
    pub(super) duplicate_check_limited: bool,
    /// Each label: its index (in order of first appearance) and its records.
    pub(super) classes: crate::ShortKeyMap<(u32, u64)>,
    pub(super) labels_possible: bool,
    /// Records that look like another format, by format.
    pub(super) other_formats: HashMap<DatasetFormat, u64>,
    pub(super) first_other_format_line: Option<u64>,
    /// Records that passed every check.
    pub(super) good_records: u64,
}

impl<'o> State<'o> {
    pub(super) fn new(opts: &'o Options) -> Self {
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
            classes: crate::ShortKeyMap::default(),
            labels_possible: true,
            other_formats: HashMap::new(),
            first_other_format_line: None,
            good_records: 0,
        }
    }

    pub(super) fn line(&mut self, line: Line<'_>, sink: &mut impl FnMut(&Record<'_>)) {
        self.line_checked(line, None, sink)
    }

    /// `line`, given what a worker found for it (`parallel.rs`): its UTF-8, fast scan and hash are
    /// then taken as done. Not for the first record, whose text the file-level checks read.
    pub(super) fn line_checked(&mut self, line: Line<'_>, done: Option<Checked>, sink: &mut impl FnMut(&Record<'_>)) {
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
        if let Some(done) = done.filter(|_| self.records > 1) {
            self.accept(number, offset, bytes, &done.text, Some(done.hash), sink);
            return;
        }
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
        if self.records == 1 && looks_like_csv(text) {
            let first: String = text.chars().take(80).collect();
            let cut = if first.len() < text.len() { "…" } else { "" };
            self.issues.error(
                None,
                None,
                Code::CsvNotJsonLines,
                format!(
                    "the file looks like CSV (its first line is `{first}{cut}`), not JSON Lines: Bedrock reads one \
                     JSON object per line, e.g. {}; convert each row to such an object",
                    self.opts.format().example()
                ),
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
        if cx.errors() == 0 {
            self.accept(number, offset, bytes, &record_text, None, sink);
        } else {
            // Counted with the others, though the record is already refused.
            self.check_tokens(number, &record_text);
        }
    }

    /// A record whose format checks passed: its token limits, then duplicates and labels, then the sink.
    fn accept(
        &mut self,
        number: u64,
        offset: u64,
        bytes: &[u8],
        record_text: &RecordText,
        hash: Option<u64>,
        sink: &mut impl FnMut(&Record<'_>),
    ) {
        let (tokens, over_limit) = self.check_tokens(number, record_text);
        if over_limit {
            return;
        }
        let hash = hash.unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(bytes));
        self.track_duplicate(number, hash);
        let label = record_text.label.as_ref().and_then(|l| l.bytes(bytes));
        let class = self.track_label(label.filter(|l| char_count(l) <= MAX_LABEL_CHARS));
        self.good_records += 1;
        sink(&Record { line: number, offset, bytes, hash, class, tokens });
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

    /// Counts the record's label; its class index while labels are still possible.
    fn track_label(&mut self, label: Option<&[u8]>) -> Option<u32> {
        if !self.labels_possible {
            return None;
        }
        let next = self.classes.len() as u32;
        if let Some(l) = label {
            if let Some((index, records)) = self.classes.get_mut(l) {
                *records += 1;
                return Some(*index);
            }
            if self.classes.len() < MAX_CLASSES {
                self.classes.insert(l.into(), (next, 1));
                return Some(next);
            }
        }
        self.labels_possible = false;
        self.classes = crate::ShortKeyMap::default();
        None
    }
}

/// The characters in UTF-8 `text`: the bytes that start one.
fn char_count(text: &[u8]) -> usize {
    text.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// serde_json appends " at line 1 column N"; the report has its own position.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
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

/// A first line that is not JSON and separates fields with commas, tabs or semicolons: a CSV
/// header or row. Only the first line is judged, so one bad record in a JSON Lines file is never
/// taken for CSV.
fn looks_like_csv(text: &str) -> bool {
    let t = text.trim();
    !t.starts_with(['{', '[']) && t.contains([',', '\t', ';']) && serde_json::from_str::<Value>(t).is_err()
}
