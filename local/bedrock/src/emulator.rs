//! The state layer: one small state machine per resource, statuses computed from the clock on every
//! call, no HTTP. [`crate::http`] only translates between this and the wire.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shared::CustomizationType;
use shared::catalogue::{self, HyperParameterEncoding, HyperValue, Model};
use shared::validate::{FileRole, Options, validate_reader};
use xxhash_rust::xxh3::xxh3_64;

use crate::clock::{Clock, iso};
use crate::error::{BedrockError, ErrorKind, Violations};
use crate::faults::{Draw, FaultSpec, Faults};
use crate::names;
use crate::standin::{Example, TunedModel, examples_from_jsonl};
use crate::store::{ObjectStore, S3Uri};
use crate::training::{self, Curves};
use crate::wire::*;

/// Where the emulated account lives and how its quotas and timings are set.
#[derive(Debug, Clone)]
pub struct Config {
    pub region: String,
    pub account_id: String,
    /// Jobs `InProgress` or `Stopping` at once; one more is a ServiceQuotaExceededException.
    /// The real default quota is not documented here; 5 is an educated guess.
    pub max_jobs_in_progress: usize,
    /// No-commitment provisioned throughputs per account (documented: 2, of 1 model unit each).
    pub max_no_commitment_throughputs: usize,
    /// Creating -> InService.
    pub throughput_ready_after: Duration,
    /// Creating -> Active.
    pub deployment_ready_after: Duration,
    /// Stopping -> Stopped.
    pub job_stop_after: Duration,
    pub faults: FaultSpec,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            max_jobs_in_progress: 5,
            max_no_commitment_throughputs: 2,
            throughput_ready_after: Duration::from_secs(15 * 60),
            deployment_ready_after: Duration::from_secs(10 * 60),
            job_stop_after: Duration::from_secs(2 * 60),
            faults: FaultSpec::default(),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

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

    fn metrics(&self) -> (Option<TrainingMetrics>, Option<Vec<ValidatorMetric>>) {
        let Some(c) = &self.curves else { return (None, None) };
        let training = c.final_training_loss().map(|l| TrainingMetrics { training_loss: round(l) });
        let validation = c.final_validation_loss().map(|l| {
            self.validation.validators.iter().map(|_| ValidatorMetric { validation_loss: round(l) }).collect()
        });
        (training, validation)
    }

