//! Choice rules: parsing (every operator, checked at load) and evaluation.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTest {
    Present,
    Null,
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Clone, Debug)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Clone, Debug)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare { variable: Path, family: Family, relation: Relation, operand: Operand },
    StringMatches { variable: Path, pattern: String },
    Test { variable: Path, test: TypeTest, expected: bool },
}

/// A top-level choice: a rule and where it leads.
#[derive(Clone, Debug)]
pub struct Choice {
    pub rule: Rule,
    pub next: String,
}

const FAMILIES: [(&str, Family); 4] = [
    ("String", Family::String),
    ("Numeric", Family::Numeric),
    ("Boolean", Family::Boolean),
    ("Timestamp", Family::Timestamp),
];
const RELATIONS: [(&str, Relation); 5] = [
    ("LessThanEquals", Relation::LessThanEquals),
    ("GreaterThanEquals", Relation::GreaterThanEquals),
    ("Equals", Relation::Equals),
    ("LessThan", Relation::LessThan),
    ("GreaterThan", Relation::GreaterThan),
];
const TESTS: [(&str, TypeTest); 6] = [
    ("IsPresent", TypeTest::Present),
    ("IsNull", TypeTest::Null),
    ("IsString", TypeTest::String),
    ("IsNumeric", TypeTest::Numeric),
    ("IsBoolean", TypeTest::Boolean),
    ("IsTimestamp", TypeTest::Timestamp),
];

/// Splits `NumericGreaterThanEqualsPath` into (Numeric, GreaterThanEquals, is_path).
fn comparison(op: &str) -> Option<(Family, Relation, bool)> {
    let (op, is_path) = match op.strip_suffix("Path") {
        Some(o) => (o, true),
        None => (op, false),
    };
    let (family, rest) = FAMILIES.iter().find_map(|(p, f)| op.strip_prefix(p).map(|r| (*f, r)))?;
    let relation = RELATIONS.iter().find(|(n, _)| *n == rest)?.1;
    if family == Family::Boolean && relation != Relation::Equals {
        return None;
    }
    Some((family, relation, is_path))
}

/// Parses a top-level choice (with `Next`).
pub(crate) fn parse_choice(v: &Value) -> Result<Choice, String> {
    let obj = v.as_object().ok_or("a Choices entry must be an object")?;
    let next = match obj.get("Next") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err("'Next' must be a string".into()),
        None => return Err("a Choices entry needs 'Next'".into()),
    };
    Ok(Choice { rule: parse_rule(obj, true)?, next })
}

