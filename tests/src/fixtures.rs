//! Realistic documents at every point of a run, built from the contract types in `shared::pipeline`
//! (never written as raw JSON), so they change when the contract does.

use std::collections::BTreeMap;

use shared::pipeline::{
    Backoff, CaughtError, CheckStatusRequest, DatasetSource, DeploymentMode, DeploymentRef, EvaluationResult, JobRef,
    Metric, ModelScores, Outcome, PipelineConfig, PollState, PollStatus, PreparedData, PreparedRun, RunDocument,
    StartRequest, TeardownResult, layout, names, run_id,
};

use crate::{ACCOUNT, REGION};

pub const BUCKET: &str = "finetune-123456789012-us-east-1";
/// The upload, as the user named it (the S3 event carries it URL-encoded: `support+tickets.jsonl`).
pub const DATASET_KEY: &str = "incoming/support tickets.jsonl";
pub const STARTED_AT: &str = "2025-01-01T00:00:00Z";
const CUSTOM_MODEL_ID: &str = "a1b2c3d4e5f6";

/// How a poll left a job or deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    InProgress,
    Ready,
    /// Failed, with Bedrock's failureMessage.
    Failed,
    /// Failed without a message (the field is optional).
    FailedSilently,
    Stopped,
    /// Still in progress when the loop's bound was reached.
    Exhausted,
}

impl Poll {
    pub const ALL: [Poll; 6] =
        [Poll::InProgress, Poll::Ready, Poll::Failed, Poll::FailedSilently, Poll::Stopped, Poll::Exhausted];
}

pub fn config() -> PipelineConfig {
    PipelineConfig {
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/finetune-bedrock-service"),
        hyperparameters: BTreeMap::from([("epochCount".to_string(), "2".to_string())]),
        tags: BTreeMap::from([("project".to_string(), "support-bot".to_string())]),
        ..PipelineConfig::default()
    }
}

pub fn source() -> DatasetSource {
    DatasetSource {
        bucket: BUCKET.to_string(),
        key: DATASET_KEY.to_string(),
        etag: "9b2cf535f27731c974343645a3985328".to_string(),
    }
}

pub fn run_id_for_samples() -> String {
    run_id(&source(), &config())
}

/// A console run: a dataset URI and overrides.
pub fn start_request_console() -> StartRequest {
    StartRequest {
        dataset: layout::s3_uri(BUCKET, DATASET_KEY),
        config: serde_json::json!({"hyperparameters": {"epochCount": "3"}, "evaluation": {"sample_size": 50}}),
    }
}

/// A scheduled retraining run: a prefix (its newest .jsonl is used) and the deployment defaults.
pub fn start_request_schedule() -> StartRequest {
    StartRequest { dataset: layout::s3_uri(BUCKET, "incoming/retraining/"), config: serde_json::Value::Null }
}

pub fn prepared_run(valid: bool) -> PreparedRun {
    let id = run_id_for_samples();
    let first_errors = if valid {
        Vec::new()
    } else {
        vec![
            "line 3: messages[1].role must be `assistant`, found `user`".to_string(),
            "line 17: a record has 3 turns, the last from the user".to_string(),
        ]
    };
    let report_uri = layout::s3_uri(BUCKET, &layout::report_key(&id));
    let cause = (!valid).then(|| format!("{}; report: {report_uri}", first_errors.join("; ")));
    PreparedRun {
        run_id: id.clone(),
        prepared: true,
        source: source(),
        config: config(),
        data: PreparedData {
            bucket: BUCKET.to_string(),
            train_uri: layout::s3_uri(BUCKET, &layout::train_key(&id)),
            validation_uri: Some(layout::s3_uri(BUCKET, &layout::validation_key(&id))),
            report_uri,
            train_records: if valid { 1_800 } else { 0 },
            validation_records: if valid { 200 } else { 0 },
            training_tokens: if valid { 912_345 } else { 0 },
            estimated_cost_usd: valid.then_some(1.8247),
            valid,
            first_errors,
            cause,
        },
    }
}

