//! ASL paths: reference paths (one node, also writable for ResultPath) and general JSONPath
//! queries (through serde_json_path), both over the state input or the context object (`$$`).

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Segment {
    Field(String),
    Index(usize),
}

/// A path that names at most one node: `$`, `$.a.b`, `$['a b'][0]`.
#[derive(Clone, Debug)]
pub struct ReferencePath {
    text: String,
    segments: Vec<Segment>,
}

impl ReferencePath {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix('$').ok_or_else(|| format!("path '{text}' does not start with '$'"))?;
        let segments = parse_segments(rest).ok_or_else(|| format!("'{text}' is not a reference path"))?;
        Ok(ReferencePath { text: text.to_string(), segments })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.segments.iter().try_fold(value, |v, seg| match seg {
            Segment::Field(name) => v.as_object()?.get(name),
            Segment::Index(i) => v.as_array()?.get(*i),
        })
    }

    /// Writes `new` at this path inside `target`, creating missing objects on the way, as
    /// ResultPath does. Fails where the path runs through a value that is not a container.
    pub fn set(&self, target: &mut Value, new: Value) -> Result<(), String> {
        let Some((last, parents)) = self.segments.split_last() else {
            *target = new;
            return Ok(());
        };
        let mut cur = target;
        for seg in parents {
            cur = match seg {
                Segment::Field(name) => {
                    let obj =
                        cur.as_object_mut().ok_or_else(|| format!("'{}' runs through a non-object", self.text))?;
                    obj.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()))
                }
                Segment::Index(i) => cur
                    .as_array_mut()
                    .and_then(|a| a.get_mut(*i))
                    .ok_or_else(|| format!("'{}' indexes outside an array", self.text))?,
            };
        }
        match last {
            Segment::Field(name) => {
                let obj = cur.as_object_mut().ok_or_else(|| format!("'{}' runs through a non-object", self.text))?;
                obj.insert(name.clone(), new);
            }
            Segment::Index(i) => {
                let slot = cur
                    .as_array_mut()
                    .and_then(|a| a.get_mut(*i))
                    .ok_or_else(|| format!("'{}' indexes outside an array", self.text))?;
                *slot = new;
            }
        }
        Ok(())
    }
}

/// Parses `.name`, `['name']`, `["name"]` and `[n]` segments; `None` for anything else
/// (wildcards, slices, filters, descendants), which makes the path a query instead.
fn parse_segments(mut rest: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || name.contains(['*', '@', '?', ']', '(', ')', ',', ' ', '\'', '"']) {
                return None;
            }
            out.push(Segment::Field(name.to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = &r[..close];
            let quoted = |q: char| inner.strip_prefix(q).and_then(|s| s.strip_suffix(q));
            if let Some(name) = quoted('\'').or_else(|| quoted('"')) {
                if name.contains(['\'', '"', '\\']) {
                    return None;
                }
                out.push(Segment::Field(name.to_string()));
            } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                out.push(Segment::Index(inner.parse().ok()?));
            } else {
                return None;
            }
            rest = &r[close + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// What a path reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    Input,
    Context,
}

#[derive(Clone, Debug)]
enum PathKind {
    Reference(ReferencePath),
    Query(JsonPath),
}

/// Any ASL path: a reference path yields one value; a query yields an array of every match.
#[derive(Clone, Debug)]
pub struct Path {
    text: String,
    root: Root,
    kind: PathKind,
}

impl Path {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (root, body) = match text.strip_prefix("$$") {
            Some(rest) => (Root::Context, format!("${rest}")),
            None => (Root::Input, text.to_string()),
        };
        if !body.starts_with('$') {
            return Err(format!("path '{text}' does not start with '$'"));
        }
        let kind = match ReferencePath::parse(&body) {
            Ok(r) => PathKind::Reference(r),
            Err(_) => PathKind::Query(JsonPath::parse(&body).map_err(|e| format!("invalid JSONPath '{text}': {e}"))?),
        };
        Ok(Path { text: text.to_string(), root, kind })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> Root {
        self.root
    }

    /// The value at this path; `None` when a reference path names nothing.
    pub fn eval(&self, input: &Value, context: &Value) -> Option<Value> {
        let doc = match self.root {
            Root::Input => input,
            Root::Context => context,
        };
        match &self.kind {
            PathKind::Reference(r) => r.get(doc).cloned(),
            PathKind::Query(q) => Some(Value::Array(q.query(doc).all().into_iter().cloned().collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_paths_get_and_set() {
        let doc = json!({"a": {"b-c": [1, {"d": 2}]}, "x y": 3});
        let p = ReferencePath::parse("$.a.b-c[1].d").unwrap();
        assert_eq!(p.get(&doc), Some(&json!(2)));
        assert_eq!(ReferencePath::parse("$['x y']").unwrap().get(&doc), Some(&json!(3)));
        assert!(ReferencePath::parse("$.a[*]").is_err());
        assert!(ReferencePath::parse("$..a").is_err());

        let mut v = json!({"keep": 1});
        ReferencePath::parse("$.new.deep").unwrap().set(&mut v, json!(true)).unwrap();
        assert_eq!(v, json!({"keep": 1, "new": {"deep": true}}));
        assert!(ReferencePath::parse("$.keep.x").unwrap().set(&mut v, json!(1)).is_err());
        ReferencePath::parse("$").unwrap().set(&mut v, json!(5)).unwrap();
        assert_eq!(v, json!(5));
    }

    #[test]
    fn queries_and_context_paths() {
        let input = json!({"items": [{"n": 1}, {"n": 2}]});
        let ctx = json!({"Execution": {"Name": "run-1"}});
        let q = Path::parse("$.items[*].n").unwrap();
        assert_eq!(q.eval(&input, &ctx), Some(json!([1, 2])));
        let c = Path::parse("$$.Execution.Name").unwrap();
        assert_eq!(c.root(), Root::Context);
        assert_eq!(c.eval(&input, &ctx), Some(json!("run-1")));
        assert_eq!(Path::parse("$.missing").unwrap().eval(&input, &ctx), None);
        assert!(Path::parse("items").is_err());
        assert!(Path::parse("$.items[?").is_err());
    }
}
