//! Continued pre-training: `{"input": "..."}` (the key is `input`, not `text`).
//!
//! Continued pre-training corpora are large, so the common case is parsed straight into the one
//! string it needs (borrowed when it has no escapes) instead of a JSON tree; anything unusual falls
//! back to the general checker, which gives the precise error.

use super::{RecordCx, RecordText, required_text, warn_unknown_keys};
use crate::report::Code;
use crate::tokens::TextSize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

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

/// The fast path: `Some` when the line is an object whose only key is a non-empty string `input`.
pub(super) fn check_fast(line: &str, _cx: &mut RecordCx<'_>) -> Option<RecordText> {
    let mut de = serde_json::Deserializer::from_str(line);
    let input = de.deserialize_map(OnlyInput).ok()??;
    de.end().ok()?;
    if input.trim().is_empty() {
        return None;
    }
    Some(RecordText { input: TextSize::of(&input), ..RecordText::default() })
}

/// Visits an object; yields the `input` string when it is the object's only key.
struct OnlyInput;

impl<'de> Visitor<'de> for OnlyInput {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with an `input` string")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut input = None;
        let mut only = true;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "input" && input.is_none() {
                input = Some(map.next_value::<BorrowedOrOwned<'de>>()?.0);
            } else {
                only = false;
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(input.filter(|_| only))
    }
}

/// A string borrowed from the line when it has no escapes.
struct BorrowedOrOwned<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for BorrowedOrOwned<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BorrowedOrOwned<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
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
