#![allow(dead_code)]

use std::sync::Mutex;

use local_sfn::{
    Definition, ExecutionIdentity, ExecutionSnapshot, TaskContext, TaskError, TaskInvoker, VirtualClock, run_execution,
};
use serde_json::Value;

pub const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:work";

#[derive(Clone, Debug)]
pub struct Call {
    pub resource: String,
    pub input: Value,
    pub state: String,
    pub retry_count: u32,
}

type Behaviour = dyn Fn(&str, &Value, &TaskContext, usize) -> Result<Value, TaskError> + Send + Sync;

/// A task invoker driven by a closure that sees (resource, input, context, call number).
pub struct Script {
    behaviour: Box<Behaviour>,
    pub calls: Mutex<Vec<Call>>,
}

impl Script {
    pub fn new(
        f: impl Fn(&str, &Value, &TaskContext, usize) -> Result<Value, TaskError> + Send + Sync + 'static,
    ) -> Self {
        Script { behaviour: Box::new(f), calls: Mutex::new(Vec::new()) }
    }

    /// Returns its input unchanged.
    pub fn echo() -> Self {
        Self::new(|_, input, _, _| Ok(input.clone()))
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl TaskInvoker for Script {
    async fn invoke(&self, resource: &str, input: Value, ctx: &TaskContext) -> Result<Value, TaskError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Call {
                resource: resource.to_string(),
                input: input.clone(),
                state: ctx.state_name.clone(),
                retry_count: ctx.retry_count,
            });
            calls.len() - 1
        };
        (self.behaviour)(resource, &input, ctx, n)
    }
}

pub fn def(json: Value) -> Definition {
    Definition::parse(&json.to_string()).unwrap_or_else(|e| panic!("definition refused: {e}"))
}

pub async fn run(definition: &Definition, script: &Script, clock: &VirtualClock, input: Value) -> ExecutionSnapshot {
    run_execution(definition, script, clock, &ExecutionIdentity::local("machine", "exec-1"), input, 7).await
}

/// Seconds of virtual time since the clock's default start.
pub fn elapsed(clock: &VirtualClock) -> f64 {
    clock.now().duration_since(VirtualClock::default().now()).as_secs_f64()
}

/// An invoker whose `...:function:slow` calls block until `release`; every other resource echoes.
#[derive(Default)]
pub struct Gate {
    pub started: tokio::sync::Notify,
    pub open: tokio::sync::Notify,
    pub finished: std::sync::atomic::AtomicUsize,
}

pub const SLOW: &str = "arn:aws:lambda:us-east-1:123456789012:function:slow";

impl Gate {
    pub fn release(&self) {
        self.open.notify_waiters();
    }
}

impl TaskInvoker for Gate {
    async fn invoke(&self, resource: &str, input: Value, _ctx: &TaskContext) -> Result<Value, TaskError> {
        if resource == SLOW {
            let opened = self.open.notified();
            self.started.notify_one();
            opened.await;
            self.finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Ok(serde_json::json!({"late": true}));
        }
        Ok(input)
    }
}

/// Work, then (for `slow` machines) a blocking task, then a Pass.
pub fn gate_definition(resource: &str) -> String {
    serde_json::json!({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": resource, "ResultPath": "$.work", "Next": "After"},
            "After": {"Type": "Pass", "Result": "after", "ResultPath": "$.after", "End": true}
        }
    })
    .to_string()
}
