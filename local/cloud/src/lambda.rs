//! The Lambda Invoke API on loopback, so anything that speaks it (aws-sdk-lambda, aws-local-stepfunctions,
//! the aws CLI) can run the pipeline's handlers in-process.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::server::ServerHandle;

/// The account every local ARN names.
pub const ACCOUNT_ID: &str = "123456789012";

/// Lambda's synchronous payload limit (axum's default of 2 MB would refuse what Lambda accepts).
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// A handler's failure as Lambda reports it: `errorType` drives Step Functions' Retry and Catch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
}

impl FunctionError {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> FunctionError {
        FunctionError { error_type: error_type.into(), error_message: error_message.into() }
    }
}

/// The functions behind the endpoint, by name (already resolved from ARNs).
pub trait Functions: Send + Sync + 'static {
    /// Whether `function_name` exists; unknown names answer 404 without an invocation.
    fn contains(&self, function_name: &str) -> bool;

    fn invoke(&self, function_name: &str, payload: Value) -> impl Future<Output = Result<Value, FunctionError>> + Send;
}

type BoxedFunction =
    Box<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, FunctionError>> + Send>> + Send + Sync>;

/// A [`Functions`] made of async closures, for wiring handlers without a type per function.
#[derive(Default)]
pub struct FunctionRegistry {
    functions: HashMap<String, BoxedFunction>,
}

impl std::fmt::Debug for FunctionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.functions.keys()).finish()
    }
}

impl FunctionRegistry {
    pub fn new() -> FunctionRegistry {
        FunctionRegistry::default()
    }

    /// Adds (or replaces) a function.
    pub fn register<F, Fut>(mut self, name: impl Into<String>, function: F) -> FunctionRegistry
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, FunctionError>> + Send + 'static,
    {
        self.functions.insert(name.into(), Box::new(move |payload| Box::pin(function(payload))));
        self
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }
}

impl Functions for FunctionRegistry {
    fn contains(&self, function_name: &str) -> bool {
        self.functions.contains_key(function_name)
    }

    fn invoke(&self, function_name: &str, payload: Value) -> impl Future<Output = Result<Value, FunctionError>> + Send {
        let call = self.functions.get(function_name).map(|f| f(payload));
        async move {
            match call {
                Some(call) => call.await,
                None => Err(FunctionError::new("ResourceNotFoundException", "Function not found")),
            }
        }
    }
}

/// A function named in a request path, split like Lambda's `FunctionName`: a name, a partial ARN
/// (`123456789012:function:name`) or a full ARN, each with an optional `:qualifier`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef<'a> {
    pub name: &'a str,
    pub qualifier: Option<&'a str>,
}

impl<'a> FunctionRef<'a> {
    pub fn parse(function: &'a str) -> Option<FunctionRef<'a>> {
        let parts: Vec<&str> = function.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            [_account, "function", name] => (*name, None),
            [_account, "function", name, qualifier] => (*name, Some(*qualifier)),
            ["arn", _partition, "lambda", _region, _account, "function", name] => (*name, None),
            ["arn", _partition, "lambda", _region, _account, "function", name, qualifier] => (*name, Some(*qualifier)),
            _ => return None,
        };
        (!name.is_empty()).then_some(FunctionRef { name, qualifier: qualifier.filter(|q| !q.is_empty()) })
    }
}

struct LambdaState<F> {
    functions: Arc<F>,
    region: String,
    request_ids: AtomicU64,
    /// IAM: who signed the request and what its policies allow; `None` grants every call.
    authorizer: Option<Arc<local_iam::Authorizer>>,
}

/// The Invoke route over `functions`; ARNs in errors name `region` and [`ACCOUNT_ID`].
pub fn router<F: Functions>(functions: Arc<F>, region: &str) -> Router {
    router_with(functions, region, None)
}

fn router_with<F: Functions>(
    functions: Arc<F>,
    region: &str,
    authorizer: Option<Arc<local_iam::Authorizer>>,
) -> Router {
    let state =
        Arc::new(LambdaState { functions, region: region.to_string(), request_ids: AtomicU64::new(1), authorizer });
    Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke::<F>))
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
        .with_state(state)
}

async fn invoke<F: Functions>(
    State(state): State<Arc<LambdaState<F>>>,
    Path(function): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = format!("00000000-0000-4000-8000-{:012x}", state.request_ids.fetch_add(1, Ordering::Relaxed));
    let mut response = respond(&state, &function, &uri, &headers, body).await;
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", id);
    }
    response
}

async fn respond<F: Functions>(
    state: &Arc<LambdaState<F>>,
    function: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let not_found = || {
        let arn = match FunctionRef::parse(function) {
            Some(f) if !function.starts_with("arn:") => {
                format!("arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}", state.region, f.name)
            }
            _ => function.to_string(),
        };
        user_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &format!("Function not found: {arn}"))
    };
    let Some(target) = FunctionRef::parse(function) else { return not_found() };
    // Only the unpublished version exists here; any other qualifier names a version or alias that does not.
    let qualifier = target.qualifier.or_else(|| query_param(uri, "Qualifier"));
    if qualifier.is_some_and(|q| q != "$LATEST" && q != "%24LATEST") || !state.functions.contains(target.name) {
        return not_found();
    }
    if let Some(authorizer) = &state.authorizer {
        let arn = format!("arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}", state.region, target.name);
        if let Some(refused) = authorize(authorizer, headers, uri, &arn) {
            return refused;
        }
    }
    // Lambda hands an empty payload to the function as an empty object.
    let payload = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(payload) => payload,
            Err(e) => {
                let message = format!("Could not parse request body into json: {e}");
                return user_error(StatusCode::BAD_REQUEST, "InvalidRequestContentException", &message);
            }
        }
    };
    let invocation_type =
        headers.get("X-Amz-Invocation-Type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse");
    match invocation_type {
        "RequestResponse" => {}
        "Event" => {
            // Asynchronous invocation: accepted now, run in the background, result discarded (as Lambda
            // does without a destination).
            let functions = Arc::clone(&state.functions);
            let name = target.name.to_string();
            tokio::spawn(async move {
                let _ = functions.invoke(&name, payload).await;
            });
            return with_version(StatusCode::ACCEPTED.into_response());
        }
        "DryRun" => return with_version(StatusCode::NO_CONTENT.into_response()),
        other => {
            let message = format!("Unsupported invocation type: {other}");
            return user_error(StatusCode::BAD_REQUEST, "InvalidParameterValueException", &message);
        }
    }
    let response = match state.functions.invoke(target.name, payload).await {
        Ok(result) => json_response(StatusCode::OK, &result),
        Err(e) => {
            let body = json!({"errorType": e.error_type, "errorMessage": e.error_message});
            let mut response = json_response(StatusCode::OK, &body);
            response.headers_mut().insert("X-Amz-Function-Error", HeaderValue::from_static("Unhandled"));
            response
        }
    };
    with_version(response)
}

