//! The fast path for flat records (`{"prompt": ..., "completion": ...}`, `{"input": ...}`): the line is
//! parsed straight into its string fields, borrowed when they have no escapes, instead of a JSON tree.
//! It only recognises the well-formed case; anything else (another shape, a non-string value, a
//! repeated key) returns `None` and the general checker gives the precise error.

use crate::tokens::TextSize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A string field as written between its quotes, escapes not decoded. Only the two-byte escapes
/// (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`) are accepted by the scanner, so each decodes to one
/// ASCII character.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct RawText<'a> {
    pub raw: &'a str,
    pub escapes: u64,
}

impl<'a> RawText<'a> {
    /// The decoded text's size: each escape is two ASCII bytes in `raw` for one character.
    pub fn size(&self) -> TextSize {
        let mut size = TextSize::of(self.raw);
        size.spaced -= self.escapes;
        size
    }

    /// The text itself, when it needs no decoding.
    pub fn plain(&self) -> Option<&'a str> {
        (self.escapes == 0).then_some(self.raw)
    }

    /// Whether the decoded text has a character that is not whitespace (what `str::trim` keeps).
    pub fn non_blank(&self) -> bool {
        let mut rest = self.raw;
        while let Some(c) = rest.chars().next() {
            rest = &rest[c.len_utf8()..];
            if c != '\\' {
                if !c.is_whitespace() {
                    return true;
                }
                continue;
            }
            // The scanner accepted only two-byte escapes; of those only \f \n \r \t decode to whitespace.
            let escaped = rest.as_bytes()[0];
            rest = &rest[1..];
            if !matches!(escaped, b'f' | b'n' | b'r' | b't') {
                return true;
            }
        }
        false
    }
}

/// The scanner behind the fast paths: the line's fields when it is a JSON object of exactly `N`
/// distinct string fields whose keys have no escapes and whose values have only two-byte escapes.
/// It decodes nothing and allocates nothing; anything else (`\u` escapes, other values, more or fewer
/// fields, invalid JSON) is `None`, for the serde path to judge. The line is valid UTF-8 already.
pub(super) fn scan_flat<const N: usize>(line: &str) -> Option<[(&str, RawText<'_>); N]> {
    let bytes = line.as_bytes();
    let mut fields = [("", RawText::default()); N];
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') || N == 0 {
        return None;
    }
    for n in 0..N {
        i = skip_ws(bytes, i + 1);
        if n > 0 {
            if bytes.get(i) != Some(&b',') {
                return None;
            }
            i = skip_ws(bytes, i + 1);
        }
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let (key_end, key_escapes) = scan_string(bytes, i + 1)?;
        let key = &line[i + 1..key_end];
        if key_escapes > 0 || fields[..n].iter().any(|(k, _)| *k == key) {
            return None;
        }
        i = skip_ws(bytes, key_end + 1);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(bytes, i + 1);
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let (end, escapes) = scan_string(bytes, i + 1)?;
        fields[n] = (key, RawText { raw: &line[i + 1..end], escapes });
        i = end;
    }
    i = skip_ws(bytes, i + 1);
    if bytes.get(i) != Some(&b'}') || skip_ws(bytes, i + 1) != bytes.len() {
        return None;
    }
    Some(fields)
}

/// JSON's insignificant whitespace.
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\n' | b'\t' | b'\r')) {
        i += 1;
    }
    i
}

const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGH_BITS: u64 = ONES << 7;

/// The high bit of each byte of `word` below `n` (at most 0x80). Exact for the lowest such byte: a
/// byte above one may be flagged too (the subtraction's borrow), and the scanner never looks past the
/// lowest.
fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS
}

/// The high bit of each byte of `word` that ends a plain run of a string, a quote, a backslash or a
/// control byte; exact for the lowest, as `bytes_below`.
fn run_ends(word: u64) -> u64 {
    let quote = ONES * u64::from(b'"');
    let backslash = ONES * u64::from(b'\\');
    bytes_below(word ^ quote, 1) | bytes_below(word ^ backslash, 1) | bytes_below(word, 0x20)
}

fn ends_run(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Scans a string body starting at `i` (after its opening quote): the index of the closing quote and
/// the number of escapes. `None` for a control character, a `\u` escape or no closing quote. Looks at
/// eight bytes at a time in one register: the runs between escapes are short in real text (a few
/// words), so a search that restarts after each escape must cost next to nothing to start.
fn scan_string(bytes: &[u8], mut i: usize) -> Option<(usize, u64)> {
    let mut escapes = 0;
    loop {
        while let Some(word) = bytes.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
            let ends = run_ends(u64::from_le_bytes(*word));
            if ends != 0 {
                i += (ends.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        // At the run's end, or within eight bytes of the line's.
        while !ends_run(*bytes.get(i)?) {
            i += 1;
        }
        if bytes[i] == b'"' {
            return Some((i, escapes));
        }
        if bytes[i] != b'\\' {
            return None;
        }
        match bytes.get(i + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                escapes += 1;
                i += 2;
            }
            _ => return None,
        }
    }
}

/// The object's `N` fields, in order, when the line is an object of exactly `N` distinct string fields.
pub(super) fn string_fields<const N: usize>(line: &str) -> Option<[(Cow<'_, str>, Cow<'_, str>); N]> {
    let mut de = serde_json::Deserializer::from_str(line);
    let fields = de.deserialize_map(Flat::<N>).ok()??;
    de.end().ok()?;
    Some(fields)
}

struct Flat<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for Flat<N> {
    type Value = Option<[(Cow<'de, str>, Cow<'de, str>); N]>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object of {N} string fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::with_capacity(N);
        let mut flat = true;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if !flat || fields.len() == N || fields.iter().any(|(k, _)| *k == key.0) {
                flat = false;
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            match map.next_value::<MaybeText<'de>>()?.0 {
                Some(value) => fields.push((key.0, value)),
                None => flat = false,
            }
        }
        Ok(if flat { fields.try_into().ok() } else { None })
    }
}

