//! Bedrock model invocation logs as a DISTILLATION source (`trainingDataConfig.invocationLogsConfig`):
//! the request-metadata filters (Bedrock's `RequestMetadataFilters` union, checked against the API
//! model's bounds), the log records (`schemaType` `ModelInvocationLog`, one JSON object each, as Bedrock
//! writes them under `AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/` as `.json.gz`)
//! and the prompts in them. validate-split counts what a job would read before anything is spent; the
//! local Bedrock trains on the same prompts. Both read through here, so they agree on every record.
//!
//! Filters: `equals` keeps a record whose metadata has the key with exactly that value; `notEquals`
//! keeps one whose metadata does not (a record without the key is kept: its value is not the one
//! named); `andAll` keeps a record every base filter keeps, `orAll` one any keeps. A base filter with
//! both `equals` and `notEquals` keeps a record both keep (the API model allows both in one).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};

/// Bedrock's limit: "a maximum of 15K prompts or prompt-response pairs" per distillation job.
pub const MAX_PROMPTS: u64 = 15_000;
/// `RequestMetadataFiltersList`: 1 to 16 base filters.
pub const MAX_BASE_FILTERS: usize = 16;
/// `RequestMetadataMapKeyString`/`ValueString`: at most 256 characters.
pub const MAX_METADATA_CHARS: usize = 256;
/// The `schemaType` of a model invocation record.
pub const SCHEMA_TYPE: &str = "ModelInvocationLog";

/// One metadata pair (`RequestMetadataMap`: exactly one key and value).
pub type MetadataMap = BTreeMap<String, String>;

/// `RequestMetadataFilters`: exactly one of its members, in Bedrock's own (camelCase) spelling, so a
/// filter written for the API is written the same way in a run's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum RequestMetadataFilters {
    Equals(MetadataMap),
    NotEquals(MetadataMap),
    AndAll(Vec<RequestMetadataBaseFilters>),
    OrAll(Vec<RequestMetadataBaseFilters>),
}

/// `RequestMetadataBaseFilters`: `equals` and/or `notEquals`, one pair each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestMetadataBaseFilters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<MetadataMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<MetadataMap>,
}

/// `[a-zA-Z0-9\s._:/=+$@-]`, the character class of both the key and the value patterns.
fn is_metadata_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+$@-".contains(c)
}

/// The problems of one `RequestMetadataMap` at `field`: exactly one pair, a key of 1-256 and a value of
/// 0-256 characters of the allowed class.
fn map_problems(field: &str, map: &MetadataMap, out: &mut Vec<(String, String)>) {
    if map.len() != 1 {
        out.push((
            field.to_string(),
            format!(
                "holds {} pairs; Bedrock takes exactly one key and value here (use andAll/orAll for more)",
                map.len()
            ),
        ));
    }
    for (key, value) in map {
        let shown = crate::pipeline::clip(key, 40);
        let key_chars = key.chars().count();
        if key_chars == 0 || key_chars > MAX_METADATA_CHARS || !key.chars().all(is_metadata_char) {
            out.push((
                field.to_string(),
                format!(
                    "key `{shown}` must be 1-{MAX_METADATA_CHARS} letters, digits, spaces and . _ : / = + $ @ - \
                     (Bedrock's pattern [a-zA-Z0-9\\s._:/=+$@-])"
                ),
            ));
        }
        if value.chars().count() > MAX_METADATA_CHARS || !value.chars().all(is_metadata_char) {
            out.push((
                format!("{field}.{shown}"),
                format!(
                    "value `{}` must be 0-{MAX_METADATA_CHARS} letters, digits, spaces and . _ : / = + $ @ -",
                    crate::pipeline::clip(value, 40)
                ),
            ));
        }
    }
}

