//! Reads template.yaml the way a deployment would use it, resolved for the local cloud: the state
//! machine's DefinitionSubstitutions and each function's environment variables (Globals' and its own),
//! with parameters at their defaults (or the overrides given, as `sam deploy --parameter-overrides`),
//! pseudo parameters for the local account, and references to resources turned into the local
//! resources' names (function ARNs, the bucket, the service role, the topic, the state machine).
//!
//! A line-based reader, not a YAML parser: CloudFormation's short tags (`!GetAtt`, `!Sub`, `!Ref`) are
//! not plain YAML, and the shapes read here are fixed. A value it cannot resolve is an error naming it,
//! never a guess.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml has no DefinitionSubstitutions")]
    NoSubstitutions,
    #[error("template.yaml has no function with `Binary: {0}`")]
    NoFunction(String),
    #[error("template.yaml has no parameter `{0}` to override")]
    UnknownParameter(String),
    #[error("template.yaml: `{key}` is `{value}`, which the local cloud cannot resolve: {why}")]
    Unresolvable { key: String, value: String, why: String },
}

/// What the template's references resolve to on the local cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalNames {
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
    pub bucket: String,
    /// Every `AWS::IAM::Role` (the template has one: the Bedrock service role).
    pub role_arn: String,
    pub topic_arn: String,
}

impl Default for LocalNames {
    fn default() -> LocalNames {
        LocalNames::in_region(crate::REGION)
    }
}

impl LocalNames {
    /// The local stack's names when it is deployed in `region`: the one place its regional ARNs come from.
    pub fn in_region(region: &str) -> LocalNames {
        LocalNames {
            region: region.into(),
            account_id: crate::ACCOUNT_ID.into(),
            stack_name: crate::STACK_NAME.into(),
            bucket: crate::BUCKET.into(),
            // IAM is global: the role's ARN has no region.
            role_arn: crate::ROLE_ARN.into(),
            topic_arn: crate::topic_arn(region),
        }
    }

    pub fn function_arn(&self, binary: &str) -> String {
        format!("arn:aws:lambda:{}:{}:function:{binary}", self.region, self.account_id)
    }
}

/// A function's ARN in the default region ([`crate::REGION`]); [`LocalNames::function_arn`] for another.
pub fn function_arn(binary: &str) -> String {
    LocalNames::default().function_arn(binary)
}

/// `${Key}` -> local function ARN, for every DefinitionSubstitutions entry.
pub fn substitutions(template: &str) -> Result<BTreeMap<String, String>, TemplateError> {
    substitutions_in(template, &LocalNames::default())
}

/// [`substitutions`] for a stack with other names (another region).
pub fn substitutions_in(template: &str, names: &LocalNames) -> Result<BTreeMap<String, String>, TemplateError> {
    let template = Template::new(template, names.clone(), &BTreeMap::new())?;
    let at = template.yaml.find_key("DefinitionSubstitutions").ok_or(TemplateError::NoSubstitutions)?;
    template
        .yaml
        .children(Some(at))
        .into_iter()
        .map(|(key, value, _)| Ok((key.to_string(), template.resolve(key, value)?)))
        .collect()
}

/// The environment template.yaml gives the function built from `binary` (Globals' variables, then its
/// own), resolved for the local cloud.
pub fn function_environment(
    template: &str,
    names: &LocalNames,
    parameters: &BTreeMap<String, String>,
    binary: &str,
) -> Result<BTreeMap<String, String>, TemplateError> {
    let template = Template::new(template, names.clone(), parameters)?;
    let logical = template
        .binaries
        .iter()
        .find(|(_, b)| b.as_str() == binary)
        .map(|(logical, _)| logical.clone())
        .ok_or_else(|| TemplateError::NoFunction(binary.to_string()))?;
    let mut env = BTreeMap::new();
    for path in [
        &["Globals", "Function", "Environment", "Variables"][..],
        &["Resources", logical.as_str(), "Properties", "Environment", "Variables"],
    ] {
        if let Some(at) = template.yaml.path(path) {
            for (key, value, _) in template.yaml.children(Some(at)) {
                env.insert(key.to_string(), template.resolve(key, value)?);
            }
        }
    }
    Ok(env)
}

