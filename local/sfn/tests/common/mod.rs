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
