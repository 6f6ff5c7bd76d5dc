//! template.yaml -> the roles and resource policies one deployment of it would create, for a given
//! account, region, partition, stack name and parameter values (defaults from the template, overridden
//! as `sam deploy --parameter-overrides` does). Intrinsics are resolved the way CloudFormation resolves
//! them; names CloudFormation would generate (`<stack>-<LogicalId>-<random>`) are `<stack>-<LogicalId>`
//! here unless the caller names them. Anything not understood is an error naming the resource and the
//! path: a policy skipped would be a grant or a denial the deployed stack does not have.

use crate::policy::Policy;
use crate::sam;
use crate::template::{Template, TemplateError};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// Where and as what the stack is deployed.
#[derive(Debug, Clone)]
pub struct StackSettings {
    pub account: String,
    pub region: String,
    pub partition: String,
    pub stack_name: String,
    /// Parameter overrides, as `sam deploy --parameter-overrides NAME=VALUE`.
    pub parameters: BTreeMap<String, String>,
    /// Physical names for resources the template leaves CloudFormation to name (logical id -> name).
    pub physical_names: BTreeMap<String, String>,
}

impl StackSettings {
    pub fn new(account: &str, region: &str, stack_name: &str) -> StackSettings {
        StackSettings {
            account: account.into(),
            region: region.into(),
            partition: "aws".into(),
            stack_name: stack_name.into(),
            parameters: BTreeMap::new(),
            physical_names: BTreeMap::new(),
        }
    }
}

/// An IAM role the stack creates, with what it may do.
#[derive(Debug, Clone)]
pub struct Role {
    /// The role's logical id (SAM names the roles it generates `<Resource>Role`).
    pub logical_id: String,
    /// The logical ids of what runs as this role: a function, the state machine, a schedule; the role
    /// itself for an `AWS::IAM::Role` that a service assumes.
    pub used_by: Vec<String>,
    pub name: String,
    pub arn: String,
    /// The name AWS gives the role's sessions where it is fixed: Lambda names them after the function.
    pub session_name: String,
    pub trust: Policy,
    /// Inline policies, then managed ones (by name), in the order the deployed role lists them.
    pub policies: Vec<Policy>,
}

/// A resource's own policy: the bucket policy, a queue or topic policy, a function's permissions.
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    /// The resource the policy belongs to (for a bucket, also every object in it).
    pub resource_arn: String,
    pub covers_objects: bool,
    pub policy: Policy,
}

#[derive(Debug, Clone)]
pub struct StackPolicies {
    pub roles: Vec<Role>,
    pub resource_policies: Vec<ResourcePolicy>,
    pub settings: StackSettings,
}

impl StackPolicies {
    /// The role `logical_id` runs as: a function's or state machine's logical id, a role's own.
    pub fn role_of(&self, logical_id: &str) -> Option<&Role> {
        self.roles
            .iter()
            .find(|r| r.used_by.iter().any(|u| u == logical_id))
            .or_else(|| self.roles.iter().find(|r| r.logical_id == logical_id))
    }

    /// The policy of the resource `arn` (a bucket's policy also governs its objects).
    pub fn resource_policy(&self, arn: &str) -> Option<&Policy> {
        self.resource_policies
            .iter()
            .find(|r| {
                r.resource_arn == arn
                    || (r.covers_objects
                        && arn.strip_prefix(r.resource_arn.as_str()).is_some_and(|rest| rest.starts_with('/')))
            })
            .map(|r| &r.policy)
    }
}

/// Reads `text` (the template, `file` for messages) and resolves its roles and resource policies.
pub fn resolve_template(file: &str, text: &str, settings: &StackSettings) -> Result<StackPolicies> {
    let template = Template::parse(file, text)?;
    resolve(&template, settings)
}

pub fn resolve(template: &Template, settings: &StackSettings) -> Result<StackPolicies> {
    let resolver = Resolver::new(template, settings)?;
    resolver.stack()
}

/// Resource types known to carry no IAM policy of their own; any type neither resolved nor listed here
/// is an error, so a new kind of resource cannot bring a policy the local cloud does not see.
const WITHOUT_POLICIES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::CompositeAlarm",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::SSM::Parameter",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudFormation::WaitConditionHandle",
];

struct Resolver<'a> {
    template: &'a Template,
    settings: &'a StackSettings,
    resources: &'a Map<String, Value>,
    /// Parameter values (a CommaDelimitedList as a JSON list).
    parameters: HashMap<String, Value>,
    /// Logical ids of the roles SAM generates, which other resources may reference like any role.
    generated_roles: Vec<String>,
}

type Result<T> = std::result::Result<T, TemplateError>;

