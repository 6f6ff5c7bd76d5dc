//! Step Functions for the local cloud: an ASL engine (JSONPath flavour) that runs state machine
//! definitions against in-process tasks on a virtual clock, an executions registry, and the
//! Step Functions API over the awsJson1.0 wire protocol.

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
    ExecutionIdentity, ExecutionSnapshot, ExecutionStatus, MAX_HISTORY_EVENTS, TaskContext, TaskError, TaskInvoker,
    run_execution,
};
pub use history::{EventDetails, HistoryEvent, TaskFlavor, state_transitions, states_entered};
pub use registry::{
    ApiError, ApiErrorKind, Config, ExecutionDescription, StartedExecution, StateMachine, StepFunctions,
};
pub use substitute::{SubstitutionError, substitute_definition};
