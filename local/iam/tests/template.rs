//! template.yaml resolved: every function and the state machine get the role the deployed stack gives
//! them, with the statements the template writes, and what it cannot resolve is an error that says where.

use local_iam::{
    Call, Context, Identities, Principal, Request, StackPolicies, StackSettings, Template, Verdict, authorizations,
    decide, resolve_template,
};

const TEMPLATE: &str = include_str!("../../../template.yaml");
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const BUCKET: &str = "finetune-123456789012-us-east-1";

fn settings() -> StackSettings {
    StackSettings::new(ACCOUNT, REGION, "finetune")
}

fn stack() -> StackPolicies {
    resolve_template("template.yaml", TEMPLATE, &settings()).unwrap()
}

/// Decides `service operation` for the role `used_by` runs as.
fn verdict(
    stack: &StackPolicies,
    used_by: &str,
    service: &str,
    operation: &str,
    parameters: &[(&str, &str)],
    tags: &[(&str, &str)],
) -> Verdict {
    let identities = Identities::new(stack, "AKIALOCALADMIN", "secret");
    let identity = identities.of(used_by, stack).unwrap_or_else(|| panic!("no identity for {used_by}"));
    let call = Call { service, operation, parameters, request_tags: tags, resource_tags: tags };
    let mut worst = Verdict::Allowed;
    for a in authorizations(&stack.settings.partition, REGION, ACCOUNT, &call).unwrap() {
        let mut context: Context = a.context.clone();
        context.set("aws:SecureTransport", vec!["true".into()]);
        let request =
            Request { principal: &identity.principal, action: a.action, resource: &a.resource, context: &context };
        let d = decide(&identity.policies, stack.resource_policy(&a.resource), &request);
        if d.verdict != Verdict::Allowed {
            worst = d.verdict;
        }
    }
    worst
}

#[test]
fn every_function_and_the_state_machine_run_as_a_role() {
    let template = Template::parse("template.yaml", TEMPLATE).unwrap();
    let stack = stack();
    let resources = template.root["Resources"].as_object().unwrap();
    let actors: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| {
            matches!(r["Type"].as_str(), Some("AWS::Serverless::Function" | "AWS::Serverless::StateMachine"))
        })
        .map(|(id, _)| id)
        .collect();
    assert_eq!(actors.len(), 9, "six pipeline functions, the reaper, the grader and the state machine: {actors:?}");
    for id in actors {
        let role = stack.role_of(id).unwrap_or_else(|| panic!("{id} has no role"));
        assert_eq!(role.logical_id, format!("{id}Role"));
        assert_eq!(role.arn, format!("arn:aws:iam::{ACCOUNT}:role/finetune-{id}Role"));
        assert!(!role.policies.is_empty(), "{id}");
        let inline = role.policies.iter().filter(|p| p.name.starts_with(&role.logical_id)).count();
        // The grader calls nothing: it has no statements of its own, only the logging SAM adds.
        assert!(inline >= 1 || id == "GraderFunction", "{id} has its template statements");
    }
    let function = stack.role_of("StartJobFunction").unwrap();
    assert_eq!(function.session_name, "finetune-StartJobFunction", "Lambda names the session after the function");
    let names: Vec<&str> = function.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["StartJobFunctionRolePolicy0", "AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"]);
    let teardown: Vec<&str> =
        stack.role_of("TeardownFunction").unwrap().policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        teardown,
        [
            "TeardownFunctionRolePolicy0",
            "TeardownFunctionRolePolicy1",
            "DeadLetterQueuePolicy",
            "AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess"
        ]
    );
}

