//! S3 on loopback: s3s speaks the wire protocol, s3s-fs keeps objects in `<root>/<bucket>/<key>`, and
//! [`NotifyingFs`] adds the bucket notifications that start the pipeline.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::s3::{
    S3Bucket, S3Entity, S3Event, S3EventRecord, S3Object, S3RequestParameters, S3UserIdentity,
};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use s3s::dto::*;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3, S3Request, S3Response, S3Result};
use s3s_fs::FileSystem;
use serde_json::Value;
use shared::pipeline::layout;
use tokio::sync::mpsc;

use crate::endpoints::{TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use crate::server::ServerHandle;

/// Which uploads notify, like one entry of a bucket's NotificationConfiguration (applied to every bucket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRule {
    /// Reported as `s3.configurationId`.
    pub configuration_id: String,
    pub prefix: String,
    pub suffix: String,
}

impl NotificationRule {
    /// The pipeline's rule: `.jsonl` uploads under `incoming/`.
    pub fn pipeline() -> NotificationRule {
        NotificationRule {
            configuration_id: "dataset-uploaded".to_string(),
            prefix: layout::INCOMING_PREFIX.to_string(),
            suffix: layout::DATASET_SUFFIX.to_string(),
        }
    }

    pub fn matches(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && key.ends_with(&self.suffix)
    }
}

/// How an object came to be, as S3 names it in `eventName`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectCreated {
    Put,
    Copy,
    CompleteMultipartUpload,
}

impl ObjectCreated {
    pub fn event_name(self) -> &'static str {
        match self {
            ObjectCreated::Put => "ObjectCreated:Put",
            ObjectCreated::Copy => "ObjectCreated:Copy",
            ObjectCreated::CompleteMultipartUpload => "ObjectCreated:CompleteMultipartUpload",
        }
    }
}

/// Where notifications go: every live subscriber receives each event; closed ones are forgotten.
#[derive(Debug, Default)]
struct Subscribers(Mutex<Vec<mpsc::UnboundedSender<Value>>>);

