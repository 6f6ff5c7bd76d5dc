use super::*;
use aws_sdk_bedrockruntime::error::ErrorMetadata;
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseInput, ConverseOutput};
use aws_sdk_bedrockruntime::types::error::{AccessDeniedException, ThrottlingException};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseMetrics, ConverseOutput as Reply, Message, StopReason, TokenUsage,
};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use fixtures::{BUCKET, Poll, RUN_ID};
use functions_common::FixedClock;
use lambda_runtime::{Context, Diagnostic};
use shared::pipeline::Metric;
use std::sync::Mutex;
use std::time::Duration;

/// The on-demand id of the sample run's base model.
const BASE: &str = "amazon.nova-micro-v1:0";

/// The sample run's deployment, which evaluate asks as the tuned model.
const CUSTOM: &str = fixtures::DEPLOYMENT_ARN;

/// Four answerable records and one continued-pre-training line (skipped).
const VALIDATION: &str = r#"{"prompt": "Capital of France?", "completion": "Paris"}
{"prompt": "Capital of Italy?", "completion": "Rome"}
{"input": "no answer here"}
{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "Answer with a city."}], "messages": [{"role": "user", "content": [{"text": "Capital of Spain?"}]}, {"role": "assistant", "content": [{"text": "Madrid"}]}]}
{"prompt": "Capital of Japan?", "completion": "Tokyo"}
"#;

fn answer_for(question: &str) -> &'static str {
    match question {
        "Capital of France?" => "Paris.",
        "Capital of Italy?" => "Rome",
        "Capital of Spain?" => "Madrid",
        "Capital of Japan?" => "Tokyo",
        _ => "?",
    }
}

/// The sample run with its on-demand deployment ready, evaluated on up to 10 samples, 2 at a time, and
/// needing +0.2 to pass.
fn doc() -> RunDocument {
    fixtures::with_config(fixtures::after_check_deployment(DeploymentMode::OnDemand, Poll::Ready), |c| {
        c.evaluation.sample_size = 10;
        c.evaluation.concurrency = 2;
        c.evaluation.min_improvement = 0.2;
    })
}

fn reply(text: &str, latency_ms: i64) -> ConverseOutput {
    let message =
        Message::builder().role(ConversationRole::Assistant).content(ContentBlock::Text(text.into())).build().unwrap();
    ConverseOutput::builder()
        .output(Reply::Message(message))
        .stop_reason(StopReason::EndTurn)
        .usage(TokenUsage::builder().input_tokens(5).output_tokens(2).total_tokens(7).build().unwrap())
        .metrics(ConverseMetrics::builder().latency_ms(latency_ms).build().unwrap())
        .build()
        .unwrap()
}

fn last_user_text(input: &ConverseInput) -> String {
    let last = input.messages().last().expect("a message");
    assert_eq!(last.role(), &ConversationRole::User);
    match &last.content()[0] {
        ContentBlock::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    }
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn throttled() -> ConverseError {
    ConverseError::ThrottlingException(
        ThrottlingException::builder().meta(meta("ThrottlingException", "slow down")).build(),
    )
}

type Written = Arc<Mutex<BTreeMap<String, (String, String)>>>;

/// S3 mocks: the validation split, and PutObject recording (key -> (content type, body)).
fn s3_with(validation: &'static str) -> (aws_sdk_s3::Client, Written) {
    let written: Written = Arc::default();
    let get = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.bucket() == Some(BUCKET) && r.key() == Some(&format!("runs/{RUN_ID}/validation.jsonl")))
        .then_output(move || GetObjectOutput::builder().body(ByteStream::from_static(validation.as_bytes())).build());
    let sink = written.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let body = String::from_utf8(r.body().bytes().unwrap_or_default().to_vec()).unwrap();
            let key = r.key().unwrap_or_default().to_string();
            sink.lock().unwrap().insert(key, (r.content_type().unwrap_or_default().to_string(), body));
            r.bucket() == Some(BUCKET)
        })
        .then_output(|| PutObjectOutput::builder().build());
    (mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get, &put]), written)
}

fn runtime(rules: &[&Rule]) -> aws_sdk_bedrockruntime::Client {
    mock_client!(aws_sdk_bedrockruntime, RuleMode::MatchAny, rules, |c| c.retry_config(RetryConfig::disabled()))
}

