//! `finetune runs`, `finetune status RUN [--watch]` and `finetune stop RUN`: the state machine's
//! executions (one per run, named by its run id), one run's outcome so far, and stopping one. Stopping
//! is StopExecution; the stack's EventBridge rule (on the local cloud, its stand-in) then runs
//! teardown, which removes what the run deployed.

use super::history::{self, finished, outcome};
use super::target::{Cloud, TargetArgs};
use super::watch;
use crate::output::table::Table;
use crate::output::{CliError, Exit, Stdout, note};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use shared::outcome::ExecutionStatus;

#[derive(Args)]
pub struct RunsArgs {
    /// Only runs in this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// At most this many runs, newest first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: i32,
    /// One JSON object: {"runs": [...]}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// The run id (the execution's name), as `finetune submit` and `finetune runs` print it.
    pub run: String,
    /// Follow the run live until it ends; the exit status is then the run's. Ctrl-C stops watching only.
    #[arg(long)]
    pub watch: bool,
    /// The outcome as one JSON object, with the keys of `run --json`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args)]
pub struct StopArgs {
    /// The run id.
    pub run: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// One row of `runs --json`.
#[derive(Serialize)]
struct RunRow {
    run_id: String,
    execution_arn: String,
    status: String,
    /// The state it is in (the last one entered); `null` once it ended.
    current_state: Option<String>,
    /// The dataset's S3 URI, from the execution's input.
    dataset: Option<String>,
    started_at_ms: i64,
    stopped_at_ms: Option<i64>,
    elapsed_ms: i64,
}

#[derive(Serialize)]
struct RunsOutput {
    target: String,
    emulated: bool,
    runs: Vec<RunRow>,
}

pub fn runs(args: RunsArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let status =
            args.status.as_deref().map(|s| aws_sdk_sfn::types::ExecutionStatus::from(s.to_ascii_uppercase().as_str()));
        let listed = cloud
            .sfn()
            .list_executions()
            .state_machine_arn(&cloud.outputs.state_machine_arn)
            .set_status_filter(status)
            .max_results(args.limit.clamp(1, 1000))
            .send()
            .await
            .map_err(|e| history::sfn_error(&cloud, "listing the runs", &e))?;
        let mut rows = Vec::new();
        for execution in listed.executions() {
            rows.push(row(&cloud, execution).await?);
        }
        if args.json {
            out.json(&RunsOutput { target: cloud.label.clone(), emulated: cloud.emulated(), runs: rows })?;
        } else if rows.is_empty() {
            out.text(&format!("no runs in {}\n", cloud.label))?;
        } else {
            let mut table = Table::new(&["RUN", "STATUS", "STATE", "DATASET", "ELAPSED"]);
            for r in &rows {
                table.row(vec![
                    r.run_id.clone(),
                    r.status.clone(),
                    r.current_state.clone().unwrap_or_else(|| "-".into()),
                    r.dataset.clone().unwrap_or_else(|| "-".into()),
                    human_duration(r.elapsed_ms),
                ]);
            }
            out.text(&table.render())?;
            watch::note_emulated(&cloud);
        }
        Ok(Exit::Success)
    })
}

async fn row(cloud: &Cloud, execution: &aws_sdk_sfn::types::ExecutionListItem) -> Result<RunRow, CliError> {
    let arn = execution.execution_arn();
    let sfn = cloud.sfn();
    let described = sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| history::sfn_error(cloud, "reading a run", &e))?;
    let dataset = described.input().and_then(dataset_of);
    let running = execution.status() == &aws_sdk_sfn::types::ExecutionStatus::Running;
    let current_state = if running {
        let last = sfn
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(25)
            .send()
            .await
            .map_err(|e| history::sfn_error(cloud, "reading a run's history", &e))?;
        last.events().iter().find_map(|e| e.state_entered_event_details().map(|d| d.name().to_string()))
    } else {
        None
    };
    let started = execution.start_date().to_millis().unwrap_or_default();
    let stopped = execution.stop_date().and_then(|d| d.to_millis().ok());
    let now = if cloud.emulated() {
        // The local cloud's clock is virtual: its latest event is the best "now" there is.
        stopped.unwrap_or(started)
    } else {
        aws_sdk_sfn::primitives::DateTime::from(std::time::SystemTime::now()).to_millis().unwrap_or(started)
    };
    Ok(RunRow {
        run_id: execution.name().to_string(),
        execution_arn: arn.to_string(),
        status: execution.status().as_str().to_string(),
        current_state,
        dataset,
        started_at_ms: started,
        stopped_at_ms: stopped,
        elapsed_ms: stopped.unwrap_or(now) - started,
    })
}

/// The dataset an execution's input names: validate-split's prepared run or a console input.
fn dataset_of(input: &str) -> Option<String> {
    let input: Value = serde_json::from_str(input).ok()?;
    let found = ["/dataset", "/run/dataset", "/source/uri", "/dataset_uri"]
        .iter()
        .find_map(|p| input.pointer(p).and_then(Value::as_str).map(str::to_string));
    found.or_else(|| {
        let (bucket, key) = (input.pointer("/source/bucket")?.as_str()?, input.pointer("/source/key")?.as_str()?);
        Some(shared::pipeline::layout::s3_uri(bucket, key))
    })
}

pub fn status(args: StatusArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let current =
            if args.watch { watch::follow(&cloud, &args.run).await? } else { outcome(&cloud, &args.run).await? };
        watch::show(out, &current, args.json)?;
        if !finished(&current) {
            note(&format!("run {} is still running: --watch follows it to its end", args.run));
        }
        Ok(match current.status {
            ExecutionStatus::Succeeded => Exit::Success,
            ExecutionStatus::Running => Exit::Success,
            _ => Exit::Negative,
        })
    })
}

pub fn stop(args: StopArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let arn = cloud.execution_arn(&args.run);
        let stopped = cloud
            .sfn()
            .stop_execution()
            .execution_arn(&arn)
            .error("StoppedByUser")
            .cause("finetune stop")
            .send()
            .await
            .map_err(|e| history::sfn_error(&cloud, &format!("stopping run {}", args.run), &e))?;
        out.text(&format!(
            "stopped run {} at {}; teardown now removes what it deployed (`finetune status {}` shows it)\n",
            args.run,
            stopped.stop_date().fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime).unwrap_or_default(),
            args.run
        ))?;
        Ok(Exit::Success)
    })
}

/// `2h 14m`, `3m 05s`, `12s`.
pub fn human_duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(8_040_000), "2h 14m");
        assert_eq!(human_duration(185_000), "3m 05s");
        assert_eq!(human_duration(12_400), "12s");
        assert_eq!(human_duration(-5), "0s");
    }

    #[test]
    fn the_dataset_is_found_in_either_kind_of_input() {
        assert_eq!(dataset_of(r#"{"dataset": "s3://b/incoming/x.jsonl"}"#).as_deref(), Some("s3://b/incoming/x.jsonl"));
        assert_eq!(
            dataset_of(r#"{"source": {"bucket": "b", "key": "incoming/y.jsonl"}}"#).as_deref(),
            Some("s3://b/incoming/y.jsonl")
        );
        assert_eq!(dataset_of("{}"), None);
    }
}
