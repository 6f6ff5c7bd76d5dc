//! Request and response documents, with the service models' JSON member names. Required request
//! members are `Option`s so that a missing one becomes the service's "Member must not be null"
//! ValidationException instead of a deserialisation failure.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingDataConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_logs_config: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validator {
    pub s3_uri: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationDataConfig {
    #[serde(default)]
    pub validators: Vec<Validator>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputDataConfig {
    pub s3_uri: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateModelCustomizationJobRequest {
    pub job_name: Option<String>,
    pub custom_model_name: Option<String>,
    pub role_arn: Option<String>,
    pub client_request_token: Option<String>,
    pub base_model_identifier: Option<String>,
    pub customization_type: Option<String>,
    pub custom_model_kms_key_id: Option<String>,
    pub job_tags: Option<Vec<Tag>>,
    pub custom_model_tags: Option<Vec<Tag>>,
    pub training_data_config: Option<TrainingDataConfig>,
    pub validation_data_config: Option<ValidationDataConfig>,
    pub output_data_config: Option<OutputDataConfig>,
    pub hyper_parameters: Option<BTreeMap<String, String>>,
    pub vpc_config: Option<Value>,
    pub customization_config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateModelCustomizationJobResponse {
    pub job_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingMetrics {
    pub training_loss: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorMetric {
    pub validation_loss: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetModelCustomizationJobResponse {
    pub job_arn: String,
    pub job_name: String,
    pub output_model_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_model_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    pub role_arn: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub base_model_arn: String,
    pub hyper_parameters: BTreeMap<String, String>,
    pub training_data_config: TrainingDataConfig,
    pub validation_data_config: ValidationDataConfig,
    pub output_data_config: OutputDataConfig,
    pub customization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_metrics: Option<TrainingMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_metrics: Option<Vec<ValidatorMetric>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customization_config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCustomizationJobSummary {
    pub job_arn: String,
    pub base_model_arn: String,
    pub job_name: String,
    pub status: String,
    pub last_modified_time: String,
    pub creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_model_arn: Option<String>,
    pub custom_model_name: String,
    pub customization_type: String,
}

/// Filters of ListModelCustomizationJobs (query string).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListModelCustomizationJobsRequest {
    pub status_equals: Option<String>,
    pub name_contains: Option<String>,
    pub creation_time_after: Option<String>,
    pub creation_time_before: Option<String>,
    pub max_results: Option<String>,
    pub next_token: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListModelCustomizationJobsResponse {
    pub model_customization_job_summaries: Vec<ModelCustomizationJobSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCustomModelResponse {
    pub model_arn: String,
    pub model_name: String,
    pub job_name: String,
    pub job_arn: String,
    pub base_model_arn: String,
    pub customization_type: String,
    pub hyper_parameters: BTreeMap<String, String>,
    pub training_data_config: TrainingDataConfig,
    pub validation_data_config: ValidationDataConfig,
    pub output_data_config: OutputDataConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_metrics: Option<TrainingMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_metrics: Option<Vec<ValidatorMetric>>,
    pub creation_time: String,
    pub model_status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProvisionedModelThroughputRequest {
    pub client_request_token: Option<String>,
    pub model_units: Option<i64>,
    pub provisioned_model_name: Option<String>,
    pub model_id: Option<String>,
    pub commitment_duration: Option<String>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProvisionedModelThroughputResponse {
    pub provisioned_model_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetProvisionedModelThroughputResponse {
    pub model_units: i64,
    pub desired_model_units: i64,
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub status: String,
    pub creation_time: String,
    pub last_modified_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomModelDeploymentRequest {
    pub model_deployment_name: Option<String>,
    pub model_arn: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub client_request_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomModelDeploymentResponse {
    pub custom_model_deployment_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCustomModelDeploymentResponse {
    pub custom_model_deployment_arn: String,
    pub model_deployment_name: String,
    pub model_arn: String,
    pub created_at: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub last_updated_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListFoundationModelsRequest {
    pub by_provider: Option<String>,
    pub by_customization_type: Option<String>,
    pub by_output_modality: Option<String>,
    pub by_inference_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelLifecycle {
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundationModelSummary {
    pub model_arn: String,
    pub model_id: String,
    pub model_name: String,
    pub provider_name: String,
    pub input_modalities: Vec<String>,
    pub output_modalities: Vec<String>,
    pub response_streaming_supported: bool,
    pub customizations_supported: Vec<String>,
    pub inference_types_supported: Vec<String>,
    pub model_lifecycle: ModelLifecycle,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListFoundationModelsResponse {
    pub model_summaries: Vec<FoundationModelSummary>,
}
