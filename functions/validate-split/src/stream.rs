//! The dataset in and the split out as streams, so neither the Lambda's disk nor its memory bounds the
//! dataset's size: the object is read with ranged GETs of one part each, a few in flight and handed on
//! in order; each output is written as the split makes it, with one multipart upload per file.
//!
//! An output that never fills a part stays in memory and is written with one PutObject when the run
//! commits; a larger one starts its multipart upload at its first full part. An upload is completed
//! only when the run commits (valid data, within the cost cap); on anything else it is aborted, and an
//! upload whose writer stops without finishing aborts itself, so no part outlives a failed run (the
//! bucket's lifecycle rule is the backstop for a Lambda killed mid-run).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_sfn::error::ProvideErrorMetadata;
use bytes::Bytes;
use functions_common::{SdkResultExt, sdk_error};
use shared::pipeline::{PipelineError, layout};
use std::collections::VecDeque;
use std::io::{self, Read};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A part's upload or download (the function's own timeout is 15 minutes).
const TRANSFER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Part size and parallelism of the transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streaming {
    /// Bytes per ranged GET and per uploaded part (S3 refuses parts below 5 MiB but the last).
    pub part_size: usize,
    /// Ranged GETs in flight; each holds one part in memory.
    pub reads_in_flight: usize,
    /// UploadPart calls in flight per output file; each holds one part in memory.
    pub uploads_in_flight: usize,
}

impl Default for Streaming {
    fn default() -> Self {
        Streaming { part_size: shared::split_stream::DEFAULT_PART_SIZE, reads_in_flight: 4, uploads_in_flight: 3 }
    }
}

/// One object to read.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub bucket: String,
    pub key: String,
    /// As HEAD returned it: every range must come from this version.
    pub if_match: Option<String>,
    /// From HEAD; unknown: one GET.
    pub size: Option<u64>,
    pub what: &'static str,
}

type Chunks = mpsc::Receiver<Result<Bytes, PipelineError>>;

/// Reads `sources` one after the other (ranged GETs in order), each into its own receiver.
pub(crate) fn spawn_reads(s3: aws_sdk_s3::Client, sources: Vec<Source>, streaming: Streaming) -> Vec<Chunks> {
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in &sources {
        // One part waiting beside those in flight is enough to keep the reader busy.
        let (tx, rx) = mpsc::channel(2);
        senders.push(tx);
        receivers.push(rx);
    }
    tokio::spawn(async move {
        for (source, tx) in sources.into_iter().zip(senders) {
            if let Err(e) = read_object(&s3, &source, streaming, &tx).await {
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    });
    receivers
}

async fn read_object(
    s3: &aws_sdk_s3::Client,
    source: &Source,
    streaming: Streaming,
    tx: &mpsc::Sender<Result<Bytes, PipelineError>>,
) -> Result<(), PipelineError> {
    let part = streaming.part_size.max(1) as u64;
    let Some(size) = source.size.filter(|s| *s > part) else {
        // Small or of unknown size: one GET, passed on as it arrives.
        let mut body = get(s3, source, None).await?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| changed_or_transient(source, &e.to_string()))?;
            if tx.send(Ok(chunk)).await.is_err() {
                return Ok(()); // The reader stopped; its error is reported there.
            }
        }
        return Ok(());
    };
    let mut next = 0u64;
    let mut in_flight: VecDeque<JoinHandle<Result<Bytes, PipelineError>>> = VecDeque::new();
    loop {
        while next < size && in_flight.len() < streaming.reads_in_flight.max(1) {
            let (start, end) = (next, (next + part).min(size) - 1);
            next = end + 1;
            let (s3, source) = (s3.clone(), source.clone());
            in_flight.push_back(tokio::spawn(async move {
                let body = get(&s3, &source, Some((start, end))).await?;
                let bytes =
                    body.collect().await.map_err(|e| changed_or_transient(&source, &e.to_string()))?.into_bytes();
                if bytes.len() as u64 != end - start + 1 {
                    return Err(changed_or_transient(&source, "a range came back short"));
                }
                Ok(bytes)
            }));
        }
        let Some(first) = in_flight.pop_front() else { return Ok(()) };
        let bytes = first.await.map_err(|e| PipelineError::Internal(format!("a ranged GET task failed: {e}")))?;
        match bytes {
            Ok(bytes) => {
                if tx.send(Ok(bytes)).await.is_err() {
                    in_flight.iter().for_each(JoinHandle::abort);
                    return Ok(());
                }
            }
            Err(e) => {
                in_flight.iter().for_each(JoinHandle::abort);
                return Err(e);
            }
        }
    }
}

