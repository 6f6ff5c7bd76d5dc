//! `finetune ask MODEL PROMPT` and `finetune compare RUN|MODEL --base BASE --prompts FILE`: the
//! guide's inference and side-by-side comparison, through the Converse API, with latency and token
//! counts per answer. MODEL may be a run id (its deployment or provisioned throughput), a deployment
//! or provisioned-model ARN, or a base model id (with the inference profile where the model is only
//! reached through one).

use super::history::outcome;
use super::target::{Cloud, TargetArgs};
use crate::output::{CliError, Exit, Stdout, note};
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, InferenceConfiguration, Message};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct AskArgs {
    /// A run id, a custom model deployment or provisioned model ARN, or a base model id.
    pub model: String,
    /// The prompt (one user turn).
    pub prompt: String,
    /// Longest answer, in tokens.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_tokens: i32,
    /// The answer, latency and token counts as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args)]
pub struct CompareArgs {
    /// The tuned model: a run id, a deployment or provisioned model ARN.
    pub model: String,
    /// The base model to compare with (an id from `finetune models`).
    #[arg(long, value_name = "MODEL_ID")]
    pub base: String,
    /// Prompts, one per line (a JSON line with "prompt", or a conversation record whose last user turn
    /// is the prompt, also works); blank lines and lines starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    pub prompts: PathBuf,
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_tokens: i32,
    /// Every answer, latency and token count as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// One answer.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// What was asked for (run id, ARN or model id).
    pub model: String,
    /// What Converse was called with.
    pub model_id: String,
    pub text: String,
    pub latency_ms: u64,
    pub input_tokens: i32,
    pub output_tokens: i32,
    pub stop_reason: String,
}

#[derive(Serialize)]
struct AskOutput<'a> {
    prompt: &'a str,
    #[serde(flatten)]
    answer: &'a Answer,
    emulated: bool,
}

#[derive(Serialize)]
struct Compared {
    prompt: String,
    tuned: Answer,
    base: Answer,
}

#[derive(Serialize)]
struct CompareOutput {
    model: String,
    base: String,
    results: Vec<Compared>,
    emulated: bool,
}

pub fn ask(args: AskArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let model_id = resolve_model(&cloud, &args.model).await?;
        let answer = converse(&cloud, &args.model, &model_id, &args.prompt, args.max_tokens).await?;
        if args.json {
            out.json(&AskOutput { prompt: &args.prompt, answer: &answer, emulated: cloud.emulated() })?;
        } else {
            out.text(&format!("{}\n", answer.text))?;
            note(&format!(
                "{}: {} ms, {} tokens in, {} out{}",
                answer.model_id,
                answer.latency_ms,
                answer.input_tokens,
                answer.output_tokens,
                if cloud.emulated() { " (the local emulator's stand-in model)" } else { "" }
            ));
        }
        Ok(Exit::Success)
    })
}

pub fn compare(args: CompareArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let text = std::fs::read_to_string(&args.prompts).map_err(|e| CliError::unreadable(&args.prompts, &e))?;
    let prompts = prompts(&text);
    if prompts.is_empty() {
        return Err(CliError::usage(format!("{} holds no prompt", args.prompts.display())));
    }
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let tuned_id = resolve_model(&cloud, &args.model).await?;
        let base_id = resolve_model(&cloud, &args.base).await?;
        let mut results = Vec::new();
        for prompt in prompts {
            let tuned = converse(&cloud, &args.model, &tuned_id, &prompt, args.max_tokens).await?;
            let base = converse(&cloud, &args.base, &base_id, &prompt, args.max_tokens).await?;
            results.push(Compared { prompt, tuned, base });
        }
        if args.json {
            out.json(&CompareOutput { model: args.model, base: args.base, results, emulated: cloud.emulated() })?;
        } else {
            out.text(&render_comparison(&results))?;
            if cloud.emulated() {
                note("both answers come from the local emulator's stand-in models");
            }
        }
        Ok(Exit::Success)
    })
}

fn render_comparison(results: &[Compared]) -> String {
    let mut text = String::new();
    let line = |label: &str, a: &Answer| {
        format!(
            "  {label:<6} {}\n         ({} ms, {} in / {} out tokens)\n",
            a.text.replace('\n', "\n         "),
            a.latency_ms,
            a.input_tokens,
            a.output_tokens
        )
    };
    for (i, c) in results.iter().enumerate() {
        text.push_str(&format!("[{}] {}\n", i + 1, c.prompt));
        text.push_str(&line("tuned", &c.tuned));
        text.push_str(&line("base", &c.base));
        text.push('\n');
    }
    let mean = |f: &dyn Fn(&Compared) -> u64| results.iter().map(f).sum::<u64>() / results.len().max(1) as u64;
    text.push_str(&format!(
        "mean latency: tuned {} ms, base {} ms over {} prompt{}\n",
        mean(&|c| c.tuned.latency_ms),
        mean(&|c| c.base.latency_ms),
        results.len(),
        if results.len() == 1 { "" } else { "s" }
    ));
    text
}

