//! The clock port: every status is computed from "now" as this port reports it.

use std::sync::Arc;

/// Milliseconds since the Unix epoch. The emulator never reads the system clock itself, so a
/// [`local_sfn::VirtualClock`] shared with the Step Functions engine makes a two-hour training job
/// end after two virtual hours.
pub trait Clock: Send + Sync {
    fn now_millis(&self) -> i64;
}

impl Clock for local_sfn::VirtualClock {
    fn now_millis(&self) -> i64 {
        self.now().epoch_millis()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}

/// The wall clock, for a long-running emulator driven by real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        local_sfn::Timestamp::system_now().epoch_millis()
    }
}

/// ISO 8601 with milliseconds, the control plane's `timestampFormat: iso8601`.
pub(crate) fn iso(millis: i64) -> String {
    shared::aws::rfc3339_millis(millis)
}
