//! `trainingDataConfig.invocationLogsConfig`: a DISTILLATION job trained on the account's model
//! invocation logs. The request's shape is checked as the service model constrains it; then the log
//! objects under `invocationLogSource.s3Uri` are listed and read from the store (`.json.gz` as Bedrock
//! writes them, or plain JSON / JSON Lines), each `ModelInvocationLog` record's prompt kept when the
//! request-metadata filters keep it (`shared::invocation_logs`, the reader validate-split counts with).
//! No prompt, or more than Bedrock's 15K, refuses the job. With `usePromptResponse` the logged answers
//! are the training targets; without, the prompts train as a prompts-only dataset does here (no teacher
//! is called).

use serde_json::Value;
use shared::catalogue::Model;
use shared::invocation_logs::{self as logs, Entry, LogScan, RequestMetadataFilters};

use crate::emulator::Emulator;
use crate::error::{BedrockError, Violations};
use crate::names;
use crate::standin::Example;
use crate::store::S3Uri;

const FIELD: &str = "trainingDataConfig.invocationLogsConfig";

/// A checked `invocationLogsConfig`.
#[derive(Debug, Clone)]
pub(crate) struct LogsRequest {
    pub uri: String,
    pub use_prompt_response: bool,
    pub filters: Option<RequestMetadataFilters>,
}

/// The config's constraints, each as the front end reports it; `None` when one is broken.
pub(crate) fn check(config: &Value, v: &mut Violations) -> Option<LogsRequest> {
    let source = config.get("invocationLogSource").filter(|s| !s.is_null());
    let uri = match source.map(|s| s.get("s3Uri").and_then(Value::as_str)) {
        None => {
            v.null(&format!("{FIELD}.invocationLogSource"));
            None
        }
        Some(None) => {
            // A union: s3Uri is its only member.
            v.null(&format!("{FIELD}.invocationLogSource.s3Uri"));
            None
        }
        Some(Some(uri)) => {
            let field = format!("{FIELD}.invocationLogSource.s3Uri");
            v.string(&field, uri, 1, 1024, names::S3_URI, names::is_s3_uri(uri));
            Some(uri.to_string())
        }
    };
    let use_prompt_response = match config.get("usePromptResponse") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            v.bad(&format!("{FIELD}.usePromptResponse"), &other.to_string(), "Member must be a boolean");
            false
        }
    };
    let filters = match config.get("requestMetadataFilters").filter(|f| !f.is_null()) {
        None => None,
        Some(raw) => match serde_json::from_value::<RequestMetadataFilters>(raw.clone()) {
            Ok(filters) => {
                for (field, message) in filters.problems(&format!("{FIELD}.requestMetadataFilters")) {
                    v.bad(&field, "[...]", message);
                }
                Some(filters)
            }
            Err(e) => {
                v.bad(
                    &format!("{FIELD}.requestMetadataFilters"),
                    &raw.to_string(),
                    format!("Member must be a union with exactly one of equals, notEquals, andAll, orAll set ({e})"),
                );
                None
            }
        },
    };
    uri.map(|uri| LogsRequest { uri, use_prompt_response, filters })
}

/// What the logs give a job.
pub(crate) struct LogData {
    pub scan: LogScan,
    pub examples: Vec<Example>,
}

impl Emulator {
    /// The log objects under `uri`, as the store lists them.
    pub(crate) fn log_keys(&self, uri: &str) -> Option<(String, Vec<String>)> {
        let s3 = S3Uri::parse(uri)?;
        let keys = self.inner.store.list(&s3.bucket, &s3.key).into_iter().filter(|k| logs::is_log_key(k)).collect();
        Some((s3.bucket, keys))
    }