fn deps(s3: aws_sdk_s3::Client, runtime: aws_sdk_bedrockruntime::Client) -> Deps<FixedClock> {
    Deps {
        s3,
        runtime,
        clock: FixedClock::at_unix(1_767_323_045),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        },
        local_cloud: false,
        deadline: Duration::from_secs(60),
    }
}

/// The base model knows nothing; the tuned one answers from its training.
fn base_wrong() -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse)
        .match_requests(|r| r.model_id() == Some(BASE))
        .then_compute_output(|_| reply("I am not sure.", 300))
}

fn custom_right() -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse)
        .match_requests(|r| r.model_id() == Some(CUSTOM))
        .then_compute_output(|r| reply(answer_for(&last_user_text(r)), 100))
}

fn key(name: &str) -> String {
    format!("runs/{RUN_ID}/evaluation/{name}")
}

#[tokio::test]
async fn a_tuned_model_that_answers_right_passes_and_three_files_are_written() {
    let (s3, written) = s3_with(VALIDATION);
    let (base, custom) = (base_wrong(), custom_right());
    let checked = mock!(aws_sdk_bedrockruntime::Client::converse)
        .match_requests(|r| {
            // Every request: temperature 0, max tokens from the config, the system prompt kept.
            let cfg = r.inference_config().expect("inference config");
            assert_eq!((cfg.temperature(), cfg.max_tokens()), (Some(0.0), Some(512)));
            if last_user_text(r) == "Capital of Spain?" {
                assert_eq!(r.system().len(), 1);
            }
            false
        })
        .then_output(|| reply("never used", 0));
    let deps = deps(s3, runtime(&[&checked, &base, &custom]));
    let result = handler(&deps, LambdaEvent::new(doc(), Context::default())).await.unwrap();

    assert_eq!(result.samples, 4);
    assert_eq!(base.num_calls() + custom.num_calls(), 8);
    assert_eq!((result.custom.exact_match, result.custom.token_f1), (1.0, 1.0));
    assert_eq!((result.base.exact_match, result.base.token_f1), (0.0, 0.0));
    assert_eq!(result.primary_metric, Metric::TokenF1);
    assert_eq!((result.improvement, result.passed, result.emulated), (1.0, true, false));
    assert_eq!(result.base.model_id, BASE);
    assert_eq!(result.custom.model_id, CUSTOM);
    assert_eq!((result.custom.latency_p50_ms, result.base.latency_p95_ms), (100.0, 300.0));
    assert_eq!(result.report_uri, format!("s3://{BUCKET}/{}", key("report.json")));
    assert_eq!(result.markdown_uri, format!("s3://{BUCKET}/{}", key("report.md")));
    assert_eq!(result.predictions_uri, format!("s3://{BUCKET}/{}", key("predictions.jsonl")));

    let written = written.lock().unwrap();
    let (ct, predictions) = &written[&key("predictions.jsonl")];
    assert_eq!(ct, "application/x-ndjson");
    let lines: Vec<serde_json::Value> = predictions.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["prompt"], "Capital of France?");
    assert_eq!(lines[0]["reference"], "Paris");
    assert_eq!(lines[0]["custom"]["answer"], "Paris.");
    assert_eq!(lines[0]["custom"]["exact_match"], 1.0);
    assert_eq!(lines[0]["base"]["answer"], "I am not sure.");
    assert_eq!(lines[0]["base"]["latency_ms"], 300.0);
    assert_eq!(lines[2]["prompt"], "system: Answer with a city.\nuser: Capital of Spain?");

    let (_, md) = &written[&key("report.md")];
    assert!(md.contains("| metric | base | custom | delta |"), "{md}");
    assert!(md.contains("| **token F1 (gate)** | 0.000 | 1.000 | +1.000 |"), "{md}");
    assert!(md.contains("Quality gate: PASSED"), "{md}");
    assert!(!md.contains("Emulated") && !md.contains("virtual clock"), "{md}");
    assert!(
        md.contains("Every answer: [predictions.jsonl](predictions.jsonl) (`s3://"),
        "a link beside the report: {md}"
    );

    let (ct, json) = &written[&key("report.json")];
    assert_eq!(ct, "application/json");
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(report["result"]["passed"], true);
    assert_eq!(report["records_read"], 5);
    assert_eq!(report["records_skipped"]["no answer to compare with"], 1);
    assert_eq!(report["models"]["custom"]["answered"], 4);
    assert_eq!(report["evaluated_at"], "2026-01-02T03:04:05Z");
}

