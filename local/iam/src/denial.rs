//! What each service answers when IAM denies a request, so a local denial reads like AWS's: the HTTP
//! status, headers and body of each protocol, with AWS's message:
//!
//! `User: <principal> is not authorized to perform: <action> on resource: <arn> because no
//! identity-based policy allows the <action> action` (implicit deny), or `... with an explicit deny in
//! an identity-based policy` / `... in a resource-based policy` (explicit deny).
//!
//! Sources: the Bedrock service models (AccessDeniedException: 403, `message`), AWS's S3 troubleshooting
//! guide (the resource quoted in S3's messages; HEAD answers carry no body), SNS's query-protocol
//! `ErrorResponse` with `AuthorizationError` (403) and the action spelled `SNS:Publish`, Lambda's 403 with
//! `{"Message"}`, and Step Functions' 400 `AccessDeniedException` under the coral `__type` its JSON 1.0
//! protocol shares with DynamoDB (captured from DynamoDB; no Step Functions capture was found).

use crate::eval::{Decision, PolicyKind, Principal, Verdict};

/// A complete HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// AWS's sentence for a denied request. `decision` must not be Allowed.
pub fn message(principal: &Principal, action: &str, resource: &str, decision: &Decision) -> String {
    sentence(&principal.arn(), action, resource, decision)
}

fn sentence(principal: &str, action: &str, resource: &str, decision: &Decision) -> String {
    let why = match (decision.verdict, decision.matched.as_ref().map(|m| m.kind)) {
        (Verdict::ExplicitDeny, Some(PolicyKind::Resource)) => {
            "with an explicit deny in a resource-based policy".to_string()
        }
        (Verdict::ExplicitDeny, _) => "with an explicit deny in an identity-based policy".to_string(),
        _ => format!("because no identity-based policy allows the {action} action"),
    };
    format!("User: {principal} is not authorized to perform: {action} on resource: {resource} {why}")
}

/// S3's 403 AccessDenied (REST XML). A HEAD request gets the status and headers only.
pub fn s3_access_denied(
    principal: &Principal,
    action: &str,
    resource: &str,
    decision: &Decision,
    request_id: &str,
    head: bool,
) -> Denial {
    let quoted = format!("\"{resource}\"");
    let text = sentence(&principal.arn(), action, &quoted, decision);
    let mut headers = vec![("x-amz-request-id", request_id.to_string())];
    if head {
        return Denial { status: 403, headers, body: String::new() };
    }
    headers.push(("content-type", "application/xml".into()));
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
        xml_escape(&text),
        xml_escape(request_id)
    );
    Denial { status: 403, headers, body }
}

/// What S3 answers for GetObject/HeadObject of a key that does not exist: 404 NoSuchKey only to a caller
/// that may `s3:ListBucket` the bucket; anyone else learns nothing and gets 403, as if denied the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKey {
    NoSuchKey,
    AccessDenied,
}

pub fn s3_missing_key(list_bucket: &Decision) -> MissingKey {
    if list_bucket.allowed() { MissingKey::NoSuchKey } else { MissingKey::AccessDenied }
}

/// Bedrock and Bedrock Runtime (REST JSON): 403 AccessDeniedException.
pub fn bedrock_access_denied(principal: &Principal, action: &str, resource: &str, decision: &Decision) -> Denial {
    rest_json_access_denied(serde_json::json!({"message": message(principal, action, resource, decision)}))
}

/// Lambda (REST JSON): 403 AccessDeniedException with `Message`.
pub fn lambda_access_denied(principal: &Principal, action: &str, resource: &str, decision: &Decision) -> Denial {
    rest_json_access_denied(
        serde_json::json!({"Type": "User", "Message": message(principal, action, resource, decision)}),
    )
}

/// REST JSON services name the error in `x-amzn-ErrorType`; only the body's field names differ.
fn rest_json_access_denied(body: serde_json::Value) -> Denial {
    Denial {
        status: 403,
        headers: vec![
            ("x-amzn-ErrorType", "AccessDeniedException".into()),
            ("content-type", "application/json".into()),
        ],
        body: body.to_string(),
    }
}

/// Step Functions (AWS JSON 1.0): 400 AccessDeniedException.
pub fn sfn_access_denied(principal: &Principal, action: &str, resource: &str, decision: &Decision) -> Denial {
    let body = serde_json::json!({
        "__type": "com.amazon.coral.service#AccessDeniedException",
        "Message": message(principal, action, resource, decision),
    })
    .to_string();
    Denial { status: 400, headers: vec![("content-type", "application/x-amz-json-1.0".into())], body }
}

