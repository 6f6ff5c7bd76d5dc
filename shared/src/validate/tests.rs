//! Framework-level tests: encoding, JSON Lines structure, file-level rules and options, whatever the
//! format. Format rules are tested beside their checkers.

use super::test_support::*;
use super::{FileRole, Options, OptionsError, validate_reader};
use crate::CustomizationType::{ContinuedPreTraining, Distillation, FineTuning};
use crate::report::{Code, Report};
use std::io::{self, Read};

const TITAN: &str = "amazon.titan-text-express-v1:0:8k";
const MICRO: &str = "amazon.nova-micro-v1:0:128k";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0:200k";
const LLAMA_31: &str = "meta.llama3-1-8b-instruct-v1:0:128k";

const PC: &str = r#"{"prompt": "p{i}", "completion": "c{i}"}"#;
const CONVERSATION: &str = r#"{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "q{i}"}]}, {"role": "assistant", "content": [{"text": "a{i}"}]}]}"#;

/// (line, code) of every error.
fn errors(r: &Report) -> Vec<(Option<u64>, Code)> {
    r.errors.iter().map(|e| (e.line, e.code)).collect()
}

/// (line, code) of every warning other than the legacy-model notice the Titan tests all get.
fn warnings(r: &Report) -> Vec<(Option<u64>, Code)> {
    r.warnings.iter().filter(|w| w.code != Code::LegacyModel).map(|w| (w.line, w.code)).collect()
}

