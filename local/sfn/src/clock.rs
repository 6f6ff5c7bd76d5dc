//! Virtual time shared by the local-cloud emulators.
//!
//! Wait states and retry intervals move this clock forward instead of sleeping, so a two-hour
//! wait takes microseconds while every emulator that reads the same clock sees the two hours pass.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant, in milliseconds since the Unix epoch (Step Functions' own precision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
        self.to_string()
    }

    /// Parses the RFC 3339 profile ASL requires: uppercase `T`, and `Z` or a numeric offset.
    /// Fractions finer than a millisecond are truncated.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        let hour = digits(&b[11..13])?;
        let minute = digits(&b[14..16])?;
        let second = digits(&b[17..19])?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut rest = &b[19..];
        let mut millis = 0i64;
        if rest.first() == Some(&b'.') {
            let frac_len = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac_len == 0 {
                return None;
            }
            for (i, c) in rest[1..=frac_len].iter().take(3).enumerate() {
                millis += i64::from(c - b'0') * [100, 10, 1][i];
            }
            rest = &rest[1 + frac_len..];
        }
        let offset_minutes = match rest {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = digits(&[*h1, *h2])?;
                let m = digits(&[*m1, *m2])?;
                if h > 23 || m > 59 {
                    return None;
                }
                let off = h * 60 + m;
                if *sign == b'-' { -off } else { off }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
        Some(Timestamp(secs * 1000 + millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, (sod / 60) % 60, sod % 60)
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
    fn formats_and_parses_rfc3339() {
        let t = Timestamp::parse_rfc3339("2016-03-14T01:59:00Z").unwrap();
        assert_eq!(t.epoch_millis(), 1_457_920_740_000);
        assert_eq!(t.to_rfc3339(), "2016-03-14T01:59:00.000Z");
        let t = Timestamp::parse_rfc3339("2024-02-29T23:00:00.123456+01:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-02-29T21:30:00.123Z");
        assert_eq!(VirtualClock::default().now().to_rfc3339(), "2025-01-01T00:00:00.000Z");
        for bad in [
            "2016-03-14 01:59:00Z",
            "2016-03-14t01:59:00Z",
            "2016-02-30T01:59:00Z",
            "2016-03-14T01:59:00",
            "2016-03-14T01:59:00.Z",
            "nope",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn round_trips_many_days() {
        for day in (-700_000i64..2_900_000).step_by(997) {
            let t = Timestamp::from_epoch_millis(day * 86_400_000 + 12_345);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        }
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
