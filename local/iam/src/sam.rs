//! What the SAM transform adds to a template, as far as IAM is concerned: the policy templates a
//! template may name (expanded as SAM expands them: the template's statements with its parameters put
//! in by `Fn::Sub`), the trust policies and managed policies of the roles it generates, and the AWS
//! managed policies those roles get. Each is written from SAM's policy_templates.json and translator
//! (aws/serverless-application-model) and AWS's published managed policies; a template naming anything
//! else is an error, never a silent grant or a silent gap.

use serde_json::{Value, json};

/// A SAM policy template: its parameters and its statements, with `${Parameter}` and the pseudo
/// parameters to substitute.
pub struct PolicyTemplate {
    pub name: &'static str,
    pub parameters: &'static [&'static str],
    pub statements: fn() -> Value,
}

pub const POLICY_TEMPLATES: &[PolicyTemplate] = &[
    PolicyTemplate {
        name: "LambdaInvokePolicy",
        parameters: &["FunctionName"],
        // The trailing `*` is SAM's: it covers the function's versions and aliases.
        statements: || {
            json!([{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                "Resource": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}*"}])
        },
    },
    PolicyTemplate {
        name: "SNSPublishMessagePolicy",
        parameters: &["TopicName"],
        statements: || {
            json!([{"Effect": "Allow", "Action": ["sns:Publish"],
                "Resource": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${TopicName}"}])
        },
    },
    PolicyTemplate {
        name: "StepFunctionsExecutionPolicy",
        parameters: &["StateMachineName"],
        statements: || {
            json!([{"Effect": "Allow", "Action": ["states:StartExecution"],
                "Resource": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${StateMachineName}"}])
        },
    },
    PolicyTemplate {
        name: "SQSSendMessagePolicy",
        parameters: &["QueueName"],
        statements: || {
            json!([{"Effect": "Allow", "Action": ["sqs:SendMessage*"],
                "Resource": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}"}])
        },
    },
    PolicyTemplate {
        name: "S3ReadPolicy",
        parameters: &["BucketName"],
        statements: || {
            json!([{"Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"],
                "Resource": ["arn:${AWS::Partition}:s3:::${BucketName}", "arn:${AWS::Partition}:s3:::${BucketName}/*"]}])
        },
    },
];

pub fn policy_template(name: &str) -> Option<&'static PolicyTemplate> {
    POLICY_TEMPLATES.iter().find(|t| t.name == name)
}

/// The trust policy SAM gives the role it generates for a resource run by `service`.
pub fn service_trust(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow",
        "Principal": {"Service": [service]}}]})
}

/// AWS managed policies a SAM-generated role may carry, by name (SAM's own, plus the names a template
/// may list under Policies). Their documents as AWS publishes them.
pub fn managed_policy(name: &str) -> Option<Value> {
    Some(match name {
        "AWSLambdaBasicExecutionRole" => json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}),
        "AWSXrayWriteOnlyAccess" | "AWSXRayDaemonWriteAccess" => {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries"], "Resource": ["*"]}]})
        }
        _ => return None,
    })
}

/// `arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole` -> `AWSLambdaBasicExecutionRole`.
pub fn managed_policy_name(name_or_arn: &str) -> &str {
    match name_or_arn.strip_prefix("arn:") {
        Some(rest) if rest.contains(":iam::aws:policy/") => name_or_arn.rsplit('/').next().unwrap_or(name_or_arn),
        _ => name_or_arn,
    }
}

/// The X-Ray policy SAM attaches when tracing is on: the older name in the commercial partition.
pub fn xray_policy_name(partition: &str) -> &'static str {
    if partition == "aws" { "AWSXrayWriteOnlyAccess" } else { "AWSXRayDaemonWriteAccess" }
}