async fn get(s3: &aws_sdk_s3::Client, source: &Source, range: Option<(u64, u64)>) -> Result<ByteStream, PipelineError> {
    let mut request = s3.get_object().bucket(&source.bucket).key(&source.key);
    if let Some(etag) = &source.if_match {
        request = request.if_match(etag);
    }
    if let Some((start, end)) = range {
        request = request.range(format!("bytes={start}-{end}"));
    }
    let sent = request
        .customize()
        .config_override(aws_sdk_s3::config::Builder::default().timeout_config(transfer_timeouts()))
        .send()
        .await;
    match sent {
        Ok(out) => Ok(out.body),
        Err(e) if e.code() == Some("PreconditionFailed") => Err(changed_or_transient(source, "its ETag changed")),
        Err(e) => Err(sdk_error(&format!("GetObject ({})", source.what), e)),
    }
}

fn changed_or_transient(source: &Source, detail: &str) -> PipelineError {
    PipelineError::Transient(format!(
        "reading the {} {}: {detail}; it may have changed while it was being read; retrying",
        source.what,
        layout::s3_uri(&source.bucket, &source.key)
    ))
}

/// The chunks of one object as a blocking reader, for the validator (run in `spawn_blocking`). The
/// first read error is kept with its kind, for the run's error.
pub(crate) struct ChunkReader {
    rx: Chunks,
    current: Bytes,
    pub error: Option<PipelineError>,
}

impl ChunkReader {
    pub fn new(rx: Chunks) -> ChunkReader {
        ChunkReader { rx, current: Bytes::new(), error: None }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => {
                    let message = e.to_string();
                    self.error = Some(e);
                    return Err(io::Error::other(message));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// What the upload task is sent: full parts, then the last bytes (any size, possibly none).
pub(crate) enum Chunk {
    Part(Vec<u8>),
    Last(Vec<u8>),
}

/// One output file under runs/.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub bucket: String,
    pub key: String,
    pub content_type: &'static str,
}

/// An output written but not yet visible: completed (or put) by [`Staged::commit`], else aborted by
/// [`Staged::discard`].
#[derive(Debug)]
pub(crate) enum Staged {
    /// Smaller than a part: one PutObject at commit.
    Small(Vec<u8>),
    Multipart {
        upload_id: String,
        parts: Vec<CompletedPart>,
    },
}

/// Starts the upload of `target`; the task ends with the staged file, or aborts what it started and
/// ends with the error when a call fails or the sender is dropped before [`Chunk::Last`].
pub(crate) fn spawn_upload(
    s3: aws_sdk_s3::Client,
    target: Target,
    streaming: Streaming,
) -> (mpsc::Sender<Chunk>, JoinHandle<Result<Staged, PipelineError>>) {
    let (tx, rx) = mpsc::channel(1);
    let task = tokio::spawn(async move {
        let mut upload = Upload { s3, target, upload_id: None, parts: Vec::new(), in_flight: VecDeque::new() };
        let result = upload.run(rx, streaming).await;
        if result.is_err() {
            upload.abort_started().await;
        }
        result
    });
    (tx, task)
}

type PartTask = JoinHandle<Result<CompletedPart, PipelineError>>;

struct Upload {
    s3: aws_sdk_s3::Client,
    target: Target,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    in_flight: VecDeque<PartTask>,
}

impl Upload {
    async fn run(&mut self, mut rx: mpsc::Receiver<Chunk>, streaming: Streaming) -> Result<Staged, PipelineError> {
        check_runs_key(&self.target.key)?;
        loop {
            match rx.recv().await {
                Some(Chunk::Part(bytes)) => {
                    if self.upload_id.is_none() {
                        self.create().await?;
                    }
                    self.send_part(bytes);
                    while self.in_flight.len() >= streaming.uploads_in_flight.max(1) {
                        self.settle_one().await?;
                    }
                }
                Some(Chunk::Last(bytes)) => {
                    let Some(upload_id) = self.upload_id.clone() else { return Ok(Staged::Small(bytes)) };
                    if !bytes.is_empty() {
                        self.send_part(bytes);
                    }
                    while !self.in_flight.is_empty() {
                        self.settle_one().await?;
                    }
                    return Ok(Staged::Multipart { upload_id, parts: std::mem::take(&mut self.parts) });
                }
                None => {
                    return Err(PipelineError::Internal(format!(
                        "the split stopped before {} was complete",
                        self.target.key
                    )));
                }
            }
        }
    }

    async fn create(&mut self) -> Result<(), PipelineError> {
        let out = self
            .s3
            .create_multipart_upload()
            .bucket(&self.target.bucket)
            .key(&self.target.key)
            .content_type(self.target.content_type)
            .send()
            .await
            .or_pipeline("CreateMultipartUpload")?;
        let id = out.upload_id.ok_or_else(|| {
            PipelineError::Internal(format!("CreateMultipartUpload of {} returned no upload id", self.target.key))
        })?;
        self.upload_id = Some(id);
        Ok(())
    }

    fn send_part(&mut self, bytes: Vec<u8>) {
        let number = (self.parts.len() + self.in_flight.len() + 1) as i32;
        let (s3, target) = (self.s3.clone(), self.target.clone());
        let upload_id = self.upload_id.clone().unwrap_or_default();
        self.in_flight.push_back(tokio::spawn(async move {
            let out = s3
                .upload_part()
                .bucket(&target.bucket)
                .key(&target.key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(bytes))
                .customize()
                .config_override(aws_sdk_s3::config::Builder::default().timeout_config(transfer_timeouts()))
                .send()
                .await
                .or_pipeline("UploadPart")?;
            Ok(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag).build())
        }));
    }

    async fn settle_one(&mut self) -> Result<(), PipelineError> {
        let Some(task) = self.in_flight.pop_front() else { return Ok(()) };
        let part = task.await.map_err(|e| PipelineError::Internal(format!("an UploadPart task failed: {e}")))??;
        self.parts.push(part);
        Ok(())
    }

    /// After a failure: waits for the parts in flight (a part still arriving after the abort could
    /// be kept), then aborts.
    async fn abort_started(&mut self) {
        while let Some(task) = self.in_flight.pop_front() {
            let _ = task.await;
        }
        if let Some(upload_id) = self.upload_id.take() {
            abort(&self.s3, &self.target, &upload_id).await;
        }
    }
}

async fn abort(s3: &aws_sdk_s3::Client, target: &Target, upload_id: &str) {
    let sent = s3.abort_multipart_upload().bucket(&target.bucket).key(&target.key).upload_id(upload_id).send().await;
    match sent {
        Ok(_) => tracing::info!(key = %target.key, "multipart upload aborted"),
        // Nothing more can be done here; the bucket's lifecycle rule aborts it within a day.
        Err(e) => {
            tracing::error!(key = %target.key, error = %sdk_error("AbortMultipartUpload", e), "could not abort the multipart upload")
        }
    }
}

impl Staged {
    /// Makes the file visible: CompleteMultipartUpload, or one PutObject.
    pub async fn commit(self, s3: &aws_sdk_s3::Client, target: &Target) -> Result<(), PipelineError> {
        check_runs_key(&target.key)?;
        match self {
            Staged::Small(bytes) => put_run_object(s3, target, ByteStream::from(bytes)).await,
            Staged::Multipart { upload_id, parts } => {
                let done = s3
                    .complete_multipart_upload()
                    .bucket(&target.bucket)
                    .key(&target.key)
                    .upload_id(&upload_id)
                    .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                    .send()
                    .await;
                match done {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let error = sdk_error("CompleteMultipartUpload", e);
                        abort(s3, target, &upload_id).await;
                        Err(error)
                    }
                }
            }
        }
    }