#[test]
fn an_empty_file_is_an_error() {
    let r = run(&opts(TITAN, FineTuning), "");
    assert_eq!(errors(&r), vec![(None, Code::EmptyFile)]);
    assert_eq!(r.records, 0);
    assert!(r.errors[0].message.contains(r#"{"prompt": "...", "completion": "..."}"#));
    // Only blank lines: still no records, and each blank line is named.
    let r = run(&opts(TITAN, FineTuning), "\n  \n");
    assert_eq!(errors(&r), vec![(None, Code::EmptyFile)]);
    assert_eq!(warnings(&r), vec![(Some(1), Code::BlankLine), (Some(2), Code::BlankLine)]);
}

#[test]
fn a_json_array_is_one_error_not_one_per_line() {
    for data in [
        "[{\"prompt\": \"a\", \"completion\": \"b\"}, {\"prompt\": \"c\", \"completion\": \"d\"}]\n",
        "[\n  {\"prompt\": \"a\", \"completion\": \"b\"},\n  {\"prompt\": \"c\", \"completion\": \"d\"}\n]\n",
    ] {
        let r = run(&opts(TITAN, FineTuning), data);
        assert_eq!(errors(&r), vec![(None, Code::JsonArrayNotJsonLines)], "{data}");
        assert_eq!(r.error_count, 1);
        assert!(r.errors[0].message.contains("one JSON object per line"));
    }
}

#[test]
fn a_pretty_printed_record_says_to_write_one_line() {
    let data = "{\n  \"prompt\": \"a\",\n  \"completion\": \"b\"\n}\n";
    let r = run(&opts(TITAN, FineTuning), data);
    assert_eq!(r.errors[0].line, Some(1));
    assert_eq!(r.errors[0].code, Code::InvalidJson);
    assert!(r.errors[0].message.contains("on one line"), "{}", r.errors[0].message);
    assert!(!r.valid);
}

#[test]
fn invalid_json_names_the_line_and_column() {
    let r = run(&opts(TITAN, FineTuning), &format!("{}{{\"prompt\": \"a\" \"completion\": \"b\"}}\n", lines(PC, 1)));
    assert_eq!(errors(&r), vec![(Some(2), Code::InvalidJson)]);
    // The missing comma is noticed at the quote of `"completion"`, the 16th character.
    assert!(r.errors[0].message.contains("column 16"), "{}", r.errors[0].message);
    let r = run(&opts(TITAN, FineTuning), &format!("{}\"just text\"\n", lines(PC, 1)));
    assert_eq!(errors(&r), vec![(Some(2), Code::NotAnObject)]);
    assert_eq!(r.errors[0].field.as_deref(), Some("$"));
}

#[test]
fn invalid_utf8_names_the_line_and_byte() {
    let mut data = lines(PC, 1).into_bytes();
    data.extend_from_slice(b"{\"prompt\": \"caf\xE9\", \"completion\": \"b\"}\n");
    let r = validate_reader(&data[..], &opts(TITAN, FineTuning), |_| {}).unwrap();
    assert_eq!(errors(&r), vec![(Some(2), Code::InvalidUtf8)]);
    // `{"prompt": "caf` is 15 bytes, so the Latin-1 é is byte 16.
    assert!(r.errors[0].message.contains("byte 16"), "{}", r.errors[0].message);
}

#[test]
fn a_cut_off_last_line_is_truncated_not_just_invalid() {
    let r = run(&opts(TITAN, FineTuning), &format!("{}{{\"prompt\": \"a\", \"compl", lines(PC, 1)));
    assert_eq!(errors(&r), vec![(Some(2), Code::TruncatedLine)]);
    // The same text followed by a newline was written that way: plain invalid JSON.
    let r = run(&opts(TITAN, FineTuning), &format!("{}{{\"prompt\": \"a\", \"compl\n", lines(PC, 1)));
    assert_eq!(errors(&r), vec![(Some(2), Code::InvalidJson)]);
}

/// A reader that records the largest buffer it was asked to fill.
struct Watched<R> {
    inner: R,
    largest_read: usize,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.largest_read = self.largest_read.max(buf.len());
        self.inner.read(buf)
    }
}

#[test]
fn a_60_mb_line_is_reported_and_skipped_in_bounded_memory() {
    const LEN: u64 = 60 << 20;
    let o = opts(TITAN, FineTuning);
    let huge = (&b"{\"prompt\": \""[..]).chain(io::repeat(b'a').take(LEN)).chain(&b"\", \"completion\": \"b\"}\n"[..]);
    let next = lines(PC, 1);
    let mut reader = Watched { inner: huge.chain(next.as_bytes()), largest_read: 0 };
    let mut passed = vec![];
    let r = validate_reader(&mut reader, &o, |rec| passed.push(rec.line)).unwrap();
    assert_eq!(errors(&r), vec![(Some(1), Code::LineTooLong)]);
    assert!(r.errors[0].message.contains(&format!("{} bytes", LEN + 33)), "{}", r.errors[0].message);
    // The next line is read normally.
    assert_eq!(passed, vec![2]);
    assert_eq!(r.records, 2);
    assert!(r.bytes > LEN);
    // Never buffered whole: reads stay within the line cap plus the reader's chunk.
    assert!(reader.largest_read <= o.max_line_bytes + (512 << 10), "read into {} bytes", reader.largest_read);
}

#[test]
fn blank_lines_are_warnings_with_their_line() {
    let data = format!("{}\n{}   \n", lines(PC, 1), lines(&PC.replace("{i}", "x"), 1));
    let r = run(&opts(TITAN, FineTuning), &data);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.records, 2);
    assert_eq!(warnings(&r), vec![(Some(2), Code::BlankLine), (Some(4), Code::BlankLine)]);
}

#[test]
fn a_bom_and_crlf_line_endings_are_accepted_with_warnings() {
    let data = format!("\u{feff}{}", lines(PC, 3).replace('\n', "\r\n"));
    let r = run(&opts(TITAN, FineTuning), &data);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.records, 3);
    assert_eq!(warnings(&r), vec![(None, Code::CrlfLineEndings), (Some(1), Code::ByteOrderMark)]);
    assert!(r.warnings.iter().any(|w| w.message.starts_with("3 lines end with CRLF")));
}

