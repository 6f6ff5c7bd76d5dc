//! Step Functions for the local cloud: an ASL engine (JSONPath flavour) that runs state machine
//! definitions against in-process tasks on a virtual clock, an executions registry, and the
//! Step Functions API over the awsJson1.0 wire protocol.
//!
//! ```
//! use local_sfn::{Config, StepFunctions, TaskContext, TaskError, TaskInvoker, VirtualClock};
//! use serde_json::{Value, json};
//!
//! struct Lambdas;
//! impl TaskInvoker for Lambdas {
//!     async fn invoke(&self, resource: &str, input: Value, _ctx: &TaskContext) -> Result<Value, TaskError> {
//!         match resource {
//!             r if r.ends_with(":function:check") => Ok(json!({"status": "Completed"})),
//!             other => Err(TaskError::new("NotFound", format!("no handler for {other}"))),
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let definition = r#"{"StartAt": "Wait", "States": {
//!     "Wait": {"Type": "Wait", "Seconds": 7200, "Next": "Check"},
//!     "Check": {"Type": "Task", "Resource": "${CheckArn}", "End": true}}}"#;
//! let values = [("CheckArn".to_string(), "arn:aws:lambda:us-east-1:123456789012:function:check".to_string())];
//! let definition = local_sfn::substitute_definition(definition, &values.into_iter().collect()).unwrap();
//!
//! let clock = VirtualClock::default();
//! let sfn = StepFunctions::new(Lambdas, clock.clone(), Config::default());
//! let machine = sfn.create_state_machine("pipeline", &definition, "arn:aws:iam::123456789012:role/r").unwrap();
//! let run = sfn.start_execution(&machine.arn, Some("run-1"), Some("{}")).unwrap();
//! let done = sfn.wait_for_execution(&run.execution_arn).await.unwrap();
//! assert_eq!(done.snapshot.output, Some(json!({"status": "Completed"})));
//! assert_eq!(clock.now().duration_since(run.start_date).as_secs(), 7200); // virtual: no sleep
//!
//! // The same service over HTTP, for the AWS SDK (endpoint_url = http://{addr}).
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let addr = listener.local_addr().unwrap();
//! tokio::spawn(local_sfn::api::serve(listener, sfn.clone()));
//! # let _ = addr;
//! # });
//! ```

pub mod api;
mod choice;
pub mod clock;
mod definition;
mod engine;
pub mod history;
mod intrinsics;
mod path;
mod registry;
mod substitute;
mod template;

pub use clock::{Timestamp, VirtualClock};
pub use definition::{Definition, LoadError, StateType};
pub use engine::{
    DATA_LIMIT_EXCEEDED, ExecutionIdentity, ExecutionSnapshot, ExecutionStatus, MAX_HISTORY_EVENTS,
    PAYLOAD_LIMIT_BYTES, TaskContext, TaskError, TaskInvoker, run_execution,
};
pub use history::{EventDetails, HistoryEvent, TaskFlavor, state_transitions, states_entered};
pub use registry::{
    ApiError, ApiErrorKind, Config, ExecutionDescription, SavedExecution, StartedExecution, StateMachine, StepFunctions,
};
pub use substitute::{SubstitutionError, substitute_definition};
