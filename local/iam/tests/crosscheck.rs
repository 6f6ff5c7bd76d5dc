//! The cross-check with an IAM evaluator nobody here wrote: every case below is decided by our
//! `decide` and by `@cloud-copilot/iam-simulate` (npm, pinned in .ci/iam-crosscheck/package-lock.json),
//! and the verdicts must be the same. The cases are (1) one request per Allow statement of every
//! policy template.yaml resolves to, built to match that statement, so that every statement of the
//! template is evaluated by both; (2) each function's real calls, through the operations table, and its
//! neighbours' calls; (3) a table of edge cases: tag conditions matching and not, PassRole to the wrong
//! service, a foreign account in SourceArn, NotAction, explicit denies, wildcards.
//!
//! Needs Node and the package: `.ci/iam-crosscheck.sh` installs it into .ci/iam-crosscheck/ and runs
//! this with IAM_CROSSCHECK_REQUIRED=1; without them the test says so and passes, unless required.

use local_iam::policy::{Effect, Operator, Statement};
use local_iam::{
    Call, Context, Identities, Policy, Principal, Request, StackPolicies, StackSettings, Verdict, authorizations,
    decide, resolve_template,
};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const TEMPLATE: &str = include_str!("../../../template.yaml");
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const BUCKET: &str = "finetune-123456789012-us-east-1";

/// (caller, service, operation, parameters, expected)
type PipelineCall<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, String)>, Verdict);
/// (name, identity policies, resource policy, principal, action, resource, context, expected)
type EdgeRow<'a> = (&'a str, Vec<Policy>, Option<Policy>, Principal, &'a str, String, Context, Verdict);

struct Case {
    name: String,
    identity: Vec<Policy>,
    resource_policy: Option<Policy>,
    principal: Principal,
    action: String,
    resource: String,
    context: Context,
    /// What the case is written to show; None for the generated per-statement cases (they must match).
    expect: Option<Verdict>,
}

fn simulator_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IAM_CROSSCHECK_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/iam-crosscheck"), PathBuf::from);
    if dir.join("node_modules/@cloud-copilot/iam-simulate/package.json").is_file() {
        return Some(dir);
    }
    let why = format!(
        "IAM cross-check skipped: @cloud-copilot/iam-simulate is not installed in {}; run .ci/iam-crosscheck.sh",
        dir.display()
    );
    if std::env::var("IAM_CROSSCHECK_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{why}, and IAM_CROSSCHECK_REQUIRED=1");
    }
    let _ = writeln!(std::io::stderr(), "{why}");
    None
}

fn stack() -> StackPolicies {
    resolve_template("template.yaml", TEMPLATE, &StackSettings::new(ACCOUNT, REGION, "finetune")).unwrap()
}

fn role_principal(role_name: &str, session: &str) -> Principal {
    Principal::AssumedRole {
        partition: "aws".into(),
        account: ACCOUNT.into(),
        role_name: role_name.into(),
        session: session.into(),
    }
}

/// A wildcard pattern made concrete: what a request matching it could name.
fn instance(pattern: &str) -> String {
    pattern.replace('*', "x1").replace('?', "q")
}

/// (1) One request per Allow statement of every role policy: its first action and first resource
/// made concrete, with a context that satisfies its conditions.
fn statement_cases(stack: &StackPolicies, identities: &Identities) -> Vec<Case> {
    let mut cases = Vec::new();
    for role in &stack.roles {
        let Some(identity) = identities.iter().find(|i| i.name == role.logical_id) else { continue };
        for policy in &role.policies {
            for (i, statement) in policy.statements.iter().enumerate() {
                if statement.effect != Effect::Allow || statement.actions.negated {
                    continue;
                }
                let resources = statement.resources.as_ref().expect("identity statements have resources");
                for action in &statement.actions.patterns {
                    for resource in resources.patterns.iter().flat_map(|p| candidates(p, action)) {
                        let mut context = satisfying(statement);
                        context.set("aws:SecureTransport", vec!["true".into()]);
                        cases.push(Case {
                            name: format!("{} {} statement {i}: {action} on {resource}", role.logical_id, policy.name),
                            identity: role.policies.clone(),
                            resource_policy: stack.resource_policy(&resource).cloned(),
                            principal: identity.principal.clone(),
                            action: instance(action),
                            resource,
                            context,
                            expect: None,
                        });
                    }
                }
            }
        }
    }
    cases
}

