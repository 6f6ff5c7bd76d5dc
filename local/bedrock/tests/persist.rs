//! An account saved by one emulator and restored into another (a restart of `finetune local serve`):
//! every resource, tag and token comes back, jobs in progress go on, the custom model answers alike,
//! and a damaged file is refused with a reason, never half-restored.

mod common;

use common::*;
use local_bedrock::inventory::ListTagsForResourceRequest;
use local_bedrock::persist::PersistError;
use local_bedrock::runtime::ConverseRequest;
use local_bedrock::wire::{CreateProvisionedModelThroughputRequest, Tag};
use local_bedrock::{Config, Emulator, LiveKind};
use local_sfn::VirtualClock;
use serde_json::json;

fn converse(text: &str) -> ConverseRequest {
    serde_json::from_value(json!({"messages": [{"role": "user", "content": [{"text": text}]}]})).unwrap()
}

fn summary(emu: &Emulator) -> Vec<(LiveKind, String, String, Vec<Tag>)> {
    emu.inventory().into_iter().map(|l| (l.kind, l.arn, l.status, l.tags)).collect()
}

#[test]
fn a_restored_account_holds_every_resource_and_goes_on_in_time() {
    let (emu, store, clock) = emulator(Config::default());
    let done = emu.create_model_customization_job(job_request("done", Some("tok-done"))).unwrap().job_arn;
    clock.advance(hours(5));
    let model = emu.get_model_customization_job(&done).unwrap().output_model_arn.unwrap();
    let pt = emu
        .create_provisioned_model_throughput(CreateProvisionedModelThroughputRequest {
            model_units: Some(1),
            provisioned_model_name: Some("pt".into()),
            model_id: Some(model),
            tags: Some(vec![Tag { key: "finetune:run-id".into(), value: "r1".into() }]),
            ..Default::default()
        })
        .unwrap()
        .provisioned_model_arn;
    clock.advance(minutes(20));
    let running = emu.create_model_customization_job(job_request("running", Some("tok-run"))).unwrap().job_arn;
    let before = summary(&emu);
    let answer = emu.converse(&pt, converse("Which topic fits best: goal, match?")).unwrap().0.text().to_string();
    let saved = emu.save().unwrap();

    // The restart: a new emulator over the same bucket, its clock moved to where the old one was.
    let clock2 = VirtualClock::default();
    clock2.advance_to(clock.now());
    let emu2 = Emulator::new(store, clock2.clone(), Config::default());
    emu2.restore(&saved).unwrap();
    assert_eq!(summary(&emu2), before);
    assert_eq!(emu2.get_provisioned_model_throughput(&pt).unwrap().status, "InService");
    assert_eq!(
        emu2.list_tags_for_resource(&ListTagsForResourceRequest { resource_arn: Some(pt.clone()) }).unwrap().tags,
        vec![Tag { key: "finetune:run-id".into(), value: "r1".into() }]
    );
    assert_eq!(emu2.converse(&pt, converse("Which topic fits best: goal, match?")).unwrap().0.text(), answer);
    // Idempotency survives: the same token names the same job.
    assert_eq!(emu2.create_model_customization_job(job_request("running", Some("tok-run"))).unwrap().job_arn, running);
    // Time goes on from where it was: the running job completes.
    assert_eq!(emu2.get_model_customization_job(&running).unwrap().status, "InProgress");
    clock2.advance(hours(5));
    assert_eq!(emu2.get_model_customization_job(&running).unwrap().status, "Completed");
    assert!(emu2.get_custom_model("running-model").is_ok());
    // Ids go on too: a new resource never reuses a saved one's.
    let third = emu2.create_model_customization_job(job_request("third", None)).unwrap().job_arn;
    assert!(![&done, &running].contains(&&third));
}

#[test]
fn a_damaged_or_foreign_file_is_refused_with_a_reason_and_restores_nothing() {
    let (emu, store, _) = emulator(Config::default());
    emu.create_model_customization_job(job_request("j", None)).unwrap();
    let saved = emu.save().unwrap();
    let fresh = || Emulator::new(store.clone(), VirtualClock::default(), Config::default());

    let e = fresh().restore(&saved[..saved.len() / 2]).unwrap_err();
    assert!(matches!(e, PersistError::Corrupt(_)), "{e}");
    let mut other: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    other["format"] = json!(99);
    let e = fresh().restore(other.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.to_string(), "saved in format 99, this build reads format 1");
    let mut unknown = serde_json::from_slice::<serde_json::Value>(&saved).unwrap();
    unknown["state"]["jobs"][0]["base"] = json!("acme.no-such-model");
    let e = fresh().restore(unknown.to_string().as_bytes()).unwrap_err();
    assert!(e.to_string().contains("acme.no-such-model is not in this build's catalogue"), "{e}");
    let mut dangling = serde_json::from_slice::<serde_json::Value>(&saved).unwrap();
    dangling["state"]["models"] = json!([{"arn": "a", "name": "m", "job": 7, "created": 0, "stand_in": []}]);
    let e = fresh().restore(dangling.to_string().as_bytes()).unwrap_err();
    assert!(e.to_string().contains("custom model m refers to a missing resource"), "{e}");
    let untouched = fresh();
    for bad in [&saved[..10], b"{}".as_slice()] {
        assert!(untouched.restore(bad).is_err());
    }
    assert!(untouched.inventory().is_empty());
    // Restoring over an account that already holds resources would lose them: refused.
    assert!(matches!(emu.restore(&saved).unwrap_err(), PersistError::NotEmpty));
}
