//! Sample pipeline documents for shared's own tests: a prepared run, a job, a deployment and an
//! evaluation in the states a run passes through.

use crate::pipeline::{
    ClassScores, DatasetSource, DeploymentMode, DeploymentRef, EvaluationResult, JobRef, Metric, ModelScores,
    PipelineConfig, PollState, PollStatus, PreparedData, PreparedRun, RunDocument,
};

pub const JOB: &str = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/j1";
pub const MODEL: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/m1";
pub const DEPLOYMENT: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/d1";

/// A run just prepared: 40 records, nothing started yet.
pub fn document() -> RunDocument {
    RunDocument {
        run: PreparedRun {
            run_id: "r".into(),
            prepared: true,
            source: DatasetSource { bucket: "b".into(), key: "incoming/d.jsonl".into(), etag: "e".into(), logs: None },
            config: PipelineConfig::default(),
            data: PreparedData {
                training_source: Default::default(),
                bucket: "b".into(),
                train_uri: "s3://b/runs/r/train.jsonl".into(),
                validation_uri: None,
                report_uri: "s3://b/runs/r/validation-report.json".into(),
                train_records: 40,
                validation_records: 0,
                training_tokens: 1000,
                estimated_cost_usd: Some(0.25),
                valid: true,
                first_errors: vec![],
                cause: None,
            },
        },
        job: None,
        deployment: None,
        evaluation: None,
        error: None,
        outcome: None,
        teardown: None,
    }
}

/// The customization job, polled `polls` times; a completed one has its custom model.
pub fn job(state: PollState, raw: &str, polls: u32) -> JobRef {
    JobRef {
        job_arn: JOB.into(),
        job_name: "ft-r".into(),
        custom_model_name: "model-r".into(),
        started_at: "2026-01-02T03:04:05Z".into(),
        output_uri: "s3://b/runs/r/output/".into(),
        status: PollStatus { attempt: polls, ..PollStatus::fresh(state, raw, 300) },
        custom_model_arn: (state == PollState::Ready).then(|| MODEL.into()),
        training_loss: None,
        validation_loss: None,
        estimated_seconds: None,
    }
}

/// A deployment of `mode`, polled `polls` times.
pub fn deployment(mode: DeploymentMode, state: PollState, raw: &str, polls: u32) -> DeploymentRef {
    DeploymentRef {
        mode,
        arn: Some(DEPLOYMENT.into()),
        invoke_arn: Some(DEPLOYMENT.into()),
        started_at: "2026-01-02T04:00:00Z".into(),
        status: PollStatus { attempt: polls, ..PollStatus::fresh(state, raw, 60) },
        hourly_cost_usd: if mode == DeploymentMode::Provisioned { None } else { Some(0.0) },
    }
}

/// A finished evaluation in which the custom model beat its base.
pub fn evaluation() -> EvaluationResult {
    let scores = |model_id: &str, score: f64| ModelScores {
        model_id: model_id.into(),
        exact_match: score,
        token_f1: score,
        rouge_l: score,
        latency_p50_ms: 100.0,
        latency_p95_ms: 150.0,
        errors: 0,
        per_class: vec![ClassScores {
            label: "billing".into(),
            precision: score,
            recall: score,
            f1: score,
            support: 4,
        }],
    };
    EvaluationResult {
        samples: 4,
        primary_metric: Metric::TokenF1,
        base: scores("amazon.nova-micro-v1:0", 0.25),
        custom: scores(DEPLOYMENT, 1.0),
        improvement: 0.75,
        min_improvement: 0.0,
        passed: true,
        verdict: crate::pipeline::GateVerdict::Passed,
        coverage: 1.0,
        min_coverage: crate::metrics::MIN_GATE_COVERAGE,
        report_uri: "s3://b/runs/r/evaluation/report.json".into(),
        markdown_uri: "s3://b/runs/r/evaluation/report.md".into(),
        predictions_uri: "s3://b/runs/r/evaluation/predictions.jsonl".into(),
        emulated: false,
    }
}
