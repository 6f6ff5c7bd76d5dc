//! `finetune run`: the whole pipeline on the local cloud. The dataset is uploaded to `incoming/`, the
//! bucket notification starts validate-split, which starts the state machine — exactly the path a
//! deployment takes — and every state is shown as it is entered. Bedrock is emulated: its models are
//! deterministic stand-ins, and the summary says so. The run's outcome (`shared::outcome::RunOutcome`)
//! is built once from the execution's history and rendered as text (`text.rs`) or JSON.

mod history;
mod progress;
mod text;

use local_sfn::ExecutionStatus as EngineStatus;
use local_stack::{LocalCloud, Options};
use progress::Progress;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::outcome::{EventKind, ExecutionEvent, ExecutionStatus, RunOutcome, RunSources};
use shared::pipeline::{PipelineConfig, layout};
use shared::summary::RunSummary;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct RunArgs {
    pub file: PathBuf,
    pub model: Option<String>,
    pub kind: Option<shared::CustomizationType>,
    pub config: Option<PathBuf>,
    pub fault: Option<String>,
    pub json: bool,
    pub data_dir: PathBuf,
}

/// Ok(succeeded) for a run that finished; Err for a problem before or around it (usage, I/O).
pub fn run(args: RunArgs) -> Result<bool, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the local cloud's runtime: {e}"))?;
    runtime.block_on(run_async(args))
}

/// The sidecar that carries this run's config (overrides of the local defaults), as a user would
/// put `<name>.pipeline.json` beside the upload.
fn overrides(args: &RunArgs) -> Result<Value, String> {
    let mut overrides = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<Value>(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?
        }
        None => json!({}),
    };
    let Some(object) = overrides.as_object_mut() else {
        return Err("--config must hold a JSON object (fields of the pipeline config)".to_string());
    };
    if let Some(model) = &args.model {
        object.insert("base_model".into(), json!(model));
    }
    if let Some(kind) = args.kind {
        object.insert("customization_type".into(), json!(kind));
    }
    // Checked here too, so a typo is a usage error before anything starts.
    let merged: PipelineConfig =
        local_stack::default_config().map_err(|e| e.to_string())?.merged(&overrides).map_err(|e| e.to_string())?;
    merged.check().map_err(|e| e.to_string())?;
    Ok(overrides)
}

