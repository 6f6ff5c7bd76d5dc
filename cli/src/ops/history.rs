//! A run as Step Functions' API tells it (GetExecutionHistory, DescribeExecution), on AWS and on a
//! served local cloud alike: its history in the neutral form (`shared::outcome::ExecutionEvent`, mapped
//! by `shared::outcome::sfn` as teardown maps it, and as `cli/src/run/history.rs` maps the in-process
//! engine's), and the outcome built from it with the run's documents read from the bucket.

use super::target::Cloud;
use crate::output::CliError;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use shared::outcome::sfn::{HistoryError, MAX_HISTORY_PAGES, PAGE_SIZE, read_history};
use shared::outcome::{ExecutionEvent, ExecutionStatus, RunOutcome, RunSources};
use shared::pipeline::layout;
use shared::report::Report;
use shared::summary::RunSummary;
use std::collections::BTreeSet;

/// Step Functions' error, said with where it happened.
pub fn sfn_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    cloud: &Cloud,
    what: &str,
    error: &aws_sdk_sfn::error::SdkError<E>,
) -> CliError {
    match error.code() {
        Some("ExecutionDoesNotExist") => CliError::usage(format!("{what}: no such run in {}", cloud.label))
            .with_hint("`finetune runs` lists the runs of this state machine"),
        _ => super::errors::aws_error(cloud, what, error),
    }
}

/// The whole history so far, every page, with its data.
pub async fn history(cloud: &Cloud, execution_arn: &str) -> Result<Vec<ExecutionEvent>, CliError> {
    read_history(&cloud.sfn(), execution_arn).await.map_err(|e| match e {
        HistoryError::Call(e) => sfn_error(cloud, "reading the run's history", &*e),
        HistoryError::TooLong => CliError::failure(format!(
            "reading the run's history: {execution_arn} has more than {MAX_HISTORY_PAGES} pages of {PAGE_SIZE} \
             events, more than Step Functions keeps of an execution; is the endpoint a Step Functions API?"
        )),
    })
}

/// The run's outcome so far: its history, its summary and validation report if written, and which of
/// its objects exist.
pub async fn outcome(cloud: &Cloud, run_id: &str) -> Result<RunOutcome, CliError> {
    let history = history(cloud, &cloud.execution_arn(run_id)).await?;
    outcome_from(cloud, run_id, &history).await
}

/// [`outcome`] from a history already read.
pub async fn outcome_from(cloud: &Cloud, run_id: &str, history: &[ExecutionEvent]) -> Result<RunOutcome, CliError> {
    outcome_with(cloud, run_id, history, None).await
}

/// An object of the bucket, `None` when it is not there (yet); a refusal (expired credentials, a
/// missing permission) is an error, never taken for "not written yet".
pub async fn read_object(cloud: &Cloud, key: &str) -> Result<Option<Vec<u8>>, CliError> {
    match cloud.s3().get_object().bucket(&cloud.outputs.bucket).key(key).send().await {
        Ok(object) => Ok(object.body.collect().await.ok().map(|b| b.into_bytes().to_vec())),
        Err(e) => {
            let error = super::errors::aws_error(cloud, &format!("reading s3://{}/{key}", cloud.outputs.bucket), &e);
            if error.exit == crate::output::Exit::Usage { Err(error) } else { Ok(None) }
        }
    }
}

/// [`outcome_from`], with what of the run exists in the account now (`live`: ARNs found by the run's
/// tag) when the caller looked.
pub async fn outcome_with(
    cloud: &Cloud,
    run_id: &str,
    history: &[ExecutionEvent],
    live: Option<&[String]>,
) -> Result<RunOutcome, CliError> {
    let bucket = &cloud.outputs.bucket;
    let summary: Option<RunSummary> =
        read_object(cloud, &layout::summary_key(run_id)).await?.and_then(|b| serde_json::from_slice(&b).ok());
    let validation: Option<Report> =
        read_object(cloud, &layout::report_key(run_id)).await?.and_then(|b| serde_json::from_slice(&b).ok());
    let keys = list_keys(cloud, &layout::run_prefix(run_id)).await?;
    let locate = |key: &str| {
        let present = if key.ends_with('/') { keys.iter().any(|k| k.starts_with(key)) } else { keys.contains(key) };
        present.then(|| layout::s3_uri(bucket, key))
    };
    Ok(RunOutcome::build(&RunSources {
        run_id,
        history,
        summary: summary.as_ref(),
        locate: &locate,
        notifications: None,
        emulated: cloud.emulated(),
        validation: validation.as_ref(),
        virtual_clock: cloud.emulated(),
        // None: left_billing is what the run's documents imply.
        live,
    }))
}

/// Every key under a prefix of the stack's bucket.
pub async fn list_keys(cloud: &Cloud, prefix: &str) -> Result<BTreeSet<String>, CliError> {
    let mut keys = BTreeSet::new();
    let mut pages = cloud.s3().list_objects_v2().bucket(&cloud.outputs.bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            super::errors::aws_error(cloud, &format!("listing s3://{}/{prefix}", cloud.outputs.bucket), &e)
        })?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
    }
    Ok(keys)
}

/// The outcome's status as an exit code: 0 succeeded, 1 failed, timed out or aborted; a running run
/// is neither (the caller decides).
pub fn finished(outcome: &RunOutcome) -> bool {
    outcome.status != ExecutionStatus::Running
}
