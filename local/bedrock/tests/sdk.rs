//! End to end through the real aws-sdk-bedrock and aws-sdk-bedrockruntime clients: the wire format,
//! status codes, timestamps and typed errors as the SDK parses them.

mod common;

use aws_sdk_bedrock::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::types::{OutputDataConfig, TrainingDataConfig, ValidationDataConfig, Validator};
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message, SystemContentBlock};
use common::*;
use local_bedrock::{Config, Emulator};
use local_sfn::VirtualClock;
use std::time::Duration;

struct Cloud {
    emulator: Emulator,
    clock: VirtualClock,
    bedrock: aws_sdk_bedrock::Client,
    runtime: aws_sdk_bedrockruntime::Client,
}

/// Retries: 3 attempts, 1 ms apart, so retryable errors are visible without slowing the suite.
async fn cloud(config: Config) -> Cloud {
    let (emulator, _store, clock) = emulator(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(local_bedrock::serve(listener, emulator.clone()));
    let creds = Credentials::new("AKIDLOCAL", "local-secret", None, None, "test");
    let bedrock = aws_sdk_bedrock::Client::from_conf(
        aws_sdk_bedrock::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(creds.clone())
            .endpoint_url(&url)
            .retry_config(
                aws_sdk_bedrock::config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .build(),
    );
    let runtime = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(creds)
            .endpoint_url(&url)
            .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
            .build(),
    );
    Cloud { emulator, clock, bedrock, runtime }
}

fn create_job(
    c: &Cloud,
    name: &str,
    token: &str,
) -> aws_sdk_bedrock::operation::create_model_customization_job::builders::CreateModelCustomizationJobFluentBuilder {
    c.bedrock
        .create_model_customization_job()
        .job_name(name)
        .custom_model_name(format!("{name}-model"))
        .role_arn(ROLE)
        .base_model_identifier(NOVA)
        .client_request_token(token)
        .training_data_config(TrainingDataConfig::builder().s3_uri(format!("s3://{BUCKET}/{TRAIN}")).build())
        .validation_data_config(
            ValidationDataConfig::builder()
                .validators(Validator::builder().s3_uri(format!("s3://{BUCKET}/{VALID}")).build().unwrap())
                .build()
                .unwrap(),
        )
        .output_data_config(
            OutputDataConfig::builder().s3_uri(format!("s3://{BUCKET}/runs/r1/output/")).build().unwrap(),
        )
        .hyper_parameters("epochCount", "2")
}

fn user(text: &str) -> Message {
    Message::builder().role(ConversationRole::User).content(ContentBlock::Text(text.into())).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_throughput_deployment_and_converse_through_the_sdk() {
    let c = cloud(Config::default()).await;
    let arn = create_job(&c, "sdk-job", "sdk-token").send().await.unwrap().job_arn;
    let again = create_job(&c, "sdk-job", "sdk-token").send().await.unwrap().job_arn;
    assert_eq!(arn, again, "same clientRequestToken, same job");

    let job = c.bedrock.get_model_customization_job().job_identifier(&arn).send().await.unwrap();
    assert_eq!(job.status().map(|s| s.as_str()), Some("InProgress"));
    assert_eq!(job.creation_time().secs(), 1_735_689_600);
    assert_eq!(job.base_model_arn(), "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k");
    assert_eq!(job.validation_data_config().unwrap().validators().len(), 1);

    c.clock.advance(hours(5));
    let job = c.bedrock.get_model_customization_job().job_identifier("sdk-job").send().await.unwrap();
    assert_eq!(job.status().map(|s| s.as_str()), Some("Completed"));
    assert!(job.end_time().is_some());
    assert!(job.training_metrics().unwrap().training_loss().unwrap() > 0.0);
    assert_eq!(job.validation_metrics().len(), 1);
    let model_arn = job.output_model_arn().unwrap().to_string();

    let listed = c
        .bedrock
        .list_model_customization_jobs()
        .status_equals(aws_sdk_bedrock::types::FineTuningJobStatus::Completed)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.model_customization_job_summaries().len(), 1);
    let model = c.bedrock.get_custom_model().model_identifier(&model_arn).send().await.unwrap();
    assert_eq!(model.model_status().map(|s| s.as_str()), Some("Active"));

    let pt = c
        .bedrock
        .create_provisioned_model_throughput()
        .model_units(1)
        .provisioned_model_name("sdk-pt")
        .model_id(&model_arn)
        .send()
        .await
        .unwrap()
        .provisioned_model_arn;
    let g = c.bedrock.get_provisioned_model_throughput().provisioned_model_id(&pt).send().await.unwrap();
    assert_eq!(g.status().as_str(), "Creating");

    let dep = c
        .bedrock
        .create_custom_model_deployment()
        .model_deployment_name("sdk-dep")
        .model_arn(&model_arn)
        .send()
        .await
        .unwrap()
        .custom_model_deployment_arn;
    let e = c.runtime.converse().model_id(&dep).messages(user("hello")).send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_model_not_ready_exception(), "{e:?}");

    c.clock.advance(minutes(15));
    let g = c.bedrock.get_provisioned_model_throughput().provisioned_model_id(&pt).send().await.unwrap();
    assert_eq!(g.status().as_str(), "InService");
    let d = c.bedrock.get_custom_model_deployment().custom_model_deployment_identifier(&dep).send().await.unwrap();
    assert_eq!(d.status().as_str(), "Active");

    for target in [&pt, &dep] {
        let out = c
            .runtime
            .converse()
            .model_id(target)
            .system(SystemContentBlock::Text("You label topics.".into()))
            .messages(user("Which topic fits best: dividend, bonds, investor?"))
            .send()
            .await
            .unwrap();
        let text = out.output().unwrap().as_message().unwrap().content()[0].as_text().unwrap().clone();
        assert_eq!(text, "finance");
        assert_eq!(out.stop_reason().as_str(), "end_turn");
        assert!(out.usage().unwrap().input_tokens() > 0);
        assert!(out.metrics().unwrap().latency_ms() > 0);
    }
    let base = c
        .runtime
        .converse()
        .model_id("amazon.nova-micro-v1:0")
        .messages(user("Which topic fits best: dividend?"))
        .send()
        .await
        .unwrap();
    let text = base.output().unwrap().as_message().unwrap().content()[0].as_text().unwrap().clone();
    assert_ne!(text, "finance");

    let body = serde_json::json!({"messages": [{"role": "user", "content": [{"text": "Which topic fits best: rain, storm?"}]}]});
    let inv = c
        .runtime
        .invoke_model()
        .model_id(&dep)
        .content_type("application/json")
        .body(aws_sdk_bedrockruntime::primitives::Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(inv.content_type(), "application/json");
    let v: serde_json::Value = serde_json::from_slice(inv.body().as_ref()).unwrap();
    assert_eq!(v.pointer("/output/message/content/0/text").unwrap(), "weather");

    let fm = c
        .bedrock
        .list_foundation_models()
        .by_customization_type(aws_sdk_bedrock::types::ModelCustomization::FineTuning)
        .send()
        .await
        .unwrap();
    assert!(fm.model_summaries().iter().any(|m| m.model_id() == NOVA));

    c.bedrock.delete_provisioned_model_throughput().provisioned_model_id(&pt).send().await.unwrap();
    c.bedrock.delete_custom_model_deployment().custom_model_deployment_identifier(&dep).send().await.unwrap();
    let e = c.bedrock.get_provisioned_model_throughput().provisioned_model_id(&pt).send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_not_found_exception());
    let e = c.runtime.converse().model_id(&dep).messages(user("hello")).send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_arrive_as_typed_sdk_errors() {
    let c = cloud(Config::default()).await;

    // Validation: a hyperparameter out of range, named in the message.
    let e = create_job(&c, "bad-hp", "t1").hyper_parameters("epochCount", "9").send().await.unwrap_err();
    let se = e.as_service_error().unwrap();
    assert!(se.is_validation_exception(), "{e:?}");
    assert!(se.message().unwrap().contains("epochCount"), "{:?}", se.message());

    // The same job name with another token.
    create_job(&c, "dup", "t2").send().await.unwrap();
    let e = create_job(&c, "dup", "t3").send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_validation_exception());

    // Conflict: stopping a job that already ended.
    c.clock.advance(hours(5));
    let e = c.bedrock.stop_model_customization_job().job_identifier("dup").send().await.unwrap_err();
    let se = e.as_service_error().unwrap();
    assert!(se.is_conflict_exception(), "{e:?}");
    assert_eq!(se.code(), Some("ConflictException"));

    let e = c.bedrock.get_model_customization_job().job_identifier("nope").send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_not_found_exception());

    // Quota on CreateProvisionedModelThroughput, injected.
    c.emulator.set_faults("quota".parse().unwrap());
    let e = c
        .bedrock
        .create_provisioned_model_throughput()
        .model_units(1)
        .provisioned_model_name("pt")
        .model_id("dup-model")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_service_quota_exceeded_exception(), "{e:?}");

    // Throttling: typed, classified as throttling, and retried by the SDK (3 attempts).
    c.emulator.set_faults("throttle=1,seed=1".parse().unwrap());
    let before = c.emulator.request_count();
    let e = c.bedrock.get_model_customization_job().job_identifier("dup").send().await.unwrap_err();
    let se = e.as_service_error().unwrap();
    assert!(se.is_throttling_exception(), "{e:?}");
    assert_eq!(c.emulator.request_count() - before, 3, "the SDK retried the throttled call");

    // 5xx: InternalServerException, also retried.
    c.emulator.set_faults("5xx=1".parse().unwrap());
    let before = c.emulator.request_count();
    let e = c.bedrock.list_foundation_models().send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_internal_server_exception(), "{e:?}");
    assert_eq!(c.emulator.request_count() - before, 3);

    // A fraction of calls throttled: the SDK's retries absorb them.
    c.emulator.set_faults("throttle=0.3,seed=7".parse().unwrap());
    for _ in 0..10 {
        c.bedrock.get_model_customization_job().job_identifier("dup").send().await.unwrap();
    }
    c.emulator.set_faults(Default::default());

    // Runtime validation: unknown model id.
    let e = c.runtime.converse().model_id("no.such-model").messages(user("hi")).send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_validation_exception());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulated_label_and_unknown_paths_on_the_wire() {
    let c = cloud(Config::default()).await;
    let _ = &c.runtime;
    // Raw HTTP to see headers the SDK does not expose.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(local_bedrock::serve(listener, c.emulator.clone()));
    let raw = |req: String| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    let body = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let resp = raw(format!(
        "POST /model/amazon.nova-micro-v1%3A0/converse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await
    .to_ascii_lowercase();
    assert!(resp.starts_with("http/1.1 200"), "{resp}");
    assert!(resp.contains("x-local-emulated: true"));
    assert!(resp.contains("x-local-emulated-model: base:amazon.nova-micro-v1:0"));
    let resp = raw("GET /nothing-here HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".into()).await;
    assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("x-amzn-errortype: unknownoperationexception"));
}
