//! `finetune run`: the whole pipeline on the local cloud. The dataset is uploaded to `incoming/`, the
//! bucket notification starts validate-split, which starts the state machine — exactly the path a
//! deployment takes — and every state is shown as it is entered. Bedrock is emulated: its models are
//! deterministic stand-ins, and the summary says so.

use local_sfn::{EventDetails, ExecutionStatus, HistoryEvent};
use local_stack::{LocalCloud, Options};
use serde_json::{Value, json};
use shared::pipeline::{PipelineConfig, RunDocument};
use shared::summary::RunSummary;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
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

/// Step Functions Standard: USD per state transition (us-east-1, beyond the free tier).
const USD_PER_TRANSITION: f64 = 0.025 / 1000.0;
/// Lambda: USD per request.
const USD_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
/// Custom model storage, USD per month while the model is kept.
const USD_STORAGE_PER_MONTH: f64 = 1.95;

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
    if let Ok(previous) = std::fs::read_to_string(&memo)
        && let Ok(mut outcome) = serde_json::from_str::<Value>(&previous)
    {
        outcome["repeated"] = json!(true);
        let succeeded = outcome["status"] == "SUCCEEDED";
        if args.json {
            println!("{outcome}");
        } else {
            println!(
                "{} with this config already ran as {} (local cloud data in {}); no second job was started.\n\
                 Delete that folder to start over.\n",
                args.file.display(),
                outcome["run_id"].as_str().unwrap_or("?"),
                args.data_dir.display()
            );
            print!("{}", outcome["summary_text"].as_str().unwrap_or(""));
        }
        return Ok(succeeded);
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
    let description = cloud.sfn.describe_execution(&execution_arn).map_err(|e| e.to_string())?;
    let snapshot = &description.snapshot;
    let summary: Option<RunSummary> = std::fs::read(cloud.object_path(&shared::pipeline::layout::summary_key(&run_id)))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let document: Option<RunDocument> = snapshot.output.clone().and_then(|o| serde_json::from_value(o).ok());
    let outcome =
        outcome_json(&cloud, &run_id, snapshot.status, snapshot, &history, summary.as_ref(), document.as_ref());
    let text = summary_text(&outcome, started.elapsed());
    if let Some(parent) = memo.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let mut memo_value = outcome.clone();
    memo_value["summary_text"] = json!(text);
    let _ = std::fs::write(&memo, memo_value.to_string());
    if args.json {
        println!("{outcome}");
    } else {
        print!("\n{text}");
    }
    Ok(snapshot.status == ExecutionStatus::Succeeded)
}

fn memo_path(data_dir: &Path, file: &Path, sidecar: &Value) -> Result<PathBuf, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut identity = bytes;
    identity.extend_from_slice(sidecar.to_string().as_bytes());
    let hash = xxhash_rust::xxh3::xxh3_128(&identity);
    Ok(data_dir.join("runs-by-input").join(format!("{hash:032x}.json")))
}

