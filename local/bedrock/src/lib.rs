//! Bedrock and Bedrock Runtime for the local cloud: the control-plane operations the pipeline calls
//! and Converse / InvokeModel, over the real REST-JSON wire format, backed by a state layer that moves
//! jobs, throughputs and deployments through their real statuses over (virtual) time.
//!
//! Every model here is a deterministic stand-in, and says so: each response carries
//! `x-local-emulated: true`, runtime responses add `x-local-emulated-model: tuned:<name>` or
//! `base:<model-id>`, and deployments created without a description get [`EMULATED_DESCRIPTION`].
//! Answers themselves carry no label, so they can be scored by exact match.
//!
//! ```
//! use local_bedrock::{Config, Emulator, MemoryStore};
//! use local_sfn::VirtualClock;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let clock = VirtualClock::default();
//! let emulator = Emulator::new(MemoryStore::new(), clock.clone(), Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let endpoint = format!("http://{}", listener.local_addr().unwrap());
//! tokio::spawn(local_bedrock::serve(listener, emulator.clone()));
//! // Point AWS_ENDPOINT_URL_BEDROCK and AWS_ENDPOINT_URL_BEDROCK_RUNTIME at `endpoint`.
//! # let _ = endpoint;
//! # });
//! ```
//!
//! Faults are injected with a [`FaultSpec`] (see [`faults`] for the syntax), in [`Config::faults`]
//! or later with [`Emulator::set_faults`].

pub mod clock;
mod emulator;
pub mod error;
pub mod faults;
mod foundation;
pub mod gate;
pub mod http;
pub mod inventory;
mod jobs;
mod logs;
mod names;
pub mod persist;
mod resources;
pub mod reward;
pub mod runtime;
mod serving;
pub mod standin;
pub mod store;
pub mod tags;
mod training;
pub mod wire;

pub use clock::{Clock, SystemClock};
pub use emulator::{Config, Emulator};
pub use error::{BedrockError, ErrorKind};
pub use faults::{FaultSpec, FaultSpecError};
pub use gate::{router_enforcing, serve_enforcing};
pub use http::{router, serve};
pub use inventory::{Live, LiveKind};
pub use resources::{JobStatus, ServingStatus};
pub use reward::{RewardCaller, RewardFunction};
pub use runtime::{ConverseRequest, ConverseResponse, StandIn};
pub use store::{FsStore, MemoryStore, ObjectStore, S3Uri, StoreError};

/// The description a custom model deployment reports when its creator gave none.
pub const EMULATED_DESCRIPTION: &str = "Emulated by local-bedrock: a deterministic stand-in that answers with the completions of its nearest training examples.";
