//! CreateModelCustomizationJob reads and validates its data without holding the emulator's state lock,
//! and judges the state again when it commits: a name taken or a token used meanwhile is answered as it
//! would have been had the other request come first.

mod common;

use common::*;
use local_bedrock::wire::CreateModelCustomizationJobRequest;
use local_bedrock::{BedrockError, Config, Emulator, ErrorKind, MemoryStore, ObjectStore, StoreError};
use local_sfn::VirtualClock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);

/// A store whose first read of the training data waits until the test lets it go on: a create paused
/// in the middle of reading its dataset.
struct PausingStore {
    inner: MemoryStore,
    armed: AtomicBool,
    paused: Mutex<Sender<()>>,
    resume: Mutex<Receiver<()>>,
}

impl ObjectStore for PausingStore {
    fn exists(&self, bucket: &str, key: &str) -> bool {
        self.inner.exists(bucket, key)
    }
    fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        if key == TRAIN && self.armed.swap(false, Ordering::SeqCst) {
            self.paused.lock().unwrap().send(()).unwrap();
            self.resume.lock().unwrap().recv_timeout(PATIENCE).expect("the test resumes the paused read");
        }
        self.inner.get(bucket, key)
    }
    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.put(bucket, key, bytes)
    }
    fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.inner.list(bucket, prefix)
    }
}

struct Paused {
    emulator: Emulator,
    paused: Receiver<()>,
    resume: Sender<()>,
}

fn pausing_emulator() -> Paused {
    let (paused_tx, paused) = channel();
    let (resume, resume_rx) = channel();
    let store = PausingStore {
        inner: seeded_store(),
        armed: AtomicBool::new(true),
        paused: Mutex::new(paused_tx),
        resume: Mutex::new(resume_rx),
    };
    Paused { emulator: Emulator::new(Arc::new(store), VirtualClock::default(), Config::default()), paused, resume }
}

type Created = Result<String, BedrockError>;

fn create_in_background(emulator: &Emulator, request: CreateModelCustomizationJobRequest) -> JoinHandle<Created> {
    let emulator = emulator.clone();
    std::thread::spawn(move || emulator.create_model_customization_job(request).map(|r| r.job_arn))
}

/// Runs `call` on another thread and fails the test if it does not return in time (a held lock).
fn promptly<T: Send + 'static>(what: &str, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("{what} waited for the state lock"))
}

#[test]
fn other_calls_go_on_while_a_create_reads_its_data_and_a_name_taken_meanwhile_is_refused() {
    let Paused { emulator, paused, resume } = pausing_emulator();
    let first = create_in_background(&emulator, job_request("ft-race", Some("token-first")));
    paused.recv_timeout(PATIENCE).expect("the first create reads its data");

    let reader = emulator.clone();
    let listed =
        promptly("ListModelCustomizationJobs", move || reader.list_model_customization_jobs(&Default::default()));
    assert!(listed.unwrap().model_customization_job_summaries.is_empty(), "nothing is committed yet");
    let writer = emulator.clone();
    let second = promptly("a second create", move || {
        writer.create_model_customization_job(job_request("ft-race", Some("token-second")))
    });
    let second_arn = second.expect("the second create commits first").job_arn;

    resume.send(()).unwrap();
    let err = first.join().unwrap().expect_err("the name was taken while the first validated");
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(err.message.contains("currently in use"), "{}", err.message);
    let jobs = emulator.list_model_customization_jobs(&Default::default()).unwrap().model_customization_job_summaries;
    assert_eq!(jobs.iter().map(|j| j.job_arn.as_str()).collect::<Vec<_>>(), [second_arn.as_str()]);
}

#[test]
fn the_same_token_committed_meanwhile_returns_that_job() {
    let Paused { emulator, paused, resume } = pausing_emulator();
    let first = create_in_background(&emulator, job_request("ft-retry", Some("token-same")));
    paused.recv_timeout(PATIENCE).expect("the first create reads its data");
    let writer = emulator.clone();
    let retry = promptly("the retried create", move || {
        writer.create_model_customization_job(job_request("ft-retry", Some("token-same")))
    });
    let retry_arn = retry.unwrap().job_arn;

    resume.send(()).unwrap();
    assert_eq!(first.join().unwrap().unwrap(), retry_arn, "one job for one token");
    let jobs = emulator.list_model_customization_jobs(&Default::default()).unwrap().model_customization_job_summaries;
    assert_eq!(jobs.len(), 1);
}