#[tokio::test]
async fn a_tuned_model_no_better_than_its_base_fails_the_gate_without_an_error() {
    let (s3, written) = s3_with(VALIDATION);
    let both_wrong = mock!(aws_sdk_bedrockruntime::Client::converse).then_compute_output(|_| reply("Berlin", 50));
    let result = evaluate(&deps(s3, runtime(&[&both_wrong])), &doc()).await.unwrap();
    assert_eq!((result.improvement, result.passed), (0.0, false));
    let written = written.lock().unwrap();
    assert!(written[&key("report.md")].1.contains("Quality gate: FAILED"));
}

#[tokio::test]
async fn a_throttled_call_is_retried_and_one_that_stays_throttled_counts_as_an_error() {
    let one = "{\"prompt\": \"Capital of France?\", \"completion\": \"Paris\"}\n\
               {\"prompt\": \"Capital of Italy?\", \"completion\": \"Rome\"}\n";
    let (s3, written) = s3_with(one);
    let base = base_wrong();
    // Concurrency 1 keeps the order: sample 1 is throttled twice then answered (3 attempts), sample 2
    // is throttled three times (the bound) and counts as an error.
    let custom = mock!(aws_sdk_bedrockruntime::Client::converse)
        .match_requests(|r| r.model_id() == Some(CUSTOM))
        .sequence()
        .error(throttled)
        .times(2)
        .output(|| reply("Paris", 100))
        .error(throttled)
        .times(3)
        .build();
    let mut d = doc();
    d.run.config.evaluation.concurrency = 1;
    let result = evaluate(&deps(s3, runtime(&[&base, &custom])), &d).await.unwrap();
    assert_eq!(custom.num_calls(), 6);
    assert_eq!((result.samples, result.custom.errors, result.base.errors), (2, 1, 0));
    // The unanswered sample is left out, not scored 0: the custom model got the one it answered right;
    // with half the samples unanswered by one side the gate cannot judge.
    assert_eq!(result.custom.exact_match, 1.0);
    assert_eq!((result.coverage, result.verdict, result.passed), (0.5, GateVerdict::Inconclusive, false));
    let written = written.lock().unwrap();
    let report: serde_json::Value = serde_json::from_str(&written[&key("report.json")].1).unwrap();
    assert_eq!(report["models"]["custom"]["retries"], 4);
    assert!(report["models"]["custom"]["first_errors"][0].as_str().unwrap().starts_with("Throttled: "));
    let second: serde_json::Value =
        serde_json::from_str(written[&key("predictions.jsonl")].1.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["custom"]["attempts"], 3);
    assert!(second["custom"]["answer"].is_null());
}

#[tokio::test]
async fn a_model_nobody_can_call_fails_the_step_with_its_error_name() {
    let (s3, written) = s3_with(VALIDATION);
    let base = base_wrong();
    let denied = mock!(aws_sdk_bedrockruntime::Client::converse)
        .match_requests(|r| r.model_id() == Some(CUSTOM))
        .then_error(|| {
            ConverseError::AccessDeniedException(
                AccessDeniedException::builder().meta(meta("AccessDeniedException", "no model access")).build(),
            )
        });
    let err =
        handler(&deps(s3, runtime(&[&base, &denied])), LambdaEvent::new(doc(), Context::default())).await.unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "AccessDenied");
    assert!(diagnostic.error_message.contains("custom model"), "{}", diagnostic.error_message);
    assert_eq!(denied.num_calls(), 4, "access denied is not retried");
    assert!(written.lock().unwrap().is_empty(), "no report for a step that failed");
}

#[tokio::test]
async fn the_emulator_header_labels_the_report() {
    let (s3, written) = s3_with(VALIDATION);
    let body = r#"{"output": {"message": {"role": "assistant", "content": [{"text": "Paris"}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 7}}"#;
    let emulated = mock!(aws_sdk_bedrockruntime::Client::converse).then_http_response(move || {
        let mut response = HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body));
        response.headers_mut().insert("content-type", "application/json");
        response.headers_mut().insert(converse::EMULATED_HEADER, "true");
        response
    });
    let local = Deps { local_cloud: true, ..deps(s3, runtime(&[&emulated])) };
    let result = evaluate(&local, &doc()).await.unwrap();
    assert!(result.emulated);
    assert_eq!(result.custom.latency_p50_ms, 7.0);
    let written = written.lock().unwrap();
    let md = &written[&key("report.md")].1;
    assert!(md.contains("**Emulated.**"), "{md}");
    assert!(md.contains("Evaluated at: 2026-01-02T03:04:05Z (the local cloud's virtual clock"), "{md}");
    let report: serde_json::Value = serde_json::from_str(&written[&key("report.json")].1).unwrap();
    assert_eq!(report["virtual_clock"], true);
    assert!(report["emulation_evidence"][0].as_str().unwrap().contains("x-local-emulated"));
}

