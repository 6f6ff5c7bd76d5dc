//! IAM in front of the emulator: each request's signer (SigV4 access key) is decided by its policies
//! for the operation's action, resource and context keys (local-iam's table), and refused as Bedrock
//! refuses: 403 AccessDeniedException with AWS's sentence. CreateModelCustomizationJob also checks
//! what Bedrock itself does with the job's service role: that Bedrock may assume it (its trust
//! policy), and that the role may read the training and validation data (or list and read the
//! invocation logs) and write the output.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use local_iam::{Authorizer, Call, Context, Denied};
use serde_json::{Value, json};

use crate::emulator::Emulator;
use crate::http::EMULATED_HEADER;
use crate::store::S3Uri;

/// Requests are read whole before they are decided; Bedrock's own limits are far below this.
const MAX_BODY: usize = 32 * 1024 * 1024;

#[derive(Clone)]
struct Gate {
    emulator: Emulator,
    authorizer: Arc<Authorizer>,
}

/// Both services as one router, every request decided by `authorizer` first.
pub fn router_enforcing(emulator: Emulator, authorizer: Arc<Authorizer>) -> Router {
    let gate = Gate { emulator: emulator.clone(), authorizer };
    crate::http::router(emulator).layer(from_fn_with_state(gate, decide))
}

/// Serves [`router_enforcing`] on `listener` until the task is dropped.
pub async fn serve_enforcing(
    listener: tokio::net::TcpListener,
    emulator: Emulator,
    authorizer: Arc<Authorizer>,
) -> std::io::Result<()> {
    axum::serve(listener, router_enforcing(emulator, authorizer)).await
}