#[test]
fn each_function_may_make_its_own_calls_and_not_its_neighbours() {
    let stack = stack();
    let job = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-micro-v1:0:128k/abc");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/finetune-BedrockServiceRole");
    let pt = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/xyz");
    let create =
        [("model", "amazon.nova-micro-v1:0:128k"), ("custom_model_name", "run-1"), ("role_arn", role.as_str())];
    // Creates carry the run tag (aws:RequestTag), stops and deletes need it on the resource.
    let run_tag = [("finetune-run-id", "run-1")];
    assert_eq!(
        verdict(&stack, "StartJobFunction", "bedrock", "CreateModelCustomizationJob", &create, &run_tag),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(&stack, "StartJobFunction", "bedrock", "CreateModelCustomizationJob", &create, &[]),
        Verdict::ImplicitDeny,
        "a job without its run tag"
    );
    let other_role = [
        ("model", "amazon.nova-micro-v1:0:128k"),
        ("custom_model_name", "run-1"),
        ("role_arn", "arn:aws:iam::123456789012:role/admin"),
    ];
    assert_eq!(
        verdict(&stack, "StartJobFunction", "bedrock", "CreateModelCustomizationJob", &other_role, &[]),
        Verdict::ImplicitDeny
    );
    assert_eq!(
        verdict(&stack, "ProvisionFunction", "bedrock", "CreateModelCustomizationJob", &create, &[]),
        Verdict::ImplicitDeny
    );
    assert_eq!(
        verdict(&stack, "CheckStatusFunction", "bedrock", "GetModelCustomizationJob", &[("job_arn", &job)], &[]),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(&stack, "CheckStatusFunction", "bedrock", "StopModelCustomizationJob", &[("job_arn", &job)], &[]),
        Verdict::ImplicitDeny
    );
    assert_eq!(
        verdict(
            &stack,
            "TeardownFunction",
            "bedrock",
            "DeleteProvisionedModelThroughput",
            &[("provisioned_model_arn", &pt)],
            &run_tag
        ),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(
            &stack,
            "TeardownFunction",
            "bedrock",
            "DeleteProvisionedModelThroughput",
            &[("provisioned_model_arn", &pt)],
            &[]
        ),
        Verdict::ImplicitDeny,
        "a throughput no run tagged"
    );
    assert_eq!(
        verdict(
            &stack,
            "EvaluateFunction",
            "bedrock",
            "DeleteProvisionedModelThroughput",
            &[("provisioned_model_arn", &pt)],
            &[]
        ),
        Verdict::ImplicitDeny
    );
    assert_eq!(
        verdict(&stack, "EvaluateFunction", "bedrock-runtime", "Converse", &[("model", &pt)], &[]),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(&stack, "EvaluateFunction", "bedrock-runtime", "Converse", &[("model", "amazon.nova-micro-v1:0")], &[]),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(
            &stack,
            "EvaluateFunction",
            "bedrock-runtime",
            "Converse",
            &[("model", "us.meta.llama3-2-1b-instruct-v1:0")],
            &[]
        ),
        Verdict::Allowed,
        "an inference profile: the profile and its foundation model are in the template's InvokeModel resources"
    );
    let summary = [("bucket", BUCKET), ("key", "runs/r1/summary.json")];
    assert_eq!(verdict(&stack, "TeardownFunction", "s3", "GetObject", &summary, &[]), Verdict::Allowed);
    assert_eq!(
        verdict(&stack, "TeardownFunction", "s3", "ListObjectsV2", &[("bucket", BUCKET), ("prefix", "runs/r1/")], &[]),
        Verdict::Allowed,
        "teardown may ListBucket: a missing summary is NoSuchKey, not AccessDenied"
    );
    assert_eq!(
        verdict(
            &stack,
            "ValidateSplitFunction",
            "s3",
            "ListObjectsV2",
            &[("bucket", BUCKET), ("prefix", "incoming/retraining/")],
            &[]
        ),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(
            &stack,
            "ValidateSplitFunction",
            "s3",
            "ListObjectsV2",
            &[("bucket", BUCKET), ("prefix", "runs/")],
            &[]
        ),
        Verdict::Allowed,
        "unconditioned: S3 decides NoSuchKey for a missing sidecar by ListBucket without a prefix"
    );
    assert_eq!(
        verdict(
            &stack,
            "ValidateSplitFunction",
            "s3",
            "PutObject",
            &[("bucket", BUCKET), ("key", "incoming/x.jsonl")],
            &[]
        ),
        Verdict::ImplicitDeny
    );
    let machine = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:finetune-pipeline");
    assert_eq!(
        verdict(&stack, "ValidateSplitFunction", "sfn", "StartExecution", &[("state_machine_arn", &machine)], &[]),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(
            &stack,
            "PipelineStateMachineRetraining",
            "sfn",
            "StartExecution",
            &[("state_machine_arn", &machine)],
            &[]
        ),
        Verdict::Allowed
    );
    assert_eq!(
        verdict(&stack, "EvaluateFunction", "sfn", "StartExecution", &[("state_machine_arn", &machine)], &[]),
        Verdict::ImplicitDeny
    );
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:finetune-NotificationTopic");
    assert_eq!(verdict(&stack, "TeardownFunction", "sns", "Publish", &[("topic_arn", &topic)], &[]), Verdict::Allowed);
    assert_eq!(
        verdict(&stack, "EvaluateFunction", "sns", "Publish", &[("topic_arn", &topic)], &[]),
        Verdict::ImplicitDeny
    );
    for function in [
        "ValidateSplitFunction",
        "StartJobFunction",
        "CheckStatusFunction",
        "ProvisionFunction",
        "EvaluateFunction",
        "TeardownFunction",
    ] {
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:finetune-{function}");
        assert_eq!(
            verdict(&stack, "PipelineStateMachine", "lambda", "Invoke", &[("function_arn", &arn)], &[]),
            Verdict::Allowed,
            "{function}"
        );
        assert_eq!(
            verdict(&stack, "TeardownFunction", "lambda", "Invoke", &[("function_arn", &arn)], &[]),
            Verdict::ImplicitDeny
        );
    }
    assert_eq!(
        verdict(
            &stack,
            "administrator",
            "bedrock",
            "DeleteProvisionedModelThroughput",
            &[("provisioned_model_arn", &pt)],
            &[]
        ),
        Verdict::Allowed
    );
}