#[tokio::test]
async fn the_local_cloud_variable_labels_the_report_too() {
    let (s3, _) = s3_with(VALIDATION);
    let mut deps = deps(s3, runtime(&[&base_wrong(), &custom_right()]));
    deps.local_cloud = true;
    assert!(evaluate(&deps, &doc()).await.unwrap().emulated);
}

#[tokio::test]
async fn no_validation_split_is_a_config_error_that_says_what_to_change() {
    let (s3, _) = s3_with(VALIDATION);
    let mut d = doc();
    d.run.data.validation_uri = None;
    d.run.data.validation_records = 0;
    d.run.config.validation_ratio = 0.0;
    let err = evaluate(&deps(s3, runtime(&[])), &d).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("validation_ratio")), "{err:?}");
}

#[tokio::test]
async fn a_split_with_nothing_to_compare_and_a_run_without_deployment_are_config_errors() {
    let (s3, _) = s3_with("{\"input\": \"a\"}\n{\"input\": \"b\"}");
    let err = evaluate(&deps(s3, runtime(&[])), &doc()).await.unwrap_err();
    assert!(matches!(&err, PipelineError::ConfigInvalid(m) if m.contains("2 no answer")), "{err:?}");

    let (s3, _) = s3_with(VALIDATION);
    let mut d = doc();
    d.deployment = None;
    let err = evaluate(&deps(s3, runtime(&[])), &d).await.unwrap_err();
    assert!(matches!(err, PipelineError::ConfigInvalid(_)));
}

#[tokio::test]
async fn reading_stops_at_the_sample_size() {
    let (s3, _) = s3_with(VALIDATION);
    let read = read_samples(&s3, BUCKET, &format!("runs/{RUN_ID}/validation.jsonl"), 2).await.unwrap();
    assert_eq!((read.samples.len(), read.lines), (2, 2));
    let all = read_samples(&s3, BUCKET, &format!("runs/{RUN_ID}/validation.jsonl"), 100).await.unwrap();
    assert_eq!((all.samples.len(), all.lines), (4, 5));
}

#[test]
fn from_env_reads_the_retry_policy_and_the_local_cloud_flag() {
    let sdk = SdkConfig::builder().behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest()).build();
    let lambda = Deps::from_env(&sdk, &Env::from_vars([("CONVERSE_TIMEOUT_SECONDS", " ")]), FixedClock::at_unix(0));
    assert_eq!((lambda.retry, lambda.local_cloud), (RetryPolicy::DEFAULT, false));
    let vars = [
        ("FINETUNE_LOCAL_CLOUD", "1"),
        ("CONVERSE_MAX_ATTEMPTS", "8"),
        ("CONVERSE_RETRY_BASE_MILLIS", "2"),
        ("CONVERSE_RETRY_MAX_MILLIS", "20"),
    ];
    let local = Deps::from_env(&sdk, &Env::from_vars(vars), FixedClock::at_unix(0));
    let expected =
        RetryPolicy { max_attempts: 8, base_delay: Duration::from_millis(2), max_delay: Duration::from_millis(20) };
    assert_eq!((local.retry, local.local_cloud), (expected, true));
}

#[tokio::test]
async fn past_its_deadline_evaluation_asks_nothing_more_and_says_why() {
    let (s3, _) = s3_with(VALIDATION);
    let base = base_wrong();
    let custom = mock!(aws_sdk_bedrockruntime::Client::converse)
        .match_requests(|r| r.model_id() == Some(CUSTOM))
        .then_compute_output(|_| reply("Paris", 10));
    let deps = deps(s3, runtime(&[&base, &custom]));
    let err = evaluate_until(&deps, &doc(), tokio::time::Instant::now()).await.unwrap_err();
    assert_eq!(err.error_type(), "TransientError");
    assert!(err.to_string().contains("deadline was reached"), "{err}");
    assert_eq!((base.num_calls(), custom.num_calls()), (0, 0), "nothing is asked after the deadline");
}
