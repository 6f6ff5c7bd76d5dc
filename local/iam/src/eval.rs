//! AWS's evaluation logic for a request within one account: an explicit Deny in any policy that applies
//! wins; otherwise an Allow in an identity policy or in the resource's policy allows; otherwise the
//! request is implicitly denied. Not evaluated: SCPs, RCPs, permission boundaries, session policies,
//! cross-account requests (see the README).

use crate::policy::{Effect, Operator, Patterns, Policy, Principals, SetOperator, Statement};
use crate::wildcard::{arn_matches, glob};
use std::collections::HashMap;

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A role session, as Lambda runs a function (the session is named after the function).
    AssumedRole { partition: String, account: String, role_name: String, session: String },
    /// An IAM user (the local administrator).
    User { arn: String },
    /// An AWS service acting on its own behalf (assuming a role, delivering to a queue).
    Service(String),
}

impl Principal {
    /// The ARN AWS names in errors and in `aws:PrincipalArn`... for a role session, the session ARN.
    pub fn arn(&self) -> String {
        match self {
            Principal::AssumedRole { partition, account, role_name, session } => {
                format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session}")
            }
            Principal::User { arn } => arn.clone(),
            Principal::Service(name) => name.clone(),
        }
    }

    /// `aws:PrincipalArn`: for a role session, the role's ARN (not the session's).
    pub fn principal_arn(&self) -> String {
        match self {
            Principal::AssumedRole { partition, account, role_name, .. } => {
                format!("arn:{partition}:iam::{account}:role/{role_name}")
            }
            other => other.arn(),
        }
    }

    fn account(&self) -> Option<&str> {
        match self {
            Principal::AssumedRole { account, .. } => Some(account),
            Principal::User { arn } => arn.split(':').nth(4),
            Principal::Service(_) => None,
        }
    }
}

/// The request's context keys (case-insensitive names), each with one or more values.
#[derive(Debug, Clone, Default)]
pub struct Context {
    keys: HashMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a single-valued key.
    pub fn with(mut self, key: &str, value: &str) -> Context {
        self.set(key, vec![value.to_string()]);
        self
    }

    /// Sets a multi-valued key (`aws:TagKeys`).
    pub fn with_all(mut self, key: &str, values: &[&str]) -> Context {
        self.set(key, values.iter().map(|v| v.to_string()).collect());
        self
    }

    pub fn set(&mut self, key: &str, values: Vec<String>) {
        self.keys.insert(key.to_ascii_lowercase(), values);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    /// Every key with its values (names lower-cased).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    fn lookup(&self, lowercase_key: &str) -> Option<&[String]> {
        self.keys.get(lowercase_key).map(Vec::as_slice)
    }
}

pub struct Request<'a> {
    pub principal: &'a Principal,
    /// `service:Action`, e.g. `s3:GetObject`.
    pub action: &'a str,
    /// The resource's ARN.
    pub resource: &'a str,
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    ImplicitDeny,
    ExplicitDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Identity,
    Resource,
}

/// The statement that decided: the first Deny that matched, or else the first Allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub kind: PolicyKind,
    pub policy: String,
    pub sid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub matched: Option<Matched>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allowed
    }
}

/// Decides a same-account request: the principal's identity policies plus, when the resource has one,
/// its resource policy.
pub fn decide(identity: &[Policy], resource_policy: Option<&Policy>, request: &Request) -> Decision {
    let mut allow: Option<Matched> = None;
    let sources =
        identity.iter().map(|p| (PolicyKind::Identity, p)).chain(resource_policy.map(|p| (PolicyKind::Resource, p)));
    for (kind, policy) in sources {
        for statement in &policy.statements {
            if !applies(kind, statement, request) {
                continue;
            }
            let matched = || Matched { kind, policy: policy.name.clone(), sid: statement.sid.clone() };
            match statement.effect {
                Effect::Deny => return Decision { verdict: Verdict::ExplicitDeny, matched: Some(matched()) },
                Effect::Allow if allow.is_none() && grants(kind, statement, request.principal) => {
                    allow = Some(matched())
                }
                Effect::Allow => {}
            }
        }
    }
    match allow {
        Some(m) => Decision { verdict: Verdict::Allowed, matched: Some(m) },
        None => Decision { verdict: Verdict::ImplicitDeny, matched: None },
    }
}