pub fn poll_status(poll: Poll, backoff: Backoff, raw_in_progress: &str, raw_ready: &str) -> PollStatus {
    let (attempt, elapsed) = match poll {
        Poll::Exhausted => (backoff.max_attempts, 345_600),
        Poll::InProgress => (3, 675),
        _ => (11, 8_219),
    };
    let (state, raw) = match poll {
        Poll::InProgress | Poll::Exhausted => (PollState::InProgress, raw_in_progress),
        Poll::Ready => (PollState::Ready, raw_ready),
        Poll::Failed | Poll::FailedSilently => (PollState::Failed, "Failed"),
        Poll::Stopped => (PollState::Stopped, "Stopped"),
    };
    PollStatus {
        state,
        raw_status: raw.to_string(),
        attempt,
        next_wait_seconds: backoff.next_wait(elapsed),
        elapsed_seconds: elapsed,
        exhausted: poll == Poll::Exhausted,
        failure_message: (poll == Poll::Failed)
            .then(|| "Insufficient training records: 7 found, at least 8 required".to_string()),
    }
}

/// start-job's output: in progress, nothing polled yet, the first wait from the backoff.
pub fn job_started() -> JobRef {
    let id = run_id_for_samples();
    let job_name = names::job_name(&id);
    JobRef {
        job_arn: format!(
            "arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-micro-v1:0:128k/{}",
            "x7k2m9q4w1z8"
        ),
        job_name,
        custom_model_name: names::custom_model_name(&id),
        started_at: STARTED_AT.to_string(),
        output_uri: layout::s3_uri(BUCKET, &layout::output_prefix(&id)),
        status: PollStatus::fresh(PollState::InProgress, "InProgress", Backoff::JOB.initial_seconds),
        custom_model_arn: None,
        training_loss: None,
        validation_loss: None,
    }
}

pub fn custom_model_arn() -> String {
    format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/{CUSTOM_MODEL_ID}")
}

/// check-status's output for a job after a poll.
pub fn job_polled(poll: Poll) -> JobRef {
    let ready = poll == Poll::Ready;
    JobRef {
        status: poll_status(poll, Backoff::JOB, "InProgress", "Completed"),
        custom_model_arn: ready.then(custom_model_arn),
        training_loss: ready.then_some(0.4121),
        validation_loss: ready.then_some(0.5377),
        ..job_started()
    }
}

/// provision's output: mode none is ready at once; the others start in progress.
pub fn deployment_started(mode: DeploymentMode) -> DeploymentRef {
    let (arn, invoke_arn, state, raw, cost) = match mode {
        DeploymentMode::None => (None, None, PollState::Ready, "None", None),
        DeploymentMode::OnDemand => {
            let arn = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/k3j5h7g9f1d2");
            (Some(arn.clone()), Some(arn), PollState::InProgress, "Creating", None)
        }
        DeploymentMode::Provisioned => {
            let arn = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/p9o8i7u6y5t4");
            (Some(arn.clone()), Some(arn), PollState::InProgress, "Creating", Some(7.10))
        }
    };
    DeploymentRef {
        mode,
        arn,
        invoke_arn,
        started_at: "2025-01-01T02:17:00Z".to_string(),
        status: PollStatus::fresh(state, raw, Backoff::DEPLOYMENT.initial_seconds),
        hourly_cost_usd: cost,
    }
}

/// check-status's output for a deployment after a poll.
pub fn deployment_polled(mode: DeploymentMode, poll: Poll) -> DeploymentRef {
    let ready = if mode == DeploymentMode::Provisioned { "InService" } else { "Active" };
    DeploymentRef { status: poll_status(poll, Backoff::DEPLOYMENT, "Creating", ready), ..deployment_started(mode) }
}

/// Scores as literals: serde_json reads long computed floats back a bit off, and the samples in
/// events/ must read back exactly.
fn scores(model_id: &str, [exact_match, token_f1, rouge_l]: [f64; 3]) -> ModelScores {
    ModelScores {
        model_id: model_id.to_string(),
        exact_match,
        token_f1,
        rouge_l,
        latency_p50_ms: 412.0,
        latency_p95_ms: 988.0,
        errors: 0,
        per_class: Vec::new(),
    }
}

pub fn evaluation(passed: bool) -> EvaluationResult {
    let id = run_id_for_samples();
    let (custom, improvement) = if passed { ([0.42, 0.63, 0.6], 0.22) } else { ([0.18, 0.39, 0.36], -0.02) };
    EvaluationResult {
        samples: 100,
        primary_metric: Metric::TokenF1,
        base: scores("amazon.nova-micro-v1:0:128k", [0.2, 0.41, 0.38]),
        custom: scores(&deployment_started(DeploymentMode::OnDemand).invoke_arn.unwrap_or_default(), custom),
        improvement,
        min_improvement: 0.05,
        passed,
        report_uri: layout::s3_uri(BUCKET, &layout::evaluation_report_key(&id)),
        markdown_uri: layout::s3_uri(BUCKET, &layout::evaluation_markdown_key(&id)),
        predictions_uri: layout::s3_uri(BUCKET, &layout::predictions_key(&id)),
        emulated: false,
    }
}

