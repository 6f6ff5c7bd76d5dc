//! Model customization jobs: CreateModelCustomizationJob (checked, planned without the state lock,
//! then committed), Get, Stop and List, and GetCustomModel for the models they make.

use std::collections::BTreeMap;

use shared::CustomizationType;
use shared::catalogue::{self, HyperParameterEncoding, HyperValue, Model};
use shared::validate::{FileRole, Options, validate_reader};

use crate::clock::iso;
use crate::emulator::{Emulator, State, lock, ms};
use crate::error::{BedrockError, ErrorKind, Violations};
use crate::names;
use crate::resources::{Job, JobStatus};
use crate::standin::{Example, examples_from_jsonl};
use crate::store::S3Uri;
use crate::training;
use crate::wire::*;

/// A request's required fields, once its constraints hold.
struct Checked<'a> {
    job_name: &'a str,
    model_name: &'a str,
    role: &'a str,
    base_id: &'a str,
    /// `None` for IMPORTED, which the model allows and this operation refuses.
    kind: Option<CustomizationType>,
    /// `trainingDataConfig.invocationLogsConfig`, checked.
    logs: Option<crate::logs::LogsRequest>,
}

/// A job ready to be recorded: everything but what the commit decides (ids, times, injected faults).
struct PlannedJob {
    name: String,
    token: Option<String>,
    model_name: String,
    role_arn: String,
    base: &'static Model,
    kind: CustomizationType,
    hyper_parameters: BTreeMap<String, String>,
    training: TrainingDataConfig,
    validation: ValidationDataConfig,
    output: OutputDataConfig,
    vpc_config: Option<serde_json::Value>,
    customization_config: Option<serde_json::Value>,
    /// Bad data: the job will fail early with this message.
    failure: Option<String>,
    duration_ms: i64,
    records: u64,
    epochs: u64,
    batch_size: u64,
    examples: Vec<Example>,
    rewards: Vec<crate::reward::RewardRow>,
}

/// The field constraints of the service model, reported as its front end reports them.
fn check_request(req: &CreateModelCustomizationJobRequest) -> Result<Checked<'_>, BedrockError> {
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
    v.client_token(req.client_request_token.as_deref());
    if req.training_data_config.is_none() {
        v.null("trainingDataConfig");
    }
    if let Some(uri) = req.training_data_config.as_ref().and_then(|t| t.s3_uri.as_deref()) {
        v.string("trainingDataConfig.s3Uri", uri, 1, 1024, names::S3_URI, names::is_s3_uri(uri));
    }
    let logs = match req.training_data_config.as_ref().and_then(|t| t.invocation_logs_config.as_ref()) {
        Some(config) => crate::logs::check(config, &mut v),
        None => None,
    };
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
    for tags in [&req.job_tags, &req.custom_model_tags].into_iter().flatten() {
        if tags.len() > 50 {
            return Err(BedrockError::new(ErrorKind::TooManyTags, "A resource can have at most 50 tags."));
        }
    }
    Ok(Checked {
        job_name: job_name.unwrap_or_default(),
        model_name: model_name.unwrap_or_default(),
        role: role.unwrap_or_default(),
        base_id: base_id.unwrap_or_default(),
        kind,
        logs,
    })
}

/// The job an earlier request with this token created: the same request again changes nothing.
fn replayed(st: &State, token: Option<&str>) -> Option<String> {
    token.and_then(|t| st.job_tokens.get(t)).cloned()
}

/// The job name, and the custom model name (of a job not Failed or Stopped), must be free.
fn names_free(st: &State, now: i64, job_name: &str, model_name: &str) -> Result<(), BedrockError> {
    // A reused name is a ValidationException with Bedrock's own words (shared::aws::JOB_NAME_IN_USE);
    // ConflictException is kept for state conflicts.
    if st.jobs.iter().any(|j| j.name == job_name) {
        return Err(BedrockError::validation(shared::aws::JOB_NAME_IN_USE));
    }
    let model_taken = st
        .jobs
        .iter()
        .any(|j| j.model_name == model_name && !matches!(j.status_at(now).0, JobStatus::Failed | JobStatus::Stopped));
    if model_taken {
        return Err(BedrockError::validation(format!(
            "A custom model with the name {model_name} already exists or is being created. Choose a unique custom model name."
        )));
    }
    Ok(())
}

