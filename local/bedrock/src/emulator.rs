//! The emulated account: its configuration, its state (every resource, see [`crate::resources`]) behind
//! one lock, the clock, the faults, and the transitions due by now, applied before anyone reads the
//! state. The operations live beside it: customization jobs in [`crate::jobs`], throughputs and
//! deployments in [`crate::serving`], foundation models in [`crate::foundation`], inference in
//! [`crate::runtime`]. No HTTP here: [`crate::http`] only translates between this and the wire.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shared::catalogue::Model;
use xxhash_rust::xxh3::xxh3_64;

use crate::clock::Clock;
use crate::error::{BedrockError, ErrorKind};
use crate::faults::{Draw, FaultSpec, Faults};
use crate::resources::{CustomModel, Deployment, Job, JobStatus, Throughput};
use crate::reward::{RewardFunction, RewardHook};
use crate::standin::TunedModel;
use crate::store::ObjectStore;
use crate::training;

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

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    pub jobs: Vec<Job>,
    pub models: Vec<CustomModel>,
    pub throughputs: Vec<Throughput>,
    pub deployments: Vec<Deployment>,
    pub job_tokens: HashMap<String, String>,
    pub throughput_tokens: HashMap<String, String>,
    pub deployment_tokens: HashMap<String, String>,
    /// Tags by resource ARN, as created or tagged (see [`crate::inventory`]).
    pub tags: HashMap<String, Vec<crate::wire::Tag>>,
    /// Custom models deleted (kept in `models` so indices stay valid; invisible to every operation).
    pub deleted_models: std::collections::HashSet<String>,
    pub ids: u64,
}

pub(crate) struct Inner {
    pub store: Box<dyn ObjectStore>,
    pub clock: Box<dyn Clock>,
    pub config: Config,
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    pub requests: AtomicU64,
    /// How reward Lambdas are called (reinforcement fine-tuning); none: such jobs fail as Bedrock's do
    /// when it cannot invoke the function.
    pub reward: Mutex<Option<RewardHook>>,
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
            tags: HashMap::new(),
            deleted_models: Default::default(),
            ids: 0,
        };
        let inner = Inner {
            store: Box::new(store),
            clock: Box::new(clock),
            config,
            state: Mutex::new(state),
            faults,
            requests: AtomicU64::new(0),
            reward: Mutex::new(None),
        };
        Emulator { inner: Arc::new(inner) }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How the emulator calls Lambda functions: reward graders of reinforcement fine-tuning jobs.
    pub fn set_reward_function(&self, function: Arc<dyn RewardFunction>) {
        *lock(&self.inner.reward) = Some(function);
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
        let mut curves = training::curves(&job.name, job.records, job.epochs, job.batch_size, has_validation);
        training::shape_by_rewards(&mut curves, &job.rewards);
        let written =
            job.artifacts_prefix().ok_or_else(|| "invalid output S3 URI".to_string()).and_then(|(bucket, prefix)| {
                let store = &self.inner.store;
                let train_key = format!("{prefix}{}", shared::loss_csv::TRAINING_CSV);
                store
                    .put(&bucket, &train_key, training::training_csv(&curves).as_bytes())
                    .map_err(|e| e.to_string())?;
                if !job.rewards.is_empty() {
                    let key = format!("{prefix}training_artifacts/reward_metrics.csv");
                    store
                        .put(&bucket, &key, crate::reward::reward_csv(&job.rewards).as_bytes())
                        .map_err(|e| e.to_string())?;
                }
                if has_validation {
                    let key = format!("{prefix}{}", shared::loss_csv::VALIDATION_CSV);
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

    // Lookups by ARN or name.

    pub(crate) fn find_job(st: &State, id: &str) -> Result<usize, BedrockError> {
        st.jobs
            .iter()
            .position(|j| j.arn == id || j.name == id)
            .ok_or_else(|| BedrockError::not_found(format!("Model customization job {id} was not found.")))
    }

    pub(crate) fn find_model(st: &State, id: &str) -> Option<usize> {
        st.models.iter().position(|m| (m.arn == id || m.name == id) && !st.deleted_models.contains(&m.arn))
    }

    pub(crate) fn find_throughput(st: &State, id: &str) -> Option<usize> {
        st.throughputs.iter().position(|t| t.arn == id || t.name == id)
    }

    pub(crate) fn find_deployment(st: &State, id: &str) -> Option<usize> {
        st.deployments.iter().position(|d| d.arn == id || d.name == id)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // State changes are single assignments under the lock; a panicking reader leaves nothing half-done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