/// One operation as the table knows it: its name and the parameters that name its resources.
struct Operation {
    name: &'static str,
    parameters: Vec<(&'static str, String)>,
    request_tags: Vec<(String, String)>,
}

async fn decide(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "The request body could not be read.");
    };
    let signature = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match gate.authorizer.caller(signature, parts.uri.query()) {
        Ok(caller) => caller,
        Err(e) => {
            let message = format!("The security token included in the request is invalid ({e}).");
            return error(StatusCode::FORBIDDEN, "UnrecognizedClientException", &message);
        }
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // A path no operation has is left to the router, which answers UnknownOperationException.
    if let Some(operation) = operation(&gate.emulator, &parts.method, parts.uri.path(), &body) {
        let service = if parts.uri.path().starts_with("/model/") { "bedrock-runtime" } else { "bedrock" };
        let parameters: Vec<(&str, &str)> = operation.parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let tags: Vec<(&str, &str)> = operation.request_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // aws:ResourceTag/* from the tags the resource carries now (none when it does not exist).
        let held = resource_tags(&gate.emulator, &operation);
        let held: Vec<(&str, &str)> = held.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        let call = Call {
            service,
            operation: operation.name,
            parameters: &parameters,
            request_tags: &tags,
            resource_tags: &held,
        };
        if let Err(denied) = gate.authorizer.authorize(caller, &call) {
            return refused(denied);
        }
        if operation.name == "CreateModelCustomizationJob"
            && let Err(message) = service_role(&gate, &body)
        {
            return error(StatusCode::BAD_REQUEST, "ValidationException", &message);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn refused(denied: Denied) -> Response {
    let denial = match denied {
        Denied::Refused(r) => r.bedrock(),
        Denied::Unmodelled(e) => return error(StatusCode::FORBIDDEN, "AccessDeniedException", &e.to_string()),
    };
    let mut response =
        (StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN), denial.body).into_response();
    for (name, value) in denial.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert(EMULATED_HEADER, HeaderValue::from_static("true"));
    response
}

fn error(status: StatusCode, kind: &'static str, message: &str) -> Response {
    let mut response = (status, json!({"message": message}).to_string()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert("x-amzn-ErrorType", HeaderValue::from_static(kind));
    h.insert(EMULATED_HEADER, HeaderValue::from_static("true"));
    response
}

/// The operation a method and path name, with what names its resources.
fn operation(emu: &Emulator, method: &Method, path: &str, body: &Value) -> Option<Operation> {
    let segments: Vec<String> = path.trim_matches('/').split('/').map(shared::aws::percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let text = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or_default().to_string();
    let op = |name, parameters| Some(Operation { name, parameters, request_tags: Vec::new() });
    let config = emu.config();
    let arn = |kind: &str, id: &str| {
        if id.starts_with("arn:") {
            id.to_string()
        } else {
            format!("arn:aws:bedrock:{}:{}:{kind}/{id}", config.region, config.account_id)
        }
    };
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["model-customization-jobs"]) => {
            let mut tags = tags(body.get("jobTags"));
            tags.extend(self::tags(body.get("customModelTags")));
            Some(Operation {
                name: "CreateModelCustomizationJob",
                parameters: vec![
                    ("model", text("baseModelIdentifier")),
                    ("custom_model_name", text("customModelName")),
                    ("role_arn", text("roleArn")),
                ],
                request_tags: tags,
            })
        }
        ("GET", ["model-customization-jobs"]) => op("ListModelCustomizationJobs", vec![]),
        ("GET", ["model-customization-jobs", id]) => {
            op("GetModelCustomizationJob", vec![("job_arn", job_arn(emu, id, &arn))])
        }
        ("POST", ["model-customization-jobs", id, "stop"]) => {
            op("StopModelCustomizationJob", vec![("job_arn", job_arn(emu, id, &arn))])
        }
        ("GET", ["custom-models", id]) => op("GetCustomModel", vec![("model_arn", arn("custom-model", id))]),
        ("GET", ["custom-models"]) => op("ListCustomModels", vec![]),
        ("DELETE", ["custom-models", id]) => op("DeleteCustomModel", vec![("model_arn", arn("custom-model", id))]),
        ("GET", ["provisioned-model-throughputs"]) => op("ListProvisionedModelThroughputs", vec![]),
        ("GET", ["model-customization", "custom-model-deployments"]) => op("ListCustomModelDeployments", vec![]),
        ("POST", ["listTagsForResource"]) => op("ListTagsForResource", vec![("resource_arn", text("resourceARN"))]),
        ("POST", ["provisioned-model-throughput"]) => Some(Operation {
            name: "CreateProvisionedModelThroughput",
            parameters: vec![("model", text("modelId"))],
            request_tags: tags(body.get("tags")),
        }),
        ("GET", ["provisioned-model-throughput", id]) => {
            op("GetProvisionedModelThroughput", vec![("provisioned_model_arn", arn("provisioned-model", id))])
        }
        ("DELETE", ["provisioned-model-throughput", id]) => {
            op("DeleteProvisionedModelThroughput", vec![("provisioned_model_arn", arn("provisioned-model", id))])
        }
        ("POST", ["model-customization", "custom-model-deployments"]) => Some(Operation {
            name: "CreateCustomModelDeployment",
            parameters: vec![("model", text("modelArn"))],
            request_tags: tags(body.get("tags")),
        }),
        ("GET", ["model-customization", "custom-model-deployments", id]) => {
            op("GetCustomModelDeployment", vec![("deployment_arn", arn("custom-model-deployment", id))])
        }
        ("DELETE", ["model-customization", "custom-model-deployments", id]) => {
            op("DeleteCustomModelDeployment", vec![("deployment_arn", arn("custom-model-deployment", id))])
        }
        ("GET", ["foundation-models"]) => op("ListFoundationModels", vec![]),
        ("POST", ["tagResource"]) => Some(Operation {
            name: "TagResource",
            parameters: vec![("resource_arn", text("resourceARN"))],
            request_tags: tags(body.get("tags")),
        }),
        ("POST", ["untagResource"]) => op("UntagResource", vec![("resource_arn", text("resourceARN"))]),
        ("POST", ["model", id, "converse"]) => op("Converse", vec![("model", id.to_string())]),
        ("POST", ["model", id, "invoke"]) => op("InvokeModel", vec![("model", id.to_string())]),
        _ => None,
    }
}

/// The tags of the resource an operation names by ARN, as the emulator holds them.
fn resource_tags(emu: &Emulator, operation: &Operation) -> Vec<crate::wire::Tag> {
    let arn = operation.parameters.iter().find_map(|(name, value)| {
        matches!(*name, "job_arn" | "model_arn" | "provisioned_model_arn" | "deployment_arn" | "resource_arn")
            .then_some(value.as_str())
            .filter(|v| v.starts_with("arn:"))
    });
    let Some(arn) = arn else { return Vec::new() };
    // A resource named by its name (teardown's derived names) is the resource of that name.
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let real = if arn.contains(":provisioned-model/") {
        emu.get_provisioned_model_throughput(id).map(|t| t.provisioned_model_arn).ok()
    } else if arn.contains(":custom-model-deployment/") {
        emu.get_custom_model_deployment(id).map(|d| d.custom_model_deployment_arn).ok()
    } else if arn.contains(":custom-model/") {
        emu.get_custom_model(id).map(|m| m.model_arn).ok()
    } else {
        None
    };
    let request = crate::inventory::ListTagsForResourceRequest { resource_arn: Some(real.unwrap_or(arn.to_string())) };
    emu.list_tags_for_resource(&request).map(|r| r.tags).unwrap_or_default()
}

/// A job named by name or ARN: its ARN as the emulator made it (a job that does not exist is
/// authorized as `model-customization-job/<name>`; the emulator then answers not found).
fn job_arn(emu: &Emulator, id: &str, arn: &dyn Fn(&str, &str) -> String) -> String {
    emu.get_model_customization_job(id).map(|j| j.job_arn).unwrap_or_else(|_| arn("model-customization-job", id))
}

fn tags(list: Option<&Value>) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t.get("key")?.as_str()?.to_string(), t.get("value")?.as_str()?.to_string())))
        .collect()
}

