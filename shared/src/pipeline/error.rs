//! The `error_type` a Lambda reports, matched by the state machine's Retry and Catch.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// AWS throttled us; retried with backoff.
    #[error("{0}")]
    Throttled(String),
    /// A 5xx, a timeout, a dropped connection; retried.
    #[error("{0}")]
    Transient(String),
    /// The dataset breaks Bedrock's rules; the cause names the first errors and the report.
    #[error("{0}")]
    DatasetInvalid(String),
    /// The effective configuration is wrong (model, type, hyperparameters, names, missing input).
    #[error("{0}")]
    ConfigInvalid(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    AccessDenied(String),
    /// The customization job, throughput or deployment ended Failed.
    #[error("{0}")]
    JobFailed(String),
    /// The model did not beat its base model by the configured margin.
    #[error("{0}")]
    GateFailed(String),
    /// A bug or an unexpected answer; not retried.
    #[error("{0}")]
    Internal(String),
}

impl PipelineError {
    pub const THROTTLED: &'static str = "Throttled";
    pub const TRANSIENT: &'static str = "TransientError";
    pub const DATASET_INVALID: &'static str = "DatasetInvalid";
    pub const CONFIG_INVALID: &'static str = "ConfigInvalid";
    pub const QUOTA_EXCEEDED: &'static str = "QuotaExceeded";
    pub const ACCESS_DENIED: &'static str = "AccessDenied";
    pub const JOB_FAILED: &'static str = "JobFailed";
    pub const GATE_FAILED: &'static str = "GateFailed";
    pub const INTERNAL: &'static str = "InternalError";

    /// Names the state machine retries.
    pub const RETRYABLE: [&'static str; 2] = [Self::THROTTLED, Self::TRANSIENT];
    /// Every name, retryable or terminal.
    pub const ALL: [&'static str; 9] = [
        Self::THROTTLED,
        Self::TRANSIENT,
        Self::DATASET_INVALID,
        Self::CONFIG_INVALID,
        Self::QUOTA_EXCEEDED,
        Self::ACCESS_DENIED,
        Self::JOB_FAILED,
        Self::GATE_FAILED,
        Self::INTERNAL,
    ];

    /// The `error_type` a Lambda reports (Step Functions' `Error`).
    pub fn error_type(&self) -> &'static str {
        match self {
            PipelineError::Throttled(_) => Self::THROTTLED,
            PipelineError::Transient(_) => Self::TRANSIENT,
            PipelineError::DatasetInvalid(_) => Self::DATASET_INVALID,
            PipelineError::ConfigInvalid(_) => Self::CONFIG_INVALID,
            PipelineError::QuotaExceeded(_) => Self::QUOTA_EXCEEDED,
            PipelineError::AccessDenied(_) => Self::ACCESS_DENIED,
            PipelineError::JobFailed(_) => Self::JOB_FAILED,
            PipelineError::GateFailed(_) => Self::GATE_FAILED,
            PipelineError::Internal(_) => Self::INTERNAL,
        }
    }

    pub fn is_retryable(&self) -> bool {
        Self::RETRYABLE.contains(&self.error_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_unique_and_only_throttled_and_transient_retry() {
        let mut names = PipelineError::ALL.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PipelineError::ALL.len());
        assert!(PipelineError::Throttled("x".into()).is_retryable());
        assert!(PipelineError::Transient("x".into()).is_retryable());
        assert!(!PipelineError::JobFailed("x".into()).is_retryable());
        assert_eq!(PipelineError::DatasetInvalid("x".into()).error_type(), "DatasetInvalid");
    }
}
