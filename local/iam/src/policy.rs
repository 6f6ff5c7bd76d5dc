//! A policy document, parsed once into what evaluation needs: effect, actions, resources, principals and
//! conditions, with condition keys lower-cased (IAM compares key names case-insensitively) and every
//! scalar as a string (policies may write `true` or `"true"`, `5` or `"5"`). The resolved JSON document
//! is kept beside it: it is what the independent tools (iam-simulate, parliament) are given.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("policy {policy}: {path}: {message}")]
pub struct PolicyError {
    pub policy: String,
    /// Where in the document, e.g. `Statement[2].Condition.StringLike`.
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// Its name where AWS shows one: `<Role>Policy0`, `training-data`, the resource policy's logical id.
    pub name: String,
    pub document: Value,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal` / `NotPrincipal`: resource and trust policies only.
    pub principal: Option<Principals>,
    /// `Action` or `NotAction` (negated).
    pub actions: Patterns,
    /// `Resource` or `NotResource`; None in trust policies, where the resource is the role itself.
    pub resources: Option<Patterns>,
    /// Every one must hold.
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
pub struct Patterns {
    pub negated: bool,
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Principals {
    pub negated: bool,
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    pub anyone: bool,
    /// ARNs or account ids under `AWS`.
    pub aws: Vec<String>,
    /// Service principals, e.g. `bedrock.amazonaws.com`.
    pub service: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Condition {
    pub operator: Operator,
    pub set: SetOperator,
    pub if_exists: bool,
    /// Lower-cased.
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    /// A single-valued comparison.
    Single,
    ForAnyValue,
    ForAllValues,
}

/// The condition operators evaluated here. The negated ones are kept as their positive form plus
/// `negated()`, as IAM defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Bool,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    Null,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("StringEquals", Operator::StringEquals),
    ("StringNotEquals", Operator::StringNotEquals),
    ("StringEqualsIgnoreCase", Operator::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Operator::StringNotEqualsIgnoreCase),
    ("StringLike", Operator::StringLike),
    ("StringNotLike", Operator::StringNotLike),
    ("ArnEquals", Operator::ArnEquals),
    ("ArnNotEquals", Operator::ArnNotEquals),
    ("ArnLike", Operator::ArnLike),
    ("ArnNotLike", Operator::ArnNotLike),
    ("Bool", Operator::Bool),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericNotEquals", Operator::NumericNotEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    ("NumericGreaterThanEquals", Operator::NumericGreaterThanEquals),
    ("Null", Operator::Null),
];

impl Operator {
    /// The operators that match when the request value matches none of the policy's values (and,
    /// without `IfExists`, when the key is absent).
    pub fn negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::ArnNotEquals
                | Operator::ArnNotLike
                | Operator::NumericNotEquals
        )
    }
}

impl Policy {
    /// Parses a policy document (a JSON object with `Statement`); `name` is for messages.
    pub fn parse(name: &str, document: Value) -> Result<Policy, PolicyError> {
        let err = |path: &str, message: String| PolicyError { policy: name.to_string(), path: path.into(), message };
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Value::Object(_)) => vec![one],
            Some(_) => return Err(err("Statement", "must be an object or a list of objects".into())),
            None => return Err(err("", "has no Statement".into())),
        };
        if let Some(version) = document.get("Version")
            && !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17"))
        {
            return Err(err("Version", format!("{version} is not a policy language version (2012-10-17)")));
        }
        let statements = statements
            .iter()
            .enumerate()
            .map(|(i, s)| parse_statement(s).map_err(|(path, message)| err(&format!("Statement[{i}]{path}"), message)))
            .collect::<Result<_, _>>()?;
        Ok(Policy { name: name.to_string(), document, statements })
    }
}

type Failure = (String, String);

fn parse_statement(statement: &Value) -> Result<Statement, Failure> {
    let Value::Object(fields) = statement else {
        return Err((String::new(), "a statement must be an object".into()));
    };
    for key in fields.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err((format!(".{key}"), "is not a statement element".into()));
        }
    }
    let effect = match fields.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err((".Effect".into(), "must be \"Allow\" or \"Deny\"".into())),
    };
    let sid = match fields.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err((".Sid".into(), "must be a string".into())),
    };
    let actions = one_of(fields, "Action", "NotAction")?
        .ok_or_else(|| (String::new(), "has neither Action nor NotAction".to_string()))?;
    let resources = one_of(fields, "Resource", "NotResource")?;
    let principal = match (fields.get("Principal"), fields.get("NotPrincipal")) {
        (Some(_), Some(_)) => return Err((String::new(), "has both Principal and NotPrincipal".into())),
        (Some(p), None) => Some(parse_principals(p, false).map_err(|m| (".Principal".to_string(), m))?),
        (None, Some(p)) => Some(parse_principals(p, true).map_err(|m| (".NotPrincipal".to_string(), m))?),
        (None, None) => None,
    };
    let conditions = match fields.get("Condition") {
        None => Vec::new(),
        Some(block) => parse_conditions(block)?,
    };
    Ok(Statement { sid, effect, principal, actions, resources, conditions })
}

fn one_of(
    fields: &serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<Patterns>, Failure> {
    match (fields.get(positive), fields.get(negative)) {
        (Some(_), Some(_)) => Err((String::new(), format!("has both {positive} and {negative}"))),
        (Some(v), None) => {
            Ok(Some(Patterns { negated: false, patterns: strings(v).map_err(|m| (format!(".{positive}"), m))? }))
        }
        (None, Some(v)) => {
            Ok(Some(Patterns { negated: true, patterns: strings(v).map_err(|m| (format!(".{negative}"), m))? }))
        }
        (None, None) => Ok(None),
    }
}

/// A string or a list of strings (numbers and booleans written bare count as their text).
fn strings(value: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected a string, found {other}")),
    };
    match value {
        Value::Array(list) if list.is_empty() => Err("must not be an empty list".into()),
        Value::Array(list) => list.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

fn parse_principals(value: &Value, negated: bool) -> Result<Principals, String> {
    let mut principals = Principals { negated, ..Principals::default() };
    match value {
        Value::String(s) if s == "*" => principals.anyone = true,
        Value::Object(map) => {
            for (kind, v) in map {
                let list = strings(v)?;
                match kind.as_str() {
                    "AWS" if list.iter().any(|p| p == "*") => principals.anyone = true,
                    "AWS" => principals.aws.extend(list),
                    "Service" => principals.service.extend(list),
                    other => return Err(format!("principal type {other} is not evaluated here (AWS, Service)")),
                }
            }
        }
        other => return Err(format!("expected \"*\" or an object, found {other}")),
    }
    Ok(principals)
}

fn parse_conditions(block: &Value) -> Result<Vec<Condition>, Failure> {
    let Value::Object(operators) = block else {
        return Err((".Condition".into(), "must be an object of operators".into()));
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        let path = format!(".Condition.{name}");
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetOperator::ForAnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetOperator::ForAllValues, rest)
        } else {
            (SetOperator::Single, name.as_str())
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) if base != "Null" => (base, true),
            _ => (rest, false),
        };
        let operator = OPERATORS.iter().find(|(n, _)| *n == base).map(|(_, op)| *op).ok_or_else(|| {
            let known: Vec<&str> = OPERATORS.iter().map(|(n, _)| *n).collect();
            (path.clone(), format!("operator {name} is not evaluated here; known: {}", known.join(", ")))
        })?;
        let Value::Object(keys) = keys else {
            return Err((path, "must be an object of condition keys".into()));
        };
        for (key, values) in keys {
            let values = strings(values).map_err(|m| (format!("{path}.{key}"), m))?;
            if operator == Operator::Null && values.iter().any(|v| !matches!(v.as_str(), "true" | "false")) {
                return Err((format!("{path}.{key}"), "Null takes \"true\" or \"false\"".into()));
            }
            out.push(Condition { operator, set, if_exists, key: key.to_ascii_lowercase(), values });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_shapes_policies_are_written_in() {
        let p = Policy::parse(
            "p",
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*",
                "Condition": {"ForAllValues:StringEqualsIfExists": {"AWS:TagKeys": ["a", "b"]}, "Bool": {"aws:SecureTransport": false}}}}),
        )
        .unwrap();
        let s = &p.statements[0];
        assert!(s.actions.negated);
        assert_eq!(s.conditions.len(), 2);
        let tag_keys = s.conditions.iter().find(|c| c.key == "aws:tagkeys").unwrap();
        assert_eq!(
            (tag_keys.set, tag_keys.if_exists, tag_keys.operator),
            (SetOperator::ForAllValues, true, Operator::StringEquals)
        );
        let secure = s.conditions.iter().find(|c| c.operator == Operator::Bool).unwrap();
        assert_eq!(secure.values, ["false"]);
    }

    #[test]
    fn errors_say_where() {
        let e = Policy::parse("p", json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "x"}}}]}))
        .unwrap_err();
        assert_eq!(e.path, "Statement[1].Condition.DateLessThan");
        let e = Policy::parse("p", json!({"Statement": [{"Effect": "Permit", "Action": "s3:*"}]})).unwrap_err();
        assert_eq!(e.path, "Statement[0].Effect");
        let e = Policy::parse("p", json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resources": "*"}]}))
            .unwrap_err();
        assert_eq!(e.path, "Statement[0].Resources");
        let e =
            Policy::parse("p", json!({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]})).unwrap_err();
        assert_eq!(e.path, "Statement[0].Action");
        let e = Policy::parse("p", json!({"Version": "2012-10-18", "Statement": []})).unwrap_err();
        assert_eq!(e.path, "Version");
    }

    #[test]
    fn principals() {
        let p = Policy::parse("p", json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["bedrock.amazonaws.com"], "AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}]})).unwrap();
        let principal = p.statements[0].principal.as_ref().unwrap();
        assert_eq!(principal.service, ["bedrock.amazonaws.com"]);
        assert_eq!(principal.aws, ["arn:aws:iam::1:root"]);
        assert!(p.statements[0].resources.is_none());
    }
}