#[test]
fn duplicates_are_warnings_naming_the_first_line() {
    let data = format!("{}{}", lines(PC, 3), lines(&PC.replace("{i}", "1"), 1));
    let r = run(&opts(TITAN, FineTuning), &data);
    assert!(r.valid);
    assert_eq!(warnings(&r), vec![(Some(4), Code::DuplicateRecord)]);
    assert!(r.warnings.iter().any(|w| w.message.contains("same record as line 2")));
}

#[test]
fn imbalanced_class_labels_are_a_warning() {
    let record = |i: usize, label: &str| format!("{{\"prompt\": \"review {i}\", \"completion\": \"{label}\"}}\n");
    let balanced: String = (0..30).map(|i| record(i, if i % 3 == 0 { "neg" } else { "pos" })).collect();
    let r = run(&opts(TITAN, FineTuning), &balanced);
    assert_eq!(warnings(&r), vec![]);
    assert_eq!(r.classes, Some(vec![("pos".to_string(), 20), ("neg".to_string(), 10)]));
    let skewed: String = (0..30).map(|i| record(i, if i == 0 { "neg" } else { "pos" })).collect();
    let r = run(&opts(TITAN, FineTuning), &skewed);
    assert_eq!(warnings(&r), vec![(None, Code::ClassImbalance)]);
    assert!(r.warnings.iter().any(|w| w.message.contains("`neg` only 1")));
    // Free-text completions are no classes at all.
    let r = run(&opts(TITAN, FineTuning), &lines(PC, 30));
    assert_eq!(r.classes, None);
}

#[test]
fn a_record_near_the_token_limit_is_a_warning() {
    // Titan: 4,096 tokens at 6 characters each. 3,799 + 1 tokens is within 10% of the limit.
    let near = format!("{{\"prompt\": \"{}\", \"completion\": \"x\"}}\n", "a".repeat(3_799 * 6));
    let r = run(&opts(TITAN, FineTuning), &format!("{}{near}", lines(PC, 1)));
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(Some(2), Code::NearTokenLimit)]);
    assert_eq!(r.tokens.max_record_line, Some(2));
    let over = format!("{{\"prompt\": \"{}\", \"completion\": \"x\"}}\n", "a".repeat(4_096 * 6));
    let r = run(&opts(TITAN, FineTuning), &over);
    assert_eq!(errors(&r), vec![(Some(1), Code::TooManyTokens)]);
    assert_eq!(r.tokens.records_over_limit, 1);
}

#[test]
fn record_counts_against_a_documented_limit_are_errors() {
    // Nova Micro needs at least 8 records (documented).
    let r = run(&opts(MICRO, FineTuning), &lines(CONVERSATION, 7));
    assert_eq!(errors(&r), vec![(None, Code::TooFewRecords)]);
    assert!(r.errors[0].message.contains("at least 8"));
    assert!(run(&opts(MICRO, FineTuning), &lines(CONVERSATION, 8)).valid);
    // Claude 3 Haiku takes at most 1,000 validation records (documented).
    let haiku = r#"{"messages": [{"role": "user", "content": "q{i}"}, {"role": "assistant", "content": "a{i}"}]}"#;
    let mut o = opts(HAIKU, FineTuning);
    o.role = FileRole::Validation;
    let r = run(&o, &lines(haiku, 1_001));
    assert_eq!(errors(&r), vec![(None, Code::TooManyRecords)]);
    assert!(r.errors[0].message.contains("1001 validation records"));
    assert!(run(&o, &lines(haiku, 1_000)).valid);
}

#[test]
fn record_counts_against_an_unverified_limit_are_warnings() {
    // Distillation: 100 prompts minimum is unverified.
    let prompt = r#"{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "q{i}"}]}]}"#;
    let r = run(&opts(MICRO, Distillation), &lines(prompt, 5));
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(None, Code::TooFewRecords)]);
    assert!(r.warnings[0].message.contains("unverified"));
    // Titan fine-tuning: 10,000 records maximum is unverified.
    let r = run(&opts(TITAN, FineTuning), &lines(PC, 10_001));
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(None, Code::TooManyRecords)]);
}

