//! What a finished job leaves behind: a deterministic, plausible loss curve and the two CSV files
//! Bedrock writes (model-customization-analyze.html), plus how long training takes in virtual time.
//!
//! The CSVs carry Bedrock's columns plus a last one Bedrock's do not have, `emulated` (always
//! `true`), so a stand-in curve copied out of the local cloud is never taken for a real one. A CSV
//! reader still parses them, and readers that pick columns by name (`shared::loss_csv`, pandas) see
//! Bedrock's columns unchanged.

use shared::loss_csv::LossKind;
use xxhash_rust::xxh3::xxh3_64;

/// Longest emulated job, in virtual milliseconds.
const MAX_DURATION_MS: i64 = 4 * 3600 * 1000;
/// Rows written to the training CSV at most; longer runs keep every k-th step.
const MAX_ROWS: u64 = 2000;

/// How long a job trains in virtual time: the catalogue's throughput figure for the family (the one the
/// pipeline's poll estimate uses; see `shared::catalogue::throughput`), times `slowdown` (a fault that
/// makes a job overrun its estimate), at most [`MAX_DURATION_MS`] unless slowed down.
pub(crate) fn training_duration_ms(
    model: &shared::catalogue::Model,
    training_tokens: u64,
    epochs: u64,
    slowdown: f64,
) -> i64 {
    let secs = shared::catalogue::throughput::estimated_training_seconds(model, training_tokens, epochs);
    let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX).min(MAX_DURATION_MS);
    (ms as f64 * slowdown.max(1.0)).round() as i64
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Row {
    pub step: u64,
    pub epoch: u64,
    pub loss: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Curves {
    pub training: Vec<Row>,
    /// One row per epoch, at the epoch's last step; empty without validation data.
    pub validation: Vec<Row>,
}

impl Curves {
    pub fn final_training_loss(&self) -> Option<f64> {
        self.training.last().map(|r| r.loss)
    }
    pub fn final_validation_loss(&self) -> Option<f64> {
        self.validation.last().map(|r| r.loss)
    }
}

/// A uniform number in [0, 1) from a seed and a counter.
fn unit(seed: u64, i: u64) -> f64 {
    let h = xxh3_64(&[seed.to_le_bytes(), i.to_le_bytes()].concat());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Exponential decay towards a floor with shrinking noise, seeded by the job name: the same job
/// always trains the same way.
pub(crate) fn curves(job_name: &str, records: u64, epochs: u64, batch_size: u64, with_validation: bool) -> Curves {
    let seed = xxh3_64(job_name.as_bytes());
    let epochs = epochs.max(1);
    let steps_per_epoch = records.max(1).div_ceil(batch_size.max(1));
    let total = steps_per_epoch * epochs;
    let start = 2.0 + 0.8 * unit(seed, 0);
    let floor = 0.2 + 0.3 * unit(seed, 1);
    let smooth = |step: u64| floor + (start - floor) * (-4.0 * step as f64 / total as f64).exp();
    let stride = total.div_ceil(MAX_ROWS).max(1);
    let training = (0..total)
        .filter(|s| s % stride == 0 || *s == total - 1)
        .map(|step| {
            let amplitude = 0.08 * (start - floor) * (-2.0 * step as f64 / total as f64).exp();
            let noise = (unit(seed, 10 + step) - 0.5) * amplitude;
            Row { step, epoch: step / steps_per_epoch, loss: (smooth(step) + noise).max(0.01) }
        })
        .collect();
    let gap = 0.05 + 0.1 * unit(seed, 2);
    let validation = if with_validation {
        (0..epochs)
            .map(|epoch| {
                let step = (epoch + 1) * steps_per_epoch - 1;
                Row { step, epoch, loss: smooth(step) + gap * (1.0 + 0.1 * epoch as f64) }
            })
            .collect()
    } else {
        Vec::new()
    };
    Curves { training, validation }
}

/// Reinforcement fine-tuning: the loss falls as the grader's reward rises, step by step (the reward
/// interpolated between its evaluation points), so the curve shows what the grader made of the answers.
pub(crate) fn shape_by_rewards(curves: &mut Curves, rewards: &[crate::reward::RewardRow]) {
    let (Some(first), Some(last)) = (curves.training.first(), curves.training.last()) else { return };
    if rewards.is_empty() {
        return;
    }
    let (start, floor) = (first.loss.max(last.loss), first.loss.min(last.loss) * 0.5);
    let reward_at = |step: u64| -> f64 {
        let after = rewards.iter().position(|r| r.step >= step).unwrap_or(rewards.len() - 1);
        let b = &rewards[after];
        if after == 0 || b.step == step {
            return b.mean_reward;
        }
        let a = &rewards[after - 1];
        let t = (step - a.step) as f64 / (b.step - a.step).max(1) as f64;
        a.mean_reward + (b.mean_reward - a.mean_reward) * t
    };
    for row in &mut curves.training {
        row.loss = floor + (start - floor) * (1.0 - reward_at(row.step).clamp(0.0, 1.0));
    }
}

/// The column that marks the emulator's files.
pub const EMULATED_COLUMN: &str = "emulated";

/// Bedrock's columns, named by `shared::loss_csv` (the reader's own names), then [`EMULATED_COLUMN`].
fn csv(kind: LossKind, rows: &[Row]) -> String {
    let mut out = String::with_capacity(40 * (rows.len() + 1));
    out.push_str(&kind.columns().join(","));
    out.push(',');
    out.push_str(EMULATED_COLUMN);
    out.push('\n');
    for r in rows {
        out.push_str(&format!("{},{},{:.6},{:.6},true\n", r.step, r.epoch, r.loss, r.loss.exp()));
    }
    out
}

pub(crate) fn training_csv(c: &Curves) -> String {
    csv(LossKind::Training, &c.training)
}

pub(crate) fn validation_csv(c: &Curves) -> String {
    csv(LossKind::Validation, &c.validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_are_deterministic_and_decrease() {
        let a = curves("job-a", 100, 3, 1, true);
        assert_eq!(a, curves("job-a", 100, 3, 1, true));
        assert_ne!(a, curves("job-b", 100, 3, 1, true));
        assert_eq!(a.training.len(), 300);
        assert_eq!(a.training[0].step, 0);
        assert_eq!(a.training[299].epoch, 2);
        let mean = |e: u64| {
            let r: Vec<f64> = a.training.iter().filter(|r| r.epoch == e).map(|r| r.loss).collect();
            r.iter().sum::<f64>() / r.len() as f64
        };
        assert!(mean(0) > mean(1) && mean(1) > mean(2));
        assert!(a.final_training_loss().unwrap() < a.training[0].loss);
        assert_eq!(a.validation.len(), 3);
        assert!(a.validation.windows(2).all(|w| w[1].loss < w[0].loss));
        assert!(curves("j", 10, 2, 1, false).validation.is_empty());
    }

    #[test]
    fn long_runs_are_sampled_and_durations_bounded() {
        let c = curves("big", 20_000, 5, 1, false);
        assert!(c.training.len() <= 2001);
        assert_eq!(c.training.last().unwrap().step, 99_999);
        let micro = shared::catalogue::find("amazon.nova-micro-v1:0").unwrap();
        assert_eq!(training_duration_ms(micro, 0, 1, 1.0), 20 * 60 * 1000);
        assert_eq!(training_duration_ms(micro, 10_000_000_000, 5, 1.0), 4 * 3600 * 1000);
        assert_eq!(training_duration_ms(micro, 400_000, 3, 3.0), 3 * (20 * 60 + 3000) * 1000);
        let csv = training_csv(&curves("j", 4, 1, 1, true));
        assert!(csv.starts_with("step_number,epoch_number,training_loss,perplexity,emulated\n0,0,"));
        assert!(csv.lines().skip(1).all(|l| l.ends_with(",true")), "{csv}");
        assert_eq!(csv.lines().count(), 5);
        // The reader the pipeline and the report use still reads Bedrock's columns.
        let series = shared::loss_csv::parse(&csv, LossKind::Training).unwrap();
        assert_eq!((series.points.len(), series.skipped.len()), (4, 0));
    }
}
