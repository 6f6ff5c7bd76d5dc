//! Polling: how long the poll loops wait between check-status calls, so a long job costs few state
//! transitions and a finished one is noticed soon.
//!
//! A customization job with an estimate ([`Backoff::for_job`]) first waits most of its estimated training
//! time, then polls on a short ladder around the estimate (at most 5 minutes apart until twice the
//! estimate, densest where the job most likely ends), then backs off as time passes. Without an
//! estimate the wait grows with the elapsed time ([`Backoff::JOB`]).

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait, before any poll.
    pub initial_seconds: u64,
    /// Later waits are this share of the time elapsed so far (or past twice the estimate)...
    pub ratio: f64,
    /// ...at least this...
    pub min_seconds: u64,
    /// ...and at most this.
    pub max_seconds: u64,
    /// Polls before the loop gives up.
    pub max_attempts: u32,
    /// The estimated duration, 0 when there is none.
    pub estimate_seconds: u64,
}

/// Share of the estimate waited before the first poll: an estimate is a guess, and a job that ends
/// early should not sit unnoticed for long.
const FIRST_WAIT_SHARE: f64 = 0.8;
/// Around the estimate (up to twice it), polls are at most this far apart: the pipeline moves on
/// within 5 minutes of the job's end.
const LADDER_MAX_SECONDS: u64 = 300;
/// ...and at least this far apart.
const LADDER_MIN_SECONDS: u64 = 120;
/// Bedrock validates the data in the first minutes: no poll before this.
const MIN_FIRST_WAIT_SECONDS: u64 = 300;

impl Backoff {
    /// Customization jobs without an estimate take tens of minutes to days; the first minutes are data
    /// validation. 5 min first, then half the elapsed time, capped at 20 min; 300 polls cover 4 days.
    pub const JOB: Backoff = Backoff {
        initial_seconds: 300,
        ratio: 0.5,
        min_seconds: 60,
        max_seconds: 1200,
        max_attempts: 300,
        estimate_seconds: 0,
    };
    /// Throughput and deployments take minutes to about an hour.
    pub const DEPLOYMENT: Backoff = Backoff {
        initial_seconds: 60,
        ratio: 0.5,
        min_seconds: 30,
        max_seconds: 300,
        max_attempts: 60,
        estimate_seconds: 0,
    };

    /// The job loop for a job estimated to take `estimate_seconds` (none: [`Backoff::JOB`]). Its poll
    /// budget covers four times the estimate, and never less than [`Backoff::JOB`]'s four days.
    pub fn for_job(estimate_seconds: Option<u64>) -> Backoff {
        let Some(estimate) = estimate_seconds.filter(|e| *e > 0) else { return Backoff::JOB };
        let mut backoff = Backoff {
            initial_seconds: ((estimate as f64 * FIRST_WAIT_SHARE).round() as u64).max(MIN_FIRST_WAIT_SECONDS),
            estimate_seconds: estimate,
            max_attempts: u32::MAX,
            ..Backoff::JOB
        };
        let budget = backoff.polls_for(4 * estimate).max(backoff.polls_for(Backoff::JOB.covers()));
        backoff.max_attempts = budget.saturating_add(1);
        backoff
    }
    /// Teardown waiting out a throughput still Creating (delete answers ConflictException): creation
    /// takes minutes to about an hour; 24 passes cover about 1.7 hours, then the reaper takes over.
    pub const TEARDOWN: Backoff = Backoff {
        initial_seconds: 60,
        ratio: 0.5,
        min_seconds: 60,
        max_seconds: 300,
        max_attempts: 24,
        estimate_seconds: 0,
    };

    /// The wait after a poll made `elapsed_seconds` after the start.
    pub fn next_wait(&self, elapsed_seconds: u64) -> u64 {
        let estimate = self.estimate_seconds;
        if estimate > 0 && elapsed_seconds < 2 * estimate {
            // Halving the distance to the estimate: densest where the job most likely ends.
            let distance = estimate.abs_diff(elapsed_seconds) / 2;
            return distance.clamp(LADDER_MIN_SECONDS, LADDER_MAX_SECONDS);
        }
        let since = elapsed_seconds.saturating_sub(2 * estimate);
        let grown = (since as f64 * self.ratio).round() as u64;
        let floor = if estimate > 0 { LADDER_MAX_SECONDS } else { self.min_seconds };
        grown.clamp(floor, self.max_seconds)
    }

