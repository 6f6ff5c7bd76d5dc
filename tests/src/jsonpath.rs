//! The small part of ASL's path handling the contract test needs, over serde_json_path (RFC 9535):
//! resolving a reference path, finding the paths inside an intrinsic function, evaluating a
//! Parameters template well enough to check the shape it builds, and setting a value at a ResultPath.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// The single value a reference path names, if it names exactly one.
pub fn resolve(doc: &Value, path: &str) -> Result<Option<Value>, String> {
    let parsed = JsonPath::parse(path).map_err(|e| format!("`{path}` is not a JSONPath: {e}"))?;
    Ok(parsed.query(doc).exactly_one().ok().cloned())
}

/// The `$...` arguments of an intrinsic function such as `States.Format('{} {}', $.a, $.b)`,
/// skipping quoted strings (which may hold `$`).
pub fn intrinsic_paths(expr: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut chars = expr.chars().peekable();
    let mut current: Option<String> = None;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A quoted string: skip to its closing quote, honouring backslash escapes.
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            chars.next();
                        }
                        '\'' => break,
                        _ => {}
                    }
                }
            }
            '$' if current.is_none() => current = Some("$".to_string()),
            ',' | ')' | '(' | ' ' => {
                if let Some(p) = current.take() {
                    paths.push(p);
                }
            }
            other => {
                if let Some(p) = current.as_mut() {
                    p.push(other);
                }
            }
        }
    }
    paths.extend(current);
    paths
}

/// Whether a `.$` value is an intrinsic function rather than a path.
pub fn is_intrinsic(expr: &str) -> bool {
    expr.starts_with("States.")
}

/// Evaluates a Parameters/ResultSelector template against `doc`: `.$` keys take the value their path
/// names; an intrinsic yields a placeholder string (what States.Format returns) after checking that
/// its paths resolve. Errors name the key and the path.
pub fn evaluate_template(template: &Value, doc: &Value) -> Result<Value, String> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                if let Some(name) = key.strip_suffix(".$") {
                    let expr = value.as_str().ok_or_else(|| format!("`{key}` must hold a string"))?;
                    let resolved = if let Some(context) = expr.strip_prefix("$$.") {
                        context_value(context)
                            .ok_or_else(|| format!("`{key}`: `{expr}` is not in the context object"))?
                    } else if is_intrinsic(expr) {
                        for p in intrinsic_paths(expr) {
                            resolve(doc, &p)?.ok_or_else(|| format!("`{key}`: `{p}` names nothing"))?;
                        }
                        Value::String(format!("<{expr}>"))
                    } else {
                        resolve(doc, expr)?.ok_or_else(|| format!("`{key}`: `{expr}` names nothing"))?
                    };
                    out.insert(name.to_string(), resolved);
                } else {
                    out.insert(key.clone(), evaluate_template(value, doc)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            items.iter().map(|v| evaluate_template(v, doc)).collect::<Result<_, _>>().map(Value::Array)
        }
        other => Ok(other.clone()),
    }
}

/// A sample of a context-object field (`$$.Execution.Name` ...), for the fields the pipeline may read.
fn context_value(path: &str) -> Option<Value> {
    match path {
        "Execution.Name" => Some(Value::String("9b1f6c1e-3c1a-4e7e-9a57-0d5a2b7c4f11".into())),
        "Execution.Id" => {
            Some(Value::String("arn:aws:states:us-east-1:123456789012:execution:finetune-pipeline:9b1f6c1e".into()))
        }
        "Execution.StartTime" => Some(Value::String("2025-01-01T00:00:00.000Z".into())),
        _ => None,
    }
}

/// Places `value` at a ResultPath (`$` replaces the document; `$.a.b` needs `$.a` to be an object,
/// and creates `b`), as Step Functions does.
pub fn set_result(doc: &Value, result_path: &str, value: Value) -> Result<Value, String> {
    if result_path == "$" {
        return Ok(value);
    }
    let fields = result_path
        .strip_prefix("$.")
        .ok_or_else(|| format!("ResultPath `{result_path}` is not of the form $.a.b"))?
        .split('.')
        .collect::<Vec<_>>();
    let mut out = doc.clone();
    let mut slot = &mut out;
    for (i, field) in fields.iter().enumerate() {
        let Value::Object(map) = slot else {
            return Err(format!("ResultPath `{result_path}`: `{}` is not an object", fields[..i].join(".")));
        };
        if i + 1 == fields.len() {
            map.insert(field.to_string(), value);
            break;
        }
        slot = map.entry(field.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_paths_in_intrinsics_but_not_in_quoted_text() {
        assert_eq!(
            intrinsic_paths("States.Format('a {} $.not (x), {}', $.job.name, $.b)"),
            vec!["$.job.name".to_string(), "$.b".to_string()]
        );
        assert_eq!(intrinsic_paths(r"States.Format('it\'s {}',$.x)"), vec!["$.x".to_string()]);
    }

    #[test]
    fn templates_and_result_paths() {
        let doc = json!({"job": {"name": "j"}});
        let t = json!({"target": "job", "job.$": "$.job", "m.$": "States.Format('{}', $.job.name)"});
        let v = evaluate_template(&t, &doc).unwrap();
        assert_eq!(v["job"], json!({"name": "j"}));
        assert!(evaluate_template(&json!({"x.$": "$.nope"}), &doc).unwrap_err().contains("$.nope"));
        assert_eq!(set_result(&doc, "$.job.status", json!(1)).unwrap()["job"]["status"], json!(1));
        assert_eq!(set_result(&doc, "$", json!(2)).unwrap(), json!(2));
        assert!(set_result(&doc, "$.job.name.x", json!(1)).is_err());
    }
}
