//! evaluate: asks the base model and the tuned model the held-out validation records, scores both,
//! and gives the quality gate's verdict.
//!
//! Input: the run document (`RunDocument`, with `$.deployment` ready). Output: `EvaluationResult` at
//! `$.evaluation`; the state machine turns `passed: false` into a `GateFailed` error. It writes
//! `runs/<id>/evaluation/report.json`, `report.md` and `predictions.jsonl`.
//!
//! The first `evaluation.sample_size` records of `runs/<id>/validation.jsonl` are read as a stream;
//! each model gets at most `evaluation.concurrency` requests in flight, temperature 0 and
//! `evaluation.max_tokens`. A throttled call is retried with capped exponential backoff a bounded number
//! of times, then counts as an error for that model. An error is missing, not wrong: both models are
//! scored, and the gate judged, only on the samples both answered (`shared::metrics::paired_gate`); when
//! fewer than `MIN_GATE_COVERAGE` of them were, the verdict is INCONCLUSIVE (neither pass nor fail). A
//! model that answers no sample at all fails the step with that model's error, so a run never "passes"
//! against a base model nobody could call.
//!
//! A deadline below the Lambda's timeout (`EVALUATION_DEADLINE_SECONDS`, and never later than the
//! invocation's own deadline less a margin): once reached no new call starts and calls in flight are
//! abandoned; what was answered is scored and reported, and coverage decides the verdict. The step
//! never runs into the Lambda timeout.
//!
//! Answers are labelled emulated when a response carries `x-local-emulated: true` (the local Bedrock
//! emulator's stand-in models) or when `FINETUNE_LOCAL_CLOUD=1` is set.
//!
//! Environment ([`Deps::from_env`]): `FINETUNE_LOCAL_CLOUD`; `CONVERSE_TIMEOUT_SECONDS` (one Converse
//! call, default 120); `CONVERSE_MAX_ATTEMPTS`, `CONVERSE_RETRY_BASE_MILLIS`, `CONVERSE_RETRY_MAX_MILLIS`
//! (the handler's own retry of throttled calls, default [`RetryPolicy::DEFAULT`]); `EVALUATION_DEADLINE_SECONDS`
//! (default 780: the template's 900 s timeout less two minutes to write the report); the SDK's variables.

pub mod converse;
pub mod report;
pub mod sample;

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_s3::primitives::ByteStream;
use converse::{Answer, Asker, RetryPolicy};
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, format_rfc3339, s3_client};
use futures_util::StreamExt;
use lambda_runtime::LambdaEvent;
use sample::{Sample, Skip};
use shared::catalogue::{self, Family};
use shared::metrics::{MIN_GATE_COVERAGE, Prediction, paired_gate};
use shared::pipeline::{DeploymentMode, EvaluationResult, GateVerdict, PipelineError, RunDocument, layout};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The variable that marks a local-cloud run.
pub const LOCAL_CLOUD_ENV: &str = "FINETUNE_LOCAL_CLOUD";
/// Generating up to max_tokens takes longer than a control-plane call.
const DEFAULT_CONVERSE_TIMEOUT_SECONDS: u64 = 120;
/// The template gives evaluate 900 s; the report needs a few seconds, the margin is generous.
const DEFAULT_DEADLINE_SECONDS: u64 = 780;
/// Kept free before the invocation's own deadline (Lambda's context), to write the report.
const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// Built once per Lambda instance.
pub struct Deps<C> {
    pub s3: aws_sdk_s3::Client,
    pub runtime: aws_sdk_bedrockruntime::Client,
    pub clock: C,
    pub retry: RetryPolicy,
    /// `FINETUNE_LOCAL_CLOUD=1`: every answer comes from the local emulator.
    pub local_cloud: bool,
    /// How long asking may take, from the start of the invocation (`EVALUATION_DEADLINE_SECONDS`).
    pub deadline: Duration,
}

