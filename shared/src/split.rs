//! The train/validation split: a pure function of the records and a seed.
//!
//! Identical records form one group and land on one side, so the validation score is never inflated
//! by examples the model trained on. When completions are class labels the split is stratified: each
//! class keeps its share on both sides. Large continued-pre-training corpora are split by a seeded hash
//! of each record instead ([`hashed_side`]), which needs no memory and still keeps duplicates together.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Train,
    Validation,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitConfig {
    /// Share of records held out for validation, in `[0, 1)`.
    pub validation_ratio: f64,
    pub seed: u64,
    /// The model's cap on validation records (e.g. 1,000 for Claude 3 Haiku).
    pub max_validation: Option<u64>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig { validation_ratio: 0.1, seed: 42, max_validation: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Stratified,
    Shuffled,
    Hashed,
    Supplied,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Stratified => "stratified",
            Strategy::Shuffled => "shuffled",
            Strategy::Hashed => "hashed",
            Strategy::Supplied => "supplied",
        }
    }
}

/// What the split needs to know of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordKey {
    /// Equal records have equal hashes.
    pub hash: u64,
    /// Class index when completions are class labels.
    pub label: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One side per record, in input order.
    pub sides: Vec<Side>,
    pub strategy: Strategy,
    pub train: u64,
    pub validation: u64,
    pub duplicate_groups: u64,
}

/// Plans the split. `stratify` asks for per-class quotas; it applies only if every record has a label.
pub fn plan(records: &[RecordKey], stratify: bool, config: &SplitConfig) -> Plan {
    let n = records.len() as u64;
    let groups = Groups::of(records);
    let duplicate_groups = groups.size.iter().filter(|&&size| size > 1).count() as u64;
    let target = validation_target(n, config);
    let stratify = stratify && records.iter().all(|r| r.label.is_some());
    let mut rng = SplitMix64(config.seed);
    let mut sides = vec![Side::Train; records.len()];

    // Buckets of groups to draw from, each with its quota, in a deterministic order.
    let mut buckets: Vec<(Vec<usize>, u64)> = Vec::new();
    if stratify {
        let mut by_label: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (g, &first) in groups.first.iter().enumerate() {
            let label = records[first as usize].label.unwrap_or(0);
            by_label.entry(label).or_default().push(g);
        }
        // Largest-remainder quotas, so they add up to the target exactly.
        let sizes: Vec<u64> = by_label.values().map(|gs| gs.iter().map(|&g| u64::from(groups.size[g])).sum()).collect();
        let quotas = apportion(&sizes, target, n);
        buckets.extend(by_label.into_values().zip(quotas));
    } else {
        buckets.push(((0..groups.first.len()).collect(), target));
    }

    let mut validation = 0u64;
    for (mut bucket, quota) in buckets {
        shuffle(&mut bucket, &mut rng);
        let mut taken = 0u64;
        for g in bucket {
            let size = u64::from(groups.size[g]);
            if taken >= quota {
                break;
            }
            if taken + size > quota {
                // A duplicate group that would overshoot stays in training whole.
                continue;
            }
            taken += size;
            for i in groups.members(g) {
                sides[i] = Side::Validation;
            }
        }
        validation += taken;
    }
    Plan {
        sides,
        strategy: if stratify { Strategy::Stratified } else { Strategy::Shuffled },
        train: n - validation,
        validation,
        duplicate_groups,
    }
}

/// Identical records (equal hashes), grouped in order of first appearance. Each group's members are
/// chained through `next`, so that no group needs an allocation of its own: most have one member.
struct Groups {
    /// Per group: its first member, its last, and how many it has.
    first: Vec<u32>,
    last: Vec<u32>,
    size: Vec<u32>,
    /// Per record: the next member of its group, or `NONE`.
    next: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Groups {
    fn of(records: &[RecordKey]) -> Groups {
        let mut group_of: crate::PrehashedMap<u32> =
            crate::PrehashedMap::with_capacity_and_hasher(records.len(), Default::default());
        let mut groups =
            Groups { first: Vec::new(), last: Vec::new(), size: Vec::new(), next: vec![NONE; records.len()] };
        for (i, r) in records.iter().enumerate() {
            let i = i as u32;
            match group_of.entry(r.hash) {
                std::collections::hash_map::Entry::Occupied(group) => {
                    let g = *group.get() as usize;
                    groups.next[groups.last[g] as usize] = i;
                    groups.last[g] = i;
                    groups.size[g] += 1;
                }
                std::collections::hash_map::Entry::Vacant(group) => {
                    group.insert(groups.first.len() as u32);
                    groups.first.push(i);
                    groups.last.push(i);
                    groups.size.push(1);
                }
            }
        }
        groups
    }

    /// The records of group `g`, in input order.
    fn members(&self, g: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(self.first[g]), |&i| Some(self.next[i as usize]).filter(|&next| next != NONE))
            .map(|i| i as usize)
    }
}

/// Records to hold out: the ratio of `n`, rounded, at least one and leaving at least one for
/// training when the ratio is positive, within the model's cap.
fn validation_target(n: u64, config: &SplitConfig) -> u64 {
    if config.validation_ratio <= 0.0 || n < 2 {
        return 0;
    }
    let wanted = ((n as f64) * config.validation_ratio).round() as u64;
    let wanted = wanted.clamp(1, n - 1);
    config.max_validation.map_or(wanted, |cap| wanted.min(cap))
}

