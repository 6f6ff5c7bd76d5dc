//! The Step Functions API over awsJson1.0: `POST /` with `X-Amz-Target: AWSStepFunctions.<Op>`.
//! SigV4 signatures are not checked.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use crate::engine::{ExecutionStatus, TaskInvoker};
use crate::registry::{ApiError, ApiErrorKind, ExecutionDescription, StepFunctions};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const MAX_PAGE: usize = 1000;
const DEFAULT_PAGE: usize = 100;

/// The API as an axum router (mount it wherever; it answers on `/`).
pub fn router<I: TaskInvoker>(sfn: StepFunctions<I>) -> Router {
    Router::new().route("/", post(handle::<I>)).with_state(sfn)
}

/// Serves the API on `listener` (bind it to 127.0.0.1:0 and read its port) until the task is
/// dropped or the listener fails.
pub async fn serve<I: TaskInvoker>(listener: tokio::net::TcpListener, sfn: StepFunctions<I>) -> std::io::Result<()> {
    axum::serve(listener, router(sfn)).await
}

async fn handle<I: TaskInvoker>(State(sfn): State<StepFunctions<I>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let result = match target.strip_prefix("AWSStepFunctions.") {
        Some(op) => parse_body(&body).and_then(|req| dispatch(&sfn, op, &req)),
        None => {
            Err(ApiError::new(ApiErrorKind::UnknownOperationException, format!("Unknown operation target '{target}'")))
        }
    };
    let (status, body, error_type) = match result {
        Ok(v) => (StatusCode::OK, v, None),
        Err(e) => {
            (StatusCode::BAD_REQUEST, json!({"__type": e.kind.as_str(), "message": e.message}), Some(e.kind.as_str()))
        }
    };
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(t) = error_type {
        h.insert("x-amzn-ErrorType", HeaderValue::from_static(t));
    }
    resp
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(ApiErrorKind::SerializationException, "the request body must be a JSON object")),
        Err(e) => Err(ApiError::new(ApiErrorKind::SerializationException, e.to_string())),
    }
}

fn opt_str<'a>(req: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::new(ApiErrorKind::SerializationException, format!("'{key}' must be a string"))),
    }
}

fn req_str<'a>(req: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    opt_str(req, key)?.ok_or_else(|| {
        ApiError::new(
            ApiErrorKind::ValidationException,
            format!("1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

/// maxResults / nextToken paging; the token is the offset of the next item.
fn page(req: &Map<String, Value>, len: usize) -> Result<(usize, usize, Option<String>), ApiError> {
    let max = match req.get("maxResults").and_then(Value::as_u64) {
        None | Some(0) => DEFAULT_PAGE,
        Some(n) => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
    };
    let start = match opt_str(req, "nextToken")? {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= len)
            .ok_or_else(|| ApiError::new(ApiErrorKind::InvalidToken, format!("Invalid Token: '{t}'")))?,
    };
    let end = (start + max).min(len);
    Ok((start, end, (end < len).then(|| end.to_string())))
}

fn summary(d: &ExecutionDescription) -> Value {
    let s = &d.snapshot;
    let mut v = json!({
        "executionArn": d.execution_arn,
        "stateMachineArn": d.state_machine_arn,
        "name": d.name,
        "status": s.status.as_str(),
        "startDate": s.start_date.epoch_seconds_f64(),
    });
    if let Some(stop) = s.stop_date {
        v["stopDate"] = json!(stop.epoch_seconds_f64());
    }
    v
}

fn dispatch<I: TaskInvoker>(sfn: &StepFunctions<I>, op: &str, req: &Map<String, Value>) -> Result<Value, ApiError> {
    match op {
        "CreateStateMachine" => {
            if let Some(t) = opt_str(req, "type")?
                && t != "STANDARD"
            {
                return Err(ApiError::new(
                    ApiErrorKind::ValidationException,
                    format!("the local engine runs STANDARD state machines only, not {t}"),
                ));
            }
            let m =
                sfn.create_state_machine(req_str(req, "name")?, req_str(req, "definition")?, req_str(req, "roleArn")?)?;
            Ok(json!({"stateMachineArn": m.arn, "creationDate": m.creation_date.epoch_seconds_f64()}))
        }
        "DescribeStateMachine" => {
            let m = sfn.describe_state_machine(req_str(req, "stateMachineArn")?)?;
            Ok(json!({
                "stateMachineArn": m.arn,
                "name": m.name,
                "status": "ACTIVE",
                "definition": m.definition_text,
                "roleArn": m.role_arn,
                "type": "STANDARD",
                "creationDate": m.creation_date.epoch_seconds_f64(),
            }))
        }
        "StartExecution" => {
            let started =
                sfn.start_execution(req_str(req, "stateMachineArn")?, opt_str(req, "name")?, opt_str(req, "input")?)?;
            Ok(json!({"executionArn": started.execution_arn, "startDate": started.start_date.epoch_seconds_f64()}))
        }
        "DescribeExecution" => {
            let d = sfn.describe_execution(req_str(req, "executionArn")?)?;
            let mut v = summary(&d);
            let s = &d.snapshot;
            v["input"] = json!(s.input.to_string());
            v["inputDetails"] = json!({"included": true});
            if let Some(out) = &s.output {
                v["output"] = json!(out.to_string());
                v["outputDetails"] = json!({"included": true});
            }
            if let Some(e) = &s.error {
                v["error"] = json!(e);
            }
            if let Some(c) = &s.cause {
                v["cause"] = json!(c);
            }
            v["redriveCount"] = json!(0);
            v["redriveStatus"] = json!("NOT_REDRIVABLE");
            Ok(v)
        }
        "GetExecutionHistory" => {
            let mut events = sfn.get_execution_history(req_str(req, "executionArn")?)?;
            if req.get("reverseOrder").and_then(Value::as_bool) == Some(true) {
                events.reverse();
            }
            let include = req.get("includeExecutionData").and_then(Value::as_bool).unwrap_or(true);
            let (start, end, next) = page(req, events.len())?;
            let region = &sfn.config().region;
            let events: Vec<Value> = events[start..end].iter().map(|e| e.to_api_json(region, include)).collect();
            let mut v = json!({"events": events});
            if let Some(t) = next {
                v["nextToken"] = json!(t);
            }
            Ok(v)
        }
        "StopExecution" => {
            let stop =
                sfn.stop_execution(req_str(req, "executionArn")?, opt_str(req, "error")?, opt_str(req, "cause")?)?;
            Ok(json!({"stopDate": stop.epoch_seconds_f64()}))
        }
        "ListExecutions" => {
            let filter = match opt_str(req, "statusFilter")? {
                None => None,
                Some(s) => Some(ExecutionStatus::parse(s).ok_or_else(|| {
                    ApiError::new(ApiErrorKind::ValidationException, format!("invalid statusFilter '{s}'"))
                })?),
            };
            let list = sfn.list_executions(req_str(req, "stateMachineArn")?, filter)?;
            let (start, end, next) = page(req, list.len())?;
            let mut v = json!({"executions": list[start..end].iter().map(summary).collect::<Vec<_>>()});
            if let Some(t) = next {
                v["nextToken"] = json!(t);
            }
            Ok(v)
        }
        other => Err(ApiError::new(
            ApiErrorKind::UnknownOperationException,
            format!("the local Step Functions does not implement {other}"),
        )),
    }
}
