//! `finetune run`: the whole pipeline on the local cloud. Everything the command is given (the
//! dataset's name, the config and the flags that override it, the fault spec) is checked before
//! anything starts. The dataset is uploaded to `incoming/`, the bucket notification starts
//! validate-split, which starts the state machine — exactly the path a deployment takes — and every
//! state is shown as it is entered (stderr). Bedrock is emulated: its models are deterministic
//! stand-ins, and the summary says so. The run's outcome (`shared::outcome::RunOutcome`) is built once
//! from the execution's history and rendered as text (`text.rs`) or JSON (stdout).

mod history;
mod memo;
mod page;
pub(crate) mod text;

use crate::choices;
use crate::output::progress::Progress;
use crate::output::{CliError, Exit, Stdout, note};
use crate::validate::absolute;
use clap::Args;
use local_sfn::ExecutionStatus as EngineStatus;
use local_stack::{FaultSpec, LocalCloud, Options};
use memo::{Entry, Memo};
use serde::Serialize;
use serde_json::{Value, json};
use shared::CustomizationType;
use shared::outcome::{EventKind, ExecutionEvent, ExecutionStatus, RunOutcome, RunSources};
use shared::pipeline::{DeploymentMode, PipelineConfig, layout};
use shared::presets::Preset;
use shared::report::Report;
use shared::summary::RunSummary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct RunArgs {
    /// The JSON Lines dataset (`.jsonl`); it is uploaded to the local bucket's incoming/ folder.
    pub file: PathBuf,
    /// Base model id (default amazon.nova-micro-v1:0:128k); `finetune models` lists them.
    #[arg(long, value_name = "MODEL_ID")]
    pub model: Option<String>,
    /// Customization type (default FINE_TUNING).
    #[arg(long = "type", value_name = "TYPE", value_parser = choices::customization_type())]
    pub kind: Option<CustomizationType>,
    /// How the tuned model is made callable for the evaluation (default auto: on-demand where the
    /// model offers it, none elsewhere); `none` trains only, without evaluation.
    #[arg(long, value_name = "MODE", value_parser = choices::deployment())]
    pub deployment: Option<DeploymentMode>,
    /// Hyperparameter preset (default moderate when no hyperparameters are given); explicit
    /// hyperparameters in the config override it key by key. `finetune presets MODEL` shows the values.
    #[arg(long, value_name = "PRESET", value_parser = choices::preset())]
    pub preset: Option<Preset>,
    /// A pipeline config (JSON: README's "Pipeline config" lists every field; examples/pipeline.json
    /// is one), uploaded as the dataset's sidecar. --model, --type and --deployment override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Bedrock faults to inject, e.g. `throttle=0.3,seed=7`, `job-failed`, `deployment-failed`,
    /// `throughput-failed`, `quota`, `5xx=0.05` (comma-separated).
    #[arg(long, value_name = "SPEC")]
    pub fault: Option<String>,
    /// The local cloud's data folder: the bucket in DIR/finetune-local/, its bookkeeping in
    /// DIR/.finetune/.
    #[arg(long, value_name = "DIR", default_value = ".local-cloud")]
    pub data_dir: PathBuf,
    /// Start a new run even if this file with these flags already ran in DIR (earlier runs are kept).
    #[arg(long)]
    pub force: bool,
    /// The SAM template the local cloud is built from: each function's environment and role, every
    /// policy (IAM is enforced as on AWS), the definition's substitutions. Default: the template.yaml
    /// this build ships.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The state machine definition (ASL JSON). Default: the statemachine/pipeline.asl.json this build
    /// ships.
    #[arg(long, value_name = "FILE")]
    pub definition: Option<PathBuf>,
    /// Override a template parameter, as `sam deploy --parameter-overrides` (repeatable): the
    /// operator's settings, e.g. `--parameter DeploymentMode=none`.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// Print the run's outcome as one JSON object (README: "run --json").
    #[arg(long)]
    pub json: bool,
    /// The region the local stack is deployed in (every ARN, the Bedrock role's trust conditions, the
    /// models the emulated Bedrock offers). Default: us-east-1 where the model is offered there, else
    /// the model's own region (Llama and Claude: us-west-2).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// `run --json`: the outcome's keys, then whether it is an earlier run shown again.
#[derive(Serialize)]
struct RunOutput<'a> {
    #[serde(flatten)]
    outcome: &'a RunOutcome,
    /// This file with these flags already ran in this data folder; no job was started now.
    repeated: bool,
}