async fn run_async(args: RunArgs) -> Result<bool, String> {
    let started = Instant::now();
    if !args.file.is_file() {
        return Err(format!("{} is not a file", args.file.display()));
    }
    let sidecar = overrides(&args)?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().replace(|c: char| c.is_whitespace(), "-"))
        .filter(|n| n.ends_with(".jsonl"))
        .ok_or_else(|| format!("{}: the dataset must be a .jsonl file", args.file.display()))?;

    // The same file and config already ran here: on AWS, StartExecution with the same name is refused,
    // so no second job starts. The local cloud's services live in this process; the memo keeps that.
    let memo = memo_path(&args.data_dir, &args.file, &sidecar)?;
    if let Ok(previous) = std::fs::read_to_string(&memo) {
        let memo: Memo = serde_json::from_str(&previous).map_err(|e| {
            format!(
                "{} holds an earlier run this version cannot read ({e}); delete {} to start over",
                memo.display(),
                args.data_dir.display()
            )
        })?;
        let outcome = &memo.outcome;
        if args.json {
            let repeated = Repeated { outcome, repeated: true };
            println!("{}", serde_json::to_string(&repeated).map_err(|e| e.to_string())?);
        } else {
            println!(
                "{} with this config already ran as {} (local cloud data in {}); no second job was started.\n\
                 Delete that folder to start over.\n",
                args.file.display(),
                outcome.run_id,
                args.data_dir.display()
            );
            print!("{}", memo.summary_text);
        }
        return Ok(outcome.status == ExecutionStatus::Succeeded);
    }

    let mut options = Options::new(&args.data_dir);
    options.faults = args.fault.clone();
    let cloud = LocalCloud::start(options).await.map_err(|e| e.to_string())?;
    let progress = Progress::new(!args.json);
    progress.line(&format!(
        "Local cloud up (data in {}): S3 {}, Bedrock emulator {}, Step Functions {}{}",
        args.data_dir.display(),
        cloud.endpoints.s3.as_deref().unwrap_or("?"),
        cloud.endpoints.bedrock.as_deref().unwrap_or("?"),
        cloud.endpoints.sfn.as_deref().unwrap_or("?"),
        args.fault.as_deref().map(|f| format!(", faults: {f}")).unwrap_or_default()
    ));
    let sidecar = (sidecar.as_object().is_some_and(|o| !o.is_empty())).then_some(sidecar);
    let key = cloud.upload(&args.file, &name, sidecar.as_ref()).await.map_err(|e| e.to_string())?;
    progress.line(&format!("Uploaded s3://{}/{key}", local_stack::BUCKET));

    let result = cloud
        .next_upload_result(Duration::from_secs(120))
        .await
        .ok_or("validate-split did not answer the upload notification")?
        .map_err(|e| format!("validate-split failed on the upload: {e}"))?;
    let started_run = &result["started"][0];
    let execution_arn = started_run["execution_arn"]
        .as_str()
        .ok_or_else(|| format!("the upload started no execution: {result}"))?
        .to_string();
    let run_id = started_run["run_id"].as_str().unwrap_or_default().to_string();
    progress.line(&format!("Execution {run_id} started by the S3 notification"));

    let history = follow(&cloud, &execution_arn, &progress).await?;
    let summary: Option<RunSummary> = std::fs::read(cloud.object_path(&layout::summary_key(&run_id)))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let locate = |key: &str| {
        let path = cloud.object_path(key);
        path.exists().then(|| path.display().to_string())
    };
    let notifications = cloud.lambdas.notifier.published.lock().ok().map(|p| p.len() as u64);
    let outcome = RunOutcome::build(&RunSources {
        run_id: &run_id,
        history: &history,
        summary: summary.as_ref(),
        locate: &locate,
        notifications,
        emulated: true,
    });
    let text = text::render(&outcome, started.elapsed());
    if let Some(parent) = memo.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Ok(memo_json) = serde_json::to_string(&Memo { outcome: outcome.clone(), summary_text: text.clone() }) {
        let _ = std::fs::write(&memo, memo_json);
    }
    if args.json {
        println!("{}", serde_json::to_string(&outcome).map_err(|e| e.to_string())?);
    } else {
        print!("\n{text}");
    }
    Ok(outcome.status == ExecutionStatus::Succeeded)
}

/// What a finished run leaves in the data folder, so the same input is not run twice: its outcome and
/// the text shown then.
#[derive(Serialize, Deserialize)]
struct Memo {
    #[serde(flatten)]
    outcome: RunOutcome,
    summary_text: String,
}

/// `--json` for a run shown again.
#[derive(Serialize)]
struct Repeated<'a> {
    #[serde(flatten)]
    outcome: &'a RunOutcome,
    repeated: bool,
}

fn memo_path(data_dir: &Path, file: &Path, sidecar: &Value) -> Result<PathBuf, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut identity = bytes;
    identity.extend_from_slice(sidecar.to_string().as_bytes());
    let hash = xxhash_rust::xxh3::xxh3_128(&identity);
    Ok(data_dir.join("runs-by-input").join(format!("{hash:032x}.json")))
}

/// Prints each state as it is entered, until the execution ends; returns the full history, in the
/// neutral form the outcome is built from.
async fn follow(cloud: &LocalCloud, execution_arn: &str, progress: &Progress) -> Result<Vec<ExecutionEvent>, String> {
    let mut events: Vec<ExecutionEvent> = Vec::new();
    let mut seen = 0usize;
    loop {
        // Status first: a history read after the execution ended holds its last events.
        let running = cloud.sfn.describe_execution(execution_arn).map_err(|e| e.to_string())?.snapshot.status
            == EngineStatus::Running;
        let history = cloud.sfn.get_execution_history(execution_arn).map_err(|e| e.to_string())?;
        for event in history[seen.min(history.len())..].iter().filter_map(history::neutral) {
            let start = events.first().map_or(event.at_ms, |first| first.at_ms);
            if let EventKind::StateEntered { name, .. } = &event.kind {
                progress.state(name, Duration::from_millis(u64::try_from(event.at_ms - start).unwrap_or(0)));
            }
            events.push(event);
        }
        seen = history.len();
        if !running {
            progress.finish();
            return Ok(events);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
