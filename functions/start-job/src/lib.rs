//! start-job: the run document in, CreateModelCustomizationJob out, a [`JobRef`] back at `$.job`.
//!
//! Idempotent: the job name, custom model name and clientRequestToken derive from the run id, so a
//! retried task either gets the same job back from Bedrock (same token) or finds it by name.
//! Reads no environment beyond the SDK's: everything comes from the run document's effective config.

use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::error::SdkError;
use aws_sdk_bedrock::operation::create_model_customization_job::CreateModelCustomizationJobError;
use aws_sdk_bedrock::types::{
    CustomizationType as SdkCustomizationType, OutputDataConfig, Tag, TrainingDataConfig, ValidationDataConfig,
    Validator, VpcConfig,
};
use functions_common::{Clock, Env, LambdaError, SdkConfig, SdkResultExt, format_rfc3339, is_name_taken};
use lambda_runtime::LambdaEvent;
use shared::CustomizationType;
use shared::pipeline::{Backoff, JobRef, PipelineError, PollState, PollStatus, RunDocument, layout, names};
use std::time::SystemTime;

/// The `purpose` part of the job's clientRequestToken.
pub const TOKEN_PURPOSE: &str = "job";

pub struct Deps<C: Clock> {
    pub bedrock: Client,
    pub clock: C,
}

impl<C: Clock> Deps<C> {
    /// The one wiring, for Lambda and the local cloud alike. Reads no variable of its own.
    pub fn from_env(sdk: &SdkConfig, _env: &Env, clock: C) -> Deps<C> {
        Deps { bedrock: Client::new(sdk), clock }
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
    let config = &run.config;
    let (model, _) = config.check()?;
    let kind = match config.customization_type {
        CustomizationType::FineTuning => SdkCustomizationType::FineTuning,
        CustomizationType::ContinuedPreTraining => SdkCustomizationType::ContinuedPreTraining,
        // Both need a customizationConfig the pipeline config does not carry.
        CustomizationType::Distillation => {
            return Err(PipelineError::ConfigInvalid(
                "DISTILLATION needs a teacher model configuration, which this pipeline does not start; \
                 use FINE_TUNING or CONTINUED_PRE_TRAINING"
                    .to_string(),
            ));
        }
        CustomizationType::ReinforcementFineTuning => {
            return Err(PipelineError::ConfigInvalid(
                "REINFORCEMENT_FINE_TUNING needs a grader Lambda (customizationConfig.rftConfig), which this \
                 pipeline does not start; use FINE_TUNING or CONTINUED_PRE_TRAINING"
                    .to_string(),
            ));
        }
    };

    let run_id = &run.run_id;
    let job_name = names::job_name(run_id);
    let model_name = names::custom_model_name(run_id);
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
        .training_data_config(TrainingDataConfig::builder().s3_uri(&run.data.train_uri).build())
        .output_data_config(OutputDataConfig::builder().s3_uri(&output_uri).build().map_err(build_err)?)
        .set_hyper_parameters(
            (!config.hyperparameters.is_empty())
                .then(|| config.hyperparameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        )
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
    tracing::info!(%job_arn, %job_name, "customization job started");
    Ok(JobRef {
        job_arn,
        job_name,
        custom_model_name: model_name,
        started_at: format_rfc3339(started),
        output_uri,
        status: PollStatus::fresh(PollState::InProgress, "InProgress", Backoff::JOB.initial_seconds),
        custom_model_arn: None,
        training_loss: None,
        validation_loss: None,
    })
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
