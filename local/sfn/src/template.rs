//! Payload templates (Parameters, ResultSelector, Pass Parameters): keys ending in `.$` take
//! their value from a path or an intrinsic function; everything else is copied.

use serde_json::{Map, Value};

use crate::intrinsics::{self, Intrinsic};
use crate::path::Path;

#[derive(Clone, Debug)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Box<Intrinsic>),
}

/// Why a template failed at run time, mapped to the ASL error name by the caller.
#[derive(Debug)]
pub(crate) enum EvalError {
    Path(String),
    Intrinsic(String),
}

pub(crate) fn compile(v: &Value) -> Result<Template, intrinsics::ParseError> {
    if !contains_dynamic_key(v) {
        return Ok(Template::Literal(v.clone()));
    }
    Ok(match v {
        Value::Object(m) => {
            let mut fields = Vec::with_capacity(m.len());
            for (k, v) in m {
                if let Some(name) = k.strip_suffix(".$") {
                    let Value::String(expr) = v else {
                        return Err(intrinsics::ParseError::Invalid(format!(
                            "the value of '{k}' must be a path or intrinsic function string"
                        )));
                    };
                    let t = if expr.starts_with("States.") {
                        Template::Intrinsic(Box::new(intrinsics::parse(expr)?))
                    } else {
                        Template::Path(Path::parse(expr).map_err(intrinsics::ParseError::Invalid)?)
                    };
                    fields.push((name.to_string(), t));
                } else {
                    fields.push((k.clone(), compile(v)?));
                }
            }
            Template::Object(fields)
        }
        Value::Array(items) => Template::Array(items.iter().map(compile).collect::<Result<_, _>>()?),
        other => Template::Literal(other.clone()),
    })
}

fn contains_dynamic_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.ends_with(".$") || contains_dynamic_key(v)),
        Value::Array(a) => a.iter().any(contains_dynamic_key),
        _ => false,
    }
}

impl Template {
    pub(crate) fn eval(&self, input: &Value, ctx: &Value) -> Result<Value, EvalError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut m = Map::new();
                for (k, t) in fields {
                    m.insert(k.clone(), t.eval(input, ctx)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => {
                items.iter().map(|t| t.eval(input, ctx)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            Template::Path(p) => p.eval(input, ctx).ok_or_else(|| {
                EvalError::Path(format!(
                    "The JSONPath '{}' could not be found in the {}",
                    p.as_str(),
                    match p.root() {
                        crate::path::Root::Input => "input",
                        crate::path::Root::Context => "context object",
                    }
                ))
            }),
            Template::Intrinsic(f) => f.eval(input, ctx).map_err(EvalError::Intrinsic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_nested_dynamic_keys() {
        let t = compile(&json!({
            "static": {"a": [1, 2]},
            "name.$": "$$.Execution.Name",
            "nested": {"list": [{"v.$": "$.v"}, "plain"]},
            "msg.$": "States.Format('v={}', $.v)",
            "all.$": "$"
        }))
        .unwrap();
        let input = json!({"v": 7});
        let out = t.eval(&input, &json!({"Execution": {"Name": "e"}})).unwrap();
        assert_eq!(
            out,
            json!({
                "static": {"a": [1, 2]},
                "name": "e",
                "nested": {"list": [{"v": 7}, "plain"]},
                "msg": "v=7",
                "all": {"v": 7}
            })
        );
        assert!(matches!(t.eval(&json!({"v": 1}), &json!({})), Err(EvalError::Path(_))));
        // Alone, so the error does not depend on the order serde_json keeps keys in (preserve_order
        // is switched on by other crates in a workspace build).
        let intrinsic = compile(&json!({"msg.$": "States.Format('v={}', $.v)"})).unwrap();
        assert!(matches!(intrinsic.eval(&json!({}), &json!({})), Err(EvalError::Intrinsic(_))));
        assert!(compile(&json!({"x.$": 3})).is_err());
    }
}
