//! Continued pre-training: `{"input": "..."}` (the key is `input`, not `text`).
//!
//! Continued pre-training corpora are large, so the common case takes the fast path (`fast.rs`);
//! anything unusual falls back to the general checker, which gives the precise error.

use super::fields::{required_text, warn_unknown_keys};
use super::{RecordCx, RecordText};
use crate::report::Code;
use crate::tokens::TextSize;
use serde_json::{Map, Value};

pub(super) fn check(object: &Map<String, Value>, cx: &mut RecordCx<'_>) -> RecordText {
    if !object.contains_key("input") && object.get("text").is_some_and(Value::is_string) {
        cx.error(
            "text",
            Code::MissingField,
            "continued pre-training on Bedrock reads `input`, not `text`: rename the key to `input`",
        );
        return RecordText::default();
    }
    let input = required_text(object, "input", "input", cx);
    warn_unknown_keys(object, &["input"], "", cx);
    RecordText { input: input.map(TextSize::of).unwrap_or_default(), ..RecordText::default() }
}

/// The fast path: `Some` when the line is `{"input": "<non-blank text>"}` and nothing else.
pub(super) fn check_fast(line: &str) -> Option<RecordText> {
    // The scanner reads the common line without decoding it; serde handles `\u` escapes.
    if let Some([("input", input)]) = super::fast::scan_flat::<1>(line) {
        return input.non_blank().then(|| RecordText { input: input.size(), ..RecordText::default() });
    }
    let [(key, input)] = super::fast::string_fields::<1>(line)?;
    (key == "input" && !input.trim().is_empty())
        .then(|| RecordText { input: TextSize::of(&input), ..RecordText::default() })
}

#[cfg(test)]
mod tests {
    use crate::CustomizationType::ContinuedPreTraining;
    use crate::report::Code;
    use crate::validate::test_support::*;

    const TITAN: &str = "amazon.titan-text-express-v1";

    #[test]
    fn input_records_pass_with_and_without_escapes() {
        let data = "{\"input\": \"plain text\"}\n{\"input\": \"tab\\there \\\"quoted\\\" 数据\"}\n";
        let r = run(&opts(TITAN, ContinuedPreTraining), data);
        assert!(r.valid, "{:?}", r.errors);
        assert_eq!(r.records, 2);
        assert!(r.tokens.total > 0);
    }

    #[test]
    fn text_instead_of_input_says_to_rename() {
        let r = run(&opts(TITAN, ContinuedPreTraining), "{\"text\": \"hello\"}\n");
        assert_eq!(error_codes(&r), vec![Code::MissingField]);
        assert!(r.errors[0].message.contains("rename the key to `input`"));
    }

    #[test]
    fn empty_mistyped_and_extra_fields() {
        let data = "{\"input\": \"  \"}\n{\"input\": [1]}\n{\"input\": \"ok\", \"source\": \"web\"}\n";
        let r = run(&opts(TITAN, ContinuedPreTraining), data);
        assert_eq!(error_codes(&r), vec![Code::EmptyValue, Code::WrongType]);
        assert!(warning_codes(&r).contains(&Code::UnknownField));
    }

    #[test]
    fn a_record_over_the_token_limit_is_an_error() {
        let long = "abcdef".repeat(5_000); // 5,000 tokens at 6 characters per token > 4,096
        let r = run(&opts(TITAN, ContinuedPreTraining), &format!("{{\"input\": \"{long}\"}}\n"));
        assert_eq!(error_codes(&r), vec![Code::TooManyTokens]);
        assert_eq!(r.errors[0].line, Some(1));
    }
}