impl Emulator {
    /// Checks the request, then, briefly under the state lock, the token, the names and the base
    /// model; reads and validates the data without the lock (the slow part, which must not stall
    /// every other call); then commits under the lock again, where a name taken or a quota filled
    /// meanwhile refuses the job as it would have been refused had it come first.
    pub fn create_model_customization_job(
        &self,
        req: CreateModelCustomizationJobRequest,
    ) -> Result<CreateModelCustomizationJobResponse, BedrockError> {
        let checked = check_request(&req)?;
        let (base, inherited) = {
            let (st, now) = self.state();
            if let Some(job_arn) = replayed(&st, req.client_request_token.as_deref()) {
                return Ok(CreateModelCustomizationJobResponse { job_arn });
            }
            names_free(&st, now, checked.job_name, checked.model_name)?;
            // A custom base model's training examples are copied out: the tuned model inherits them.
            self.resolve_base(&st, checked.base_id)?
        };
        let plan = self.plan_job(&req, &checked, base, inherited)?;
        let created = self.commit_job(plan)?;
        // Tags of the job, and of the custom model it will make (kept by ARN until it exists).
        let (mut st, _) = self.state();
        if !st.tags.contains_key(&created.job_arn)
            && let Some(model_arn) = st.jobs.iter().find(|j| j.arn == created.job_arn).map(|j| j.model_arn.clone())
        {
            st.tags.insert(created.job_arn.clone(), req.job_tags.clone().unwrap_or_default());
            st.tags.insert(model_arn, req.custom_model_tags.clone().unwrap_or_default());
        }
        Ok(created)
    }

    /// The model's rules, then the data: read, validated, sized. Runs without the state lock.
    fn plan_job(
        &self,
        req: &CreateModelCustomizationJobRequest,
        checked: &Checked<'_>,
        base: &'static Model,
        inherited: Vec<Example>,
    ) -> Result<PlannedJob, BedrockError> {
        let Some(kind) = checked.kind else {
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
                let typed = rft_typed(config);
                customization.check_hyperparameters(base, typed.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
        };
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(BedrockError::validation(text.join("; ")));
        }

        // Data: the file must exist, or the invocation logs must hold prompts to train on.
        let training = req.training_data_config.clone().unwrap_or_default();
        let (train_bytes, from_logs) = match (&checked.logs, training.s3_uri.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(BedrockError::validation(
                    "Specify either trainingDataConfig.s3Uri or trainingDataConfig.invocationLogsConfig, not both.",
                ));
            }
            (Some(_), None) if kind != CustomizationType::Distillation => {
                return Err(BedrockError::validation(format!(
                    "trainingDataConfig.invocationLogsConfig is emulated for DISTILLATION only, not {kind}."
                )));
            }
            (Some(logs), None) => (Vec::new(), Some(self.read_logs(logs, base)?)),
            (None, Some(uri)) => (self.read_object(uri, "training")?, None),
            (None, None) if training.invocation_logs_config.is_some() => {
                // check_request reported the broken config; this is not reached.
                return Err(BedrockError::validation("trainingDataConfig.invocationLogsConfig is invalid."));
            }
            (None, None) => return Err(BedrockError::validation("trainingDataConfig.s3Uri is required.")),
        };
        let validation = req.validation_data_config.clone().unwrap_or_default();
        let mut validation_bytes = Vec::new();
        for x in &validation.validators {
            validation_bytes.push(self.read_object(&x.s3_uri, "validation")?);
        }

        // Bedrock validates the data after accepting the job; bad data fails the job early.
        let mut opts = Options::new(base.id, kind).map_err(|e| BedrockError::validation(e.to_string()))?;
        let (mut failure, records, tokens) = match &from_logs {
            // The logs were read and counted already: what they hold is what trains.
            Some(data) => (None, data.scan.prompts, data.scan.tokens),
            None => {
                let report = validate_reader(&train_bytes[..], &opts, |_| {})
                    .map_err(|e| BedrockError::validation(e.to_string()))?;
                let uri = training.s3_uri.as_deref().unwrap_or_default();
                ((!report.valid).then(|| data_failure("training", uri, &report)), report.records, report.tokens.total)
            }
        };
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
        for h in customization.hyperparameters {
            effective.insert(h.name.to_string(), h.default_string());
        }
        match customization.hyperparameter_encoding {
            HyperParameterEncoding::StringMap => effective.extend(given),
            // Typed values, as strings, so epochs and batch size read the same way.
            HyperParameterEncoding::RftConfig => effective.extend(rft_typed(config)),
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
        let mut examples = inherited;
        match from_logs {
            Some(data) => examples.extend(data.examples),
            None => examples.extend(examples_from_jsonl(&train_bytes)),
        }
        let mut rewards = Vec::new();
        if kind == CustomizationType::ReinforcementFineTuning && failure.is_none() {
            let samples_per_prompt = effective.get("trainingSamplePerPrompt").and_then(|v| v.parse().ok()).unwrap_or(4);
            match self.grade_training(
                config,
                checked.role,
                checked.job_name,
                &train_bytes,
                epochs,
                records,
                batch_size,
                samples_per_prompt,
            )? {
                Ok(r) => rewards = r,
                Err(message) => failure = Some(message),
            }
        }
        Ok(PlannedJob {
            name: checked.job_name.to_string(),
            token: req.client_request_token.clone(),
            model_name: checked.model_name.to_string(),
            role_arn: checked.role.to_string(),
            base,
            kind,
            // RFT's hyperparameters live in its customizationConfig, not in hyperParameters.
            hyper_parameters: if customization.hyperparameter_encoding == HyperParameterEncoding::StringMap {
                effective
            } else {
                BTreeMap::new()
            },
            training,
            validation,
            output: req.output_data_config.clone().unwrap_or_default(),
            vpc_config: req.vpc_config.clone(),
            customization_config: req.customization_config.clone(),
            failure,
            duration_ms: training::training_duration_ms(base, tokens, epochs, lock(&self.inner.faults).slow_training()),
            records,
            epochs,
            batch_size,
            examples,
            rewards,
        })
    }

