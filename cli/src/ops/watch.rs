//! Following one run: each state as it is entered and the training job's and deployment's statuses
//! as they change (stderr, through `output::progress`), until the execution ends. Ctrl-C stops the
//! watching, never the run (`finetune stop RUN` does that). The outcome shown at the end is the one
//! `finetune run` shows, built the same way.

use super::history::{finished, outcome};
use super::target::Cloud;
use crate::output::progress::Progress;
use crate::output::{CliError, Exit, Stdout, note};
use serde::Serialize;
use shared::outcome::RunOutcome;
use std::time::Duration;

/// `run --json`'s object: the outcome's keys, then `repeated` (always false here: this is the run itself).
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    outcome: &'a RunOutcome,
    repeated: bool,
}

pub fn show(out: &mut Stdout, outcome: &RunOutcome, json: bool) -> Result<(), CliError> {
    if json {
        out.json(&Shown { outcome, repeated: false })
    } else {
        out.text(&crate::run::text::render(outcome, None))
    }
}

/// Polls the run until it ends, showing what changes; returns the final outcome. Ctrl-C returns an
/// error that says the run goes on.
pub async fn follow(cloud: &Cloud, run_id: &str) -> Result<RunOutcome, CliError> {
    let watching = async {
        let mut progress = Progress::stderr(crate::output::is_quiet());
        let mut shown_visits = 0usize;
        let mut job_status: Option<String> = None;
        let mut deployment_status: Option<String> = None;
        loop {
            let current = outcome(cloud, run_id).await?;
            let start = current.started_at_ms.unwrap_or_default();
            for visit in current.visits.iter().skip(shown_visits) {
                let at = u64::try_from(visit.entered_at_ms - start).unwrap_or(0);
                progress.state(&visit.name, Duration::from_millis(at));
            }
            shown_visits = current.visits.len();
            if let Some(job) = &current.job
                && job.status.is_some()
                && job.status != job_status
            {
                job_status.clone_from(&job.status);
                progress.line(&format!(
                    "  training job {}: {} (after {} status check{})",
                    job.arn,
                    job.status.as_deref().unwrap_or("?"),
                    job.polls,
                    if job.polls == 1 { "" } else { "s" }
                ));
            }
            if let Some(deployment) = &current.deployment
                && Some(&deployment.status) != deployment_status.as_ref()
            {
                deployment_status = Some(deployment.status.clone());
                progress.line(&format!(
                    "  {} {}: {}",
                    deployment.kind.as_str(),
                    deployment.arn.as_deref().unwrap_or("-"),
                    deployment.status
                ));
            }
            if finished(&current) {
                progress.finish();
                return Ok(current);
            }
            tokio::time::sleep(poll_interval(cloud)).await;
        }
    };
    tokio::select! {
        result = watching => result,
        _ = tokio::signal::ctrl_c() => Err(CliError {
            exit: Exit::Failure,
            message: format!("stopped watching; run {run_id} goes on"),
            problems: Vec::new(),
            hint: Some(format!("`finetune status {run_id}` shows it; `finetune stop {run_id}` stops it")),
        }),
    }
}

/// How often a watch reads the run: a served local cloud runs in virtual time, AWS in real time.
fn poll_interval(cloud: &Cloud) -> Duration {
    if cloud.emulated() { Duration::from_millis(200) } else { Duration::from_secs(10) }
}

/// Notes the emulator's stand-ins, as every command that shows a local run does.
pub fn note_emulated(cloud: &Cloud) {
    if cloud.emulated() {
        note("Bedrock here is the local emulator: its models are deterministic stand-ins, its times virtual");
    }
}
