//! What exists in the emulated account, and who it belongs to: the List operations over throughputs,
//! deployments and custom models, ListTagsForResource, DeleteCustomModel, and [`Emulator::inventory`]
//! (what still bills, for tests and the command line). The reaper finds a run's leftovers through these.
//!
//! Listing is simplified: filters other than `nameContains` and `statusEquals` are accepted and
//! ignored, and one page holds everything (`maxResults` up to 1000, never a `nextToken`): enough for an
//! account holding tens of resources, as a local cloud does.

use serde::{Deserialize, Serialize};

use crate::clock::iso;
use crate::emulator::Emulator;
use crate::error::BedrockError;
use crate::resources::{JobStatus, ServingStatus};
use crate::wire::Tag;

/// Query string of the three List operations (the members the emulator reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    pub name_contains: Option<String>,
    pub status_equals: Option<String>,
    pub max_results: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedModelSummary {
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub model_units: i64,
    pub desired_model_units: i64,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<String>,
    pub creation_time: String,
    pub last_modified_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListProvisionedModelThroughputsResponse {
    pub provisioned_model_summaries: Vec<ProvisionedModelSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomModelDeploymentSummary {
    pub custom_model_deployment_arn: String,
    pub custom_model_deployment_name: String,
    pub model_arn: String,
    pub created_at: String,
    pub status: String,
    pub last_updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCustomModelDeploymentsResponse {
    pub model_deployment_summaries: Vec<CustomModelDeploymentSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomModelSummary {
    pub model_arn: String,
    pub model_name: String,
    pub creation_time: String,
    pub base_model_arn: String,
    pub base_model_name: String,
    pub customization_type: String,
    pub model_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCustomModelsResponse {
    pub model_summaries: Vec<CustomModelSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    #[serde(rename = "resourceARN")]
    pub resource_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListTagsForResourceResponse {
    pub tags: Vec<Tag>,
}

/// One resource that exists, as [`Emulator::inventory`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub kind: LiveKind,
    pub arn: String,
    pub name: String,
    /// The service's status word (`InProgress`, `Creating`, `InService`, `Active`, ...).
    pub status: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKind {
    /// Only while `InProgress` (training bills); a stopping or ended job is not listed.
    Job,
    CustomModel,
    ProvisionedThroughput,
    Deployment,
}

impl Live {
    /// The value of one tag, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

fn max_results(req: &ListRequest) -> Result<usize, BedrockError> {
    match req.max_results.as_deref() {
        None => Ok(1000),
        Some(m) => m.parse::<usize>().ok().filter(|m| (1..=1000).contains(m)).ok_or_else(|| {
            BedrockError::validation(format!(
                "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
            ))
        }),
    }
}

fn matches(req: &ListRequest, name: &str, status: &str) -> bool {
    req.name_contains.as_deref().is_none_or(|n| name.contains(n))
        // The service documents upper-case values for deployments and mixed case for throughputs.
        && req.status_equals.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(status))
}

fn serving(s: ServingStatus, ready: &'static str) -> &'static str {
    match s {
        ServingStatus::Creating => "Creating",
        ServingStatus::Ready => ready,
        ServingStatus::Failed => "Failed",
    }
}

impl Emulator {
    pub fn list_provisioned_model_throughputs(
        &self,
        req: &ListRequest,
    ) -> Result<ListProvisionedModelThroughputsResponse, BedrockError> {
        let max = max_results(req)?;
        let (st, now) = self.state();
        let rows = st
            .throughputs
            .iter()
            .filter_map(|t| {
                let (status, since) = t.status_at(now);
                let status = serving(status, "InService");
                matches(req, &t.name, status).then(|| ProvisionedModelSummary {
                    provisioned_model_name: t.name.clone(),
                    provisioned_model_arn: t.arn.clone(),
                    model_arn: t.model_arn.clone(),
                    desired_model_arn: t.model_arn.clone(),
                    foundation_model_arn: t.foundation_model_arn.clone(),
                    model_units: t.model_units,
                    desired_model_units: t.model_units,
                    status: status.to_string(),
                    commitment_duration: t.commitment.clone(),
                    creation_time: iso(t.created),
                    last_modified_time: iso(since),
                })
            })
            .take(max)
            .collect();
        Ok(ListProvisionedModelThroughputsResponse { provisioned_model_summaries: rows })
    }

    pub fn list_custom_model_deployments(
        &self,
        req: &ListRequest,
    ) -> Result<ListCustomModelDeploymentsResponse, BedrockError> {
        let max = max_results(req)?;
        let (st, now) = self.state();
        let rows = st
            .deployments
            .iter()
            .filter_map(|d| {
                let (status, since) = d.status_at(now);
                let status = serving(status, "Active");
                matches(req, &d.name, status).then(|| CustomModelDeploymentSummary {
                    custom_model_deployment_arn: d.arn.clone(),
                    custom_model_deployment_name: d.name.clone(),
                    model_arn: d.model_arn.clone(),
                    created_at: iso(d.created),
                    status: status.to_string(),
                    last_updated_at: iso(since),
                })
            })
            .take(max)
            .collect();
        Ok(ListCustomModelDeploymentsResponse { model_deployment_summaries: rows })
    }

    pub fn list_custom_models(&self, req: &ListRequest) -> Result<ListCustomModelsResponse, BedrockError> {
        let max = max_results(req)?;
        let (st, _) = self.state();
        let rows = st
            .models
            .iter()
            .filter(|m| !st.deleted_models.contains(&m.arn) && matches(req, &m.name, "Active"))
            .map(|m| {
                let job = &st.jobs[m.job];
                CustomModelSummary {
                    model_arn: m.arn.clone(),
                    model_name: m.name.clone(),
                    creation_time: iso(m.created),
                    base_model_arn: self.foundation_arn(job.base),
                    base_model_name: job.base.id.to_string(),
                    customization_type: job.kind.as_str().to_string(),
                    model_status: "Active".to_string(),
                }
            })
            .take(max)
            .collect();
        Ok(ListCustomModelsResponse { model_summaries: rows })
    }

    /// The tags of a job, custom model, throughput or deployment, by ARN.
    pub fn list_tags_for_resource(
        &self,
        req: &ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, BedrockError> {
        let arn = req
            .resource_arn
            .as_deref()
            .ok_or_else(|| BedrockError::validation("1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null"))?;
        let (st, _) = self.state();
        let exists = st.jobs.iter().any(|j| j.arn == arn)
            || st.models.iter().any(|m| m.arn == arn && !st.deleted_models.contains(arn))
            || st.throughputs.iter().any(|t| t.arn == arn)
            || st.deployments.iter().any(|d| d.arn == arn);
        if !exists {
            return Err(BedrockError::not_found(format!("The resource {arn} was not found.")));
        }
        Ok(ListTagsForResourceResponse { tags: st.tags.get(arn).cloned().unwrap_or_default() })
    }

    /// Deletes a custom model. One still served by a throughput or deployment answers ConflictException
    /// (our reading of the listed error: delete what serves it first).
    pub fn delete_custom_model(&self, id: &str) -> Result<(), BedrockError> {
        let (mut st, _) = self.state();
        let i = Self::find_model(&st, id)
            .ok_or_else(|| BedrockError::not_found(format!("The custom model {id} was not found.")))?;
        let served = st.throughputs.iter().any(|t| t.custom_model == Some(i))
            || st.deployments.iter().any(|d| d.custom_model == i);
        if served {
            return Err(BedrockError::conflict(format!(
                "The custom model {id} is in use by a provisioned throughput or a custom model deployment. Delete those first."
            )));
        }
        let arn = st.models[i].arn.clone();
        st.tags.remove(&arn);
        st.deleted_models.insert(arn);
        Ok(())
    }

    /// Everything that bills now: jobs in progress, custom models (storage), throughputs and
    /// deployments, with their tags. Not an AWS operation: the local cloud's account view.
    pub fn inventory(&self) -> Vec<Live> {
        let (st, now) = self.state();
        let tags = |arn: &str| st.tags.get(arn).cloned().unwrap_or_default();
        let jobs = st.jobs.iter().filter(|j| j.status_at(now).0 == JobStatus::InProgress).map(|j| Live {
            kind: LiveKind::Job,
            arn: j.arn.clone(),
            name: j.name.clone(),
            status: JobStatus::InProgress.as_str().to_string(),
            tags: tags(&j.arn),
        });
        let models = st.models.iter().filter(|m| !st.deleted_models.contains(&m.arn)).map(|m| Live {
            kind: LiveKind::CustomModel,
            arn: m.arn.clone(),
            name: m.name.clone(),
            status: "Active".to_string(),
            tags: tags(&m.arn),
        });
        let throughputs = st.throughputs.iter().map(|t| Live {
            kind: LiveKind::ProvisionedThroughput,
            arn: t.arn.clone(),
            name: t.name.clone(),
            status: serving(t.status_at(now).0, "InService").to_string(),
            tags: tags(&t.arn),
        });
        let deployments = st.deployments.iter().map(|d| Live {
            kind: LiveKind::Deployment,
            arn: d.arn.clone(),
            name: d.name.clone(),
            status: serving(d.status_at(now).0, "Active").to_string(),
            tags: tags(&d.arn),
        });
        jobs.chain(models).chain(throughputs).chain(deployments).collect()
    }
}
