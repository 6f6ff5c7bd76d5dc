//! One stack's IAM as the local servers apply it: its policies and callers, resolved once per local
//! cloud (never per call), and the one question every server asks: may this caller make this call?
//! A refusal carries what AWS's answer names (principal, action, resource, why) and renders as each
//! service's denial.
#![allow(
    clippy::result_large_err,
    reason = "a refusal is built once per denied call and carries the whole explanation; boxing buys nothing on this path"
)]

use crate::caller::{CallerError, Identities, Identity};
use crate::denial::{self, Denial};
use crate::eval::{Context, Decision, Principal, Request, Verdict, assume_role, decide};
use crate::operations::{Call, OperationError, authorizations};
use crate::stack::{Role, StackPolicies};

/// The stack's policies and callers, and the names the local cloud gives what the stack names.
#[derive(Debug, Clone)]
pub struct Authorizer {
    stack: StackPolicies,
    identities: Identities,
    /// Local bucket name -> the bucket the stack's policies name (the local cloud keeps one folder
    /// name whatever the stack would call its bucket).
    buckets: Vec<(String, String)>,
}

/// A request IAM refused: what AWS's message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub principal: Principal,
    pub action: String,
    pub resource: String,
    pub decision: Decision,
}

impl Refusal {
    /// AWS's sentence: `User: <principal> is not authorized to perform: <action> on resource: <arn> because ...`.
    pub fn message(&self) -> String {
        denial::message(&self.principal, &self.action, &self.resource, &self.decision)
    }

    pub fn bedrock(&self) -> Denial {
        denial::bedrock_access_denied(&self.principal, &self.action, &self.resource, &self.decision)
    }

    pub fn sfn(&self) -> Denial {
        denial::sfn_access_denied(&self.principal, &self.action, &self.resource, &self.decision)
    }

    pub fn lambda(&self) -> Denial {
        denial::lambda_access_denied(&self.principal, &self.action, &self.resource, &self.decision)
    }

    pub fn sns(&self, request_id: &str) -> Denial {
        denial::sns_authorization_error(&self.principal, &self.action, &self.resource, &self.decision, request_id)
    }

    pub fn s3(&self, request_id: &str, head: bool) -> Denial {
        denial::s3_access_denied(&self.principal, &self.action, &self.resource, &self.decision, request_id, head)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Why a call is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// A role called an operation the table does not know: refused, since nothing says what it needs.
    #[error("{0}")]
    Unmodelled(OperationError),
}

impl Authorizer {
    pub fn new(stack: StackPolicies, identities: Identities) -> Authorizer {
        Authorizer { stack, identities, buckets: Vec::new() }
    }

    /// The local bucket `local` stands for the stack's bucket `deployed`.
    pub fn with_bucket(mut self, local: &str, deployed: &str) -> Authorizer {
        self.buckets.push((local.to_string(), deployed.to_string()));
        self
    }

    pub fn stack(&self) -> &StackPolicies {
        &self.stack
    }

    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// The bucket the stack's policies call the local bucket `local`.
    pub fn deployed_bucket<'a>(&'a self, local: &'a str) -> &'a str {
        self.buckets.iter().find(|(l, _)| l == local).map_or(local, |(_, d)| d.as_str())
    }

    /// Who signed a request (SigV4 header or presigned query).
    pub fn caller(&self, authorization: Option<&str>, query: Option<&str>) -> Result<&Identity, CallerError> {
        self.identities.from_request(authorization, query)
    }

    /// The identity a function, the state machine or a role runs as (by logical id).
    pub fn identity_of(&self, used_by: &str) -> Option<&Identity> {
        self.identities.of(used_by, &self.stack)
    }

    /// Every authorization AWS makes for `call` by `caller`, decided; the first refused is the answer.
    /// The administrator may call what the table does not know; a role may not.
    pub fn authorize(&self, caller: &Identity, call: &Call) -> Result<(), Denied> {
        let renamed: Vec<(&str, &str)> = call
            .parameters
            .iter()
            .map(|&(k, v)| if k == "bucket" || k == "source_bucket" { (k, self.deployed_bucket(v)) } else { (k, v) })
            .collect();
        let call = Call { parameters: &renamed, ..*call };
        let s = &self.stack.settings;
        let checks = match authorizations(&s.partition, &s.region, &s.account, &call) {
            Ok(checks) => checks,
            Err(OperationError::Unknown { .. }) if caller.name == "administrator" => return Ok(()),
            Err(e) => return Err(Denied::Unmodelled(e)),
        };
        for mut check in checks {
            // The local servers stand in for AWS's HTTPS endpoints.
            check.context.set("aws:SecureTransport", vec!["true".into()]);
            let request = Request {
                principal: &caller.principal,
                action: check.action,
                resource: &check.resource,
                context: &check.context,
            };
            let decision = decide(&caller.policies, self.stack.resource_policy(&check.resource), &request);
            if !decision.allowed() {
                return Err(Denied::Refused(Box::new(Refusal {
                    principal: caller.principal.clone(),
                    action: check.action.to_string(),
                    resource: check.resource,
                    decision,
                })));
            }
        }
        Ok(())
    }

    /// Whether `caller` may `s3:ListBucket` the bucket: what decides if a missing key is NoSuchKey or
    /// AccessDenied. The refusal names ListBucket, as AWS's does.
    pub fn may_list_bucket(&self, caller: &Identity, bucket: &str) -> Result<(), Denied> {
        self.authorize(caller, &Call::new("s3", "ListObjectsV2", &[("bucket", bucket)]))
    }

