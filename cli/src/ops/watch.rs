//! Following one run: each state as it is entered, the training job as Bedrock reports it
//! (GetModelCustomizationJob: its status, its latest training and validation loss once it has them,
//! and the time left by the run's own estimate) and the deployment's status as it changes (stderr,
//! through `output::progress`), until the execution ends. Ctrl-C stops the watching, never the run
//! (`finetune stop RUN` does that). The outcome shown at the end is the one `finetune run` shows,
//! built the same way.

use super::history::{finished, history, outcome_from};
use super::target::Cloud;
use crate::output::progress::Progress;
use crate::output::{CliError, Exit, Stdout, note};
use serde::Serialize;
use shared::outcome::{RunOutcome, latest_document};
use shared::pipeline::{JobRef, RunDocument};
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
        let mut job_shown: Option<String> = None;
        let mut deployment_status: Option<String> = None;
        loop {
            let events = history(cloud, &cloud.execution_arn(run_id)).await?;
            let current = outcome_from(cloud, run_id, &events).await?;
            let document: Option<RunDocument> = latest_document(&events);
            let start = current.started_at_ms.unwrap_or_default();
            for visit in current.visits.iter().skip(shown_visits) {
                let at = u64::try_from(visit.entered_at_ms - start).unwrap_or(0);
                progress.state(&visit.name, Duration::from_millis(at));
            }
            shown_visits = current.visits.len();
            if let Some(job) = document.as_ref().and_then(|d| d.job.as_ref()) {
                let seen = job_seen(cloud, job).await?;
                let now_ms = if cloud.emulated() {
                    // The local cloud's clock is virtual: its latest event is the best "now" there is.
                    events.last().map_or(0, |e| e.at_ms).max(seen.last_modified_ms.unwrap_or(0))
                } else {
                    now_ms()
                };
                let (key, line) = job_line(job, &seen, now_ms);
                if job_shown.as_ref() != Some(&key) {
                    progress.line(&line);
                    job_shown = Some(key);
                }
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

/// The training job as Bedrock reports it now.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JobSeen {
    pub status: Option<String>,
    pub training_loss: Option<f64>,
    pub validation_loss: Option<f64>,
    pub last_modified_ms: Option<i64>,
    pub ended_ms: Option<i64>,
}

/// GetModelCustomizationJob on the run's job; a refusal is an error like any other command's.
async fn job_seen(cloud: &Cloud, job: &JobRef) -> Result<JobSeen, CliError> {
    let got = cloud
        .bedrock()
        .get_model_customization_job()
        .job_identifier(&job.job_arn)
        .send()
        .await
        .map_err(|e| super::errors::aws_error(cloud, &format!("reading training job {}", job.job_arn), &e))?;
    let millis = |d: &aws_sdk_bedrock::primitives::DateTime| d.to_millis().ok();
    Ok(JobSeen {
        status: got.status().map(|s| s.as_str().to_string()),
        training_loss: got.training_metrics().and_then(|m| m.training_loss()).map(f64::from),
        validation_loss: got.validation_metrics().iter().rev().find_map(|m| m.validation_loss()).map(f64::from),
        last_modified_ms: got.last_modified_time().and_then(millis),
        ended_ms: got.end_time().and_then(millis),
    })
}

fn now_ms() -> i64 {
    aws_sdk_sfn::primitives::DateTime::from(std::time::SystemTime::now()).to_millis().unwrap_or_default()
}

/// The job's line, and what it changes with: status, losses, and the time left in tenths of the
/// estimate (a line per poll would be noise on a pipe).
pub fn job_line(job: &JobRef, seen: &JobSeen, now_ms: i64) -> (String, String) {
    let status = seen.status.clone().unwrap_or_else(|| job.status.raw_status.clone());
    let started_ms = shared::aws::parse_rfc3339(&job.started_at);
    let estimate_ms = job.estimated_seconds.map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX));
    let mut line = format!("  training job {}: {status}", job.job_name);
    let mut tenth = None;
    let in_progress = status == "InProgress";
    match (started_ms, estimate_ms) {
        (Some(started), Some(estimate)) if in_progress && estimate > 0 => {
            let elapsed = (now_ms - started).max(0);
            let left = estimate - elapsed;
            tenth = Some((elapsed * 10 / estimate).min(30));
            if left > 0 {
                line.push_str(&format!(
                    ", {} elapsed, about {} left (estimated {})",
                    super::runs::human_duration(elapsed),
                    super::runs::human_duration(left),
                    super::runs::human_duration(estimate)
                ));
            } else {
                line.push_str(&format!(
                    ", {} elapsed, {} over its estimate of {}",
                    super::runs::human_duration(elapsed),
                    super::runs::human_duration(-left),
                    super::runs::human_duration(estimate)
                ));
            }
        }
        (Some(started), estimate) => {
            if let Some(ended) = seen.ended_ms.filter(|_| !in_progress) {
                line.push_str(&format!(" after {}", super::runs::human_duration(ended - started)));
            }
            if let Some(estimate) = estimate {
                line.push_str(&format!(" (estimated {})", super::runs::human_duration(estimate)));
            }
        }
        (None, _) => {}
    }
    let loss = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    if seen.training_loss.is_some() || seen.validation_loss.is_some() {
        line.push_str(&format!(
            "; latest training loss {}, validation loss {}",
            loss(seen.training_loss),
            loss(seen.validation_loss)
        ));
    }
    let key = format!("{status}|{}|{}|{tenth:?}", loss(seen.training_loss), loss(seen.validation_loss));
    (key, line)
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::pipeline::{PollState, PollStatus};

    fn job() -> JobRef {
        JobRef {
            job_arn: "arn:aws:bedrock:us-east-1:1:model-customization-job/j".into(),
            job_name: "ft-job".into(),
            custom_model_name: "ft-model".into(),
            started_at: "2026-01-02T03:00:00Z".into(),
            output_uri: "s3://b/runs/r/output/".into(),
            status: PollStatus {
                state: PollState::InProgress,
                raw_status: "InProgress".into(),
                attempt: 1,
                next_wait_seconds: 600,
                elapsed_seconds: 600,
                exhausted: false,
                failure_message: None,
            },
            custom_model_arn: None,
            training_loss: None,
            validation_loss: None,
            estimated_seconds: Some(3600),
        }
    }

    #[test]
    fn the_job_line_says_status_losses_and_time_left_and_changes_by_tenths() {
        let start = shared::aws::parse_rfc3339("2026-01-02T03:00:00Z").unwrap();
        let seen = JobSeen { status: Some("InProgress".into()), ..JobSeen::default() };
        let (key, line) = job_line(&job(), &seen, start + 20 * 60_000);
        assert_eq!(line, "  training job ft-job: InProgress, 20m 00s elapsed, about 40m 00s left (estimated 1h 00m)");
        // A minute later, in the same tenth of the estimate: the same key, no new line.
        assert_eq!(job_line(&job(), &seen, start + 21 * 60_000).0, key);
        assert_ne!(job_line(&job(), &seen, start + 25 * 60_000).0, key);
        let (_, over) = job_line(&job(), &seen, start + 90 * 60_000);
        assert!(over.ends_with("1h 30m elapsed, 30m 00s over its estimate of 1h 00m"), "{over}");

        let done = JobSeen {
            status: Some("Completed".into()),
            training_loss: Some(0.41234),
            validation_loss: Some(0.5),
            ended_ms: Some(start + 50 * 60_000),
            ..JobSeen::default()
        };
        let (done_key, line) = job_line(&job(), &done, start + 55 * 60_000);
        assert_eq!(
            line,
            "  training job ft-job: Completed after 50m 00s (estimated 1h 00m); latest training loss 0.4123, \
             validation loss 0.5000"
        );
        assert_ne!(done_key, key);
    }
}
