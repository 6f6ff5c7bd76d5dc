//! `finetune metrics RUN`: the training and validation losses Bedrock wrote for the run's job —
//! `training_artifacts/step_wise_training_metrics.csv` and
//! `validation_artifacts/post_fine_tuning_validation/validation_metrics.csv` under the job's output
//! prefix (`shared::loss_csv`) — as a chart and a table by epoch, or all rows as CSV or JSON.

use super::history::list_keys;
use super::target::{Cloud, TargetArgs};
use crate::output::table::Table;
use crate::output::{CliError, Exit, Stdout, note};
use clap::Args;
use serde::Serialize;
use shared::loss_csv::{self, LossKind, LossPoint, LossSeries};
use shared::pipeline::layout;

#[derive(Args)]
pub struct MetricsArgs {
    /// The run id.
    pub run: String,
    /// Every row as CSV: kind,step,epoch,loss,perplexity.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// One JSON object with every point of both series.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Serialize)]
struct MetricsOutput {
    run_id: String,
    training_csv_uri: Option<String>,
    validation_csv_uri: Option<String>,
    training: Vec<LossPoint>,
    validation: Vec<LossPoint>,
    /// Rows of the files that could not be read (line and reason), both files.
    skipped_rows: u64,
    /// The curves come from the local emulator's stand-in training.
    emulated: bool,
}

pub fn metrics(args: MetricsArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let prefix = layout::output_prefix(&args.run);
        let keys = list_keys(&cloud, &prefix).await?;
        let find = |name: &str| keys.iter().find(|k| k.ends_with(name)).cloned();
        let (train_key, validation_key) = (find(loss_csv::TRAINING_CSV), find(loss_csv::VALIDATION_CSV));
        let Some(train_key) = train_key else {
            return Err(CliError::failure(format!(
                "no {} under s3://{}/{prefix} yet",
                loss_csv::TRAINING_CSV,
                cloud.outputs.bucket
            ))
            .with_hint(format!(
                "Bedrock writes the metric files when the job completes: `finetune status {}` says where it is",
                args.run
            )));
        };
        let training = read_series(&cloud, &train_key, LossKind::Training).await?;
        let validation = match &validation_key {
            Some(key) => Some(read_series(&cloud, key, LossKind::Validation).await?),
            None => None,
        };
        let uri = |key: &str| layout::s3_uri(&cloud.outputs.bucket, key);
        if args.json {
            out.json(&MetricsOutput {
                run_id: args.run.clone(),
                training_csv_uri: Some(uri(&train_key)),
                validation_csv_uri: validation_key.as_deref().map(uri),
                skipped_rows: (training.skipped.len() + validation.as_ref().map_or(0, |v| v.skipped.len())) as u64,
                training: training.points,
                validation: validation.map(|v| v.points).unwrap_or_default(),
                emulated: cloud.emulated(),
            })?;
        } else if args.csv {
            out.text(&csv(&training, validation.as_ref()))?;
        } else {
            out.text(&text(&training, validation.as_ref()))?;
            if cloud.emulated() {
                note("these curves come from the local emulator's stand-in training, not a real model");
            }
        }
        Ok(Exit::Success)
    })
}

async fn read_series(cloud: &Cloud, key: &str, kind: LossKind) -> Result<LossSeries, CliError> {
    let uri = layout::s3_uri(&cloud.outputs.bucket, key);
    let object = cloud
        .s3()
        .get_object()
        .bucket(&cloud.outputs.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| super::errors::aws_error(cloud, &format!("reading {uri}"), &e))?;
    let bytes = object.body.collect().await.map_err(|e| CliError::failure(format!("cannot read {uri}: {e}")))?;
    let text = String::from_utf8_lossy(&bytes.into_bytes()).into_owned();
    loss_csv::parse(&text, kind).map_err(|e| CliError::failure(format!("{uri}: {e}")))
}

fn csv(training: &LossSeries, validation: Option<&LossSeries>) -> String {
    let mut text = String::from("kind,step,epoch,loss,perplexity\n");
    for (kind, series) in [("training", Some(training)), ("validation", validation)] {
        for p in series.map(|s| s.points.as_slice()).unwrap_or_default() {
            let perplexity = p.perplexity.map(|v| v.to_string()).unwrap_or_default();
            text.push_str(&format!("{kind},{},{},{},{perplexity}\n", p.step, p.epoch, p.loss));
        }
    }
    text
}

/// The chart (one sparkline per series), then per epoch: its last step, the training loss at it and
/// the epoch's mean, and the validation loss.
fn text(training: &LossSeries, validation: Option<&LossSeries>) -> String {
    let mut text = format!("{}\n", loss_csv::summary_line("training loss", training, 40));
    if let Some(v) = validation {
        text.push_str(&format!("{}\n", loss_csv::summary_line("validation loss", v, 40)));
    }
    text.push('\n');
    let mut table = Table::new(&["EPOCH", "LAST STEP", "TRAINING LOSS", "MEAN", "VALIDATION LOSS"]);
    let epochs: std::collections::BTreeSet<u64> = training.points.iter().map(|p| p.epoch).collect();
    for epoch in epochs {
        let points: Vec<&LossPoint> = training.points.iter().filter(|p| p.epoch == epoch).collect();
        let (Some(last), n) = (points.last(), points.len()) else { continue };
        let mean = points.iter().map(|p| p.loss).sum::<f64>() / n as f64;
        let validation_loss = validation
            .and_then(|v| v.points.iter().rev().find(|p| p.epoch == epoch))
            .map_or_else(|| "-".to_string(), |p| format!("{:.4}", p.loss));
        table.row(vec![
            (epoch + 1).to_string(),
            last.step.to_string(),
            format!("{:.4}", last.loss),
            format!("{mean:.4}"),
            validation_loss,
        ]);
    }
    text.push_str(&table.render());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_epoch_and_the_csv_every_point() {
        let training = loss_csv::parse(
            "step_number,epoch_number,training_loss,perplexity\n0,0,2.5,12\n1,0,2.1,8\n2,1,1.6,5\n3,1,1.2,3\n",
            LossKind::Training,
        )
        .unwrap();
        let validation = loss_csv::parse(
            "step_number,epoch_number,validation_loss,perplexity\n1,0,2.2,9\n3,1,1.4,4\n",
            LossKind::Validation,
        )
        .unwrap();
        let shown = text(&training, Some(&validation));
        assert!(shown.contains("training loss"), "{shown}");
        let rows: Vec<&str> = shown.lines().filter(|l| l.trim_start().starts_with(['1', '2'])).collect();
        assert_eq!(rows.len(), 2, "{shown}");
        assert!(rows[1].contains("1.2000") && rows[1].contains("1.4000") && rows[1].contains("1.4000"), "{shown}");
        let csv = csv(&training, Some(&validation));
        assert_eq!(csv.lines().count(), 1 + 4 + 2);
        assert!(csv.contains("validation,3,1,1.4,4\n"), "{csv}");
    }
}
