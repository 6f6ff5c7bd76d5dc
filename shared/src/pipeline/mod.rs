//! The pipeline's contract: the documents its steps pass to each other through the state machine, the
//! S3 layout of a run, run ids, the effective configuration, the error names Step Functions retries or
//! catches, and the polling backoff. One file per concern:
//!
//! - `error.rs`: [`PipelineError`], the `error_type` names the state machine's Retry and Catch match
//! - `layout.rs`: [`layout`], where a run reads and writes in S3
//! - `config.rs`: [`PipelineConfig`], merged from defaults, sidecar and execution input, and its check
//! - `caps.rs`: [`Caps`], the operator's limits on what a sidecar or execution input may ask for
//! - `run_id.rs`: [`run_id`] and the Bedrock [`names`] derived from it
//! - `documents.rs`: the execution input, each step's output and the [`RunDocument`] they build up
//! - `backoff.rs`: [`Backoff`], how long the poll loops wait
//!
//! The state machine (statemachine/pipeline.asl.json) only moves these documents around with JSONPath;
//! a contract test checks that every path it uses exists in their serialized form.

mod backoff;
mod caps;
mod config;
mod documents;
mod error;
pub mod layout;
mod run_id;
mod settle;

pub use backoff::Backoff;
pub use caps::{CapSetting, Caps, MAX_UPLOADER_TAGS, OPERATOR_ONLY, clip};
pub use config::{
    ConfigProblem, DeploymentMode, EvaluationConfig, InvocationLogsOptions, MAX_EVALUATION_TOKENS, Metric,
    PipelineConfig, TrainingSource, VpcConfig, config_invalid,
};
pub use documents::{
    CaughtError, CheckStatusRequest, CheckStatusResponse, ClassScores, DeploymentRef, EvaluationResult,
    FinalizeRequest, GateVerdict, JobRef, LastSuccess, ModelScores, Outcome, PollState, PollStatus, PreparedData,
    PreparedRun, RunDocument, StartRequest, TeardownProgress, TeardownResult, Unchanged, UnchangedRun, ValidateRequest,
};
pub use error::PipelineError;
pub use run_id::{DatasetSource, fingerprint, names, run_id_for_execution, upload_execution_name};
pub use settle::MAX_NAME_PREFIX;
