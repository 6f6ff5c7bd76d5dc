//! State machines and their executions: what the Step Functions API reads and writes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::clock::{Timestamp, VirtualClock};
use crate::definition::Definition;
use crate::engine::{
    self, Cell, ExecutionIdentity, ExecutionSnapshot, ExecutionStatus, PAYLOAD_LIMIT_BYTES, TaskInvoker,
};
use crate::history::HistoryEvent;

/// The error names of the Step Functions API (`__type` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    StateMachineDoesNotExist,
    StateMachineAlreadyExists,
    InvalidArn,
    InvalidName,
    InvalidExecutionInput,
    InvalidDefinition,
    InvalidToken,
    ValidationException,
    SerializationException,
    UnknownOperationException,
}

impl ApiErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiErrorKind::ExecutionAlreadyExists => "ExecutionAlreadyExists",
            ApiErrorKind::ExecutionDoesNotExist => "ExecutionDoesNotExist",
            ApiErrorKind::StateMachineDoesNotExist => "StateMachineDoesNotExist",
            ApiErrorKind::StateMachineAlreadyExists => "StateMachineAlreadyExists",
            ApiErrorKind::InvalidArn => "InvalidArn",
            ApiErrorKind::InvalidName => "InvalidName",
            ApiErrorKind::InvalidExecutionInput => "InvalidExecutionInput",
            ApiErrorKind::InvalidDefinition => "InvalidDefinition",
            ApiErrorKind::InvalidToken => "InvalidToken",
            ApiErrorKind::ValidationException => "ValidationException",
            ApiErrorKind::SerializationException => "SerializationException",
            ApiErrorKind::UnknownOperationException => "UnknownOperationException",
        }
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    pub kind: ApiErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into() }
    }
}

/// Where the emulated service lives, and the seed for retry jitter.
#[derive(Clone, Debug)]
pub struct Config {
    pub region: String,
    pub account_id: String,
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { region: "us-east-1".into(), account_id: "123456789012".into(), seed: 0 }
    }
}

#[derive(Clone, Debug)]
pub struct StateMachine {
    pub name: String,
    pub arn: String,
    pub definition: Arc<Definition>,
    pub definition_text: String,
    pub role_arn: String,
    pub creation_date: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedExecution {
    pub execution_arn: String,
    pub start_date: Timestamp,
}

/// One execution as DescribeExecution shows it, with its full history.
#[derive(Clone, Debug)]
pub struct ExecutionDescription {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub snapshot: ExecutionSnapshot,
}

struct Execution {
    identity: ExecutionIdentity,
    cell: Arc<Cell>,
}

impl Execution {
    fn describe(&self) -> ExecutionDescription {
        ExecutionDescription {
            execution_arn: self.identity.execution_arn.clone(),
            state_machine_arn: self.identity.state_machine_arn.clone(),
            name: self.identity.execution_name.clone(),
            snapshot: self.cell.snapshot(),
        }
    }
}

#[derive(Default)]
struct Registry {
    machines: BTreeMap<String, Arc<StateMachine>>,
    executions: HashMap<String, Arc<Execution>>,
    /// Execution ARNs in start order, for ListExecutions.
    started: Vec<String>,
    generated_names: u64,
}

struct Inner<I> {
    invoker: Arc<I>,
    clock: VirtualClock,
    config: Config,
    registry: Mutex<Registry>,
    breakpoints: engine::Breakpoints,
}

/// The local Step Functions service: state machines, executions, and the engine that runs them
/// on tokio tasks. Cheap to clone (shared state).
pub struct StepFunctions<I> {
    inner: Arc<Inner<I>>,
}

impl<I> Clone for StepFunctions<I> {
    fn clone(&self) -> Self {
        StepFunctions { inner: Arc::clone(&self.inner) }
    }
}

/// Step Functions' rule for state machine and execution names.
fn check_name(name: &str) -> Result<(), ApiError> {
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(bad_char) {
        return Err(ApiError::new(ApiErrorKind::InvalidName, format!("Invalid Name: '{name}'")));
    }
    Ok(())
}

impl<I: TaskInvoker> StepFunctions<I> {
    pub fn new(invoker: I, clock: VirtualClock, config: Config) -> Self {
        StepFunctions {
            inner: Arc::new(Inner {
                invoker: Arc::new(invoker),
                clock,
                config,
                registry: Mutex::default(),
                breakpoints: engine::Breakpoints::default(),
            }),
        }
    }

    /// From now on, executions entering `state` pause there (after their StateEntered event) until
    /// [`StepFunctions::resume`] or StopExecution: a hook for tests and tools that must act while an
    /// execution is in a state that takes no time. Not an AWS operation.
    pub fn pause_at(&self, state: &str) {
        self.inner.breakpoints.pause_at(state);
    }

