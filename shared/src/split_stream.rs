//! The split in one pass with bounded memory, for datasets far larger than memory or disk (Bedrock
//! takes training files up to 10 GB): each validated record is sent to a side as it arrives, and the
//! sides leave as parts of `part_size` bytes through a [`PartSink`] (validate-split uploads each part
//! of an S3 multipart upload as it is made).
//!
//! **Sides.** A record's side comes from a seeded hash of its content ([`split::hashed_unit`], the
//! same function as [`split::hashed_side`]): identical records have one hash, so copies of a record
//! can never straddle the two sides, and the same data and seed always give the same split. The
//! validation share is the ratio in expectation (not rounded to an exact count as the in-memory
//! [`split::plan`] does).
//!
//! **Stratification.** The hash does not depend on the class label, so within every class each record
//! is held out with the same probability: each class keeps its share of both sides in expectation,
//! which is what the in-memory split's per-class quotas guarantee exactly. No per-class state is kept.
//!
//! **The model's cap on validation records** (e.g. 1,000 for Claude 3 Haiku): records whose hash
//! falls below the ratio are validation candidates; at most `cap` of them are held in memory, keyed by
//! their hash value. When one more arrives, the candidates with the highest value (all copies of one
//! record share it) go to training together, and from then on every record at or above that value
//! goes to training directly, so a later copy follows its group. The held records are written to the
//! validation side, in input order, when the dataset ends. Memory: at most `cap` records beyond the
//! parts in flight; without a cap nothing is held.
//!
//! **At least one validation record.** A small dataset (one that fits in a single part) could, by the
//! hash alone, hold out nothing, and a run without a validation split cannot be evaluated after it
//! has trained. So while the train side is still one unsent part, the split remembers where each
//! record lies in it; if the dataset ends with nothing held out (and a ratio above 0), the group with
//! the lowest hash value (all its copies) moves to validation, as long as another group still trains.
//!
//! **Grader spec.** A reinforcement fine-tuning run's spec is embedded in every record as it is
//! written ([`grader::embed_in_record`]); a record that cannot carry it stops the output (the run
//! then fails naming the record).

use crate::grader::{self, EmbedError};
use crate::report::{Code, Issue, Report, SplitSummary};
use crate::split::{self, Side, SplitConfig, Strategy};
use crate::validate::Record;
use std::collections::BinaryHeap;
use std::io;

/// S3's smallest part (all but the last part of a multipart upload).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The default part size of the streamed split.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

/// Where finished parts go, in order per side. An error stops the split.
pub trait PartSink {
    fn part(&mut self, side: Side, bytes: Vec<u8>) -> io::Result<()>;
}

/// Why the streamed split stopped.
#[derive(Debug, thiserror::Error)]
pub enum SplitStreamError {
    /// `record` counts the records of that side's file from 1; `line` is the line of the input.
    #[error("record {record} of the prepared {} file (line {line} of its input) cannot carry the run's grader spec: {error}", side_name(*.side))]
    Grader { side: Side, record: u64, line: u64, error: EmbedError },
    #[error("writing the {} file: {source}", side_name(*.side))]
    Sink { side: Side, source: io::Error },
}

pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Train => "train",
        Side::Validation => "validation",
    }
}

/// The bytes left after the last full part of each side, and what the split did.
#[derive(Debug)]
pub struct Finished {
    /// The last part of the train file (may be empty, or the whole file if it is small).
    pub train_tail: Vec<u8>,
    pub validation_tail: Vec<u8>,
    pub train_records: u64,
    pub validation_records: u64,
    /// Tokens of the records that went to training (Bedrock bills these, epoch after epoch).
    pub train_tokens: u64,
}

/// A validation candidate held back while the model's cap is in force.
struct Held {
    unit: f64,
    line: u64,
    tokens: u64,
    bytes: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.unit.total_cmp(&other.unit).then(self.line.cmp(&other.line))
    }
}

/// One train record's bytes (newline included) in the unsent train buffer.
struct TrainSpan {
    unit: f64,
    start: usize,
    end: usize,
    tokens: u64,
}

