//! The REST-JSON wire layer for both services on one router: paths, methods and status codes from
//! the service models; errors as `x-amzn-ErrorType` plus `{"message": ...}`. SigV4 is not checked.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::emulator::Emulator;
use crate::error::{BedrockError, ErrorKind};
use crate::runtime::StandIn;

/// Header on every response: nothing here came from a real model.
pub const EMULATED_HEADER: &str = "x-local-emulated";
/// Header on runtime responses: which stand-in answered, `base:<model-id>` or `tuned:<custom-model-name>`.
pub const STAND_IN_HEADER: &str = "x-local-emulated-model";

/// Both services as one axum router.
pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .route("/model-customization-jobs", post(create_job).get(list_jobs))
        .route("/model-customization-jobs/{id}", get(get_job))
        .route("/model-customization-jobs/{id}/stop", post(stop_job))
        .route("/custom-models", get(list_custom_models))
        .route("/custom-models/{id}", get(get_custom_model).delete(delete_custom_model))
        .route("/provisioned-model-throughputs", get(list_throughputs))
        .route("/provisioned-model-throughput", post(create_throughput))
        .route("/provisioned-model-throughput/{id}", get(get_throughput).delete(delete_throughput))
        .route("/model-customization/custom-model-deployments", post(create_deployment).get(list_deployments))
        .route("/model-customization/custom-model-deployments/{id}", get(get_deployment).delete(delete_deployment))
        .route("/foundation-models", get(list_foundation_models))
        .route("/listTagsForResource", post(list_tags))
        .route("/tagResource", post(tag_resource))
        .route("/untagResource", post(untag_resource))
        .route("/model/{id}/converse", post(converse))
        .route("/model/{id}/invoke", post(invoke_model))
        .fallback(unknown_operation)
        .with_state(emulator)
}

/// Serves the control plane and the runtime on `listener` until the task is dropped. Point both
/// `AWS_ENDPOINT_URL_BEDROCK` and `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` at `http://<its address>`.
pub async fn serve(listener: tokio::net::TcpListener, emulator: Emulator) -> std::io::Result<()> {
    axum::serve(listener, router(emulator)).await
}

fn base_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(EMULATED_HEADER, HeaderValue::from_static("true"));
    resp
}

fn error_response(e: &BedrockError) -> Response {
    let status = StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = base_response(status, json!({"message": e.message}).to_string());
    resp.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(e.kind.as_str()));
    resp
}

fn reply<T: Serialize>(status: StatusCode, result: Result<T, BedrockError>) -> Response {
    match result.and_then(|v| {
        serde_json::to_string(&v).map_err(|e| BedrockError::new(ErrorKind::InternalServer, e.to_string()))
    }) {
        Ok(body) => base_response(status, body),
        Err(e) => error_response(&e),
    }
}

fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, BedrockError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| BedrockError::validation(format!("The request body is not valid: {e}")))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, BedrockError> {
    q.map(|Query(v)| v).map_err(|e| BedrockError::validation(format!("Invalid query string: {e}")))
}

#[derive(Serialize)]
struct Empty {}

async fn create_job(State(emu): State<Emulator>, body: Bytes) -> Response {
    let r = emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.create_model_customization_job(req));
    reply(StatusCode::CREATED, r)
}

async fn list_jobs(
    State(emu): State<Emulator>,
    q: Result<Query<crate::wire::ListModelCustomizationJobsRequest>, QueryRejection>,
) -> Response {
    let r = emu.admit().and_then(|_| query(q)).and_then(|req| emu.list_model_customization_jobs(&req));
    reply(StatusCode::OK, r)
}

async fn get_job(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.get_model_customization_job(&id)))
}

async fn stop_job(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.stop_model_customization_job(&id)).map(|_| Empty {}))
}

async fn get_custom_model(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.get_custom_model(&id)))
}

async fn create_throughput(State(emu): State<Emulator>, body: Bytes) -> Response {
    let r = emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.create_provisioned_model_throughput(req));
    reply(StatusCode::CREATED, r)
}

async fn get_throughput(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.get_provisioned_model_throughput(&id)))
}

async fn delete_throughput(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.delete_provisioned_model_throughput(&id)).map(|_| Empty {}))
}

async fn create_deployment(State(emu): State<Emulator>, body: Bytes) -> Response {
    let r = emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.create_custom_model_deployment(req));
    reply(StatusCode::ACCEPTED, r)
}

async fn get_deployment(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.get_custom_model_deployment(&id)))
}

async fn delete_deployment(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.delete_custom_model_deployment(&id)).map(|_| Empty {}))
}

async fn list_foundation_models(
    State(emu): State<Emulator>,
    q: Result<Query<crate::wire::ListFoundationModelsRequest>, QueryRejection>,
) -> Response {
    let r = emu.admit().and_then(|_| query(q)).and_then(|req| emu.list_foundation_models(&req));
    reply(StatusCode::OK, r)
}

async fn tag_resource(State(emu): State<Emulator>, body: Bytes) -> Response {
    reply(
        StatusCode::OK,
        emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.tag_resource(req)).map(|_| Empty {}),
    )
}

async fn untag_resource(State(emu): State<Emulator>, body: Bytes) -> Response {
    let r = emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.untag_resource(req)).map(|_| Empty {});
    reply(StatusCode::OK, r)
}

fn with_stand_in(mut resp: Response, stand_in: &StandIn) -> Response {
    if let Ok(v) = HeaderValue::from_str(&stand_in.label()) {
        resp.headers_mut().insert(STAND_IN_HEADER, v);
    }
    resp
}

async fn converse(State(emu): State<Emulator>, Path(id): Path<String>, body: Bytes) -> Response {
    match emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.converse(&id, req)) {
        Ok((resp, stand_in)) => with_stand_in(reply(StatusCode::OK, Ok(resp)), &stand_in),
        Err(e) => error_response(&e),
    }
}

async fn invoke_model(State(emu): State<Emulator>, Path(id): Path<String>, body: Bytes) -> Response {
    match emu.admit().and_then(|_| emu.invoke_model(&id, &body)) {
        Ok((resp, stand_in)) => with_stand_in(reply(StatusCode::OK, Ok(resp)), &stand_in),
        Err(e) => error_response(&e),
    }
}

type ListQuery = Result<Query<crate::inventory::ListRequest>, QueryRejection>;

async fn list_throughputs(State(emu): State<Emulator>, q: ListQuery) -> Response {
    let r = emu.admit().and_then(|_| query(q)).and_then(|req| emu.list_provisioned_model_throughputs(&req));
    reply(StatusCode::OK, r)
}

async fn list_deployments(State(emu): State<Emulator>, q: ListQuery) -> Response {
    let r = emu.admit().and_then(|_| query(q)).and_then(|req| emu.list_custom_model_deployments(&req));
    reply(StatusCode::OK, r)
}

async fn list_custom_models(State(emu): State<Emulator>, q: ListQuery) -> Response {
    let r = emu.admit().and_then(|_| query(q)).and_then(|req| emu.list_custom_models(&req));
    reply(StatusCode::OK, r)
}

async fn delete_custom_model(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    reply(StatusCode::OK, emu.admit().and_then(|_| emu.delete_custom_model(&id)).map(|_| Empty {}))
}

async fn list_tags(State(emu): State<Emulator>, body: Bytes) -> Response {
    let r = emu.admit().and_then(|_| parse(&body)).and_then(|req| emu.list_tags_for_resource(&req));
    reply(StatusCode::OK, r)
}

async fn unknown_operation() -> Response {
    error_response(&BedrockError::new(ErrorKind::UnknownOperation, "No operation matches this method and path."))
}
