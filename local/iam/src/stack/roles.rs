//! The roles and resource policies each resource of the template gives rise to: functions, state
//! machines, explicit IAM roles, SAM policy templates, event sources and Lambda permissions.

use super::*;

impl<'a> Resolver<'a> {
    pub(super) fn stack(&self) -> Result<StackPolicies> {
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
                    self.function_events(id, &mut roles, &mut uses, &mut resource_policies)?;
                }
                "AWS::Serverless::StateMachine" => {
                    match self.property(id, "Role") {
                        Some(role) => {
                            uses.push((id.clone(), self.role_reference(role, &format!("{base}.Properties.Role"))?))
                        }
                        None => roles.push(self.state_machine_role(id)?),
                    }
                    self.state_machine_events(id, &mut roles, &mut uses)?;
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
    pub(super) fn role_reference(&self, value: &Value, path: &str) -> Result<String> {
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

    pub(super) fn queue_arn_of_url(&self, url: &str, path: &str) -> Result<String> {
        let name = url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| self.err(path, format!("{url} is not a queue URL")))?;
        Ok(self.arn("sqs", true, name))
    }

    /// A policy document at `path` (a property of a resource), resolved and parsed.
    pub(super) fn policy_document(&self, path: &str, name: &str) -> Result<Policy> {
        let value = lookup(&self.template.root, path).ok_or_else(|| self.err(path, "is missing"))?;
        let document = self.resolve(value, path)?.ok_or_else(|| self.err(path, "resolves to AWS::NoValue"))?;
        self.parse_policy(name, document, path)
    }

    pub(super) fn parse_policy(&self, name: &str, document: Value, path: &str) -> Result<Policy> {
        Policy::parse(name, document).map_err(|e| {
            let at = if e.path.is_empty() { path.to_string() } else { format!("{path}.{}", e.path) };
            self.err(&at, e.message)
        })
    }

    pub(super) fn managed(&self, name_or_arn: &str, path: &str) -> Result<Policy> {
        let name = sam::managed_policy_name(name_or_arn);
        let document = sam::managed_policy(name).ok_or_else(|| {
            self.err(path, format!("managed policy {name_or_arn}: its document is not known locally (known: AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess, AWSXRayDaemonWriteAccess)"))
        })?;
        self.parse_policy(name, document, path)
    }

    /// A SAM `Policies` property: statements, policy templates and managed policy names, in order;
    /// inline ones are named `<Role>Policy<index>` as SAM names them.
    pub(super) fn sam_policies(&self, owner: &str, role_id: &str) -> Result<(Vec<Policy>, Vec<Policy>)> {
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
    pub(super) fn sub_template(&self, resource: &Value, variables: &Map<String, Value>, path: &str) -> Result<Value> {
        let one = |text: &str| self.sub(&json!([text, variables]), path).map(Value::String);
        match resource {
            Value::String(text) => one(text),
            Value::Array(list) => {
                list.iter().map(|v| one(v.as_str().unwrap_or_default())).collect::<Result<Vec<_>>>().map(Value::Array)
            }
            _ => Err(self.err(path, "a policy template's Resource must be a string or a list")),
        }
    }

    pub(super) fn generated_role(
        &self,
        owner: &str,
        service: &str,
        session_name: String,
        policies: Vec<Policy>,
    ) -> Result<Role> {
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
    pub(super) fn function_role(&self, id: &str) -> Result<Role> {
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

    pub(super) fn state_machine_role(&self, id: &str) -> Result<Role> {
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

    pub(super) fn iam_role(&self, id: &str) -> Result<Role> {
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
    pub(super) fn function_events(
        &self,
        id: &str,
        roles: &mut Vec<Role>,
        uses: &mut Vec<(String, String)>,
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
                "ScheduleV2" => match self.schedule_role_arn(definition, &path)? {
                    Some(role) => uses.push((logical, role)),
                    None => roles.push(self.schedule_role(
                        &logical,
                        "lambda:InvokeFunction",
                        &function_arn,
                        definition,
                        &path,
                    )?),
                },
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

    pub(super) fn state_machine_events(
        &self,
        id: &str,
        roles: &mut Vec<Role>,
        uses: &mut Vec<(String, String)>,
    ) -> Result<()> {
        let machine_arn = self.get_att(id, "Arn", &format!("Resources.{id}"))?.as_str().unwrap_or_default().to_string();
        for (event, definition) in self.property(id, "Events").and_then(Value::as_object).into_iter().flatten() {
            let path = format!("Resources.{id}.Properties.Events.{event}");
            let kind = definition.get("Type").and_then(Value::as_str).unwrap_or_default();
            let logical = format!("{id}{event}");
            match kind {
                "ScheduleV2" => match self.schedule_role_arn(definition, &path)? {
                    Some(role) => uses.push((logical, role)),
                    None => roles.push(self.schedule_role(
                        &logical,
                        "states:StartExecution",
                        &machine_arn,
                        definition,
                        &path,
                    )?),
                },
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

    /// A schedule's own role (`RoleArn: !GetAtt Role.Arn` of this template), which SAM then does not
    /// generate: the schedule acts as that role, trust policy and all.
    fn schedule_role_arn(&self, definition: &Value, path: &str) -> Result<Option<String>> {
        definition
            .get("Properties")
            .and_then(|p| p.get("RoleArn"))
            .map(|role| self.role_reference(role, &format!("{path}.Properties.RoleArn")))
            .transpose()
    }

    /// The role SAM generates for an EventBridge Scheduler schedule: `<Resource><Event>Role`, trusted by
    /// scheduler.amazonaws.com, allowed to start or invoke its target (and to send to its dead-letter queue).
    pub(super) fn schedule_role(
        &self,
        logical: &str,
        action: &str,
        target: &str,
        definition: &Value,
        path: &str,
    ) -> Result<Role> {
        let properties = definition.get("Properties");
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

    pub(super) fn event_role(&self, logical: &str, service: &str, policies: Vec<Policy>, path: &str) -> Result<Role> {
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
    pub(super) fn generated_name(&self, logical_id: &str) -> String {
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
pub(super) fn add_permission(
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
