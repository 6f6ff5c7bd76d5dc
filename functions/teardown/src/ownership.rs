//! Ownership before destruction: before it stops or deletes anything, teardown reads the resource's
//! run tag back from Bedrock (ListTagsForResource) and acts only when it equals this run's id. A
//! resource found under a derived name but tagged for another run (or not tagged at all) is refused
//! and reported, never touched: a hostile execution name or a stale name cannot make teardown destroy
//! what another run made. IAM repeats the rule (`aws:ResourceTag/finetune-run-id` in template.yaml).

use aws_sdk_bedrock::error::ProvideErrorMetadata;
use functions_common::sdk_error;
use shared::aws::RUN_ID_TAG;
use shared::pipeline::{PipelineError, clip};

/// What the run tag of a resource says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Tagged with this run's id.
    Owned,
    /// Tagged for another run, or not tagged (`None`).
    Foreign(Option<String>),
    /// No such resource (any more).
    Gone,
}

impl Ownership {
    /// Why a resource is refused, for the summary.
    pub fn refusal(&self, arn: &str, run_id: &str) -> String {
        let tag = match self {
            Ownership::Foreign(Some(other)) => format!("is tagged {RUN_ID_TAG}={}", clip(other, 64)),
            _ => format!("has no {RUN_ID_TAG} tag"),
        };
        format!("{arn} refused: it {tag}, not this run's `{run_id}`; left untouched (not created by this run)")
    }
}

/// Reads `arn`'s tags and compares its run tag with `run_id`.
pub async fn check(bedrock: &aws_sdk_bedrock::Client, arn: &str, run_id: &str) -> Result<Ownership, PipelineError> {
    match bedrock.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => {
            let tag = out.tags().iter().find(|t| t.key() == RUN_ID_TAG).map(|t| t.value().to_string());
            Ok(match tag {
                Some(value) if value == run_id => Ownership::Owned,
                other => Ownership::Foreign(other),
            })
        }
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException") => {
            Ok(Ownership::Gone)
        }
        Err(e) => Err(sdk_error("ListTagsForResource", e)),
    }
}