/// May `service` (e.g. `bedrock.amazonaws.com`) assume the role whose trust policy this is? The context
/// carries what the service states about itself: `aws:SourceAccount`, `aws:SourceArn`.
pub fn assume_role(trust: &Policy, role_arn: &str, service: &str, context: &Context) -> Decision {
    let principal = Principal::Service(service.to_string());
    let request = Request { principal: &principal, action: "sts:AssumeRole", resource: role_arn, context };
    decide(&[], Some(trust), &request)
}

fn applies(kind: PolicyKind, statement: &Statement, request: &Request) -> bool {
    matches_patterns(&statement.actions, |p| glob(p, request.action, true))
        && statement.resources.as_ref().is_none_or(|r| matches_patterns(r, |p| arn_matches(p, request.resource)))
        && (kind == PolicyKind::Identity
            || statement.principal.as_ref().is_some_and(|p| principal_named(p, request.principal)))
        && statement.conditions.iter().all(|c| condition_holds(c, request))
}

fn matches_patterns(patterns: &Patterns, matches: impl Fn(&str) -> bool) -> bool {
    patterns.patterns.iter().any(|p| matches(p)) != patterns.negated
}

fn principal_named(principals: &Principals, principal: &Principal) -> bool {
    let named = principals.anyone
        || match principal {
            Principal::Service(name) => principals.service.iter().any(|s| s == name),
            other => {
                let (arn, role_arn) = (other.arn(), other.principal_arn());
                let account = other.account().unwrap_or_default();
                principals.aws.iter().any(|p| p == &arn || p == &role_arn || is_account(p, account))
            }
        };
    named != principals.negated
}

/// `123456789012` or `arn:aws:iam::123456789012:root`: the account, meaning whoever the account's own
/// IAM policies allow.
fn is_account(principal: &str, account: &str) -> bool {
    !account.is_empty()
        && (principal == account
            || principal.strip_suffix(":root").and_then(|p| p.rsplit(':').next()).is_some_and(|a| a == account))
}

/// In the same account, a resource policy's Allow grants by itself only to the principals it names;
/// naming the account delegates to the principal's identity policies.
fn grants(kind: PolicyKind, statement: &Statement, principal: &Principal) -> bool {
    if kind == PolicyKind::Identity {
        return true;
    }
    let Some(principals) = &statement.principal else { return false };
    if principals.negated || principals.anyone {
        return true;
    }
    match principal {
        Principal::Service(name) => principals.service.iter().any(|s| s == name),
        other => {
            let (arn, role_arn) = (other.arn(), other.principal_arn());
            principals.aws.iter().any(|p| p == &arn || p == &role_arn)
        }
    }
}

fn condition_holds(condition: &crate::policy::Condition, request: &Request) -> bool {
    let derived;
    let values: Option<&[String]> = match request.context.lookup(&condition.key) {
        Some(v) => Some(v),
        None if condition.key == "aws:principalarn" && !matches!(request.principal, Principal::Service(_)) => {
            derived = [request.principal.principal_arn()];
            Some(&derived)
        }
        None => None,
    };
    let op = condition.operator;
    if op == Operator::Null {
        let present = values.is_some_and(|v| !v.is_empty());
        // "true": the key must be absent; "false": present. Several values: any may hold.
        return condition.values.iter().any(|want_absent| (want_absent == "true") != present);
    }
    let values = match values {
        Some(v) if !v.is_empty() => v,
        _ => {
            return match condition.set {
                SetOperator::ForAllValues => true,
                SetOperator::ForAnyValue => false,
                SetOperator::Single => condition.if_exists || op.negated(),
            };
        }
    };
    // Does one request value match one of the policy's values, by the operator's positive form?
    let matches_one = |value: &str| condition.values.iter().any(|p| compare(op, p, value));
    match (condition.set, op.negated()) {
        (SetOperator::ForAllValues, false) => values.iter().all(|v| matches_one(v)),
        (SetOperator::ForAllValues, true) => values.iter().all(|v| !matches_one(v)),
        (SetOperator::ForAnyValue, false) => values.iter().any(|v| matches_one(v)),
        (SetOperator::ForAnyValue, true) => values.iter().any(|v| !matches_one(v)),
        (SetOperator::Single, false) => values.iter().any(|v| matches_one(v)),
        (SetOperator::Single, true) => !values.iter().any(|v| matches_one(v)),
    }
}

