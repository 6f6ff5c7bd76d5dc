//! The state layer without HTTP: transitions over virtual time, idempotency, validation messages,
//! artifacts, faults, serving resources and the stand-in models.

mod common;

use common::*;
use local_bedrock::runtime::ConverseRequest;
use local_bedrock::wire::*;
use local_bedrock::{Config, ErrorKind, ObjectStore};
use serde_json::json;
use std::collections::BTreeMap;

fn converse(text: &str) -> ConverseRequest {
    serde_json::from_value(json!({"messages": [{"role": "user", "content": [{"text": text}]}],
        "system": [{"text": "You label topics."}]}))
    .unwrap()
}

#[test]
fn job_runs_in_progress_to_completed_over_virtual_time_and_writes_artifacts() {
    let (emu, store, clock) = emulator(Config::default());
    let arn = emu.create_model_customization_job(job_request("ft-job-1", Some("tok-1"))).unwrap().job_arn;
    assert!(
        arn.starts_with("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/")
    );
    let job_id = arn.rsplit('/').next().unwrap().to_string();
    assert_eq!(job_id.len(), 12);

    let j = emu.get_model_customization_job(&arn).unwrap();
    assert_eq!(j.status, "InProgress");
    assert_eq!(j.creation_time, "2025-01-01T00:00:00.000Z");
    assert!(j.output_model_arn.is_none() && j.training_metrics.is_none() && j.end_time.is_none());
    assert_eq!(j.hyper_parameters.get("epochCount").map(String::as_str), Some("2"));
    assert_eq!(j.hyper_parameters.get("learningRate").map(String::as_str), Some("0.00001"));
    // No custom model until the job completes.
    assert_eq!(emu.get_custom_model("ft-job-1-model").unwrap_err().kind, ErrorKind::ResourceNotFound);

    clock.advance(minutes(19));
    assert_eq!(emu.get_model_customization_job("ft-job-1").unwrap().status, "InProgress");
    assert!(store.list(BUCKET, "runs/r1/output/").is_empty(), "nothing written before completion");

    clock.advance(hours(5));
    let j = emu.get_model_customization_job("ft-job-1").unwrap();
    assert_eq!(j.status, "Completed");
    assert!(j.end_time.is_some() && j.end_time == j.last_modified_time);
    let model_arn = j.output_model_arn.clone().unwrap();
    assert!(model_arn.contains(":custom-model/amazon.nova-micro-v1:0:128k/"));
    let training_loss = j.training_metrics.as_ref().unwrap().training_loss;
    let validation = j.validation_metrics.as_ref().unwrap();
    assert_eq!(validation.len(), 1);

    let prefix = format!("runs/r1/output/model-customization-job-{job_id}/");
    let train_csv = String::from_utf8(
        store.get(BUCKET, &format!("{prefix}training_artifacts/step_wise_training_metrics.csv")).unwrap(),
    )
    .unwrap();
    let mut lines = train_csv.lines();
    assert_eq!(lines.next(), Some("step_number,epoch_number,training_loss,perplexity,emulated"));
    // Bedrock's four columns, then the emulator's mark.
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.strip_suffix(",true").expect("marked emulated").split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 80, "40 records x 2 epochs at batch size 1");
    assert_eq!((rows[0][0], rows[0][1], rows[79][1]), (0.0, 0.0, 1.0));
    assert!(rows[79][2] < rows[0][2] * 0.5, "loss decreases");
    assert!((rows[0][3] - rows[0][2].exp()).abs() < 1e-3, "perplexity = exp(loss)");
    assert!((rows[79][2] - training_loss).abs() < 1e-5);
    let val_csv = String::from_utf8(
        store
            .get(BUCKET, &format!("{prefix}validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"))
            .unwrap(),
    )
    .unwrap();
    assert!(val_csv.starts_with("step_number,epoch_number,validation_loss,perplexity,emulated\n"));
    let last: Vec<f64> = val_csv.lines().last().unwrap().split(',').take(4).map(|x| x.parse().unwrap()).collect();
    assert!((last[2] - validation[0].validation_loss).abs() < 1e-5);

    let m = emu.get_custom_model(&model_arn).unwrap();
    assert_eq!(
        (m.model_status.as_str(), m.model_name.as_str(), m.job_arn.as_str()),
        ("Active", "ft-job-1-model", arn.as_str())
    );
    assert_eq!(emu.get_custom_model("ft-job-1-model").unwrap().model_arn, model_arn);

    // The same virtual time gives the same artifacts: the curve is seeded by the job name.
    let again = emu.get_model_customization_job(&arn).unwrap();
    assert_eq!(again.training_metrics, j.training_metrics);
}

