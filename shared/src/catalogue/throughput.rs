//! How fast a family trains: the figure the status poll's first wait is estimated from (tokens × epochs
//! over the family's throughput, plus the job's fixed overhead), and the rate the local emulator
//! trains at.
//!
//! Provenance: AWS publishes no training throughput for any family, so every figure here is
//! `unverified`: an order of magnitude from reported job durations (a few thousand short records over
//! two or three epochs finishing in well under an hour, data validation and model export taking some
//! 15–25 minutes). Calibrate from real jobs: `end_time - creation_time` of GetModelCustomizationJob
//! against the run's tokens and epochs. An estimate that is off costs only polls: the poll loop's
//! ladder (`pipeline::Backoff::for_job`) still catches a job that ends anywhere up to twice its
//! estimate within 5 minutes, and waits for four times it.

use super::{Fact, Family, Model, Provenance};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainingThroughput {
    /// Training tokens processed per second (tokens × epochs are trained).
    pub tokens_per_second: Fact<f64>,
    /// Provisioning, data validation and model export, whatever the data's size.
    pub overhead_seconds: Fact<u64>,
}

const fn unverified<T>(value: T) -> Fact<T> {
    Fact { value, provenance: Provenance::Unverified }
}

/// The figure for a family.
pub fn of_family(family: Family) -> TrainingThroughput {
    let tokens_per_second = match family {
        // Larger models train more slowly per token.
        Family::Nova | Family::Llama31 | Family::Llama32 | Family::TitanText | Family::Cohere => 400.0,
        Family::Nova2 | Family::ClaudeHaiku | Family::Llama33 => 300.0,
    };
    TrainingThroughput { tokens_per_second: unverified(tokens_per_second), overhead_seconds: unverified(20 * 60) }
}

/// Estimated seconds from the job's creation to its end: overhead plus `tokens × epochs` at the family's
/// throughput.
pub fn estimated_training_seconds(model: &Model, tokens: u64, epochs: u64) -> u64 {
    let t = of_family(model.family);
    let trained = tokens.saturating_mul(epochs.max(1)) as f64;
    t.overhead_seconds.value + (trained / t.tokens_per_second.value).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    #[test]
    fn estimates_grow_with_tokens_and_epochs_from_the_fixed_overhead() {
        let micro = catalogue::find("amazon.nova-micro-v1:0").unwrap();
        assert_eq!(estimated_training_seconds(micro, 0, 1), 1200);
        assert_eq!(estimated_training_seconds(micro, 400_000, 3), 1200 + 3000);
        for m in catalogue::all() {
            let t = of_family(m.family);
            assert!(t.tokens_per_second.value > 0.0 && t.tokens_per_second.provenance == Provenance::Unverified);
        }
    }
}