#[test]
fn the_bucket_policy_denies_plain_http_to_everyone() {
    let stack = stack();
    let identities = Identities::new(&stack, "AKIALOCALADMIN", "secret");
    let admin = identities.of("administrator", &stack).unwrap();
    let object = format!("arn:aws:s3:::{BUCKET}/incoming/x.jsonl");
    let plain = Context::new().with("aws:SecureTransport", "false");
    let request = Request { principal: &admin.principal, action: "s3:GetObject", resource: &object, context: &plain };
    let d = decide(&admin.policies, stack.resource_policy(&object), &request);
    assert_eq!(d.verdict, Verdict::ExplicitDeny);
    assert_eq!(d.matched.unwrap().sid.as_deref(), Some("DenyInsecureTransport"));
}

#[test]
fn bedrock_may_assume_the_service_role_only_for_this_account() {
    let stack = stack();
    let role = stack.role_of("BedrockServiceRole").unwrap();
    let own = Context::new()
        .with("aws:SourceAccount", ACCOUNT)
        .with("aws:SourceArn", &format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/j"));
    assert!(local_iam::assume_role(&role.trust, &role.arn, "bedrock.amazonaws.com", &own).allowed());
    let foreign = Context::new()
        .with("aws:SourceAccount", "999999999999")
        .with("aws:SourceArn", "arn:aws:bedrock:us-east-1:999999999999:model-customization-job/j");
    assert!(!local_iam::assume_role(&role.trust, &role.arn, "bedrock.amazonaws.com", &foreign).allowed());
    // Each schedule's role trusts the scheduler acting for that one schedule of this account only.
    for (user, schedule) in [("PipelineStateMachineRetraining", "retraining"), ("ReaperFunctionHourly", "reaper")] {
        let scheduler = stack.role_of(user).unwrap();
        let arn = |account: &str, name: &str| {
            format!("arn:aws:scheduler:{REGION}:{account}:schedule/default/finetune-{name}")
        };
        let from = |account: &str, name: &str| {
            Context::new().with("aws:SourceAccount", account).with("aws:SourceArn", &arn(account, name))
        };
        let assume = |context: &Context| {
            local_iam::assume_role(&scheduler.trust, &scheduler.arn, "scheduler.amazonaws.com", context).allowed()
        };
        assert!(assume(&from(ACCOUNT, schedule)), "{user}");
        assert!(!assume(&from("999999999999", schedule)), "{user}: another account's schedule");
        let other = if schedule == "reaper" { "retraining" } else { "reaper" };
        assert!(!assume(&from(ACCOUNT, other)), "{user}: the other schedule");
        assert!(!assume(&Context::new()), "{user}: without the source conditions");
    }
    let principal = Principal::Service("events.amazonaws.com".into());
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:finetune-FailedEventsQueue");
    let context = Context::new().with("aws:SourceAccount", ACCOUNT);
    let request = Request { principal: &principal, action: "sqs:SendMessage", resource: &queue, context: &context };
    assert!(
        decide(&[], stack.resource_policy(&queue), &request).allowed(),
        "the queue policy lets EventBridge deliver dead letters"
    );
}

#[test]
fn deleting_a_statement_from_the_template_denies_the_call() {
    let without = TEMPLATE.replace("                - bedrock:StopModelCustomizationJob\n", "");
    assert_ne!(without, TEMPLATE);
    let stack = resolve_template("template.yaml", &without, &settings()).unwrap();
    let job = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/j");
    assert_eq!(
        verdict(&stack, "TeardownFunction", "bedrock", "StopModelCustomizationJob", &[("job_arn", &job)], &[]),
        Verdict::ImplicitDeny
    );
}

#[test]
fn parameters_and_physical_names_shape_the_arns() {
    let mut s = settings();
    s.parameters.insert("BucketNamePrefix".into(), "other".into());
    s.physical_names.insert("StartJobFunction".into(), "start-job".into());
    s.stack_name = "test".into();
    let stack = resolve_template("template.yaml", TEMPLATE, &s).unwrap();
    let document = stack.role_of("ValidateSplitFunction").unwrap().policies[0].document.to_string();
    assert!(document.contains("arn:aws:s3:::other-123456789012-us-east-1/incoming/*"), "{document}");
    assert!(document.contains("stateMachine:test-pipeline"), "{document}");
    let machine = stack.role_of("PipelineStateMachine").unwrap().policies[1].document.to_string();
    assert!(machine.contains("function:start-job*"), "{machine}");
    assert_eq!(stack.role_of("StartJobFunction").unwrap().session_name, "start-job");
}

#[test]
fn what_cannot_be_resolved_is_an_error_that_says_where() {
    let mut s = settings();
    s.parameters.insert("NoSuchParameter".into(), "x".into());
    let e = resolve_template("template.yaml", TEMPLATE, &s).unwrap_err();
    assert!(e.to_string().contains("NoSuchParameter: the template declares no such parameter"), "{e}");

    let mut s = settings();
    s.parameters.insert("DeploymentMode".into(), "always".into());
    let e = resolve_template("template.yaml", TEMPLATE, &s).unwrap_err();
    assert_eq!(e.path, "Parameters.DeploymentMode");
    assert!(e.line > 0 && e.message.contains("AllowedValues"), "{e}");

    let imported = TEMPLATE.replace("Resource: !GetAtt BedrockServiceRole.Arn", "Resource: !ImportValue shared-role");
    let e = resolve_template("template.yaml", &imported, &settings()).unwrap_err();
    assert_eq!(e.path, "Resources.StartJobFunction.Properties.Policies[0].Statement[2].Resource.Fn::ImportValue");
    assert_eq!(&TEMPLATE.lines().nth(e.line - 1).unwrap().trim()[..9], "Resource:", "{e}");
    assert!(e.message.contains("Fn::ImportValue is not resolved"), "{e}");

    let dangling = TEMPLATE.replacen(
        "TopicName: !GetAtt NotificationTopic.TopicName",
        "TopicName: !GetAtt NoSuchTopic.TopicName",
        1,
    );
    let e = resolve_template("template.yaml", &dangling, &settings()).unwrap_err();
    assert!(
        e.path.starts_with("Resources.TeardownFunction.Properties.Policies[1].SNSPublishMessagePolicy.TopicName"),
        "{e}"
    );
    assert!(e.message.contains("NoSuchTopic"), "{e}");

    let template = TEMPLATE.replace("SNSPublishMessagePolicy:", "SNSCrudPolicy:");
    let e = resolve_template("template.yaml", &template, &settings()).unwrap_err();
    assert!(e.message.contains("SNSCrudPolicy is not a policy template"), "{e}");

    let template = TEMPLATE.replace(
        "StringEquals:\n                  iam:PassedToService",
        "DateLessThan:\n                  iam:PassedToService",
    );
    let e = resolve_template("template.yaml", &template, &settings()).unwrap_err();
    assert_eq!(e.path, "Resources.StartJobFunction.Properties.Policies[0].Statement[2].Condition.DateLessThan");

    // A resource nothing in a policy refers to, so the type is the only problem.
    let template = TEMPLATE.replace("Type: AWS::Logs::LogGroup", "Type: AWS::DynamoDB::Table");
    let e = resolve_template("template.yaml", &template, &settings()).unwrap_err();
    assert!(e.message.contains("AWS::DynamoDB::Table: local-iam does not know"), "{e}");
}

#[test]
fn an_operators_kms_key_and_vpc_add_exactly_their_statements_and_nothing_when_unset() {
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let mut with = settings();
    with.parameters.insert("KmsKeyArn".into(), KEY.into());
    with.parameters.insert("VpcSubnetIds".into(), "subnet-0a1b2c3d".into());
    with.parameters.insert("VpcSecurityGroupIds".into(), "sg-0a1b2c3d".into());
    let operator = resolve_template("template.yaml", TEMPLATE, &with).unwrap();
    let defaults = stack();
    let principal = Principal::Service("local".into());
    let allowed = |stack: &StackPolicies, used_by: &str, action: &str, resource: &str, context: &Context| {
        let role = stack.role_of(used_by).unwrap();
        let request = Request { principal: &principal, action, resource, context };
        decide(&role.policies, None, &request).allowed()
    };
    let via_bedrock = Context::new().with("kms:ViaService", "bedrock.us-east-1.amazonaws.com");
    let other_key = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab";
    for (used_by, action) in [
        ("StartJobFunction", "kms:CreateGrant"),
        ("StartJobFunction", "kms:GenerateDataKey"),
        ("ProvisionFunction", "kms:Decrypt"),
        ("EvaluateFunction", "kms:Decrypt"),
    ] {
        assert!(allowed(&operator, used_by, action, KEY, &via_bedrock), "{used_by} {action}");
        assert!(!allowed(&operator, used_by, action, other_key, &via_bedrock), "{used_by} {action}: another key");
        assert!(!allowed(&operator, used_by, action, KEY, &Context::new()), "{used_by} {action}: not through Bedrock");
        assert!(!allowed(&defaults, used_by, action, KEY, &via_bedrock), "{used_by} {action}: no key, no grant");
    }
    assert!(!allowed(&operator, "EvaluateFunction", "kms:CreateGrant", KEY, &via_bedrock), "evaluation only decrypts");

    let role = "BedrockServiceRole";
    let eni = "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-1";
    let bedrock_tags = Context::new().with("aws:RequestTag/BedrockManaged", "true").with(
        "aws:RequestTag/BedrockModelCustomizationJobArn",
        "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/j",
    );
    assert!(allowed(&operator, role, "ec2:CreateNetworkInterface", eni, &bedrock_tags));
    assert!(!allowed(&operator, role, "ec2:CreateNetworkInterface", eni, &Context::new()), "only Bedrock-managed ones");
    assert!(!allowed(&defaults, role, "ec2:CreateNetworkInterface", eni, &bedrock_tags), "no VPC, no interfaces");
    assert!(allowed(&operator, role, "ec2:DescribeSubnets", "*", &Context::new()));
    assert!(!allowed(&defaults, role, "ec2:DescribeSubnets", "*", &Context::new()));
    assert!(allowed(&operator, role, "kms:GenerateDataKey", KEY, &Context::new()));
    assert!(!allowed(&defaults, role, "kms:GenerateDataKey", KEY, &Context::new()));
}