impl<C: Clock> Deps<C> {
    /// The one wiring, for Lambda and the local cloud alike (see the crate documentation's variables).
    pub fn from_env(sdk: &SdkConfig, env: &Env, clock: C) -> Deps<C> {
        let answer_timeout =
            Duration::from_secs(env.positive("CONVERSE_TIMEOUT_SECONDS").unwrap_or(DEFAULT_CONVERSE_TIMEOUT_SECONDS));
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(answer_timeout)
            .operation_attempt_timeout(answer_timeout)
            .build();
        // The handler owns the retries (RetryPolicy): the SDK's would multiply them.
        let runtime = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        let millis = |var: &str, default: Duration| env.positive(var).map_or(default, Duration::from_millis);
        let retry = RetryPolicy {
            max_attempts: env
                .positive("CONVERSE_MAX_ATTEMPTS")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(RetryPolicy::DEFAULT.max_attempts),
            base_delay: millis("CONVERSE_RETRY_BASE_MILLIS", RetryPolicy::DEFAULT.base_delay),
            max_delay: millis("CONVERSE_RETRY_MAX_MILLIS", RetryPolicy::DEFAULT.max_delay),
        };
        Deps {
            s3: s3_client(sdk, env),
            runtime: aws_sdk_bedrockruntime::Client::from_conf(runtime),
            clock,
            retry,
            local_cloud: env.flag(LOCAL_CLOUD_ENV).unwrap_or(false),
            deadline: Duration::from_secs(
                env.positive("EVALUATION_DEADLINE_SECONDS").unwrap_or(DEFAULT_DEADLINE_SECONDS),
            ),
        }
    }
}

pub async fn handler<C: Clock>(
    deps: &Deps<C>,
    event: LambdaEvent<RunDocument>,
) -> Result<EvaluationResult, LambdaError> {
    // Lambda's own deadline (epoch milliseconds; 0 when none is known, as in tests).
    let invocation = Some(event.context.deadline)
        .filter(|d| *d > 0)
        .and_then(|d| std::time::UNIX_EPOCH.checked_add(Duration::from_millis(d)))
        .and_then(|d| d.duration_since(std::time::SystemTime::now()).ok())
        .map(|left| left.saturating_sub(DEADLINE_MARGIN));
    let deadline = invocation.map_or(deps.deadline, |left| left.min(deps.deadline));
    Ok(evaluate_until(deps, &event.payload, tokio::time::Instant::now() + deadline).await?)
}

pub async fn evaluate<C: Clock>(deps: &Deps<C>, doc: &RunDocument) -> Result<EvaluationResult, PipelineError> {
    evaluate_until(deps, doc, tokio::time::Instant::now() + deps.deadline).await
}

