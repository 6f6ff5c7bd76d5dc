//! Polling: a backoff that grows with elapsed time, so a long job costs few state transitions.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait, before any poll.
    pub initial_seconds: u64,
    /// Later waits are this share of the time elapsed so far...
    pub ratio: f64,
    /// ...at least this...
    pub min_seconds: u64,
    /// ...and at most this.
    pub max_seconds: u64,
    /// Polls before the loop gives up.
    pub max_attempts: u32,
}

impl Backoff {
    /// Customization jobs take tens of minutes to days; the first minutes are data validation.
    /// 5 min first, then half the elapsed time, capped at 20 min; 300 polls cover 4 days.
    pub const JOB: Backoff =
        Backoff { initial_seconds: 300, ratio: 0.5, min_seconds: 60, max_seconds: 1200, max_attempts: 300 };
    /// Throughput and deployments take minutes to about an hour.
    pub const DEPLOYMENT: Backoff =
        Backoff { initial_seconds: 60, ratio: 0.5, min_seconds: 30, max_seconds: 300, max_attempts: 60 };
    /// Teardown waiting out a throughput still Creating (delete answers ConflictException): creation
    /// takes minutes to about an hour; 24 passes cover about 1.7 hours, then the reaper takes over.
    pub const TEARDOWN: Backoff =
        Backoff { initial_seconds: 60, ratio: 0.5, min_seconds: 60, max_seconds: 300, max_attempts: 24 };

    /// The wait after a poll made `elapsed_seconds` after the start.
    pub fn next_wait(&self, elapsed_seconds: u64) -> u64 {
        let grown = (elapsed_seconds as f64 * self.ratio).round() as u64;
        grown.clamp(self.min_seconds, self.max_seconds)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_hour_job_costs_few_polls() {
        let polls = Backoff::JOB.polls_for(2 * 3600);
        // Each poll is three transitions (Wait, CheckStatus, Choice).
        assert!(polls * 3 <= 60, "{polls} polls");
        assert_eq!(Backoff::JOB.next_wait(0), 60);
        assert_eq!(Backoff::JOB.next_wait(100_000), 1200);
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