/// The file-level WrongFormat errors (line-level ones only point at examples).
fn file_level_wrong_format(r: &Report) -> Vec<&str> {
    r.errors.iter().filter(|e| e.line.is_none() && e.code == Code::WrongFormat).map(|e| e.message.as_str()).collect()
}

#[test]
fn a_prompt_completion_file_for_nova_is_the_wrong_format() {
    let r = run(&opts(MICRO, FineTuning), &lines(PC, 10));
    let wrong = file_level_wrong_format(&r);
    assert_eq!(wrong.len(), 1, "{:?}", r.errors);
    assert!(wrong[0].contains("prompt-completion format"), "{}", wrong[0]);
    assert!(wrong[0].contains("bedrock-conversation-2024"));
    assert_eq!(
        r.errors.iter().find(|e| e.line.is_some()).map(|e| (e.line, e.code)),
        Some((Some(1), Code::WrongFormat))
    );
}

#[test]
fn a_conversation_file_for_llama_3_1_is_the_wrong_format() {
    let r = run(&opts(LLAMA_31, FineTuning), &lines(CONVERSATION, 10));
    let wrong = file_level_wrong_format(&r);
    assert_eq!(wrong.len(), 1, "{:?}", r.errors);
    assert!(wrong[0].contains("bedrock-conversation-2024 format"), "{}", wrong[0]);
    assert!(wrong[0].contains("prompt-completion"));
}

#[test]
fn a_few_stray_records_in_another_format_are_line_errors_only() {
    let data = format!("{}{}", lines(PC, 9), lines(CONVERSATION, 1));
    let r = run(&opts(TITAN, FineTuning), &data);
    assert_eq!(errors(&r), vec![(Some(10), Code::WrongFormat)]);
}

#[test]
fn unknown_models_and_unsupported_types_are_option_errors() {
    match Options::new("amazon.nova-mega-v9:0", FineTuning) {
        Err(OptionsError::UnknownModel { id, suggestions }) => {
            assert_eq!(id, "amazon.nova-mega-v9:0");
            assert!(suggestions.iter().any(|s| s.starts_with("amazon.nova")), "{suggestions:?}");
        }
        other => panic!("expected UnknownModel, got {other:?}"),
    }
    let e = Options::new("no-such-model", FineTuning).unwrap_err();
    assert!(e.to_string().contains("known models:"), "{e}");
    let e = Options::new(MICRO, ContinuedPreTraining).unwrap_err();
    assert!(matches!(e, OptionsError::Unsupported { kind: ContinuedPreTraining, .. }), "{e:?}");
    assert!(e.to_string().contains("FINE_TUNING, DISTILLATION"), "{e}");
}

#[test]
fn a_csv_file_gets_one_error_that_says_it_is_csv() {
    let o = opts(TITAN, FineTuning);
    for data in ["prompt,completion\nhello,world\nbye,moon\n", "prompt\tcompletion\na\tb\n"] {
        let r = run(&o, data);
        assert_eq!(error_codes(&r), [Code::CsvNotJsonLines], "{data:?}");
        assert!(r.errors[0].message.contains("looks like CSV") && r.errors[0].message.contains(r#"{"prompt""#));
    }
    // One broken record in a JSON Lines file stays one invalid-JSON error on its line.
    let r = run(&o, &format!("{}not json, really\n", lines(r#"{"prompt": "p{i}", "completion": "c"}"#, 3)));
    assert_eq!(line_errors(&r), [(Some(4), None, Code::InvalidJson)]);
    // A first line that is JSON but not an object is not CSV.
    assert_eq!(error_codes(&run(&o, "\"a, b\"\n")), [Code::NotAnObject]);
}