/// What a run is made of, checked.
struct Request {
    file: PathBuf,
    /// The object name under `incoming/`.
    upload_name: String,
    dataset: Vec<u8>,
    /// The sidecar uploaded beside the dataset: the config file's fields with the flags applied.
    sidecar: Value,
    /// The effective config the sidecar makes: what, with the dataset, decides the run id.
    config: PipelineConfig,
    /// The fault spec in canonical form.
    fault: Option<String>,
    /// The stack: template and definition text, parameter overrides.
    stack: Stack,
    data_dir: PathBuf,
    /// What the config implies that a person may not expect.
    notes: Vec<String>,
}

pub fn run(args: RunArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let started = Instant::now();
    let request = check(&args)?;
    let memo_path =
        memo::path(&request.data_dir, &request.upload_name, &request.dataset, &request.config, &request.stack);
    let mut memo = Memo::load(&memo_path);
    if let Some(earlier) = memo.find(request.fault.as_deref()).filter(|_| !args.force) {
        note(&format!(
            "{} with these settings already ran in {} as {}; showing that run (no job was started). \
             --force starts a new run and keeps this one.",
            args.file.display(),
            args.data_dir.display(),
            earlier.outcome.run_id
        ));
        show(out, &earlier.outcome, true, args.json, None)?;
        return Ok(verdict(&earlier.outcome));
    }
    for consequence in &request.notes {
        note(consequence);
    }
    let mut sidecar = request.sidecar.clone();
    if !memo.runs.is_empty() {
        // The run id derives from the dataset and its config: a second run of the same input needs a
        // config of its own, or it would take the first run's id and overwrite its files.
        let attempt = memo.runs.len() + 1;
        sidecar["tags"][ATTEMPT_TAG] = json!(attempt.to_string());
        note(&format!("run {attempt} of this input here; it is tagged {ATTEMPT_TAG}={attempt}"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the local cloud's runtime: {e}")))?;
    let progress = Progress::stderr(crate::output::is_quiet());
    let outcome = runtime.block_on(pipeline(&request, &sidecar, progress))?;
    if let Err(e) = memo.record(&memo_path, Entry { fault: request.fault.clone(), outcome: outcome.clone() }) {
        note(&format!("could not record the run in {} ({e}); running it again will train again", memo_path.display()));
    }
    show(out, &outcome, false, args.json, Some(started.elapsed()))?;
    Ok(verdict(&outcome))
}

/// The tag that tells apart runs of the same input in one data folder.
const ATTEMPT_TAG: &str = "finetune-attempt";

fn verdict(outcome: &RunOutcome) -> Exit {
    Exit::verdict(outcome.status == ExecutionStatus::Succeeded)
}

fn show(
    out: &mut Stdout,
    outcome: &RunOutcome,
    repeated: bool,
    json: bool,
    wall: Option<Duration>,
) -> Result<(), CliError> {
    if json { out.json(&RunOutput { outcome, repeated }) } else { out.text(&text::render(outcome, wall)) }
}

/// The stack a run is made on: what `--template`, `--definition` and `--parameter` give, or what
/// this build ships.
pub struct Stack {
    pub template: String,
    pub definition: String,
    pub parameters: BTreeMap<String, String>,
    /// How messages name the template (`template.yaml` or the file given).
    pub template_name: String,
    /// The region it is deployed in.
    pub region: String,
}

fn stack(args: &RunArgs) -> Result<Stack, CliError> {
    let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| CliError::unreadable(path, &e));
    let template = match &args.template {
        Some(path) => read(path)?,
        None => local_stack::TEMPLATE.to_string(),
    };
    let definition = match &args.definition {
        Some(path) => read(path)?,
        None => local_stack::DEFINITION.to_string(),
    };
    let template_name = args.template.as_ref().map_or("template.yaml".to_string(), |p| p.display().to_string());
    let parameters = parameter_overrides(&template, &template_name, &args.parameters)?;
    // The model's region is settled once the config is known (`check`).
    let region = args.region.clone().unwrap_or_else(|| local_stack::REGION.to_string());
    Ok(Stack { template, definition, parameters, template_name, region })
}

/// `--parameter NAME=VALUE` overrides, each naming a parameter of `template`.
pub fn parameter_overrides(
    template: &str,
    template_name: &str,
    given: &[String],
) -> Result<BTreeMap<String, String>, CliError> {
    let known = local_stack::template_parameters(template);
    let mut parameters = BTreeMap::new();
    for given in given {
        let Some((name, value)) = given.split_once('=').filter(|(name, _)| !name.trim().is_empty()) else {
            return Err(CliError::usage(format!("--parameter `{given}` is not NAME=VALUE"))
                .with_hint("e.g. --parameter DeploymentMode=none"));
        };
        let name = name.trim();
        if !known.iter().any(|k| k == name) {
            return Err(CliError::usage(format!("--parameter {name}: {template_name} has no parameter `{name}`"))
                .with_hint(format!("its parameters: {}", known.join(", "))));
        }
        parameters.insert(name.to_string(), value.to_string());
    }
    Ok(parameters)
}

/// Everything checked before anything runs: the file, its name, the config and the flags over it,
/// the fault spec.
fn check(args: &RunArgs) -> Result<Request, CliError> {
    let file = &args.file;
    let dataset = match std::fs::metadata(file) {
        Ok(m) if m.is_dir() => return Err(CliError::usage(format!("{} is a folder, not a file", file.display()))),
        Ok(_) => std::fs::read(file).map_err(|e| CliError::unreadable(file, &e))?,
        Err(e) => return Err(CliError::unreadable(file, &e)),
    };
    let upload_name = file
        .file_name()
        .map(|n| n.to_string_lossy().replace(|c: char| c.is_whitespace(), "-"))
        .filter(|n| n.ends_with(layout::DATASET_SUFFIX))
        .ok_or_else(|| {
            CliError::usage(format!(
                "{}: the dataset must be a {} file (JSON Lines, one JSON object per line): only those start the \
                 pipeline when uploaded",
                file.display(),
                layout::DATASET_SUFFIX
            ))
            .with_hint(format!(
                "`finetune validate {} --model MODEL_ID` says what Bedrock would make of it",
                file.display()
            ))
        })?;

    let mut sidecar = match &args.config {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| CliError::unreadable(path, &e))?;
            serde_json::from_slice::<Value>(&text).map_err(|e| {
                CliError::usage(format!("{} is not valid JSON: {e}", path.display()))
                    .with_hint("a pipeline config is one JSON object; examples/pipeline.json is one")
            })?
        }
        None => json!({}),
    };
    let Some(object) = sidecar.as_object_mut() else {
        let path = args.config.as_deref().unwrap_or(Path::new("--config"));
        return Err(CliError::usage(format!(
            "{} must hold one JSON object of pipeline config fields, e.g. {{\"deployment\": \"none\"}}",
            path.display()
        )));
    };
    if let Some(model) = &args.model {
        object.insert("base_model".into(), json!(model));
    }
    if let Some(kind) = args.kind {
        object.insert("customization_type".into(), json!(kind));
    }
    if let Some(mode) = args.deployment {
        object.insert("deployment".into(), json!(mode));
    }
    if let Some(preset) = args.preset {
        object.insert("preset".into(), json!(preset));
    }
    let flags: Vec<&str> = [
        (args.model.is_some(), "--model"),
        (args.kind.is_some(), "--type"),
        (args.deployment.is_some(), "--deployment"),
        (args.preset.is_some(), "--preset"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect();
    let source = match (&args.config, flags.is_empty()) {
        (Some(path), true) => path.display().to_string(),
        (Some(path), false) => format!("{} with {}", path.display(), flags.join(", ")),
        (None, _) => flags.join(", "),
    };
    let mut stack = stack(args)?;
    let defaults = local_stack::default_config_in(&stack.template, &stack.parameters).map_err(|e| {
        CliError::usage(format!("the local cloud's defaults ({}) are unusable: {e}", stack.template_name))
    })?;
    let merged: PipelineConfig = defaults.merge_checked(&sidecar).map_err(|problems| {
        let n = problems.len();
        CliError::usage(format!("the config ({source}) is invalid: {n} problem{}", if n == 1 { "" } else { "s" }))
            .with_problems(problems.iter().map(ToString::to_string))
            .with_hint(
                "fix it and run again (README: \"Pipeline config\" lists every field; examples/pipeline.json is one)",
            )
    })?;
    let fault = match &args.fault {
        Some(spec) => Some(
            spec.parse::<FaultSpec>()
                .map_err(|e| CliError::usage(format!("--fault `{spec}` is not a fault spec: {e}")))?
                .to_string(),
        ),
        None => None,
    };
    let mut notes = merged.notes();
    if let Some(model) = shared::catalogue::find(&merged.base_model) {
        match &args.region {
            Some(region) if !model.regions.contains(&region.as_str()) => {
                return Err(CliError::usage(format!(
                    "--region {region}: Bedrock does not customize {} there; it is offered in {}",
                    model.id,
                    model.regions.join(", ")
                ))
                .with_hint(format!("pass --region {} or leave --region out", model.region_for(local_stack::REGION))));
            }
            Some(_) => {}
            None => {
                stack.region = model.region_for(local_stack::REGION).to_string();
                if stack.region != local_stack::REGION {
                    notes.push(format!(
                        "{} is not offered in {}: the local stack runs in {} (--region chooses)",
                        model.id,
                        local_stack::REGION,
                        stack.region
                    ));
                }
            }
        }
    }
    Ok(Request {
        file: file.clone(),
        upload_name,
        dataset,
        sidecar,
        fault,
        stack,
        data_dir: PathBuf::from(absolute(&args.data_dir)),
        notes,
        config: merged.settled(),
    })
}

/// Starts the local cloud, uploads the dataset, follows the execution to its end, and builds the
/// outcome.
async fn pipeline(request: &Request, sidecar: &Value, mut progress: Progress) -> Result<RunOutcome, CliError> {
    let mut options = Options::new(&request.data_dir);
    options.faults = request.fault.clone();
    options.template = request.stack.template.clone();
    options.definition = request.stack.definition.clone();
    options.parameters = request.stack.parameters.clone();
    options.region = request.stack.region.clone();
    let cloud = LocalCloud::start(options).await.map_err(|e| {
        CliError::failure(format!("the local cloud did not start in {}: {e}", request.data_dir.display()))
    })?;
    progress.line(&format!(
        "Local cloud up in {} (bucket in {}): S3 {}, Bedrock emulator {}, Step Functions {}{}",
        cloud.region,
        cloud.object_path("").display(),
        cloud.endpoints.s3.as_deref().unwrap_or("?"),
        cloud.endpoints.bedrock.as_deref().unwrap_or("?"),
        cloud.endpoints.sfn.as_deref().unwrap_or("?"),
        request.fault.as_deref().map(|f| format!(", faults: {f}")).unwrap_or_default()
    ));
    let sidecar = sidecar.as_object().is_some_and(|o| !o.is_empty()).then_some(sidecar);
    let failed = |what: &str, e: &dyn std::fmt::Display| CliError::failure(format!("{what}: {e}"));
    let key = cloud
        .upload(&request.file, &request.upload_name, sidecar)
        .await
        .map_err(|e| failed("the upload to the local bucket failed", &e))?;
    progress.line(&format!("Uploaded s3://{}/{key}", local_stack::BUCKET));

    let answer = cloud
        .next_upload_result(Duration::from_secs(120))
        .await
        .ok_or_else(|| CliError::failure("validate-split did not answer the upload notification"))?;
    let result = match answer {
        Ok(result) => result,
        // As on AWS, a failure before the execution starts (a permission the template lacks, say)
        // starts nothing: the run failed with validate-split's error.
        Err(e) => {
            progress.line(&format!("validate-split failed on the upload: {e}"));
            return Ok(failed_before_execution(&e.error_type, &e.error_message, &cloud));
        }
    };
    let started_run = &result["started"][0];
    let execution_arn = started_run["execution_arn"]
        .as_str()
        .ok_or_else(|| CliError::failure(format!("the upload started no execution: {result}")))?
        .to_string();
    let run_id = started_run["run_id"].as_str().unwrap_or_default().to_string();
    progress.line(&format!(
        "Execution {run_id} started by the S3 notification (times below: the local cloud's virtual clock)"
    ));

    let history = follow(&cloud, &execution_arn, &mut progress).await?;
    let read = |key: &str| std::fs::read(cloud.object_path(key)).ok();
    let summary: Option<RunSummary> = read(&layout::summary_key(&run_id)).and_then(|b| serde_json::from_slice(&b).ok());
    let validation: Option<Report> = read(&layout::report_key(&run_id)).and_then(|b| serde_json::from_slice(&b).ok());
    let locate = |key: &str| {
        let path = cloud.object_path(key);
        path.exists().then(|| path.display().to_string())
    };
    let notifications = cloud.lambdas.notifier.published.lock().ok().map(|p| p.len() as u64);
    // What bills is read from the account (the emulator's inventory, by the run's tag), not assumed.
    let live: Vec<String> = cloud
        .emulator
        .inventory()
        .into_iter()
        .filter(|l| l.tag(shared::aws::RUN_ID_TAG) == Some(run_id.as_str()))
        .map(|l| l.arn)
        .collect();
    let outcome = |locate: &dyn Fn(&str) -> Option<String>| {
        RunOutcome::build(&RunSources {
            run_id: &run_id,
            history: &history,
            summary: summary.as_ref(),
            locate,
            notifications,
            emulated: true,
            validation: validation.as_ref(),
            virtual_clock: true,
            live: Some(&live),
        })
    };
    let first = outcome(&locate);
    let dataset = format!("s3://{}/{}", local_stack::BUCKET, key);
    if let Err(e) = page::write(&cloud, &first, &request.config, dataset).await {
        note(&format!("report.html was not written: {e}"));
        return Ok(first);
    }
    // Built again so its artifacts list the page just written.
    Ok(outcome(&locate))
}

/// The outcome of a run whose upload started no execution: failed with the handler's error.
fn failed_before_execution(error: &str, cause: &str, cloud: &LocalCloud) -> RunOutcome {
    let at_ms = cloud.clock.now().epoch_millis();
    let history = [ExecutionEvent {
        at_ms,
        kind: EventKind::ExecutionEnded {
            status: ExecutionStatus::Failed,
            error: Some(error.to_string()),
            cause: Some(cause.to_string()),
            output: None,
        },
    }];
    let notifications = cloud.lambdas.notifier.published.lock().ok().map(|p| p.len() as u64);
    RunOutcome::build(&RunSources {
        run_id: "",
        history: &history,
        summary: None,
        locate: &|_: &str| None::<String>,
        notifications,
        emulated: true,
        validation: None,
        virtual_clock: true,
        // Nothing was started: nothing of the run can exist.
        live: Some(&[]),
    })
}

/// Shows each state as it is entered, until the execution ends; returns the full history, in the
/// neutral form the outcome is built from.
async fn follow(
    cloud: &LocalCloud,
    execution_arn: &str,
    progress: &mut Progress,
) -> Result<Vec<ExecutionEvent>, CliError> {
    let engine = |e: &dyn std::fmt::Display| CliError::failure(format!("the local Step Functions failed: {e}"));
    let mut events: Vec<ExecutionEvent> = Vec::new();
    let mut seen = 0usize;
    loop {
        // Status first: a history read after the execution ended holds its last events.
        let running = cloud.sfn.describe_execution(execution_arn).map_err(|e| engine(&e))?.snapshot.status
            == EngineStatus::Running;
        let history = cloud.sfn.get_execution_history(execution_arn).map_err(|e| engine(&e))?;
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