fn parse_rule(obj: &Map<String, Value>, top: bool) -> Result<Rule, String> {
    let mut variable = None;
    let mut op: Option<(&str, &Value)> = None;
    for (k, v) in obj {
        match k.as_str() {
            "Next" if top => {}
            "Comment" => {}
            "Variable" => variable = Some(v),
            "Next" => return Err("'Next' is only allowed in a top-level choice rule".into()),
            "Condition" | "Assign" => {
                return Err(format!(
                    "unsupported: '{k}' in a choice rule (JSONata and variables are not implemented by the local engine)"
                ));
            }
            _ => {
                if let Some((prev, _)) = op {
                    return Err(format!("a choice rule has two operators: '{prev}' and '{k}'"));
                }
                op = Some((k, v));
            }
        }
    }
    let (op, arg) = op.ok_or("a choice rule needs a comparison operator")?;
    let nested =
        |v: &Value| -> Result<Rule, String> { parse_rule(v.as_object().ok_or("nested rules must be objects")?, false) };
    if matches!(op, "And" | "Or" | "Not") {
        if variable.is_some() {
            return Err(format!("'{op}' does not take 'Variable'"));
        }
        return match (op, arg) {
            ("Not", v) => Ok(Rule::Not(Box::new(nested(v)?))),
            (_, Value::Array(rules)) if !rules.is_empty() => {
                let rules = rules.iter().map(nested).collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "And" { Rule::And(rules) } else { Rule::Or(rules) })
            }
            _ => Err(format!("'{op}' needs a non-empty array of rules")),
        };
    }
    let variable = match variable {
        Some(Value::String(s)) => Path::parse(s).map_err(|e| format!("Variable: {e}"))?,
        Some(_) => return Err("'Variable' must be a path string".into()),
        None => return Err(format!("'{op}' needs 'Variable'")),
    };
    if let Some(test) = TESTS.iter().find(|(n, _)| *n == op).map(|(_, t)| *t) {
        let expected = arg.as_bool().ok_or_else(|| format!("'{op}' takes true or false"))?;
        return Ok(Rule::Test { variable, test, expected });
    }
    if op == "StringMatches" {
        let pattern = arg.as_str().ok_or("'StringMatches' takes a string")?;
        return Ok(Rule::StringMatches { variable, pattern: pattern.to_string() });
    }
    let (family, relation, is_path) = comparison(op)
        .ok_or_else(|| format!("unsupported: choice operator '{op}' (not an ASL comparison operator)"))?;
    let operand = if is_path {
        let s = arg.as_str().ok_or_else(|| format!("'{op}' takes a path"))?;
        Operand::Path(Path::parse(s).map_err(|e| format!("{op}: {e}"))?)
    } else {
        let ok = match family {
            Family::String => arg.is_string(),
            Family::Numeric => arg.is_number(),
            Family::Boolean => arg.is_boolean(),
            Family::Timestamp => arg.as_str().is_some_and(|s| Timestamp::parse_rfc3339(s).is_some()),
        };
        if !ok {
            return Err(format!("'{op}' has an operand of the wrong type: {arg}"));
        }
        Operand::Literal(arg.clone())
    };
    Ok(Rule::Compare { variable, family, relation, operand })
}