    fn artifacts_prefix(&self) -> Option<(String, String)> {
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

pub(crate) struct State {
    pub jobs: Vec<Job>,
    pub models: Vec<CustomModel>,
    pub throughputs: Vec<crate::serving::Throughput>,
    pub deployments: Vec<crate::serving::Deployment>,
    pub job_tokens: HashMap<String, String>,
    pub throughput_tokens: HashMap<String, String>,
    pub deployment_tokens: HashMap<String, String>,
    pub ids: u64,
}

pub(crate) struct Inner {
    pub store: Box<dyn ObjectStore>,
    pub clock: Box<dyn Clock>,
    pub config: Config,
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    pub requests: AtomicU64,
}

/// The emulated Bedrock account: control plane and runtime. Clones share the same state.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Emulator {
    pub fn new(store: impl ObjectStore + 'static, clock: impl Clock + 'static, config: Config) -> Self {
        let faults = Mutex::new(Faults::new(config.faults.clone()));
        let state = State {
            jobs: Vec::new(),
            models: Vec::new(),
            throughputs: Vec::new(),
            deployments: Vec::new(),
            job_tokens: HashMap::new(),
            throughput_tokens: HashMap::new(),
            deployment_tokens: HashMap::new(),
            ids: 0,
        };
        let inner = Inner {
            store: Box::new(store),
            clock: Box::new(clock),
            config,
            state: Mutex::new(state),
            faults,
            requests: AtomicU64::new(0),
        };
        Emulator { inner: Arc::new(inner) }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Replaces the fault spec (and restarts its random stream from the spec's seed).
    pub fn set_faults(&self, spec: FaultSpec) {
        *lock(&self.inner.faults) = Faults::new(spec);
    }

    /// Requests admitted so far (including those answered with an injected fault).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Called once per request by the wire layer: counts it and applies throttling and 5xx faults.
    pub fn admit(&self) -> Result<(), BedrockError> {
        self.inner.requests.fetch_add(1, Ordering::SeqCst);
        match lock(&self.inner.faults).draw() {
            Draw::Pass => Ok(()),
            Draw::Throttle => {
                Err(BedrockError::new(ErrorKind::Throttling, "Too many requests, please wait before trying again."))
            }
            Draw::ServerError => Err(BedrockError::new(
                ErrorKind::InternalServer,
                "The server encountered an internal error while processing the request. Retry your request.",
            )),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// Locks the state after applying every transition due by now, so all readers see side effects.
    pub(crate) fn state(&self) -> (MutexGuard<'_, State>, i64) {
        let now = self.now();
        let mut st = lock(&self.inner.state);
        self.settle(&mut st, now);
        (st, now)
    }

    pub(crate) fn arn(&self, resource: &str) -> String {
        let c = &self.inner.config;
        format!("arn:aws:bedrock:{}:{}:{resource}", c.region, c.account_id)
    }

    pub(crate) fn foundation_arn(&self, model: &Model) -> String {
        format!("arn:aws:bedrock:{}::foundation-model/{}", self.inner.config.region, model.id)
    }

    /// 12 lowercase alphanumerics, deterministic in creation order.
    pub(crate) fn new_id(st: &mut State, kind: &str, name: &str) -> String {
        st.ids += 1;
        let mut h = xxh3_64(format!("{kind}\n{name}\n{}", st.ids).as_bytes());
        let mut id = String::with_capacity(12);
        for _ in 0..12 {
            id.push(char::from_digit((h % 36) as u32, 36).unwrap_or('0'));
            h /= 36;
        }
        id
    }

    fn settle(&self, st: &mut State, now: i64) {
        for i in 0..st.jobs.len() {
            if st.jobs[i].settled {
                continue;
            }
            let (status, _) = st.jobs[i].status_at(now);
            match status {
                JobStatus::InProgress | JobStatus::Stopping => {}
                JobStatus::Failed | JobStatus::Stopped => st.jobs[i].settled = true,
                JobStatus::Completed => self.complete(st, i),
            }
        }
    }

    /// Writes the job's artifacts and creates its custom model; if the output cannot be written the
    /// job fails instead, as Bedrock's would.
    fn complete(&self, st: &mut State, i: usize) {
        let job = &mut st.jobs[i];
        job.settled = true;
        let has_validation = !job.validation.validators.is_empty();
        let curves = training::curves(&job.name, job.records, job.epochs, job.batch_size, has_validation);
        let written =
            job.artifacts_prefix().ok_or_else(|| "invalid output S3 URI".to_string()).and_then(|(bucket, prefix)| {
                let store = &self.inner.store;
                let train_key = format!("{prefix}training_artifacts/step_wise_training_metrics.csv");
                store
                    .put(&bucket, &train_key, training::training_csv(&curves).as_bytes())
                    .map_err(|e| e.to_string())?;
                if has_validation {
                    let key =
                        format!("{prefix}validation_artifacts/post_fine_tuning_validation/validation_metrics.csv");
                    store
                        .put(&bucket, &key, training::validation_csv(&curves).as_bytes())
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            });
        if let Err(e) = written {
            job.failure = Some(format!(
                "Amazon Bedrock could not write the output to {}: {e}. Check the output S3 location and the role's permissions.",
                job.output.s3_uri.as_deref().unwrap_or_default()
            ));
            return;
        }
        job.curves = Some(curves);
        let examples = std::mem::take(&mut job.examples);
        let model = CustomModel {
            arn: job.model_arn.clone(),
            name: job.model_name.clone(),
            job: i,
            created: job.ends_at,
            stand_in: Arc::new(TunedModel::new(examples)),
        };
        st.models.push(model);
    }

    // ---------------------------------------------------------------- customization jobs

    pub fn create_model_customization_job(
        &self,
        req: CreateModelCustomizationJobRequest,
    ) -> Result<CreateModelCustomizationJobResponse, BedrockError> {
        let mut v = Violations::default();
        let job_name = v.required("jobName", req.job_name.as_deref());
        if let Some(n) = job_name {
            v.string("jobName", n, 1, 63, names::JOB_NAME, names::is_job_name(n));
        }
        let model_name = v.required("customModelName", req.custom_model_name.as_deref());
        if let Some(n) = model_name {
            v.string("customModelName", n, 1, 63, names::MODEL_NAME, names::is_resource_name(n));
        }
        let role = v.required("roleArn", req.role_arn.as_deref());
        if let Some(r) = role {
            v.string("roleArn", r, 0, 2048, names::ROLE_ARN, names::is_role_arn(r));
        }
        let base_id = v.required("baseModelIdentifier", req.base_model_identifier.as_deref());
        if let Some(b) = base_id {
            v.string("baseModelIdentifier", b, 1, 2048, "", true);
        }
        check_token(&mut v, req.client_request_token.as_deref());
        if req.training_data_config.is_none() {
            v.null("trainingDataConfig");
        }
        if let Some(uri) = req.training_data_config.as_ref().and_then(|t| t.s3_uri.as_deref()) {
            v.string("trainingDataConfig.s3Uri", uri, 1, 1024, names::S3_URI, names::is_s3_uri(uri));
        }
        match &req.output_data_config {
            None => v.null("outputDataConfig"),
            Some(OutputDataConfig { s3_uri: None }) => v.null("outputDataConfig.s3Uri"),
            Some(OutputDataConfig { s3_uri: Some(uri) }) => {
                v.string("outputDataConfig.s3Uri", uri, 1, 1024, names::S3_URI, names::is_s3_uri(uri))
            }
        }
        if let Some(val) = &req.validation_data_config {
            if val.validators.len() > 10 {
                v.bad("validationDataConfig.validators", "[...]", "Member must have length less than or equal to 10");
            }
            for (i, x) in val.validators.iter().enumerate() {
                let field = format!("validationDataConfig.validators.{}.member.s3Uri", i + 1);
                v.string(&field, &x.s3_uri, 1, 1024, names::S3_URI, names::is_s3_uri(&x.s3_uri));
            }
        }
        let kind = match req.customization_type.as_deref() {
            None => Some(CustomizationType::FineTuning),
            Some(t) => {
                let parsed = CustomizationType::ALL.into_iter().find(|k| k.as_str() == t);
                if parsed.is_none() && t != "IMPORTED" {
                    v.bad("customizationType", t, "Member must satisfy enum value set: [FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING, IMPORTED]");
                }
                parsed
            }
        };
        check_tags(&mut v, "jobTags", req.job_tags.as_deref());
        check_tags(&mut v, "customModelTags", req.custom_model_tags.as_deref());
        v.into_result()?;
        let (job_name, model_name, role, base_id) = (
            job_name.unwrap_or_default(),
            model_name.unwrap_or_default(),
            role.unwrap_or_default(),
            base_id.unwrap_or_default(),
        );
        for tags in [&req.job_tags, &req.custom_model_tags].into_iter().flatten() {
            if tags.len() > 50 {
                return Err(BedrockError::new(ErrorKind::TooManyTags, "A resource can have at most 50 tags."));
            }
        }

        let (mut st, now) = self.state();
        // Idempotency: a token seen before returns the earlier result and changes nothing.
        if let Some(token) = &req.client_request_token
            && let Some(arn) = st.job_tokens.get(token)
        {
            return Ok(CreateModelCustomizationJobResponse { job_arn: arn.clone() });
        }
        // A reused name is a ValidationException, as Bedrock reports for its other job kinds
        // ("The provided job name is currently in use."); ConflictException is kept for state conflicts.
        if st.jobs.iter().any(|j| j.name == job_name) {
            return Err(BedrockError::validation(format!(
                "The provided job name is currently in use: {job_name}. Choose a unique job name."
            )));
        }
        let name_taken = st.jobs.iter().any(|j| {
            j.model_name == model_name && !matches!(j.status_at(now).0, JobStatus::Failed | JobStatus::Stopped)
        });
        if name_taken {
            return Err(BedrockError::validation(format!(
                "A custom model with the name {model_name} already exists or is being created. Choose a unique custom model name."
            )));
        }

        // Base model: a foundation model of the catalogue, or one of our custom models.
        let (base, inherited) = self.resolve_base(&st, base_id)?;
        let Some(kind) = kind else {
            return Err(BedrockError::validation(
                "Customization type IMPORTED is not supported by CreateModelCustomizationJob.",
            ));
        };
        if !base.regions.contains(&self.inner.config.region.as_str()) {
            return Err(BedrockError::validation(format!(
                "The base model {} is not available for customization in {}; it is offered in: {}.",
                base.id,
                self.inner.config.region,
                base.regions.join(", ")
            )));
        }
        let Some(customization) = base.customization(kind) else {
            let supported: Vec<_> = base.supported_types().map(|t| t.as_str()).collect();
            return Err(BedrockError::validation(format!(
                "The base model {} does not support customization type {kind}; it supports: {}.",
                base.id,
                supported.join(", ")
            )));
        };
        let config = req.customization_config.as_ref();
        match kind {
            CustomizationType::Distillation
                if config
                    .and_then(|c| c.pointer("/distillationConfig/teacherModelConfig/teacherModelIdentifier"))
                    .is_none() =>
            {
                return Err(BedrockError::validation(
                    "customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier is required for DISTILLATION.",
                ));
            }
            CustomizationType::ReinforcementFineTuning if config.and_then(|c| c.get("rftConfig")).is_none() => {
                return Err(BedrockError::validation(
                    "customizationConfig.rftConfig is required for REINFORCEMENT_FINE_TUNING.",
                ));
            }
            _ => {}
        }

        // Hyperparameters, in the model's ranges; the message names each offending parameter.
        let given = req.hyper_parameters.clone().unwrap_or_default();
        let problems = match customization.hyperparameter_encoding {
            HyperParameterEncoding::StringMap => {
                customization.check_hyperparameters(base, given.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
            HyperParameterEncoding::RftConfig => {
                if !given.is_empty() {
                    return Err(BedrockError::validation(format!(
                        "hyperParameters is not supported for {kind}; set customizationConfig.rftConfig.hyperParameters instead."
                    )));
                }
                let typed: Vec<(String, String)> = config
                    .and_then(|c| c.pointer("/rftConfig/hyperParameters"))
                    .and_then(|h| h.as_object())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                            .collect()
                    })
                    .unwrap_or_default();
                customization.check_hyperparameters(base, typed.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
        };
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(BedrockError::validation(text.join("; ")));
        }

        // Data: the objects must exist (invocation logs are not emulated).
        let training = req.training_data_config.clone().unwrap_or_default();
        let Some(train_uri) = training.s3_uri.as_deref() else {
            return Err(BedrockError::validation(if training.invocation_logs_config.is_some() {
                "trainingDataConfig.invocationLogsConfig is not supported by the local Bedrock emulator; use trainingDataConfig.s3Uri."
            } else {
                "trainingDataConfig.s3Uri is required."
            }));
        };
        let train_bytes = self.read_object(train_uri, "training")?;
        let validation = req.validation_data_config.clone().unwrap_or_default();
        let mut validation_bytes = Vec::new();
        for x in &validation.validators {
            validation_bytes.push(self.read_object(&x.s3_uri, "validation")?);
        }

        let active = st
            .jobs
            .iter()
            .filter(|j| matches!(j.status_at(now).0, JobStatus::InProgress | JobStatus::Stopping))
            .count();
        if active >= self.inner.config.max_jobs_in_progress {
            return Err(BedrockError::quota(format!(
                "The number of model customization jobs in progress ({active}) has reached the limit of {} for this account. Wait for a job to finish or stop one.",
                self.inner.config.max_jobs_in_progress
            )));
        }

        // Bedrock validates the data after accepting the job; bad data fails the job early.
        let mut opts = Options::new(base.id, kind).map_err(|e| BedrockError::validation(e.to_string()))?;
        let report =
            validate_reader(&train_bytes[..], &opts, |_| {}).map_err(|e| BedrockError::validation(e.to_string()))?;
        let mut failure = (!report.valid).then(|| data_failure("training", train_uri, &report));
        opts.role = FileRole::Validation;
        for (x, bytes) in validation.validators.iter().zip(&validation_bytes) {
            if failure.is_none()
                && let Ok(r) = validate_reader(&bytes[..], &opts, |_| {})
                && !r.valid
            {
                failure = Some(data_failure("validation", &x.s3_uri, &r));
            }
        }

        let mut effective: BTreeMap<String, String> = BTreeMap::new();
        if customization.hyperparameter_encoding == HyperParameterEncoding::StringMap {
            for h in customization.hyperparameters {
                effective.insert(h.name.to_string(), h.default_string());
            }
            effective.extend(given.clone());
        }
        let epochs = customization.epochs(effective.get("epochCount").map(String::as_str));
        let batch_size = effective
            .get("batchSize")
            .and_then(|b| b.parse().ok())
            .or_else(|| match customization.hyperparameter("batchSize").map(|h| h.value) {
                Some(HyperValue::Integer { default, .. }) => u64::try_from(default).ok(),
                _ => None,
            })
            .unwrap_or(1);
        let duration = training::training_duration_ms(report.tokens.total, epochs);
        let ends_at = match failure {
            // Data problems surface in the first minutes, as Bedrock's validation step does.
            Some(_) => now + 5 * 60 * 1000,
            None => now + duration,
        };
        if failure.is_none() && lock(&self.inner.faults).take_job_failed() {
            failure = Some(
                "Training failed due to an internal server error (injected fault). Retry the job; if the problem persists, contact AWS Support."
                    .to_string(),
            );
        }

        let mut examples = inherited;
        examples.extend(examples_from_jsonl(&train_bytes));
        let id = Self::new_id(&mut st, "job", job_name);
        let model_id = Self::new_id(&mut st, "custom-model", model_name);
        let job = Job {
            arn: self.arn(&format!("model-customization-job/{}/{id}", base.id)),
            id,
            name: job_name.to_string(),
            token: req.client_request_token.clone(),
            model_name: model_name.to_string(),
            model_arn: self.arn(&format!("custom-model/{}/{model_id}", base.id)),
            role_arn: role.to_string(),
            base,
            kind,
            hyper_parameters: effective,
            training,
            validation,
            output: req.output_data_config.clone().unwrap_or_default(),
            vpc_config: req.vpc_config.clone(),
            customization_config: req.customization_config.clone(),
            created: now,
            ends_at,
            failure,
            stop_requested: None,
            stop_after: ms(self.inner.config.job_stop_after),
            records: report.records,
            epochs,
            batch_size,
            examples,
            settled: false,
            curves: None,
        };
        let arn = job.arn.clone();
        if let Some(token) = &job.token {
            st.job_tokens.insert(token.clone(), arn.clone());
        }
        st.jobs.push(job);
        Ok(CreateModelCustomizationJobResponse { job_arn: arn })
    }

    fn resolve_base(&self, st: &State, id: &str) -> Result<(&'static Model, Vec<Example>), BedrockError> {
        if id.contains(":custom-model/") || st.models.iter().any(|m| m.name == id) {
            let m = st
                .models
                .iter()
                .find(|m| m.arn == id || m.name == id)
                .ok_or_else(|| BedrockError::not_found(format!("The custom model {id} was not found.")))?;
            return Ok((st.jobs[m.job].base, m.stand_in.examples().to_vec()));
        }
        catalogue::find(id).map(|m| (m, Vec::new())).ok_or_else(|| {
            let known: Vec<_> = catalogue::all().iter().map(|m| m.id).collect();
            BedrockError::validation(format!(
                "The provided model identifier is invalid: {id} is not a base model that can be customized. Known: {}.",
                known.join(", ")
            ))
        })
    }

    fn read_object(&self, uri: &str, what: &str) -> Result<Vec<u8>, BedrockError> {
        let missing = || {
            BedrockError::validation(format!(
                "The {what} data file {uri} does not exist or cannot be read. Check the S3 URI and the role's permissions."
            ))
        };
        let s3 = S3Uri::parse(uri).ok_or_else(missing)?;
        if s3.key.is_empty() || s3.key.ends_with('/') {
            return Err(BedrockError::validation(format!(
                "The {what} data location {uri} must be an S3 object, not a prefix."
            )));
        }
        self.inner.store.get(&s3.bucket, &s3.key).ok_or_else(missing)
    }

    fn find_job(st: &State, id: &str) -> Result<usize, BedrockError> {
        st.jobs
            .iter()
            .position(|j| j.arn == id || j.name == id)
            .ok_or_else(|| BedrockError::not_found(format!("Model customization job {id} was not found.")))
    }

    pub fn get_model_customization_job(&self, id: &str) -> Result<GetModelCustomizationJobResponse, BedrockError> {
        let (st, now) = self.state();
        let job = &st.jobs[Self::find_job(&st, id)?];
        let (status, since) = job.status_at(now);
        let (training_metrics, validation_metrics) = job.metrics();
        let ended = matches!(status, JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped);
        Ok(GetModelCustomizationJobResponse {
            job_arn: job.arn.clone(),
            job_name: job.name.clone(),
            output_model_name: job.model_name.clone(),
            output_model_arn: (status == JobStatus::Completed).then(|| job.model_arn.clone()),
            client_request_token: job.token.clone(),
            role_arn: job.role_arn.clone(),
            status: status.as_str().to_string(),
            failure_message: if status == JobStatus::Failed { job.failure.clone() } else { None },
            creation_time: iso(job.created),
            last_modified_time: Some(iso(since)),
            end_time: ended.then(|| iso(since)),
            base_model_arn: self.foundation_arn(job.base),
            hyper_parameters: job.hyper_parameters.clone(),
            training_data_config: job.training.clone(),
            validation_data_config: job.validation.clone(),
            output_data_config: job.output.clone(),
            customization_type: job.kind.as_str().to_string(),
            training_metrics,
            validation_metrics,
            vpc_config: job.vpc_config.clone(),
            customization_config: job.customization_config.clone(),
        })
    }

    /// InProgress -> Stopping (-> Stopped); Stopping again is a no-op. Stopping a finished job is a
    /// ConflictException (the operation lists it; the exact message is ours).
    pub fn stop_model_customization_job(&self, id: &str) -> Result<(), BedrockError> {
        let (mut st, now) = self.state();
        let i = Self::find_job(&st, id)?;
        let job = &mut st.jobs[i];
        match job.status_at(now).0 {
            JobStatus::InProgress => {
                job.stop_requested = Some(now);
                Ok(())
            }
            JobStatus::Stopping => Ok(()),
            s => Err(BedrockError::conflict(format!(
                "The model customization job {} cannot be stopped because its status is {}.",
                job.name,
                s.as_str()
            ))),
        }
    }

    pub fn list_model_customization_jobs(
        &self,
        req: &ListModelCustomizationJobsRequest,
    ) -> Result<ListModelCustomizationJobsResponse, BedrockError> {
        let parse_time = |field: &str, v: &Option<String>| -> Result<Option<i64>, BedrockError> {
            v.as_deref()
                .map(|s| {
                    local_sfn::Timestamp::parse_rfc3339(s)
                        .map(|t| t.epoch_millis())
                        .ok_or_else(|| BedrockError::validation(format!("{field} is not an ISO 8601 timestamp: {s}")))
                })
                .transpose()
        };
        let after = parse_time("creationTimeAfter", &req.creation_time_after)?;
        let before = parse_time("creationTimeBefore", &req.creation_time_before)?;
        let max = match req.max_results.as_deref() {
            None => 100,
            Some(m) => m.parse::<usize>().ok().filter(|m| (1..=1000).contains(m)).ok_or_else(|| {
                BedrockError::validation(format!(
                    "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                ))
            })?,
        };
        let start: usize = match req.next_token.as_deref() {
            None => 0,
            Some(t) => t.parse().map_err(|_| BedrockError::validation("The pagination token is invalid."))?,
        };
        let (st, now) = self.state();
        let mut rows: Vec<&Job> = st
            .jobs
            .iter()
            .filter(|j| req.status_equals.as_deref().is_none_or(|s| j.status_at(now).0.as_str() == s))
            .filter(|j| req.name_contains.as_deref().is_none_or(|n| j.name.contains(n)))
            .filter(|j| after.is_none_or(|a| j.created > a) && before.is_none_or(|b| j.created < b))
            .collect();
        if req.sort_order.as_deref() != Some("Ascending") {
            rows.reverse();
        }
        let page: Vec<ModelCustomizationJobSummary> = rows
            .iter()
            .skip(start)
            .take(max)
            .map(|j| {
                let (status, since) = j.status_at(now);
                let ended = matches!(status, JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped);
                ModelCustomizationJobSummary {
                    job_arn: j.arn.clone(),
                    base_model_arn: self.foundation_arn(j.base),
                    job_name: j.name.clone(),
                    status: status.as_str().to_string(),
                    last_modified_time: iso(since),
                    creation_time: iso(j.created),
                    end_time: ended.then(|| iso(since)),
                    custom_model_arn: (status == JobStatus::Completed).then(|| j.model_arn.clone()),
                    custom_model_name: j.model_name.clone(),
                    customization_type: j.kind.as_str().to_string(),
                }
            })
            .collect();
        let next = (start + max < rows.len()).then(|| (start + max).to_string());
        Ok(ListModelCustomizationJobsResponse { model_customization_job_summaries: page, next_token: next })
    }

    pub(crate) fn find_model(st: &State, id: &str) -> Option<usize> {
        st.models.iter().position(|m| m.arn == id || m.name == id)
    }

    pub fn get_custom_model(&self, id: &str) -> Result<GetCustomModelResponse, BedrockError> {
        let (st, _) = self.state();
        let m = Self::find_model(&st, id)
            .map(|i| &st.models[i])
            .ok_or_else(|| BedrockError::not_found(format!("The custom model {id} was not found.")))?;
        let job = &st.jobs[m.job];
        let (training_metrics, validation_metrics) = job.metrics();
        Ok(GetCustomModelResponse {
            model_arn: m.arn.clone(),
            model_name: m.name.clone(),
            job_name: job.name.clone(),
            job_arn: job.arn.clone(),
            base_model_arn: self.foundation_arn(job.base),
            customization_type: job.kind.as_str().to_string(),
            hyper_parameters: job.hyper_parameters.clone(),
            training_data_config: job.training.clone(),
            validation_data_config: job.validation.clone(),
            output_data_config: job.output.clone(),
            training_metrics,
            validation_metrics,
            creation_time: iso(m.created),
            model_status: "Active".into(),
        })
    }

    /// The catalogue as ListFoundationModels reports it: each customizable id (with its context
    /// suffix, provisioned inference) and its on-demand id.
    pub fn list_foundation_models(
        &self,
        req: &ListFoundationModelsRequest,
    ) -> Result<ListFoundationModelsResponse, BedrockError> {
        let mut out = Vec::new();
        for m in catalogue::all() {
            let provider = match m.id.split('.').next().unwrap_or_default() {
                "amazon" => "Amazon",
                "anthropic" => "Anthropic",
                "meta" => "Meta",
                "cohere" => "Cohere",
                other => other,
            };
            let customizations: Vec<String> = m
                .supported_types()
                .filter(|t| *t != CustomizationType::ReinforcementFineTuning)
                .map(|t| t.as_str().to_string())
                .collect();
            for (id, inference, custom) in
                [(m.id, "PROVISIONED", customizations.clone()), (m.base_id(), "ON_DEMAND", Vec::new())]
            {
                let s = FoundationModelSummary {
                    model_arn: format!("arn:aws:bedrock:{}::foundation-model/{id}", self.inner.config.region),
                    model_id: id.to_string(),
                    model_name: m.name.to_string(),
                    provider_name: provider.to_string(),
                    input_modalities: vec!["TEXT".into()],
                    output_modalities: vec!["TEXT".into()],
                    response_streaming_supported: true,
                    customizations_supported: custom,
                    inference_types_supported: vec![inference.to_string()],
                    model_lifecycle: ModelLifecycle { status: if m.legacy { "LEGACY" } else { "ACTIVE" }.into() },
                };
                let keep = req.by_provider.as_deref().is_none_or(|p| p.eq_ignore_ascii_case(provider))
                    && req
                        .by_customization_type
                        .as_deref()
                        .is_none_or(|t| s.customizations_supported.iter().any(|c| c == t))
                    && req.by_inference_type.as_deref().is_none_or(|t| t == inference)
                    && req.by_output_modality.as_deref().is_none_or(|t| t == "TEXT");
                if keep {
                    out.push(s);
                }
            }
        }
        Ok(ListFoundationModelsResponse { model_summaries: out })
    }
}

fn data_failure(what: &str, uri: &str, report: &shared::report::Report) -> String {
    let first = report.first_errors(3).join("; ");
    let more = report.error_count.saturating_sub(3);
    let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
    format!("Data validation failed for the {what} data at {uri}: {first}{more}")
}

pub(crate) fn check_token(v: &mut Violations, token: Option<&str>) {
    if let Some(t) = token {
        v.string("clientRequestToken", t, 1, 256, names::TOKEN, names::is_token(t));
    }
}

fn check_tags(v: &mut Violations, field: &str, tags: Option<&[Tag]>) {
    let Some(tags) = tags else { return };
    if tags.len() > 200 {
        v.bad(field, "[...]", "Member must have length less than or equal to 200");
    }
    let ok = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c));
    for (i, t) in tags.iter().enumerate() {
        v.string(&format!("{field}.{}.member.key", i + 1), &t.key, 1, 128, r"[a-zA-Z0-9\s._:/=+@-]*", ok(&t.key));
        v.string(&format!("{field}.{}.member.value", i + 1), &t.value, 0, 256, r"[a-zA-Z0-9\s._:/=+@-]*", ok(&t.value));
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // State changes are single assignments under the lock; a panicking reader leaves nothing half-done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
