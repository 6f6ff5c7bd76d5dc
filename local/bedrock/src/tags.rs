//! TagResource / UntagResource over the tags the create calls recorded (ListTagsForResource is in
//! `inventory`), with Bedrock's shapes (`{"resourceARN": ...}`, `{"tags": [{"key", "value"}]}`). A
//! resource that does not exist (or no longer) is ResourceNotFoundException, as on AWS.

use serde::Deserialize;

use crate::emulator::{Emulator, State};
use crate::error::{BedrockError, ErrorKind};
use crate::wire::Tag;

/// The most tags a resource may carry.
const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TagResourceRequest {
    #[serde(rename = "resourceARN")]
    pub resource_arn: Option<String>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    #[serde(rename = "resourceARN")]
    pub resource_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

/// Adds `tags` to `arn`'s (a key already held gets the new value, as on AWS).
fn record(st: &mut State, arn: &str, tags: &[Tag]) {
    let held = st.tags.entry(arn.to_string()).or_default();
    for tag in tags {
        held.retain(|t| t.key != tag.key);
        held.push(tag.clone());
    }
}

fn exists(st: &State, arn: &str) -> bool {
    st.jobs.iter().any(|j| j.arn == arn)
        || st.models.iter().any(|m| m.arn == arn && !st.deleted_models.contains(arn))
        || st.throughputs.iter().any(|t| t.arn == arn)
        || st.deployments.iter().any(|d| d.arn == arn)
}

fn resource<'a>(arn: Option<&'a str>, st: &State) -> Result<&'a str, BedrockError> {
    let arn = arn.ok_or_else(|| {
        BedrockError::validation("1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null")
    })?;
    if !arn.starts_with("arn:") {
        return Err(BedrockError::validation(format!("The resource ARN {arn} is not valid.")));
    }
    if exists(st, arn) { Ok(arn) } else { Err(BedrockError::not_found(format!("The resource {arn} was not found."))) }
}

impl Emulator {
    pub fn tag_resource(&self, req: TagResourceRequest) -> Result<(), BedrockError> {
        let (mut st, _) = self.state();
        let arn = resource(req.resource_arn.as_deref(), &st)?.to_string();
        let tags = req.tags.unwrap_or_default();
        let mut keys: Vec<&str> =
            st.tags.get(&arn).map(|h| h.iter().map(|t| t.key.as_str()).collect()).unwrap_or_default();
        keys.extend(tags.iter().map(|t| t.key.as_str()));
        keys.sort_unstable();
        keys.dedup();
        if keys.len() > MAX_TAGS {
            return Err(BedrockError::new(ErrorKind::TooManyTags, "A resource can have at most 50 tags."));
        }
        record(&mut st, &arn, &tags);
        Ok(())
    }

    pub fn untag_resource(&self, req: UntagResourceRequest) -> Result<(), BedrockError> {
        let (mut st, _) = self.state();
        let arn = resource(req.resource_arn.as_deref(), &st)?.to_string();
        let keys = req.tag_keys.unwrap_or_default();
        if let Some(held) = st.tags.get_mut(&arn) {
            held.retain(|t| !keys.contains(&t.key));
        }
        Ok(())
    }

    /// The tags of a resource as (key, value), empty when it has none or does not exist: what
    /// `aws:ResourceTag/<key>` sees, and what a test inspects.
    pub fn resource_tags(&self, arn: &str) -> Vec<(String, String)> {
        let (st, _) = self.state();
        st.tags.get(arn).map(|h| h.iter().map(|t| (t.key.clone(), t.value.clone())).collect()).unwrap_or_default()
    }
}