    /// Reinforcement fine-tuning: the reward curve from the job's grader Lambda. A missing ARN is the
    /// request's error; a grader that cannot be invoked or answers wrongly fails the job.
    #[allow(clippy::too_many_arguments)]
    fn grade_training(
        &self,
        config: Option<&serde_json::Value>,
        role_arn: &str,
        job_name: &str,
        train_bytes: &[u8],
        epochs: u64,
        records: u64,
        batch_size: u64,
        samples_per_prompt: u64,
    ) -> Result<Result<Vec<crate::reward::RewardRow>, String>, BedrockError> {
        let Some(arn) =
            config.and_then(|c| c.pointer("/rftConfig/graderConfig/lambdaGrader/lambdaArn")).and_then(|a| a.as_str())
        else {
            return Err(BedrockError::validation(
                "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn is required for REINFORCEMENT_FINE_TUNING.",
            ));
        };
        let Some(hook) = lock(&self.inner.reward).clone() else {
            return Ok(Err(format!(
                "Amazon Bedrock could not invoke the reward function {arn}: no Lambda service is wired to this emulator. \
                 Check that the function exists and that the service role may call lambda:InvokeFunction on it."
            )));
        };
        let lines: Vec<serde_json::Value> =
            train_bytes.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect();
        let steps_per_epoch = records.max(1).div_ceil(batch_size.max(1));
        // As the trust policy saw the job when Bedrock assumed the role (the job's id is not made yet).
        let job_arn = self.arn(&format!("model-customization-job/{job_name}"));
        let caller = crate::reward::RewardCaller { role_arn, job_arn: &job_arn };
        Ok(crate::reward::reward_curve(
            hook.as_ref(),
            caller,
            arn,
            job_name,
            &lines,
            epochs,
            steps_per_epoch,
            samples_per_prompt,
        )
        .map_err(|e| format!("The reward function {arn} failed during training: {e}")))
    }

    /// Records a planned job, judged against the state as it is now.
    fn commit_job(&self, plan: PlannedJob) -> Result<CreateModelCustomizationJobResponse, BedrockError> {
        let (mut st, now) = self.state();
        // The same token finished first while this one was validating: that job is this one.
        if let Some(job_arn) = replayed(&st, plan.token.as_deref()) {
            return Ok(CreateModelCustomizationJobResponse { job_arn });
        }
        names_free(&st, now, &plan.name, &plan.model_name)?;
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
        let mut failure = plan.failure;
        let ends_at = match failure {
            // Data problems surface in the first minutes, as Bedrock's validation step does.
            Some(_) => now + 5 * 60 * 1000,
            None => now + plan.duration_ms,
        };
        if failure.is_none() && lock(&self.inner.faults).take_job_failed() {
            failure = Some(
                "Training failed due to an internal server error (injected fault). Retry the job; if the problem persists, contact AWS Support."
                    .to_string(),
            );
        }
        let id = Self::new_id(&mut st, "job", &plan.name);
        let model_id = Self::new_id(&mut st, "custom-model", &plan.model_name);
        let job = Job {
            arn: self.arn(&format!("model-customization-job/{}/{id}", plan.base.id)),
            id,
            name: plan.name,
            token: plan.token,
            model_name: plan.model_name,
            model_arn: self.arn(&format!("custom-model/{}/{model_id}", plan.base.id)),
            role_arn: plan.role_arn,
            base: plan.base,
            kind: plan.kind,
            hyper_parameters: plan.hyper_parameters,
            training: plan.training,
            validation: plan.validation,
            output: plan.output,
            vpc_config: plan.vpc_config,
            customization_config: plan.customization_config,
            created: now,
            ends_at,
            failure,
            stop_requested: None,
            stop_after: ms(self.inner.config.job_stop_after),
            records: plan.records,
            epochs: plan.epochs,
            batch_size: plan.batch_size,
            examples: plan.examples,
            settled: false,
            curves: None,
            rewards: plan.rewards,
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
            let m = Self::find_model(st, id)
                .map(|i| &st.models[i])
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
                    shared::aws::parse_rfc3339(s)
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
}

/// `customizationConfig.rftConfig.hyperParameters`, each value as a string.
fn rft_typed(config: Option<&serde_json::Value>) -> Vec<(String, String)> {
    config
        .and_then(|c| c.pointer("/rftConfig/hyperParameters"))
        .and_then(|h| h.as_object())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect())
        .unwrap_or_default()
}

fn data_failure(what: &str, uri: &str, report: &shared::report::Report) -> String {
    let first = report.first_errors(3).join("; ");
    let more = report.error_count.saturating_sub(3);
    let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
    format!("Data validation failed for the {what} data at {uri}: {first}{more}")
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
