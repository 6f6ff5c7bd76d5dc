//! IAM on the local cloud: template.yaml's roles and resource policies resolved once for the local
//! stack (its account, region, parameters, and the names the local cloud gives its resources), each
//! function's SDK clients signing with its role's key, and the decisions the local cloud makes in
//! process: the state machine's role invoking a function, S3 and EventBridge invoking one through its
//! resource policy, teardown publishing to the topic. The S3, Lambda, Bedrock and Step Functions
//! endpoints decide their own requests with the same [`Authorizer`].

use crate::ACCOUNT_ID;
use crate::template::{LocalNames, TemplateError, deployed_bucket_name_in, function_logical_ids};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use local_cloud::{TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use local_iam::{Authorizer, Call, Context, Denial, Denied, Identity, StackSettings};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why the template's policies could not be resolved for the local stack.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Policies(#[from] local_iam::TemplateError),
}

/// The stack's IAM as the local cloud names things: functions by their binary, the service role and
/// topic by the local names, the bucket by the name the template gives it. Resolved once per cloud.
pub fn authorizer(template: &str, parameters: &BTreeMap<String, String>) -> Result<Authorizer, IamError> {
    authorizer_in(template, parameters, &LocalNames::default())
}

/// [`authorizer`] for the stack deployed with `names` (its region: every ARN and trust condition).
pub fn authorizer_in(
    template: &str,
    parameters: &BTreeMap<String, String>,
    names: &LocalNames,
) -> Result<Authorizer, IamError> {
    let mut settings = StackSettings::new(&names.account_id, &names.region, &names.stack_name);
    settings.parameters = parameters.clone();
    for (binary, logical) in function_logical_ids(template)? {
        settings.physical_names.insert(logical, binary);
    }
    let last = |arn: &str, separator: char| arn.rsplit(separator).next().unwrap_or(arn).to_string();
    settings.physical_names.insert("BedrockServiceRole".into(), last(&names.role_arn, '/'));
    settings.physical_names.insert("NotificationTopic".into(), last(&names.topic_arn, ':'));
    let stack = local_iam::resolve_template("template.yaml", template, &settings)?;
    let identities = local_iam::Identities::new(&stack, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);
    let deployed = deployed_bucket_name_in(template, names, parameters)?;
    Ok(Authorizer::new(stack, identities).with_bucket(&names.bucket, &deployed))
}

/// The credentials a function's clients sign with: its role's key (the administrator's for a
/// function the template gives no role, which cannot happen with SAM functions).
pub fn credentials(authorizer: &Authorizer, logical_id: &str) -> aws_sdk_s3::config::Credentials {
    match authorizer.identity_of(logical_id) {
        Some(identity) => aws_sdk_s3::config::Credentials::new(
            &identity.access_key_id,
            &identity.secret_access_key,
            None,
            None,
            "local-role",
        ),
        None => local_cloud::test_credentials(),
    }
}

/// The state machine's role invoking a function (a Task's Resource): refused as Step Functions
/// reports Lambda's AccessDeniedException, `Lambda.AWSLambdaException` with Lambda's message.
pub fn state_machine_invokes(authorizer: &Authorizer, function_arn: &str) -> Result<(), (String, String)> {
    let Some(machine) = authorizer.identity_of("PipelineStateMachine") else {
        return Err(("States.Runtime".into(), "the template has no role for PipelineStateMachine".into()));
    };
    let parameters = [("function_arn", function_arn)];
    let call = Call::new("lambda", "Invoke", &parameters);
    authorizer.authorize(machine, &call).map_err(|denied| {
        let cause = format!(
            "{denied} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: local; Proxy: null)"
        );
        ("Lambda.AWSLambdaException".to_string(), cause)
    })
}

/// Bedrock invoking a reward function during reinforcement fine-tuning: as the job's service role
/// (assumed through its trust policy, the job as `aws:SourceArn`), which needs `lambda:InvokeFunction`
/// on the function. Refused as Lambda refuses: `AccessDeniedException` with IAM's sentence.
pub fn bedrock_invokes(
    authorizer: &Authorizer,
    caller: local_bedrock::RewardCaller<'_>,
    function_arn: &str,
) -> Result<(), (String, String)> {
    let context = Context::new().with("aws:SourceAccount", ACCOUNT_ID).with("aws:SourceArn", caller.job_arn);
    let role = authorizer
        .assume("bedrock.amazonaws.com", caller.role_arn, &context)
        .map_err(|r| ("AccessDeniedException".to_string(), r.message()))?;
    let parameters = [("function_arn", function_arn)];
    authorizer
        .authorize(role, &Call::new("lambda", "Invoke", &parameters))
        .map_err(|denied| ("AccessDeniedException".to_string(), denied.to_string()))
}

