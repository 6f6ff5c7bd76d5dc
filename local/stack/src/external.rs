//! The Lambda Invoke API as an engine outside this process sees it, when that engine cannot wait in
//! virtual time. Our own engine's Wait states move the virtual clock the Bedrock emulator runs on; an
//! external engine (aws-local-stepfunctions, in the cross-check) either waits in real time — hours for
//! a training job — or skips its Waits, and then no virtual time passes between polls and the job never
//! finishes. This stand-in does what the skipped Wait would have done: before each check-status call
//! it moves the clock by the wait the machine asked for (`WaitForJob` and `WaitForDeployment` wait
//! `$.job.status.next_wait_seconds` and `$.deployment.status.next_wait_seconds`, and check-status
//! receives exactly that reference). Opt-in through `Options::advance_clock_on_poll`; the handlers and
//! the definition are the same either way.

use crate::functions::Lambdas;
use local_cloud::{FunctionError, Functions};
use local_sfn::VirtualClock;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub struct AdvanceOnPoll {
    pub lambdas: Arc<Lambdas>,
    pub clock: VirtualClock,
}

/// The wait a poll loop's Wait state took before this check-status input, if it is one.
pub fn poll_wait(function_name: &str, payload: &Value) -> Option<Duration> {
    if function_name != "check-status" {
        return None;
    }
    let target = payload.get("target")?.as_str()?;
    let seconds = payload.get(target)?.pointer("/status/next_wait_seconds")?.as_u64()?;
    Some(Duration::from_secs(seconds))
}

impl Functions for AdvanceOnPoll {
    fn contains(&self, function_name: &str) -> bool {
        self.lambdas.contains(function_name)
    }

    fn invoke(&self, function_name: &str, payload: Value) -> impl Future<Output = Result<Value, FunctionError>> + Send {
        if let Some(wait) = poll_wait(function_name, &payload) {
            self.clock.advance(wait);
        }
        self.lambdas.invoke(function_name, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_check_status_inputs_carry_a_wait() {
        let job = json!({"target": "job", "job": {"status": {"next_wait_seconds": 300}}});
        assert_eq!(poll_wait("check-status", &job), Some(Duration::from_secs(300)));
        let deployment = json!({"target": "deployment", "deployment": {"status": {"next_wait_seconds": 60}}});
        assert_eq!(poll_wait("check-status", &deployment), Some(Duration::from_secs(60)));
        assert_eq!(poll_wait("start-job", &job), None);
        assert_eq!(poll_wait("check-status", &json!({"target": "job"})), None);
    }
}