    /// Drops the file: aborts its multipart upload (nothing was written for a small one).
    pub async fn discard(self, s3: &aws_sdk_s3::Client, target: &Target) {
        if let Staged::Multipart { upload_id, .. } = self {
            abort(s3, target, &upload_id).await;
        }
    }
}

/// The only single-request write to S3 (the report, a small split file): refuses any key outside runs/.
pub(crate) async fn put_run_object(
    s3: &aws_sdk_s3::Client,
    target: &Target,
    body: ByteStream,
) -> Result<(), PipelineError> {
    check_runs_key(&target.key)?;
    s3.put_object()
        .bucket(&target.bucket)
        .key(&target.key)
        .content_type(target.content_type)
        .body(body)
        .customize()
        .config_override(aws_sdk_s3::config::Builder::default().timeout_config(transfer_timeouts()))
        .send()
        .await
        .or_pipeline("PutObject")?;
    Ok(())
}

/// The pipeline writes only under runs/, so the upload can never be touched.
fn check_runs_key(key: &str) -> Result<(), PipelineError> {
    if key.starts_with(layout::RUNS_PREFIX) {
        Ok(())
    } else {
        Err(PipelineError::Internal(format!("refusing to write {key}: the pipeline writes only under runs/")))
    }
}

fn transfer_timeouts() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .operation_timeout(TRANSFER_TIMEOUT)
        .operation_attempt_timeout(TRANSFER_TIMEOUT / 2)
        .build()
}