/// What Bedrock does as the job's service role before it accepts the job: assume the role (the
/// caller's iam:PassRole was decided with the rest of the call), read every data file, write the
/// output. A refusal is the ValidationException Bedrock answers, with IAM's sentence.
fn service_role(gate: &Gate, body: &Value) -> Result<(), String> {
    let config = gate.emulator.config();
    let role_arn = body.get("roleArn").and_then(Value::as_str).unwrap_or_default();
    let job_name = body.get("jobName").and_then(Value::as_str).unwrap_or_default();
    let job_arn = format!("arn:aws:bedrock:{}:{}:model-customization-job/{job_name}", config.region, config.account_id);
    let context = Context::new().with("aws:SourceAccount", &config.account_id).with("aws:SourceArn", &job_arn);
    let role = gate.authorizer.assume("bedrock.amazonaws.com", role_arn, &context).map_err(|r| {
        format!(
            "Amazon Bedrock cannot assume the role {role_arn}: {} (emulated: the local stack's trust policy)",
            r.message()
        )
    })?;
    let mut reads: Vec<&str> = Vec::new();
    reads.extend(body.pointer("/trainingDataConfig/s3Uri").and_then(Value::as_str));
    for validator in body.pointer("/validationDataConfig/validators").and_then(Value::as_array).into_iter().flatten() {
        reads.extend(validator.get("s3Uri").and_then(Value::as_str));
    }
    let output = body.pointer("/outputDataConfig/s3Uri").and_then(Value::as_str).unwrap_or_default();
    let written = format!("{}/{}", output.trim_end_matches('/'), shared::loss_csv::TRAINING_CSV);
    let checks = reads.into_iter().map(|uri| ("GetObject", uri.to_string())).chain([("PutObject", written)]);
    for (operation, uri) in checks {
        let Some(s3) = S3Uri::parse(&uri) else { continue };
        let parameters = [("bucket", s3.bucket.as_str()), ("key", s3.key.as_str())];
        let call = Call::new("s3", operation, &parameters);
        if let Err(denied) = gate.authorizer.authorize(role, &call) {
            return Err(format!(
                "The service role {role_arn} cannot access {uri}: {denied}. Check the role's permissions."
            ));
        }
    }
    // Invocation logs: Bedrock lists the location and reads every log object in it, as the role.
    if let Some(uri) =
        body.pointer("/trainingDataConfig/invocationLogsConfig/invocationLogSource/s3Uri").and_then(Value::as_str)
        && let Some(s3) = S3Uri::parse(uri)
    {
        let list = [("bucket", s3.bucket.as_str()), ("prefix", s3.key.as_str())];
        let keys = gate.emulator.log_keys(uri).map(|(_, keys)| keys).unwrap_or_default();
        let mut calls = vec![Call::new("s3", "ListObjectsV2", &list)];
        let reads: Vec<[(&str, &str); 2]> =
            keys.iter().map(|k| [("bucket", s3.bucket.as_str()), ("key", k.as_str())]).collect();
        calls.extend(reads.iter().map(|p| Call::new("s3", "GetObject", p)));
        for call in &calls {
            if let Err(denied) = gate.authorizer.authorize(role, call) {
                return Err(format!(
                    "The service role {role_arn} cannot read the invocation logs at {uri}: {denied}. Check the role's \
                     permissions (s3:ListBucket on the bucket for this prefix, s3:GetObject on its objects)."
                ));
            }
        }
    }
    Ok(())
}