    /// A service (`s3.amazonaws.com`, `events.amazonaws.com`) acting on a resource through the
    /// resource's own policy alone, as S3 invokes a function for a bucket notification.
    pub fn authorize_service(
        &self,
        service: &str,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<(), Box<Refusal>> {
        let principal = Principal::Service(service.to_string());
        let mut context = context.clone();
        context.set("aws:SecureTransport", vec!["true".into()]);
        let request = Request { principal: &principal, action, resource, context: &context };
        let decision = decide(&[], self.stack.resource_policy(resource), &request);
        if decision.allowed() {
            Ok(())
        } else {
            Err(Box::new(Refusal { principal, action: action.into(), resource: resource.into(), decision }))
        }
    }

    /// `service` assumes the stack's role `role_arn` (its trust policy decides, with what the service
    /// states about itself in `context`) and gets that role's identity. A role the stack does not create
    /// cannot be assumed locally.
    pub fn assume(&self, service: &str, role_arn: &str, context: &Context) -> Result<&Identity, Box<Refusal>> {
        let refused = |decision| {
            Box::new(Refusal {
                principal: Principal::Service(service.to_string()),
                action: "sts:AssumeRole".into(),
                resource: role_arn.into(),
                decision,
            })
        };
        let role: &Role = self
            .stack
            .roles
            .iter()
            .find(|r| r.arn == role_arn)
            .ok_or_else(|| refused(Decision { verdict: Verdict::ImplicitDeny, matched: None }))?;
        let decision = assume_role(&role.trust, role_arn, service, context);
        if !decision.allowed() {
            return Err(refused(decision));
        }
        self.identities
            .iter()
            .find(|i| i.name == role.logical_id)
            .ok_or_else(|| refused(Decision { verdict: Verdict::ImplicitDeny, matched: None }))
    }
}

impl<'a> Call<'a> {
    /// A call without tags.
    pub fn new(service: &'a str, operation: &'a str, parameters: &'a [(&'a str, &'a str)]) -> Call<'a> {
        Call { service, operation, parameters, request_tags: &[], resource_tags: &[] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{StackSettings, resolve_template};

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    fn authorizer() -> Authorizer {
        let stack =
            resolve_template("template.yaml", TEMPLATE, &StackSettings::new("123456789012", "us-east-1", "finetune"))
                .unwrap();
        let identities = Identities::new(&stack, "AKIAADMIN", "secret");
        Authorizer::new(stack, identities).with_bucket("local", "finetune-123456789012-us-east-1")
    }

    #[test]
    fn a_role_is_held_to_its_statements_on_the_deployed_bucket() {
        let a = authorizer();
        let validate = a.identity_of("ValidateSplitFunction").unwrap();
        assert_eq!(
            a.authorize(validate, &Call::new("s3", "PutObject", &[("bucket", "local"), ("key", "runs/r/train.jsonl")])),
            Ok(())
        );
        let Err(Denied::Refused(r)) =
            a.authorize(validate, &Call::new("s3", "PutObject", &[("bucket", "local"), ("key", "incoming/x.jsonl")]))
        else {
            panic!("a write under incoming/ is refused")
        };
        assert_eq!(r.resource, "arn:aws:s3:::finetune-123456789012-us-east-1/incoming/x.jsonl");
        assert!(
            r.message().starts_with("User: arn:aws:sts::123456789012:assumed-role/finetune-ValidateSplitFunctionRole/"),
            "{}",
            r.message()
        );
        assert!(r.message().ends_with("because no identity-based policy allows the s3:PutObject action"));
    }

    #[test]
    fn unknown_operations_are_refused_to_roles_and_granted_to_the_administrator() {
        let a = authorizer();
        let admin = a.identities().by_access_key("AKIAADMIN").unwrap();
        let call = Call::new("s3", "PutBucketPolicy", &[("bucket", "local")]);
        assert_eq!(a.authorize(admin, &call), Ok(()));
        let role = a.identity_of("TeardownFunction").unwrap();
        assert!(matches!(a.authorize(role, &call), Err(Denied::Unmodelled(_))));
    }

    #[test]
    fn bedrock_assumes_the_service_role_only_for_this_account_s_jobs() {
        let a = authorizer();
        let role = a.stack().roles.iter().find(|r| r.logical_id == "BedrockServiceRole").unwrap().arn.clone();
        let job = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x";
        let context = Context::new().with("aws:SourceAccount", "123456789012").with("aws:SourceArn", job);
        let identity = a.assume("bedrock.amazonaws.com", &role, &context).unwrap();
        assert_eq!(identity.name, "BedrockServiceRole");
        let foreign = Context::new().with("aws:SourceAccount", "999999999999").with("aws:SourceArn", job);
        assert_eq!(a.assume("bedrock.amazonaws.com", &role, &foreign).unwrap_err().action, "sts:AssumeRole");
        assert!(a.assume("lambda.amazonaws.com", &role, &context).is_err());
    }

    #[test]
    fn s3_may_invoke_validate_split_for_this_account_only() {
        let a = authorizer();
        let function = a
            .stack()
            .resource_policies
            .iter()
            .find(|p| p.resource_arn.ends_with(":function:finetune-ValidateSplitFunction"))
            .unwrap()
            .resource_arn
            .clone();
        let ours = Context::new().with("aws:SourceAccount", "123456789012");
        assert_eq!(a.authorize_service("s3.amazonaws.com", "lambda:InvokeFunction", &function, &ours), Ok(()));
        let theirs = Context::new().with("aws:SourceAccount", "999999999999");
        assert!(a.authorize_service("s3.amazonaws.com", "lambda:InvokeFunction", &function, &theirs).is_err());
    }
}
