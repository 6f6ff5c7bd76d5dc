//! What of a run exists in the account now, read from Bedrock rather than from the run's documents:
//! the provisioned throughputs and custom model deployments carrying the run's tag
//! (`shared::aws::RUN_ID_TAG`, read with ListTagsForResource), the custom model the run made (if
//! GetCustomModel still finds it, with the tag) and its job while in progress. A teardown that failed
//! half-way, a throughput created before its step recorded it, a deployment deleted by hand: what
//! `finetune cost` says still bills is what is really there.

use super::errors::aws_error;
use super::target::Cloud;
use crate::output::CliError;
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use shared::aws::RUN_ID_TAG;

/// ARNs of the run's resources that exist now.
pub async fn resources(
    cloud: &Cloud,
    run_id: &str,
    custom_model: Option<&str>,
    job: Option<&str>,
) -> Result<Vec<String>, CliError> {
    let bedrock = cloud.bedrock();
    let mut candidates = Vec::new();
    let mut throughputs = bedrock.list_provisioned_model_throughputs().into_paginator().send();
    while let Some(page) = throughputs.next().await {
        let page = page.map_err(|e| aws_error(cloud, "listing the provisioned throughputs", &e))?;
        candidates.extend(page.provisioned_model_summaries().iter().map(|s| s.provisioned_model_arn().to_string()));
    }
    let mut deployments = bedrock.list_custom_model_deployments().into_paginator().send();
    while let Some(page) = deployments.next().await {
        let page = page.map_err(|e| aws_error(cloud, "listing the custom model deployments", &e))?;
        candidates
            .extend(page.model_deployment_summaries().iter().map(|s| s.custom_model_deployment_arn().to_string()));
    }
    if let Some(model) = custom_model {
        match bedrock.get_custom_model().model_identifier(model).send().await {
            Ok(_) => candidates.push(model.to_string()),
            Err(e) if gone(e.code()) => {}
            Err(e) => return Err(aws_error(cloud, &format!("reading custom model {model}"), &e)),
        }
    }
    let mut live = Vec::new();
    for arn in candidates {
        if tagged(cloud, &arn, run_id).await? {
            live.push(arn);
        }
    }
    if let Some(job) = job {
        match bedrock.get_model_customization_job().job_identifier(job).send().await {
            Ok(got) if got.status().is_some_and(|s| s.as_str() == "InProgress" || s.as_str() == "Stopping") => {
                live.push(job.to_string());
            }
            Ok(_) => {}
            Err(e) if gone(e.code()) => {}
            Err(e) => return Err(aws_error(cloud, &format!("reading training job {job}"), &e)),
        }
    }
    Ok(live)
}

/// The resource carries the run's tag; one deleted since it was listed has none.
async fn tagged(cloud: &Cloud, arn: &str, run_id: &str) -> Result<bool, CliError> {
    match cloud.bedrock().list_tags_for_resource().resource_arn(arn).send().await {
        Ok(tags) => Ok(tags.tags().iter().any(|t| t.key() == RUN_ID_TAG && t.value() == run_id)),
        Err(e) if gone(e.code()) => Ok(false),
        Err(e) => Err(aws_error(cloud, &format!("reading the tags of {arn}"), &e)),
    }
}

fn gone(code: Option<&str>) -> bool {
    code == Some("ResourceNotFoundException")
}
