//! start-job: the run document in, CreateModelCustomizationJob out, a [`JobRef`] back at `$.job`.
//!
//! Idempotent: the job name, custom model name and clientRequestToken derive from the run id, so a
//! retried task either gets the same job back from Bedrock (same token) or finds it by name.
//!
//! Per type: FINE_TUNING and CONTINUED_PRE_TRAINING send `hyperParameters`; DISTILLATION sends
//! `customizationConfig.distillationConfig` with the config's teacher (settled to the catalogue's default
//! teacher); REINFORCEMENT_FINE_TUNING sends `customizationConfig.rftConfig` with the stack's grader
//! Lambda and the typed hyperparameters. A DISTILLATION from invocation logs (`training_source:
//! invocation_logs`) sends `trainingDataConfig.invocationLogsConfig` (the operator's log location, the
//! run's `usePromptResponse` and `requestMetadataFilters`) instead of `trainingDataConfig.s3Uri`.
//!
//! Environment ([`Deps::from_env`]): `GRADER_FUNCTION_ARN`, the reward Lambda of the stack (needed by
//! REINFORCEMENT_FINE_TUNING runs only, so a missing one fails those runs with `ConfigInvalid`).

use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::error::SdkError;
use aws_sdk_bedrock::operation::create_model_customization_job::CreateModelCustomizationJobError;
use aws_sdk_bedrock::types::{
    CustomizationConfig, CustomizationType as SdkCustomizationType, DistillationConfig, GraderConfig,
    InvocationLogSource, InvocationLogsConfig, LambdaGraderConfig, OutputDataConfig, ReasoningEffort,
    RequestMetadataBaseFilters, RequestMetadataFilters, RftConfig, RftHyperParameters, Tag, TeacherModelConfig,
    TrainingDataConfig, ValidationDataConfig, Validator, VpcConfig,
};
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, format_rfc3339, is_name_taken};
use lambda_runtime::LambdaEvent;
use shared::CustomizationType;
use shared::catalogue::throughput;
use shared::pipeline::{
    Backoff, JobRef, PipelineConfig, PipelineError, PollState, PollStatus, RunDocument, TrainingSource, layout, names,
};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The `purpose` part of the job's clientRequestToken.
pub const TOKEN_PURPOSE: &str = "job";

/// The variable naming the reward Lambda RFT jobs call.
pub const GRADER_ARN_ENV: &str = "GRADER_FUNCTION_ARN";

pub struct Deps<C: Clock> {
    pub bedrock: Client,
    pub clock: C,
    /// The grader Lambda's ARN; an error only RFT runs see.
    pub grader_arn: Result<String, PipelineError>,
}

impl<C: Clock> Deps<C> {
    /// The one wiring, for Lambda and the local cloud alike.
    pub fn from_env(sdk: &SdkConfig, env: &Env, clock: C) -> Deps<C> {
        Deps { bedrock: Client::new(sdk), clock, grader_arn: env.required(GRADER_ARN_ENV) }
    }
}

pub async fn handler<C: Clock>(deps: &Deps<C>, event: LambdaEvent<RunDocument>) -> Result<JobRef, LambdaError> {
    Ok(start_job(deps, &event.payload).await?)
}