/// A service invoking a function through the function's resource policy: S3 for a bucket
/// notification (`aws:SourceAccount`, `aws:SourceArn` = the bucket), EventBridge for a rule.
#[allow(clippy::result_large_err, reason = "the refusal is the caller's whole explanation, built once per denied call")]
pub fn service_invokes(
    authorizer: &Authorizer,
    service: &str,
    function_arn: &str,
    source_arn: &str,
) -> Result<(), Box<local_iam::Refusal>> {
    let context = Context::new().with("aws:SourceAccount", ACCOUNT_ID).with("aws:SourceArn", source_arn);
    authorizer.authorize_service(service, "lambda:InvokeFunction", function_arn, &context)
}

/// The ARN of the rule the template's EventBridge event source creates for `function`: as the
/// function's resource policy names it (SAM adds the permission with the rule as its source).
pub fn rule_arn(authorizer: &Authorizer, function_arn: &str) -> Option<String> {
    let policy = authorizer.stack().resource_policies.iter().find(|p| p.resource_arn == function_arn)?;
    policy.policy.document["Statement"].as_array()?.iter().find_map(|s| {
        let source = s
            .pointer("/Condition/ArnLike")?
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("aws:SourceArn"))?;
        source.1.as_str().filter(|arn| arn.contains(":events:")).map(str::to_string)
    })
}

/// Teardown publishing the summary: `sns:Publish` on the topic by its role; refused as SNS refuses.
pub fn publish(authorizer: &Authorizer, function: &str, topic_arn: &str) -> Result<(), String> {
    let Some(identity) = authorizer.identity_of(function) else { return Ok(()) };
    authorizer
        .authorize(identity, &Call::new("sns", "Publish", &[("topic_arn", topic_arn)]))
        .map_err(|denied| format!("Publish failed: AuthorizationError: {}", sns_message(denied)))
}

fn sns_message(denied: Denied) -> String {
    match denied {
        // SNS spells the action SNS:Publish.
        Denied::Refused(r) => local_iam::denial::message(&r.principal, "SNS:Publish", &r.resource, &r.decision),
        Denied::Unmodelled(e) => e.to_string(),
    }
}

/// The Step Functions API with every request decided by its signer's policies first.
pub fn sfn_router<I: local_sfn::TaskInvoker>(sfn: local_sfn::StepFunctions<I>, authorizer: Arc<Authorizer>) -> Router {
    local_sfn::api::router(sfn).layer(from_fn_with_state(authorizer, sfn_gate))
}

async fn sfn_gate(State(authorizer): State<Arc<Authorizer>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return respond(Denial {
            status: 400,
            headers: vec![],
            body: json!({"__type": "SerializationException"}).to_string(),
        });
    };
    let signature = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller: &Identity = match authorizer.caller(signature, parts.uri.query()) {
        Ok(caller) => caller,
        Err(e) => {
            let body = json!({"__type": "UnrecognizedClientException", "message": format!("The security token included in the request is invalid ({e}).")});
            return respond(Denial { status: 400, headers: vec![], body: body.to_string() });
        }
    };
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = target.strip_prefix("AWSStepFunctions.").unwrap_or(target).to_string();
    let request: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let field = |name: &str| request.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    let parameters: Vec<(&str, String)> = match operation.as_str() {
        "StartExecution" | "ListExecutions" | "DescribeStateMachine" | "StartSyncExecution" => {
            vec![("state_machine_arn", field("stateMachineArn"))]
        }
        "DescribeExecution" | "StopExecution" | "GetExecutionHistory" => vec![("execution_arn", field("executionArn"))],
        _ => vec![],
    };
    let parameters: Vec<(&str, &str)> = parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match authorizer.authorize(caller, &Call::new("sfn", &operation, &parameters)) {
        Ok(()) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(Denied::Refused(r)) => respond(r.sfn()),
        Err(Denied::Unmodelled(e)) => {
            let body = json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": e.to_string()});
            respond(Denial { status: 400, headers: vec![], body: body.to_string() })
        }
    }
}

fn respond(denial: Denial) -> Response {
    let mut response =
        (StatusCode::from_u16(denial.status).unwrap_or(StatusCode::BAD_REQUEST), denial.body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.0"));
    for (name, value) in denial.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    response
}