impl<'a> Resolver<'a> {
    fn new(template: &'a Template, settings: &'a StackSettings) -> Result<Resolver<'a>> {
        let root = &template.root;
        let resources = root
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| template.error("Resources", "the template has no Resources"))?;
        let empty = Map::new();
        let declared = root.get("Parameters").and_then(Value::as_object).unwrap_or(&empty);
        for name in settings.parameters.keys() {
            if !declared.contains_key(name) {
                return Err(TemplateError {
                    file: template.file.clone(),
                    line: 0,
                    path: format!("Parameters.{name}"),
                    message: format!("parameter override {name}: the template declares no such parameter"),
                });
            }
        }
        let mut parameters = HashMap::new();
        for (name, declaration) in declared {
            let path = format!("Parameters.{name}");
            let value = match (settings.parameters.get(name), declaration.get("Default")) {
                (Some(v), _) => v.clone(),
                (None, Some(Value::String(s))) => s.clone(),
                (None, Some(Value::Number(n))) => n.to_string(),
                (None, Some(Value::Bool(b))) => b.to_string(),
                (None, Some(_)) => return Err(template.error(&format!("{path}.Default"), "a default must be a scalar")),
                (None, None) => {
                    return Err(
                        template.error(&path, format!("parameter {name} has no default and no override was given"))
                    );
                }
            };
            if let Some(Value::Array(allowed)) = declaration.get("AllowedValues")
                && !allowed.iter().any(|a| scalar_text(a).as_deref() == Some(value.as_str()))
            {
                return Err(template.error(
                    &path,
                    format!(
                        "parameter {name} is {value:?}, not one of its AllowedValues {}",
                        Value::Array(allowed.clone())
                    ),
                ));
            }
            let typed = match declaration.get("Type").and_then(Value::as_str) {
                Some("CommaDelimitedList") => {
                    Value::Array(value.split(',').map(|s| Value::String(s.trim().into())).collect())
                }
                _ => Value::String(value),
            };
            parameters.insert(name.clone(), typed);
        }
        let mut generated_roles = Vec::new();
        for (id, resource) in resources {
            let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
            let props = resource.get("Properties");
            let has = |key: &str| props.and_then(|p| p.get(key)).is_some();
            match kind {
                "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" if !has("Role") => {
                    generated_roles.push(format!("{id}Role"))
                }
                _ => {}
            }
        }
        Ok(Resolver { template, settings, resources, parameters, generated_roles })
    }

    fn err(&self, path: &str, message: impl Into<String>) -> TemplateError {
        self.template.error(path, message)
    }

    // ---- names and ARNs -------------------------------------------------------------------------

    fn kind(&self, logical_id: &str) -> Option<&'a str> {
        self.resources.get(logical_id)?.get("Type")?.as_str()
    }

    fn property(&self, logical_id: &str, key: &str) -> Option<&'a Value> {
        self.resources.get(logical_id)?.get("Properties")?.get(key)
    }

    /// A property of a function, with `Globals.Function` as SAM merges it.
    fn function_property(&self, logical_id: &str, key: &str) -> Option<&'a Value> {
        self.property(logical_id, key).or_else(|| self.template.root.get("Globals")?.get("Function")?.get(key))
    }

    /// The resource's physical name: its name property, else the caller's, else `<stack>-<LogicalId>`.
    fn physical_name(&self, logical_id: &str) -> Result<String> {
        let name_property = match self.kind(logical_id) {
            Some("AWS::S3::Bucket") => Some("BucketName"),
            Some("AWS::SNS::Topic") => Some("TopicName"),
            Some("AWS::SQS::Queue") => Some("QueueName"),
            Some("AWS::Serverless::Function" | "AWS::Lambda::Function") => Some("FunctionName"),
            Some("AWS::IAM::Role") => Some("RoleName"),
            Some("AWS::Serverless::StateMachine") => Some("Name"),
            Some("AWS::StepFunctions::StateMachine") => Some("StateMachineName"),
            Some("AWS::Logs::LogGroup") => Some("LogGroupName"),
            Some("AWS::Events::Rule") => Some("Name"),
            _ => None,
        };
        if let Some(property) = name_property
            && let Some(value) = self.property(logical_id, property)
        {
            let path = format!("Resources.{logical_id}.Properties.{property}");
            return self.string(value, &path);
        }
        if let Some(name) = self.settings.physical_names.get(logical_id) {
            return Ok(name.clone());
        }
        let mut name = format!("{}-{logical_id}", self.settings.stack_name);
        // Role names are at most 64 characters; CloudFormation shortens its generated ones likewise.
        if self.kind(logical_id) == Some("AWS::IAM::Role") || self.generated_roles.iter().any(|r| r == logical_id) {
            name.truncate(64);
        }
        Ok(name)
    }

    fn arn(&self, service: &str, regional: bool, resource: &str) -> String {
        let s = self.settings;
        let region = if regional { s.region.as_str() } else { "" };
        let account = if service == "s3" { "" } else { s.account.as_str() };
        format!("arn:{}:{service}:{region}:{account}:{resource}", s.partition)
    }

    fn role_arn(&self, logical_id: &str) -> Result<String> {
        let path = match self.property(logical_id, "Path") {
            Some(p) => self.string(p, &format!("Resources.{logical_id}.Properties.Path"))?,
            None => "/".into(),
        };
        Ok(self.arn("iam", false, &format!("role{path}{}", self.physical_name(logical_id)?)))
    }

    fn ref_value(&self, logical_id: &str, path: &str) -> Result<Value> {
        if self.generated_roles.iter().any(|r| r == logical_id) {
            return Ok(Value::String(self.physical_name(logical_id)?));
        }
        let kind = self
            .kind(logical_id)
            .ok_or_else(|| self.err(path, format!("Ref {logical_id}: no parameter or resource of that name")))?;
        let name = self.physical_name(logical_id)?;
        let s = self.settings;
        Ok(Value::String(match kind {
            "AWS::SNS::Topic" => self.arn("sns", true, &name),
            "AWS::SQS::Queue" => format!("https://sqs.{}.amazonaws.com/{}/{name}", s.region, s.account),
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                self.arn("states", true, &format!("stateMachine:{name}"))
            }
            "AWS::S3::Bucket"
            | "AWS::Serverless::Function"
            | "AWS::Lambda::Function"
            | "AWS::IAM::Role"
            | "AWS::Logs::LogGroup"
            | "AWS::Events::Rule" => name,
            other => return Err(self.err(path, format!("Ref {logical_id}: the Ref of a {other} is not resolved here"))),
        }))
    }

    fn get_att(&self, logical_id: &str, attribute: &str, path: &str) -> Result<Value> {
        let is_role =
            self.generated_roles.iter().any(|r| r == logical_id) || self.kind(logical_id) == Some("AWS::IAM::Role");
        let kind = if is_role {
            "AWS::IAM::Role"
        } else {
            self.kind(logical_id)
                .ok_or_else(|| self.err(path, format!("GetAtt {logical_id}.{attribute}: no resource of that name")))?
        };
        let name = self.physical_name(logical_id)?;
        let s = self.settings;
        let value = match (kind, attribute) {
            ("AWS::S3::Bucket", "Arn") => self.arn("s3", false, &name),
            ("AWS::SNS::Topic", "TopicName") => name,
            ("AWS::SNS::Topic", "TopicArn") => self.arn("sns", true, &name),
            ("AWS::SQS::Queue", "Arn") => self.arn("sqs", true, &name),
            ("AWS::SQS::Queue", "QueueName") => name,
            ("AWS::SQS::Queue", "QueueUrl") => format!("https://sqs.{}.amazonaws.com/{}/{name}", s.region, s.account),
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => {
                self.arn("lambda", true, &format!("function:{name}"))
            }
            ("AWS::IAM::Role", "Arn") => self.role_arn(logical_id)?,
            ("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine", "Arn") => {
                self.arn("states", true, &format!("stateMachine:{name}"))
            }
            ("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine", "Name") => name,
            ("AWS::Logs::LogGroup", "Arn") => self.arn("logs", true, &format!("log-group:{name}:*")),
            ("AWS::Events::Rule", "Arn") => self.arn("events", true, &format!("rule/{name}")),
            _ => {
                return Err(self.err(
                    path,
                    format!("GetAtt {logical_id}.{attribute}: attribute {attribute} of a {kind} is not resolved here"),
                ));
            }
        };
        Ok(Value::String(value))
    }

    // ---- intrinsic functions --------------------------------------------------------------------

    /// Resolves every intrinsic in `value`; `None` is `AWS::NoValue` (the property is dropped).
    fn resolve(&self, value: &Value, path: &str) -> Result<Option<Value>> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                let inner = format!("{path}.{key}");
                match key.as_str() {
                    "Ref" => {
                        let name = arg.as_str().ok_or_else(|| self.err(&inner, "Ref takes a name"))?;
                        if name == "AWS::NoValue" {
                            return Ok(None);
                        }
                        self.reference(name, &inner).map(Some)
                    }
                    "Fn::GetAtt" => {
                        let (res, att) = match arg {
                            Value::Array(a) if a.len() == 2 => (a[0].as_str(), self.string(&a[1], &inner).ok()),
                            _ => (None, None),
                        };
                        let (Some(res), Some(att)) = (res, att) else {
                            return Err(self.err(&inner, "Fn::GetAtt takes [Resource, Attribute]"));
                        };
                        self.get_att(res, &att, &inner).map(Some)
                    }
                    "Fn::Sub" => self.sub(arg, &inner).map(|s| Some(Value::String(s))),
                    "Fn::Join" => {
                        let Some([delimiter, list]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::Join takes [delimiter, [values]]"));
                        };
                        let delimiter =
                            delimiter.as_str().ok_or_else(|| self.err(&inner, "the delimiter must be a string"))?;
                        let list = self.list(list, &format!("{inner}[1]"))?;
                        let parts = list
                            .iter()
                            .enumerate()
                            .map(|(i, v)| self.string(v, &format!("{inner}[1][{i}]")))
                            .collect::<Result<Vec<_>>>()?;
                        Ok(Some(Value::String(parts.join(delimiter))))
                    }
                    "Fn::If" => {
                        let Some([condition, yes, no]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::If takes [condition, value if true, value if false]"));
                        };
                        let name = condition.as_str().ok_or_else(|| self.err(&inner, "Fn::If names a condition"))?;
                        if self.condition(name, &inner)? {
                            self.resolve(yes, &format!("{inner}[1]"))
                        } else {
                            self.resolve(no, &format!("{inner}[2]"))
                        }
                    }
                    "Fn::Select" => {
                        let Some([index, list]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::Select takes [index, [values]]"));
                        };
                        let index: usize = self
                            .string(index, &format!("{inner}[0]"))?
                            .parse()
                            .map_err(|_| self.err(&inner, "the index must be a number"))?;
                        let list = self.list(list, &format!("{inner}[1]"))?;
                        list.get(index).cloned().map(Some).ok_or_else(|| {
                            self.err(&inner, format!("index {index} is past the list's {} values", list.len()))
                        })
                    }
                    "Fn::Split" => {
                        let Some([delimiter, text]) = arg.as_array().map(Vec::as_slice) else {
                            return Err(self.err(&inner, "Fn::Split takes [delimiter, string]"));
                        };
                        let delimiter =
                            delimiter.as_str().ok_or_else(|| self.err(&inner, "the delimiter must be a string"))?;
                        let text = self.string(text, &format!("{inner}[1]"))?;
                        Ok(Some(Value::Array(text.split(delimiter).map(|s| Value::String(s.into())).collect())))
                    }
                    k if k.starts_with("Fn::") => {
                        Err(self.err(&inner, format!("{k} is not resolved by the local cloud")))
                    }
                    _ => self.resolve_object(map, path).map(Some),
                }
            }
            Value::Object(map) => self.resolve_object(map, path).map(Some),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.resolve(item, &format!("{path}[{i}]"))? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn resolve_object(&self, map: &Map<String, Value>, path: &str) -> Result<Value> {
        let mut out = Map::new();
        for (key, value) in map {
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if let Some(v) = self.resolve(value, &child)? {
                out.insert(key.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    /// A value that must resolve to a string (numbers count as their text).
    fn string(&self, value: &Value, path: &str) -> Result<String> {
        let resolved = self
            .resolve(value, path)?
            .ok_or_else(|| self.err(path, "resolves to AWS::NoValue where a value is needed"))?;
        scalar_text(&resolved).ok_or_else(|| self.err(path, format!("expected a string, found {resolved}")))
    }

    fn list(&self, value: &Value, path: &str) -> Result<Vec<Value>> {
        match self.resolve(value, path)? {
            Some(Value::Array(items)) => Ok(items),
            other => Err(self.err(path, format!("expected a list, found {}", other.unwrap_or(Value::Null)))),
        }
    }

    /// `Ref` of a parameter, pseudo parameter or resource.
    fn reference(&self, name: &str, path: &str) -> Result<Value> {
        let s = self.settings;
        let pseudo = match name {
            "AWS::AccountId" => Some(s.account.clone()),
            "AWS::Region" => Some(s.region.clone()),
            "AWS::Partition" => Some(s.partition.clone()),
            "AWS::StackName" => Some(s.stack_name.clone()),
            "AWS::URLSuffix" => Some(if s.partition == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" }.into()),
            "AWS::StackId" => Some(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/local",
                s.partition, s.region, s.account, s.stack_name
            )),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Value::String(value));
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        self.ref_value(name, path)
    }

    /// `Fn::Sub`, both forms: `${Name}` (parameter, pseudo parameter, resource Ref or variable),
    /// `${Resource.Attribute}`, and `${!Literal}`.
    fn sub(&self, arg: &Value, path: &str) -> Result<String> {
        let (text, variables) = match arg {
            Value::String(text) => (text.as_str(), None),
            Value::Array(pair) if pair.len() == 2 && pair[0].is_string() && pair[1].is_object() => {
                (pair[0].as_str().expect("checked"), pair[1].as_object())
            }
            _ => return Err(self.err(path, "Fn::Sub takes a string or [string, {variables}]")),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| self.err(path, format!("unclosed ${{ in {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.and_then(|v| v.get(name)) {
                out.push_str(&self.string(value, &format!("{path}[1].{name}"))?);
            } else if let Some((resource, attribute)) = name.split_once('.')
                && !name.starts_with("AWS::")
            {
                let value = self.get_att(resource, attribute, path)?;
                out.push_str(value.as_str().unwrap_or_default());
            } else {
                let value = self.reference(name, path)?;
                out.push_str(
                    &scalar_text(&value)
                        .ok_or_else(|| self.err(path, format!("${{{name}}} is a list, not a string")))?,
                );
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn condition(&self, name: &str, path: &str) -> Result<bool> {
        let definition = self
            .template
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| self.err(path, format!("condition {name} is not defined under Conditions")))?;
        self.condition_value(definition, &format!("Conditions.{name}"))
    }

    fn condition_value(&self, value: &Value, path: &str) -> Result<bool> {
        let Some((key, arg)) = value.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next()) else {
            return Err(self.err(path, "a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition"));
        };
        let inner = format!("{path}.{key}");
        let list = || arg.as_array().ok_or_else(|| self.err(&inner, format!("{key} takes a list")));
        match key.as_str() {
            "Condition" => self.condition(arg.as_str().ok_or_else(|| self.err(&inner, "names a condition"))?, &inner),
            "Fn::Equals" => {
                let [a, b] = list()?.as_slice() else { return Err(self.err(&inner, "Fn::Equals takes two values")) };
                Ok(self.string(a, &format!("{inner}[0]"))? == self.string(b, &format!("{inner}[1]"))?)
            }
            "Fn::Not" => {
                let [a] = list()?.as_slice() else { return Err(self.err(&inner, "Fn::Not takes one condition")) };
                Ok(!self.condition_value(a, &format!("{inner}[0]"))?)
            }
            "Fn::And" | "Fn::Or" => {
                let mut results =
                    list()?.iter().enumerate().map(|(i, c)| self.condition_value(c, &format!("{inner}[{i}]")));
                if key == "Fn::And" {
                    results.try_fold(true, |acc, r| Ok(acc && r?))
                } else {
                    results.try_fold(false, |acc, r| Ok(acc || r?))
                }
            }
            other => Err(self.err(&inner, format!("{other} is not a condition function"))),
        }
    }

    // ---- roles and policies ---------------------------------------------------------------------

    fn stack(&self) -> Result<StackPolicies> {
        let mut roles: Vec<Role> = Vec::new();
        let mut resource_policies: Vec<ResourcePolicy> = Vec::new();
        // Roles of functions and state machines that name an existing role: (user, role logical id).
        let mut uses: Vec<(String, String)> = Vec::new();
        // AWS::IAM::Policy and friends, attached after every role exists: (role logical id, policy).
        let mut attached: Vec<(String, Policy)> = Vec::new();
        for (id, resource) in self.resources {
            let base = format!("Resources.{id}");
            if let Some(condition) = resource.get("Condition").and_then(Value::as_str)
                && !self.condition(condition, &format!("{base}.Condition"))?
            {
                continue;
            }
            let kind = resource.get("Type").and_then(Value::as_str).ok_or_else(|| self.err(&base, "has no Type"))?;
            match kind {
                "AWS::Serverless::Function" => {
                    match self.property(id, "Role") {
                        Some(role) => {
                            uses.push((id.clone(), self.role_reference(role, &format!("{base}.Properties.Role"))?))
                        }
                        None => roles.push(self.function_role(id)?),
                    }
                    self.function_events(id, &mut roles, &mut resource_policies)?;
                }
                "AWS::Serverless::StateMachine" => {
                    match self.property(id, "Role") {
                        Some(role) => {
                            uses.push((id.clone(), self.role_reference(role, &format!("{base}.Properties.Role"))?))
                        }
                        None => roles.push(self.state_machine_role(id)?),
                    }
                    self.state_machine_events(id, &mut roles)?;
                }
                "AWS::IAM::Role" => roles.push(self.iam_role(id)?),
                "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                    let policy = self.policy_document(&format!("{base}.Properties.PolicyDocument"), id)?;
                    let targets = self.property(id, "Roles").cloned().unwrap_or(Value::Array(vec![]));
                    for (i, target) in targets.as_array().into_iter().flatten().enumerate() {
                        attached.push((
                            self.role_reference(target, &format!("{base}.Properties.Roles[{i}]"))?,
                            policy.clone(),
                        ));
                    }
                    for other in ["Users", "Groups"] {
                        if self.property(id, other).is_some() {
                            return Err(self.err(
                                &format!("{base}.Properties.{other}"),
                                "only policies attached to roles are evaluated locally",
                            ));
                        }
                    }
                }
                "AWS::IAM::RolePolicy" => {
                    let name = self.string(
                        self.property(id, "PolicyName").unwrap_or(&Value::Null),
                        &format!("{base}.Properties.PolicyName"),
                    )?;
                    let mut policy = self.policy_document(&format!("{base}.Properties.PolicyDocument"), &name)?;
                    policy.name = name;
                    let role = self.property(id, "RoleName").ok_or_else(|| self.err(&base, "has no RoleName"))?;
                    attached.push((self.role_reference(role, &format!("{base}.Properties.RoleName"))?, policy));
                }
                "AWS::S3::BucketPolicy" => {
                    let bucket = self.string(
                        self.property(id, "Bucket").unwrap_or(&Value::Null),
                        &format!("{base}.Properties.Bucket"),
                    )?;
                    let policy = self.policy_document(&format!("{base}.Properties.PolicyDocument"), id)?;
                    resource_policies.push(ResourcePolicy {
                        resource_arn: self.arn("s3", false, &bucket),
                        covers_objects: true,
                        policy,
                    });
                }
                "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => {
                    let (list, sqs) =
                        if kind == "AWS::SQS::QueuePolicy" { ("Queues", true) } else { ("Topics", false) };
                    let path = format!("{base}.Properties.{list}");
                    let policy = self.policy_document(&format!("{base}.Properties.PolicyDocument"), id)?;
                    for (i, target) in
                        self.list(self.property(id, list).unwrap_or(&Value::Null), &path)?.iter().enumerate()
                    {
                        let target = scalar_text(target)
                            .ok_or_else(|| self.err(&format!("{path}[{i}]"), "expected a string"))?;
                        let arn = if sqs { self.queue_arn_of_url(&target, &format!("{path}[{i}]"))? } else { target };
                        resource_policies.push(ResourcePolicy {
                            resource_arn: arn,
                            covers_objects: false,
                            policy: policy.clone(),
                        });
                    }
                }
                "AWS::Lambda::Permission" => {
                    let p = |key: &str| format!("{base}.Properties.{key}");
                    let function =
                        self.string(self.property(id, "FunctionName").unwrap_or(&Value::Null), &p("FunctionName"))?;
                    let principal =
                        self.string(self.property(id, "Principal").unwrap_or(&Value::Null), &p("Principal"))?;
                    let action = self.string(self.property(id, "Action").unwrap_or(&Value::Null), &p("Action"))?;
                    let source_arn =
                        self.property(id, "SourceArn").map(|v| self.string(v, &p("SourceArn"))).transpose()?;
                    let source_account =
                        self.property(id, "SourceAccount").map(|v| self.string(v, &p("SourceAccount"))).transpose()?;
                    let arn = if function.starts_with("arn:") {
                        function
                    } else {
                        self.arn("lambda", true, &format!("function:{function}"))
                    };
                    add_permission(
                        &mut resource_policies,
                        id,
                        &arn,
                        &principal,
                        &action,
                        source_arn,
                        source_account,
                        self,
                    )?;
                }
                kind if WITHOUT_POLICIES.contains(&kind) => {}
                other => {
                    return Err(self.err(
                        &format!("{base}.Type"),
                        format!("{other}: local-iam does not know whether this resource type carries IAM policies; resolve them in local/iam/src/stack.rs or list it as carrying none"),
                    ));
                }
            }
        }
        for (user, role_id) in uses {
            let role = roles.iter_mut().find(|r| r.logical_id == role_id).ok_or_else(|| {
                self.err(
                    &format!("Resources.{user}.Properties.Role"),
                    format!("{role_id} is not a role of this template"),
                )
            })?;
            role.used_by.push(user);
        }
        for (role_id, policy) in attached {
            let role = roles.iter_mut().find(|r| r.logical_id == role_id).ok_or_else(|| {
                self.err(
                    &format!("Resources.{role_id}"),
                    "a policy is attached to a role this template does not create",
                )
            })?;
            role.policies.push(policy);
        }
        Ok(StackPolicies { roles, resource_policies, settings: self.settings.clone() })
    }

    /// `!GetAtt Role.Arn`, `!Ref Role`, or the role's ARN/name as a string of this stack.
    fn role_reference(&self, value: &Value, path: &str) -> Result<String> {
        let target = match value {
            Value::Object(m) => m
                .get("Ref")
                .and_then(Value::as_str)
                .or_else(|| m.get("Fn::GetAtt").and_then(|a| a.get(0)).and_then(Value::as_str)),
            _ => None,
        };
        target.map(str::to_string).ok_or_else(|| {
            self.err(path, "the local cloud follows a role given as !Ref Role or !GetAtt Role.Arn of this template")
        })
    }

    fn queue_arn_of_url(&self, url: &str, path: &str) -> Result<String> {
        let name = url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| self.err(path, format!("{url} is not a queue URL")))?;
        Ok(self.arn("sqs", true, name))
    }

    /// A policy document at `path` (a property of a resource), resolved and parsed.
    fn policy_document(&self, path: &str, name: &str) -> Result<Policy> {
        let value = lookup(&self.template.root, path).ok_or_else(|| self.err(path, "is missing"))?;
        let document = self.resolve(value, path)?.ok_or_else(|| self.err(path, "resolves to AWS::NoValue"))?;
        self.parse_policy(name, document, path)
    }

    fn parse_policy(&self, name: &str, document: Value, path: &str) -> Result<Policy> {
        Policy::parse(name, document).map_err(|e| {
            let at = if e.path.is_empty() { path.to_string() } else { format!("{path}.{}", e.path) };
            self.err(&at, e.message)
        })
    }

    fn managed(&self, name_or_arn: &str, path: &str) -> Result<Policy> {
        let name = sam::managed_policy_name(name_or_arn);
        let document = sam::managed_policy(name).ok_or_else(|| {
            self.err(path, format!("managed policy {name_or_arn}: its document is not known locally (known: AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess, AWSXRayDaemonWriteAccess)"))
        })?;
        self.parse_policy(name, document, path)
    }

    /// A SAM `Policies` property: statements, policy templates and managed policy names, in order;
    /// inline ones are named `<Role>Policy<index>` as SAM names them.
    fn sam_policies(&self, owner: &str, role_id: &str) -> Result<(Vec<Policy>, Vec<Policy>)> {
        let base = format!("Resources.{owner}.Properties.Policies");
        let (mut inline, mut managed) = (Vec::new(), Vec::new());
        let entries = match self.property(owner, "Policies") {
            None => return Ok((inline, managed)),
            Some(Value::Array(list)) => {
                list.iter().enumerate().map(|(i, e)| (format!("{base}[{i}]"), e)).collect::<Vec<_>>()
            }
            Some(one) => vec![(base.clone(), one)],
        };
        for (index, (path, entry)) in entries.into_iter().enumerate() {
            let name = format!("{role_id}Policy{index}");
            match entry {
                Value::String(managed_name) => managed.push(self.managed(managed_name, &path)?),
                Value::Object(map) if map.contains_key("Statement") => {
                    let document = self.resolve(entry, &path)?.ok_or_else(|| self.err(&path, "resolves to AWS::NoValue"))?;
                    inline.push(self.parse_policy(&name, document, &path)?);
                }
                Value::Object(map) if map.len() == 1 => {
                    let (template_name, arguments) = map.iter().next().expect("one entry");
                    let template = sam::policy_template(template_name).ok_or_else(|| {
                        let known: Vec<&str> = sam::POLICY_TEMPLATES.iter().map(|t| t.name).collect();
                        self.err(&path, format!("{template_name} is not a policy template the local cloud expands (known: {})", known.join(", ")))
                    })?;
                    let mut variables = Map::new();
                    for parameter in template.parameters {
                        let value = arguments.get(parameter).ok_or_else(|| self.err(&format!("{path}.{template_name}"), format!("{template_name} needs {parameter}")))?;
                        variables.insert(parameter.to_string(), Value::String(self.string(value, &format!("{path}.{template_name}.{parameter}"))?));
                    }
                    let mut statements = (template.statements)();
                    for statement in statements.as_array_mut().into_iter().flatten() {
                        if let Some(resource) = statement.get_mut("Resource") {
                            *resource = self.sub_template(resource, &variables, &path)?;
                        }
                    }
                    inline.push(self.parse_policy(&name, json!({"Statement": statements}), &path)?);
                }
                other => return Err(self.err(&path, format!("a Policies entry must be a managed policy name, a Statement document or a policy template, found {other}"))),
            }
        }
        Ok((inline, managed))
    }

    /// A policy template's `Resource` (a string or list) with its parameters and pseudo parameters in.
    fn sub_template(&self, resource: &Value, variables: &Map<String, Value>, path: &str) -> Result<Value> {
        let one = |text: &str| self.sub(&json!([text, variables]), path).map(Value::String);
        match resource {
            Value::String(text) => one(text),
            Value::Array(list) => {
                list.iter().map(|v| one(v.as_str().unwrap_or_default())).collect::<Result<Vec<_>>>().map(Value::Array)
            }
            _ => Err(self.err(path, "a policy template's Resource must be a string or a list")),
        }
    }

    fn generated_role(&self, owner: &str, service: &str, session_name: String, policies: Vec<Policy>) -> Result<Role> {
        let logical_id = format!("{owner}Role");
        let path = format!("Resources.{owner}");
        let trust = match self.property(owner, "AssumeRolePolicyDocument") {
            Some(_) => self.policy_document(
                &format!("{path}.Properties.AssumeRolePolicyDocument"),
                &format!("{logical_id} trust"),
            )?,
            None => self.parse_policy(&format!("{logical_id} trust"), sam::service_trust(service), &path)?,
        };
        Ok(Role {
            name: self.physical_name(&logical_id)?,
            arn: self.role_arn(&logical_id)?,
            logical_id,
            used_by: vec![owner.to_string()],
            session_name,
            trust,
            policies,
        })
    }

    /// The role SAM generates for a function: its Policies, the dead-letter queue's permission, and the
    /// managed policies for logs, tracing and VPC access.
    fn function_role(&self, id: &str) -> Result<Role> {
        let base = format!("Resources.{id}.Properties");
        for unsupported in ["PermissionsBoundary", "EventInvokeConfig", "DurableConfig"] {
            if self.function_property(id, unsupported).is_some() {
                return Err(self.err(
                    &format!("{base}.{unsupported}"),
                    format!("{unsupported} changes the function's permissions and is not resolved by the local cloud"),
                ));
            }
        }
        let role_id = format!("{id}Role");
        let (mut policies, managed) = self.sam_policies(id, &role_id)?;
        if let Some(dlq) = self.function_property(id, "DeadLetterQueue") {
            let path = format!("{base}.DeadLetterQueue");
            let action = match dlq.get("Type").and_then(Value::as_str) {
                Some("SQS") => "sqs:SendMessage",
                Some("SNS") => "sns:Publish",
                _ => return Err(self.err(&format!("{path}.Type"), "must be SQS or SNS")),
            };
            let target = self.string(dlq.get("TargetArn").unwrap_or(&Value::Null), &format!("{path}.TargetArn"))?;
            let document = json!({"Version": "2012-10-17", "Statement": [{"Action": action, "Resource": target, "Effect": "Allow"}]});
            policies.push(self.parse_policy("DeadLetterQueuePolicy", document, &path)?);
        }
        let mut all_managed = vec![self.managed("AWSLambdaBasicExecutionRole", &base)?];
        let tracing =
            self.function_property(id, "Tracing").map(|t| self.string(t, &format!("{base}.Tracing"))).transpose()?;
        if tracing.is_some_and(|t| t != "Disabled") {
            all_managed.push(self.managed(sam::xray_policy_name(&self.settings.partition), &base)?);
        }
        if self.function_property(id, "VpcConfig").is_some() {
            return Err(self.err(&format!("{base}.VpcConfig"), "AWSLambdaVPCAccessExecutionRole is not known locally"));
        }
        for policy in managed {
            if !all_managed.iter().any(|m| m.name == policy.name) {
                all_managed.push(policy);
            }
        }
        policies.extend(all_managed);
        let session = self.physical_name(id)?;
        self.generated_role(id, "lambda.amazonaws.com", session, policies)
    }

    fn state_machine_role(&self, id: &str) -> Result<Role> {
        let base = format!("Resources.{id}.Properties");
        if self.property(id, "PermissionsBoundary").is_some() {
            return Err(
                self.err(&format!("{base}.PermissionsBoundary"), "permission boundaries are not evaluated locally")
            );
        }
        let (mut policies, managed) = self.sam_policies(id, &format!("{id}Role"))?;
        let tracing = self
            .property(id, "Tracing")
            .and_then(|t| t.get("Enabled"))
            .map(|e| self.resolve(e, &format!("{base}.Tracing.Enabled")))
            .transpose()?
            .flatten();
        let mut all_managed = managed;
        if tracing == Some(Value::Bool(true)) {
            let xray = self.managed(sam::xray_policy_name(&self.settings.partition), &base)?;
            if !all_managed.iter().any(|m| m.name == xray.name) {
                all_managed.push(xray);
            }
        }
        policies.extend(all_managed);
        let session = self.physical_name(id)?;
        self.generated_role(id, "states.amazonaws.com", session, policies)
    }

    fn iam_role(&self, id: &str) -> Result<Role> {
        let base = format!("Resources.{id}.Properties");
        if self.property(id, "PermissionsBoundary").is_some() {
            return Err(
                self.err(&format!("{base}.PermissionsBoundary"), "permission boundaries are not evaluated locally")
            );
        }
        let trust = self.policy_document(&format!("{base}.AssumeRolePolicyDocument"), &format!("{id} trust"))?;
        let mut policies = Vec::new();
        for (i, entry) in self.property(id, "Policies").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let path = format!("{base}.Policies[{i}]");
            let name = self.string(entry.get("PolicyName").unwrap_or(&Value::Null), &format!("{path}.PolicyName"))?;
            policies.push(self.policy_document(&format!("{path}.PolicyDocument"), &name)?);
        }
        for (i, arn) in
            self.property(id, "ManagedPolicyArns").and_then(Value::as_array).into_iter().flatten().enumerate()
        {
            let path = format!("{base}.ManagedPolicyArns[{i}]");
            policies.push(self.managed(&self.string(arn, &path)?, &path)?);
        }
        Ok(Role {
            name: self.physical_name(id)?,
            arn: self.role_arn(id)?,
            logical_id: id.to_string(),
            used_by: vec![],
            session_name: id.to_string(),
            trust,
            policies,
        })
    }

    /// What a function's event sources add: a permission on the function for S3 and EventBridge, a
    /// scheduler role for ScheduleV2.
    fn function_events(
        &self,
        id: &str,
        roles: &mut Vec<Role>,
        resource_policies: &mut Vec<ResourcePolicy>,
    ) -> Result<()> {
        let function_arn =
            self.get_att(id, "Arn", &format!("Resources.{id}"))?.as_str().unwrap_or_default().to_string();
        for (event, definition) in self.property(id, "Events").and_then(Value::as_object).into_iter().flatten() {
            let path = format!("Resources.{id}.Properties.Events.{event}");
            let kind = definition.get("Type").and_then(Value::as_str).unwrap_or_default();
            let logical = format!("{id}{event}");
            match kind {
                "S3" => {
                    let permission = format!("{logical}Permission");
                    add_permission(
                        resource_policies,
                        &permission,
                        &function_arn,
                        "s3.amazonaws.com",
                        "lambda:InvokeFunction",
                        None,
                        Some(self.settings.account.clone()),
                        self,
                    )?;
                }
                "EventBridgeRule" | "CloudWatchEvent" | "Schedule" => {
                    if definition
                        .get("Properties")
                        .and_then(|p| p.get("DeadLetterConfig"))
                        .and_then(|d| d.get("Type"))
                        .is_some()
                    {
                        return Err(self.err(
                            &format!("{path}.Properties.DeadLetterConfig.Type"),
                            "a queue SAM creates for dead letters is not resolved locally; give its Arn",
                        ));
                    }
                    let rule_arn = self.arn("events", true, &format!("rule/{}", self.generated_name(&logical)));
                    let permission = format!("{logical}Permission");
                    add_permission(
                        resource_policies,
                        &permission,
                        &function_arn,
                        "events.amazonaws.com",
                        "lambda:InvokeFunction",
                        Some(rule_arn),
                        None,
                        self,
                    )?;
                }
                "ScheduleV2" => roles.push(self.schedule_role(
                    &logical,
                    "lambda:InvokeFunction",
                    &function_arn,
                    definition,
                    &path,
                )?),
                other => {
                    return Err(self.err(
                        &format!("{path}.Type"),
                        format!("event source {other:?} is not resolved by the local cloud"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn state_machine_events(&self, id: &str, roles: &mut Vec<Role>) -> Result<()> {
        let machine_arn = self.get_att(id, "Arn", &format!("Resources.{id}"))?.as_str().unwrap_or_default().to_string();
        for (event, definition) in self.property(id, "Events").and_then(Value::as_object).into_iter().flatten() {
            let path = format!("Resources.{id}.Properties.Events.{event}");
            let kind = definition.get("Type").and_then(Value::as_str).unwrap_or_default();
            let logical = format!("{id}{event}");
            match kind {
                "ScheduleV2" => roles.push(self.schedule_role(
                    &logical,
                    "states:StartExecution",
                    &machine_arn,
                    definition,
                    &path,
                )?),
                "EventBridgeRule" | "CloudWatchEvent" | "Schedule" => {
                    let document = json!({"Statement": [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": machine_arn}]});
                    let policy = self.parse_policy(&format!("{logical}RoleStartExecutionPolicy"), document, &path)?;
                    roles.push(self.event_role(&logical, "events.amazonaws.com", vec![policy], &path)?);
                }
                other => {
                    return Err(self.err(
                        &format!("{path}.Type"),
                        format!("event source {other:?} is not resolved by the local cloud"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The role SAM generates for an EventBridge Scheduler schedule: `<Resource><Event>Role`, trusted by
    /// scheduler.amazonaws.com, allowed to start or invoke its target (and to send to its dead-letter queue).
    fn schedule_role(&self, logical: &str, action: &str, target: &str, definition: &Value, path: &str) -> Result<Role> {
        let properties = definition.get("Properties");
        if properties.and_then(|p| p.get("RoleArn")).is_some() {
            return Err(
                self.err(&format!("{path}.Properties.RoleArn"), "a schedule's own RoleArn is not followed locally")
            );
        }
        let policy_name = if action == "states:StartExecution" {
            format!("{logical}StartExecutionPolicy")
        } else {
            format!("{logical}LambdaPolicy")
        };
        let document = json!({"Statement": [{"Action": action, "Effect": "Allow", "Resource": target}]});
        let mut policies = vec![self.parse_policy(&policy_name, document, path)?];
        if let Some(dlq) = properties.and_then(|p| p.get("DeadLetterConfig")) {
            let dlq_path = format!("{path}.Properties.DeadLetterConfig");
            let arn = dlq.get("Arn").ok_or_else(|| {
                self.err(&dlq_path, "a queue SAM creates for dead letters is not resolved locally; give its Arn")
            })?;
            let arn = self.string(arn, &format!("{dlq_path}.Arn"))?;
            let document = json!({"Statement": [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": arn}]});
            policies.push(self.parse_policy(&format!("{logical}SQSPolicy"), document, &dlq_path)?);
        }
        self.event_role(logical, "scheduler.amazonaws.com", policies, path)
    }

    fn event_role(&self, logical: &str, service: &str, policies: Vec<Policy>, path: &str) -> Result<Role> {
        let logical_id = format!("{logical}Role");
        Ok(Role {
            name: self.generated_name(&logical_id),
            arn: self.arn("iam", false, &format!("role/{}", self.generated_name(&logical_id))),
            trust: self.parse_policy(&format!("{logical_id} trust"), sam::service_trust(service), path)?,
            logical_id,
            used_by: vec![logical.to_string()],
            session_name: logical.to_string(),
            policies,
        })
    }

    /// A name CloudFormation would generate for a resource SAM adds (not in the template).
    fn generated_name(&self, logical_id: &str) -> String {
        self.settings.physical_names.get(logical_id).cloned().unwrap_or_else(|| {
            let mut name = format!("{}-{logical_id}", self.settings.stack_name);
            name.truncate(64);
            name
        })
    }
}

/// Adds one `AWS::Lambda::Permission` (written or generated by SAM) to the function's resource policy,
/// in the form Lambda shows it (`GetPolicy`).
#[allow(clippy::too_many_arguments)]
fn add_permission(
    policies: &mut Vec<ResourcePolicy>,
    sid: &str,
    function_arn: &str,
    principal: &str,
    action: &str,
    source_arn: Option<String>,
    source_account: Option<String>,
    resolver: &Resolver,
) -> Result<()> {
    let principal = if principal.ends_with(".amazonaws.com") {
        json!({"Service": principal})
    } else if principal.chars().all(|c| c.is_ascii_digit()) {
        json!({"AWS": format!("arn:{}:iam::{principal}:root", resolver.settings.partition)})
    } else {
        json!({"AWS": principal})
    };
    let mut condition = Map::new();
    if let Some(account) = source_account {
        condition.insert("StringEquals".into(), json!({"AWS:SourceAccount": account}));
    }
    if let Some(arn) = source_arn {
        condition.insert("ArnLike".into(), json!({"AWS:SourceArn": arn}));
    }
    let mut statement =
        json!({"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": function_arn});
    if !condition.is_empty() {
        statement["Condition"] = Value::Object(condition);
    }
    let path = format!("Resources.{sid}");
    match policies.iter_mut().find(|p| p.resource_arn == function_arn) {
        Some(existing) => {
            let mut document = existing.policy.document.clone();
            document["Statement"].as_array_mut().expect("built as a list").push(statement);
            existing.policy = resolver.parse_policy(&existing.policy.name, document, &path)?;
        }
        None => {
            let document = json!({"Version": "2012-10-17", "Id": "default", "Statement": [statement]});
            let name = format!("{} resource policy", function_arn.rsplit(':').next().unwrap_or(function_arn));
            policies.push(ResourcePolicy {
                resource_arn: function_arn.into(),
                covers_objects: false,
                policy: resolver.parse_policy(&name, document, &path)?,
            });
        }
    }
    Ok(())
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The value at a template path (`Resources.X.Properties.Policies[0].PolicyDocument`).
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, segment| {
        let mut parts = segment.split('[');
        let key = parts.next()?;
        let mut v = if key.is_empty() { v } else { v.get(key)? };
        for index in parts {
            v = v.get(index.strip_suffix(']')?.parse::<usize>().ok()?)?;
        }
        Some(v)
    })
}
