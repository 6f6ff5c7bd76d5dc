//! The validation report: problems found, token totals, cost estimate. Serialized as the CLI's `--json`
//! output, as `report.json` beside a prepared split, and as the pipeline's `validation-report.json`.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Stable problem codes. A code names the problem; whether it is an error or a warning depends on the
/// list it is in (a breach of an unverified limit is a warning with the same code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    // File level
    EmptyFile,
    JsonArrayNotJsonLines,
    /// The file is comma- or tab-separated values, not JSON Lines.
    CsvNotJsonLines,
    WrongFormat,
    TooFewRecords,
    TooManyRecords,
    FileTooLarge,
    UnsupportedCustomization,
    LegacyModel,
    ByteOrderMark,
    CrlfLineEndings,
    ClassImbalance,
    DuplicateCheckLimited,
    // Line level: encoding and JSON
    InvalidUtf8,
    InvalidJson,
    TruncatedLine,
    LineTooLong,
    BlankLine,
    NotAnObject,
    // Line level: fields
    MissingField,
    WrongType,
    EmptyValue,
    UnknownField,
    DuplicateRecord,
    // Conversations
    InvalidRole,
    RolesNotAlternating,
    FirstMessageNotUser,
    LastMessageNotAssistant,
    /// Reinforcement fine-tuning: the prompt should end with the user turn the model answers.
    LastMessageNotUser,
    InvalidContentBlock,
    ReservedToken,
    ImageNotAllowed,
    VideoNotAllowed,
    TooManyImages,
    TooManyVideos,
    InvalidMediaLocation,
    // Tokens
    TooManyTokens,
    TooManyInputTokens,
    TooManyOutputTokens,
    NearTokenLimit,
}

impl Code {
    pub fn as_str(self) -> String {
        // serde's name is the one source of the spelling.
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// One problem. `line` is 1-based; `field` is a path such as `messages[1].role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub line: Option<u64>,
    pub field: Option<String>,
    pub code: Code,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, &self.field) {
            (Some(line), Some(field)) => write!(f, "line {line}, {field}: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            (None, Some(field)) => write!(f, "{field}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Token totals. Counts are estimates (see `method`), never exact tokenizer output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenStats {
    pub total: u64,
    pub input: u64,
    pub output: u64,
    pub max_per_record: u64,
    /// The line of the longest record.
    pub max_record_line: Option<u64>,
    pub mean_per_record: f64,
    /// The model's per-record limit, when one is known.
    pub limit_per_record: Option<u64>,
    pub records_over_limit: u64,
    /// How the estimate was made, e.g. "characters / 6 (documented rule of thumb)".
    pub method: String,
}

/// How the training cost was estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostBasis {
    pub training_tokens: u64,
    pub epochs: u64,
    pub price_per_1k_tokens_usd: f64,
    /// `documented`, `secondary` or `unverified`.
    pub price_provenance: String,
}

/// The split that `prepare` wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    pub train_records: u64,
    pub validation_records: u64,
    pub seed: u64,
    pub validation_ratio: f64,
    /// `stratified`, `shuffled`, `hashed` (streaming) or `supplied` (user's validation file).
    pub strategy: String,
    /// Groups of identical records, each kept on one side.
    pub duplicate_groups: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub valid: bool,
    pub records: u64,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub tokens: TokenStats,
    pub estimated_cost_usd: Option<f64>,
    /// All errors found; `errors` lists at most [`Issues::MAX_LISTED`] of them.
    pub error_count: u64,
    pub warning_count: u64,
    pub model: String,
    pub customization_type: String,
    pub format: String,
    pub file: Option<String>,
    pub bytes: u64,
    pub cost_basis: Option<CostBasis>,
    /// Record counts per class when completions are class labels.
    #[serde(default)]
    pub classes: Option<Vec<(String, u64)>>,
    /// The split `prepare` wrote; `null` from `validate`.
    #[serde(default)]
    pub split: Option<SplitSummary>,
    /// A distillation from invocation logs: what the logs hold (the file itself is the evaluation set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_logs: Option<crate::invocation_logs::LogScan>,
}

impl Report {
    /// The first errors, one per line of text, for a person or an execution's cause.
    pub fn first_errors(&self, n: usize) -> Vec<String> {
        self.errors.iter().take(n).map(|e| format!("{} [{}]", e, e.code.as_str())).collect()
    }
}

/// Collects issues with bounded memory: all are counted, the first few of each code are kept.
#[derive(Debug, Default)]
pub struct Issues {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub error_count: u64,
    pub warning_count: u64,
    per_code: HashMap<(Code, bool), u64>,
}

impl Issues {
    /// Most issues listed in a report; the rest are counted.
    pub const MAX_LISTED: usize = 1000;
    /// Most issues of one code listed, so one frequent problem cannot hide the others.
    pub const MAX_PER_CODE: u64 = 100;

    pub fn error(&mut self, line: Option<u64>, field: Option<String>, code: Code, message: impl Into<String>) {
        self.error_count += 1;
        // File-level issues are few and always listed.
        if (line.is_none() || self.keep(code, true)) && self.errors.len() < Self::MAX_LISTED {
            self.errors.push(Issue { line, field, code, message: message.into() });
        }
    }

    pub fn warning(&mut self, line: Option<u64>, field: Option<String>, code: Code, message: impl Into<String>) {
        self.warning_count += 1;
        if (line.is_none() || self.keep(code, false)) && self.warnings.len() < Self::MAX_LISTED {
            self.warnings.push(Issue { line, field, code, message: message.into() });
        }
    }

    fn keep(&mut self, code: Code, error: bool) -> bool {
        let n = self.per_code.entry((code, error)).or_default();
        *n += 1;
        *n <= Self::MAX_PER_CODE
    }

    pub fn count_of(&self, code: Code) -> u64 {
        self.per_code.get(&(code, true)).copied().unwrap_or(0) + self.per_code.get(&(code, false)).copied().unwrap_or(0)
    }

    /// Puts file-level issues (no line) first, then by line, keeping the order of discovery otherwise.
    pub fn sort(&mut self) {
        for list in [&mut self.errors, &mut self.warnings] {
            list.sort_by_key(|i| i.line.map_or(0, |l| l + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_screaming_snake() {
        assert_eq!(Code::JsonArrayNotJsonLines.as_str(), "JSON_ARRAY_NOT_JSON_LINES");
        assert_eq!(Code::InvalidUtf8.as_str(), "INVALID_UTF8");
    }

    #[test]
    fn issues_are_counted_all_but_listed_per_code_up_to_a_cap() {
        let mut issues = Issues::default();
        for line in 1..=250 {
            issues.error(Some(line), None, Code::InvalidJson, "bad");
        }
        issues.error(Some(251), None, Code::BlankLine, "blank");
        assert_eq!(issues.error_count, 251);
        assert_eq!(issues.errors.len(), Issues::MAX_PER_CODE as usize + 1);
        assert_eq!(issues.errors.last().unwrap().code, Code::BlankLine);
    }

    #[test]
    fn file_level_issues_sort_first() {
        let mut issues = Issues::default();
        issues.error(Some(3), None, Code::InvalidJson, "x");
        issues.error(None, None, Code::TooFewRecords, "y");
        issues.sort();
        assert_eq!(issues.errors[0].code, Code::TooFewRecords);
        assert_eq!(issues.errors[0].to_string(), "y");
        assert_eq!(issues.errors[1].to_string(), "line 3: x");
    }
}
