//! `finetune submit FILE`: a run started the way a deployment starts it, by uploading the dataset
//! (and its sidecar config) under `incoming/`, where the bucket notification hands it to
//! validate-split. Everything is checked here first, the dataset against the model's rules included:
//! nothing is uploaded when anything is wrong. The started execution is found by its input, which
//! names the uploaded key; `--wait` then follows it as `status --watch` does.

use super::history::{self, finished};
use super::target::{Cloud, TargetArgs};
use super::watch;
use crate::output::{CliError, Exit, Stdout, note};
use crate::summary;
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use shared::pipeline::{PipelineConfig, layout};
use shared::presets::Preset;
use shared::validate::{self, Options};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct SubmitArgs {
    /// The JSON Lines dataset (`.jsonl`), uploaded to the stack's bucket under incoming/.
    pub file: PathBuf,
    /// A pipeline config (JSON, README's "Pipeline config"), uploaded beside the dataset as its sidecar.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Hyperparameters from a preset (conservative, moderate, aggressive); the config's own
    /// hyperparameters override it key by key.
    #[arg(long, value_name = "PRESET")]
    pub preset: Option<Preset>,
    /// Base model id (overrides the config's base_model).
    #[arg(long, value_name = "MODEL_ID")]
    pub model: Option<String>,
    /// Follow the run to its end (as `status --watch`); the exit status is then the run's.
    #[arg(long)]
    pub wait: bool,
    /// One JSON object: the run id and execution; with --wait, the run's outcome as `run --json` prints it.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `submit --json` without --wait.
#[derive(Serialize)]
struct Submitted<'a> {
    run_id: &'a str,
    execution_arn: &'a str,
    dataset_uri: String,
    sidecar_uri: Option<String>,
}

/// What is uploaded, checked.
struct Upload {
    key: String,
    dataset: Vec<u8>,
    sidecar: Option<Value>,
}

pub fn submit(args: SubmitArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let upload = check(&args)?;
    super::runtime()?.block_on(async {
        let cloud = super::target::resolve(&args.target).await?;
        let since = aws_sdk_sfn::primitives::DateTime::from(std::time::SystemTime::now());
        put(&cloud, &upload).await?;
        let dataset_uri = layout::s3_uri(&cloud.outputs.bucket, &upload.key);
        note(&format!("uploaded {dataset_uri}; waiting for the bucket notification to start the run"));
        let (run_id, execution_arn) = started_execution(&cloud, &upload.key, since).await?;
        if !args.wait {
            if args.json {
                let sidecar_uri = upload
                    .sidecar
                    .as_ref()
                    .map(|_| layout::s3_uri(&cloud.outputs.bucket, &layout::sidecar_key(&upload.key)));
                out.json(&Submitted { run_id: &run_id, execution_arn: &execution_arn, dataset_uri, sidecar_uri })?;
            } else {
                out.text(&format!(
                    "run {run_id}\nexecution {execution_arn}\nfollow it: finetune status {run_id} --watch{}\n",
                    super::target_flags(&args.target)
                ))?;
            }
            return Ok(Exit::Success);
        }
        let outcome = watch::follow(&cloud, &run_id).await?;
        watch::show(out, &outcome, args.json)?;
        Ok(Exit::verdict(finished(&outcome) && outcome.status == shared::outcome::ExecutionStatus::Succeeded))
    })
}

