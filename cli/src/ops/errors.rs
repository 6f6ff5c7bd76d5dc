//! AWS's refusals, said the same way by every operating command, whenever they come: credentials
//! that expired in the middle of a watch, a role without the permission one call needs. Such an
//! error names the action, the target (stack, region, profile) and what to do, and exits 2 (a
//! problem with how the command was run, not with the run); anything else stays a failure (exit 1).

use super::target::Cloud;
use crate::output::CliError;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};

/// Error codes that mean the credentials themselves were refused (expired, unknown, badly signed).
const CREDENTIAL_CODES: [&str; 9] = [
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "RequestExpired",
    "IncompleteSignature",
];

/// Error codes that mean the identity lacks a permission.
const DENIED_CODES: [&str; 4] = ["AccessDenied", "AccessDeniedException", "AuthorizationError", "Forbidden"];

/// What kind of refusal an error is, from its code and, when the SDK could not even sign the call
/// (the credential provider failed: an SSO session ended), from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Credentials,
    Denied,
}

pub fn refusal(code: Option<&str>, text: &str) -> Option<Refusal> {
    match code {
        Some(c) if CREDENTIAL_CODES.contains(&c) => Some(Refusal::Credentials),
        Some(c) if DENIED_CODES.contains(&c) => Some(Refusal::Denied),
        Some(_) => None,
        None => {
            let text = text.to_ascii_lowercase();
            let about_signing = ["provider", "expired", "loading", "no credentials"].iter().any(|w| text.contains(w));
            (text.contains("credential") && about_signing).then_some(Refusal::Credentials)
        }
    }
}