/// The prompts of a file: plain lines, `{"prompt": ...}` lines, or conversation records (the last
/// user turn).
pub fn prompts(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { return line.to_string() };
            if let Some(p) = value.get("prompt").and_then(|p| p.as_str()) {
                return p.to_string();
            }
            let last_user = value.get("messages").and_then(|m| m.as_array()).and_then(|messages| {
                messages.iter().rev().find(|m| m.get("role").and_then(|r| r.as_str()) == Some("user")).map(|m| {
                    m.get("content")
                        .and_then(|c| c.as_array())
                        .map(|blocks| {
                            blocks
                                .iter()
                                .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default()
                })
            });
            last_user.filter(|p| !p.is_empty()).unwrap_or_else(|| line.to_string())
        })
        .collect()
}

/// What Converse is called with for MODEL.
pub async fn resolve_model(cloud: &Cloud, model: &str) -> Result<String, CliError> {
    if model.starts_with("arn:") {
        if model.contains(":custom-model/") {
            return Err(CliError::usage(format!(
                "{model} is a custom model: Bedrock answers through its deployment or provisioned throughput"
            ))
            .with_hint("pass the run id, or the custom-model-deployment / provisioned-model ARN"));
        }
        return Ok(model.to_string());
    }
    if let Some(found) = shared::catalogue::find(model) {
        return Ok(shared::catalogue::invocation_id(found, &cloud.region()));
    }
    if model.contains('.') && model.contains(':') {
        // A model id the catalogue does not know (a newer model, an inference profile): as given.
        return Ok(model.to_string());
    }
    let run = outcome(cloud, model).await?;
    match run.deployment.as_ref() {
        Some(d) if !d.removed && d.arn.is_some() => Ok(d.arn.clone().unwrap_or_default()),
        Some(d) if d.removed => Err(CliError::usage(format!(
            "run {model}'s {} was removed by teardown: nothing serves its model now",
            d.kind.as_str()
        ))
        .with_hint("set evaluation.keep_on_gate_failure or a deployment that stays, and submit again")),
        _ => Err(CliError::usage(format!("run {model} has no deployment (deployment `none`, or not yet made)"))
            .with_hint(format!("`finetune status {model}` shows where the run is"))),
    }
}

/// One Converse call, timed.
pub async fn converse(
    cloud: &Cloud,
    label: &str,
    model_id: &str,
    prompt: &str,
    max_tokens: i32,
) -> Result<Answer, CliError> {
    let message = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(prompt.to_string()))
        .build()
        .map_err(|e| CliError::failure(format!("cannot build the request: {e}")))?;
    let started = Instant::now();
    let reply = cloud
        .runtime()
        .converse()
        .model_id(model_id)
        .messages(message)
        .inference_config(InferenceConfiguration::builder().max_tokens(max_tokens).build())
        .send()
        .await
        .map_err(|e| {
            let error = super::errors::aws_error(cloud, &format!("asking {model_id}"), &e);
            match e.code() {
                // The model id or request is wrong: how the command was called.
                Some("ValidationException" | "ResourceNotFoundException") => CliError { exit: Exit::Usage, ..error },
                _ => error,
            }
        })?;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let text = reply
        .output()
        .and_then(|o| o.as_message().ok())
        .map(|m| m.content().iter().filter_map(|c| c.as_text().ok().cloned()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    let usage = reply.usage();
    Ok(Answer {
        model: label.to_string(),
        model_id: model_id.to_string(),
        text,
        latency_ms,
        input_tokens: usage.map_or(0, |u| u.input_tokens()),
        output_tokens: usage.map_or(0, |u| u.output_tokens()),
        stop_reason: reply.stop_reason().as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_come_from_lines_json_lines_and_conversations() {
        let text = "# comment\nplain question\n\n{\"prompt\": \"p2\", \"completion\": \"x\"}\n\
                    {\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"u1\"}]}, \
                    {\"role\": \"assistant\", \"content\": [{\"text\": \"a\"}]}, \
                    {\"role\": \"user\", \"content\": [{\"text\": \"u2\"}]}]}\n";
        assert_eq!(prompts(text), vec!["plain question", "p2", "u2"]);
    }
}