/// The streamed split of one dataset (and, after it, the user's validation file, if any).
pub struct StreamSplit<S: PartSink> {
    sink: S,
    seed: u64,
    /// 0 when the user supplies the validation file: every dataset record trains.
    ratio: f64,
    cap: Option<u64>,
    part_size: usize,
    grader: Option<String>,
    buffers: [Vec<u8>; 2],
    records: [u64; 2],
    train_tokens: u64,
    held: BinaryHeap<Held>,
    /// Candidates at or above this hash value go to training (some of theirs already did).
    ceiling: f64,
    /// Where each train record lies in the train buffer while no train part has been sent (then `None`).
    unsent_train: Option<Vec<TrainSpan>>,
    error: Option<SplitStreamError>,
}

impl<S: PartSink> StreamSplit<S> {
    /// `config.max_validation` is the model's cap; `supplied`: the user's validation file will follow
    /// ([`StreamSplit::validation_record`]), so nothing is held out. `grader`: the spec's compact JSON.
    pub fn new(sink: S, config: &SplitConfig, supplied: bool, part_size: usize, grader: Option<String>) -> Self {
        let part_size = part_size.max(1);
        StreamSplit {
            sink,
            seed: config.seed,
            ratio: if supplied { 0.0 } else { config.validation_ratio },
            cap: config.max_validation,
            part_size,
            grader,
            buffers: [Vec::with_capacity(part_size), Vec::new()],
            records: [0, 0],
            train_tokens: 0,
            held: BinaryHeap::new(),
            ceiling: f64::INFINITY,
            unsent_train: Some(Vec::new()),
            error: None,
        }
    }

    /// One record of the dataset, as the validator passes it.
    pub fn record(&mut self, record: &Record<'_>) {
        let unit = split::hashed_unit(record.hash, self.seed);
        if unit >= self.ratio || unit >= self.ceiling {
            self.train_tokens += record.tokens;
            let start = self.buffers[0].len();
            self.write(Side::Train, record.bytes, record.line);
            self.note_train(unit, start, record.tokens);
            return;
        }
        let Some(cap) = self.cap else {
            self.write(Side::Validation, record.bytes, record.line);
            return;
        };
        if self.error.is_some() {
            return;
        }
        let mut bytes = Vec::with_capacity(record.bytes.len());
        match &self.grader {
            Some(spec) => {
                if let Err(error) = grader::embed_in_record(record.bytes, spec, &mut bytes) {
                    // Counted as it would be written, so the message names the same record.
                    let n = self.records[1] + self.held.len() as u64 + 1;
                    self.fail(SplitStreamError::Grader { side: Side::Validation, record: n, line: record.line, error });
                    return;
                }
            }
            None => bytes.extend_from_slice(record.bytes),
        }
        self.held.push(Held { unit, line: record.line, tokens: record.tokens, bytes });
        while self.held.len() as u64 > cap {
            // The whole group with the highest value trains, and so does everything at or above it.
            let Some(top) = self.held.peek().map(|h| h.unit) else { break };
            self.ceiling = top;
            while self.held.peek().is_some_and(|h| h.unit >= top) {
                if let Some(h) = self.held.pop() {
                    self.train_tokens += h.tokens;
                    let start = self.buffers[0].len();
                    self.write_prepared(Side::Train, h.bytes);
                    self.note_train(h.unit, start, h.tokens);
                }
            }
        }
    }

    /// One record of the user's validation file: always the validation side.
    pub fn validation_record(&mut self, record: &Record<'_>) {
        self.write(Side::Validation, record.bytes, record.line);
    }

    /// Flushes the held validation records (in input order) and hands back the last bytes of each side
    /// and the sink. The counts are complete even when the split stopped (the error says why; the
    /// tails are then empty).
    pub fn finish(mut self) -> (Finished, S, Option<SplitStreamError>) {
        let mut held = std::mem::take(&mut self.held).into_vec();
        held.sort_by_key(|h| h.line);
        for h in held {
            self.write_prepared(Side::Validation, h.bytes);
        }
        self.hold_out_one_group_if_none();
        let [train_tail, validation_tail] = self.buffers;
        let finished = Finished {
            train_tail,
            validation_tail,
            train_records: self.records[0],
            validation_records: self.records[1],
            train_tokens: self.train_tokens,
        };
        (finished, self.sink, self.error)
    }