impl RequestMetadataFilters {
    /// Every way the filters break the API model's constraints, as (field path under `field`, message).
    pub fn problems(&self, field: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self {
            RequestMetadataFilters::Equals(m) => map_problems(&format!("{field}.equals"), m, &mut out),
            RequestMetadataFilters::NotEquals(m) => map_problems(&format!("{field}.notEquals"), m, &mut out),
            RequestMetadataFilters::AndAll(list) | RequestMetadataFilters::OrAll(list) => {
                let name = if matches!(self, RequestMetadataFilters::AndAll(_)) { "andAll" } else { "orAll" };
                let at = format!("{field}.{name}");
                if list.is_empty() || list.len() > MAX_BASE_FILTERS {
                    out.push((
                        at.clone(),
                        format!("holds {} filters; Bedrock takes 1 to {MAX_BASE_FILTERS}", list.len()),
                    ));
                }
                for (i, base) in list.iter().enumerate() {
                    let at = format!("{at}[{i}]");
                    if base.equals.is_none() && base.not_equals.is_none() {
                        out.push((at.clone(), "is empty; give `equals` or `notEquals`".to_string()));
                    }
                    if let Some(m) = &base.equals {
                        map_problems(&format!("{at}.equals"), m, &mut out);
                    }
                    if let Some(m) = &base.not_equals {
                        map_problems(&format!("{at}.notEquals"), m, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Whether a record with this request metadata is read (see the module documentation).
    pub fn keeps(&self, metadata: &MetadataMap) -> bool {
        match self {
            RequestMetadataFilters::Equals(m) => equals(m, metadata),
            RequestMetadataFilters::NotEquals(m) => !equals(m, metadata),
            RequestMetadataFilters::AndAll(list) => list.iter().all(|b| b.keeps(metadata)),
            RequestMetadataFilters::OrAll(list) => list.iter().any(|b| b.keeps(metadata)),
        }
    }
}

impl RequestMetadataBaseFilters {
    fn keeps(&self, metadata: &MetadataMap) -> bool {
        let has_any = self.equals.is_some() || self.not_equals.is_some();
        has_any
            && self.equals.as_ref().is_none_or(|m| equals(m, metadata))
            && self.not_equals.as_ref().is_none_or(|m| !equals(m, metadata))
    }
}

/// Every pair of `filter` is in `metadata` with the same value.
fn equals(filter: &MetadataMap, metadata: &MetadataMap) -> bool {
    filter.iter().all(|(k, v)| metadata.get(k) == Some(v))
}

/// A prompt found in a log record: the text a model was asked (system text first), and the logged
/// answer when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedPrompt {
    pub system: Option<String>,
    /// The conversation's turns, in order, as (role, text).
    pub turns: Vec<(String, String)>,
    pub response: Option<String>,
}

impl LoggedPrompt {
    /// The prompt as one text: the system text, then every turn.
    pub fn prompt_text(&self) -> String {
        let mut parts: Vec<&str> = self.system.iter().map(String::as_str).collect();
        parts.extend(self.turns.iter().map(|(_, t)| t.as_str()));
        parts.join("\n")
    }

    /// The last user turn (what the answer answers).
    pub fn last_user(&self) -> Option<&str> {
        self.turns.iter().rev().find(|(r, _)| r == "user").map(|(_, t)| t.as_str())
    }
}

/// Why a record gives no prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// Not a `ModelInvocationLog` object (another schema, or not an object at all).
    NotAnInvocation,
    /// The invocation failed (`errorCode`): nothing was answered.
    Failed,
    /// The request body is of a shape this reader does not know (images, embeddings, another family).
    UnknownShape,
}

/// What one log record is.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Prompt { metadata: MetadataMap, prompt: LoggedPrompt },
    Skipped(Skip),
}

/// One record as Bedrock logs it: `schemaType`, `operation`, `modelId`, `input.inputBodyJson`,
/// `output.outputBodyJson`, `requestMetadata`.
pub fn entry(record: &Value) -> Entry {
    if record.get("schemaType").and_then(Value::as_str) != Some(SCHEMA_TYPE) {
        return Entry::Skipped(Skip::NotAnInvocation);
    }
    if record.get("errorCode").is_some_and(|e| !e.is_null()) {
        return Entry::Skipped(Skip::Failed);
    }
    let metadata: MetadataMap = record
        .get("requestMetadata")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default();
    let Some(input) = record.pointer("/input/inputBodyJson") else { return Entry::Skipped(Skip::UnknownShape) };
    let Some((system, turns)) = prompt_of(input) else { return Entry::Skipped(Skip::UnknownShape) };
    let response = record.pointer("/output/outputBodyJson").and_then(response_of);
    Entry::Prompt { metadata, prompt: LoggedPrompt { system, turns, response } }
}

/// Text of a `content` (or `system`) that is a string or a list of `{"text": ...}` blocks (or plain
/// strings), the blocks joined by newlines; `None` for any other value. The local Bedrock reads
/// training records' content the same way.
pub fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => Some(
            blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str).or_else(|| b.as_str()))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

/// [`content_text`] when it holds some text (not an image or a document only).
fn text_of(content: &Value) -> Option<String> {
    content_text(content).filter(|text| !text.trim().is_empty())
}

/// A conversation's turns as (role, text).
type Turns = Vec<(String, String)>;

/// The prompt of a request body: Converse and Nova (`system` blocks, `messages` of content blocks),
/// Anthropic's Messages API (`system` string, `messages` of strings or blocks), Llama (`prompt`),
/// Titan Text (`inputText`).
fn prompt_of(body: &Value) -> Option<(Option<String>, Turns)> {
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        let system = body.get("system").and_then(text_of);
        let mut turns = Vec::new();
        for m in messages {
            let role = m.get("role").and_then(Value::as_str)?;
            turns.push((role.to_string(), m.get("content").and_then(text_of)?));
        }
        return turns.iter().any(|(r, _)| r == "user").then_some((system, turns));
    }
    let single = body.get("prompt").or_else(|| body.get("inputText")).and_then(Value::as_str)?;
    (!single.trim().is_empty()).then(|| (None, vec![("user".to_string(), single.to_string())]))
}

/// The answer of a response body, in the same families: Converse/Nova `output.message.content`,
/// Anthropic `content`, Llama `generation`, Titan `results[0].outputText`.
fn response_of(body: &Value) -> Option<String> {
    body.pointer("/output/message/content")
        .or_else(|| body.get("content"))
        .and_then(text_of)
        .or_else(|| body.get("generation").and_then(Value::as_str).map(str::to_string))
        .or_else(|| body.pointer("/results/0/outputText").and_then(Value::as_str).map(str::to_string))
        .filter(|t| !t.trim().is_empty())
}

/// Whether a key under the log prefix is a log object Bedrock writes (`.json.gz`), or a plain JSON or
/// JSON Lines file of the same records.
pub fn is_log_key(key: &str) -> bool {
    [".json.gz", ".jsonl.gz", ".json", ".jsonl"].iter().any(|s| key.ends_with(s))
}

/// The object's bytes, gunzipped when they are gzip (by their magic bytes, whatever the key says), as
/// a stream: nothing is held but the decoder's window.
pub fn decoded<'a, R: Read + 'a>(reader: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        // Concatenated gzip members are one stream, as gunzip reads them.
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Every record of one (decoded) log object, one JSON value at a time (one per line, or pretty-printed:
/// whitespace between values is all the same to the reader). A value that is not JSON ends the object:
/// `Err` with what was read so far counted by the caller.
pub fn for_each_record(reader: impl Read, mut each: impl FnMut(&Value)) -> Result<u64, serde_json::Error> {
    let mut n = 0;
    for value in serde_json::Deserializer::from_reader(reader).into_iter::<Value>() {
        each(&value?);
        n += 1;
    }
    Ok(n)
}

/// A digest of a log listing, (key, ETag) pairs in any order: new, changed or removed logs change it.
pub fn listing_digest<'a>(objects: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = objects.into_iter().collect();
    pairs.sort_unstable();
    let mut text = String::new();
    for (key, etag) in pairs {
        text.push_str(key);
        text.push('\t');
        text.push_str(etag);
        text.push('\n');
    }
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

/// What reading the logs found, for a run's report and its checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogScan {
    /// Log objects read.
    pub objects: u64,
    pub records: u64,
    /// Prompts the filters keep: what a job would train on.
    pub prompts: u64,
    /// Prompts the filters leave out.
    pub filtered_out: u64,
    /// Records that gave no prompt, by why.
    pub skipped: BTreeMap<Skip, u64>,
    /// Objects that stopped on bytes that are not JSON (or not gzip), with the first one's key.
    pub unreadable_objects: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_unreadable: Option<String>,
    /// Kept prompts that carry a logged answer (used as targets with `use_prompt_response`).
    pub with_response: u64,
    /// Estimated tokens of the kept prompts (and their logged answers with `use_prompt_response`).
    pub tokens: u64,
}

impl LogScan {
    /// Counts one record.
    pub fn add(
        &mut self,
        record: &Value,
        filters: Option<&RequestMetadataFilters>,
        use_prompt_response: bool,
        estimate: &crate::catalogue::TokenEstimate,
    ) {
        self.records += 1;
        match entry(record) {
            Entry::Skipped(why) => *self.skipped.entry(why).or_default() += 1,
            Entry::Prompt { metadata, prompt } => {
                if filters.is_some_and(|f| !f.keeps(&metadata)) {
                    self.filtered_out += 1;
                    return;
                }
                self.prompts += 1;
                self.with_response += u64::from(prompt.response.is_some());
                let mut size = crate::tokens::TextSize::of(&prompt.prompt_text());
                if use_prompt_response && let Some(r) = &prompt.response {
                    size.add(crate::tokens::TextSize::of(r));
                }
                self.tokens += size.tokens(estimate);
            }
        }
    }

    /// Why a job could not train on these logs, in Bedrock's terms: no prompt kept, or more than
    /// [`MAX_PROMPTS`]. `None` when it could.
    pub fn refusal(&self, location: &str) -> Option<String> {
        if self.prompts == 0 {
            let skipped: u64 = self.skipped.values().sum();
            return Some(format!(
                "no prompt in the invocation logs under {location} matches: {} log objects, {} records, {} left out by \
                 the request metadata filters, {skipped} without a readable prompt{}; check the filters \
                 (invocation_logs.request_metadata_filters) and that model invocation logging writes there",
                self.objects,
                self.records,
                self.filtered_out,
                self.first_unreadable.as_ref().map(|k| format!(", unreadable object {k}")).unwrap_or_default()
            ));
        }
        if self.prompts > MAX_PROMPTS {
            return Some(format!(
                "{} prompts in the invocation logs under {location} match the filters; Bedrock distils from at most \
                 {MAX_PROMPTS}: narrow invocation_logs.request_metadata_filters",
                self.prompts
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn meta(pairs: &[(&str, &str)]) -> MetadataMap {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn filters(v: Value) -> RequestMetadataFilters {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn filters_keep_records_as_bedrock_documents_them() {
        let prod = meta(&[("env", "prod"), ("team", "a")]);
        let dev = meta(&[("env", "dev")]);
        let none = MetadataMap::new();
        let eq = filters(json!({"equals": {"env": "prod"}}));
        assert!(eq.keeps(&prod) && !eq.keeps(&dev) && !eq.keeps(&none));
        let ne = filters(json!({"notEquals": {"env": "prod"}}));
        assert!(!ne.keeps(&prod) && ne.keeps(&dev) && ne.keeps(&none), "a record without the key is not equal");
        let and = filters(json!({"andAll": [{"equals": {"env": "prod"}}, {"notEquals": {"team": "b"}}]}));
        assert!(and.keeps(&prod) && !and.keeps(&dev));
        let and_fails = filters(json!({"andAll": [{"equals": {"env": "prod"}}, {"equals": {"team": "b"}}]}));
        assert!(!and_fails.keeps(&prod));
        let or = filters(json!({"orAll": [{"equals": {"env": "dev"}}, {"equals": {"team": "a"}}]}));
        assert!(or.keeps(&prod) && or.keeps(&dev) && !or.keeps(&none));
        let both = filters(json!({"andAll": [{"equals": {"env": "prod"}, "notEquals": {"team": "a"}}]}));
        assert!(!both.keeps(&prod), "a base filter with both members needs both");
    }

    #[test]
    fn filters_are_a_union_of_exactly_one_member_in_bedrocks_spelling() {
        assert!(
            serde_json::from_value::<RequestMetadataFilters>(json!({"equals": {"a": "b"}, "notEquals": {"a": "c"}}))
                .is_err()
        );
        assert!(serde_json::from_value::<RequestMetadataFilters>(json!({"not_equals": {"a": "b"}})).is_err());
        let f = filters(json!({"orAll": [{"notEquals": {"a": "b"}}]}));
        assert_eq!(serde_json::to_value(&f).unwrap(), json!({"orAll": [{"notEquals": {"a": "b"}}]}));
    }

    #[test]
    fn filter_problems_name_the_path_and_the_api_models_bound() {
        assert!(filters(json!({"equals": {"project": "support-bot v2"}})).problems("f").is_empty());
        let two = filters(json!({"equals": {"a": "1", "b": "2"}})).problems("f");
        assert_eq!(two[0].0, "f.equals");
        assert!(two[0].1.contains("exactly one"), "{two:?}");
        let bad_key = filters(json!({"notEquals": {"a;b": "1"}})).problems("f");
        assert_eq!(bad_key[0].0, "f.notEquals");
        let long_value = filters(json!({"equals": {"k": "v".repeat(257)}})).problems("f");
        assert_eq!(long_value[0].0, "f.equals.k");
        let many: Vec<Value> = (0..17).map(|i| json!({"equals": {"k": i.to_string()}})).collect();
        let too_many = filters(json!({"andAll": many})).problems("f");
        assert_eq!(too_many.len(), 1);
        assert!(too_many[0].1.contains("1 to 16"), "{too_many:?}");
        let empty = filters(json!({"orAll": []})).problems("f");
        assert_eq!(empty[0].0, "f.orAll");
        let hollow = filters(json!({"orAll": [{}]})).problems("f");
        assert_eq!(hollow[0].0, "f.orAll[0]");
        let empty_key = filters(json!({"equals": {"": "x"}})).problems("f");
        assert_eq!(empty_key.len(), 1);
    }

    fn record(operation: &str, input: Value, output: Value, metadata: Value) -> Value {
        json!({
            "schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": "2026-11-30T10:00:00Z",
            "accountId": "123456789012", "region": "us-east-1", "requestId": "r", "operation": operation,
            "modelId": "amazon.nova-pro-v1:0",
            "input": {"inputContentType": "application/json", "inputBodyJson": input, "inputTokenCount": 10},
            "output": {"outputContentType": "application/json", "outputBodyJson": output, "outputTokenCount": 5},
            "requestMetadata": metadata
        })
    }

    #[test]
    fn prompts_come_from_converse_and_each_families_invoke_body() {
        let converse = record(
            "Converse",
            json!({"system": [{"text": "Be brief."}], "messages": [{"role": "user", "content": [{"text": "Capital of France?"}]}]}),
            json!({"output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}}, "stopReason": "end_turn"}),
            json!({"env": "prod"}),
        );
        let Entry::Prompt { metadata, prompt } = entry(&converse) else { panic!("{converse}") };
        assert_eq!(metadata, meta(&[("env", "prod")]));
        assert_eq!(prompt.system.as_deref(), Some("Be brief."));
        assert_eq!(prompt.last_user(), Some("Capital of France?"));
        assert_eq!(prompt.response.as_deref(), Some("Paris."));
        assert_eq!(prompt.prompt_text(), "Be brief.\nCapital of France?");

        let claude = record(
            "InvokeModel",
            json!({"anthropic_version": "bedrock-2023-05-31", "system": "S", "messages": [{"role": "user", "content": "Q"}]}),
            json!({"content": [{"type": "text", "text": "A"}]}),
            Value::Null,
        );
        let Entry::Prompt { prompt, metadata } = entry(&claude) else { panic!() };
        assert!(metadata.is_empty());
        assert_eq!(
            (prompt.system.as_deref(), prompt.last_user(), prompt.response.as_deref()),
            (Some("S"), Some("Q"), Some("A"))
        );

        let llama =
            record("InvokeModel", json!({"prompt": "Q2", "max_gen_len": 9}), json!({"generation": "A2"}), json!({}));
        let Entry::Prompt { prompt, .. } = entry(&llama) else { panic!() };
        assert_eq!((prompt.last_user(), prompt.response.as_deref()), (Some("Q2"), Some("A2")));

        let titan =
            record("InvokeModel", json!({"inputText": "Q3"}), json!({"results": [{"outputText": "A3"}]}), json!({}));
        let Entry::Prompt { prompt, .. } = entry(&titan) else { panic!() };
        assert_eq!((prompt.last_user(), prompt.response.as_deref()), (Some("Q3"), Some("A3")));

        // A streamed answer is logged in chunks: the prompt is still there, the answer is not.
        let streamed =
            record("InvokeModelWithResponseStream", json!({"prompt": "Q4"}), json!([{"chunk": 1}]), json!({}));
        let Entry::Prompt { prompt, .. } = entry(&streamed) else { panic!() };
        assert_eq!(prompt.response, None);
    }

    #[test]
    fn records_without_a_text_prompt_are_skipped_by_reason() {
        let image = record(
            "Converse",
            json!({"messages": [{"role": "user", "content": [{"image": {"format": "png"}}]}]}),
            json!({}),
            json!({}),
        );
        assert_eq!(entry(&image), Entry::Skipped(Skip::UnknownShape));
        let embed =
            record("InvokeModel", json!({"texts": ["x"], "input_type": "search_document"}), json!({}), json!({}));
        assert_eq!(entry(&embed), Entry::Skipped(Skip::UnknownShape));
        let mut failed = record("Converse", json!({"messages": []}), json!({}), json!({}));
        failed["errorCode"] = json!("ThrottlingException");
        assert_eq!(entry(&failed), Entry::Skipped(Skip::Failed));
        assert_eq!(entry(&json!({"schemaType": "Other"})), Entry::Skipped(Skip::NotAnInvocation));
        assert_eq!(entry(&json!([1])), Entry::Skipped(Skip::NotAnInvocation));
    }

    #[test]
    fn gzip_and_plain_objects_read_the_same_records_one_at_a_time() {
        let a = record("InvokeModel", json!({"prompt": "a"}), json!({"generation": "x"}), json!({"k": "1"}));
        let b = record("InvokeModel", json!({"prompt": "b"}), json!({"generation": "y"}), json!({"k": "2"}));
        let plain = format!("{a}\n{}\n", serde_json::to_string_pretty(&b).unwrap());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(plain.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        for bytes in [plain.clone().into_bytes(), gz] {
            let mut scan = LogScan::default();
            let estimate = crate::catalogue::TokenEstimate {
                chars_per_token: 1.0,
                provenance: crate::catalogue::Provenance::Documented,
            };
            let f = filters(json!({"equals": {"k": "2"}}));
            let n =
                for_each_record(decoded(io::Cursor::new(bytes)).unwrap(), |r| scan.add(r, Some(&f), true, &estimate))
                    .unwrap();
            assert_eq!((n, scan.records, scan.prompts, scan.filtered_out, scan.with_response), (2, 2, 1, 1, 1));
            assert_eq!(scan.tokens, 2, "`b` and its answer `y`");
        }
        assert!(for_each_record(&b"{\"a\": 1}\nnot json"[..], |_| {}).is_err());
    }

    #[test]
    fn no_prompt_or_more_than_bedrock_takes_is_refused_naming_the_limit() {
        let mut scan = LogScan { objects: 2, records: 5, filtered_out: 5, ..LogScan::default() };
        assert!(scan.refusal("s3://logs/p/").unwrap().contains("no prompt in the invocation logs under s3://logs/p/"));
        scan.prompts = MAX_PROMPTS;
        assert_eq!(scan.refusal("x"), None);
        scan.prompts = MAX_PROMPTS + 1;
        assert!(scan.refusal("x").unwrap().contains("at most 15000"));
        assert!(is_log_key("AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/30/10/x.json.gz"));
        assert!(!is_log_key("AWSLogs/1/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check"));
        let digest = listing_digest([("a.json.gz", "e1"), ("b.json.gz", "e2")]);
        assert_eq!(digest, listing_digest([("b.json.gz", "e2"), ("a.json.gz", "e1")]), "order does not matter");
        assert_ne!(digest, listing_digest([("a.json.gz", "e1"), ("b.json.gz", "e3")]));
        assert_ne!(digest, listing_digest([("a.json.gz", "e1")]));
    }
}
