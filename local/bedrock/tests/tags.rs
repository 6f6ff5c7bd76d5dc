//! TagResource / UntagResource (and ListTagsForResource) over what the create calls tagged, with
//! Bedrock's errors for a resource that is not there.

mod common;

use common::*;
use local_bedrock::inventory::ListTagsForResourceRequest;
use local_bedrock::tags::{TagResourceRequest, UntagResourceRequest};
use local_bedrock::wire::Tag;
use local_bedrock::{Config, ErrorKind};

fn tag(k: &str, v: &str) -> Tag {
    Tag { key: k.into(), value: v.into() }
}

#[test]
fn tags_given_at_creation_are_listed_changed_and_bounded() {
    let (emu, _, _) = emulator(Config::default());
    let request = local_bedrock::wire::CreateModelCustomizationJobRequest {
        job_tags: Some(vec![tag("finetune-run-id", "run-1")]),
        custom_model_tags: Some(vec![tag("finetune-run-id", "run-1"), tag("team", "a")]),
        ..job_request("ft-run-1", None)
    };
    let arn = emu.create_model_customization_job(request).unwrap().job_arn;
    let list = |arn: &str| emu.list_tags_for_resource(&ListTagsForResourceRequest { resource_arn: Some(arn.into()) });
    assert_eq!(list(&arn).unwrap().tags, [tag("finetune-run-id", "run-1")]);
    emu.tag_resource(TagResourceRequest { resource_arn: Some(arn.clone()), tags: Some(vec![tag("team", "b")]) })
        .unwrap();
    assert_eq!(emu.resource_tags(&arn).len(), 2);
    emu.untag_resource(UntagResourceRequest { resource_arn: Some(arn.clone()), tag_keys: Some(vec!["team".into()]) })
        .unwrap();
    assert_eq!(emu.resource_tags(&arn), [("finetune-run-id".to_string(), "run-1".to_string())]);
    let many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    let err = emu.tag_resource(TagResourceRequest { resource_arn: Some(arn.clone()), tags: Some(many) }).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooManyTags);
    let missing = arn.replace("model-customization-job/", "model-customization-job/zz");
    assert_eq!(list(&missing).unwrap_err().kind, ErrorKind::ResourceNotFound);
    let none = emu.list_tags_for_resource(&ListTagsForResourceRequest { resource_arn: None }).unwrap_err();
    assert_eq!(none.kind, ErrorKind::Validation);
}