/// Concrete resources a pattern stands for; for `*`, also ARNs of the types the action's service
/// takes (the simulator rejects `*` for an action that takes a resource type).
fn candidates(pattern: &str, action: &str) -> Vec<String> {
    if pattern != "*" {
        return vec![instance(pattern)];
    }
    let mut out = vec!["*".to_string()];
    if action.starts_with("logs:") {
        let group = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/finetune-x");
        out.push(format!("{group}:log-stream:2026/01/01/abc"));
        out.push(group);
    }
    out
}

fn satisfying(statement: &Statement) -> Context {
    let mut context = Context::new();
    for c in &statement.conditions {
        if !c.operator.negated() && c.operator != Operator::Null {
            context.set(&c.key, vec![instance(&c.values[0])]);
        }
    }
    context
}

/// (2) The pipeline's calls, each function's own and its neighbours'.
fn pipeline_cases(stack: &StackPolicies, identities: &Identities) -> Vec<Case> {
    let job = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-micro-v1:0:128k/abc123");
    let custom = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/m1");
    let pt = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/pt123");
    let deployment = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/d123");
    let service_role = format!("arn:aws:iam::{ACCOUNT}:role/finetune-BedrockServiceRole");
    let machine = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:finetune-pipeline");
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:finetune-NotificationTopic");
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:finetune-FailedEventsQueue");
    let function = |name: &str| format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:finetune-{name}");
    let create_job = vec![
        ("model", "amazon.nova-micro-v1:0:128k".to_string()),
        ("custom_model_name", "run-1".into()),
        ("role_arn", service_role),
    ];
    let a = Verdict::Allowed;
    let d = Verdict::ImplicitDeny;
    #[rustfmt::skip]
    let calls: Vec<PipelineCall> = vec![
        ("ValidateSplitFunction", "s3", "GetObject", vec![("bucket", BUCKET.into()), ("key", "incoming/tickets.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "GetObject", vec![("bucket", BUCKET.into()), ("key", "runs/r1/split/train.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "PutObject", vec![("bucket", BUCKET.into()), ("key", "runs/r1/split/train.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "PutObject", vec![("bucket", BUCKET.into()), ("key", "incoming/again.jsonl".into())], d),
        // The split's multipart uploads: PutObject covers create, parts and completion; the abort is its own action.
        ("ValidateSplitFunction", "s3", "CreateMultipartUpload", vec![("bucket", BUCKET.into()), ("key", "runs/r1/train.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "UploadPart", vec![("bucket", BUCKET.into()), ("key", "runs/r1/train.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "CompleteMultipartUpload", vec![("bucket", BUCKET.into()), ("key", "runs/r1/train.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "AbortMultipartUpload", vec![("bucket", BUCKET.into()), ("key", "runs/r1/train.jsonl".into())], a),
        ("ValidateSplitFunction", "s3", "AbortMultipartUpload", vec![("bucket", BUCKET.into()), ("key", "incoming/tickets.jsonl".into())], d),
        ("ValidateSplitFunction", "s3", "CreateMultipartUpload", vec![("bucket", BUCKET.into()), ("key", "incoming/again.jsonl".into())], d),
        ("ValidateSplitFunction", "s3", "ListMultipartUploads", vec![("bucket", BUCKET.into())], d),
        ("ValidateSplitFunction", "s3", "ListObjectsV2", vec![("bucket", BUCKET.into()), ("prefix", "incoming/retraining/".into())], a),
        // Unconditioned: what makes a missing sidecar NoSuchKey rather than AccessDenied.
        ("ValidateSplitFunction", "s3", "ListObjectsV2", vec![("bucket", BUCKET.into()), ("prefix", "runs/".into())], a),
        ("ValidateSplitFunction", "s3", "ListObjectsV2", vec![("bucket", BUCKET.into())], a),
        ("ValidateSplitFunction", "s3", "ListObjectsV2", vec![("bucket", "another-bucket".into())], d),
        ("ValidateSplitFunction", "sfn", "StartExecution", vec![("state_machine_arn", machine.clone())], a),
        ("ValidateSplitFunction", "sqs", "SendMessage", vec![("queue_arn", queue.clone())], a),
        ("ValidateSplitFunction", "bedrock", "CreateModelCustomizationJob", create_job.clone(), d),
        ("StartJobFunction", "bedrock", "CreateModelCustomizationJob", create_job.clone(), a),
        ("StartJobFunction", "bedrock", "GetModelCustomizationJob", vec![("job_arn", job.clone())], a),
        ("StartJobFunction", "bedrock", "StopModelCustomizationJob", vec![("job_arn", job.clone())], d),
        ("StartJobFunction", "bedrock", "CreateModelCustomizationJob",
            vec![("model", "amazon.nova-micro-v1:0:128k".into()), ("custom_model_name", "run-1".into()), ("role_arn", format!("arn:aws:iam::{ACCOUNT}:role/Admin"))], d),
        ("StartJobFunction", "s3", "GetObject", vec![("bucket", BUCKET.into()), ("key", "incoming/tickets.jsonl".into())], d),
        ("CheckStatusFunction", "bedrock", "GetModelCustomizationJob", vec![("job_arn", job.clone())], a),
        ("CheckStatusFunction", "bedrock", "GetProvisionedModelThroughput", vec![("provisioned_model_arn", pt.clone())], a),
        ("CheckStatusFunction", "bedrock", "GetCustomModelDeployment", vec![("deployment_arn", deployment.clone())], a),
        ("CheckStatusFunction", "bedrock", "DeleteCustomModelDeployment", vec![("deployment_arn", deployment.clone())], d),
        ("ProvisionFunction", "bedrock", "CreateProvisionedModelThroughput", vec![("model", custom.clone())], a),
        ("ProvisionFunction", "bedrock", "CreateCustomModelDeployment", vec![("model", custom.clone())], a),
        ("ProvisionFunction", "bedrock", "GetProvisionedModelThroughput", vec![("provisioned_model_arn", pt.clone())], a),
        ("ProvisionFunction", "bedrock", "DeleteProvisionedModelThroughput", vec![("provisioned_model_arn", pt.clone())], d),
        ("ProvisionFunction", "bedrock", "CreateProvisionedModelThroughput", vec![("model", "amazon.nova-micro-v1:0:128k".into())], d),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", "amazon.nova-micro-v1:0".into())], a),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", pt.clone())], a),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", deployment.clone())], a),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", "us.meta.llama3-2-1b-instruct-v1:0".into())], a),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/eu.amazon.nova-micro-v1:0"))], a),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/x"))], d),
        ("EvaluateFunction", "s3", "ListObjectsV2", vec![("bucket", BUCKET.into())], d),
        ("EvaluateFunction", "bedrock-runtime", "ConverseStream", vec![("model", "amazon.nova-micro-v1:0".into())], d),
        ("EvaluateFunction", "s3", "GetObject", vec![("bucket", BUCKET.into()), ("key", "runs/r1/split/validation.jsonl".into())], a),
        ("EvaluateFunction", "s3", "GetObject", vec![("bucket", BUCKET.into()), ("key", "incoming/tickets.jsonl".into())], d),
        ("EvaluateFunction", "sns", "Publish", vec![("topic_arn", topic.clone())], d),
        ("TeardownFunction", "bedrock", "StopModelCustomizationJob", vec![("job_arn", job)], a),
        ("TeardownFunction", "bedrock", "DeleteProvisionedModelThroughput", vec![("provisioned_model_arn", pt)], a),
        ("TeardownFunction", "bedrock", "DeleteCustomModelDeployment", vec![("deployment_arn", deployment)], a),
        ("TeardownFunction", "bedrock", "DeleteCustomModel", vec![("model", custom)], d),
        ("TeardownFunction", "s3", "PutObject", vec![("bucket", BUCKET.into()), ("key", "runs/r1/summary.json".into())], a),
        ("TeardownFunction", "s3", "ListObjectsV2", vec![("bucket", BUCKET.into()), ("prefix", "runs/r1/".into())], a),
        ("TeardownFunction", "s3", "GetObject", vec![("bucket", BUCKET.into()), ("key", "incoming/tickets.jsonl".into())], d),
        ("TeardownFunction", "sns", "Publish", vec![("topic_arn", topic)], a),
        ("TeardownFunction", "sns", "Publish", vec![("topic_arn", format!("arn:aws:sns:{REGION}:{ACCOUNT}:someone-elses-topic"))], d),
        ("TeardownFunction", "sqs", "SendMessage", vec![("queue_arn", queue)], a),
        ("TeardownFunction", "lambda", "Invoke", vec![("function_arn", function("EvaluateFunction"))], d),
        // report.html's timeline: the history of this stack's executions only.
        ("TeardownFunction", "sfn", "GetExecutionHistory", vec![("execution_arn", format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:finetune-pipeline:r1"))], a),
        ("TeardownFunction", "sfn", "GetExecutionHistory", vec![("execution_arn", format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:finetune-pipeline-other:r1"))], d),
        ("TeardownFunction", "sfn", "DescribeExecution", vec![("execution_arn", format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:finetune-pipeline:r1"))], d),
        ("PipelineStateMachine", "lambda", "Invoke", vec![("function_arn", function("ValidateSplitFunction"))], a),
        ("PipelineStateMachine", "lambda", "Invoke", vec![("function_arn", function("TeardownFunction"))], a),
        ("PipelineStateMachine", "lambda", "Invoke", vec![("function_arn", format!("{}:live", function("EvaluateFunction")))], a),
        ("PipelineStateMachine", "lambda", "Invoke", vec![("function_arn", format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:other-stack-fn"))], d),
        ("PipelineStateMachine", "bedrock", "CreateModelCustomizationJob", create_job.clone(), d),
        ("PipelineStateMachineRetraining", "sfn", "StartExecution", vec![("state_machine_arn", machine.clone())], a),
        ("PipelineStateMachineRetraining", "sfn", "StartExecution", vec![("state_machine_arn", format!("{machine}-other"))], d),
    ];
    let mut cases = Vec::new();
    for (who, service, operation, parameters, expect) in calls {
        let identity = identities.of(who, stack).unwrap_or_else(|| panic!("no identity for {who}"));
        let parameters: Vec<(&str, &str)> = parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // Every create carries the run tag and every stop or delete targets a run-tagged resource, as the
        // pipeline's own calls do (the tag conditions are checked with and without it in template.rs).
        let run_tag = [("finetune-run-id", "r1")];
        let call =
            Call { service, operation, parameters: &parameters, request_tags: &run_tag, resource_tags: &run_tag };
        let checks = authorizations("aws", REGION, ACCOUNT, &call).unwrap();
        // An operation is allowed when every check is; the denied one is the case that shows it.
        let mut any_denied = false;
        for (i, check) in checks.iter().enumerate() {
            let mut context = check.context.clone();
            context.set("aws:SecureTransport", vec!["true".into()]);
            let principal = identity.principal.clone();
            let ours = decide(
                &identity.policies,
                stack.resource_policy(&check.resource),
                &Request { principal: &principal, action: check.action, resource: &check.resource, context: &context },
            );
            any_denied |= !ours.allowed();
            cases.push(Case {
                name: format!("{who} {service} {operation} {parameters:?} check {i}"),
                identity: identity.policies.clone(),
                resource_policy: stack.resource_policy(&check.resource).cloned(),
                principal,
                action: check.action.to_string(),
                resource: check.resource.clone(),
                context,
                expect: if expect == Verdict::Allowed { Some(Verdict::Allowed) } else { None },
            });
        }
        assert_eq!(any_denied, expect != Verdict::Allowed, "{who} {service} {operation} {parameters:?}");
    }
    cases
}

fn policy(name: &str, statements: Value) -> Policy {
    Policy::parse(name, json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
}

/// (3) Edge cases the template does not (yet) exercise.
fn edge_cases() -> Vec<Case> {
    let teardown = role_principal("finetune-TeardownFunctionRole", "finetune-TeardownFunction");
    let start_job = role_principal("finetune-StartJobFunctionRole", "finetune-StartJobFunction");
    let pt = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/pt1");
    let custom = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/run-1");
    let object = format!("arn:aws:s3:::{BUCKET}/runs/r1/summary.json");
    let service_role = format!("arn:aws:iam::{ACCOUNT}:role/finetune-BedrockServiceRole");
    let own_tag = policy(
        "OwnTagged",
        json!([{"Sid": "DeleteOwn", "Effect": "Allow", "Action": "bedrock:DeleteProvisionedModelThroughput",
        "Resource": format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/*"),
        "Condition": {"StringEquals": {"aws:ResourceTag/finetune:stack": "finetune"}}}]),
    );
    let tag_like = policy(
        "TagLike",
        json!([{"Effect": "Allow", "Action": "bedrock:DeleteProvisionedModelThroughput", "Resource": "*",
        "Condition": {"StringLike": {"aws:ResourceTag/finetune-run-id": "run-*"}}}]),
    );
    let create_tagged = policy(
        "CreateTagged",
        json!([{"Sid": "CreateWithRunTag", "Effect": "Allow", "Action": "bedrock:CreateProvisionedModelThroughput",
        "Resource": format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/*"),
        "Condition": {"Null": {"aws:RequestTag/finetune-run-id": "false"},
                      "ForAllValues:StringEquals": {"aws:TagKeys": ["finetune-run-id", "finetune:stack"]}}}]),
    );
    let any_tag = policy(
        "AnyTag",
        json!([{"Effect": "Allow", "Action": "bedrock:TagResource", "Resource": "*",
        "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["finetune-*"]}}}]),
    );
    let pass_role = policy(
        "PassRole",
        json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": service_role,
        "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}}]),
    );
    let not_action = policy("NotIam", json!([{"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}]));
    let deny_unless_tagged = policy(
        "DenyUntagged",
        json!([
        {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
        {"Sid": "NeverForeign", "Effect": "Deny", "Action": "bedrock:Delete*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:ResourceTag/finetune:stack": "finetune"}}}]),
    );
    let deny_if_exists = policy(
        "DenyIfExists",
        json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "OnlyTls", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}]),
    );
    let wildcards = policy(
        "Wildcards",
        json!([{"Effect": "Allow", "Action": ["s3:Get*Tagging", "s3:?utObject"],
        "Resource": [format!("arn:aws:s3:::{BUCKET}/runs/*/summary.json"), format!("arn:aws:s3:::{BUCKET}/runs/r?/report.html")]}]),
    );
    let not_resource = policy(
        "NotIncoming",
        json!([{"Effect": "Allow", "Action": "s3:PutObject", "NotResource": format!("arn:aws:s3:::{BUCKET}/incoming/*")}]),
    );
    let numeric = policy(
        "Numeric",
        json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{BUCKET}"),
        "Condition": {"NumericLessThanEquals": {"s3:max-keys": "100"}, "StringLike": {"s3:prefix": ["runs/*", "incoming/*"]}}}]),
    );
    let principal_arn = policy(
        "PrincipalArn",
        json!([{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
        "Condition": {"ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{ACCOUNT}:role/finetune-Teardown*")}}}]),
    );
    let bucket_policy = policy(
        "PipelineBucketPolicy",
        json!([
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{BUCKET}"), format!("arn:aws:s3:::{BUCKET}/*")], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "TeardownReadsSummaries", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/finetune-TeardownFunctionRole")},
         "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{BUCKET}/runs/*")}]),
    );
    let trust = policy(
        "BedrockServiceRole trust",
        json!([{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/*")}}}]),
    );

    let tags = |pairs: &[(&str, &str)], prefix: &str| {
        let mut c = Context::new();
        for (k, v) in pairs {
            c.set(&format!("{prefix}{k}"), vec![v.to_string()]);
        }
        c
    };
    let request_tags = |pairs: &[(&str, &str)]| {
        let mut c = tags(pairs, "aws:RequestTag/");
        c.set("aws:TagKeys", pairs.iter().map(|(k, _)| k.to_string()).collect());
        c
    };
    let tls = Context::new().with("aws:SecureTransport", "true");
    let plain = Context::new().with("aws:SecureTransport", "false");
    let job_source = |account: &str| {
        Context::new()
            .with("aws:SourceAccount", account)
            .with("aws:SourceArn", &format!("arn:aws:bedrock:{REGION}:{account}:model-customization-job/j1"))
    };
    let (a, i, x) = (Verdict::Allowed, Verdict::ImplicitDeny, Verdict::ExplicitDeny);
    let list = |prefix: &str, max: &str| Context::new().with("s3:prefix", prefix).with("s3:max-keys", max);
    let bedrock = Principal::Service("bedrock.amazonaws.com".into());
    let lambda = Principal::Service("lambda.amazonaws.com".into());

    #[rustfmt::skip]
    let rows: Vec<EdgeRow> = vec![
        ("resource tag matches", vec![own_tag.clone()], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune:stack", "finetune")], "aws:ResourceTag/"), a),
        ("resource tag differs", vec![own_tag.clone()], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune:stack", "other")], "aws:ResourceTag/"), i),
        ("resource tag missing", vec![own_tag.clone()], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), Context::new(), i),
        ("resource tag value case differs", vec![own_tag], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune:stack", "FineTune")], "aws:ResourceTag/"), i),
        ("resource tag like", vec![tag_like.clone()], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune-run-id", "run-42")], "aws:ResourceTag/"), a),
        ("resource tag not like", vec![tag_like], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune-run-id", "job-42")], "aws:ResourceTag/"), i),
        ("request tags within the allowed keys", vec![create_tagged.clone()], None, start_job.clone(), "bedrock:CreateProvisionedModelThroughput", custom.clone(), request_tags(&[("finetune-run-id", "r1")]), a),
        ("request tag key outside the allowed keys", vec![create_tagged.clone()], None, start_job.clone(), "bedrock:CreateProvisionedModelThroughput", custom.clone(), request_tags(&[("finetune-run-id", "r1"), ("owner", "me")]), i),
        ("request without the run tag", vec![create_tagged.clone()], None, start_job.clone(), "bedrock:CreateProvisionedModelThroughput", custom.clone(), request_tags(&[("finetune:stack", "finetune")]), i),
        ("request without tags", vec![create_tagged], None, start_job.clone(), "bedrock:CreateProvisionedModelThroughput", custom.clone(), Context::new(), i),
        ("any tag key like", vec![any_tag.clone()], None, start_job.clone(), "bedrock:TagResource", pt.clone(), request_tags(&[("owner", "me"), ("finetune-run-id", "r")]), a),
        ("no tag key like", vec![any_tag.clone()], None, start_job.clone(), "bedrock:TagResource", pt.clone(), request_tags(&[("owner", "me")]), i),
        ("ForAnyValue without keys", vec![any_tag], None, start_job.clone(), "bedrock:TagResource", pt.clone(), Context::new(), i),
        ("PassRole to bedrock", vec![pass_role.clone()], None, start_job.clone(), "iam:PassRole", service_role.clone(), Context::new().with("iam:PassedToService", "bedrock.amazonaws.com"), a),
        ("PassRole to the wrong service", vec![pass_role.clone()], None, start_job.clone(), "iam:PassRole", service_role.clone(), Context::new().with("iam:PassedToService", "lambda.amazonaws.com"), i),
        ("PassRole without a service", vec![pass_role.clone()], None, start_job.clone(), "iam:PassRole", service_role.clone(), Context::new(), i),
        ("PassRole of another role", vec![pass_role], None, start_job.clone(), "iam:PassRole", format!("arn:aws:iam::{ACCOUNT}:role/Admin"), Context::new().with("iam:PassedToService", "bedrock.amazonaws.com"), i),
        ("trust: this account's job", vec![], Some(trust.clone()), bedrock.clone(), "sts:AssumeRole", service_role.clone(), job_source(ACCOUNT), a),
        ("trust: a foreign account in SourceArn", vec![], Some(trust.clone()), bedrock.clone(), "sts:AssumeRole", service_role.clone(),
            Context::new().with("aws:SourceAccount", ACCOUNT).with("aws:SourceArn", &format!("arn:aws:bedrock:{REGION}:999999999999:model-customization-job/j1")), i),
        ("trust: a foreign source account", vec![], Some(trust.clone()), bedrock.clone(), "sts:AssumeRole", service_role.clone(), job_source("999999999999"), i),
        ("trust: no source", vec![], Some(trust.clone()), bedrock, "sts:AssumeRole", service_role.clone(), Context::new(), i),
        ("trust: another service", vec![], Some(trust), lambda, "sts:AssumeRole", service_role.clone(), job_source(ACCOUNT), i),
        ("NotAction allows others", vec![not_action.clone()], None, teardown.clone(), "s3:GetObject", object.clone(), tls.clone(), a),
        ("NotAction excludes iam", vec![not_action.clone()], None, teardown.clone(), "iam:PassRole", service_role.clone(), Context::new(), i),
        ("NotAction excludes sts", vec![not_action], None, teardown.clone(), "sts:AssumeRole", service_role, Context::new(), i),
        ("explicit deny of a foreign resource", vec![deny_unless_tagged.clone()], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune:stack", "other")], "aws:ResourceTag/"), x),
        ("explicit deny of an untagged resource", vec![deny_unless_tagged.clone()], None, teardown.clone(), "bedrock:DeleteCustomModel", custom, Context::new(), x),
        ("no deny for its own resource", vec![deny_unless_tagged.clone()], None, teardown.clone(), "bedrock:DeleteProvisionedModelThroughput", pt.clone(), tags(&[("finetune:stack", "finetune")], "aws:ResourceTag/"), a),
        ("deny does not reach reads", vec![deny_unless_tagged], None, teardown.clone(), "bedrock:GetProvisionedModelThroughput", pt, Context::new(), a),
        ("BoolIfExists deny on plain HTTP", vec![deny_if_exists.clone()], None, teardown.clone(), "s3:GetObject", object.clone(), plain.clone(), x),
        ("BoolIfExists without the key", vec![deny_if_exists.clone()], None, teardown.clone(), "s3:GetObject", object.clone(), Context::new(), x),
        ("BoolIfExists over TLS", vec![deny_if_exists], None, teardown.clone(), "s3:GetObject", object.clone(), tls.clone(), a),
        ("bucket policy denies plain HTTP", vec![], Some(bucket_policy.clone()), teardown.clone(), "s3:GetObject", object.clone(), plain.clone(), x),
        ("bucket policy grants the named role", vec![], Some(bucket_policy.clone()), teardown.clone(), "s3:GetObject", object.clone(), tls.clone(), a),
        ("bucket policy names another role", vec![], Some(bucket_policy.clone()), start_job.clone(), "s3:GetObject", object.clone(), tls.clone(), i),
        ("bucket policy deny beats an identity allow", vec![wildcards.clone()], Some(bucket_policy), teardown.clone(), "s3:PutObject", object.clone(), plain, x),
        ("action wildcard in the middle", vec![wildcards.clone()], None, teardown.clone(), "s3:GetObjectTagging", object.clone(), tls.clone(), a),
        ("action wildcard does not stretch", vec![wildcards.clone()], None, teardown.clone(), "s3:GetObject", object.clone(), tls.clone(), i),
        ("action question mark", vec![wildcards.clone()], None, teardown.clone(), "s3:PutObject", object.clone(), tls.clone(), a),
        ("actions are case-insensitive", vec![wildcards.clone()], None, teardown.clone(), "S3:PUTOBJECT", object.clone(), tls.clone(), a),
        ("resource star spans slashes", vec![wildcards.clone()], None, teardown.clone(), "s3:PutObject", format!("arn:aws:s3:::{BUCKET}/runs/a/b/c/summary.json"), tls.clone(), a),
        ("resource question mark is one character", vec![wildcards.clone()], None, teardown.clone(), "s3:PutObject", format!("arn:aws:s3:::{BUCKET}/runs/r7/report.html"), tls.clone(), a),
        ("resource question mark is not two", vec![wildcards.clone()], None, teardown.clone(), "s3:PutObject", format!("arn:aws:s3:::{BUCKET}/runs/r17/report.html"), tls.clone(), i),
        ("resource in another bucket", vec![wildcards], None, teardown.clone(), "s3:PutObject", "arn:aws:s3:::other/runs/r1/summary.json".into(), tls.clone(), i),
        ("NotResource allows outside", vec![not_resource.clone()], None, teardown.clone(), "s3:PutObject", object, tls.clone(), a),
        ("NotResource excludes inside", vec![not_resource], None, teardown.clone(), "s3:PutObject", format!("arn:aws:s3:::{BUCKET}/incoming/x.jsonl"), tls, i),
        ("numeric and prefix hold", vec![numeric.clone()], None, teardown.clone(), "s3:ListBucket", format!("arn:aws:s3:::{BUCKET}"), list("runs/r1/", "100"), a),
        ("numeric too large", vec![numeric.clone()], None, teardown.clone(), "s3:ListBucket", format!("arn:aws:s3:::{BUCKET}"), list("runs/r1/", "1000"), i),
        ("prefix outside", vec![numeric], None, teardown.clone(), "s3:ListBucket", format!("arn:aws:s3:::{BUCKET}"), list("secrets/", "10"), i),
        ("principal ARN like", vec![principal_arn.clone()], None, teardown, "sns:Publish", format!("arn:aws:sns:{REGION}:{ACCOUNT}:t"), Context::new(), a),
        ("principal ARN unlike", vec![principal_arn], None, start_job, "sns:Publish", format!("arn:aws:sns:{REGION}:{ACCOUNT}:t"), Context::new(), i),
    ];
    rows.into_iter()
        .map(|(name, identity, resource_policy, principal, action, resource, context, expect)| Case {
            name: name.into(),
            identity,
            resource_policy,
            principal,
            action: action.into(),
            resource,
            context,
            expect: Some(expect),
        })
        .collect()
}

fn simulator_request(case: &Case) -> Value {
    let mut context: serde_json::Map<String, Value> = case
        .context
        .iter()
        .map(|(k, v)| {
            (k.to_string(), if v.len() == 1 && !k.eq_ignore_ascii_case("aws:TagKeys") { json!(v[0]) } else { json!(v) })
        })
        .collect();
    // AWS puts the caller's aws:PrincipalArn in every request's context (our evaluator derives it);
    // iam-simulate takes only the keys it is given.
    if !matches!(case.principal, Principal::Service(_)) && case.context.get("aws:PrincipalArn").is_none() {
        context.insert("aws:PrincipalArn".into(), json!(case.principal.principal_arn()));
    }
    json!({
        "identityPolicies": case.identity.iter().map(|p| json!({"name": p.name, "policy": p.document})).collect::<Vec<_>>(),
        "resourcePolicy": case.resource_policy.as_ref().map(|p| p.document.clone()),
        "principal": match &case.principal { Principal::Service(s) => s.clone(), p => p.arn() },
        "action": case.action,
        "resource": case.resource,
        "accountId": ACCOUNT,
        "context": context,
    })
}

fn ours(case: &Case) -> Verdict {
    let request =
        Request { principal: &case.principal, action: &case.action, resource: &case.resource, context: &case.context };
    decide(&case.identity, case.resource_policy.as_ref(), &request).verdict
}

#[test]
fn our_verdicts_match_iam_simulate() {
    let stack = stack();
    let identities = Identities::new(&stack, "AKIALOCALADMIN", "secret");
    let statements = statement_cases(&stack, &identities);
    let pipeline = pipeline_cases(&stack, &identities);
    let edges = edge_cases();
    let statement_count = statements.len();
    let cases: Vec<Case> = statements.into_iter().chain(pipeline).chain(edges).collect();
    // Our side first: the written expectations hold whether or not the simulator is installed.
    for case in &cases {
        if let Some(expect) = case.expect {
            assert_eq!(ours(case), expect, "{}", case.name);
        }
    }
    let Some(dir) = simulator_dir() else { return };
    let input = std::env::temp_dir().join(format!("local-iam-crosscheck-{}.json", std::process::id()));
    std::fs::write(&input, serde_json::to_vec(&cases.iter().map(simulator_request).collect::<Vec<_>>()).unwrap())
        .unwrap();
    let node = std::env::var_os("IAM_CROSSCHECK_NODE").unwrap_or_else(|| "node".into());
    let output = Command::new(node).arg(dir.join("simulate.cjs")).arg(&input).output().expect("node runs");
    let _ = std::fs::remove_file(&input);
    assert!(output.status.success(), "simulate.cjs failed: {}", String::from_utf8_lossy(&output.stderr));
    let theirs: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(theirs.len(), cases.len());
    let mut disagreements = Vec::new();
    let mut rejected_statements = Vec::new();
    for (i, (case, their)) in cases.iter().zip(&theirs).enumerate() {
        let their_verdict = match their.as_str() {
            Some("Allowed") => Verdict::Allowed,
            Some("ImplicitlyDenied") => Verdict::ImplicitDeny,
            Some("ExplicitlyDenied") => Verdict::ExplicitDeny,
            _ if i < statement_count => {
                // A statement's first resource made concrete may be of a type the action does not take
                // (e.g. bedrock:GetModelCustomizationJob on a provisioned-model ARN): not a real request.
                rejected_statements.push(format!("{}: {their}", case.name));
                continue;
            }
            _ => {
                disagreements.push(format!("{}: the simulator rejected the request: {their}", case.name));
                continue;
            }
        };
        if ours(case) != their_verdict {
            disagreements.push(format!("{}: ours {:?}, iam-simulate {their_verdict:?}", case.name, ours(case)));
        }
    }
    let compared = cases.len() - rejected_statements.len();
    // Every Allow statement of the template must have been compared at least once.
    let statement_of = |name: &str| name.split(": ").next().unwrap_or(name).to_string();
    let all: std::collections::BTreeSet<String> =
        cases[..statement_count].iter().map(|c| statement_of(&c.name)).collect();
    let rejected: Vec<String> = rejected_statements.iter().map(|r| statement_of(r)).collect();
    let compared_statements: std::collections::BTreeSet<String> = cases[..statement_count]
        .iter()
        .zip(&theirs)
        .filter(|(_, their)| their.is_string())
        .map(|(c, _)| statement_of(&c.name))
        .collect();
    let never: Vec<&String> = all.iter().filter(|s| !compared_statements.contains(*s)).collect();
    let _ = writeln!(
        std::io::stderr(),
        "IAM cross-check: {compared} cases compared ({} for the {} Allow statements of the template, {} more not real requests), {} disagreements",
        statement_count - rejected.len(),
        all.len(),
        rejected.len(),
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "our evaluator and iam-simulate disagree:\n{}", disagreements.join("\n"));
    assert!(
        never.is_empty(),
        "statements no valid request was compared for: {never:?}\n{}",
        rejected_statements.join("\n")
    );
    assert!(compared >= 150, "{compared} cases");
}