/// The template's parameter names, in the template's order (what `--parameter NAME=VALUE` may set).
pub fn template_parameters(template: &str) -> Vec<String> {
    let yaml = Yaml { lines: template.lines().collect() };
    match yaml.path(&["Parameters"]) {
        Some(at) => yaml.children(Some(at)).into_iter().map(|(name, _, _)| name.to_string()).collect(),
        None => Vec::new(),
    }
}

/// Each function's binary -> its logical id (`validate-split` -> `ValidateSplitFunction`).
pub fn function_logical_ids(template: &str) -> Result<BTreeMap<String, String>, TemplateError> {
    let template = Template::new(template, LocalNames::default(), &BTreeMap::new())?;
    Ok(template.binaries.iter().map(|(logical, binary)| (binary.clone(), logical.clone())).collect())
}

/// The name the template gives its bucket on AWS (`<prefix>-<account>-<region>`): what its policies
/// name, where the local cloud keeps the bucket as [`LocalNames::bucket`].
pub fn deployed_bucket_name(template: &str, parameters: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    deployed_bucket_name_in(template, &LocalNames::default(), parameters)
}

/// [`deployed_bucket_name`] for a stack with other names (another region).
pub fn deployed_bucket_name_in(
    template: &str,
    names: &LocalNames,
    parameters: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let template = Template::new(template, names.clone(), parameters)?;
    let expression = template.bucket_name.clone().ok_or_else(|| TemplateError::Unresolvable {
        key: "BucketName".into(),
        value: String::new(),
        why: "the template's AWS::S3::Bucket has no BucketName".into(),
    })?;
    let fail = |why: String| TemplateError::Unresolvable { key: "BucketName".into(), value: expression.clone(), why };
    match expression.strip_prefix("!Sub ") {
        Some(text) => template.sub(unquote(text.trim())).map_err(fail),
        None if !expression.starts_with('!') => Ok(unquote(&expression).to_string()),
        None => Err(fail("only a literal or !Sub names the bucket".into())),
    }
}

struct Template<'a> {
    yaml: Yaml<'a>,
    names: LocalNames,
    /// Parameter -> value (the override, else its Default).
    parameters: BTreeMap<String, String>,
    /// Resource logical id -> its `Type`.
    types: BTreeMap<String, String>,
    /// Function logical id -> its `BuildProperties: Binary`.
    binaries: BTreeMap<String, String>,
    /// The bucket's `BucketName` expression: the template builds the name from parameters instead of
    /// `!Ref`-ing the bucket (to avoid a dependency cycle), so this exact expression names the bucket.
    bucket_name: Option<String>,
}

impl<'a> Template<'a> {
    fn new(text: &'a str, names: LocalNames, overrides: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let yaml = Yaml { lines: text.lines().collect() };
        let mut parameters = BTreeMap::new();
        if let Some(at) = yaml.path(&["Parameters"]) {
            for (name, _, line) in yaml.children(Some(at)) {
                if let Some((_, default, _)) = yaml.children(Some(line)).into_iter().find(|(k, _, _)| *k == "Default") {
                    parameters.insert(name.to_string(), unquote(default).to_string());
                }
                if let Some(value) = overrides.get(name) {
                    parameters.insert(name.to_string(), value.clone());
                }
            }
        }
        if let Some(unknown) = overrides.keys().find(|k| yaml.path(&["Parameters", k]).is_none()) {
            return Err(TemplateError::UnknownParameter(unknown.clone()));
        }
        let mut types = BTreeMap::new();
        let mut binaries = BTreeMap::new();
        let mut bucket_name = None;
        if let Some(at) = yaml.path(&["Resources"]) {
            for (logical, _, line) in yaml.children(Some(at)) {
                let field = |path: &[&str]| yaml.path_from(line, path).and_then(|i| yaml.value_at(i));
                let kind = field(&["Type"]).unwrap_or_default().to_string();
                if let Some(binary) = field(&["Metadata", "BuildProperties", "Binary"]) {
                    binaries.insert(logical.to_string(), binary.to_string());
                }
                if kind == "AWS::S3::Bucket" {
                    bucket_name = field(&["Properties", "BucketName"]).map(str::to_string);
                }
                types.insert(logical.to_string(), kind);
            }
        }
        Ok(Template { yaml, names, parameters, types, binaries, bucket_name })
    }

