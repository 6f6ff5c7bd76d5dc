//! The clock port: handlers take "now" from here, never from the system clock directly, because the
//! local cloud runs them on a virtual clock.

use shared::aws;
use shared::pipeline::PipelineError;
use std::time::{Duration, SystemTime};

pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The real clock (Lambda).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that says what it is told (tests, replays).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl FixedClock {
    pub fn at_unix(seconds: u64) -> FixedClock {
        FixedClock(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// `2026-01-02T03:04:05Z` (whole seconds, UTC; a time before 1970 is written as 1970).
pub fn format_rfc3339(time: SystemTime) -> String {
    let seconds = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    aws::rfc3339_seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// Parses RFC 3339 (`Z` or an offset, optional fractional seconds; see [`shared::aws::parse_rfc3339`]).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, PipelineError> {
    let millis = aws::parse_rfc3339(text.trim())
        .ok_or_else(|| PipelineError::Internal(format!("`{text}` is not an RFC 3339 time")))?;
    let offset = Duration::from_millis(millis.unsigned_abs());
    let time = if millis >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(offset)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(offset)
    };
    time.ok_or_else(|| PipelineError::Internal(format!("`{text}` is out of range")))
}

/// Whole seconds from `started_at` (RFC 3339) to `now`; 0 when the start is in the future.
pub fn elapsed_seconds(started_at: &str, now: SystemTime) -> Result<u64, PipelineError> {
    let start = parse_rfc3339(started_at)?;
    Ok(now.duration_since(start).map(|d| d.as_secs()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_accepts_offsets_and_fractions() {
        let t = FixedClock::at_unix(1_767_323_045).now();
        let text = format_rfc3339(t);
        assert_eq!(text, "2026-01-02T03:04:05Z");
        assert_eq!(parse_rfc3339(&text).unwrap(), t);
        assert_eq!(parse_rfc3339("2026-01-02T04:04:05+01:00").unwrap(), t);
        assert_eq!(format_rfc3339(t + Duration::from_millis(700)), text);
        assert!(parse_rfc3339("2026-01-02T03:04:05.250Z").is_ok());
        assert!(matches!(parse_rfc3339("yesterday"), Err(PipelineError::Internal(_))));
    }

    #[test]
    fn elapsed_is_whole_seconds_and_never_negative() {
        let clock = FixedClock::at_unix(1_767_323_045 + 90);
        assert_eq!(elapsed_seconds("2026-01-02T03:04:05Z", clock.now()).unwrap(), 90);
        assert_eq!(elapsed_seconds("2027-01-01T00:00:00Z", clock.now()).unwrap(), 0);
    }
}