    /// Reads the logs and keeps the prompts the filters keep; a refusal is Bedrock's ValidationException.
    pub(crate) fn read_logs(&self, request: &LogsRequest, model: &Model) -> Result<LogData, BedrockError> {
        let Some((bucket, keys)) = self.log_keys(&request.uri) else {
            return Err(BedrockError::validation(format!(
                "The invocation log location {} is not an S3 URI.",
                request.uri
            )));
        };
        if keys.is_empty() {
            return Err(BedrockError::validation(format!(
                "No invocation logs were found at {}. Check that model invocation logging delivers to this S3 location \
                 and that the role can read it.",
                request.uri
            )));
        }
        let mut scan = LogScan::default();
        let mut examples = Vec::new();
        let filters = request.filters.as_ref();
        for key in keys {
            let Some(bytes) = self.inner.store.get(&bucket, &key) else { continue };
            scan.objects += 1;
            let read = logs::decoded(&bytes[..]).and_then(|decoded| {
                logs::for_each_record(decoded, |record| {
                    scan.add(record, filters, request.use_prompt_response, &model.tokens);
                    if !request.use_prompt_response {
                        return;
                    }
                    if let Entry::Prompt { metadata, prompt } = logs::entry(record)
                        && filters.is_none_or(|f| f.keeps(&metadata))
                        && let (Some(user), Some(answer)) = (prompt.last_user(), prompt.response.as_ref())
                    {
                        let prompt_text = match &prompt.system {
                            Some(system) => format!("{system}\n{user}"),
                            None => user.to_string(),
                        };
                        examples.push(Example { prompt: prompt_text, completion: answer.clone() });
                    }
                })
                .map_err(std::io::Error::other)
            });
            if read.is_err() {
                scan.unreadable_objects += 1;
                scan.first_unreadable.get_or_insert(key);
            }
        }
        if scan.prompts == 0 {
            return Err(BedrockError::validation(format!(
                "No prompts in the invocation logs at {} match the request metadata filters ({} log records read). \
                 Adjust requestMetadataFilters or the S3 location.",
                request.uri, scan.records
            )));
        }
        if scan.prompts > logs::MAX_PROMPTS {
            return Err(BedrockError::validation(format!(
                "The invocation logs at {} hold {} prompts that match the request metadata filters; a distillation job \
                 accepts at most {}. Narrow requestMetadataFilters.",
                request.uri,
                scan.prompts,
                logs::MAX_PROMPTS
            )));
        }
        Ok(LogData { scan, examples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_config_is_checked_as_the_service_model_constrains_it() {
        let mut v = Violations::default();
        let ok = check(
            &json!({"invocationLogSource": {"s3Uri": "s3://logs-b/AWSLogs/"}, "usePromptResponse": true,
                    "requestMetadataFilters": {"equals": {"project": "a"}}}),
            &mut v,
        )
        .unwrap();
        assert!(v.into_result().is_ok());
        assert!(ok.use_prompt_response && ok.filters.is_some());

        let mut v = Violations::default();
        assert!(check(&json!({"usePromptResponse": "yes"}), &mut v).is_none());
        let message = v.into_result().unwrap_err().message;
        assert!(message.starts_with("2 validation errors detected"), "{message}");
        assert!(message.contains(
            "invocationLogsConfig.invocationLogSource' failed to satisfy constraint: Member must not be null"
        ));

        let mut v = Violations::default();
        check(
            &json!({"invocationLogSource": {"s3Uri": "s3://b/p/"},
                    "requestMetadataFilters": {"andAll": [{"equals": {"a": "1", "b": "2"}}]}}),
            &mut v,
        );
        let message = v.into_result().unwrap_err().message;
        assert!(message.contains("requestMetadataFilters.andAll[0].equals"), "{message}");

        let mut v = Violations::default();
        check(
            &json!({"invocationLogSource": {"s3Uri": "s3://b/p/"},
                    "requestMetadataFilters": {"equals": {"a": "1"}, "orAll": []}}),
            &mut v,
        );
        assert!(v.into_result().unwrap_err().message.contains("exactly one of"));
    }
}
