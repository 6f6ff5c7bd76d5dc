//! Provisioned throughputs and custom model deployments: Creating -> InService / Active, or Failed;
//! deletion removes them at once.

use crate::clock::iso;
use crate::emulator::{Emulator, lock, ms};
use crate::error::{BedrockError, Violations};
use crate::names;
use crate::resources::{Deployment, ServingStatus, Throughput};
use crate::wire::*;

fn throughput_status(s: ServingStatus) -> &'static str {
    match s {
        ServingStatus::Creating => "Creating",
        ServingStatus::Ready => "InService",
        ServingStatus::Failed => "Failed",
    }
}

fn deployment_status(s: ServingStatus) -> &'static str {
    match s {
        ServingStatus::Creating => "Creating",
        ServingStatus::Ready => "Active",
        ServingStatus::Failed => "Failed",
    }
}

impl Emulator {
    pub fn create_provisioned_model_throughput(
        &self,
        req: CreateProvisionedModelThroughputRequest,
    ) -> Result<CreateProvisionedModelThroughputResponse, BedrockError> {
        let mut v = Violations::default();
        match req.model_units {
            None => v.null("modelUnits"),
            Some(u) if u < 1 => {
                v.bad("modelUnits", &u.to_string(), "Member must have value greater than or equal to 1")
            }
            _ => {}
        }
        let name = v.required("provisionedModelName", req.provisioned_model_name.as_deref());
        if let Some(n) = name {
            v.string("provisionedModelName", n, 1, 63, names::PROVISIONED_NAME, names::is_resource_name(n));
        }
        let model_id = v.required("modelId", req.model_id.as_deref());
        if let Some(m) = model_id {
            v.string("modelId", m, 1, 2048, "", true);
        }
        if let Some(c) = req.commitment_duration.as_deref()
            && !matches!(c, "OneMonth" | "SixMonths")
        {
            v.bad("commitmentDuration", c, "Member must satisfy enum value set: [OneMonth, SixMonths]");
        }
        v.client_token(req.client_request_token.as_deref());
        v.into_result()?;
        let (name, model_id, units) =
            (name.unwrap_or_default(), model_id.unwrap_or_default(), req.model_units.unwrap_or(1));

        let (mut st, now) = self.state();
        if let Some(token) = &req.client_request_token
            && let Some(arn) = st.throughput_tokens.get(token)
        {
            return Ok(CreateProvisionedModelThroughputResponse { provisioned_model_arn: arn.clone() });
        }
        if st.throughputs.iter().any(|t| t.name == name) {
            return Err(BedrockError::validation(format!(
                "A provisioned model with the name {name} already exists. Choose a unique name."
            )));
        }
        if lock(&self.inner.faults).take_quota() {
            return Err(BedrockError::quota(
                "The request exceeds the service quota for provisioned model throughput (injected fault). Request a quota increase or delete unused provisioned throughput.",
            ));
        }
        let (model_arn, foundation_model_arn, custom_model) = match Self::find_model(&st, model_id) {
            Some(i) => {
                let m = &st.models[i];
                (m.arn.clone(), self.foundation_arn(st.jobs[m.job].base), Some(i))
            }
            None if model_id.contains(":custom-model/") => {
                return Err(BedrockError::not_found(format!("The custom model {model_id} was not found.")));
            }
            None => match shared::catalogue::find(model_id) {
                Some(m) => (self.foundation_arn(m), self.foundation_arn(m), None),
                None => {
                    return Err(BedrockError::not_found(format!(
                        "The model {model_id} was not found. Specify a custom model ARN or name, or a foundation model ID."
                    )));
                }
            },
        };
        // Committed throughput has a default quota of 0 model units: it needs a support request.
        if req.commitment_duration.is_some() {
            return Err(BedrockError::quota(
                "Your account has a quota of 0 model units for Provisioned Throughput with a commitment term. Request a quota increase from AWS Support.",
            ));
        }
        if custom_model.is_none() {
            return Err(BedrockError::validation(
                "Provisioned Throughput without a commitment term is available only for custom models. Specify a commitmentDuration or a custom model.",
            ));
        }
        if units > 1 {
            return Err(BedrockError::quota(format!(
                "Provisioned Throughput without a commitment term is limited to 1 model unit; requested {units}."
            )));
        }
        let max = self.inner.config.max_no_commitment_throughputs;
        if st.throughputs.iter().filter(|t| t.commitment.is_none()).count() >= max {
            return Err(BedrockError::quota(format!(
                "The account already has {max} no-commitment provisioned throughputs, the service quota. Delete one and retry."
            )));
        }
        let failure = lock(&self.inner.faults).take_throughput_failed().then(|| {
            "The provisioned throughput could not be created because of insufficient capacity (injected fault). Delete it and try again."
                .to_string()
        });
        let id = Self::new_id(&mut st, "provisioned-model", name);
        let t = Throughput {
            arn: self.arn(&format!("provisioned-model/{id}")),
            name: name.to_string(),
            model_units: units,
            model_arn,
            foundation_model_arn,
            custom_model,
            commitment: None,
            created: now,
            ready_at: now + ms(self.inner.config.throughput_ready_after),
            failure,
        };
        let arn = t.arn.clone();
        if let Some(token) = &req.client_request_token {
            st.throughput_tokens.insert(token.clone(), arn.clone());
        }
        st.tags.insert(arn.clone(), req.tags.clone().unwrap_or_default());
        st.throughputs.push(t);
        Ok(CreateProvisionedModelThroughputResponse { provisioned_model_arn: arn })
    }

