//! What the reaper may delete: a pure decision from the resource, its run-id tag and how its run's
//! execution ended. The rules, most cautious first:
//!
//! - no run-id tag: not the pipeline's, never touched;
//! - a run id that names no execution of this stack's state machine: another stack's or a hand-made tag,
//!   never touched (the reaper proves a resource its own before deleting it);
//! - a committed throughput: cannot be deleted before its term ends, only reported;
//! - a run that ended badly (`FAILED`, `ABORTED`, `TIMED_OUT`): its throughput, deployment and custom
//!   model go — except a failed quality gate, whose deployment teardown may have kept on purpose
//!   (`keep_on_gate_failure`): that one, like a running or successful run's, only by time to live;
//! - a throughput or deployment older than the operator's time to live goes whatever its run; a custom
//!   model of a running or successful run never does (it is the run's product, billed by the month).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ProvisionedThroughput,
    Deployment,
    CustomModel,
}

/// A resource the List operations returned, with its run-id tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub kind: Kind,
    pub arn: String,
    pub created_unix: i64,
    pub commitment: Option<String>,
    /// The `finetune-run-id` tag's value (`shared::aws::RUN_ID_TAG`).
    pub run_id: Option<String>,
}

/// How the execution named by a run id stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Running,
    Succeeded,
    /// Failed at the quality gate: teardown may have kept the deployment on purpose.
    GateFailed,
    /// `FAILED`, `ABORTED` or `TIMED_OUT`.
    EndedBadly(String),
    /// This state machine has no execution of that name.
    NotOurs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delete(String),
    Keep(String),
}

pub fn decide(found: &Found, run: Option<&RunState>, now_unix: i64, ttl_seconds: Option<u64>) -> Verdict {
    let Some(run_id) = found.run_id.as_deref() else {
        return Verdict::Keep("no run-id tag: not the pipeline's".into());
    };
    let run = match run {
        None | Some(RunState::NotOurs) => {
            return Verdict::Keep(format!(
                "run id {run_id} names no execution of this stack's state machine: not ours"
            ));
        }
        Some(r) => r,
    };
    if let Some(term) = &found.commitment {
        return Verdict::Keep(format!("a {term} commitment: it cannot be deleted before the term ends"));
    }
    let serving = found.kind != Kind::CustomModel;
    if let RunState::EndedBadly(status) = run {
        return Verdict::Delete(format!("run {run_id} ended {status}"));
    }
    if let RunState::GateFailed = run
        && !serving
    {
        return Verdict::Delete(format!("run {run_id} failed its quality gate"));
    }
    let age = now_unix.saturating_sub(found.created_unix).max(0) as u64;
    match ttl_seconds {
        Some(ttl) if serving && age > ttl => {
            Verdict::Delete(format!("{} hours old, past the time to live of {} hours", age / 3600, ttl / 3600))
        }
        _ => Verdict::Keep(match run {
            RunState::Running => format!("run {run_id} is still running"),
            RunState::Succeeded => format!("run {run_id} succeeded"),
            _ => format!("run {run_id} failed its quality gate; kept until its time to live"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn found(kind: Kind, run_id: Option<&str>, age_hours: i64) -> Found {
        Found {
            kind,
            arn: "arn".into(),
            created_unix: 100 * HOUR - age_hours * HOUR,
            commitment: None,
            run_id: run_id.map(Into::into),
        }
    }

    fn deletes(v: &Verdict) -> bool {
        matches!(v, Verdict::Delete(_))
    }

    #[test]
    fn untagged_and_foreign_resources_are_never_deleted_however_old() {
        let ended = RunState::EndedBadly("ABORTED".into());
        for kind in [Kind::ProvisionedThroughput, Kind::Deployment, Kind::CustomModel] {
            let untagged = decide(&found(kind, None, 1000), Some(&ended), 100 * HOUR, Some(1));
            assert!(matches!(&untagged, Verdict::Keep(why) if why.contains("no run-id tag")), "{untagged:?}");
            let foreign = decide(&found(kind, Some("other"), 1000), Some(&RunState::NotOurs), 100 * HOUR, Some(1));
            assert!(matches!(&foreign, Verdict::Keep(why) if why.contains("not ours")), "{foreign:?}");
            assert!(!deletes(&decide(&found(kind, Some("r"), 1000), None, 100 * HOUR, Some(1))));
        }
    }

    #[test]
    fn a_run_that_ended_badly_loses_everything_it_left_except_a_committed_throughput() {
        let ended = RunState::EndedBadly("TIMED_OUT".into());
        for kind in [Kind::ProvisionedThroughput, Kind::Deployment, Kind::CustomModel] {
            let v = decide(&found(kind, Some("r"), 0), Some(&ended), 100 * HOUR, None);
            assert_eq!(v, Verdict::Delete("run r ended TIMED_OUT".into()));
        }
        let committed =
            Found { commitment: Some("OneMonth".into()), ..found(Kind::ProvisionedThroughput, Some("r"), 0) };
        assert!(!deletes(&decide(&committed, Some(&ended), 100 * HOUR, Some(1))));
    }

    #[test]
    fn running_successful_and_gate_failed_runs_keep_their_deployment_until_its_time_to_live() {
        for run in [RunState::Running, RunState::Succeeded, RunState::GateFailed] {
            let young =
                decide(&found(Kind::ProvisionedThroughput, Some("r"), 2), Some(&run), 100 * HOUR, Some(24 * 3600));
            assert!(!deletes(&young), "{run:?}: {young:?}");
            let old = decide(&found(Kind::Deployment, Some("r"), 25), Some(&run), 100 * HOUR, Some(24 * 3600));
            assert!(
                matches!(&old, Verdict::Delete(why) if why.contains("past the time to live of 24 hours")),
                "{old:?}"
            );
            let no_ttl = decide(&found(Kind::Deployment, Some("r"), 2500), Some(&run), 100 * HOUR, None);
            assert!(!deletes(&no_ttl), "{run:?}");
        }
        // The product of a run is not a throughput: time alone never deletes a custom model.
        for run in [RunState::Running, RunState::Succeeded] {
            assert!(!deletes(&decide(&found(Kind::CustomModel, Some("r"), 2500), Some(&run), 100 * HOUR, Some(1))));
        }
        let gate = decide(&found(Kind::CustomModel, Some("r"), 0), Some(&RunState::GateFailed), 100 * HOUR, None);
        assert!(deletes(&gate), "{gate:?}");
    }
}