pub fn teardown_result(outcome: Outcome) -> TeardownResult {
    let id = run_id_for_samples();
    let deployment = deployment_started(DeploymentMode::OnDemand).arn.unwrap_or_default();
    let failed = outcome == Outcome::Failed;
    TeardownResult {
        outcome,
        deleted: if failed { vec![deployment.clone()] } else { Vec::new() },
        stopped: Vec::new(),
        kept: if failed { Vec::new() } else { vec![deployment] },
        summary_uri: layout::s3_uri(BUCKET, &layout::summary_key(&id)),
        notified: true,
    }
}

pub fn caught(error: &str, cause: &str) -> CaughtError {
    CaughtError { error: error.to_string(), cause: cause.to_string() }
}

// --- The run document as the state machine builds it, step by step.

fn document(run: PreparedRun) -> RunDocument {
    RunDocument { run, job: None, deployment: None, evaluation: None, error: None, outcome: None, teardown: None }
}

pub fn after_validate_split(valid: bool) -> RunDocument {
    document(prepared_run(valid))
}

pub fn after_start_job() -> RunDocument {
    RunDocument { job: Some(job_started()), ..after_validate_split(true) }
}

pub fn after_check_job(poll: Poll) -> RunDocument {
    RunDocument { job: Some(job_polled(poll)), ..after_validate_split(true) }
}

pub fn after_provision(mode: DeploymentMode) -> RunDocument {
    RunDocument { deployment: Some(deployment_started(mode)), ..after_check_job(Poll::Ready) }
}

pub fn after_check_deployment(mode: DeploymentMode, poll: Poll) -> RunDocument {
    RunDocument { deployment: Some(deployment_polled(mode, poll)), ..after_check_job(Poll::Ready) }
}

pub fn after_evaluate(passed: bool) -> RunDocument {
    RunDocument {
        evaluation: Some(evaluation(passed)),
        ..after_check_deployment(DeploymentMode::OnDemand, Poll::Ready)
    }
}

pub fn with_error(doc: RunDocument, error: &str, cause: &str) -> RunDocument {
    RunDocument { error: Some(caught(error, cause)), ..doc }
}

pub fn with_outcome(doc: RunDocument, outcome: Outcome) -> RunDocument {
    RunDocument { outcome: Some(outcome), ..doc }
}

pub fn with_teardown(doc: RunDocument) -> RunDocument {
    let outcome = doc.outcome.unwrap_or(Outcome::Failed);
    RunDocument { teardown: Some(teardown_result(outcome)), ..doc }
}

/// check-status's two inputs, as the state machine's Parameters build them.
pub fn check_job_request() -> CheckStatusRequest {
    CheckStatusRequest::Job { job: job_polled(Poll::InProgress) }
}

pub fn check_deployment_request() -> CheckStatusRequest {
    CheckStatusRequest::Deployment { deployment: deployment_polled(DeploymentMode::OnDemand, Poll::InProgress) }
}

/// Every stage of a run, labelled: what the teardown Lambda may be handed after any failure.
pub fn every_stage() -> Vec<(&'static str, RunDocument)> {
    vec![
        ("after ValidateSplit (invalid)", after_validate_split(false)),
        ("after ValidateSplit", after_validate_split(true)),
        ("after StartJob", after_start_job()),
        ("after CheckJob", after_check_job(Poll::InProgress)),
        ("after CheckJob (ready)", after_check_job(Poll::Ready)),
        ("after Provision (none)", after_provision(DeploymentMode::None)),
        ("after Provision (on-demand)", after_provision(DeploymentMode::OnDemand)),
        ("after Provision (provisioned)", after_provision(DeploymentMode::Provisioned)),
        ("after CheckDeployment", after_check_deployment(DeploymentMode::Provisioned, Poll::InProgress)),
        ("after Evaluate (passed)", after_evaluate(true)),
        ("after Evaluate (gate failed)", after_evaluate(false)),
    ]
}