#[test]
fn client_request_token_is_idempotent_and_names_are_unique() {
    let (emu, _, _) = emulator(Config::default());
    let a = emu.create_model_customization_job(job_request("ft-job", Some("token-a"))).unwrap();
    let b = emu.create_model_customization_job(job_request("ft-job", Some("token-a"))).unwrap();
    assert_eq!(a, b);
    let listed = emu.list_model_customization_jobs(&Default::default()).unwrap();
    assert_eq!(listed.model_customization_job_summaries.len(), 1);

    let e = emu.create_model_customization_job(job_request("ft-job", Some("token-b"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(e.message.contains("job name is currently in use"), "{}", e.message);
    let e = emu.create_model_customization_job(job_request("ft-job", None)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);

    let mut other = job_request("ft-job-2", Some("token-c"));
    other.custom_model_name = Some("ft-job-model".into());
    let e = emu.create_model_customization_job(other).unwrap_err();
    assert!(e.message.contains("custom model with the name ft-job-model"), "{}", e.message);
}

#[test]
fn validation_errors_name_the_field_or_parameter() {
    let (emu, _, _) = emulator(Config::default());
    let check = |req: CreateModelCustomizationJobRequest, kind: ErrorKind, needle: &str| {
        let e = emu.create_model_customization_job(req).unwrap_err();
        assert_eq!(e.kind, kind, "{}", e.message);
        assert!(e.message.contains(needle), "`{}` does not contain `{needle}`", e.message);
    };
    let mut r = job_request("ok", None);
    r.job_name = None;
    check(r, ErrorKind::Validation, "Value null at 'jobName' failed to satisfy constraint: Member must not be null");
    check(
        job_request("-bad name", None),
        ErrorKind::Validation,
        "at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern",
    );
    check(job_request(&"a".repeat(64), None), ErrorKind::Validation, "Member must have length between 1 and 63");
    let mut r = job_request("ok", None);
    r.role_arn = Some("arn:aws:iam::123:role/x".into());
    r.custom_model_name = Some("bad__name".into());
    check(r, ErrorKind::Validation, "2 validation errors detected");
    let mut r = job_request("ok", None);
    r.client_request_token = Some("-bad".into());
    check(r, ErrorKind::Validation, "'clientRequestToken'");

    let mut r = job_request("ok", None);
    r.hyper_parameters = Some(BTreeMap::from([("epochCount".into(), "9".into())]));
    check(r, ErrorKind::Validation, "`epochCount` = `9` is out of range");
    let mut r = job_request("ok", None);
    r.hyper_parameters = Some(BTreeMap::from([("batchSize".into(), "4".into())]));
    check(r, ErrorKind::Validation, "`batchSize` is not known");
    let mut r = job_request("ok", None);
    r.hyper_parameters = Some(BTreeMap::from([("learningRate".into(), "fast".into())]));
    check(r, ErrorKind::Validation, "`learningRate`");

    let mut r = job_request("ok", None);
    r.base_model_identifier = Some("amazon.nova-mega-v9:0".into());
    check(r, ErrorKind::Validation, "model identifier is invalid");
    for id in ["amazon.nova-micro-v1:0", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"] {
        let mut r = job_request(&format!("ok-{}", id.len()), None);
        r.base_model_identifier = Some(id.into());
        emu.create_model_customization_job(r).unwrap();
    }
    let mut r = job_request("ok", None);
    r.customization_type = Some("CONTINUED_PRE_TRAINING".into());
    check(r, ErrorKind::Validation, "does not support customization type CONTINUED_PRE_TRAINING");
    let mut r = job_request("ok", None);
    r.base_model_identifier = Some("anthropic.claude-3-haiku-20240307-v1:0:200k".into());
    check(r, ErrorKind::Validation, "not available for customization in us-east-1");

    let mut r = job_request("ok", None);
    r.training_data_config =
        Some(TrainingDataConfig { s3_uri: Some(format!("s3://{BUCKET}/missing.jsonl")), invocation_logs_config: None });
    check(r, ErrorKind::Validation, "training data file s3://pipeline-bucket/missing.jsonl does not exist");
    let mut r = job_request("ok", None);
    r.validation_data_config =
        Some(ValidationDataConfig { validators: vec![Validator { s3_uri: format!("s3://{BUCKET}/nope.jsonl") }] });
    check(r, ErrorKind::Validation, "validation data file");
    let mut r = job_request("ok", None);
    r.output_data_config = Some(OutputDataConfig { s3_uri: Some("s3://Bad_Bucket/out".into()) });
    check(r, ErrorKind::Validation, "'outputDataConfig.s3Uri'");
}

#[test]
fn stop_moves_through_stopping_to_stopped_and_conflicts_afterwards() {
    let (emu, _, clock) = emulator(Config::default());
    let arn = emu.create_model_customization_job(job_request("stop-me", None)).unwrap().job_arn;
    clock.advance(minutes(5));
    emu.stop_model_customization_job(&arn).unwrap();
    assert_eq!(emu.get_model_customization_job(&arn).unwrap().status, "Stopping");
    emu.stop_model_customization_job(&arn).unwrap();
    clock.advance(minutes(3));
    let j = emu.get_model_customization_job(&arn).unwrap();
    assert_eq!(j.status, "Stopped");
    assert!(j.output_model_arn.is_none() && j.training_metrics.is_none());
    clock.advance(hours(6));
    assert_eq!(emu.get_model_customization_job(&arn).unwrap().status, "Stopped");
    let e = emu.stop_model_customization_job(&arn).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert_eq!(emu.stop_model_customization_job("nope").unwrap_err().kind, ErrorKind::ResourceNotFound);
    let stopped = emu
        .list_model_customization_jobs(&ListModelCustomizationJobsRequest {
            status_equals: Some("Stopped".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(stopped.model_customization_job_summaries.len(), 1);
}

#[test]
fn jobs_in_progress_are_bounded_by_the_quota() {
    let (emu, _, clock) = emulator(Config { max_jobs_in_progress: 2, ..Config::default() });
    emu.create_model_customization_job(job_request("q1", None)).unwrap();
    emu.create_model_customization_job(job_request("q2", None)).unwrap();
    let e = emu.create_model_customization_job(job_request("q3", None)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ServiceQuotaExceeded);
    clock.advance(hours(5));
    emu.create_model_customization_job(job_request("q3", None)).unwrap();
}

#[test]
fn faults_fail_the_next_job_and_bad_data_fails_early() {
    let (emu, store, clock) = emulator(Config { faults: "job-failed".parse().unwrap(), ..Config::default() });
    let failed = emu.create_model_customization_job(job_request("doomed", None)).unwrap().job_arn;
    let fine = emu.create_model_customization_job(job_request("fine", None)).unwrap().job_arn;
    store.put(BUCKET, "bad.jsonl", b"{\"prompt\": \"not a conversation\"}\n").unwrap();
    let mut r = job_request("bad-data", None);
    r.training_data_config =
        Some(TrainingDataConfig { s3_uri: Some(format!("s3://{BUCKET}/bad.jsonl")), invocation_logs_config: None });
    let bad = emu.create_model_customization_job(r).unwrap().job_arn;
    clock.advance(minutes(6));
    let j = emu.get_model_customization_job(&bad).unwrap();
    assert_eq!(j.status, "Failed");
    assert!(
        j.failure_message
            .unwrap()
            .starts_with("Data validation failed for the training data at s3://pipeline-bucket/bad.jsonl")
    );
    clock.advance(hours(5));
    let j = emu.get_model_customization_job(&failed).unwrap();
    assert_eq!(j.status, "Failed");
    assert!(j.failure_message.unwrap().contains("internal server error"));
    assert!(j.output_model_arn.is_none());
    assert_eq!(emu.get_model_customization_job(&fine).unwrap().status, "Completed");
    assert!(emu.get_custom_model("doomed-model").is_err());
}

/// Every "name taken" answer is one the pipeline's functions recognize (shared::aws::is_name_taken), so
/// their adopt-by-name path runs against the emulator as it would against Bedrock.
#[test]
fn every_name_taken_answer_is_recognized_as_one() {
    let (emu, _, clock) = emulator(Config::default());
    let taken = |e: local_bedrock::BedrockError| {
        assert!(shared::aws::is_name_taken(e.kind.as_str(), &e.message), "{e}");
        e
    };
    let model = completed_model(&emu, &clock, "named");
    let job = taken(emu.create_model_customization_job(job_request("named", Some("another-token"))).unwrap_err());
    assert_eq!(job.message, shared::aws::JOB_NAME_IN_USE, "Bedrock's own words");
    let mut same_model = job_request("named-2", None);
    same_model.custom_model_name = Some("taken-model".into());
    emu.create_model_customization_job(same_model.clone()).unwrap();
    same_model.job_name = Some("named-3".into());
    taken(emu.create_model_customization_job(same_model).unwrap_err());
    let throughput = |token: &str| CreateProvisionedModelThroughputRequest {
        model_units: Some(1),
        provisioned_model_name: Some("pt-named".into()),
        model_id: Some(model.clone()),
        client_request_token: Some(token.into()),
        ..Default::default()
    };
    emu.create_provisioned_model_throughput(throughput("t1")).unwrap();
    taken(emu.create_provisioned_model_throughput(throughput("t2")).unwrap_err());
    let deployment = |token: &str| CreateCustomModelDeploymentRequest {
        model_deployment_name: Some("dep-named".into()),
        model_arn: Some(model.clone()),
        client_request_token: Some(token.into()),
        ..Default::default()
    };
    emu.create_custom_model_deployment(deployment("d1")).unwrap();
    taken(emu.create_custom_model_deployment(deployment("d2")).unwrap_err());
}

fn completed_model(emu: &local_bedrock::Emulator, clock: &local_sfn::VirtualClock, name: &str) -> String {
    let arn = emu.create_model_customization_job(job_request(name, None)).unwrap().job_arn;
    clock.advance(hours(5));
    emu.get_model_customization_job(&arn).unwrap().output_model_arn.unwrap()
}

#[test]
fn provisioned_throughput_goes_creating_to_in_service_and_serves_the_tuned_model() {
    let (emu, _, clock) = emulator(Config::default());
    let model = completed_model(&emu, &clock, "pt-job");
    let req = |name: &str, token: &str| CreateProvisionedModelThroughputRequest {
        model_units: Some(1),
        provisioned_model_name: Some(name.into()),
        model_id: Some(model.clone()),
        client_request_token: Some(token.into()),
        ..Default::default()
    };
    let pt = emu.create_provisioned_model_throughput(req("pt-1", "t1")).unwrap().provisioned_model_arn;
    assert_eq!(emu.create_provisioned_model_throughput(req("pt-1", "t1")).unwrap().provisioned_model_arn, pt);
    assert_eq!(emu.create_provisioned_model_throughput(req("pt-1", "t2")).unwrap_err().kind, ErrorKind::Validation);
    assert!(pt.starts_with("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/"));
    let g = emu.get_provisioned_model_throughput(&pt).unwrap();
    assert_eq!((g.status.as_str(), g.model_arn.as_str()), ("Creating", model.as_str()));
    assert_eq!(g.foundation_model_arn, "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k");
    let e = emu.converse(&pt, converse("Which topic fits best: goal, match?")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ModelNotReady);

    clock.advance(minutes(15));
    assert_eq!(emu.get_provisioned_model_throughput("pt-1").unwrap().status, "InService");
    let (resp, stand_in) = emu.converse(&pt, converse("Which topic fits best: storm, forecast, wind?")).unwrap();
    assert_eq!(resp.text(), "weather");
    assert_eq!(resp.stop_reason, "end_turn");
    assert!(resp.usage.input_tokens > 0 && resp.usage.output_tokens > 0);
    assert_eq!(stand_in.label(), "tuned:pt-job-model");

    // Custom models are served through a throughput or a deployment, not by their own ARN.
    assert_eq!(emu.converse(&model, converse("x")).unwrap_err().kind, ErrorKind::Validation);

    emu.delete_provisioned_model_throughput(&pt).unwrap();
    assert_eq!(emu.get_provisioned_model_throughput(&pt).unwrap_err().kind, ErrorKind::ResourceNotFound);
    assert_eq!(emu.converse(&pt, converse("x")).unwrap_err().kind, ErrorKind::ResourceNotFound);
    assert_eq!(emu.delete_provisioned_model_throughput(&pt).unwrap_err().kind, ErrorKind::ResourceNotFound);

    // Quotas: commitments (0 MUs by default), more than 1 MU or more than 2 without commitment.
    let mut committed = req("pt-c", "t3");
    committed.commitment_duration = Some("OneMonth".into());
    assert_eq!(emu.create_provisioned_model_throughput(committed).unwrap_err().kind, ErrorKind::ServiceQuotaExceeded);
    let mut big = req("pt-big", "t4");
    big.model_units = Some(2);
    assert_eq!(emu.create_provisioned_model_throughput(big).unwrap_err().kind, ErrorKind::ServiceQuotaExceeded);
    emu.create_provisioned_model_throughput(req("pt-2", "t5")).unwrap();
    emu.create_provisioned_model_throughput(req("pt-3", "t6")).unwrap();
    assert_eq!(
        emu.create_provisioned_model_throughput(req("pt-4", "t7")).unwrap_err().kind,
        ErrorKind::ServiceQuotaExceeded
    );
    let mut base = req("pt-base", "t8");
    base.model_id = Some("amazon.nova-micro-v1:0".into());
    assert_eq!(emu.create_provisioned_model_throughput(base).unwrap_err().kind, ErrorKind::Validation);

    emu.set_faults("quota=1,throughput-failed".parse().unwrap());
    // Still Creating: the delete is refused (ConflictException) until it settles.
    assert_eq!(emu.delete_provisioned_model_throughput("pt-2").unwrap_err().kind, ErrorKind::Conflict);
    clock.advance(minutes(15));
    emu.delete_provisioned_model_throughput("pt-2").unwrap();
    assert_eq!(
        emu.create_provisioned_model_throughput(req("pt-5", "t9")).unwrap_err().kind,
        ErrorKind::ServiceQuotaExceeded
    );
    let failed = emu.create_provisioned_model_throughput(req("pt-5", "t10")).unwrap().provisioned_model_arn;
    clock.advance(minutes(15));
    let g = emu.get_provisioned_model_throughput(&failed).unwrap();
    assert_eq!(g.status, "Failed");
    assert!(g.failure_message.is_some());
    assert_eq!(emu.converse(&failed, converse("x")).unwrap_err().kind, ErrorKind::Validation);
}

#[test]
fn deployment_goes_creating_to_active_and_is_labelled_emulated() {
    let (emu, _, clock) = emulator(Config::default());
    let model = completed_model(&emu, &clock, "dep-job");
    let req = CreateCustomModelDeploymentRequest {
        model_deployment_name: Some("dep-1".into()),
        model_arn: Some(model.clone()),
        client_request_token: Some("d1".into()),
        ..Default::default()
    };
    let arn = emu.create_custom_model_deployment(req.clone()).unwrap().custom_model_deployment_arn;
    assert_eq!(emu.create_custom_model_deployment(req).unwrap().custom_model_deployment_arn, arn);
    let d = emu.get_custom_model_deployment(&arn).unwrap();
    assert_eq!(d.status, "Creating");
    assert_eq!(d.description.as_deref(), Some(local_bedrock::EMULATED_DESCRIPTION));
    assert_eq!(emu.converse(&arn, converse("x")).unwrap_err().kind, ErrorKind::ModelNotReady);
    clock.advance(minutes(10));
    assert_eq!(emu.get_custom_model_deployment("dep-1").unwrap().status, "Active");
    let body = json!({"schemaVersion": "messages-v1", "system": [{"text": "You label topics."}],
        "messages": [{"role": "user", "content": [{"text": "Which topic fits best: oven, garlic, butter?"}]}],
        "inferenceConfig": {"maxTokens": 50}});
    let (out, _) = emu.invoke_model(&arn, body.to_string().as_bytes()).unwrap();
    assert_eq!(out.pointer("/output/message/content/0/text").unwrap(), "cooking");
    assert_eq!(out["stopReason"], "end_turn");
    emu.delete_custom_model_deployment(&arn).unwrap();
    assert_eq!(emu.get_custom_model_deployment(&arn).unwrap_err().kind, ErrorKind::ResourceNotFound);

    let missing = CreateCustomModelDeploymentRequest {
        model_deployment_name: Some("dep-2".into()),
        model_arn: Some(model.replace(model.rsplit('/').next().unwrap(), "zzzzzzzzzzzz")),
        ..Default::default()
    };
    assert_eq!(emu.create_custom_model_deployment(missing).unwrap_err().kind, ErrorKind::ResourceNotFound);
}

#[test]
fn tuned_model_beats_base_model_on_held_out_data() {
    let (emu, _, clock) = emulator(Config::default());
    let model = completed_model(&emu, &clock, "eval-job");
    let dep = emu
        .create_custom_model_deployment(CreateCustomModelDeploymentRequest {
            model_deployment_name: Some("eval-dep".into()),
            model_arn: Some(model),
            ..Default::default()
        })
        .unwrap()
        .custom_model_deployment_arn;
    clock.advance(minutes(10));
    let held_out = samples(5, 200);
    let score = |model_id: &str| {
        held_out.iter().filter(|(p, label)| emu.converse(model_id, converse(p)).unwrap().0.text() == label).count()
    };
    let tuned = score(&dep);
    let base = score("amazon.nova-micro-v1:0");
    assert!(tuned >= held_out.len() * 9 / 10, "tuned {tuned}/{}", held_out.len());
    assert_eq!(base, 0);
    // Deterministic: the same prompt gives the same answer and usage.
    let p = &held_out[0].0;
    assert_eq!(
        emu.converse("amazon.nova-micro-v1:0", converse(p)).unwrap(),
        emu.converse("amazon.nova-micro-v1:0", converse(p)).unwrap()
    );
    let (r, stand_in) = emu.converse("amazon.nova-micro-v1:0", converse(p)).unwrap();
    assert_eq!(stand_in.label(), "base:amazon.nova-micro-v1:0");
    assert!(r.metrics["latencyMs"].as_u64().unwrap() > 0);
    assert_eq!(emu.converse("no.such-model", converse(p)).unwrap_err().kind, ErrorKind::Validation);
    let e = emu
        .converse(
            "amazon.nova-micro-v1:0",
            serde_json::from_value(json!({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]})).unwrap(),
        )
        .unwrap_err();
    assert!(e.message.contains("must start with a user message"));
    let mut capped = converse(p);
    capped.inference_config = Some(serde_json::from_value(json!({"maxTokens": 2})).unwrap());
    assert_eq!(emu.converse("amazon.nova-micro-v1:0", capped).unwrap().0.stop_reason, "max_tokens");
}

#[test]
fn list_foundation_models_comes_from_the_catalogue() {
    let (emu, _, _) = emulator(Config::default());
    let all = emu.list_foundation_models(&Default::default()).unwrap().model_summaries;
    assert!(all.iter().any(|m| m.model_id == NOVA && m.customizations_supported.contains(&"FINE_TUNING".to_string())));
    let ft = emu
        .list_foundation_models(&ListFoundationModelsRequest {
            by_customization_type: Some("CONTINUED_PRE_TRAINING".into()),
            ..Default::default()
        })
        .unwrap()
        .model_summaries;
    assert!(!ft.is_empty() && ft.iter().all(|m| m.model_id.starts_with("amazon.titan-text")));
}
