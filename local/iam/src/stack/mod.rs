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

mod intrinsics;
mod roles;
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
    // The local cloud serves no KMS API, so the key policy governs no local call.
    "AWS::KMS::Key",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::SSM::Parameter",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudFormation::WaitConditionHandle",
    // Its key policy governs KMS, which the local cloud does not emulate (the topic's encryption).
    "AWS::KMS::Key",
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
