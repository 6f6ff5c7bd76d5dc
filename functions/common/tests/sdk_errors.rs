//! The SDK error mapping, driven through a real (mocked) S3 client.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use functions_common::{LambdaError, SdkResultExt, is_name_taken};
use lambda_runtime::Diagnostic;
use shared::pipeline::PipelineError;

async fn mapped(code: &str) -> PipelineError {
    let code = code.to_string();
    let rule = mock!(Client::get_object).then_error(move || {
        GetObjectError::generic(ErrorMetadata::builder().code(code.clone()).message("the service said so").build())
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule], |c| c.retry_config(RetryConfig::disabled()));
    client.get_object().bucket("b").key("k").send().await.or_pipeline("GetObject").unwrap_err()
}

#[tokio::test]
async fn service_codes_map_to_the_names_the_state_machine_matches() {
    let cases = [
        ("ThrottlingException", "Throttled"),
        ("TooManyRequestsException", "Throttled"),
        ("SlowDown", "Throttled"),
        ("InternalServerException", "TransientError"),
        ("ServiceUnavailable", "TransientError"),
        ("ServiceQuotaExceededException", "QuotaExceeded"),
        ("AccessDeniedException", "AccessDenied"),
        ("ValidationException", "ConfigInvalid"),
        ("ResourceNotFoundException", "ConfigInvalid"),
        ("SomethingNew", "InternalError"),
    ];
    for (code, name) in cases {
        let err = mapped(code).await;
        assert_eq!(err.error_type(), name, "{code}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("GetObject") && msg.contains("the service said so") && msg.contains(code), "{msg}");
    }
}

#[tokio::test]
async fn http_status_decides_when_there_is_no_code() {
    for (status, name) in [(503, "TransientError"), (500, "TransientError"), (429, "Throttled"), (403, "AccessDenied")]
    {
        let rule = mock!(Client::get_object).sequence().http_status(status, None).build();
        // No SDK retries: each status is seen once.
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule], |c| c.retry_config(RetryConfig::disabled()));
        let err = client.get_object().bucket("b").key("k").send().await.or_pipeline("GetObject").unwrap_err();
        assert_eq!(err.error_type(), name, "{status}: {err}");
        assert!(err.to_string().contains(&status.to_string()), "{err}");
    }
}

#[test]
fn lambda_errors_become_diagnostics_with_the_pipeline_name() {
    let d: Diagnostic = LambdaError::from(PipelineError::Throttled("slow down".into())).into();
    assert_eq!((d.error_type.as_str(), d.error_message.as_str()), ("Throttled", "slow down"));
    for name in PipelineError::ALL {
        let err = match name {
            "Throttled" => PipelineError::Throttled("m".into()),
            "TransientError" => PipelineError::Transient("m".into()),
            "DatasetInvalid" => PipelineError::DatasetInvalid("m".into()),
            "ConfigInvalid" => PipelineError::ConfigInvalid("m".into()),
            "QuotaExceeded" => PipelineError::QuotaExceeded("m".into()),
            "AccessDenied" => PipelineError::AccessDenied("m".into()),
            "JobFailed" => PipelineError::JobFailed("m".into()),
            "DeploymentFailed" => PipelineError::DeploymentFailed("m".into()),
            "PollingExhausted" => PipelineError::PollingExhausted("m".into()),
            "GateFailed" => PipelineError::GateFailed("m".into()),
            "GateInconclusive" => PipelineError::GateInconclusive("m".into()),
            "TeardownFailed" => PipelineError::TeardownFailed("m".into()),
            _ => PipelineError::Internal("m".into()),
        };
        assert_eq!(Diagnostic::from(LambdaError(err)).error_type, name);
    }
}

/// The SDK error a call gets back for a service answer with this code and message.
async fn answered(code: &'static str, message: &'static str) -> aws_sdk_s3::error::SdkError<GetObjectError> {
    let rule = mock!(Client::get_object)
        .then_error(move || GetObjectError::generic(ErrorMetadata::builder().code(code).message(message).build()));
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule], |c| c.retry_config(RetryConfig::disabled()));
    client.get_object().bucket("b").key("k").send().await.unwrap_err()
}

#[tokio::test]
async fn a_taken_name_is_recognized_from_bedrocks_answer() {
    assert!(is_name_taken(&answered("ValidationException", shared::aws::JOB_NAME_IN_USE).await));
    assert!(is_name_taken(&answered("ConflictException", "conflict while performing an operation").await));
    assert!(!is_name_taken(
        &answered("ValidationException", "Value 'x' at 'jobName' failed to satisfy constraint").await
    ));
    assert!(!is_name_taken(&answered("ThrottlingException", "Rate exceeded").await));
    // No answer at all (here: a 503 without a body) is never a taken name.
    let rule = mock!(Client::get_object).sequence().http_status(503, None).build();
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule], |c| c.retry_config(RetryConfig::disabled()));
    assert!(!is_name_taken(&client.get_object().bucket("b").key("k").send().await.unwrap_err()));
}
