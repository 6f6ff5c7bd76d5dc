//! Virtual time shared by the local-cloud emulators.
//!
//! Wait states and retry intervals move this clock forward instead of sleeping, so a two-hour
//! wait takes microseconds while every emulator that reads the same clock sees the two hours pass.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant, in milliseconds since the Unix epoch (Step Functions' own precision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_epoch_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn epoch_millis(self) -> i64 {
        self.0
    }

    /// Epoch seconds with a fraction: how the awsJson protocol encodes timestamps.
    pub fn epoch_seconds_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// The wall clock, truncated to milliseconds.
    pub fn system_now() -> Self {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// `2024-01-02T03:04:05.678Z`, the form Step Functions uses in the context object.
    pub fn to_rfc3339(self) -> String {
        shared::aws::rfc3339_millis(self.0)
    }

    /// Parses the RFC 3339 profile ASL requires: uppercase `T`, and `Z` or a numeric offset.
    /// Fractions finer than a millisecond are truncated.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        shared::aws::parse_rfc3339(s).map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    millis: Arc<AtomicI64>,
}

impl VirtualClock {
    pub fn new(start: Timestamp) -> Self {
        VirtualClock { millis: Arc::new(AtomicI64::new(start.0)) }
    }

    /// A virtual clock that starts at the wall clock's current time.
    pub fn starting_now() -> Self {
        Self::new(Timestamp::system_now())
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }

    /// Moves time forward by `d`; returns the new time.
    pub fn advance(&self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.millis.fetch_add(ms, Ordering::SeqCst).saturating_add(ms))
    }

    /// Moves time forward to `t` unless it is already later; returns the new time.
    ///
    /// Waits use this rather than `advance`, so two executions waiting side by side for ten
    /// minutes each end after ten minutes, not twenty.
    pub fn advance_to(&self, t: Timestamp) -> Timestamp {
        let prev = self.millis.fetch_max(t.0, Ordering::SeqCst);
        Timestamp(prev.max(t.0))
    }
}

impl Default for VirtualClock {
    /// Starts at 2025-01-01T00:00:00Z so that runs are reproducible.
    fn default() -> Self {
        Self::new(Timestamp(1_735_689_600_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_and_read_as_step_functions_does() {
        // The format itself is shared::aws's (and tested there); this is the wrapper.
        let t = Timestamp::parse_rfc3339("2016-03-14T01:59:00Z").unwrap();
        assert_eq!(t.epoch_millis(), 1_457_920_740_000);
        assert_eq!(
            (t.to_rfc3339(), t.to_string()),
            ("2016-03-14T01:59:00.000Z".into(), "2016-03-14T01:59:00.000Z".into())
        );
        assert_eq!(VirtualClock::default().now().to_rfc3339(), "2025-01-01T00:00:00.000Z");
        assert!(Timestamp::parse_rfc3339("2016-03-14 01:59:00Z").is_none());
    }

    #[test]
    fn clones_share_time_and_advance_to_never_goes_back() {
        let c = VirtualClock::default();
        let c2 = c.clone();
        let t0 = c.now();
        c.advance(Duration::from_secs(7200));
        assert_eq!(c2.now().duration_since(t0), Duration::from_secs(7200));
        c2.advance_to(t0);
        assert_eq!(c.now().duration_since(t0), Duration::from_secs(7200));
    }
}