    pub fn get_provisioned_model_throughput(
        &self,
        id: &str,
    ) -> Result<GetProvisionedModelThroughputResponse, BedrockError> {
        let (st, now) = self.state();
        let t = Self::find_throughput(&st, id)
            .map(|i| &st.throughputs[i])
            .ok_or_else(|| BedrockError::not_found(format!("The provisioned model {id} was not found.")))?;
        let (status, since) = t.status_at(now);
        Ok(GetProvisionedModelThroughputResponse {
            model_units: t.model_units,
            desired_model_units: t.model_units,
            provisioned_model_name: t.name.clone(),
            provisioned_model_arn: t.arn.clone(),
            model_arn: t.model_arn.clone(),
            desired_model_arn: t.model_arn.clone(),
            foundation_model_arn: t.foundation_model_arn.clone(),
            status: throughput_status(status).to_string(),
            creation_time: iso(t.created),
            last_modified_time: iso(since),
            failure_message: if status == ServingStatus::Failed { t.failure.clone() } else { None },
            commitment_duration: t.commitment.clone(),
        })
    }

    /// A throughput still `Creating` cannot be deleted yet: ConflictException (the operation lists it;
    /// which states it covers is undocumented, so this is the cautious reading: wait and retry).
    pub fn delete_provisioned_model_throughput(&self, id: &str) -> Result<(), BedrockError> {
        let (mut st, now) = self.state();
        let i = Self::find_throughput(&st, id)
            .ok_or_else(|| BedrockError::not_found(format!("The provisioned model {id} was not found.")))?;
        if st.throughputs[i].status_at(now).0 == ServingStatus::Creating {
            return Err(BedrockError::conflict(format!(
                "The provisioned model {id} is in the Creating state and cannot be deleted until it is InService or Failed. Try again later."
            )));
        }
        let t = st.throughputs.remove(i);
        st.tags.remove(&t.arn);
        Ok(())
    }

