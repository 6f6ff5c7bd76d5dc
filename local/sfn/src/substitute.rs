//! SAM DefinitionSubstitutions: `${Name}` placeholders in the definition text.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstitutionError {
    #[error("no substitution given for {}", .0.iter().map(|n| format!("${{{n}}}")).collect::<Vec<_>>().join(", "))]
    Unresolved(Vec<String>),
    #[error("'${{' at byte {0} is never closed")]
    Unclosed(usize),
}

/// Replaces every `${Name}` with its value, verbatim (as SAM does: a value lands inside
/// whatever JSON string holds the placeholder). Every placeholder left without a value is
/// an error, listed once each.
pub fn substitute_definition(text: &str, values: &BTreeMap<String, String>) -> Result<String, SubstitutionError> {
    let mut out = String::with_capacity(text.len());
    let mut missing: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find('}').ok_or(SubstitutionError::Unclosed(text.len() - rest.len() + open))?;
        let name = &after[..close];
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => {
                if !missing.iter().any(|m| m == name) {
                    missing.push(name.to_string());
                }
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() { Ok(out) } else { Err(SubstitutionError::Unresolved(missing)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_reports_leftovers() {
        let values = BTreeMap::from([("StartJobArn".to_string(), "arn:aws:lambda:us-east-1:1:function:f".to_string())]);
        assert_eq!(
            substitute_definition(r#"{"Resource": "${StartJobArn}", "x": "$.a"}"#, &values).unwrap(),
            r#"{"Resource": "arn:aws:lambda:us-east-1:1:function:f", "x": "$.a"}"#
        );
        let err = substitute_definition("${A} ${StartJobArn} ${B} ${A}", &values).unwrap_err();
        assert_eq!(err, SubstitutionError::Unresolved(vec!["A".into(), "B".into()]));
        assert_eq!(err.to_string(), "no substitution given for ${A}, ${B}");
        assert_eq!(substitute_definition("ab ${x", &values), Err(SubstitutionError::Unclosed(3)));
    }
}