/// `*` matches any run of characters; `\*` and `\\` are literal.
pub(crate) fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Any,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '*' => toks.push(Tok::Any),
            '\\' => toks.push(Tok::Char(it.next().unwrap_or('\\'))),
            c => toks.push(Tok::Char(c)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    // Classic two-pointer wildcard match with one backtrack point.
    let (mut si, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < chars.len() {
        match toks.get(ti) {
            Some(Tok::Char(c)) if *c == chars[si] => {
                si += 1;
                ti += 1;
            }
            Some(Tok::Any) => {
                star = Some((ti, si));
                ti += 1;
            }
            _ => match star {
                Some((st, ss)) => {
                    ti = st + 1;
                    si = ss + 1;
                    star = Some((st, ss + 1));
                }
                None => return false,
            },
        }
    }
    toks[ti..].iter().all(|t| *t == Tok::Any)
}

impl Rule {
    /// Evaluates the rule; `Err` (a States.Runtime cause) when a variable or operand path
    /// names nothing, except under IsPresent.
    pub(crate) fn eval(&self, input: &Value, ctx: &Value) -> Result<bool, String> {
        let get = |p: &Path| {
            p.eval(input, ctx).ok_or_else(|| {
                format!("Invalid path '{}': the choice state's condition path references an invalid value.", p.as_str())
            })
        };
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval(input, ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval(input, ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, ctx)?),
            Rule::Test { variable, test, expected } => {
                let value = variable.eval(input, ctx);
                let actual = match (test, &value) {
                    (TypeTest::Present, v) => v.is_some(),
                    (_, None) => return get(variable).map(|_| false),
                    (TypeTest::Null, Some(v)) => v.is_null(),
                    (TypeTest::String, Some(v)) => v.is_string(),
                    (TypeTest::Numeric, Some(v)) => v.is_number(),
                    (TypeTest::Boolean, Some(v)) => v.is_boolean(),
                    (TypeTest::Timestamp, Some(v)) => v.as_str().is_some_and(|s| Timestamp::parse_rfc3339(s).is_some()),
                };
                Ok(actual == *expected)
            }
            Rule::StringMatches { variable, pattern } => {
                Ok(get(variable)?.as_str().is_some_and(|s| string_matches(s, pattern)))
            }
            Rule::Compare { variable, family, relation, operand } => {
                let left = get(variable)?;
                let right = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => get(p)?,
                };
                // A value of the wrong type makes the comparison false, as in Step Functions.
                let ord = match family {
                    Family::String => match (left.as_str(), right.as_str()) {
                        (Some(a), Some(b)) => Some(a.cmp(b)),
                        _ => None,
                    },
                    Family::Numeric => match (left.as_f64(), right.as_f64()) {
                        (Some(a), Some(b)) if left.is_number() && right.is_number() => a.partial_cmp(&b),
                        _ => None,
                    },
                    Family::Boolean => match (left.as_bool(), right.as_bool()) {
                        (Some(a), Some(b)) => Some(a.cmp(&b)),
                        _ => None,
                    },
                    Family::Timestamp => {
                        let ts = |v: &Value| v.as_str().and_then(Timestamp::parse_rfc3339);
                        match (ts(&left), ts(&right)) {
                            (Some(a), Some(b)) => Some(a.cmp(&b)),
                            _ => None,
                        }
                    }
                };
                Ok(ord.is_some_and(|o| match relation {
                    Relation::Equals => o == Ordering::Equal,
                    Relation::LessThan => o == Ordering::Less,
                    Relation::GreaterThan => o == Ordering::Greater,
                    Relation::LessThanEquals => o != Ordering::Greater,
                    Relation::GreaterThanEquals => o != Ordering::Less,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(rule: Value, input: Value) -> Result<bool, String> {
        parse_choice(&{
            let mut r = rule;
            r["Next"] = json!("X");
            r
        })?
        .rule
        .eval(&input, &json!({"State": {"RetryCount": 0}}))
    }

    #[test]
    fn every_comparison_operator() {
        let input = json!({
            "s": "b", "s2": "b", "n": 5, "n2": 7, "b": true, "b2": true,
            "t": "2024-01-01T00:00:00Z", "t2": "2024-06-01T00:00:00+02:00", "nil": null
        });
        let cases = [
            ("StringEquals", json!("b"), true),
            ("StringLessThan", json!("c"), true),
            ("StringGreaterThan", json!("a"), true),
            ("StringLessThanEquals", json!("b"), true),
            ("StringGreaterThanEquals", json!("c"), false),
            ("NumericEquals", json!(5.0), true),
            ("NumericLessThan", json!(5), false),
            ("NumericGreaterThan", json!(4.5), true),
            ("NumericLessThanEquals", json!(5), true),
            ("NumericGreaterThanEquals", json!(6), false),
            ("BooleanEquals", json!(true), true),
            ("TimestampEquals", json!("2024-01-01T01:00:00+01:00"), true),
            ("TimestampLessThan", json!("2024-01-01T00:00:01Z"), true),
            ("TimestampGreaterThan", json!("2023-12-31T23:59:59Z"), true),
            ("TimestampLessThanEquals", json!("2023-12-31T23:59:59Z"), false),
            ("TimestampGreaterThanEquals", json!("2024-01-01T00:00:00Z"), true),
        ];
        for (op, operand, want) in cases {
            let var = match &op[..4] {
                "Stri" => "$.s",
                "Nume" => "$.n",
                "Bool" => "$.b",
                _ => "$.t",
            };
            assert_eq!(check(json!({"Variable": var, op: operand}), input.clone()), Ok(want), "{op}");
        }
        let path_cases = [
            ("StringEqualsPath", "$.s", "$.s2", true),
            ("StringLessThanPath", "$.s", "$.s2", false),
            ("StringGreaterThanEqualsPath", "$.s", "$.s2", true),
            ("NumericEqualsPath", "$.n", "$.n2", false),
            ("NumericLessThanPath", "$.n", "$.n2", true),
            ("NumericGreaterThanPath", "$.n2", "$.n", true),
            ("NumericLessThanEqualsPath", "$.n", "$.n", true),
            ("NumericGreaterThanEqualsPath", "$.n", "$.n2", false),
            ("BooleanEqualsPath", "$.b", "$.b2", true),
            ("TimestampEqualsPath", "$.t", "$.t", true),
            ("TimestampLessThanPath", "$.t", "$.t2", true),
            ("TimestampGreaterThanPath", "$.t", "$.t2", false),
            ("TimestampLessThanEqualsPath", "$.t2", "$.t", false),
            ("TimestampGreaterThanEqualsPath", "$.t2", "$.t", true),
            ("NumericEqualsPath", "$$.State.RetryCount", "$$.State.RetryCount", true),
        ];
        for (op, var, other, want) in path_cases {
            assert_eq!(check(json!({"Variable": var, op: other}), input.clone()), Ok(want), "{op}");
        }
        // Wrong types compare false rather than failing.
        assert_eq!(check(json!({"Variable": "$.n", "StringEquals": "5"}), input.clone()), Ok(false));
        assert_eq!(check(json!({"Variable": "$.s", "TimestampEquals": "2024-01-01T00:00:00Z"}), input), Ok(false));
    }

    #[test]
    fn type_tests_and_missing_variables() {
        let input = json!({"s": "2024-01-01T00:00:00Z", "n": 1, "b": false, "nil": null});
        let cases = [
            ("IsPresent", "$.s", true, true),
            ("IsPresent", "$.missing", true, false),
            ("IsPresent", "$.missing", false, true),
            ("IsNull", "$.nil", true, true),
            ("IsNull", "$.s", true, false),
            ("IsString", "$.s", true, true),
            ("IsNumeric", "$.n", true, true),
            ("IsNumeric", "$.s", false, true),
            ("IsBoolean", "$.b", true, true),
            ("IsTimestamp", "$.s", true, true),
            ("IsTimestamp", "$.n", true, false),
        ];
        for (op, var, arg, want) in cases {
            assert_eq!(check(json!({"Variable": var, op: arg}), input.clone()), Ok(want), "{op} {var}");
        }
        assert!(check(json!({"Variable": "$.missing", "IsNull": true}), input.clone()).is_err());
        assert!(check(json!({"Variable": "$.missing", "StringEquals": "x"}), input).is_err());
    }

    #[test]
    fn boolean_combinators_and_matches() {
        let input = json!({"status": "Completed", "n": 3});
        let rule = json!({"And": [
            {"Variable": "$.status", "StringMatches": "Comp*d"},
            {"Not": {"Variable": "$.n", "NumericGreaterThan": 5}},
            {"Or": [
                {"Variable": "$.status", "StringEquals": "Failed"},
                {"Variable": "$.n", "NumericEquals": 3}
            ]}
        ]});
        assert_eq!(check(rule, input.clone()), Ok(true));
        assert_eq!(check(json!({"Or": [{"Variable": "$.n", "NumericEquals": 4}]}), input), Ok(false));
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("a*b", r"a\*b"));
        assert!(!string_matches("axb", r"a\*b"));
        assert!(string_matches("", "*"));
        assert!(string_matches("abcabc", "*abc"));
        assert!(!string_matches("abcab", "*abc"));
    }

    #[test]
    fn load_errors() {
        for bad in [
            json!({"Variable": "$.a", "StringEquals": 1}),
            json!({"Variable": "$.a", "NumericEquals": "1"}),
            json!({"Variable": "$.a", "TimestampEquals": "yesterday"}),
            json!({"Variable": "$.a", "BooleanLessThan": true}),
            json!({"Variable": "$.a", "StringContains": "x"}),
            json!({"Variable": "$.a", "IsNull": "yes"}),
            json!({"Variable": "$.a"}),
            json!({"And": []}),
            json!({"Variable": "$.a", "And": [{"Variable": "$.a", "IsNull": true}]}),
            json!({"Not": {"Variable": "$.a", "IsNull": true, "Next": "Y"}}),
            json!({"Condition": "{% true %}"}),
        ] {
            assert!(check(bad.clone(), json!({})).is_err(), "{bad}");
        }
    }
}
