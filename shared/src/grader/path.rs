//! Field paths into JSON values: `solution`, `answers[0].value`, `[2]`.

use serde_json::Value;
use std::fmt;

/// Deepest path accepted (each segment is one step into the value).
const MAX_SEGMENTS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed path; keeps its text for messages and for writing the spec back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{path}` is not a field path ({reason}); write keys separated by dots with [n] for array items, e.g. `answers[0].value`"
)]
pub struct PathError {
    pub path: String,
    pub reason: &'static str,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, PathError> {
        let fail = |reason| PathError { path: text.chars().take(60).collect(), reason };
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        if text.chars().count() > super::MAX_TEXT_CHARS {
            return Err(fail("it is too long"));
        }
        let mut segments = Vec::new();
        let mut rest = text;
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']').ok_or_else(|| fail("a `[` is not closed"))?;
                let index = after[..close].parse::<usize>().map_err(|_| fail("an index is not a whole number"))?;
                segments.push(Segment::Index(index));
                rest = &after[close + 1..];
                expect_key = false;
            } else if let Some(after) = rest.strip_prefix('.') {
                if expect_key {
                    return Err(fail("a key is empty"));
                }
                rest = after;
                expect_key = true;
                if rest.is_empty() {
                    return Err(fail("it ends with a dot"));
                }
            } else {
                if !expect_key {
                    return Err(fail("a key must follow a dot"));
                }
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let key = &rest[..end];
                if key.contains(']') {
                    return Err(fail("a `]` has no `[`"));
                }
                segments.push(Segment::Key(key.to_string()));
                rest = &rest[end..];
                expect_key = false;
            }
            if segments.len() > MAX_SEGMENTS {
                return Err(fail("it is deeper than 16 steps"));
            }
        }
        Ok(FieldPath { text: text.to_string(), segments })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path, if every step exists.
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.segments.iter().try_fold(value, |v, segment| match segment {
            Segment::Key(k) => v.get(k.as_str()),
            Segment::Index(i) => v.get(*i),
        })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_keys_and_indexes_and_reads_values() {
        let v = json!({"answers": [{"value": 4}, {"value": 5}], "a": {"b": "x"}, "list": [[1, 2]]});
        let at = |p: &str| FieldPath::parse(p).unwrap().get(&v).cloned();
        assert_eq!(at("answers[1].value"), Some(json!(5)));
        assert_eq!(at("a.b"), Some(json!("x")));
        assert_eq!(at("list[0][1]"), Some(json!(2)));
        assert_eq!(at("answers[7].value"), None);
        assert_eq!(at("a.c"), None);
        assert_eq!(FieldPath::parse("[0]").unwrap().get(&json!([9])), Some(&json!(9)));
    }

    #[test]
    fn rejects_malformed_paths_with_a_reason() {
        for (bad, reason) in [
            ("", "it is empty"),
            ("a..b", "a key is empty"),
            (".a", "a key is empty"),
            ("a.", "it ends with a dot"),
            ("a[x]", "an index is not a whole number"),
            ("a[0", "a `[` is not closed"),
            ("a]", "a `]` has no `[`"),
            ("a[0]b", "a key must follow a dot"),
        ] {
            assert_eq!(FieldPath::parse(bad).unwrap_err().reason, reason, "{bad}");
        }
        let deep = vec!["k"; 17].join(".");
        assert!(FieldPath::parse(&deep).is_err());
        assert!(FieldPath::parse("a").is_ok());
    }
}