/// `error` while doing `action` against `cloud`: a refusal exits 2 with what to do; anything else is
/// a failure with the SDK's whole chain.
pub fn aws_error<E>(cloud: &Cloud, action: &str, error: &E) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code();
    let detail = match (code, error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(error).to_string(),
    };
    let whose = cloud.whose();
    match refusal(code, &detail) {
        Some(Refusal::Credentials) => CliError::usage(format!(
            "{action}: AWS refused the credentials of {whose} ({detail})"
        ))
        .with_hint(match &cloud.local_dir {
            Some(dir) => format!(
                "the local cloud accepts only the credentials in {}/env: source that file, or restart \
                     `finetune local serve`",
                dir.display()
            ),
            None => format!(
                "sign in again (`aws sso login{}`, or refresh AWS_SESSION_TOKEN), then repeat the command; \
                     the run itself goes on",
                cloud.profile.as_deref().map(|p| format!(" --profile {p}")).unwrap_or_default()
            ),
        }),
        Some(Refusal::Denied) => CliError::usage(format!("{action}: {whose} is not allowed to ({detail})"))
            .with_hint("ask for the permission this call needs (the message names it), or use a profile that has it"),
        None => CliError::failure(format!("{action} ({}): {}", cloud.label, DisplayErrorContext(error))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Exit, Stdout};
    use clap::Parser;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    /// One service's refusal, as AWS words it on that service's protocol.
    #[derive(Clone, Copy)]
    enum Wire {
        /// restXml (S3).
        Xml,
        /// awsJson1_0 (Step Functions).
        Json10,
        /// restJson1 (Bedrock, Bedrock Runtime).
        RestJson,
    }

    fn response(wire: Wire, code: &str, message: &str) -> String {
        let (status, content_type, header, body) = match wire {
            Wire::Xml => (
                403,
                "application/xml",
                String::new(),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>r1</RequestId></Error>"
                ),
            ),
            Wire::Json10 => (
                400,
                "application/x-amz-json-1.0",
                String::new(),
                format!("{{\"__type\":\"com.amazon.coral.service#{code}\",\"message\":\"{message}\"}}"),
            ),
            Wire::RestJson => (
                403,
                "application/json",
                format!("x-amzn-ErrorType: {code}:http://internal.amazon.com/coral/com.amazon.coral.service/\r\n"),
                format!("{{\"message\":\"{message}\"}}"),
            ),
        };
        format!(
            "HTTP/1.1 {status} Refused\r\ncontent-type: {content_type}\r\n{header}x-amzn-requestid: r1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// A server on loopback that refuses every request the way `wire` does; returns its URL.
    fn refusing(wire: Wire, code: &'static str, message: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                // The request is read (until the client pauses) so a body being sent is not cut off.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                let mut buf = [0u8; 65536];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                let _ = stream.write_all(response(wire, code, message).as_bytes());
            }
        });
        url
    }

    /// DIR/env naming servers that refuse with `code` (S3's own spelling for S3).
    fn refusing_cloud(dir: &std::path::Path, s3_code: &'static str, code: &'static str) {
        let message = "The security token included in the request is expired";
        let env = format!(
            "export AWS_REGION='us-east-1'\nexport AWS_ENDPOINT_URL_S3='{}'\nexport AWS_ENDPOINT_URL_SFN='{}'\n\
             export AWS_ENDPOINT_URL_BEDROCK='{}'\nexport AWS_ENDPOINT_URL_BEDROCK_RUNTIME='{}'\n\
             export BucketName='finetune-local'\nexport StateMachineArn='arn:aws:states:us-east-1:123456789012:stateMachine:finetune'\n",
            refusing(Wire::Xml, s3_code, message),
            refusing(Wire::Json10, code, message),
            refusing(Wire::RestJson, code, message),
            refusing(Wire::RestJson, code, message),
        );
        std::fs::write(dir.join("env"), env).unwrap();
    }

    fn run(args: &[&str]) -> Result<Exit, CliError> {
        let cli = crate::Cli::try_parse_from(std::iter::once("finetune").chain(args.iter().copied())).unwrap();
        crate::dispatch(cli, &mut Stdout::new())
    }

    #[test]
    fn a_late_refusal_in_any_command_names_the_action_and_target_and_exits_2() {
        let dir = tempfile::tempdir().unwrap();
        refusing_cloud(dir.path(), "ExpiredToken", "ExpiredTokenException");
        let local = dir.path().to_str().unwrap();
        let prompts = dir.path().join("prompts.txt");
        std::fs::write(&prompts, "hello\n").unwrap();
        let prompts = prompts.to_str().unwrap();
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/support-tickets.jsonl");
        let page = dir.path().join("page.html");
        let page = page.to_str().unwrap();
        let arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc";
        let commands: [(&[&str], &str); 11] = [
            (&["runs"], "listing the runs"),
            (&["status", "r-1"], "reading the run's history"),
            (&["status", "r-1", "--watch"], "reading the run's history"),
            (&["stop", "r-1"], "stopping run r-1"),
            (&["submit", sample], "uploading to s3://finetune-local/incoming/support-tickets.jsonl"),
            (&["metrics", "r-1"], "listing s3://finetune-local/runs/r-1/output/"),
            (&["ask", "amazon.nova-micro-v1:0", "hello"], "asking "),
            (&["compare", arn, "--base", "amazon.nova-micro-v1:0", "--prompts", prompts], "asking "),
            (&["cost", "r-1"], "reading the run's history"),
            (&["report", "r-1", "--out", page], "reading s3://finetune-local/runs/r-1/report.html"),
            (&["status", "r-1", "--json"], "reading the run's history"),
        ];
        for (args, action) in commands {
            let mut all = args.to_vec();
            all.extend(["--local", local]);
            let error = run(&all).expect_err(&format!("{args:?} succeeded against a refusing cloud"));
            assert_eq!(error.exit, Exit::Usage, "{args:?}: {}", error.message);
            assert!(error.message.starts_with(action), "{args:?}: {}", error.message);
            assert!(error.message.contains("refused the credentials"), "{args:?}: {}", error.message);
            assert!(error.message.contains("ExpiredToken"), "{args:?}: {}", error.message);
            assert!(
                error.message.contains(local) && error.message.contains("us-east-1"),
                "{args:?}: {}",
                error.message
            );
            assert!(error.hint.as_deref().unwrap_or_default().contains("env"), "{args:?}");
        }
    }

    #[test]
    fn a_missing_permission_is_said_as_such_and_bedrocks_calls_too() {
        let dir = tempfile::tempdir().unwrap();
        refusing_cloud(dir.path(), "AccessDenied", "AccessDeniedException");
        let error = run(&["runs", "--local", dir.path().to_str().unwrap()]).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.message.contains("is not allowed to (AccessDeniedException"), "{}", error.message);
        // Bedrock's control plane (what `cost` and `status --watch` read) is mapped the same way.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let cloud = rt
            .block_on(crate::ops::target::resolve(&crate::ops::target::TargetArgs {
                local: Some(dir.path().to_path_buf()),
                ..Default::default()
            }))
            .unwrap();
        let error = rt.block_on(super::super::live::resources(&cloud, "r-1", None, None)).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.message.starts_with("listing the provisioned throughputs: "), "{}", error.message);
        assert!(error.message.contains("AccessDeniedException"), "{}", error.message);
    }

    #[test]
    fn a_stack_target_names_the_profile() {
        let cloud = Cloud {
            sdk: aws_config::SdkConfig::builder().region(aws_config::Region::new("eu-west-1")).build(),
            outputs: crate::ops::target::StackOutputs {
                bucket: "b".into(),
                state_machine_arn: "arn:aws:states:eu-west-1:1:stateMachine:m".into(),
                topic_arn: None,
                role_arn: None,
            },
            local_dir: None,
            label: "stack finetune in eu-west-1".into(),
            profile: Some("dev".into()),
        };
        let error = aws_sdk_s3::error::SdkError::<aws_sdk_s3::operation::get_object::GetObjectError, ()>::service_error(
            aws_sdk_s3::operation::get_object::GetObjectError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder().code("ExpiredToken").message("expired").build(),
            ),
            (),
        );
        let cli = aws_error(&cloud, "reading s3://b/k", &error);
        assert_eq!(cli.exit, Exit::Usage);
        assert_eq!(
            cli.message,
            "reading s3://b/k: AWS refused the credentials of profile `dev` in eu-west-1 (stack finetune in eu-west-1) \
             (ExpiredToken: expired)"
        );
        assert!(cli.hint.unwrap().contains("aws sso login --profile dev"));
    }

    #[test]
    fn codes_and_signing_failures_are_told_apart() {
        assert_eq!(refusal(Some("ExpiredTokenException"), ""), Some(Refusal::Credentials));
        assert_eq!(refusal(Some("ExpiredToken"), ""), Some(Refusal::Credentials));
        assert_eq!(refusal(Some("AccessDeniedException"), ""), Some(Refusal::Denied));
        assert_eq!(refusal(Some("ThrottlingException"), "credentials provider"), None);
        assert_eq!(
            refusal(None, "dispatch failure: an error occurred while loading credentials: the SSO token expired"),
            Some(Refusal::Credentials)
        );
        assert_eq!(refusal(None, "connection refused"), None);
    }
}