/// Prints each state as it is entered, until the execution ends; returns the full history.
async fn follow(cloud: &LocalCloud, execution_arn: &str, progress: &Progress) -> Result<Vec<HistoryEvent>, String> {
    let mut shown = 0usize;
    let mut start = None;
    loop {
        let history = cloud.sfn.get_execution_history(execution_arn).map_err(|e| e.to_string())?;
        let status = cloud.sfn.describe_execution(execution_arn).map_err(|e| e.to_string())?.snapshot.status;
        for event in &history[shown.min(history.len())..] {
            let at = *start.get_or_insert(event.timestamp);
            if let EventDetails::StateEntered { name, .. } = &event.details {
                progress.state(name, event.timestamp.duration_since(at));
            }
        }
        shown = history.len();
        if status != ExecutionStatus::Running {
            progress.finish();
            return Ok(history);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn outcome_json(
    cloud: &LocalCloud,
    run_id: &str,
    status: ExecutionStatus,
    snapshot: &local_sfn::ExecutionSnapshot,
    history: &[HistoryEvent],
    summary: Option<&RunSummary>,
    document: Option<&RunDocument>,
) -> Value {
    let job = document.and_then(|d| d.job.as_ref());
    let job_arn = summary.and_then(|s| s.job_arn.clone()).or_else(|| job.map(|j| j.job_arn.clone()));
    let custom_model_arn =
        summary.and_then(|s| s.custom_model_arn.clone()).or_else(|| job.and_then(|j| j.custom_model_arn.clone()));
    let evaluation = summary
        .and_then(|s| s.evaluation.clone())
        .or_else(|| document.and_then(|d| d.evaluation.clone()))
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let mut artifacts = serde_json::Map::new();
    let layout = [
        ("validation_report", shared::pipeline::layout::report_key(run_id)),
        ("train", shared::pipeline::layout::train_key(run_id)),
        ("validation", shared::pipeline::layout::validation_key(run_id)),
        ("evaluation_report", shared::pipeline::layout::evaluation_report_key(run_id)),
        ("evaluation_markdown", shared::pipeline::layout::evaluation_markdown_key(run_id)),
        ("predictions", shared::pipeline::layout::predictions_key(run_id)),
        ("summary", shared::pipeline::layout::summary_key(run_id)),
    ];
    for (name, key) in layout {
        let path = cloud.object_path(&key);
        if path.exists() {
            artifacts.insert(name.into(), json!(path.display().to_string()));
        }
    }
    let output_dir = cloud.object_path(&shared::pipeline::layout::output_prefix(run_id));
    if output_dir.exists() {
        artifacts.insert("bedrock_output".into(), json!(output_dir.display().to_string()));
    }
    let transitions = local_sfn::state_transitions(history);
    let lambda_calls = history.iter().filter(|e| matches!(e.details, EventDetails::TaskScheduled { .. })).count();
    let training = document.and_then(|d| d.run.data.estimated_cost_usd);
    let cost = json!({
        "training_usd": training,
        "step_functions_usd": transitions as f64 * USD_PER_TRANSITION,
        "lambda_requests_usd": lambda_calls as f64 * USD_PER_REQUEST,
        "model_storage_usd_per_month": custom_model_arn.as_ref().map(|_| USD_STORAGE_PER_MONTH),
        "note": "estimate: training = tokens x epochs x the catalogue's price; Lambda compute time and on-demand inference tokens not included",
    });
    json!({
        "run_id": run_id,
        "status": status.as_str(),
        "error": snapshot.error,
        "cause": snapshot.cause,
        "states": local_sfn::states_entered(history),
        "state_transitions": transitions,
        "job_arn": job_arn,
        "custom_model_arn": custom_model_arn,
        "evaluation": evaluation,
        "artifacts": artifacts,
        "notifications": cloud.lambdas.notifier.published.lock().map(|p| p.len()).unwrap_or(0),
        "aws_cost_estimate": cost,
        "emulated": true,
    })
}

fn summary_text(o: &Value, wall: Duration) -> String {
    let mut out = String::new();
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let _ = writeln!(out, "Status:      {}", s(&o["status"]));
    let _ = writeln!(out, "Run id:      {}", s(&o["run_id"]));
    if !o["error"].is_null() {
        let _ = writeln!(out, "Error:       {}", s(&o["error"]));
        let _ = writeln!(out, "Cause:       {}", s(&o["cause"]));
    }
    let _ = writeln!(out, "Job:         {}", s(&o["job_arn"]));
    let _ = writeln!(out, "Model:       {}", s(&o["custom_model_arn"]));
    let e = &o["evaluation"];
    if e.is_object() {
        let _ = writeln!(
            out,
            "\nEvaluation on {} held-out samples (EMULATED models: deterministic stand-ins, not Bedrock):",
            e["samples"]
        );
        let _ = writeln!(out, "  {:<12} {:>10} {:>10} {:>10}", "metric", "base", "custom", "delta");
        for (label, key) in [("exact match", "exact_match"), ("token F1", "token_f1"), ("ROUGE-L", "rouge_l")] {
            let base = e["base"][key].as_f64().unwrap_or(0.0);
            let custom = e["custom"][key].as_f64().unwrap_or(0.0);
            let _ = writeln!(out, "  {label:<12} {base:>10.3} {custom:>10.3} {:>+10.3}", custom - base);
        }
        let _ = writeln!(
            out,
            "  {:<12} {:>10.0} {:>10.0}",
            "p95 ms",
            e["base"]["latency_p95_ms"].as_f64().unwrap_or(0.0),
            e["custom"]["latency_p95_ms"].as_f64().unwrap_or(0.0)
        );
        let verdict = if e["passed"] == true { "PASSED" } else { "FAILED" };
        let _ = writeln!(
            out,
            "  Gate {verdict}: {} improved by {:+.3} (needs {:+.3})",
            s(&e["primary_metric"]),
            e["improvement"].as_f64().unwrap_or(0.0),
            e["min_improvement"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(artifacts) = o["artifacts"].as_object().filter(|a| !a.is_empty()) {
        let _ = writeln!(out, "\nReports:");
        for (name, path) in artifacts {
            let _ = writeln!(out, "  {name:<20} {}", s(path));
        }
    }
    let states = o["states"].as_array().map(|a| a.len()).unwrap_or(0);
    let polls = |name: &str| o["states"].as_array().map(|a| a.iter().filter(|s| *s == name).count()).unwrap_or(0);
    let _ = writeln!(
        out,
        "\nStates entered: {states} ({} job polls, {} deployment polls); state transitions: {}",
        polls("CheckJob"),
        polls("CheckDeployment"),
        o["state_transitions"]
    );
    let c = &o["aws_cost_estimate"];
    let _ = writeln!(
        out,
        "On AWS this run would cost about: training {}, Step Functions ${:.4}, Lambda requests ${:.6}{}",
        match (c["training_usd"].as_f64(), o["job_arn"].is_null()) {
            (_, true) => "none (no job started)".to_string(),
            (Some(v), false) => format!("${v:.4}"),
            (None, false) => "unknown (no published price)".to_string(),
        },
        c["step_functions_usd"].as_f64().unwrap_or(0.0),
        c["lambda_requests_usd"].as_f64().unwrap_or(0.0),
        c["model_storage_usd_per_month"]
            .as_f64()
            .map(|v| format!(", plus ${v:.2}/month to store the model"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "Wall time: {:.2} s", wall.as_secs_f64());
    out
}

/// States as they are entered: on a terminal, the poll loops update one line; otherwise plain lines.
struct Progress {
    enabled: bool,
    tty: bool,
    last: std::sync::Mutex<Option<String>>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress { enabled, tty: std::io::stdout().is_terminal(), last: std::sync::Mutex::new(None) }
    }

    fn line(&self, text: &str) {
        if self.enabled {
            self.finish();
            println!("{text}");
        }
    }

    fn state(&self, name: &str, at: Duration) {
        if !self.enabled {
            return;
        }
        let minutes = at.as_secs() / 60;
        let line = format!("  [t+{:>2}h{:02}m] {name}", minutes / 60, minutes % 60);
        let polling = name.starts_with("Wait") || name.starts_with("Check") || name.ends_with("Status");
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if self.tty && polling {
            print!("\r\x1b[2K{line}");
            let _ = std::io::stdout().flush();
            *last = Some(line);
        } else {
            if last.take().is_some() {
                println!();
            }
            println!("{line}");
        }
    }

    fn finish(&self) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.take().is_some() {
            println!();
        }
    }
}