/// [`evaluate`], asking no model anything after `deadline`.
pub async fn evaluate_until<C: Clock>(
    deps: &Deps<C>,
    doc: &RunDocument,
    deadline: tokio::time::Instant,
) -> Result<EvaluationResult, PipelineError> {
    let run_id = doc.run.run_id.as_str();
    let config = &doc.run.config;
    let eval = &config.evaluation;
    let custom_id = match &doc.deployment {
        Some(d) if d.mode != DeploymentMode::None => d.invoke_arn.clone(),
        _ => None,
    }
    .ok_or_else(|| {
        PipelineError::ConfigInvalid(format!(
            "run {run_id} has no deployment to evaluate (deployment `none` ends the run after training)"
        ))
    })?;
    let model = catalogue::find(&config.base_model)
        .ok_or_else(|| PipelineError::ConfigInvalid(format!("unknown base_model `{}`", config.base_model)))?;
    let base_id = model.base_id();
    let (bucket, key) = validation_location(doc)?;
    if eval.sample_size == 0 {
        return Err(PipelineError::ConfigInvalid("evaluation.sample_size must be at least 1".into()));
    }
    let max_tokens = i32::try_from(eval.max_tokens).ok().filter(|t| *t > 0).ok_or_else(|| {
        PipelineError::ConfigInvalid(format!("evaluation.max_tokens {} must be between 1 and 2^31-1", eval.max_tokens))
    })?;

    let read = read_samples(&deps.s3, &bucket, &key, eval.sample_size as usize).await?;
    let mut samples = read.samples;
    if samples.is_empty() {
        return Err(PipelineError::ConfigInvalid(format!(
            "none of the {} records read from s3://{bucket}/{key} has an answer to compare with ({}); \
             evaluation needs prompt/completion or conversation records (continued pre-training has none: use deployment `none`)",
            read.lines,
            skipped_text(&read.skipped)
        )));
    }
    // Converse has no system prompt for Titan models.
    if model.family == Family::TitanText {
        samples.iter_mut().for_each(Sample::fold_system_into_first_turn);
    }

    let emulated_header = Arc::new(AtomicBool::new(false));
    let asker = Asker { client: &deps.runtime, max_tokens, retry: deps.retry, emulated: emulated_header.clone() };
    let concurrency = eval.concurrency.max(1) as usize;
    let ask_all = |model_id: &str| {
        let asker = &asker;
        let model_id = model_id.to_string();
        let samples = &samples;
        async move {
            // `buffered` keeps the samples' order, so answers line up with their prompts.
            // Indices, not `&Sample`: a closure over borrowed items makes the future's `Send` bound
            // higher-ranked, which callers spawning it on a runtime cannot satisfy.
            futures_util::stream::iter(0..samples.len())
                .map(|i| {
                    let model_id = model_id.clone();
                    async move {
                        let late = || Answer {
                            text: Err(PipelineError::Transient(
                                "not asked: the evaluation's deadline was reached (EVALUATION_DEADLINE_SECONDS)".into(),
                            )),
                            latency_ms: None,
                            attempts: 0,
                        };
                        if tokio::time::Instant::now() >= deadline {
                            return late();
                        }
                        tokio::time::timeout_at(deadline, asker.ask(&model_id, &samples[i]))
                            .await
                            .unwrap_or_else(|_| late())
                    }
                })
                .buffered(concurrency)
                .collect::<Vec<Answer>>()
                .await
        }
    };
    let (base_answers, custom_answers) = tokio::join!(ask_all(base_id), ask_all(&custom_id));
    for (who, id, answers) in [("base", base_id, &base_answers), ("custom", custom_id.as_str(), &custom_answers)] {
        if let Some(err) = nobody_answered(answers) {
            return Err(with_context(err, &format!("the {who} model {id} answered none of {} samples", answers.len())));
        }
    }

    let predictions = |answers: &[Answer]| -> Vec<Prediction> {
        samples
            .iter()
            .zip(answers)
            .map(|(s, a)| Prediction {
                reference: s.reference.clone(),
                answer: a.text.as_ref().ok().cloned(),
                latency_ms: a.latency_ms,
            })
            .collect()
    };
    let judged = paired_gate(
        eval.primary_metric,
        (base_id, &predictions(&base_answers)),
        (&custom_id, &predictions(&custom_answers)),
        eval.min_improvement,
        MIN_GATE_COVERAGE,
    );
    let (base, custom, improvement) = (judged.base, judged.custom, judged.improvement);
    let passed = judged.verdict == GateVerdict::Passed;

    let mut evidence = Vec::new();
    if emulated_header.load(Ordering::Relaxed) {
        evidence.push(format!("responses carry `{}: true`", converse::EMULATED_HEADER));
    }
    if deps.local_cloud {
        evidence.push(format!("{LOCAL_CLOUD_ENV}=1"));
    }
    let out_bucket = doc.run.data.bucket.as_str();
    let result = EvaluationResult {
        samples: samples.len() as u32,
        primary_metric: eval.primary_metric,
        base,
        custom,
        improvement,
        min_improvement: eval.min_improvement,
        passed,
        verdict: judged.verdict,
        coverage: judged.coverage,
        min_coverage: MIN_GATE_COVERAGE,
        report_uri: layout::s3_uri(out_bucket, &layout::evaluation_report_key(run_id)),
        markdown_uri: layout::s3_uri(out_bucket, &layout::evaluation_markdown_key(run_id)),
        predictions_uri: layout::s3_uri(out_bucket, &layout::predictions_key(run_id)),
        emulated: !evidence.is_empty(),
    };

    let evaluated_at = format_rfc3339(deps.clock.now());
    let report = report::Report {
        run_id,
        evaluated_at: &evaluated_at,
        virtual_clock: deps.local_cloud,
        base_model_id: base_id,
        custom_model_id: &custom_id,
        result: &result,
        emulation_evidence: &evidence,
        records_read: read.lines,
        records_skipped: &read.skipped,
        models: [
            ("base", report::details(base_id, &base_answers)),
            ("custom", report::details(&custom_id, &custom_answers)),
        ]
        .into(),
    };
    let mut lines = String::new();
    for (i, s) in samples.iter().enumerate() {
        lines.push_str(&report::prediction_line(i, s, &base_answers[i], &custom_answers[i]));
        lines.push('\n');
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| PipelineError::Internal(e.to_string()))?;
    put(&deps.s3, out_bucket, &layout::predictions_key(run_id), lines, "application/x-ndjson").await?;
    put(&deps.s3, out_bucket, &layout::evaluation_markdown_key(run_id), report::markdown(&report), "text/markdown")
        .await?;
    put(&deps.s3, out_bucket, &layout::evaluation_report_key(run_id), json, "application/json").await?;
    tracing::info!(run_id, improvement, verdict = ?result.verdict, coverage = result.coverage, emulated = result.emulated, "evaluation written");
    Ok(result)
}