/// The operator's positive comparison of a policy value with a request value.
fn compare(op: Operator, policy: &str, value: &str) -> bool {
    use Operator::*;
    match op {
        StringEquals | StringNotEquals => policy == value,
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => policy.eq_ignore_ascii_case(value),
        StringLike | StringNotLike => glob(policy, value, false),
        ArnEquals | ArnNotEquals | ArnLike | ArnNotLike => arn_matches(policy, value),
        Bool => policy.eq_ignore_ascii_case(value),
        NumericEquals | NumericNotEquals => numbers(policy, value).is_some_and(|(p, v)| v == p),
        NumericLessThan => numbers(policy, value).is_some_and(|(p, v)| v < p),
        NumericLessThanEquals => numbers(policy, value).is_some_and(|(p, v)| v <= p),
        NumericGreaterThan => numbers(policy, value).is_some_and(|(p, v)| v > p),
        NumericGreaterThanEquals => numbers(policy, value).is_some_and(|(p, v)| v >= p),
        Null => false,
    }
}

fn numbers(policy: &str, value: &str) -> Option<(f64, f64)> {
    Some((policy.trim().parse().ok()?, value.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn role() -> Principal {
        Principal::AssumedRole {
            partition: "aws".into(),
            account: "123456789012".into(),
            role_name: "stack-StartJobFunctionRole".into(),
            session: "start-job".into(),
        }
    }

    fn policy(statements: Value) -> Policy {
        Policy::parse("test", json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    fn verdict(policies: &[Policy], action: &str, resource: &str, context: &Context) -> Verdict {
        let principal = role();
        decide(policies, None, &Request { principal: &principal, action, resource, context }).verdict
    }

    /// One condition on an Allow of s3:GetObject on *, against a context.
    fn condition(operator: &str, key: &str, values: Value, context: &Context) -> bool {
        let p = policy(
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {operator: {key: values}}}]),
        );
        verdict(&[p], "s3:GetObject", "arn:aws:s3:::b/k", context) == Verdict::Allowed
    }

    const OBJECT: &str = "arn:aws:s3:::bucket/runs/r1/summary.json";

    #[test]
    fn default_deny_allow_and_explicit_deny() {
        let none = Context::new();
        let allow = policy(
            json!([{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/runs/*"}]),
        );
        let deny = policy(
            json!([{"Sid": "NoSummaries", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*/summary.json"}]),
        );
        assert_eq!(verdict(&[], "s3:GetObject", OBJECT, &none), Verdict::ImplicitDeny);
        assert_eq!(verdict(std::slice::from_ref(&allow), "s3:GetObject", OBJECT, &none), Verdict::Allowed);
        assert_eq!(verdict(std::slice::from_ref(&allow), "s3:PutObject", OBJECT, &none), Verdict::ImplicitDeny);
        assert_eq!(
            verdict(std::slice::from_ref(&allow), "s3:GetObject", "arn:aws:s3:::bucket/incoming/x", &none),
            Verdict::ImplicitDeny
        );
        let principal = role();
        let request = Request { principal: &principal, action: "s3:GetObject", resource: OBJECT, context: &none };
        let d = decide(&[allow.clone(), deny], None, &request);
        assert_eq!(d.verdict, Verdict::ExplicitDeny);
        assert_eq!(d.matched.unwrap().sid.as_deref(), Some("NoSummaries"));
        let d = decide(&[allow], None, &request);
        assert_eq!(
            d.matched.unwrap(),
            Matched { kind: PolicyKind::Identity, policy: "test".into(), sid: Some("Read".into()) }
        );
    }

    #[test]
    fn actions_are_case_insensitive_with_wildcards_and_not_action() {
        let none = Context::new();
        let p = policy(
            json!([{"Effect": "Allow", "Action": ["S3:get*", "bedrock:?etModelCustomizationJob"], "Resource": "*"}]),
        );
        assert_eq!(verdict(std::slice::from_ref(&p), "s3:GetObject", OBJECT, &none), Verdict::Allowed);
        assert_eq!(verdict(std::slice::from_ref(&p), "bedrock:GetModelCustomizationJob", "*", &none), Verdict::Allowed);
        assert_eq!(
            verdict(std::slice::from_ref(&p), "bedrock:StopModelCustomizationJob", "*", &none),
            Verdict::ImplicitDeny
        );
        let not = policy(json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]));
        assert_eq!(verdict(std::slice::from_ref(&not), "s3:GetObject", OBJECT, &none), Verdict::Allowed);
        assert_eq!(verdict(std::slice::from_ref(&not), "iam:PassRole", "*", &none), Verdict::ImplicitDeny);
        let not_resource =
            policy(json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::bucket/incoming/*"}]));
        assert_eq!(verdict(std::slice::from_ref(&not_resource), "s3:PutObject", OBJECT, &none), Verdict::Allowed);
        assert_eq!(
            verdict(&[not_resource], "s3:PutObject", "arn:aws:s3:::bucket/incoming/a", &none),
            Verdict::ImplicitDeny
        );
    }

    #[test]
    fn string_operators() {
        let ctx = Context::new().with("aws:ResourceTag/finetune-run-id", "run-1");
        let key = "aws:ResourceTag/finetune-run-id";
        assert!(condition("StringEquals", key, json!("run-1"), &ctx));
        assert!(!condition("StringEquals", key, json!("RUN-1"), &ctx));
        assert!(condition("StringEqualsIgnoreCase", key, json!("RUN-1"), &ctx));
        assert!(
            condition("StringEquals", "AWS:RESOURCETAG/FINETUNE-RUN-ID", json!(["x", "run-1"]), &ctx),
            "key names are case-insensitive"
        );
        assert!(!condition("StringNotEquals", key, json!("run-1"), &ctx));
        assert!(condition("StringNotEquals", key, json!("run-2"), &ctx));
        assert!(condition("StringNotEqualsIgnoreCase", key, json!("run-2"), &ctx));
        assert!(!condition("StringNotEqualsIgnoreCase", key, json!("RUN-1"), &ctx));
        assert!(condition("StringLike", key, json!("run-?"), &ctx));
        assert!(!condition("StringLike", key, json!("run-??"), &ctx));
        assert!(condition("StringNotLike", key, json!("job-*"), &ctx));
        assert!(!condition("StringNotLike", key, json!("run*"), &ctx));
    }

    #[test]
    fn missing_keys_if_exists_and_null() {
        let none = Context::new();
        let key = "aws:ResourceTag/finetune-run-id";
        assert!(!condition("StringEquals", key, json!("run-1"), &none), "a missing key does not match");
        assert!(condition("StringNotEquals", key, json!("run-1"), &none), "a negated operator holds on a missing key");
        assert!(condition("StringEqualsIfExists", key, json!("run-1"), &none));
        let other = Context::new().with(key, "run-2");
        assert!(
            !condition("StringEqualsIfExists", key, json!("run-1"), &other),
            "IfExists still compares a present key"
        );
        assert!(condition("Null", key, json!("true"), &none));
        assert!(!condition("Null", key, json!("false"), &none));
        assert!(condition("Null", key, json!("false"), &other));
        assert!(!condition("Null", key, json!("true"), &other));
    }

    #[test]
    fn arn_operators() {
        let ctx =
            Context::new().with("aws:SourceArn", "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abc");
        let job = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*";
        assert!(condition("ArnLike", "aws:SourceArn", json!(job), &ctx));
        assert!(condition("ArnEquals", "aws:SourceArn", json!(job), &ctx), "ArnEquals takes wildcards too");
        assert!(!condition(
            "ArnLike",
            "aws:SourceArn",
            json!("arn:aws:bedrock:us-east-1:999999999999:model-customization-job/*"),
            &ctx
        ));
        assert!(condition("ArnNotLike", "aws:SourceArn", json!("arn:aws:bedrock:us-east-1:999999999999:*"), &ctx));
        assert!(!condition("ArnNotEquals", "aws:SourceArn", json!(job), &ctx));
    }

    #[test]
    fn bool_and_numeric_operators() {
        let ctx = Context::new().with("aws:SecureTransport", "false").with("s3:max-keys", "100");
        assert!(condition("Bool", "aws:SecureTransport", json!(false), &ctx));
        assert!(condition("Bool", "aws:SecureTransport", json!("FALSE"), &ctx));
        assert!(!condition("Bool", "aws:SecureTransport", json!("true"), &ctx));
        assert!(condition("NumericEquals", "s3:max-keys", json!(100), &ctx));
        assert!(condition("NumericNotEquals", "s3:max-keys", json!("10"), &ctx));
        assert!(condition("NumericLessThan", "s3:max-keys", json!("101"), &ctx));
        assert!(!condition("NumericLessThan", "s3:max-keys", json!("100"), &ctx));
        assert!(condition("NumericLessThanEquals", "s3:max-keys", json!("100"), &ctx));
        assert!(condition("NumericGreaterThan", "s3:max-keys", json!("99.5"), &ctx));
        assert!(!condition("NumericGreaterThanEquals", "s3:max-keys", json!("101"), &ctx));
        assert!(
            !condition("NumericEquals", "s3:max-keys", json!("many"), &ctx),
            "a value that is no number never matches"
        );
    }

    #[test]
    fn set_operators() {
        let tags = Context::new().with_all("aws:TagKeys", &["finetune-run-id", "team"]);
        let none = Context::new();
        let allowed = json!(["finetune-run-id", "team", "cost-center"]);
        assert!(condition("ForAllValues:StringEquals", "aws:TagKeys", allowed.clone(), &tags));
        assert!(!condition("ForAllValues:StringEquals", "aws:TagKeys", json!(["finetune-run-id"]), &tags));
        assert!(
            condition("ForAllValues:StringEquals", "aws:TagKeys", allowed, &none),
            "ForAllValues holds on no values"
        );
        assert!(condition("ForAnyValue:StringEquals", "aws:TagKeys", json!(["team"]), &tags));
        assert!(
            !condition("ForAnyValue:StringEquals", "aws:TagKeys", json!(["team"]), &none),
            "ForAnyValue needs a value"
        );
        assert!(condition("ForAnyValue:StringNotEquals", "aws:TagKeys", json!(["team"]), &tags));
        assert!(!condition("ForAllValues:StringNotEquals", "aws:TagKeys", json!(["team"]), &tags));
        assert!(condition("ForAllValues:StringNotLike", "aws:TagKeys", json!(["aws:*"]), &tags));
        assert!(condition("ForAnyValue:StringLike", "aws:TagKeys", json!(["finetune-*"]), &tags));
    }

    #[test]
    fn principal_arn_comes_from_the_principal() {
        let none = Context::new();
        assert!(condition(
            "ArnEquals",
            "aws:PrincipalArn",
            json!("arn:aws:iam::123456789012:role/stack-StartJobFunctionRole"),
            &none
        ));
        assert!(!condition("ArnLike", "aws:PrincipalArn", json!("arn:aws:iam::123456789012:role/other*"), &none));
    }

    #[test]
    fn resource_policies_name_principals_and_deny_for_everyone() {
        let bucket_policy = Policy::parse("PipelineBucketPolicy", json!({"Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "RoleReads", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/stack-StartJobFunctionRole"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"},
            {"Sid": "AccountWrites", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/*"}]})).unwrap();
        let principal = role();
        let ask = |action: &str, context: &Context| {
            decide(&[], Some(&bucket_policy), &Request { principal: &principal, action, resource: OBJECT, context })
        };
        let tls = Context::new().with("aws:SecureTransport", "true");
        let plain = Context::new().with("aws:SecureTransport", "false");
        assert_eq!(
            ask("s3:GetObject", &tls).verdict,
            Verdict::Allowed,
            "naming the role grants without an identity policy"
        );
        let denied = ask("s3:GetObject", &plain);
        assert_eq!(denied.verdict, Verdict::ExplicitDeny);
        assert_eq!(denied.matched.unwrap().kind, PolicyKind::Resource);
        assert_eq!(ask("s3:PutObject", &tls).verdict, Verdict::ImplicitDeny, "naming the account delegates to IAM");
    }

    #[test]
    fn trust_policy_for_a_service() {
        let trust = Policy::parse("BedrockServiceRole trust", json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                          "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*"}}}]})).unwrap();
        let role = "arn:aws:iam::123456789012:role/stack-BedrockServiceRole";
        let own = Context::new()
            .with("aws:SourceAccount", "123456789012")
            .with("aws:SourceArn", "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/j1");
        assert!(assume_role(&trust, role, "bedrock.amazonaws.com", &own).allowed());
        assert!(!assume_role(&trust, role, "lambda.amazonaws.com", &own).allowed());
        let foreign = Context::new()
            .with("aws:SourceAccount", "999999999999")
            .with("aws:SourceArn", "arn:aws:bedrock:us-east-1:999999999999:model-customization-job/j1");
        assert_eq!(assume_role(&trust, role, "bedrock.amazonaws.com", &foreign).verdict, Verdict::ImplicitDeny);
    }
}
