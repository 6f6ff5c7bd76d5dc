//! `{"prompt": "...", "completion": "..."}`: Titan, Cohere and Llama 3.1 fine-tuning.

use super::fields::{required_text, warn_unknown_keys};
use super::{Label, RecordCx, RecordText};
use crate::tokens::TextSize;
use serde_json::{Map, Value};

pub(super) fn check(object: &Map<String, Value>, cx: &mut RecordCx<'_>) -> RecordText {
    let prompt = required_text(object, "prompt", "prompt", cx);
    let completion = required_text(object, "completion", "completion", cx);
    warn_unknown_keys(object, &["prompt", "completion"], "", cx);
    RecordText {
        input: prompt.map(TextSize::of).unwrap_or_default(),
        output: completion.map(TextSize::of).unwrap_or_default(),
        label: completion.map(|c| Label::Decoded(c.trim().to_string())),
    }
}

/// The fast path: `Some` when the line is exactly a non-blank prompt and completion.
pub(super) fn check_fast(line: &str) -> Option<RecordText> {
    // The scanner reads the common line without decoding it; serde handles the rest.
    if let Some(fields) = super::fast::scan_flat::<2>(line) {
        let find = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let (prompt, completion) = (find("prompt")?, find("completion")?);
        // The label is the decoded completion: plain text is its own decoding.
        if let Some(label) = completion.plain() {
            if !prompt.non_blank() || !completion.non_blank() {
                return None;
            }
            return Some(RecordText {
                input: prompt.size(),
                output: completion.size(),
                label: Some(Label::in_line(line, label.trim())),
            });
        }
    }
    let fields = super::fast::string_fields::<2>(line)?;
    let find = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref());
    let (prompt, completion) = (find("prompt")?, find("completion")?);
    if prompt.trim().is_empty() || completion.trim().is_empty() {
        return None;
    }
    Some(RecordText {
        input: TextSize::of(prompt),
        output: TextSize::of(completion),
        label: Some(Label::Decoded(completion.trim().to_string())),
    })
}

#[cfg(test)]
mod tests {
    use crate::CustomizationType::FineTuning;
    use crate::report::Code;
    use crate::validate::test_support::*;

    const TITAN: &str = "amazon.titan-text-express-v1:0:8k";

    #[test]
    fn a_good_record_passes() {
        let r = run(&opts(TITAN, FineTuning), "{\"prompt\": \"2+2?\", \"completion\": \"4\"}\n");
        assert!(r.valid, "{:?}", r.errors);
        assert_eq!(r.records, 1);
        assert!(r.tokens.total >= 2);
    }

    #[test]
    fn missing_empty_and_mistyped_fields_are_errors_with_their_field() {
        let data =
            "{\"prompt\": \"x\"}\n{\"prompt\": \"\", \"completion\": \"y\"}\n{\"prompt\": 3, \"completion\": \"y\"}\n";
        let r = run(&opts(TITAN, FineTuning), data);
        assert!(!r.valid);
        let got: Vec<_> = r.errors.iter().map(|e| (e.line, e.field.as_deref(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                (Some(1), Some("completion"), Code::MissingField),
                (Some(2), Some("prompt"), Code::EmptyValue),
                (Some(3), Some("prompt"), Code::WrongType)
            ]
        );
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let r = run(&opts(TITAN, FineTuning), "{\"prompt\": \"a\", \"completion\": \"b\", \"id\": 7}\n");
        assert!(r.valid);
        assert_eq!(warning_codes(&r), vec![Code::LegacyModel, Code::UnknownField]);
        assert_eq!(r.warnings[1].field.as_deref(), Some("id"));
    }

    #[test]
    fn cohere_has_separate_input_and_output_limits() {
        let long = "word ".repeat(3_000); // ~2,500 tokens at 6 chars per token
        let data = format!("{{\"prompt\": \"q\", \"completion\": \"{long}\"}}\n");
        let r = run(&opts("cohere.command-text-v14", FineTuning), &data);
        assert_eq!(error_codes(&r), vec![Code::TooManyOutputTokens]);
        let data = format!("{{\"prompt\": \"{long}\", \"completion\": \"a\"}}\n");
        let r = run(&opts("cohere.command-text-v14", FineTuning), &data);
        assert!(r.valid, "{:?}", r.errors);
    }
}
