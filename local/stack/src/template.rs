//! Reads template.yaml's DefinitionSubstitutions, so the local state machine gets the same `${...}`
//! values a deployment would: each `!GetAtt <Function>.Arn` becomes the local ARN of that function's
//! binary (its `BuildProperties: Binary`). A line-based reader, not a YAML parser: CloudFormation's
//! short tags (`!GetAtt`, `!Sub`) are not plain YAML, and the two shapes read here are fixed.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    #[error("template.yaml has no DefinitionSubstitutions")]
    NoSubstitutions,
    #[error(
        "template.yaml: substitution `{key}` is `{value}`; the local cloud resolves only `!GetAtt <Function>.Arn` of a function with a Binary"
    )]
    Unresolvable { key: String, value: String },
}

pub fn function_arn(binary: &str) -> String {
    format!("arn:aws:lambda:{}:{}:function:{binary}", crate::REGION, crate::ACCOUNT_ID)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `${Key}` -> local function ARN, for every DefinitionSubstitutions entry.
pub fn substitutions(template: &str) -> Result<BTreeMap<String, String>, DefinitionError> {
    let lines: Vec<&str> = template.lines().collect();
    // Logical id (a resource at indent 2 under Resources) -> its Binary.
    let mut binaries = BTreeMap::new();
    let mut resource = None;
    for line in &lines {
        if indent(line) == 2 && line.trim_end().ends_with(':') && !line.trim().starts_with('#') {
            resource = Some(line.trim().trim_end_matches(':').to_string());
        }
        if let (Some(r), Some(binary)) = (&resource, line.trim().strip_prefix("Binary:")) {
            binaries.insert(r.clone(), binary.trim().to_string());
        }
    }
    let start =
        lines.iter().position(|l| l.trim() == "DefinitionSubstitutions:").ok_or(DefinitionError::NoSubstitutions)?;
    let base = indent(lines[start]);
    let mut out = BTreeMap::new();
    for line in &lines[start + 1..] {
        if line.trim().is_empty() || line.trim().starts_with('#') {
            continue;
        }
        if indent(line) <= base {
            break;
        }
        let Some((key, value)) = line.trim().split_once(':') else { continue };
        let value = value.trim();
        let resolved = value
            .strip_prefix("!GetAtt ")
            .and_then(|v| v.strip_suffix(".Arn"))
            .and_then(|logical| binaries.get(logical.trim()))
            .map(|binary| function_arn(binary));
        match resolved {
            Some(arn) => out.insert(key.trim().to_string(), arn),
            None => return Err(DefinitionError::Unresolvable { key: key.trim().into(), value: value.into() }),
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_substitution_of_the_real_template_is_a_function_arn() {
        let subs = substitutions(crate::TEMPLATE).unwrap();
        assert_eq!(subs.len(), 6, "{subs:?}");
        for name in crate::functions::FUNCTION_NAMES {
            assert!(subs.values().any(|arn| *arn == function_arn(name)), "{name} missing from {subs:?}");
        }
    }

    #[test]
    fn other_values_are_refused_with_their_key() {
        let template = "Resources:\n  M:\n    Properties:\n      DefinitionSubstitutions:\n        Topic: !Ref T\n";
        assert!(matches!(substitutions(template), Err(DefinitionError::Unresolvable { key, .. }) if key == "Topic"));
    }
}