/// The caller's `lambda:InvokeFunction` on `arn`, decided; the refusal as Lambda answers it.
fn authorize(authorizer: &local_iam::Authorizer, headers: &HeaderMap, uri: &Uri, arn: &str) -> Option<Response> {
    let signature = headers.get("authorization").and_then(|v| v.to_str().ok());
    let caller = match authorizer.caller(signature, uri.query()) {
        Ok(caller) => caller,
        Err(e) => {
            let message = format!("The security token included in the request is invalid ({e}).");
            return Some(user_error(StatusCode::FORBIDDEN, "UnrecognizedClientException", &message));
        }
    };
    let parameters = [("function_arn", arn)];
    let call = local_iam::Call::new("lambda", "Invoke", &parameters);
    let denial = match authorizer.authorize(caller, &call) {
        Ok(()) => return None,
        Err(local_iam::Denied::Refused(r)) => r.lambda(),
        Err(local_iam::Denied::Unmodelled(e)) => {
            return Some(user_error(StatusCode::FORBIDDEN, "AccessDeniedException", &e.to_string()));
        }
    };
    let mut response =
        (StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN), denial.body).into_response();
    for (name, value) in denial.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    Some(response)
}

fn with_version(mut response: Response) -> Response {
    response.headers_mut().insert("X-Amz-Executed-Version", HeaderValue::from_static("$LATEST"));
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let body = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    (status, [("Content-Type", "application/json")], body).into_response()
}

/// A service error as the Lambda API sends it (the SDK reads the type from the header).
fn user_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let mut response = json_response(status, &json!({"Type": "User", "message": message}));
    response.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(error_type));
    response
}

fn query_param<'u>(uri: &'u Uri, name: &str) -> Option<&'u str> {
    uri.query()?.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The Lambda endpoint of the local cloud. Dropping it stops the server.
#[derive(Debug)]
pub struct LocalLambda {
    server: ServerHandle,
}

impl LocalLambda {
    /// Serves the Invoke API for `functions` on 127.0.0.1 with a free port.
    pub async fn start<F: Functions>(functions: Arc<F>, region: &str) -> io::Result<(SocketAddr, LocalLambda)> {
        Self::start_on(functions, region, 0).await
    }

    /// [`LocalLambda::start`] on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on<F: Functions>(
        functions: Arc<F>,
        region: &str,
        port: u16,
    ) -> io::Result<(SocketAddr, LocalLambda)> {
        let server = ServerHandle::spawn_on(router(functions, region), port).await?;
        Ok((server.local_addr(), LocalLambda { server }))
    }

    /// As [`LocalLambda::start`], with IAM: the signer's policies decide each `lambda:InvokeFunction`.
    pub async fn start_enforcing<F: Functions>(
        functions: Arc<F>,
        region: &str,
        authorizer: Arc<local_iam::Authorizer>,
    ) -> io::Result<(SocketAddr, LocalLambda)> {
        Self::start_enforcing_on(functions, region, authorizer, 0).await
    }

    /// [`LocalLambda::start_enforcing`] on 127.0.0.1:`port` (0: a free port).
    pub async fn start_enforcing_on<F: Functions>(
        functions: Arc<F>,
        region: &str,
        authorizer: Arc<local_iam::Authorizer>,
        port: u16,
    ) -> io::Result<(SocketAddr, LocalLambda)> {
        let server = ServerHandle::spawn_on(router_with(functions, region, Some(authorizer)), port).await?;
        Ok((server.local_addr(), LocalLambda { server }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `http://127.0.0.1:<port>`, the value for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub async fn shutdown(self) -> io::Result<()> {
        self.server.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_arns_and_qualifiers() {
        let parse = |s| FunctionRef::parse(s).map(|f| (f.name, f.qualifier));
        assert_eq!(parse("f"), Some(("f", None)));
        assert_eq!(parse("f:$LATEST"), Some(("f", Some("$LATEST"))));
        assert_eq!(parse("123456789012:function:f"), Some(("f", None)));
        assert_eq!(parse("123456789012:function:f:prod"), Some(("f", Some("prod"))));
        assert_eq!(parse("arn:aws:lambda:us-east-1:123456789012:function:f"), Some(("f", None)));
        assert_eq!(parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:1"), Some(("f", Some("1"))));
        assert_eq!(parse("arn:aws:lambda:us-east-1:123456789012:function:f:"), Some(("f", None)));
        for bad in ["", "arn:aws:s3:::bucket", "arn:aws:lambda:us-east-1:123456789012:layer:l:1", "a:b:c:d:e"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
