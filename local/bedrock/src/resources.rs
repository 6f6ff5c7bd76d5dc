//! The emulated resources and their status machines: a customization job (and the custom model it
//! makes), a provisioned throughput and a custom model deployment. Pure data and pure functions of the
//! clock; the operations that create and change them live in `jobs` and `serving`.

use std::collections::BTreeMap;
use std::sync::Arc;

use shared::CustomizationType;
use shared::catalogue::Model;

use crate::standin::{Example, TunedModel};
use crate::store::S3Uri;
use crate::training::Curves;
use crate::wire::{OutputDataConfig, TrainingDataConfig, TrainingMetrics, ValidationDataConfig, ValidatorMetric};

/// `ModelCustomizationJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "InProgress",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Stopping => "Stopping",
            JobStatus::Stopped => "Stopped",
        }
    }
}

pub(crate) struct Job {
    pub arn: String,
    pub id: String,
    pub name: String,
    pub token: Option<String>,
    pub model_name: String,
    /// Reserved at creation; the model exists once the job completes.
    pub model_arn: String,
    pub role_arn: String,
    pub base: &'static Model,
    pub kind: CustomizationType,
    pub hyper_parameters: BTreeMap<String, String>,
    pub training: TrainingDataConfig,
    pub validation: ValidationDataConfig,
    pub output: OutputDataConfig,
    pub vpc_config: Option<serde_json::Value>,
    pub customization_config: Option<serde_json::Value>,
    pub created: i64,
    pub ends_at: i64,
    /// Set when the job is planned to fail (bad data, injected fault, unwritable output).
    pub failure: Option<String>,
    pub stop_requested: Option<i64>,
    pub stop_after: i64,
    pub records: u64,
    pub epochs: u64,
    pub batch_size: u64,
    pub examples: Vec<Example>,
    /// Side effects of the terminal status (artifacts, custom model) are done.
    pub settled: bool,
    pub curves: Option<Curves>,
    /// Reinforcement fine-tuning: the reward curve its grader gave (empty for other types).
    pub rewards: Vec<crate::reward::RewardRow>,
}

impl Job {
    /// The status at `now`, and when it was entered. Pure: this is the whole state machine.
    pub fn status_at(&self, now: i64) -> (JobStatus, i64) {
        if let Some(stop) = self.stop_requested {
            let done = stop.saturating_add(self.stop_after);
            return if now >= done { (JobStatus::Stopped, done) } else { (JobStatus::Stopping, stop) };
        }
        if now < self.ends_at {
            (JobStatus::InProgress, self.created)
        } else if self.failure.is_some() {
            (JobStatus::Failed, self.ends_at)
        } else {
            (JobStatus::Completed, self.ends_at)
        }
    }

    pub(crate) fn metrics(&self) -> (Option<TrainingMetrics>, Option<Vec<ValidatorMetric>>) {
        let Some(c) = &self.curves else { return (None, None) };
        let training = c.final_training_loss().map(|l| TrainingMetrics { training_loss: round(l) });
        let validation = c.final_validation_loss().map(|l| {
            self.validation.validators.iter().map(|_| ValidatorMetric { validation_loss: round(l) }).collect()
        });
        (training, validation)
    }

    pub(crate) fn artifacts_prefix(&self) -> Option<(String, String)> {
        let out = S3Uri::parse(self.output.s3_uri.as_deref()?)?;
        Some((out.bucket.clone(), out.child(&format!("model-customization-job-{}/", self.id))))
    }
}

/// Losses are reported as 32-bit floats by the service (`MetricFloat`); keep the digits honest.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(crate) struct CustomModel {
    pub arn: String,
    pub name: String,
    /// Index into `State::jobs`.
    pub job: usize,
    pub created: i64,
    pub stand_in: Arc<TunedModel>,
}

/// `ProvisionedModelStatus` and `CustomModelDeploymentStatus` share this shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServingStatus {
    Creating,
    /// `InService` for a throughput, `Active` for a deployment.
    Ready,
    Failed,
}

pub(crate) struct Throughput {
    pub arn: String,
    pub name: String,
    pub model_units: i64,
    /// What was provisioned: a custom-model ARN, or a foundation-model ARN.
    pub model_arn: String,
    pub foundation_model_arn: String,
    /// Index into `State::models` when the model is a custom one.
    pub custom_model: Option<usize>,
    pub commitment: Option<String>,
    pub created: i64,
    pub ready_at: i64,
    pub failure: Option<String>,
}

pub(crate) struct Deployment {
    pub arn: String,
    pub name: String,
    pub model_arn: String,
    pub custom_model: usize,
    pub description: Option<String>,
    pub created: i64,
    pub ready_at: i64,
    pub failure: Option<String>,
}

/// Creating until `ready_at`, then Ready or Failed: the whole state machine of both resources.
fn status_at(created: i64, ready_at: i64, failed: bool, now: i64) -> (ServingStatus, i64) {
    match (now < ready_at, failed) {
        (true, _) => (ServingStatus::Creating, created),
        (false, true) => (ServingStatus::Failed, ready_at),
        (false, false) => (ServingStatus::Ready, ready_at),
    }
}

impl Throughput {
    pub fn status_at(&self, now: i64) -> (ServingStatus, i64) {
        status_at(self.created, self.ready_at, self.failure.is_some(), now)
    }
}

impl Deployment {
    pub fn status_at(&self, now: i64) -> (ServingStatus, i64) {
        status_at(self.created, self.ready_at, self.failure.is_some(), now)
    }
}
