//! The local S3 through the real aws-sdk-s3 client: objects, bucket notifications, signatures.

use aws_lambda_events::event::s3::S3Event;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use local_cloud::{Endpoints, LocalS3, NotificationRule, s3_client, sdk_config};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

const BUCKET: &str = "datasets";
const REGION: &str = "eu-west-3";

struct Fixture {
    _dir: tempfile::TempDir,
    s3: LocalS3,
    endpoints: Endpoints,
    client: aws_sdk_s3::Client,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (addr, s3) = LocalS3::start(dir.path().join("s3"), REGION).await.unwrap();
    assert!(addr.ip().is_loopback());
    s3.create_bucket(BUCKET).unwrap();
    let mut endpoints = Endpoints::new(REGION);
    endpoints.s3 = Some(s3.url());
    let client = s3_client(&endpoints).await;
    Fixture { _dir: dir, s3, endpoints, client }
}

async fn put(client: &aws_sdk_s3::Client, key: &str, body: &[u8]) -> String {
    let out = client.put_object().bucket(BUCKET).key(key).body(ByteStream::from(body.to_vec())).send().await.unwrap();
    out.e_tag().unwrap().trim_matches('"').to_string()
}

fn drain(rx: &mut UnboundedReceiver<Value>) -> Vec<Value> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[tokio::test]
async fn put_get_list_and_notify_through_the_sdk() {
    let f = fixture().await;
    let mut rx = f.s3.subscribe();
    let body = b"{\"prompt\": \"a\", \"completion\": \"b\"}\n";
    let e_tag = put(&f.client, "incoming/x.jsonl", body).await;

    let got = f.client.get_object().bucket(BUCKET).key("incoming/x.jsonl").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), body);
    let listed = f.client.list_objects_v2().bucket(BUCKET).prefix("incoming/").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["incoming/x.jsonl"]);
    // The layout on disk is the documented one.
    assert_eq!(std::fs::read(f.s3.root().join(BUCKET).join("incoming/x.jsonl")).unwrap(), body);

    // PutObject notifies before it answers, so the event is already there.
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "{events:?}");
    let record = &events[0]["Records"][0];
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["object"]["key"], "incoming/x.jsonl");
    assert_eq!(record["s3"]["object"]["size"], json!(body.len()));
    assert_eq!(record["s3"]["object"]["eTag"], json!(e_tag));
    let event: S3Event = serde_json::from_value(events[0].clone()).unwrap();
    assert_eq!(event.records[0].s3.bucket.name.as_deref(), Some(BUCKET));
}

#[tokio::test]
async fn notifies_exactly_for_matching_keys_with_the_aws_shape() {
    let f = fixture().await;
    let mut rx = f.s3.subscribe();
    let before = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3);
    let e_tag = put(&f.client, "incoming/team a/data (v2)=1.jsonl", b"{}\n").await;
    put(&f.client, "incoming/notes.txt", b"x").await;
    put(&f.client, "incoming/x.pipeline.json", b"{}").await;
    put(&f.client, "runs/abc/train.jsonl", b"{}\n").await;
    put(&f.client, "elsewhere/incoming/y.jsonl", b"{}\n").await;
    put(&f.client, "incoming/second.jsonl", b"{}\n{}\n").await;

    let events = drain(&mut rx);
    assert_eq!(events.len(), 2, "{events:#?}");
    let keys: Vec<&Value> = events.iter().map(|e| &e["Records"][0]["s3"]["object"]["key"]).collect();
    assert_eq!(keys, [&json!("incoming/team+a/data+%28v2%29%3D1.jsonl"), &json!("incoming/second.jsonl")]);

    let event = &events[0];
    assert_eq!(event.as_object().unwrap().len(), 1, "only Records at the top");
    let records = event["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["eventVersion"], "2.1");
    assert_eq!(r["eventSource"], "aws:s3");
    assert_eq!(r["awsRegion"], REGION);
    assert_eq!(r["eventName"], "ObjectCreated:Put");
    let time_text = r["eventTime"].as_str().unwrap();
    let time = chrono::DateTime::parse_from_rfc3339(time_text).unwrap();
    assert_eq!((time_text.len(), time_text.as_bytes()[19], time_text.ends_with('Z')), (24, b'.', true), "{time_text}");
    assert!(time >= before && time <= chrono::Utc::now());
    assert!(r["userIdentity"]["principalId"].is_string());
    assert!(r["requestParameters"]["sourceIPAddress"].is_string());
    assert!(r["responseElements"]["x-amz-request-id"].is_string());
    let s3 = &r["s3"];
    assert_eq!(s3["s3SchemaVersion"], "1.0");
    assert_eq!(s3["configurationId"], NotificationRule::pipeline().configuration_id);
    assert_eq!(s3["bucket"]["name"], BUCKET);
    assert_eq!(s3["bucket"]["arn"], format!("arn:aws:s3:::{BUCKET}"));
    assert!(s3["bucket"]["ownerIdentity"]["principalId"].is_string());
    let object = s3["object"].as_object().unwrap();
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["eTag", "key", "sequencer", "size"]);
    assert_eq!(object["size"], 3);
    assert_eq!(object["eTag"], json!(e_tag));
    assert!(!e_tag.contains('"') && e_tag.len() == 32, "{e_tag}");
    // Sequencers order events for the same key: hex strings that grow.
    let seq = |e: &Value| e["Records"][0]["s3"]["object"]["sequencer"].as_str().unwrap().to_string();
    assert!(seq(&events[0]) < seq(&events[1]));

    // What the validate-split handler will deserialize.
    let parsed: S3Event = serde_json::from_value(event.clone()).unwrap();
    let record = &parsed.records[0];
    assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:Put"));
    assert_eq!(record.aws_region.as_deref(), Some(REGION));
    assert_eq!(record.s3.object.key.as_deref(), Some("incoming/team+a/data+%28v2%29%3D1.jsonl"));
    assert_eq!(record.s3.object.size, Some(3));
    assert_eq!(record.s3.bucket.arn.as_deref(), Some("arn:aws:s3:::datasets"));
    assert_eq!(record.event_time, time);
}