/// Splits `total` over buckets in proportion to their sizes (largest remainder method).
fn apportion(sizes: &[u64], total: u64, n: u64) -> Vec<u64> {
    if n == 0 {
        return vec![0; sizes.len()];
    }
    let exact: Vec<f64> = sizes.iter().map(|&s| s as f64 * total as f64 / n as f64).collect();
    let mut quotas: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut left = total - quotas.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    for i in order {
        if left == 0 {
            break;
        }
        if quotas[i] < sizes[i] {
            quotas[i] += 1;
            left -= 1;
        }
    }
    quotas
}

/// The side of one record in a streaming split: a seeded hash of its content against the ratio.
/// Identical records always get the same side.
pub fn hashed_side(hash: u64, seed: u64, validation_ratio: f64) -> Side {
    if hashed_unit(hash, seed) < validation_ratio { Side::Validation } else { Side::Train }
}

/// The seeded hash behind [`hashed_side`] as a uniform number in `[0, 1)`: a record is held out when
/// it falls below the ratio (the streamed split also ranks candidates by it under the model's cap).
pub fn hashed_unit(hash: u64, seed: u64) -> f64 {
    let mixed = SplitMix64(hash ^ seed.rotate_left(17)).next();
    // Top 53 bits.
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// A small, fast, seeded generator (SplitMix64): the split must not depend on a crate's RNG version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (((self.next() >> 32) * bound as u64) >> 32) as usize
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert_eq, proptest};
    use std::collections::HashMap;

    fn keys(n: u64) -> Vec<RecordKey> {
        (0..n).map(|i| RecordKey { hash: i * 7919 + 1, label: None }).collect()
    }

    fn config(ratio: f64, seed: u64) -> SplitConfig {
        SplitConfig { validation_ratio: ratio, seed, max_validation: None }
    }

    #[test]
    fn the_ratio_is_met_exactly_and_the_same_seed_gives_the_same_split() {
        let records = keys(1000);
        let a = plan(&records, false, &config(0.2, 7));
        assert_eq!((a.train, a.validation), (800, 200));
        assert_eq!(a.sides.iter().filter(|s| **s == Side::Validation).count(), 200);
        assert_eq!(a, plan(&records, false, &config(0.2, 7)));
        assert_ne!(a.sides, plan(&records, false, &config(0.2, 8)).sides);
        assert_eq!(a.strategy, Strategy::Shuffled);
    }

    #[test]
    fn small_sets_keep_one_record_on_each_side_and_zero_ratio_holds_nothing_out() {
        assert_eq!(plan(&keys(2), false, &config(0.01, 1)).validation, 1);
        assert_eq!(plan(&keys(2), false, &config(0.99, 1)).train, 1);
        assert_eq!(plan(&keys(50), false, &config(0.0, 1)).validation, 0);
        assert_eq!(plan(&keys(1), false, &config(0.5, 1)).validation, 0);
    }

    #[test]
    fn the_models_validation_cap_is_respected() {
        let cfg = SplitConfig { validation_ratio: 0.5, seed: 1, max_validation: Some(1000) };
        assert_eq!(plan(&keys(5000), false, &cfg).validation, 1000);
    }

    #[test]
    fn stratified_split_keeps_each_class_share() {
        let mut records = Vec::new();
        for i in 0..900u64 {
            records.push(RecordKey { hash: i, label: Some(0) });
        }
        for i in 900..1000u64 {
            records.push(RecordKey { hash: i, label: Some(1) });
        }
        let p = plan(&records, true, &config(0.2, 3));
        assert_eq!(p.strategy, Strategy::Stratified);
        let val_minority = (900..1000).filter(|&i| p.sides[i] == Side::Validation).count();
        let val_majority = (0..900).filter(|&i| p.sides[i] == Side::Validation).count();
        assert_eq!((val_majority, val_minority), (180, 20));
    }

    #[test]
    fn stratification_needs_every_label() {
        let mut records = keys(10);
        records[0].label = Some(1);
        assert_eq!(plan(&records, true, &config(0.2, 3)).strategy, Strategy::Shuffled);
    }

    #[test]
    fn hashed_side_follows_the_ratio_and_is_stable() {
        let val = (0..100_000u64).filter(|&h| hashed_side(h, 5, 0.1) == Side::Validation).count();
        assert!((9_000..11_000).contains(&val), "{val}");
        assert_eq!(hashed_side(123, 5, 0.3), hashed_side(123, 5, 0.3));
        assert!((0..1000u64).all(|h| hashed_side(h, 5, 0.0) == Side::Train));
    }

    #[test]
    fn apportion_adds_up() {
        assert_eq!(apportion(&[1, 1, 1], 2, 3).iter().sum::<u64>(), 2);
        assert_eq!(apportion(&[5, 3, 2], 3, 10), vec![1, 1, 1]);
        assert_eq!(apportion(&[8, 2], 5, 10), vec![4, 1]);
    }

    proptest! {
        #[test]
        fn duplicates_never_straddle_and_counts_add_up(
            hashes in proptest::collection::vec(0u64..40, 0..300),
            ratio in 0.0f64..0.9,
            seed in any::<u64>(),
        ) {
            let records: Vec<_> = hashes.iter().map(|&h| RecordKey { hash: h, label: Some((h % 3) as u32) }).collect();
            for stratify in [false, true] {
                let p = plan(&records, stratify, &config(ratio, seed));
                prop_assert_eq!(p.train + p.validation, records.len() as u64);
                let mut side_of: HashMap<u64, Side> = HashMap::new();
                for (r, s) in records.iter().zip(&p.sides) {
                    let first = *side_of.entry(r.hash).or_insert(*s);
                    prop_assert_eq!(first, *s);
                }
                prop_assert_eq!(&p, &plan(&records, stratify, &config(ratio, seed)));
            }
        }
    }
}
