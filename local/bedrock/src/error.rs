//! The service's error shapes: the name (`x-amzn-ErrorType`) and HTTP status come from the service
//! models (`error.httpStatusCode`), so the SDK parses each into its typed variant.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    Conflict,
    ResourceNotFound,
    AccessDenied,
    Throttling,
    InternalServer,
    ServiceQuotaExceeded,
    ServiceUnavailable,
    TooManyTags,
    ModelNotReady,
    ModelError,
    ModelTimeout,
    /// No operation is routed at this method and path.
    UnknownOperation,
}

impl ErrorKind {
    /// The shape name, as sent in `x-amzn-ErrorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "ValidationException",
            ErrorKind::Conflict => "ConflictException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::InternalServer => "InternalServerException",
            ErrorKind::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableException",
            ErrorKind::TooManyTags => "TooManyTagsException",
            ErrorKind::ModelNotReady => "ModelNotReadyException",
            ErrorKind::ModelError => "ModelErrorException",
            ErrorKind::ModelTimeout => "ModelTimeoutException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
        }
    }

    /// `error.httpStatusCode` of the shape in the service models.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Validation | ErrorKind::Conflict | ErrorKind::ServiceQuotaExceeded | ErrorKind::TooManyTags => {
                400
            }
            ErrorKind::AccessDenied => 403,
            ErrorKind::ResourceNotFound | ErrorKind::UnknownOperation => 404,
            ErrorKind::ModelTimeout => 408,
            ErrorKind::ModelError => 424,
            ErrorKind::Throttling | ErrorKind::ModelNotReady => 429,
            ErrorKind::InternalServer => 500,
            ErrorKind::ServiceUnavailable => 503,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the service reports it: a shape and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct BedrockError {
    pub kind: ErrorKind,
    pub message: String,
}

impl BedrockError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        BedrockError { kind, message: message.into() }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceNotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn quota(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServiceQuotaExceeded, message)
    }
}

/// Collects constraint violations and reports them the way AWS's front end does:
/// `2 validation errors detected: Value 'x' at 'jobName' failed to satisfy constraint: ...; ...`.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    pub fn null(&mut self, field: &str) {
        self.0.push(format!("Value null at '{field}' failed to satisfy constraint: Member must not be null"));
    }

    pub fn bad(&mut self, field: &str, value: &str, constraint: impl fmt::Display) {
        let shown: String = value.chars().take(256).collect();
        self.0.push(format!("Value '{shown}' at '{field}' failed to satisfy constraint: {constraint}"));
    }

    /// Checks a string's length bounds and pattern; `pattern` is shown in the message.
    pub fn string(&mut self, field: &str, value: &str, min: usize, max: usize, pattern: &str, ok: bool) {
        let len = value.chars().count();
        if len < min || len > max {
            let c = format!("Member must have length between {min} and {max}, inclusive");
            self.bad(field, value, c);
        } else if !ok {
            self.bad(field, value, format!("Member must satisfy regular expression pattern: {pattern}"));
        }
    }

    /// `clientRequestToken`, when given: 1-256 characters of the model's pattern.
    pub fn client_token(&mut self, token: Option<&str>) {
        if let Some(t) = token {
            self.string("clientRequestToken", t, 1, 256, crate::names::TOKEN, crate::names::is_token(t));
        }
    }

    pub fn required<'a>(&mut self, field: &str, value: Option<&'a str>) -> Option<&'a str> {
        if value.is_none() {
            self.null(field);
        }
        value
    }

    pub fn into_result(self) -> Result<(), BedrockError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(BedrockError::validation(format!("1 validation error detected: {}", self.0[0]))),
            n => Err(BedrockError::validation(format!("{n} validation errors detected: {}", self.0.join("; ")))),
        }
    }
}