pub async fn start_job<C: Clock>(deps: &Deps<C>, doc: &RunDocument) -> Result<JobRef, PipelineError> {
    let run = &doc.run;
    if !run.data.valid {
        let cause = run.data.cause.clone().unwrap_or_else(|| "the dataset is invalid".to_string());
        return Err(PipelineError::DatasetInvalid(cause));
    }
    // validate-split settled it (deployment, preset, teacher): the document is what runs.
    let config = &run.config;
    let (model, customization) = config.check()?;
    let kind = match config.customization_type {
        CustomizationType::FineTuning => SdkCustomizationType::FineTuning,
        CustomizationType::ContinuedPreTraining => SdkCustomizationType::ContinuedPreTraining,
        CustomizationType::Distillation => SdkCustomizationType::Distillation,
        CustomizationType::ReinforcementFineTuning => SdkCustomizationType::ReinforcementFineTuning,
    };
    let (hyper_parameters, customization_config) = type_config(deps, config)?;

    let run_id = &run.run_id;
    let job_name = config.job_name(run_id);
    let model_name = config.custom_model_name(run_id);
    let token = names::client_token(run_id, TOKEN_PURPOSE);
    let output_uri = layout::s3_uri(&run.data.bucket, &layout::output_prefix(run_id));
    let build_err = |e: aws_sdk_bedrock::error::BuildError| PipelineError::Internal(format!("request: {e}"));

    // The run-id tag ties the job and its model to this run (cost reports, clean-up, IAM conditions).
    let tags = shared::aws::run_tags(run_id, &config.tags)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = deps
        .bedrock
        .create_model_customization_job()
        .job_name(&job_name)
        .custom_model_name(&model_name)
        .client_request_token(&token)
        .role_arn(&config.role_arn)
        .base_model_identifier(model.id)
        .customization_type(kind)
        .training_data_config(training_data_config(run))
        .output_data_config(OutputDataConfig::builder().s3_uri(&output_uri).build().map_err(build_err)?)
        .set_hyper_parameters(hyper_parameters)
        .set_customization_config(customization_config)
        .set_job_tags(Some(tags.clone()))
        .set_custom_model_tags(Some(tags))
        .set_custom_model_kms_key_id(config.kms_key_id.clone());
    if let Some(uri) = &run.data.validation_uri {
        let validator = Validator::builder().s3_uri(uri).build().map_err(build_err)?;
        request = request
            .validation_data_config(ValidationDataConfig::builder().validators(validator).build().map_err(build_err)?);
    }
    if let Some(vpc) = &config.vpc {
        request = request.vpc_config(
            VpcConfig::builder()
                .set_subnet_ids(Some(vpc.subnet_ids.clone()))
                .set_security_group_ids(Some(vpc.security_group_ids.clone()))
                .build()
                .map_err(build_err)?,
        );
    }

    let (job_arn, started) = match request.send().await {
        Ok(out) => (out.job_arn, deps.clock.now()),
        Err(err) if is_name_taken(&err) => {
            tracing::info!(%job_name, "job name exists; looking it up by name");
            existing_job(deps, &job_name, &token, err).await?
        }
        Err(err) => return Err(functions_common::sdk_error("CreateModelCustomizationJob", err)),
    };
    let epochs = customization.epochs(config.hyperparameters.get("epochCount").map(String::as_str));
    let estimate = throughput::estimated_training_seconds(model, run.data.training_tokens, epochs);
    let backoff = Backoff::for_job(Some(estimate));
    tracing::info!(%job_arn, %job_name, estimate, "customization job started");
    Ok(JobRef {
        job_arn,
        job_name,
        custom_model_name: model_name,
        started_at: format_rfc3339(started),
        output_uri,
        status: PollStatus::fresh(PollState::InProgress, "InProgress", backoff.initial_seconds),
        custom_model_arn: None,
        training_loss: None,
        validation_loss: None,
        estimated_seconds: Some(estimate),
    })
}

/// `trainingDataConfig`: the split's train file, or the operator's invocation logs with the run's
/// `usePromptResponse` and request-metadata filters (checked against Bedrock's bounds in validate-split).
fn training_data_config(run: &shared::pipeline::PreparedRun) -> TrainingDataConfig {
    match run.data.training_source {
        TrainingSource::Dataset => TrainingDataConfig::builder().s3_uri(&run.data.train_uri).build(),
        TrainingSource::InvocationLogs => {
            let options = run.config.invocation_logs.clone().unwrap_or_default();
            let logs = InvocationLogsConfig::builder()
                .invocation_log_source(InvocationLogSource::S3Uri(run.data.train_uri.clone()))
                .use_prompt_response(options.use_prompt_response)
                .set_request_metadata_filters(options.request_metadata_filters.as_ref().map(sdk_filters))
                .build();
            TrainingDataConfig::builder().invocation_logs_config(logs).build()
        }
    }
}

/// The config's filters (Bedrock's union, one to one) as the SDK's.
fn sdk_filters(filters: &shared::invocation_logs::RequestMetadataFilters) -> RequestMetadataFilters {
    use shared::invocation_logs::RequestMetadataFilters as F;
    let map = |m: &shared::invocation_logs::MetadataMap| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let base = |list: &[shared::invocation_logs::RequestMetadataBaseFilters]| {
        list.iter()
            .map(|b| {
                RequestMetadataBaseFilters::builder()
                    .set_equals(b.equals.as_ref().map(map))
                    .set_not_equals(b.not_equals.as_ref().map(map))
                    .build()
            })
            .collect()
    };
    match filters {
        F::Equals(m) => RequestMetadataFilters::Equals(map(m)),
        F::NotEquals(m) => RequestMetadataFilters::NotEquals(map(m)),
        F::AndAll(list) => RequestMetadataFilters::AndAll(base(list)),
        F::OrAll(list) => RequestMetadataFilters::OrAll(base(list)),
    }
}