/// SNS (query protocol): 403 AuthorizationError; SNS spells its actions `SNS:Publish`.
pub fn sns_authorization_error(
    principal: &Principal,
    action: &str,
    resource: &str,
    decision: &Decision,
    request_id: &str,
) -> Denial {
    let action = match action.split_once(':') {
        Some((service, name)) => format!("{}:{name}", service.to_ascii_uppercase()),
        None => action.to_string(),
    };
    let text = sentence(&principal.arn(), &action, resource, decision);
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_escape(&text),
        xml_escape(request_id)
    );
    Denial {
        status: 403,
        headers: vec![("x-amzn-RequestId", request_id.to_string()), ("content-type", "text/xml".into())],
        body,
    }
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Matched;

    fn principal() -> Principal {
        Principal::AssumedRole {
            partition: "aws".into(),
            account: "123456789012".into(),
            role_name: "finetune-TeardownFunctionRole".into(),
            session: "finetune-TeardownFunction".into(),
        }
    }

    fn implicit() -> Decision {
        Decision { verdict: Verdict::ImplicitDeny, matched: None }
    }

    fn explicit(kind: PolicyKind) -> Decision {
        Decision { verdict: Verdict::ExplicitDeny, matched: Some(Matched { kind, policy: "p".into(), sid: None }) }
    }

    const PT: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc";

    #[test]
    fn bedrock_says_who_what_and_why() {
        let d = bedrock_access_denied(&principal(), "bedrock:DeleteProvisionedModelThroughput", PT, &implicit());
        assert_eq!(d.status, 403);
        assert!(d.headers.contains(&("x-amzn-ErrorType", "AccessDeniedException".into())));
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(
            body["message"],
            "User: arn:aws:sts::123456789012:assumed-role/finetune-TeardownFunctionRole/finetune-TeardownFunction is not authorized to perform: bedrock:DeleteProvisionedModelThroughput on resource: arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc because no identity-based policy allows the bedrock:DeleteProvisionedModelThroughput action"
        );
        let d = bedrock_access_denied(
            &principal(),
            "bedrock:DeleteProvisionedModelThroughput",
            PT,
            &explicit(PolicyKind::Identity),
        );
        assert!(d.body.ends_with("on resource: arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc with an explicit deny in an identity-based policy\"}"), "{}", d.body);
    }

    #[test]
    fn s3_quotes_the_resource_and_head_has_no_body() {
        let object = "arn:aws:s3:::bucket/runs/r/summary.json";
        let d = s3_access_denied(&principal(), "s3:GetObject", object, &implicit(), "REQ1", false);
        assert_eq!(d.status, 403);
        assert!(d.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/"), "{}", d.body);
        assert!(d.body.contains("on resource: &quot;arn:aws:s3:::bucket/runs/r/summary.json&quot; because no identity-based policy allows the s3:GetObject action</Message><RequestId>REQ1</RequestId></Error>"), "{}", d.body);
        let head =
            s3_access_denied(&principal(), "s3:GetObject", object, &explicit(PolicyKind::Resource), "REQ2", true);
        assert_eq!((head.status, head.body.as_str()), (403, ""));
        assert_eq!(head.headers, [("x-amz-request-id", "REQ2".to_string())]);
        let d = s3_access_denied(&principal(), "s3:GetObject", object, &explicit(PolicyKind::Resource), "R", false);
        assert!(d.body.contains("with an explicit deny in a resource-based policy"), "{}", d.body);
    }

    #[test]
    fn s3_missing_key_depends_on_list_bucket() {
        let allowed = Decision { verdict: Verdict::Allowed, matched: None };
        assert_eq!(s3_missing_key(&allowed), MissingKey::NoSuchKey);
        assert_eq!(s3_missing_key(&implicit()), MissingKey::AccessDenied);
        assert_eq!(s3_missing_key(&explicit(PolicyKind::Resource)), MissingKey::AccessDenied);
    }

    #[test]
    fn step_functions_lambda_and_sns_shapes() {
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:finetune-pipeline";
        let d = sfn_access_denied(&principal(), "states:StartExecution", machine, &implicit());
        assert_eq!(d.status, 400);
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(body["__type"], "com.amazon.coral.service#AccessDeniedException");
        assert!(
            body["Message"].as_str().unwrap().contains("perform: states:StartExecution on resource: arn:aws:states:")
        );

        let function = "arn:aws:lambda:us-east-1:123456789012:function:finetune-EvaluateFunction";
        let d = lambda_access_denied(&principal(), "lambda:InvokeFunction", function, &implicit());
        assert_eq!(d.status, 403);
        assert!(d.headers.contains(&("x-amzn-ErrorType", "AccessDeniedException".into())));
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .ends_with("because no identity-based policy allows the lambda:InvokeFunction action")
        );

        let topic = "arn:aws:sns:us-east-1:123456789012:finetune-NotificationTopic";
        let d = sns_authorization_error(&principal(), "sns:Publish", topic, &implicit(), "R9");
        assert_eq!(d.status, 403);
        assert!(d.body.starts_with("<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError</Code>"));
        assert!(d.body.contains("is not authorized to perform: SNS:Publish on resource: arn:aws:sns:us-east-1:123456789012:finetune-NotificationTopic because no identity-based policy allows the SNS:Publish action</Message></Error><RequestId>R9</RequestId>"), "{}", d.body);
    }
}