/// The config and flags merged over the template's defaults, and the dataset validated for the model
/// that gives: all before anything is uploaded.
fn check(args: &SubmitArgs) -> Result<Upload, CliError> {
    let file = &args.file;
    let dataset = std::fs::read(file).map_err(|e| CliError::unreadable(file, &e))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().replace(|c: char| c.is_whitespace(), "-"))
        .filter(|n| n.ends_with(layout::DATASET_SUFFIX))
        .ok_or_else(|| {
            CliError::usage(format!(
                "{}: the dataset must be a {} file: only those start the pipeline when uploaded",
                file.display(),
                layout::DATASET_SUFFIX
            ))
        })?;
    let mut sidecar = match &args.config {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| CliError::unreadable(path, &e))?;
            serde_json::from_slice::<Value>(&text)
                .map_err(|e| CliError::usage(format!("{} is not valid JSON: {e}", path.display())))?
        }
        None => json!({}),
    };
    let Some(object) = sidecar.as_object_mut() else {
        let path = args.config.as_deref().unwrap_or(Path::new("--config"));
        return Err(CliError::usage(format!("{} must hold one JSON object of pipeline config fields", path.display())));
    };
    if let Some(model) = &args.model {
        object.insert("base_model".into(), json!(model));
    }
    let defaults = local_stack::default_config()
        .map_err(|e| CliError::failure(format!("the template's defaults are unusable: {e}")))?;
    let invalid = |problems: Vec<shared::pipeline::ConfigProblem>| {
        CliError::usage(format!("the config is invalid: {} problem(s); nothing was uploaded", problems.len()))
            .with_problems(problems.iter().map(ToString::to_string))
    };
    let mut merged: PipelineConfig = defaults.merge_checked(&sidecar).map_err(invalid)?;
    if let Some(preset) = args.preset {
        let model = shared::catalogue::find(&merged.base_model)
            .ok_or_else(|| CliError::usage(format!("unknown base model {}", merged.base_model)))?;
        let customization = model.customization(merged.customization_type).ok_or_else(|| {
            CliError::usage(format!("{} does not support {:?}", merged.base_model, merged.customization_type))
        })?;
        let resolved = shared::presets::resolve(model, customization, Some(preset), &merged.hyperparameters);
        sidecar["hyperparameters"] = json!(resolved.hyperparameters);
        merged = defaults.merge_checked(&sidecar).map_err(invalid)?;
    }
    let options =
        Options::new(&merged.base_model, merged.customization_type).map_err(|e| CliError::usage(e.to_string()))?;
    let report = validate::validate_path(file, &options).map_err(|e| CliError::unreadable(file, &e))?;
    if !report.valid {
        return Err(CliError::usage(format!(
            "{} is not a valid dataset for {}: nothing was uploaded",
            file.display(),
            merged.base_model
        ))
        .with_problems(summary::render(&report, &options).lines().map(str::to_string).filter(|l| !l.is_empty()))
        .with_hint(format!(
            "`finetune validate {} --model {}` shows the same report",
            file.display(),
            merged.base_model
        )));
    }
    for consequence in merged.notes() {
        note(&consequence);
    }
    let sidecar = sidecar.as_object().is_some_and(|o| !o.is_empty()).then_some(sidecar);
    Ok(Upload { key: format!("{}{name}", layout::INCOMING_PREFIX), dataset, sidecar })
}

/// The sidecar first, so the notification of the dataset finds it.
async fn put(cloud: &Cloud, upload: &Upload) -> Result<(), CliError> {
    let s3 = cloud.s3();
    if let Some(sidecar) = &upload.sidecar {
        let key = layout::sidecar_key(&upload.key);
        let body = serde_json::to_vec_pretty(sidecar).unwrap_or_default();
        s3.put_object().bucket(&cloud.outputs.bucket).key(&key).body(body.into()).send().await.map_err(|e| {
            super::errors::aws_error(
                cloud,
                &format!("uploading the sidecar to s3://{}/{key}", cloud.outputs.bucket),
                &e,
            )
        })?;
    }
    s3.put_object()
        .bucket(&cloud.outputs.bucket)
        .key(&upload.key)
        .body(upload.dataset.clone().into())
        .send()
        .await
        .map_err(|e| {
            super::errors::aws_error(cloud, &format!("uploading to s3://{}/{}", cloud.outputs.bucket, upload.key), &e)
        })?;
    Ok(())
}

/// How long the notification may take to start the execution (on AWS: seconds).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The execution the upload started: started since the upload, its input naming the uploaded key.
async fn started_execution(
    cloud: &Cloud,
    key: &str,
    since: aws_sdk_sfn::primitives::DateTime,
) -> Result<(String, String), CliError> {
    let sfn = cloud.sfn();
    let deadline = Instant::now() + START_TIMEOUT;
    // Clocks differ between this machine and AWS: look a minute back.
    let since_secs = since.secs() - 60;
    let mut checked = std::collections::HashSet::new();
    while Instant::now() < deadline {
        let listed = sfn
            .list_executions()
            .state_machine_arn(&cloud.outputs.state_machine_arn)
            .max_results(50)
            .send()
            .await
            .map_err(|e| history::sfn_error(cloud, "listing the state machine's executions", &e))?;
        for execution in listed.executions() {
            if execution.start_date().secs() < since_secs || !checked.insert(execution.execution_arn().to_string()) {
                continue;
            }
            let described = sfn
                .describe_execution()
                .execution_arn(execution.execution_arn())
                .send()
                .await
                .map_err(|e| history::sfn_error(cloud, "reading an execution", &e))?;
            if described.input().is_some_and(|input| input.contains(key)) {
                return Ok((execution.name().to_string(), execution.execution_arn().to_string()));
            }
        }
        tokio::time::sleep(Duration::from_millis(if cloud.emulated() { 100 } else { 2000 })).await;
    }
    Err(CliError::failure(format!(
        "the upload of {key} started no execution within {}s in {}",
        START_TIMEOUT.as_secs(),
        cloud.label
    ))
    .with_hint(
        "validate-split answers the upload: its logs (CloudWatch, or `finetune local serve`'s stderr) say why; \
         an identical upload of a run that already exists starts nothing new",
    ))
}