    fn resolve(&self, key: &str, value: &str) -> Result<String, TemplateError> {
        let value = value.trim();
        let fail = |why: String| TemplateError::Unresolvable { key: key.into(), value: value.into(), why };
        if self.bucket_name.as_deref() == Some(value) {
            return Ok(self.names.bucket.clone());
        }
        if let Some(name) = value.strip_prefix("!Ref ") {
            return self.reference(name.trim()).map_err(fail);
        }
        if let Some(target) = value.strip_prefix("!GetAtt ") {
            return self.attribute(target.trim()).map_err(fail);
        }
        if let Some(text) = value.strip_prefix("!Sub ") {
            return self.sub(unquote(text.trim())).map_err(fail);
        }
        if value.starts_with('!') {
            return Err(fail("only !Ref, !GetAtt and !Sub are resolved".into()));
        }
        Ok(unquote(value).to_string())
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        let n = &self.names;
        match name {
            "AWS::Region" => return Ok(n.region.clone()),
            "AWS::AccountId" => return Ok(n.account_id.clone()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::StackName" => return Ok(n.stack_name.clone()),
            _ => {}
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        match self.types.get(name).map(String::as_str) {
            Some("AWS::S3::Bucket") => Ok(n.bucket.clone()),
            Some("AWS::SNS::Topic") => Ok(n.topic_arn.clone()),
            Some(kind) => Err(format!("{name} is a {kind}, which has no local counterpart")),
            None => Err(format!("{name} is neither a parameter with a default nor a resource")),
        }
    }

    fn attribute(&self, target: &str) -> Result<String, String> {
        let (logical, attribute) =
            target.split_once('.').ok_or_else(|| format!("`{target}` is not Resource.Attribute"))?;
        match (self.types.get(logical).map(String::as_str), attribute) {
            (Some("AWS::Serverless::Function"), "Arn") => self
                .binaries
                .get(logical)
                .map(|binary| self.names.function_arn(binary))
                .ok_or_else(|| format!("the function {logical} has no Binary")),
            (Some("AWS::IAM::Role"), "Arn") => Ok(self.names.role_arn.clone()),
            _ => Err(format!("{logical}.{attribute} has no local counterpart")),
        }
    }

    fn sub(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').ok_or_else(|| format!("unclosed `${{` in `{text}`"))? + start;
            let name = &rest[start + 2..end];
            out.push_str(&if name.contains("::") || !name.contains('.') {
                self.reference(name)?
            } else {
                self.attribute(name)?
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// Block mappings by indentation: enough for template.yaml's shapes.
struct Yaml<'a> {
    lines: Vec<&'a str>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

impl<'a> Yaml<'a> {
    /// The direct children of the mapping at line `parent` (`None`: the top level), as (key, inline
    /// value, line). Sequence items, deeper lines and comments are skipped.
    fn children(&self, parent: Option<usize>) -> Vec<(&'a str, &'a str, usize)> {
        let (start, base) = match parent {
            None => (0, None),
            Some(i) => (i + 1, Some(indent(self.lines[i]))),
        };
        let mut out = Vec::new();
        let mut level = None;
        for (i, line) in self.lines.iter().enumerate().skip(start) {
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let at = indent(line);
            if base.is_some_and(|b| at <= b) {
                break;
            }
            if at != *level.get_or_insert(at) || text.starts_with('-') {
                continue;
            }
            let pair = match text.strip_suffix(':') {
                Some(key) => Some((key, "")),
                None => text.split_once(": ").map(|(k, v)| (k, v.trim())),
            };
            if let Some((key, value)) = pair {
                out.push((key.trim(), value, i));
            }
        }
        out
    }

    fn path(&self, path: &[&str]) -> Option<usize> {
        let (first, rest) = path.split_first()?;
        let top = self.children(None).into_iter().find(|(k, _, _)| k == first)?.2;
        self.path_from(top, rest)
    }

    fn path_from(&self, mut at: usize, path: &[&str]) -> Option<usize> {
        for key in path {
            at = self.children(Some(at)).into_iter().find(|(k, _, _)| k == key)?.2;
        }
        Some(at)
    }

    fn value_at(&self, line: usize) -> Option<&'a str> {
        let text = self.lines[line].trim();
        text.split_once(": ").map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The first line anywhere whose key is `key`.
    fn find_key(&self, key: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.trim().strip_suffix(':').is_some_and(|k| k.trim() == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_in_another_region_names_everything_in_that_region() {
        let names = LocalNames::in_region("us-west-2");
        let subs = substitutions_in(crate::TEMPLATE, &names).unwrap();
        assert!(!subs.is_empty() && subs.values().all(|arn| arn.starts_with("arn:aws:lambda:us-west-2:")), "{subs:?}");
        let env = function_environment(crate::TEMPLATE, &names, &BTreeMap::new(), "teardown").unwrap();
        assert_eq!(env["TOPIC_ARN"], crate::topic_arn("us-west-2"));
        let bucket = deployed_bucket_name_in(crate::TEMPLATE, &names, &BTreeMap::new()).unwrap();
        assert!(bucket.ends_with("-us-west-2"), "{bucket}");
        assert_eq!(LocalNames::default(), LocalNames::in_region(crate::REGION));
    }

    #[test]
    fn every_substitution_of_the_real_template_is_a_function_arn() {
        let subs = substitutions(crate::TEMPLATE).unwrap();
        assert_eq!(subs.len(), 6, "{subs:?}");
        // The reaper runs on its own schedule; the state machine never invokes it.
        for name in crate::functions::FUNCTION_NAMES.into_iter().filter(|name| *name != "reaper") {
            assert!(subs.values().any(|arn| *arn == function_arn(name)), "{name} missing from {subs:?}");
        }
    }

    #[test]
    fn other_values_are_refused_with_their_key() {
        let template =
            "Resources:\n  M:\n    Properties:\n      DefinitionSubstitutions:\n        Topic: !ImportValue T\n";
        assert!(matches!(substitutions(template), Err(TemplateError::Unresolvable { key, .. }) if key == "Topic"));
        let template = "Resources:\n  M:\n    Properties:\n      DefinitionSubstitutions:\n        Queue: !Ref Q\n";
        assert!(matches!(substitutions(template), Err(TemplateError::Unresolvable { key, .. }) if key == "Queue"));
    }

    fn env(binary: &str, overrides: &[(&str, &str)]) -> Result<BTreeMap<String, String>, TemplateError> {
        let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        function_environment(crate::TEMPLATE, &LocalNames::default(), &overrides, binary)
    }

    #[test]
    fn validate_split_gets_the_templates_variables_resolved_for_the_local_cloud() {
        let vars = env("validate-split", &[]).unwrap();
        let expect = [
            ("RUST_LOG", "info"),
            ("BUCKET", crate::BUCKET),
            ("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:finetune-pipeline"),
            ("BASE_MODEL", "amazon.nova-micro-v1:0:128k"),
            ("CUSTOMIZATION_TYPE", "FINE_TUNING"),
            ("DEPLOYMENT_MODE", "auto"),
            ("VALIDATION_RATIO", "0.1"),
            ("HYPERPARAMETERS", ""),
            ("ROLE_ARN", crate::ROLE_ARN),
            // The operator's caps, with the template's defaults.
            ("ALLOWED_BASE_MODELS", ""),
            ("ALLOWED_DEPLOYMENT_MODES", "none,on-demand"),
            ("COMMITMENT_ALLOWED", "false"),
            ("MAX_MODEL_UNITS", "1"),
            ("MAX_TRAINING_COST_USD", "50"),
            ("MIN_IMPROVEMENT_FLOOR", "0"),
            ("KEEP_ON_GATE_FAILURE_ALLOWED", "false"),
            ("MAX_EVALUATION_SAMPLES", "200"),
            ("RESOURCE_TTL_HOURS", "0"),
            ("UNPRICED_MODELS_ALLOWED", "false"),
            // The streamed split's part size.
            ("SPLIT_PART_SIZE_MIB", "8"),
            // The operator's key and VPC: empty is unset.
            ("KMS_KEY_ID", ""),
            ("VPC_SUBNET_IDS", ""),
            ("VPC_SECURITY_GROUP_IDS", ""),
            // The operator's invocation-log location: empty disables distillation from logs.
            ("INVOCATION_LOGS_BUCKET", ""),
            ("INVOCATION_LOGS_PREFIX", ""),
        ];
        assert_eq!(vars, expect.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let tuned = env("validate-split", &[("DeploymentMode", "provisioned"), ("Hyperparameters", "{}")]).unwrap();
        assert_eq!((tuned["DEPLOYMENT_MODE"].as_str(), tuned["HYPERPARAMETERS"].as_str()), ("provisioned", "{}"));
        assert_eq!(
            env("validate-split", &[("NoSuchParameter", "x")]),
            Err(TemplateError::UnknownParameter("NoSuchParameter".into()))
        );
    }

    #[test]
    fn teardown_gets_the_topic_and_bucket_and_the_others_only_the_globals() {
        let vars = env("teardown", &[]).unwrap();
        assert_eq!(vars["TOPIC_ARN"], crate::TOPIC_ARN);
        assert_eq!(vars["BUCKET"], crate::BUCKET);
        for binary in ["check-status", "provision", "evaluate"] {
            assert_eq!(env(binary, &[]).unwrap().keys().collect::<Vec<_>>(), ["RUST_LOG"], "{binary}");
        }
        // start-job calls nothing with it: it names the grader in reinforcement fine-tuning jobs.
        assert_eq!(env("start-job", &[]).unwrap()["GRADER_FUNCTION_ARN"], function_arn("grader"));
        assert_eq!(
            env("grader", &[("GraderSpec", r#"{"mode":"numeric"}"#)]).unwrap()["GRADER_SPEC"],
            r#"{"mode":"numeric"}"#
        );
        assert_eq!(env("no-such-function", &[]), Err(TemplateError::NoFunction("no-such-function".into())));
    }

    #[test]
    fn sub_resolves_pseudo_parameters_parameters_and_attributes() {
        let template = Template::new(crate::TEMPLATE, LocalNames::default(), &BTreeMap::new()).unwrap();
        assert_eq!(
            template
                .resolve("K", "!Sub ${AWS::Partition}:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}:${BaseModel}")
                .unwrap(),
            "aws:us-east-1:123456789012:finetune:amazon.nova-micro-v1:0:128k"
        );
        assert_eq!(template.resolve("K", "!Sub ${BedrockServiceRole.Arn}").unwrap(), crate::ROLE_ARN);
        assert_eq!(template.resolve("K", "!GetAtt EvaluateFunction.Arn").unwrap(), function_arn("evaluate"));
        assert_eq!(template.resolve("K", "\"quoted\"").unwrap(), "quoted");
        assert!(template.resolve("K", "!GetAtt FailedEventsQueue.Arn").is_err());
        assert!(template.resolve("K", "!Sub ${Nope}").is_err());
    }
}