    /// Lets the executions paused at `state` go on; later ones do not pause.
    pub fn resume(&self, state: &str) {
        self.inner.breakpoints.resume(state);
    }

    /// How many executions are paused at `state` now.
    pub fn paused(&self, state: &str) -> usize {
        self.inner.breakpoints.paused(state)
    }

    /// Resolves once at least `count` executions are paused at `state`.
    pub async fn until_paused(&self, state: &str, count: usize) {
        self.inner.breakpoints.until_paused(state, count).await;
    }

    pub fn clock(&self) -> &VirtualClock {
        &self.inner.clock
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn invoker(&self) -> &I {
        &self.inner.invoker
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arn_prefix(&self) -> String {
        let c = &self.inner.config;
        format!("arn:aws:states:{}:{}", c.region, c.account_id)
    }

    /// CreateStateMachine (STANDARD). Creating the same name with the same definition and role
    /// again returns the existing ARN, as AWS does; anything else is StateMachineAlreadyExists.
    pub fn create_state_machine(&self, name: &str, definition: &str, role_arn: &str) -> Result<StateMachine, ApiError> {
        check_name(name)?;
        let parsed =
            Definition::parse(definition).map_err(|e| ApiError::new(ApiErrorKind::InvalidDefinition, e.to_string()))?;
        let arn = format!("{}:stateMachine:{name}", self.arn_prefix());
        let mut reg = self.registry();
        if let Some(existing) = reg.machines.get(&arn) {
            if existing.definition_text == definition && existing.role_arn == role_arn {
                return Ok(StateMachine::clone(existing));
            }
            return Err(ApiError::new(
                ApiErrorKind::StateMachineAlreadyExists,
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        let machine = StateMachine {
            name: name.to_string(),
            arn: arn.clone(),
            definition: Arc::new(parsed),
            definition_text: definition.to_string(),
            role_arn: role_arn.to_string(),
            creation_date: self.inner.clock.now(),
        };
        reg.machines.insert(arn, Arc::new(machine.clone()));
        Ok(machine)
    }

    pub fn describe_state_machine(&self, arn: &str) -> Result<StateMachine, ApiError> {
        self.machine(arn).map(|m| StateMachine::clone(&m))
    }

    fn machine(&self, arn: &str) -> Result<Arc<StateMachine>, ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
            return Err(ApiError::new(
                ApiErrorKind::InvalidArn,
                format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
            ));
        }
        self.registry().machines.get(arn).cloned().ok_or_else(|| {
            ApiError::new(ApiErrorKind::StateMachineDoesNotExist, format!("State Machine Does Not Exist: '{arn}'"))
        })
    }

    fn execution(&self, arn: &str) -> Result<Arc<Execution>, ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 8 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "execution" {
            return Err(ApiError::new(
                ApiErrorKind::InvalidArn,
                format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
            ));
        }
        self.registry().executions.get(arn).cloned().ok_or_else(|| {
            ApiError::new(ApiErrorKind::ExecutionDoesNotExist, format!("Execution Does Not Exist: '{arn}'"))
        })
    }

    /// StartExecution; the execution runs on a tokio task (call this inside a tokio runtime).
    ///
    /// Names are unique per state machine, for as long as this registry lives. Starting a name
    /// again with the same input (compared as JSON) while that execution is RUNNING returns it
    /// again; with another input, or once it has closed, it is ExecutionAlreadyExists. This is
    /// AWS's rule for Standard workflows (which keeps names for 90 days after they close).
    pub fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<StartedExecution, ApiError> {
        let machine = self.machine(state_machine_arn)?;
        let input_text = input.unwrap_or("{}");
        if input_text.len() > PAYLOAD_LIMIT_BYTES {
            // The API's length constraint on `input` (bytes of UTF-8), answered before anything starts.
            return Err(ApiError::new(
                ApiErrorKind::ValidationException,
                format!(
                    "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have \
                     length less than or equal to {} (it has {} bytes)",
                    PAYLOAD_LIMIT_BYTES,
                    input_text.len()
                ),
            ));
        }
        let input: Value = serde_json::from_str(input_text).map_err(|e| {
            ApiError::new(ApiErrorKind::InvalidExecutionInput, format!("Invalid State Machine Execution Input: '{e}'"))
        })?;
        let mut reg = self.registry();
        let name = match name {
            Some(n) => {
                check_name(n)?;
                n.to_string()
            }
            None => {
                reg.generated_names += 1;
                generated_name(self.inner.config.seed, reg.generated_names)
            }
        };
        let arn = format!("{}:execution:{}:{name}", self.arn_prefix(), machine.name);
        if let Some(existing) = reg.executions.get(&arn) {
            let (same, start) =
                existing.cell.with(|r| (r.status == ExecutionStatus::Running && r.input == input, r.start_date));
            if same {
                return Ok(StartedExecution { execution_arn: arn, start_date: start });
            }
            return Err(ApiError::new(
                ApiErrorKind::ExecutionAlreadyExists,
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        let identity = ExecutionIdentity {
            execution_arn: arn.clone(),
            execution_name: name,
            state_machine_arn: machine.arn.clone(),
            state_machine_name: machine.name.clone(),
            role_arn: machine.role_arn.clone(),
        };
        let start_date = self.inner.clock.now();
        let cell = Arc::new(Cell::new(start_date, input));
        let execution = Arc::new(Execution { identity: identity.clone(), cell: Arc::clone(&cell) });
        reg.executions.insert(arn.clone(), execution);
        reg.started.push(arn.clone());
        drop(reg);
        let inner = Arc::clone(&self.inner);
        let definition = Arc::clone(&machine.definition);
        tokio::spawn(async move {
            let breakpoints = Some(&inner.breakpoints);
            engine::drive(&definition, &*inner.invoker, &inner.clock, &identity, &cell, inner.config.seed, breakpoints)
                .await;
        });
        Ok(StartedExecution { execution_arn: arn, start_date })
    }

    pub fn describe_execution(&self, execution_arn: &str) -> Result<ExecutionDescription, ApiError> {
        Ok(self.execution(execution_arn)?.describe())
    }

    pub fn get_execution_history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>, ApiError> {
        Ok(self.execution(execution_arn)?.cell.with(|r| r.history.clone()))
    }

    /// StopExecution: a running execution becomes ABORTED at once (ExecutionAborted event); the
    /// engine drops its in-flight task and runs no further state. Stopping a closed execution
    /// changes nothing and returns its stop date.
    pub fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<Timestamp, ApiError> {
        let e = self.execution(execution_arn)?;
        Ok(e.cell.abort(&self.inner.clock, error.map(str::to_string), cause.map(str::to_string)))
    }

    /// ListExecutions, most recently started first.
    pub fn list_executions(
        &self,
        state_machine_arn: &str,
        status_filter: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionDescription>, ApiError> {
        self.machine(state_machine_arn)?;
        let reg = self.registry();
        Ok(reg
            .started
            .iter()
            .rev()
            .filter_map(|arn| reg.executions.get(arn))
            .filter(|e| e.identity.state_machine_arn == state_machine_arn)
            .map(|e| e.describe())
            .filter(|d| status_filter.is_none_or(|s| d.snapshot.status == s))
            .collect())
    }

    /// Waits until the execution closes (succeeded, failed, timed out or aborted).
    pub async fn wait_for_execution(&self, execution_arn: &str) -> Result<ExecutionDescription, ApiError> {
        let e = self.execution(execution_arn)?;
        e.cell.wait_done().await;
        Ok(e.describe())
    }
}

/// One execution as a long-running local cloud saves it across restarts.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SavedExecution {
    pub identity: ExecutionIdentity,
    pub record: ExecutionSnapshot,
}

impl<I: TaskInvoker> StepFunctions<I> {
    /// Every execution with its history, in start order.
    pub fn save_executions(&self) -> Vec<SavedExecution> {
        let reg = self.registry();
        reg.started
            .iter()
            .filter_map(|arn| reg.executions.get(arn))
            .map(|e| SavedExecution { identity: e.identity.clone(), record: e.cell.snapshot() })
            .collect()
    }

    /// Brings saved executions back (histories, statuses, names taken). Nothing drives them: one saved
    /// while RUNNING is closed as ABORTED with `cause` (its ARN is returned, so the caller can run
    /// what follows an abort). An ARN already known here is skipped.
    pub fn restore_executions(&self, saved: Vec<SavedExecution>, cause: &str) -> Vec<String> {
        let mut aborted = Vec::new();
        let mut reg = self.registry();
        for s in saved {
            let arn = s.identity.execution_arn.clone();
            if reg.executions.contains_key(&arn) {
                continue;
            }
            let running = s.record.status == ExecutionStatus::Running;
            let cell = Arc::new(Cell::restored(s.record));
            if running {
                cell.abort(&self.inner.clock, Some("States.Runtime".into()), Some(cause.to_string()));
                aborted.push(arn.clone());
            }
            reg.executions.insert(arn.clone(), Arc::new(Execution { identity: s.identity, cell }));
            reg.started.push(arn);
        }
        aborted
    }
}

/// A UUID-shaped name, deterministic in (seed, count), for executions started without a name.
fn generated_name(seed: u64, n: u64) -> String {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let b = mix(a ^ 0x5851_f42d_4c95_7f2d);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}
