//! Waiting out what cannot be deleted yet. A provisioned throughput still `Creating` answers a delete
//! with ConflictException and bills from the moment it exists, so teardown must come back for it:
//! from Finalize, the state machine waits (`WaitForTeardown`, `Backoff::TEARDOWN`) and runs Finalize
//! again, a bounded number of times; from an execution event nothing can wait, so the summary says what
//! is left and the scheduled reaper deletes it once it settles.

use crate::actions::Done;
use shared::pipeline::{Backoff, TeardownProgress};

/// Where teardown runs from, for what it can do about a pending deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Finalize: the state machine can wait and call again.
    Finalize,
    /// The EventBridge rule: one call, nothing waits.
    Event,
}

/// The loop's next step, from the previous pass's progress and what this pass could not delete. What
/// the loop gives up on moves to `done.failures` (the summary lists it for a person) and sets
/// `incomplete`.
pub fn progress(previous: Option<&TeardownProgress>, entry: Entry, done: &mut Done) -> TeardownProgress {
    let previous = previous.cloned().unwrap_or_default();
    let elapsed_seconds = previous.elapsed_seconds + previous.next_wait_seconds;
    let pending = std::mem::take(&mut done.pending);
    if pending.is_empty() {
        return TeardownProgress { attempt: previous.attempt, elapsed_seconds, ..TeardownProgress::default() };
    }
    let attempt = previous.attempt + 1;
    let bound = Backoff::TEARDOWN;
    if entry == Entry::Finalize && attempt <= bound.max_attempts {
        let next_wait_seconds = if attempt == 1 { bound.initial_seconds } else { bound.next_wait(elapsed_seconds) };
        return TeardownProgress { pending, attempt, next_wait_seconds, elapsed_seconds, incomplete: None };
    }
    let why = match entry {
        Entry::Finalize => format!("still cannot be deleted after {attempt} tries over {elapsed_seconds} seconds"),
        Entry::Event => "could not be deleted yet when the execution ended, and nothing waits for it".to_string(),
    };
    for id in &pending {
        done.failures.push(format!(
            "{id} {why}: it bills until deleted; the reaper deletes it once it settles (or delete it by hand)"
        ));
    }
    TeardownProgress {
        pending: Vec::new(),
        attempt,
        next_wait_seconds: 0,
        elapsed_seconds,
        incomplete: Some(format!("{} {why}; left to the reaper", pending.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(id: &str) -> Done {
        Done { pending: vec![id.to_string()], ..Done::default() }
    }

    #[test]
    fn finalize_waits_with_a_growing_bounded_backoff_then_gives_up_to_the_reaper() {
        let mut progress: Option<TeardownProgress> = None;
        let mut waits = Vec::new();
        for _ in 0..Backoff::TEARDOWN.max_attempts {
            let mut done = busy("pt-1");
            let next = super::progress(progress.as_ref(), Entry::Finalize, &mut done);
            assert_eq!(next.pending, ["pt-1"]);
            assert!(next.incomplete.is_none() && done.failures.is_empty());
            waits.push(next.next_wait_seconds);
            progress = Some(next);
        }
        assert_eq!(waits[0], Backoff::TEARDOWN.initial_seconds);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), Backoff::TEARDOWN.max_seconds);

        let mut done = busy("pt-1");
        let last = super::progress(progress.as_ref(), Entry::Finalize, &mut done);
        assert!(last.pending.is_empty(), "the loop ends");
        let why = last.incomplete.expect("incomplete");
        assert!(why.starts_with("pt-1 still cannot be deleted after 25 tries over"), "{why}");
        assert_eq!(done.failures.len(), 1);
        assert!(done.failures[0].contains("the reaper deletes it"), "{:?}", done.failures);
    }

    #[test]
    fn nothing_pending_ends_the_loop_and_the_event_entry_never_waits() {
        let earlier =
            TeardownProgress { pending: vec!["pt-1".into()], attempt: 3, next_wait_seconds: 60, ..Default::default() };
        let settled = progress(Some(&earlier), Entry::Finalize, &mut Done::default());
        assert!(settled.pending.is_empty() && settled.incomplete.is_none());
        assert_eq!((settled.attempt, settled.elapsed_seconds), (3, 60));

        let mut done = busy("pt-2");
        let event = progress(None, Entry::Event, &mut done);
        assert!(event.pending.is_empty());
        assert!(event.incomplete.as_deref().unwrap().contains("nothing waits for it"), "{event:?}");
        assert_eq!(done.failures.len(), 1);
    }
}
