//! SNS on loopback, for clients outside the process (`finetune local serve`): the query protocol
//! (form-encoded `Action=...` requests, XML answers) for the operations a script uses on the stack's
//! topic: Publish, ListTopics, GetTopicAttributes. What is published goes to a callback (the local
//! cloud keeps it beside teardown's notifications); there are no subscriptions to deliver to.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

const XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

type OnPublish = dyn Fn(&str, &str, &str) + Send + Sync;

struct Sns {
    topics: Vec<String>,
    on_publish: Box<OnPublish>,
    next_id: AtomicU64,
}

/// Serves SNS on `listener` until the task is dropped. `topics` are the topic ARNs that exist;
/// `on_publish(topic, subject, message)` receives each published message.
pub async fn serve_sns(
    listener: TcpListener,
    topics: Vec<String>,
    on_publish: impl Fn(&str, &str, &str) + Send + Sync + 'static,
) -> io::Result<()> {
    let state = Arc::new(Sns { topics, on_publish: Box::new(on_publish), next_id: AtomicU64::new(1) });
    let router = Router::new().fallback(handle).with_state(state);
    axum::serve(listener, router).await
}

async fn handle(State(sns): State<Arc<Sns>>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let get = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let request_id = format!("local-{:08}", sns.next_id.fetch_add(1, Ordering::Relaxed));
    let action = get("Action").unwrap_or_default();
    let result = match action {
        "Publish" => publish(&sns, get("TopicArn"), get("Subject"), get("Message")),
        "ListTopics" => {
            let members: String =
                sns.topics.iter().map(|t| format!("<member><TopicArn>{}</TopicArn></member>", escape(t))).collect();
            Ok(format!("<Topics>{members}</Topics>"))
        }
        "GetTopicAttributes" => topic(&sns, get("TopicArn")).map(|arn| {
            let entry = |k: &str, v: &str| format!("<entry><key>{k}</key><value>{}</value></entry>", escape(v));
            let name = arn.rsplit(':').next().unwrap_or_default();
            format!(
                "<Attributes>{}{}{}</Attributes>",
                entry("TopicArn", arn),
                entry("DisplayName", name),
                entry("SubscriptionsConfirmed", "0")
            )
        }),
        other => Err((StatusCode::BAD_REQUEST, "InvalidAction", format!("the local SNS does not implement {other:?}"))),
    };
    let xml = match result {
        Ok(inner) => format!(
            "<{action}Response xmlns=\"{XMLNS}\"><{action}Result>{inner}</{action}Result>\
             <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
        ),
        Err((status, code, message)) => {
            return xml_response(
                status,
                format!(
                    "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
                     <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                    escape(&message)
                ),
            );
        }
    };
    xml_response(StatusCode::OK, xml)
}

type Failure = (StatusCode, &'static str, String);

fn topic<'a>(sns: &'a Sns, arn: Option<&str>) -> Result<&'a str, Failure> {
    let arn = arn.ok_or((StatusCode::BAD_REQUEST, "InvalidParameter", "TopicArn is required".to_string()))?;
    sns.topics.iter().find(|t| *t == arn).map(String::as_str).ok_or((
        StatusCode::NOT_FOUND,
        "NotFound",
        "Topic does not exist".to_string(),
    ))
}

fn publish(sns: &Sns, arn: Option<&str>, subject: Option<&str>, message: Option<&str>) -> Result<String, Failure> {
    let arn = topic(sns, arn)?;
    let message = message.filter(|m| !m.is_empty()).ok_or((
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "Invalid parameter: Empty message".to_string(),
    ))?;
    (sns.on_publish)(arn, subject.unwrap_or_default(), message);
    let id = sns.next_id.fetch_add(1, Ordering::Relaxed);
    Ok(format!("<MessageId>00000000-0000-4000-8000-{id:012}</MessageId>"))
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| shared::aws::decode_form_component(&String::from_utf8_lossy(s));
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let key = decode(parts.next().unwrap_or_default());
            let value = decode(parts.next().unwrap_or_default());
            (key, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_as_the_sdk_encodes_them() {
        let form = parse_form(b"Action=Publish&Message=a+b%2Cc%3D%C3%A9&Subject=&TopicArn=arn%3Aaws%3Asns%3At");
        assert_eq!(
            form,
            vec![
                ("Action".into(), "Publish".into()),
                ("Message".into(), "a b,c=\u{e9}".into()),
                ("Subject".into(), String::new()),
                ("TopicArn".into(), "arn:aws:sns:t".into()),
            ]
        );
        assert_eq!(parse_form(b"a=%4"), vec![("a".into(), "%4".into())]);
    }
}