    /// Whether the split has stopped (the validator may still read on, to complete the report).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn write(&mut self, side: Side, bytes: &[u8], line: u64) {
        let i = index(side);
        self.records[i] += 1;
        if self.error.is_some() {
            return;
        }
        let buffer = &mut self.buffers[i];
        match &self.grader {
            Some(spec) => {
                let before = buffer.len();
                if let Err(error) = grader::embed_in_record(bytes, spec, buffer) {
                    buffer.truncate(before);
                    let record = self.records[i];
                    self.fail(SplitStreamError::Grader { side, record, line, error });
                    return;
                }
            }
            None => buffer.extend_from_slice(bytes),
        }
        buffer.push(b'\n');
        self.flush_full(side);
    }

    /// A record already embedded (held back under the cap).
    fn write_prepared(&mut self, side: Side, mut bytes: Vec<u8>) {
        let i = index(side);
        self.records[i] += 1;
        if self.error.is_some() {
            return;
        }
        bytes.push(b'\n');
        self.buffers[i].extend_from_slice(&bytes);
        self.flush_full(side);
    }

    /// Remembers a train record's place while the train side is one unsent part.
    fn note_train(&mut self, unit: f64, start: usize, tokens: u64) {
        let end = self.buffers[0].len();
        if let Some(spans) = self.unsent_train.as_mut()
            && end > start
        {
            spans.push(TrainSpan { unit, start, end, tokens });
        }
    }

    /// Nothing held out of a small dataset: its lowest-hash group (every copy) moves to validation,
    /// when another group still trains and the model allows any validation record.
    fn hold_out_one_group_if_none(&mut self) {
        if self.ratio <= 0.0 || self.records[1] > 0 || self.cap == Some(0) || self.error.is_some() {
            return;
        }
        let Some(spans) = self.unsent_train.take() else { return };
        let Some(lowest) = spans.iter().map(|s| s.unit).min_by(f64::total_cmp) else { return };
        if spans.iter().all(|s| s.unit == lowest) {
            return;
        }
        let train = std::mem::take(&mut self.buffers[0]);
        let mut kept = Vec::with_capacity(train.len());
        let mut last = 0;
        for span in &spans {
            kept.extend_from_slice(&train[last..span.start]);
            last = span.end;
            if span.unit == lowest {
                self.buffers[1].extend_from_slice(&train[span.start..span.end]);
                self.records[0] -= 1;
                self.records[1] += 1;
                self.train_tokens -= span.tokens;
            } else {
                kept.extend_from_slice(&train[span.start..span.end]);
            }
        }
        kept.extend_from_slice(&train[last..]);
        self.buffers[0] = kept;
    }

    fn flush_full(&mut self, side: Side) {
        let i = index(side);
        if self.buffers[i].len() < self.part_size {
            return;
        }
        if side == Side::Train {
            self.unsent_train = None;
        }
        let part = std::mem::replace(&mut self.buffers[i], Vec::with_capacity(self.part_size));
        if let Err(source) = self.sink.part(side, part) {
            self.fail(SplitStreamError::Sink { side, source });
        }
    }

    fn fail(&mut self, error: SplitStreamError) {
        if self.error.is_none() {
            self.error = Some(error);
            // Nothing more is written: free what is held.
            self.buffers = [Vec::new(), Vec::new()];
            self.held.clear();
        }
    }
}

fn index(side: Side) -> usize {
    match side {
        Side::Train => 0,
        Side::Validation => 1,
    }
}