    /// Polls (check-status calls) until a job of `duration_seconds` is seen finished.
    pub fn polls_for(&self, duration_seconds: u64) -> u32 {
        let mut elapsed = self.initial_seconds;
        let mut polls = 1;
        while elapsed < duration_seconds {
            elapsed += self.next_wait(elapsed);
            polls += 1;
        }
        polls
    }

    /// When the last poll the budget allows happens: a job running longer is given up on.
    pub fn covers(&self) -> u64 {
        let mut elapsed = self.initial_seconds;
        for _ in 1..self.max_attempts {
            elapsed += self.next_wait(elapsed);
        }
        elapsed
    }

    /// How long after a job ending at `duration_seconds` its end is seen.
    pub fn lag_for(&self, duration_seconds: u64) -> u64 {
        let mut elapsed = self.initial_seconds;
        while elapsed < duration_seconds {
            elapsed += self.next_wait(elapsed);
        }
        elapsed - duration_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_hour_job_without_an_estimate_costs_few_polls() {
        let polls = Backoff::JOB.polls_for(2 * 3600);
        // Each poll is three transitions (Wait, CheckStatus, Choice).
        assert!(polls * 3 <= 60, "{polls} polls");
        assert_eq!(Backoff::JOB.next_wait(0), 60);
        assert_eq!(Backoff::JOB.next_wait(100_000), 1200);
        assert!(Backoff::JOB.covers() >= 4 * 86_400);
        assert_eq!(Backoff::for_job(None), Backoff::JOB);
        assert_eq!(Backoff::for_job(Some(0)), Backoff::JOB);
    }

    #[test]
    fn an_estimated_two_hour_job_costs_at_most_ten_polls_and_is_seen_within_five_minutes() {
        let b = Backoff::for_job(Some(7200));
        assert_eq!(b.initial_seconds, 5760);
        let polls = b.polls_for(7200);
        assert!(polls * 3 <= 30, "{polls} polls");
        assert!(b.lag_for(7200) <= 300, "{}", b.lag_for(7200));
        // Ending anywhere from well before the estimate to twice it, the end is seen within 5 minutes.
        for actual in (5760..=14_400).step_by(60) {
            assert!(b.lag_for(actual) <= 300, "{actual}: {}", b.lag_for(actual));
        }
        // Waits never exceed 5 minutes before twice the estimate, then grow to 20.
        assert!((5760..14_400).all(|t| b.next_wait(t) <= 300));
        assert_eq!(b.next_wait(100_000), 1200);
    }

    #[test]
    fn three_times_the_estimate_is_within_the_budget_and_short_estimates_still_wait_for_validation() {
        for estimate in [600, 3600, 7200, 86_400, 3 * 86_400] {
            let b = Backoff::for_job(Some(estimate));
            assert!(b.covers() >= 3 * estimate, "{estimate}: covers {}", b.covers());
            assert!(b.polls_for(3 * estimate) < b.max_attempts, "{estimate}");
            assert!(b.covers() >= Backoff::JOB.covers(), "never less patient than without an estimate");
        }
        assert_eq!(Backoff::for_job(Some(60)).initial_seconds, 300);
    }

    #[test]
    fn teardown_waits_out_an_hour_of_creating_within_its_bound() {
        // Backoff::TEARDOWN's passes: the first after a minute, then growing to five minutes.
        let mut elapsed = 0;
        for _ in 0..Backoff::TEARDOWN.max_attempts {
            elapsed += Backoff::TEARDOWN.next_wait(elapsed);
        }
        assert!((3600..3 * 3600).contains(&elapsed), "{elapsed} s");
        assert!(Backoff::TEARDOWN.polls_for(3600) <= Backoff::TEARDOWN.max_attempts);
    }
}