/// `hyperParameters` (a string map), or a `customizationConfig`.
type TypeConfig = (Option<std::collections::HashMap<String, String>>, Option<CustomizationConfig>);

/// What the type adds to the request: `hyperParameters` (string map), or a `customizationConfig`.
fn type_config(deps: &Deps<impl Clock>, config: &PipelineConfig) -> Result<TypeConfig, PipelineError> {
    let strings = || {
        (!config.hyperparameters.is_empty())
            .then(|| config.hyperparameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    match config.customization_type {
        CustomizationType::FineTuning | CustomizationType::ContinuedPreTraining => Ok((strings(), None)),
        CustomizationType::Distillation => {
            let teacher = config.teacher_model.as_deref().ok_or_else(|| {
                PipelineError::ConfigInvalid("teacher_model: DISTILLATION needs a teacher".to_string())
            })?;
            let teacher = TeacherModelConfig::builder()
                .teacher_model_identifier(teacher)
                .set_max_response_length_for_inference(
                    config.teacher_max_response_tokens.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
                )
                .build()
                .map_err(|e| PipelineError::Internal(format!("request: {e}")))?;
            let distillation = DistillationConfig::builder().teacher_model_config(teacher).build();
            Ok((None, Some(CustomizationConfig::DistillationConfig(distillation))))
        }
        CustomizationType::ReinforcementFineTuning => {
            let lambda_arn = deps.grader_arn.clone().map_err(|e| {
                PipelineError::ConfigInvalid(format!(
                    "REINFORCEMENT_FINE_TUNING needs the stack's grader Lambda: {e} (template.yaml sets it)"
                ))
            })?;
            let grader = LambdaGraderConfig::builder()
                .lambda_arn(lambda_arn)
                .build()
                .map_err(|e| PipelineError::Internal(format!("request: {e}")))?;
            let rft = RftConfig::builder()
                .grader_config(GraderConfig::LambdaGrader(grader))
                .hyper_parameters(rft_hyperparameters(&config.hyperparameters)?)
                .build();
            Ok((None, Some(CustomizationConfig::RftConfig(rft))))
        }
    }
}

/// The string-valued hyperparameters (checked against the catalogue already) as RFT's typed ones.
fn rft_hyperparameters(values: &BTreeMap<String, String>) -> Result<RftHyperParameters, PipelineError> {
    let int = |key: &str| -> Result<Option<i32>, PipelineError> {
        values
            .get(key)
            .map(|v| {
                v.trim().parse::<i32>().map_err(|_| {
                    PipelineError::ConfigInvalid(format!("hyperparameters.{key}: `{v}` is not a whole number"))
                })
            })
            .transpose()
    };
    let learning_rate = values
        .get("learningRate")
        .map(|v| {
            v.trim().parse::<f32>().map_err(|_| {
                PipelineError::ConfigInvalid(format!("hyperparameters.learningRate: `{v}` is not a number"))
            })
        })
        .transpose()?;
    Ok(RftHyperParameters::builder()
        .set_epoch_count(int("epochCount")?)
        .set_batch_size(int("batchSize")?)
        .set_learning_rate(learning_rate)
        .set_max_prompt_length(int("maxPromptLength")?)
        .set_training_sample_per_prompt(int("trainingSamplePerPrompt")?)
        .set_inference_max_tokens(int("inferenceMaxTokens")?)
        .set_eval_interval(int("evalInterval")?)
        .set_reasoning_effort(values.get("reasoningEffort").map(|v| ReasoningEffort::from(v.as_str())))
        .build())
}

/// The job that holds our name: ours (same clientRequestToken) means an earlier attempt created it.
async fn existing_job<C: Clock>(
    deps: &Deps<C>,
    job_name: &str,
    token: &str,
    conflict: SdkError<CreateModelCustomizationJobError, aws_sdk_bedrock::config::http::HttpResponse>,
) -> Result<(String, SystemTime), PipelineError> {
    let job = deps
        .bedrock
        .get_model_customization_job()
        .job_identifier(job_name)
        .send()
        .await
        .or_pipeline("GetModelCustomizationJob")?;
    if job.client_request_token.as_deref() == Some(token) {
        // Elapsed time counts from when the job really started.
        let started = SystemTime::try_from(job.creation_time).unwrap_or_else(|_| deps.clock.now());
        Ok((job.job_arn, started))
    } else {
        let said = functions_common::sdk_error("CreateModelCustomizationJob", conflict);
        Err(PipelineError::ConfigInvalid(format!(
            "a customization job named {job_name} already exists and was not started by this run \
             (its clientRequestToken differs): {said}"
        )))
    }
}
