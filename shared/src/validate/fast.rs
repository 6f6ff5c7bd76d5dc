//! The fast path for flat records (`{"prompt": ..., "completion": ...}`, `{"input": ...}`): the line is
//! parsed straight into its string fields, borrowed when they have no escapes, instead of a JSON tree.
//! It only recognises the well-formed case; anything else (another shape, a non-string value, a
//! repeated key) returns `None` and the general checker gives the precise error.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

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
    use super::string_fields;

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
