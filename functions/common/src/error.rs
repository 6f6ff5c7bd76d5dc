//! One mapping from Rust errors to the names Step Functions Retry/Catch match, and one from AWS SDK
//! errors to those names.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;
use shared::pipeline::PipelineError;

/// The error every handler returns. Its `error_type` is the [`PipelineError`] name, which is what the
/// state machine's Retry and Catch match (a newtype because `Diagnostic` and `PipelineError` are both
/// foreign here).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(transparent)]
pub struct LambdaError(#[from] pub PipelineError);

impl LambdaError {
    pub fn error_type(&self) -> &'static str {
        self.0.error_type()
    }
}

/// Most characters of an error message a handler returns. It becomes the task's and often the
/// execution's Cause, is carried in state data (256 KiB in all) and published to the topic (256 KB): a
/// hostile input quoted back, or thousands of problems listed, must not push any of them past its limit.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 4096;

/// `message` cut to [`MAX_ERROR_MESSAGE_CHARS`], saying how much was left out.
pub fn bounded_message(message: String) -> String {
    let total = message.chars().count();
    if total <= MAX_ERROR_MESSAGE_CHARS {
        return message;
    }
    let kept: String = message.chars().take(MAX_ERROR_MESSAGE_CHARS).collect();
    format!("{kept}… ({} more characters cut)", total - MAX_ERROR_MESSAGE_CHARS)
}

impl From<LambdaError> for Diagnostic {
    fn from(err: LambdaError) -> Diagnostic {
        Diagnostic { error_type: err.0.error_type().to_string(), error_message: bounded_message(err.0.to_string()) }
    }
}

/// The HTTP status of a raw response, when the SDK got one.
pub trait HttpStatus {
    fn http_status(&self) -> Option<u16>;
}

impl HttpStatus for HttpResponse {
    fn http_status(&self) -> Option<u16> {
        Some(self.status().as_u16())
    }
}

const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "TooManyRequests",
    "SlowDown",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];
const TRANSIENT: &[&str] = &[
    "InternalServerException",
    "InternalServerError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ModelNotReadyException",
    "ModelTimeoutException",
];
const QUOTA: &[&str] = &["ServiceQuotaExceededException", "LimitExceededException", "ExecutionLimitExceeded"];
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    // SNS's name for an IAM denial.
    "AuthorizationError",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
];
/// Wrong input on our side: a name, an ARN, a missing dataset or resource.
const CONFIG: &[&str] = &[
    "ValidationException",
    "ResourceNotFoundException",
    "TooManyTagsException",
    "NoSuchKey",
    "NoSuchBucket",
    "NotFound",
    "InvalidArn",
    "InvalidName",
    "InvalidExecutionInput",
    "StateMachineDoesNotExist",
];

/// Maps an SDK error to the pipeline's error names by the service's error code (then by HTTP
/// status); the message names the operation and what the service said.
pub fn sdk_error<E, R>(operation: &str, err: SdkError<E, R>) -> PipelineError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    let detail = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("");
            let said = ctx.err().message().unwrap_or("");
            let status = ctx.raw().http_status();
            let what = match (code, said) {
                ("", "") => format!("{operation} failed with HTTP {}", status.unwrap_or(0)),
                ("", m) => format!("{operation} failed: {m}"),
                (c, "") => format!("{operation} failed: {c}"),
                (c, m) => format!("{operation} failed: {c}: {m}"),
            };
            classify(code, status, what)
        }
        SdkError::TimeoutError(_) => PipelineError::Transient(format!("{operation} timed out: {detail}")),
        SdkError::DispatchFailure(d) if d.is_user() => {
            PipelineError::Internal(format!("{operation} could not be sent: {detail}"))
        }
        SdkError::DispatchFailure(_) => {
            PipelineError::Transient(format!("{operation} could not reach the service: {detail}"))
        }
        // A truncated or garbled response: the next attempt usually gets a whole one.
        SdkError::ResponseError(_) => {
            PipelineError::Transient(format!("{operation} got an unreadable response: {detail}"))
        }
        SdkError::ConstructionFailure(_) => {
            PipelineError::Internal(format!("{operation} could not be built: {detail}"))
        }
        _ => PipelineError::Internal(format!("{operation} failed: {detail}")),
    }
}

fn classify(code: &str, status: Option<u16>, message: String) -> PipelineError {
    let is = |set: &[&str]| set.contains(&code);
    if is(THROTTLED) {
        PipelineError::Throttled(message)
    } else if is(TRANSIENT) {
        PipelineError::Transient(message)
    } else if is(QUOTA) {
        PipelineError::QuotaExceeded(message)
    } else if is(DENIED) {
        PipelineError::AccessDenied(message)
    } else if is(CONFIG) {
        PipelineError::ConfigInvalid(message)
    } else {
        match status {
            Some(429) => PipelineError::Throttled(message),
            Some(s) if s >= 500 => PipelineError::Transient(message),
            Some(403) if code.is_empty() => PipelineError::AccessDenied(message),
            Some(404) if code.is_empty() => PipelineError::ConfigInvalid(message),
            _ => PipelineError::Internal(message),
        }
    }
}

/// Whether a create call failed because its name is taken, by Bedrock's answer (see
/// [`shared::aws::is_name_taken`]): the caller then looks the resource up by name.
pub fn is_name_taken<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .is_some_and(|e| shared::aws::is_name_taken(e.code().unwrap_or(""), e.message().unwrap_or("")))
}

/// `client.op().send().await.or_pipeline("Op")?`
pub trait SdkResultExt<T> {
    fn or_pipeline(self, operation: &str) -> Result<T, PipelineError>;
}

impl<T, E, R> SdkResultExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    fn or_pipeline(self, operation: &str) -> Result<T, PipelineError> {
        self.map_err(|e| sdk_error(operation, e))
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;

    #[test]
    fn a_huge_message_is_cut_to_the_bound_and_says_so() {
        let huge = LambdaError(PipelineError::ConfigInvalid("é".repeat(300_000)));
        let d = Diagnostic::from(huge);
        assert_eq!(d.error_type, "ConfigInvalid");
        assert!(d.error_message.chars().count() < MAX_ERROR_MESSAGE_CHARS + 64, "{}", d.error_message.len());
        assert!(
            d.error_message.ends_with("more characters cut)"),
            "{}",
            &d.error_message[d.error_message.len() - 40..]
        );
        let small = Diagnostic::from(LambdaError(PipelineError::Throttled("slow".into())));
        assert_eq!(small.error_message, "slow");
    }

    #[test]
    fn an_s3_5xx_on_any_read_is_retryable_never_a_config_error() {
        // A sidecar (or dataset) read answered 500 InternalError or 503 SlowDown: the state's Retry
        // (PipelineError::RETRYABLE, checked for every Lambda task by tests/tests/contract.rs) repeats it.
        for (code, status) in [("InternalError", 500), ("SlowDown", 503), ("ServiceUnavailable", 503), ("", 502)] {
            let err = classify(code, Some(status), format!("GetObject (sidecar) failed: {code}"));
            assert!(PipelineError::RETRYABLE.contains(&err.error_type()), "{code} {status}: {err:?}");
        }
        assert_eq!(classify("NoSuchKey", Some(404), String::new()).error_type(), "ConfigInvalid");
    }
}