/// The dataset's report completed as `prepare` completes it: the user's validation file's problems
/// (each naming `validation_name`), the split summary, and the cost from the training split's tokens.
pub fn complete_report(
    report: &mut Report,
    supplied: Option<(&Report, &str)>,
    finished: &Finished,
    config: &SplitConfig,
) {
    let (validation_ratio, strategy) = match supplied {
        Some((validation, name)) => {
            let tag = |i: &Issue| Issue { message: format!("validation file {name}: {}", i.message), ..i.clone() };
            report.errors.extend(validation.errors.iter().map(tag));
            report.warnings.extend(validation.warnings.iter().filter(|w| w.code != Code::LegacyModel).map(tag));
            report.error_count += validation.error_count;
            report.warning_count += validation.warning_count;
            report.valid &= validation.valid;
            (0.0, Strategy::Supplied)
        }
        None => (config.validation_ratio, Strategy::Hashed),
    };
    report.split = Some(SplitSummary {
        train_records: finished.train_records,
        validation_records: finished.validation_records,
        seed: config.seed,
        validation_ratio,
        strategy: strategy.as_str().to_string(),
        // Not counted in one pass: identical records share a hash, so they share a side anyway.
        duplicate_groups: 0,
    });
    if let Some(basis) = report.cost_basis.as_mut() {
        basis.training_tokens = finished.train_tokens;
        report.estimated_cost_usd =
            Some(basis.training_tokens as f64 * basis.epochs as f64 * basis.price_per_1k_tokens_usd / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, Default)]
    struct Parts(Vec<(Side, Vec<u8>)>);

    impl PartSink for Parts {
        fn part(&mut self, side: Side, bytes: Vec<u8>) -> io::Result<()> {
            self.0.push((side, bytes));
            Ok(())
        }
    }

    fn record(line: u64, bytes: &[u8], hash: u64) -> Record<'_> {
        Record { line, offset: 0, bytes, hash, class: None, tokens: 10 }
    }

    /// Runs `lines` (hash = the line's content id) through a split; the bytes of each side.
    fn run(ids: &[u64], config: &SplitConfig, part: usize) -> (Vec<u8>, Vec<u8>, Finished, usize) {
        let texts: Vec<String> = ids.iter().map(|i| format!("{{\"id\":{i}}}")).collect();
        let mut split = StreamSplit::new(Parts::default(), config, false, part, None);
        for (n, (id, text)) in ids.iter().zip(&texts).enumerate() {
            split.record(&record(n as u64 + 1, text.as_bytes(), *id));
        }
        let (finished, parts, error) = split.finish();
        assert!(error.is_none());
        let mut sides = [Vec::new(), Vec::new()];
        let count = parts.0.len();
        for (side, bytes) in parts.0 {
            assert!(bytes.len() >= part, "every part but the last is full");
            sides[index(side)].extend(bytes);
        }
        sides[0].extend(&finished.train_tail);
        sides[1].extend(&finished.validation_tail);
        let [train, validation] = sides;
        (train, validation, finished, count)
    }

    fn side_of_each(train: &[u8], validation: &[u8]) -> HashMap<String, Vec<Side>> {
        let mut sides: HashMap<String, Vec<Side>> = HashMap::new();
        for (bytes, side) in [(train, Side::Train), (validation, Side::Validation)] {
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                sides.entry(String::from_utf8(line.to_vec()).unwrap()).or_default().push(side);
            }
        }
        sides
    }

    #[test]
    fn sides_follow_the_hash_parts_are_full_and_nothing_is_lost() {
        let ids: Vec<u64> = (0..5000).collect();
        let config = SplitConfig { validation_ratio: 0.2, seed: 9, max_validation: None };
        let (train, validation, finished, parts) = run(&ids, &config, 4096);
        assert!(parts > 10, "{parts}");
        assert_eq!(finished.train_records + finished.validation_records, 5000);
        assert!((800..1200).contains(&finished.validation_records), "{}", finished.validation_records);
        for (text, sides) in side_of_each(&train, &validation) {
            let id: u64 = text.trim_start_matches("{\"id\":").trim_end_matches('}').parse().unwrap();
            assert_eq!(sides, [split::hashed_side(id, 9, 0.2)], "{text}");
        }
        assert_eq!(finished.train_tokens, finished.train_records * 10);
    }

    #[test]
    fn the_cap_holds_and_copies_of_a_record_never_straddle() {
        // Every id three times, spread out, so copies arrive before and after the cap bites.
        let ids: Vec<u64> = (0..3).flat_map(|_| 0..2000u64).collect();
        let config = SplitConfig { validation_ratio: 0.5, seed: 3, max_validation: Some(100) };
        let (train, validation, finished, _) = run(&ids, &config, 1 << 20);
        assert!(finished.validation_records <= 100 && finished.validation_records >= 90, "{finished:?}");
        assert_eq!(finished.train_records + finished.validation_records, 6000);
        for (text, sides) in side_of_each(&train, &validation) {
            assert!(sides.iter().all(|s| *s == sides[0]), "{text} straddles: {sides:?}");
            assert_eq!(sides.len(), 3);
        }
        // The held records come out in input order.
        let lines: Vec<&[u8]> = validation.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        let first: Vec<&[u8]> = lines.iter().take(lines.len() / 3).copied().collect();
        let mut sorted = first.clone();
        sorted.sort_by_key(|l| std::str::from_utf8(&l[6..l.len() - 1]).unwrap().parse::<u64>().unwrap());
        assert_eq!(first, sorted);
    }

    #[test]
    fn the_grader_spec_goes_into_every_record_and_a_taken_key_names_the_record() {
        let config = SplitConfig { validation_ratio: 0.0, seed: 1, max_validation: None };
        let spec = "{\"type\":\"x\"}".to_string();
        let mut split = StreamSplit::new(Parts::default(), &config, false, 1 << 20, Some(spec.clone()));
        split.record(&record(1, b"{\"a\":1}", 1));
        let (finished, _, _) = split.finish();
        assert_eq!(finished.train_tail, b"{\"finetune_grader\":{\"type\":\"x\"},\"a\":1}\n");

        let mut split = StreamSplit::new(Parts::default(), &config, false, 1 << 20, Some(spec));
        split.record(&record(1, b"{\"a\":1}", 1));
        split.record(&record(2, b"{\"finetune_grader\":1}", 2));
        assert!(split.failed());
        let (finished, _, err) = split.finish();
        assert_eq!(finished.train_records, 2);
        let err = err.unwrap();
        assert!(matches!(err, SplitStreamError::Grader { record: 2, line: 2, side: Side::Train, .. }), "{err}");
    }

    #[test]
    fn a_small_dataset_the_hash_would_leave_without_validation_holds_out_its_lowest_group() {
        let config = SplitConfig { validation_ratio: 0.1, seed: 5, max_validation: None };
        // Ids the hash sends to training, one of them twice; find them rather than assume.
        let mut ids: Vec<u64> =
            (0..1000u64).filter(|i| split::hashed_side(*i, 5, 0.1) == Side::Train).take(6).collect();
        ids.push(ids[2]);
        let (train, validation, finished, _) = run(&ids, &config, 1 << 20);
        let lowest = ids.iter().copied().min_by(|a, b| split::hashed_unit(*a, 5).total_cmp(&split::hashed_unit(*b, 5)));
        let moved = ids.iter().filter(|i| Some(**i) == lowest).count() as u64;
        assert_eq!((finished.train_records, finished.validation_records), (7 - moved, moved));
        assert_eq!(finished.train_tokens, (7 - moved) * 10);
        for (text, sides) in side_of_each(&train, &validation) {
            let id: u64 = text.trim_start_matches("{\"id\":").trim_end_matches('}').parse().unwrap();
            let expected = if Some(id) == lowest { Side::Validation } else { Side::Train };
            assert!(sides.iter().all(|s| *s == expected), "{text}: {sides:?}");
        }
        // Train keeps its input order.
        let train_ids: Vec<&[u8]> = train.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        let expected: Vec<String> =
            ids.iter().filter(|i| Some(**i) != lowest).map(|i| format!("{{\"id\":{i}}}")).collect();
        assert_eq!(train_ids, expected.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());

        // One group only (every record identical): nothing to hold out without emptying training.
        let (_, _, finished, _) = run(&[ids[0], ids[0], ids[0]], &config, 1 << 20);
        assert_eq!((finished.train_records, finished.validation_records), (3, 0));
        // Once a train part has gone, nothing is moved.
        let (_, _, finished, parts) = run(&ids, &config, 8);
        assert!(parts > 0);
        assert_eq!(finished.validation_records, 0);
    }

    #[test]
    fn a_supplied_validation_file_takes_no_records_from_the_dataset() {
        let config = SplitConfig { validation_ratio: 0.5, seed: 1, max_validation: None };
        let mut split = StreamSplit::new(Parts::default(), &config, true, 1 << 20, None);
        for i in 0..100 {
            split.record(&record(i + 1, b"{}", i));
        }
        split.validation_record(&record(1, b"{\"v\":1}", 7));
        let (finished, _, _) = split.finish();
        assert_eq!((finished.train_records, finished.validation_records), (100, 1));
        assert_eq!(finished.validation_tail, b"{\"v\":1}\n");
    }
}