/// Where the held-out split is; a run without one cannot be evaluated.
fn validation_location(doc: &RunDocument) -> Result<(String, String), PipelineError> {
    let data = &doc.run.data;
    let uri = data.validation_uri.as_deref().filter(|_| data.validation_records > 0).ok_or_else(|| {
        PipelineError::ConfigInvalid(format!(
            "run {} has no validation split to evaluate on (validation_ratio {} held out no records); \
             set validation_ratio above 0 (the default is 0.1), or deployment `none` to skip evaluation",
            doc.run.run_id, doc.run.config.validation_ratio
        ))
    })?;
    let (bucket, key) = layout::parse_s3_uri(uri)
        .filter(|(_, k)| !k.is_empty())
        .ok_or_else(|| PipelineError::Internal(format!("validation_uri `{uri}` is not an s3:// object URI")))?;
    Ok((bucket.to_string(), key.to_string()))
}

pub struct ReadSamples {
    pub samples: Vec<Sample>,
    /// Non-blank lines read.
    pub lines: u64,
    pub skipped: BTreeMap<String, u64>,
}

/// Streams the object and stops once `limit` samples are in hand: a large split is never read whole.
pub async fn read_samples(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    limit: usize,
) -> Result<ReadSamples, PipelineError> {
    let object = s3.get_object().bucket(bucket).key(key).send().await.or_pipeline("GetObject")?;
    let mut body = object.body;
    let mut out = ReadSamples { samples: Vec::new(), lines: 0, skipped: BTreeMap::new() };
    let mut pending: Vec<u8> = Vec::new();
    let take_line = |line: &[u8], out: &mut ReadSamples| {
        let Ok(text) = std::str::from_utf8(line) else {
            *out.skipped.entry("not UTF-8".into()).or_default() += 1;
            return;
        };
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        out.lines += 1;
        match sample::parse_line(text) {
            Ok(s) => out.samples.push(s),
            Err(why) => {
                let reason = match why {
                    Skip::NotJson => "not a JSON object",
                    Skip::NoAnswer => "no answer to compare with",
                    Skip::NoPrompt => "no user turn before the answer",
                };
                *out.skipped.entry(reason.into()).or_default() += 1;
            }
        }
    };
    loop {
        let chunk =
            body.try_next().await.map_err(|e| PipelineError::Transient(format!("reading s3://{bucket}/{key}: {e}")))?;
        let Some(chunk) = chunk else { break };
        pending.extend_from_slice(&chunk);
        while let Some(at) = pending.iter().position(|b| *b == b'\n') {
            let rest = pending.split_off(at + 1);
            take_line(&pending[..at], &mut out);
            pending = rest;
            if out.samples.len() >= limit {
                return Ok(out);
            }
        }
    }
    if out.samples.len() < limit {
        take_line(&pending, &mut out);
    }
    Ok(out)
}

fn skipped_text(skipped: &BTreeMap<String, u64>) -> String {
    if skipped.is_empty() {
        return "the file is empty".into();
    }
    skipped.iter().map(|(why, n)| format!("{n} {why}")).collect::<Vec<_>>().join(", ")
}

/// The first error, when no sample got an answer.
fn nobody_answered(answers: &[Answer]) -> Option<PipelineError> {
    if answers.iter().any(|a| a.text.is_ok()) {
        return None;
    }
    answers.iter().find_map(|a| a.text.clone().err())
}

/// The same error name (so Retry and Catch still match it), with what failed in front.
fn with_context(err: PipelineError, context: &str) -> PipelineError {
    err.map_message(|m| format!("{context}: {m}"))
}

async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: String,
    content_type: &str,
) -> Result<(), PipelineError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body.into_bytes()))
        .send()
        .await
        .or_pipeline("PutObject")?;
    Ok(())
}

#[cfg(test)]
mod tests;