#[tokio::test]
async fn multipart_and_copy_notify_with_their_event_names() {
    let f = fixture().await;
    let mut rx = f.s3.subscribe();
    let key = "incoming/big.jsonl";
    let upload = f.client.create_multipart_upload().bucket(BUCKET).key(key).send().await.unwrap();
    let upload_id = upload.upload_id().unwrap();
    // Nothing exists until the upload completes.
    assert!(drain(&mut rx).is_empty());
    let part = f
        .client
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from(b"{\"a\": 1}\n".to_vec()))
        .send()
        .await
        .unwrap();
    assert!(drain(&mut rx).is_empty());
    let done = f
        .client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(part.e_tag().unwrap()).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "{events:?}");
    let r = &events[0]["Records"][0];
    assert_eq!(r["eventName"], "ObjectCreated:CompleteMultipartUpload");
    assert_eq!(r["s3"]["object"]["key"], key);
    assert_eq!(r["s3"]["object"]["size"], 9);
    assert_eq!(r["s3"]["object"]["eTag"], done.e_tag().unwrap().trim_matches('"'));
    assert!(r["s3"]["object"]["eTag"].as_str().unwrap().ends_with("-1"));

    // Copies into incoming/ notify too (the template subscribes to s3:ObjectCreated:*); copies into runs/ never.
    f.client
        .copy_object()
        .bucket(BUCKET)
        .key("incoming/copy.jsonl")
        .copy_source(format!("{BUCKET}/{key}"))
        .send()
        .await
        .unwrap();
    f.client
        .copy_object()
        .bucket(BUCKET)
        .key("runs/r1/copy.jsonl")
        .copy_source(format!("{BUCKET}/{key}"))
        .send()
        .await
        .unwrap();
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["Records"][0]["eventName"], "ObjectCreated:Copy");
    assert_eq!(events[0]["Records"][0]["s3"]["object"]["key"], "incoming/copy.jsonl");
    assert_eq!(events[0]["Records"][0]["s3"]["object"]["size"], 9);
}

#[tokio::test]
async fn runs_never_notify_whatever_the_rules_and_every_subscriber_hears() {
    let f = fixture().await;
    f.s3.set_notification_rules(vec![NotificationRule {
        configuration_id: "everything".into(),
        prefix: String::new(),
        suffix: String::new(),
    }]);
    let mut first = f.s3.subscribe();
    let mut second = f.s3.subscribe();
    put(&f.client, "runs/abc/validation.jsonl", b"{}\n").await;
    put(&f.client, "runs/abc/summary.json", b"{}").await;
    assert!(drain(&mut first).is_empty());
    put(&f.client, "anything", b"1").await;
    for rx in [&mut first, &mut second] {
        let events = drain(rx);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["Records"][0]["s3"]["configurationId"], "everything");
    }
    // A dropped subscriber does not stop the others.
    drop(first);
    put(&f.client, "more", b"2").await;
    assert_eq!(drain(&mut second).len(), 1);
}

#[tokio::test]
async fn clients_built_from_the_shared_config_reach_the_local_endpoint() {
    let f = fixture().await;
    // What a handler does: Client::new(&config), no per-client endpoint.
    let config = sdk_config(&f.endpoints).await;
    assert_eq!(config.region().map(|r| r.as_ref()), Some(REGION));
    let client = aws_sdk_s3::Client::new(&config);
    client.put_object().bucket(BUCKET).key("plain.txt").body(ByteStream::from_static(b"hi")).send().await.unwrap();
    let buckets = client.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [BUCKET]);
    let missing = client.get_object().bucket(BUCKET).key("nope").send().await.unwrap_err();
    assert!(missing.into_service_error().is_no_such_key());
}

#[tokio::test]
async fn requests_signed_with_other_keys_are_refused_and_bucket_names_are_checked() {
    let f = fixture().await;
    let mut rx = f.s3.subscribe();
    let creds = aws_sdk_s3::config::Credentials::new("AKIASOMEONEELSE", "wrong", None, None, "test");
    let config = aws_sdk_s3::config::Builder::from(&sdk_config(&f.endpoints).await)
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    let stranger = aws_sdk_s3::Client::from_conf(config);
    let refused = stranger.put_object().bucket(BUCKET).key("incoming/x.jsonl").body(ByteStream::from_static(b"{}"));
    let err = refused.send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403), "{err:?}");
    assert!(drain(&mut rx).is_empty());

    assert!(f.s3.create_bucket("Not_A_Bucket").is_err());
    f.s3.create_bucket(BUCKET).unwrap();
    f.s3.create_bucket("second-bucket").unwrap();
    let head = f.client.head_bucket().bucket("second-bucket").send().await;
    assert!(head.is_ok(), "{head:?}");
}
