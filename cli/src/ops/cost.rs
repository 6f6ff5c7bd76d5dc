//! `finetune cost RUN`: what a run spent — training tokens × epochs × the catalogue's price, the
//! hours its provisioned throughput has existed (× its rate), Step Functions and Lambda requests —
//! and what still bills now: what of the run exists in the account, read from Bedrock by the run's
//! tag (`live.rs`), not what its documents say should be there.

use super::history::{history, outcome_from, outcome_with};
use super::target::TargetArgs;
use crate::output::{CliError, Exit, Stdout, note};
use clap::Args;
use serde::Serialize;
use shared::outcome::{Billing, ExecutionStatus, latest_document};
use shared::pipeline::{DeploymentMode, RunDocument};

#[derive(Args)]
pub struct CostArgs {
    /// The run id.
    pub run: String,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Serialize)]
struct CostOutput {
    run_id: String,
    status: String,
    base_model: Option<String>,
    training_tokens: Option<u64>,
    epochs: Option<u64>,
    training_usd_per_1k_tokens: Option<f64>,
    training_usd: Option<f64>,
    /// Hours the provisioned throughput existed (until removed, or until now).
    throughput_hours: Option<f64>,
    throughput_usd: Option<f64>,
    step_functions_usd: f64,
    lambda_requests_usd: f64,
    total_usd: f64,
    /// What bills now, with its rate.
    still_billing: Vec<Billing>,
    /// The local cloud: nothing was charged; these are what the same run costs on AWS.
    emulated: bool,
    note: String,
}

pub fn cost(args: CostArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let events = history(&cloud, &cloud.execution_arn(&args.run)).await?;
        let documented = outcome_from(&cloud, &args.run, &events).await?;
        let live = super::live::resources(
            &cloud,
            &args.run,
            documented.custom_model_arn.as_deref(),
            documented.job_arn.as_deref(),
        )
        .await?;
        let run = outcome_with(&cloud, &args.run, &events, Some(&live)).await?;
        let document: Option<RunDocument> = latest_document(&events);
        let config = document.as_ref().map(|d| &d.run.config);
        let base_model = config.map(|c| c.base_model.clone());
        let model = base_model.as_deref().and_then(shared::catalogue::find);
        let price = model
            .and_then(|m| config.and_then(|c| m.customization(c.customization_type)))
            .and_then(|c| c.training_price_per_1k_tokens)
            .map(|f| f.value);
        let epochs = config.and_then(|c| {
            let customization = model?.customization(c.customization_type)?;
            Some(customization.epochs(c.hyperparameters.get("epochCount").map(String::as_str)))
        });
        let training_tokens = document.as_ref().map(|d| d.run.data.training_tokens);
        let training_usd = run.aws_cost_estimate.training_usd;

        // A provisioned throughput bills by the hour from its creation until it is deleted.
        let throughput = run.deployment.as_ref().filter(|d| d.kind == DeploymentMode::Provisioned);
        let now_ms = if cloud.emulated() {
            run.ended_at_ms.or_else(|| run.visits.last().map(|v| v.entered_at_ms)).unwrap_or_default()
        } else {
            aws_sdk_sfn::primitives::DateTime::from(std::time::SystemTime::now()).to_millis().unwrap_or_default()
        };
        let throughput_hours = throughput.and_then(|_| {
            let created = run.visits.iter().find(|v| v.name.starts_with("Provision"))?.entered_at_ms;
            let until = run.ended_at_ms.unwrap_or(now_ms);
            Some((until - created).max(0) as f64 / 3_600_000.0)
        });
        let throughput_usd = throughput_hours.zip(throughput.and_then(|d| d.hourly_cost_usd)).map(|(h, r)| h * r);
        let estimate = &run.aws_cost_estimate;
        let total = training_usd.unwrap_or(0.0)
            + throughput_usd.unwrap_or(0.0)
            + estimate.step_functions_usd
            + estimate.lambda_requests_usd;
        let output = CostOutput {
            run_id: args.run.clone(),
            status: run.status.as_str().to_string(),
            base_model,
            training_tokens,
            epochs,
            training_usd_per_1k_tokens: price,
            training_usd,
            throughput_hours,
            throughput_usd,
            step_functions_usd: estimate.step_functions_usd,
            lambda_requests_usd: estimate.lambda_requests_usd,
            total_usd: total,
            still_billing: run.left_billing.clone(),
            emulated: cloud.emulated(),
            note: estimate.note.clone(),
        };
        if args.json {
            out.json(&output)?;
        } else {
            out.text(&render(&output))?;
            if cloud.emulated() {
                note("a local run: nothing was charged; these are what the same run costs on AWS");
            }
            if run.status == ExecutionStatus::Running {
                note("the run is still going: its costs are still growing");
            }
        }
        Ok(Exit::Success)
    })
}

fn usd(v: f64) -> String {
    if v < 0.01 && v > 0.0 { format!("${v:.4}") } else { format!("${v:.2}") }
}

fn render(c: &CostOutput) -> String {
    let mut text = format!("run {} ({})\n", c.run_id, c.status);
    let training = match (c.training_tokens, c.epochs, c.training_usd_per_1k_tokens, c.training_usd) {
        (Some(t), Some(e), Some(p), Some(usd_total)) => {
            format!("{t} tokens x {e} epochs x ${p} per 1k tokens = {}", usd(usd_total))
        }
        (_, _, _, Some(usd_total)) => usd(usd_total),
        (_, _, None, None) if c.base_model.is_some() => "no published price for this model".into(),
        _ => "no job started".into(),
    };
    text.push_str(&format!("  training            {training}\n"));
    if let (Some(h), Some(u)) = (c.throughput_hours, c.throughput_usd) {
        text.push_str(&format!("  throughput          {h:.2} h = {}\n", usd(u)));
    }
    text.push_str(&format!("  step functions      {}\n", usd(c.step_functions_usd)));
    text.push_str(&format!("  lambda requests     {}\n", usd(c.lambda_requests_usd)));
    text.push_str(&format!("  total               {}\n", usd(c.total_usd)));
    if c.still_billing.is_empty() {
        text.push_str("still billing: nothing\n");
    } else {
        text.push_str("still billing:\n");
        for b in &c.still_billing {
            let rate = match (b.usd_per_hour, b.usd_per_month) {
                (Some(h), _) => format!("{}/h", usd(h)),
                (None, Some(m)) => format!("{}/month", usd(m)),
                _ => b.basis.clone(),
            };
            text.push_str(&format!("  {} {} ({rate})\n", b.what.label(), b.arn));
        }
    }
    text.push_str(&format!("({})\n", c.note));
    text
}