/// A string borrowed from the line when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor).map(|t| Text(t.unwrap_or_default()))
    }
}

/// A string, or `None` for any other JSON value (which is skipped).
struct MaybeText<'a>(Option<Cow<'a, str>>);

impl<'de> serde::Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor).map(MaybeText)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::{RawText, scan_flat, string_fields};
    use crate::tokens::TextSize;
    use proptest::prelude::*;

    /// What the serde path makes of a one-field line: the decoded value's size and whether it is blank.
    fn by_serde(line: &str) -> Option<(String, TextSize, bool)> {
        let [(k, v)] = string_fields::<1>(line)?;
        Some((k.into_owned(), TextSize::of(&v), !v.trim().is_empty()))
    }

    fn by_scan(line: &str) -> Option<(String, TextSize, bool)> {
        let [(k, v)] = scan_flat::<1>(line)?;
        Some((k.to_string(), v.size(), v.non_blank()))
    }

    #[test]
    fn scanner_reads_flat_objects_and_declines_the_rest() {
        let [(k1, v1), (k2, v2)] = scan_flat::<2>(" {\"prompt\" : \"a\\tb\",\"completion\":\"c\"} \t").unwrap();
        assert_eq!((k1, k2), ("prompt", "completion"));
        assert_eq!((v1, v2), (RawText { raw: "a\\tb", escapes: 1 }, RawText { raw: "c", escapes: 0 }));
        for line in [
            r#"{"prompt": "a"}"#,
            r#"{"prompt": "a", "completion": 1}"#,
            r#"{"prompt": "a", "prompt": "b"}"#,
            r#"{"prompt": "a", "completion": "b", "x": "c"}"#,
            r#"{"prompt": "\u0041", "completion": "b"}"#,
            r#"{"pr\u006fmpt": "a", "completion": "b"}"#,
            "{\"prompt\": \"a\tb\", \"completion\": \"b\"}",
            r#"{"prompt": "a", "completion": "b"} x"#,
            r#"{"prompt": "a", "completion": "b""#,
            r#"{"prompt": "a\"#,
            r#"["prompt", "a"]"#,
        ] {
            assert!(scan_flat::<2>(line).is_none(), "{line}");
        }
    }

    #[test]
    fn scanner_agrees_with_serde_on_awkward_values() {
        for value in [
            "",
            " ",
            "\\t\\n \\r\\f",
            "\\b",
            "\\/",
            "\u{3000}\u{a0}",
            "\u{3000}x",
            "数据 \\\"q\\\" 😀",
            &"long text without escapes ".repeat(9),
            &format!("{}\\\\{}", "a".repeat(31), "b".repeat(40)),
            // Escapes and multi-byte characters on either side of the scanner's 8-byte words.
            &format!("{}\\n{}é\\t{}", "a".repeat(15), "数".repeat(5), "ü".repeat(9)),
            &format!("{}\\\"{}", "é".repeat(8), "😀".repeat(4)),
        ] {
            let line = format!("{{\"input\": \"{value}\"}}");
            assert_eq!(by_scan(&line), by_serde(&line), "{line}");
        }
    }

    proptest! {
        /// Wherever the scanner answers, serde answers the same; escapes it declines (\u) go to serde.
        #[test]
        fn scanner_never_disagrees_with_serde(parts in prop::collection::vec(prop_oneof![
            Just("\\n".to_string()), Just("\\t".to_string()), Just("\\\"".to_string()),
            Just("\\\\".to_string()), Just("\\u00e9".to_string()), Just(" ".to_string()),
            Just("\u{a0}".to_string()), Just("\t".to_string()), Just("\"".to_string()),
            "[a-zé数😀 ]{0,40}",
        ], 0..12)) {
            let line = format!("{{\"input\": \"{}\"}}", parts.concat());
            if let Some(scanned) = by_scan(&line) {
                prop_assert_eq!(Some(scanned), by_serde(&line));
            } else {
                prop_assert!(line.contains("\\u") || line.contains('\t') || by_serde(&line).is_none());
            }
        }
    }

    #[test]
    fn takes_exactly_n_distinct_string_fields() {
        let [(k1, v1), (k2, v2)] = string_fields::<2>(r#"{"prompt": "a\tb", "completion": "c"}"#).unwrap();
        assert_eq!((&*k1, &*v1, &*k2, &*v2), ("prompt", "a\tb", "completion", "c"));
        assert!(string_fields::<2>(r#"{"prompt": "a"}"#).is_none());
        assert!(string_fields::<2>(r#"{"prompt": "a", "completion": 1}"#).is_none());
        assert!(string_fields::<2>(r#"{"prompt": "a", "prompt": "b"}"#).is_none());
        assert!(string_fields::<1>(r#"{"input": "a", "x": "b"}"#).is_none());
        assert!(string_fields::<1>(r#"{"input": "a"} trailing"#).is_none());
        assert!(string_fields::<1>(r#"["input"]"#).is_none());
    }
}
