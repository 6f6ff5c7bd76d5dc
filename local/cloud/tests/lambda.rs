//! The Lambda Invoke API over plain HTTP/1.1, as aws-local-stepfunctions and the SDK send it.

use std::net::SocketAddr;
use std::sync::Arc;

use local_cloud::{FunctionError, FunctionRegistry, LocalLambda};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One request on its own connection (`Connection: close`, so the reply ends at EOF).
async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked") {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 4 + size..];
    }
}

async fn start() -> (SocketAddr, LocalLambda, mpsc::UnboundedReceiver<Value>) {
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let functions = FunctionRegistry::new()
        .register("validate-split", |event: Value| async move { Ok(json!({"received": event})) })
        .register("start-training", |_| async {
            Err(FunctionError::new("Throttled", "Rate exceeded for CreateModelCustomizationJob"))
        })
        .register("record", move |event: Value| {
            let seen_tx = seen_tx.clone();
            async move {
                seen_tx.send(event).unwrap();
                Ok(Value::Null)
            }
        });
    let (addr, lambda) = LocalLambda::start(Arc::new(functions), "us-east-1").await.unwrap();
    assert_eq!(lambda.url(), format!("http://{addr}"));
    (addr, lambda, seen)
}

/// The Invoke path; a `?query` after the function moves to the end.
fn invocations(function: &str) -> String {
    let (function, query) = function.split_once('?').map_or((function, None), |(f, q)| (f, Some(q)));
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("/2015-03-31/functions/{function}/invocations{query}")
}

#[tokio::test]
async fn success_by_name_answers_the_result() {
    let (addr, _lambda, _) = start().await;
    let reply = post(addr, &invocations("validate-split"), &[], r#"{"dataset": "s3://b/incoming/x.jsonl"}"#).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"received": {"dataset": "s3://b/incoming/x.jsonl"}}));
    assert_eq!(reply.header("X-Amz-Executed-Version"), Some("$LATEST"));
    assert_eq!(reply.header("X-Amz-Function-Error"), None);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert!(reply.header("x-amzn-RequestId").is_some());
}

#[tokio::test]
async fn url_encoded_arns_route_to_the_function() {
    let (addr, _lambda, _) = start().await;
    for function in [
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Avalidate-split",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Avalidate-split%3A%24LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:validate-split",
        "123456789012%3Afunction%3Avalidate-split",
        "validate-split?Qualifier=%24LATEST",
    ] {
        let reply = post(addr, &invocations(function), &[], r#"{"n": 1}"#).await;
        assert_eq!(reply.status, 200, "{function}");
        assert_eq!(reply.json(), json!({"received": {"n": 1}}), "{function}");
    }
}

#[tokio::test]
async fn handler_errors_answer_200_with_the_function_error_header() {
    let (addr, _lambda, _) = start().await;
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Astart-training";
    let reply = post(addr, &invocations(arn), &[], "{}").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(reply.header("X-Amz-Executed-Version"), Some("$LATEST"));
    assert_eq!(
        reply.json(),
        json!({"errorType": "Throttled", "errorMessage": "Rate exceeded for CreateModelCustomizationJob"})
    );
}

#[tokio::test]
async fn unknown_functions_and_qualifiers_are_not_found() {
    let (addr, _lambda, _) = start().await;
    let reply = post(addr, &invocations("missing"), &[], "{}").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("x-amzn-ErrorType"), Some("ResourceNotFoundException"));
    assert_eq!(
        reply.json(),
        json!({"Type": "User", "message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing"})
    );

    let arn = "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Amissing";
    let reply = post(addr, &invocations(arn), &[], "{}").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["message"], "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:missing");

    for function in ["validate-split%3Aprod", "validate-split?Qualifier=7", "arn%3Aaws%3As3%3A%3A%3Ab"] {
        let reply = post(addr, &invocations(function), &[], "{}").await;
        assert_eq!(reply.status, 404, "{function}");
        assert_eq!(reply.header("x-amzn-ErrorType"), Some("ResourceNotFoundException"), "{function}");
    }

    // Other paths are not the Invoke API at all.
    assert_eq!(post(addr, "/2015-03-31/functions/validate-split", &[], "{}").await.status, 404);
}

#[tokio::test]
async fn payload_edge_cases_and_invocation_types() {
    let (addr, _lambda, mut seen) = start().await;
    // An empty payload reaches the function as {}.
    let reply = post(addr, &invocations("validate-split"), &[], "").await;
    assert_eq!(reply.json(), json!({"received": {}}));

    let reply = post(addr, &invocations("validate-split"), &[], "{not json").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-amzn-ErrorType"), Some("InvalidRequestContentException"));
    assert_eq!(reply.json()["Type"], "User");

    let reply = post(addr, &invocations("record"), &[("X-Amz-Invocation-Type", "Event")], r#"{"async": true}"#).await;
    assert_eq!(reply.status, 202);
    assert!(reply.body.is_empty());
    assert_eq!(seen.recv().await, Some(json!({"async": true})));

    let reply = post(addr, &invocations("record"), &[("X-Amz-Invocation-Type", "DryRun")], "{}").await;
    assert_eq!(reply.status, 204);
    let reply = post(addr, &invocations("missing"), &[("X-Amz-Invocation-Type", "DryRun")], "{}").await;
    assert_eq!(reply.status, 404);
    let reply = post(addr, &invocations("record"), &[("X-Amz-Invocation-Type", "Sometimes")], "{}").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-amzn-ErrorType"), Some("InvalidParameterValueException"));
    // Neither the dry run nor the refused type ran the function.
    assert!(seen.try_recv().is_err());

    // A null result is the JSON null, as Lambda returns it.
    let reply = post(addr, &invocations("record"), &[], "[1, 2]").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"null");
    assert_eq!(seen.recv().await, Some(json!([1, 2])));
}