    pub fn create_custom_model_deployment(
        &self,
        req: CreateCustomModelDeploymentRequest,
    ) -> Result<CreateCustomModelDeploymentResponse, BedrockError> {
        let mut v = Violations::default();
        let name = v.required("modelDeploymentName", req.model_deployment_name.as_deref());
        if let Some(n) = name {
            v.string("modelDeploymentName", n, 1, 63, names::MODEL_NAME, names::is_resource_name(n));
        }
        let model_arn = v.required("modelArn", req.model_arn.as_deref());
        if let Some(m) = model_arn {
            v.string(
                "modelArn",
                m,
                20,
                1011,
                "arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:...:custom-model/...",
                m.contains(":custom-model/"),
            );
        }
        if let Some(d) = req.description.as_deref() {
            v.string("description", d, 1, 2048, ".*", true);
        }
        v.client_token(req.client_request_token.as_deref());
        v.into_result()?;
        let (name, model_arn) = (name.unwrap_or_default(), model_arn.unwrap_or_default());

        let (mut st, now) = self.state();
        if let Some(token) = &req.client_request_token
            && let Some(arn) = st.deployment_tokens.get(token)
        {
            return Ok(CreateCustomModelDeploymentResponse { custom_model_deployment_arn: arn.clone() });
        }
        if st.deployments.iter().any(|d| d.name == name) {
            return Err(BedrockError::validation(format!(
                "A custom model deployment with the name {name} already exists. Choose a unique name."
            )));
        }
        let i = st
            .models
            .iter()
            .position(|m| m.arn == model_arn)
            .ok_or_else(|| BedrockError::not_found(format!("The custom model {model_arn} was not found.")))?;
        let base = st.jobs[st.models[i].job].base;
        if !base.on_demand_deployment {
            return Err(BedrockError::validation(format!(
                "On-demand deployment is not supported for custom models based on {}. Use Provisioned Throughput instead.",
                base.id
            )));
        }
        let failure = lock(&self.inner.faults).take_deployment_failed().then(|| {
            "The custom model deployment failed because of an internal error (injected fault). Delete it and try again."
                .to_string()
        });
        let id = Self::new_id(&mut st, "custom-model-deployment", name);
        let d = Deployment {
            arn: self.arn(&format!("custom-model-deployment/{id}")),
            name: name.to_string(),
            model_arn: model_arn.to_string(),
            custom_model: i,
            description: req.description.clone(),
            created: now,
            ready_at: now + ms(self.inner.config.deployment_ready_after),
            failure,
        };
        let arn = d.arn.clone();
        if let Some(token) = &req.client_request_token {
            st.deployment_tokens.insert(token.clone(), arn.clone());
        }
        st.tags.insert(arn.clone(), req.tags.clone().unwrap_or_default());
        st.deployments.push(d);
        Ok(CreateCustomModelDeploymentResponse { custom_model_deployment_arn: arn })
    }

    pub fn get_custom_model_deployment(&self, id: &str) -> Result<GetCustomModelDeploymentResponse, BedrockError> {
        let (st, now) = self.state();
        let d = Self::find_deployment(&st, id)
            .map(|i| &st.deployments[i])
            .ok_or_else(|| BedrockError::not_found(format!("The custom model deployment {id} was not found.")))?;
        let (status, since) = d.status_at(now);
        Ok(GetCustomModelDeploymentResponse {
            custom_model_deployment_arn: d.arn.clone(),
            model_deployment_name: d.name.clone(),
            model_arn: d.model_arn.clone(),
            created_at: iso(d.created),
            status: deployment_status(status).to_string(),
            description: Some(d.description.clone().unwrap_or_else(|| crate::EMULATED_DESCRIPTION.to_string())),
            failure_message: if status == ServingStatus::Failed { d.failure.clone() } else { None },
            last_updated_at: iso(since),
        })
    }

    pub fn delete_custom_model_deployment(&self, id: &str) -> Result<(), BedrockError> {
        let (mut st, _) = self.state();
        let i = Self::find_deployment(&st, id)
            .ok_or_else(|| BedrockError::not_found(format!("The custom model deployment {id} was not found.")))?;
        let d = st.deployments.remove(i);
        st.tags.remove(&d.arn);
        Ok(())
    }
}
