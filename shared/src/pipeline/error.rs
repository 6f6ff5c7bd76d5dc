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
    /// The customization job ended Failed or Stopped.
    #[error("{0}")]
    JobFailed(String),
    /// The provisioned throughput or on-demand deployment ended Failed or Stopped: the model was
    /// trained, only making it callable failed.
    #[error("{0}")]
    DeploymentFailed(String),
    /// A poll loop reached its bound while the job or deployment was still in progress (raised by the
    /// state machine).
    #[error("{0}")]
    PollingExhausted(String),
    /// The model did not beat its base model by the configured margin.
    #[error("{0}")]
    GateFailed(String),
    /// Too few samples were answered by both models for the gate to judge (raised by the state
    /// machine): neither a pass nor a failure; the deployment is treated as after a failed gate.
    #[error("{0}")]
    GateInconclusive(String),
    /// A bug or an unexpected answer; not retried.
    #[error("{0}")]
    Internal(String),
    /// Teardown could not remove what the run created (raised by the state machine): look at the
    /// summary's `failures` by hand.
    #[error("{0}")]
    TeardownFailed(String),
}

impl PipelineError {
    pub const THROTTLED: &'static str = "Throttled";
    pub const TRANSIENT: &'static str = "TransientError";
    pub const DATASET_INVALID: &'static str = "DatasetInvalid";
    pub const CONFIG_INVALID: &'static str = "ConfigInvalid";
    pub const QUOTA_EXCEEDED: &'static str = "QuotaExceeded";
    pub const ACCESS_DENIED: &'static str = "AccessDenied";
    pub const JOB_FAILED: &'static str = "JobFailed";
    pub const DEPLOYMENT_FAILED: &'static str = "DeploymentFailed";
    pub const POLLING_EXHAUSTED: &'static str = "PollingExhausted";
    pub const GATE_FAILED: &'static str = "GateFailed";
    pub const GATE_INCONCLUSIVE: &'static str = "GateInconclusive";
    pub const INTERNAL: &'static str = "InternalError";
    pub const TEARDOWN_FAILED: &'static str = "TeardownFailed";

    /// Names the state machine retries.
    pub const RETRYABLE: [&'static str; 2] = [Self::THROTTLED, Self::TRANSIENT];
    /// Every name, retryable or terminal.
    pub const ALL: [&'static str; 13] = [
        Self::THROTTLED,
        Self::TRANSIENT,
        Self::DATASET_INVALID,
        Self::CONFIG_INVALID,
        Self::QUOTA_EXCEEDED,
        Self::ACCESS_DENIED,
        Self::JOB_FAILED,
        Self::DEPLOYMENT_FAILED,
        Self::POLLING_EXHAUSTED,
        Self::GATE_FAILED,
        Self::GATE_INCONCLUSIVE,
        Self::INTERNAL,
        Self::TEARDOWN_FAILED,
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
            PipelineError::DeploymentFailed(_) => Self::DEPLOYMENT_FAILED,
            PipelineError::PollingExhausted(_) => Self::POLLING_EXHAUSTED,
            PipelineError::GateFailed(_) => Self::GATE_FAILED,
            PipelineError::GateInconclusive(_) => Self::GATE_INCONCLUSIVE,
            PipelineError::Internal(_) => Self::INTERNAL,
            PipelineError::TeardownFailed(_) => Self::TEARDOWN_FAILED,
        }
    }

    /// The same error name (so Retry and Catch still match it) with its message rewritten, e.g. with
    /// what failed in front.
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> PipelineError {
        use PipelineError::*;
        match self {
            Throttled(m) => Throttled(f(m)),
            Transient(m) => Transient(f(m)),
            DatasetInvalid(m) => DatasetInvalid(f(m)),
            ConfigInvalid(m) => ConfigInvalid(f(m)),
            QuotaExceeded(m) => QuotaExceeded(f(m)),
            AccessDenied(m) => AccessDenied(f(m)),
            JobFailed(m) => JobFailed(f(m)),
            DeploymentFailed(m) => DeploymentFailed(f(m)),
            PollingExhausted(m) => PollingExhausted(f(m)),
            GateFailed(m) => GateFailed(f(m)),
            GateInconclusive(m) => GateInconclusive(f(m)),
            Internal(m) => Internal(f(m)),
            TeardownFailed(m) => TeardownFailed(f(m)),
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
        let named = PipelineError::DeploymentFailed("ended Failed".into()).map_message(|m| format!("dep: {m}"));
        assert_eq!((named.error_type(), named.to_string().as_str()), ("DeploymentFailed", "dep: ended Failed"));
    }
}