impl Subscribers {
    fn add(&self) -> mpsc::UnboundedReceiver<Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().push(tx);
        rx
    }

    fn send(&self, event: &Value) {
        self.lock().retain(|tx| tx.send(event.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<Value>>> {
        // A panic while holding this lock cannot leave the list inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// State the notifying wrapper and the handle share.
#[derive(Debug)]
struct Notifier {
    root: PathBuf,
    region: String,
    rules: Mutex<Vec<NotificationRule>>,
    subscribers: Subscribers,
    sequencer: AtomicU64,
    /// Operations served, by name.
    served: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Notifier {
    fn count(&self, operation: &'static str) {
        *self.served.lock().unwrap_or_else(|e| e.into_inner()).entry(operation).or_default() += 1;
    }

    async fn object_created(&self, how: ObjectCreated, bucket: &str, key: &str, e_tag: Option<&ETag>) {
        // The pipeline writes only under runs/: never notify there, whatever the rules, so a handler that
        // writes its outputs cannot trigger itself.
        if key.starts_with(layout::RUNS_PREFIX) {
            return;
        }
        let rule = {
            let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
            rules.iter().find(|r| r.matches(key)).cloned()
        };
        let Some(rule) = rule else { return };
        // s3s-fs stores the object as a plain file: its length is the object's size.
        let size = tokio::fs::metadata(self.root.join(bucket).join(key)).await.map(|m| m.len()).unwrap_or(0);
        let sequence = self.sequencer.fetch_add(1, Ordering::Relaxed);
        let event = notification(&NotificationInput {
            how,
            region: &self.region,
            configuration_id: &rule.configuration_id,
            bucket,
            key,
            size,
            e_tag: e_tag.map(ETag::value).unwrap_or_default(),
            sequencer: &format!("{sequence:016X}"),
            time: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3),
        });
        self.subscribers.send(&event);
    }
}

/// The fields of one `ObjectCreated` record.
#[derive(Clone, Debug)]
pub struct NotificationInput<'a> {
    pub how: ObjectCreated,
    pub region: &'a str,
    pub configuration_id: &'a str,
    pub bucket: &'a str,
    /// The object key as stored (not encoded).
    pub key: &'a str,
    pub size: u64,
    /// Without quotes.
    pub e_tag: &'a str,
    pub sequencer: &'a str,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// The S3 event notification AWS delivers to Lambda for one created object (one record).
pub fn notification(n: &NotificationInput<'_>) -> Value {
    const PRINCIPAL: &str = "AWS:LOCALCLOUD";
    let identity = |id: &str| {
        let mut identity = S3UserIdentity::default();
        identity.principal_id = Some(id.to_string());
        identity
    };
    let mut bucket = S3Bucket::default();
    bucket.name = Some(n.bucket.to_string());
    bucket.owner_identity = Some(identity("LOCALCLOUD"));
    bucket.arn = Some(format!("arn:aws:s3:::{}", n.bucket));
    let mut object = S3Object::default();
    // S3 URL-encodes the key in events; validate-split decodes it with the same convention.
    object.key = Some(shared::aws::encode_s3_event_key(n.key));
    object.size = Some(i64::try_from(n.size).unwrap_or(i64::MAX));
    object.e_tag = Some(n.e_tag.to_string());
    object.sequencer = Some(n.sequencer.to_string());
    let mut s3 = S3Entity::default();
    s3.schema_version = Some("1.0".to_string());
    s3.configuration_id = Some(n.configuration_id.to_string());
    s3.bucket = bucket;
    s3.object = object;
    let mut parameters = S3RequestParameters::default();
    parameters.source_ip_address = Some("127.0.0.1".to_string());
    let mut record = S3EventRecord::default();
    record.event_version = Some("2.1".to_string());
    record.event_source = Some("aws:s3".to_string());
    record.aws_region = Some(n.region.to_string());
    record.event_time = n.time;
    record.event_name = Some(n.how.event_name().to_string());
    record.principal_id = identity(PRINCIPAL);
    record.request_parameters = parameters;
    record.response_elements = [
        ("x-amz-request-id".to_string(), n.sequencer.to_string()),
        ("x-amz-id-2".to_string(), format!("localcloud/{}", n.sequencer)),
    ]
    .into_iter()
    .collect();
    record.s3 = s3;
    let mut event = S3Event::default();
    event.records = vec![record];
    let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
    // AWS sends neither the crate's convenience field nor a null versionId for an unversioned bucket.
    if let Some(object) = value.pointer_mut("/Records/0/s3/object").and_then(Value::as_object_mut) {
        object.remove("urlDecodedKey");
        object.remove("versionId");
    }
    // AWS always writes milliseconds (…:00.000Z); chrono's default drops a zero fraction.
    if let Some(time) = value.pointer_mut("/Records/0/eventTime") {
        *time = Value::String(shared::aws::rfc3339_millis(n.time.timestamp_millis()));
    }
    value
}

/// s3s-fs with notifications: every operation s3s-fs implements is delegated, and successful creations
/// then notify. Where s3s-fs departs from S3 the wrapper answers as S3 does: ListMultipartUploads (which
/// s3s-fs lacks) and CompleteMultipartUpload's EntityTooSmall, refused before anything changes so the
/// upload can still be aborted. Other operations s3s-fs lacks answer NotImplemented. Each operation
/// served is counted ([`LocalS3::served`]).
pub struct NotifyingFs {
    fs: FileSystem,
    notifier: Arc<Notifier>,
    /// Parts are written under the read side; abort and complete take the write side, so they wait
    /// for parts still being written. Without it a part whose request was still running (a client
    /// that timed out and retried) is written after the abort removed the upload's parts, and stays.
    parts: tokio::sync::RwLock<()>,
}

/// S3's smallest part, but for the last (S3 User Guide, "Amazon S3 multipart upload limits").
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

impl std::fmt::Debug for NotifyingFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyingFs").field("root", &self.notifier.root).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl S3 for NotifyingFs {
    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.notifier.count("AbortMultipartUpload");
        let _no_part_in_flight = self.parts.write().await;
        self.fs.abort_multipart_upload(req).await
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.notifier.count("CreateBucket");
        self.fs.create_bucket(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.notifier.count("CreateMultipartUpload");
        self.fs.create_multipart_upload(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.notifier.count("DeleteBucket");
        self.fs.delete_bucket(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.notifier.count("DeleteObject");
        self.fs.delete_object(req).await
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.notifier.count("DeleteObjects");
        self.fs.delete_objects(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.notifier.count("GetBucketLocation");
        self.fs.get_bucket_location(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.notifier.count("GetObject");
        self.fs.get_object(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.notifier.count("HeadBucket");
        self.fs.head_bucket(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.notifier.count("HeadObject");
        self.fs.head_object(req).await
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        self.notifier.count("ListBuckets");
        self.fs.list_buckets(req).await
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        self.notifier.count("ListObjects");
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.notifier.count("ListObjectsV2");
        self.fs.list_objects_v2(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.notifier.count("ListParts");
        self.fs.list_parts(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.notifier.count("UploadPart");
        let _writing_a_part = self.parts.read().await;
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.notifier.count("UploadPartCopy");
        self.fs.upload_part_copy(req).await
    }

    /// What s3s-fs lacks: the uploads in progress (the prefix filter and one page of up to 1,000; no
    /// delimiter or markers).
    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.notifier.count("ListMultipartUploads");
        let input = req.input;
        if !self.notifier.root.join(&input.bucket).is_dir() {
            return Err(s3s::S3Error::new(s3s::S3ErrorCode::NoSuchBucket));
        }
        let mut uploads = self
            .uploads_in_progress(&input.bucket)
            .map_err(|e| s3s::S3Error::with_message(s3s::S3ErrorCode::InternalError, e.to_string()))?;
        if let Some(prefix) = &input.prefix {
            uploads.retain(|u| u.key.as_deref().is_some_and(|k| k.starts_with(prefix.as_str())));
        }
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let truncated = uploads.len() > max;
        uploads.truncate(max);
        let output = ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            uploads: Some(uploads),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.notifier.count("PutObject");
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.fs.put_object(req).await?;
        self.notifier.object_created(ObjectCreated::Put, &bucket, &key, resp.output.e_tag.as_ref()).await;
        Ok(resp)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.notifier.count("CopyObject");
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.fs.copy_object(req).await?;
        let e_tag = resp.output.copy_object_result.as_ref().and_then(|r| r.e_tag.as_ref());
        self.notifier.object_created(ObjectCreated::Copy, &bucket, &key, e_tag).await;
        Ok(resp)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.notifier.count("CompleteMultipartUpload");
        self.refuse_small_parts(&req.input)?;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut resp = self.fs.complete_multipart_upload(req).await?;
        // s3s may answer through a future (AWS's keep-alive while parts are joined): notify when it resolves
        // successfully, as S3 does once the object exists.
        match resp.output.future.take() {
            Some(pending) => {
                let notifier = Arc::clone(&self.notifier);
                resp.output.future = Some(Box::pin(async move {
                    let output = pending.await?;
                    let how = ObjectCreated::CompleteMultipartUpload;
                    notifier.object_created(how, &bucket, &key, output.e_tag.as_ref()).await;
                    Ok(output)
                }));
            }
            None => {
                let how = ObjectCreated::CompleteMultipartUpload;
                self.notifier.object_created(how, &bucket, &key, resp.output.e_tag.as_ref()).await;
            }
        }
        Ok(resp)
    }
}

impl NotifyingFs {
    /// S3 refuses the completion when a part but the last is below 5 MiB (EntityTooSmall) and the
    /// upload stays as it was. s3s-fs checks only while joining the parts, after it has forgotten the
    /// upload and removed the earlier parts' files, so the check comes first here.
    fn refuse_small_parts(&self, input: &CompleteMultipartUploadInput) -> S3Result<()> {
        let parts: Vec<&CompletedPart> = input.multipart_upload.iter().flat_map(|m| m.parts.iter().flatten()).collect();
        let Some((_, but_last)) = parts.split_last() else { return Ok(()) };
        for part in but_last {
            let Some(number) = part.part_number else { continue };
            let path = self.notifier.root.join(format!(".upload_id-{}.part-{number}", input.upload_id));
            // A missing part is s3s-fs's to report (InvalidPart).
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if meta.len() < MIN_PART_SIZE {
                return Err(s3s::S3Error::with_message(
                    s3s::S3ErrorCode::EntityTooSmall,
                    format!(
                        "Your proposed upload is smaller than the minimum allowed size: part {number} is {} bytes; \
                         every part but the last must be at least {MIN_PART_SIZE} bytes",
                        meta.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The multipart uploads in progress in `bucket`: s3s-fs keeps, per upload, `.upload-<id>.json` (its
    /// owner) and `.bucket-<b64 bucket>.object-<b64 key>.upload-<id>.metadata.json` (the key's attributes).
    fn uploads_in_progress(&self, bucket: &str) -> io::Result<Vec<MultipartUpload>> {
        let mut uploads = Vec::new();
        let prefix = format!(".bucket-{}.object-", base64_url(bucket.as_bytes()));
        for entry in std::fs::read_dir(&self.notifier.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
            let Some(rest) = rest.strip_suffix(".metadata.json") else { continue };
            let Some((key, upload_id)) = rest.split_once(".upload-") else { continue };
            if !self.notifier.root.join(format!(".upload-{upload_id}.json")).is_file() {
                continue; // completed or aborted
            }
            let Some(key) = unbase64_url(key).and_then(|k| String::from_utf8(k).ok()) else { continue };
            let initiated = entry.metadata()?.modified().ok().map(Timestamp::from);
            uploads.push(MultipartUpload {
                key: Some(key),
                upload_id: Some(upload_id.to_string()),
                initiated,
                ..Default::default()
            });
        }
        // S3 lists by key, then by initiation.
        uploads.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.upload_id.cmp(&b.upload_id)));
        Ok(uploads)
    }
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding, as s3s-fs names its metadata files.
fn base64_url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64_URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn unbase64_url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = BASE64_URL.iter().position(|b| *b == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xFF) as u8);
        }
    }
    Some(out)
}

/// The S3 endpoint of the local cloud. Dropping it stops the server; the folder stays.
#[derive(Debug)]
pub struct LocalS3 {
    notifier: Arc<Notifier>,
    server: ServerHandle,
}

impl LocalS3 {
    /// Serves `root` (created if missing; layout `<root>/<bucket>/<key>`) on 127.0.0.1 with a free port.
    /// Requests must be signed with [`TEST_ACCESS_KEY_ID`] / [`TEST_SECRET_ACCESS_KEY`] (what
    /// [`crate::sdk_config`] sets); uploads matching [`NotificationRule::pipeline`] notify subscribers.
    pub async fn start(root: impl Into<PathBuf>, region: &str) -> io::Result<(SocketAddr, LocalS3)> {
        LocalS3::start_with(root.into(), region, None, 0).await
    }

    /// [`LocalS3::start`] on 127.0.0.1:`port` (0: a free port), for a server others connect to.
    pub async fn start_on(root: impl Into<PathBuf>, region: &str, port: u16) -> io::Result<(SocketAddr, LocalS3)> {
        LocalS3::start_with(root.into(), region, None, port).await
    }

    /// As [`LocalS3::start`], with IAM: requests must be signed by one of `authorizer`'s callers (a
    /// role's key, or the administrator's, which should be [`TEST_ACCESS_KEY_ID`]) and are decided by
    /// its policies before anything is read or written (see [`crate::s3_iam`]).
    pub async fn start_enforcing(
        root: impl Into<PathBuf>,
        region: &str,
        authorizer: Arc<local_iam::Authorizer>,
    ) -> io::Result<(SocketAddr, LocalS3)> {
        LocalS3::start_with(root.into(), region, Some(authorizer), 0).await
    }

    /// The general form: with IAM when `authorizer` is given, on `port` (0: a free port).
    pub async fn start_with(
        root: PathBuf,
        region: &str,
        authorizer: Option<Arc<local_iam::Authorizer>>,
        port: u16,
    ) -> io::Result<(SocketAddr, LocalS3)> {
        std::fs::create_dir_all(&root)?;
        // s3s-fs canonicalizes its root; do the same so notification sizes read the same files.
        let root = root.canonicalize()?;
        let fs = FileSystem::new(&root).map_err(|e| io::Error::other(format!("{e:?}")))?;
        let notifier = Arc::new(Notifier {
            root,
            region: region.to_string(),
            rules: Mutex::new(vec![NotificationRule::pipeline()]),
            subscribers: Subscribers::default(),
            sequencer: AtomicU64::new(1),
            served: Mutex::default(),
        });
        let mut builder =
            S3ServiceBuilder::new(NotifyingFs { fs, notifier: Arc::clone(&notifier), parts: Default::default() });
        // The SDK always signs; s3s checks signatures only against keys it knows, so it knows the test pair.
        let mut auth = s3s::auth::SimpleAuth::from_single(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);
        if let Some(authorizer) = authorizer {
            for caller in authorizer.identities().iter() {
                auth.register(caller.access_key_id.clone(), caller.secret_access_key.as_str().into());
            }
            builder.set_access(crate::s3_iam::S3Gate { authorizer, root: notifier.root.clone() });
        }
        builder.set_auth(auth);
        let router = Router::new().fallback(serve_s3).with_state(builder.build());
        let server = ServerHandle::spawn_on(router, port).await?;
        Ok((server.local_addr(), LocalS3 { notifier, server }))
    }

    /// Creates a bucket (a folder under the root); creating one that exists is fine.
    pub fn create_bucket(&self, name: &str) -> io::Result<()> {
        if !s3s::path::check_bucket_name(name) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid bucket name: {name}")));
        }
        std::fs::create_dir_all(self.notifier.root.join(name))
    }

    /// A new receiver of every notification from now on (one JSON `S3Event` with one record per object).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Value> {
        self.notifier.subscribers.add()
    }

    /// Replaces the notification rules (default: [`NotificationRule::pipeline`]); keys under `runs/` never
    /// notify.
    pub fn set_notification_rules(&self, rules: Vec<NotificationRule>) {
        *self.notifier.rules.lock().unwrap_or_else(|e| e.into_inner()) = rules;
    }

    pub fn root(&self) -> &Path {
        &self.notifier.root
    }

    /// How many `operation` requests (e.g. `GetObject`) were served since the start (authorized and
    /// handed to the store; a request IAM refuses is not counted).
    pub fn served(&self, operation: &str) -> u64 {
        self.notifier.served.lock().unwrap_or_else(|e| e.into_inner()).get(operation).copied().unwrap_or(0)
    }

    pub fn region(&self) -> &str {
        &self.notifier.region
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Stops the server and waits for open requests.
    pub async fn shutdown(self) -> io::Result<()> {
        self.server.shutdown().await
    }
}

/// Hands the request to s3s; s3s reports protocol-level failures (not S3 errors, which it encodes itself)
/// as an error that would otherwise abort the connection.
async fn serve_s3(State(s3): State<S3Service>, req: Request) -> Response {
    let req = req.map(s3s::Body::http_body_unsync);
    match s3.call(req).await {
        Ok(resp) => resp.map(axum::body::Body::new).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{:?}", s3s::StdError::from(e))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(key: &str, time: chrono::DateTime<chrono::Utc>) -> Value {
        notification(&NotificationInput {
            how: ObjectCreated::Put,
            region: "us-east-1",
            configuration_id: "c",
            bucket: "b",
            key,
            size: 1,
            e_tag: "e",
            sequencer: "01",
            time,
        })
    }

    fn noon() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap().to_utc()
    }

    #[test]
    fn the_event_carries_the_key_encoded_as_s3_encodes_it() {
        let key = "incoming/my file (1) + 100%.jsonl";
        let event = event(key, noon());
        let sent = event["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
        assert_eq!(sent, "incoming/my+file+%281%29+%2B+100%25.jsonl");
        assert_eq!(shared::aws::decode_s3_event_key(sent), key, "what validate-split reads back");
    }

    #[test]
    fn event_time_always_has_milliseconds() {
        let event = event("incoming/x.jsonl", noon());
        assert_eq!(event["Records"][0]["eventTime"], "2024-05-01T12:00:00.000Z");
        let parsed: S3Event = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.records[0].event_time, noon());
    }

    #[test]
    fn base64_names_round_trip_as_s3s_fs_writes_them() {
        for text in ["", "a", "ab", "abc", "runs/r1/train.jsonl", "bench-bucket"] {
            assert_eq!(unbase64_url(&base64_url(text.as_bytes())).unwrap(), text.as_bytes());
        }
        // As base64-simd's URL_SAFE_NO_PAD encodes it.
        assert_eq!(base64_url(b"runs/r?"), "cnVucy9yPw");
    }

    #[test]
    fn the_pipeline_rule_matches_dataset_uploads_only() {
        let rule = NotificationRule::pipeline();
        assert!(rule.matches("incoming/x.jsonl"));
        assert!(rule.matches("incoming/a/b.jsonl"));
        assert!(!rule.matches("incoming/x.pipeline.json"));
        assert!(!rule.matches("runs/r/train.jsonl"));
        assert!(!rule.matches("x.jsonl"));
    }
}
