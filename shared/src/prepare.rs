//! Validate, then split: writes `train.jsonl`, `validation.jsonl` (normalized JSON Lines: LF, no BOM,
//! no blank lines) and `report.json` into an output folder.
//!
//! Outputs are written under temporary names and renamed only when the dataset is valid, so a folder
//! never holds a half-written or stale split beside a report that says the data is invalid. The input
//! is only ever read.

use crate::catalogue::DatasetFormat;
use crate::report::{Code, Issue, Report, SplitSummary};
use crate::split::{self, Plan, RecordKey, Side, SplitConfig, Strategy};
use crate::validate::lines::{Line, LineReader};
use crate::validate::{self, FileRole, Options};
use std::fs::{self, File};
use std::io::{self, BufWriter, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

pub const TRAIN_FILE: &str = "train.jsonl";
pub const VALIDATION_FILE: &str = "validation.jsonl";
pub const REPORT_FILE: &str = "report.json";

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("the output {0} is the input file; choose another --out folder so the input is never overwritten")]
    WouldOverwriteInput(PathBuf),
    #[error("--validation-ratio must be at least 0 and below 1, not {0}")]
    BadRatio(f64),
}

/// Where the split went.
#[derive(Debug)]
pub struct Prepared {
    pub report: Report,
    /// `None` when the dataset is invalid (nothing but the report is written).
    pub train: Option<PathBuf>,
    pub validation: Option<PathBuf>,
}

/// Validates `input` and, when it is valid, writes the split into `out_dir`. A user-supplied
/// validation file is validated and copied (normalized) instead of holding records out.
pub fn prepare_file(
    input: &Path,
    opts: &Options,
    config: &SplitConfig,
    user_validation: Option<&Path>,
    out_dir: &Path,
) -> Result<Prepared, PrepareError> {
    prepare_with(input, opts, config, user_validation, out_dir, IN_MEMORY)
}

/// `prepare_file`, holding inputs up to `in_memory` bytes in memory.
fn prepare_with(
    input: &Path,
    opts: &Options,
    config: &SplitConfig,
    user_validation: Option<&Path>,
    out_dir: &Path,
    in_memory: u64,
) -> Result<Prepared, PrepareError> {
    if !(0.0..1.0).contains(&config.validation_ratio) {
        return Err(PrepareError::BadRatio(config.validation_ratio));
    }
    fs::create_dir_all(out_dir).map_err(|source| PrepareError::Write { path: out_dir.to_path_buf(), source })?;
    let train_path = out_dir.join(TRAIN_FILE);
    let validation_path = out_dir.join(VALIDATION_FILE);
    let report_path = out_dir.join(REPORT_FILE);
    for out in [&train_path, &validation_path, &report_path] {
        if same_file(input, out) || user_validation.is_some_and(|v| same_file(v, out)) {
            return Err(PrepareError::WouldOverwriteInput(out.clone()));
        }
    }
    let config = SplitConfig {
        max_validation: config.max_validation.or(opts.customization.records.max_validation.map(|f| f.value)),
        ..*config
    };
    let clearing = clear_previous(&[&train_path, &validation_path]);
    let mut train_tmp = Partial::create(&train_path)?;
    let mut validation_tmp = Partial::create(&validation_path)?;

    let (mut report, plan, train_tokens) = if opts.format() == DatasetFormat::ContinuedPreTraining {
        stream_split(input, opts, &config, user_validation.is_some(), train_tmp.writer(), validation_tmp.writer())?
    } else {
        let (train, validation) = (train_tmp.writer(), validation_tmp.writer());
        two_pass_split(input, opts, &config, user_validation.is_some(), in_memory, train, validation)?
    };
    report.file = Some(input.display().to_string());

    let mut wrote_validation = plan.validation > 0;
    if let Some(path) = user_validation {
        let supplied = copy_validation_file(path, opts, validation_tmp.writer())?;
        merge_validation_report(&mut report, &supplied, path);
        wrote_validation = supplied.records > 0;
        report.split = Some(SplitSummary {
            train_records: plan.train,
            validation_records: supplied.records,
            seed: config.seed,
            validation_ratio: 0.0,
            strategy: Strategy::Supplied.as_str().to_string(),
            duplicate_groups: plan.duplicate_groups,
        });
    } else {
        report.split = Some(SplitSummary {
            train_records: plan.train,
            validation_records: plan.validation,
            seed: config.seed,
            validation_ratio: config.validation_ratio,
            strategy: plan.strategy.as_str().to_string(),
            duplicate_groups: plan.duplicate_groups,
        });
    }
    // Bedrock bills the training split's tokens, epoch after epoch.
    if let Some(basis) = report.cost_basis.as_mut() {
        basis.training_tokens = train_tokens;
        report.estimated_cost_usd =
            Some(basis.training_tokens as f64 * basis.epochs as f64 * basis.price_per_1k_tokens_usd / 1000.0);
    }

    let (train, validation) = if report.valid {
        train_tmp.commit()?;
        let validation = if wrote_validation {
            validation_tmp.commit()?;
            Some(validation_path)
        } else {
            validation_tmp.discard();
            remove_stale(&validation_path)?;
            None
        };
        (Some(train_path), validation)
    } else {
        train_tmp.discard();
        validation_tmp.discard();
        remove_stale(&train_path)?;
        remove_stale(&validation_path)?;
        (None, None)
    };
    write_report(&report, &report_path)?;
    drop(clearing);
    Ok(Prepared { report, train, validation })
}

/// Moves the outputs of an earlier `prepare` out of the way and deletes them on another thread, while
/// this one works. Freeing a large file's cached pages takes a while, and renaming a new file over an
/// old one makes ext4 write the new one out there and then (its `auto_da_alloc`); neither need hold
/// up the result. An output that cannot be moved is simply replaced at the end, as before. The
/// deletion is waited for when the value is dropped, on every return path.
fn clear_previous(outputs: &[&Path]) -> Clearing {
    let moved: Vec<PathBuf> = outputs
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            let aside = path.with_file_name(format!(".{name}.previous"));
            fs::rename(path, &aside).ok().map(|()| aside)
        })
        .collect();
    if moved.is_empty() {
        return Clearing(None);
    }
    let delete = move || {
        for path in &moved {
            let _ = fs::remove_file(path);
        }
    };
    match thread::Builder::new().name("clear-previous".into()).spawn(delete.clone()) {
        Ok(handle) => Clearing(Some(handle)),
        Err(_) => {
            delete();
            Clearing(None)
        }
    }
}

struct Clearing(Option<thread::JoinHandle<()>>);

impl Drop for Clearing {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            let _ = handle.join();
        }
    }
}

pub fn write_report(report: &Report, path: &Path) -> Result<(), PrepareError> {
    let write_err = |source| PrepareError::Write { path: path.to_path_buf(), source };
    let json = serde_json::to_vec_pretty(report).map_err(|e| write_err(io::Error::other(e)))?;
    fs::write(path, json).map_err(write_err)
}

/// Continued pre-training: one pass, each record's side from a seeded hash of its content. The
/// stateless checks run on every core (`validate_parallel`), and lines are gathered into large buffers
/// that another thread writes, so the disk writes overlap validation.
fn stream_split(
    input: &Path,
    opts: &Options,
    config: &SplitConfig,
    all_to_train: bool,
    train: &mut BufWriter<File>,
    validation: &mut BufWriter<File>,
) -> Result<(Report, Plan, u64), PrepareError> {
    let file = open(input)?;
    let mut counts = [0u64; 2];
    let mut train_tokens = 0u64;
    let ratio = if all_to_train { 0.0 } else { config.validation_ratio };
    let (report, written) = thread::scope(|scope| {
        let mut writer = SideWriter::spawn(scope, train, validation);
        let report = validate_on_every_core(file, opts, |record| {
            let side = split::hashed_side(record.hash, config.seed, ratio);
            if side == Side::Train {
                counts[0] += 1;
                train_tokens += record.tokens;
            } else {
                counts[1] += 1;
            }
            writer.push(side, record.bytes);
        });
        (report, writer.finish())
    });
    let report = report.map_err(|source| PrepareError::Read { path: input.to_path_buf(), source })?;
    written.map_err(|(side, source)| PrepareError::Write { path: PathBuf::from(side_file(side)), source })?;
    let plan = Plan {
        sides: Vec::new(),
        strategy: Strategy::Hashed,
        train: counts[0],
        validation: counts[1],
        // Not counted in streaming: identical records share a hash, so they share a side anyway.
        duplicate_groups: 0,
    };
    Ok((report, plan, train_tokens))
}

/// `validate_parallel` on a file, with blocks sized by the file's length.
fn validate_on_every_core(file: File, opts: &Options, sink: impl FnMut(&validate::Record<'_>)) -> io::Result<Report> {
    let size = file.metadata().ok().map(|m| m.len());
    validate::validate_parallel(file, opts, workers(), size, sink)
}

/// A checking thread per core (the calling thread and the writer are lighter and share them).
fn workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

fn side_file(side: Side) -> &'static str {
    match side {
        Side::Train => TRAIN_FILE,
        Side::Validation => VALIDATION_FILE,
    }
}

/// Bytes gathered per side before they are handed to the writer thread.
const WRITE_BUFFER: usize = 1 << 20;
/// Full buffers waiting for the writer: with the two being filled and the one being written, memory
/// stays under 8 MiB whatever the dataset's size.
const BUFFERS_IN_FLIGHT: usize = 4;

/// Lines (each followed by `\n`) for the two sides, written on a scoped thread.
struct SideWriter<'scope> {
    pending: [Vec<u8>; 2],
    full: Option<mpsc::SyncSender<(Side, Vec<u8>)>>,
    /// Written buffers come back to be filled again, so the pass allocates a handful of buffers in all.
    empty: mpsc::Receiver<Vec<u8>>,
    thread: thread::ScopedJoinHandle<'scope, Result<(), (Side, io::Error)>>,
}

impl<'scope> SideWriter<'scope> {
    fn spawn<'env>(
        scope: &'scope thread::Scope<'scope, 'env>,
        train: &'scope mut BufWriter<File>,
        validation: &'scope mut BufWriter<File>,
    ) -> SideWriter<'scope> {
        let (full, to_write) = mpsc::sync_channel::<(Side, Vec<u8>)>(BUFFERS_IN_FLIGHT);
        let (give_back, empty) = mpsc::channel();
        let thread = scope.spawn(move || {
            for (side, mut buf) in to_write {
                let out = if side == Side::Train { &mut *train } else { &mut *validation };
                out.write_all(&buf).map_err(|e| (side, e))?;
                buf.clear();
                // The validating side may have finished already; then the buffer is simply freed.
                let _ = give_back.send(buf);
            }
            Ok(())
        });
        SideWriter {
            pending: [Vec::with_capacity(WRITE_BUFFER), Vec::with_capacity(WRITE_BUFFER)],
            full: Some(full),
            empty,
            thread,
        }
    }

    fn push(&mut self, side: Side, line: &[u8]) {
        let buf = &mut self.pending[side as usize];
        buf.extend_from_slice(line);
        buf.push(b'\n');
        if buf.len() >= WRITE_BUFFER {
            let next = self.empty.try_recv().unwrap_or_else(|_| Vec::with_capacity(WRITE_BUFFER));
            let full = std::mem::replace(buf, next);
            self.send(side, full);
        }
    }

    fn send(&mut self, side: Side, buf: Vec<u8>) {
        // A failed send means the writer stopped on an error, which `finish` reports; what is still
        // validated is only counted.
        if let Some(full) = &self.full
            && full.send((side, buf)).is_err()
        {
            self.full = None;
        }
    }

    /// Writes what is left and waits for the writer; the first write error, with its side.
    fn finish(mut self) -> Result<(), (Side, io::Error)> {
        for side in [Side::Train, Side::Validation] {
            let rest = std::mem::take(&mut self.pending[side as usize]);
            if !rest.is_empty() {
                self.send(side, rest);
            }
        }
        self.full = None;
        match self.thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Files up to this size are mapped, checked and split where they lie; larger ones are streamed and
/// read a second time to copy the lines, which keeps memory flat whatever their size.
const IN_MEMORY: u64 = 32 << 20;

/// Everything else: validate and remember each record's hash, label and place, plan, then copy lines.
fn two_pass_split(
    input: &Path,
    opts: &Options,
    config: &SplitConfig,
    all_to_train: bool,
    in_memory_limit: u64,
    train: &mut BufWriter<File>,
    validation: &mut BufWriter<File>,
) -> Result<(Report, Plan, u64), PrepareError> {
    let read_err = |source| PrepareError::Read { path: input.to_path_buf(), source };
    let file = open(input)?;
    let before = file.metadata().map_err(read_err)?;
    let in_memory = if before.len() <= in_memory_limit { Some(map_whole(&file).map_err(read_err)?) } else { None };
    let mut keys: Vec<RecordKey> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    let mut tokens: Vec<u64> = Vec::new();
    let sink = |record: &validate::Record<'_>| {
        keys.push(RecordKey { hash: record.hash, label: record.class });
        let end = record.offset as usize + record.bytes.len();
        // Looked at now, while the line is in the cache.
        let bare_newline = in_memory.as_ref().is_some_and(|data| data.get(end) == Some(&b'\n'));
        spans.push(Span { offset: record.offset, len: record.bytes.len(), bare_newline });
        tokens.push(record.tokens);
    };
    let report = match &in_memory {
        Some(data) => validate::validate_slice_parallel(data, opts, workers(), sink),
        None => validate_on_every_core(file, opts, sink),
    }
    .map_err(read_err)?;
    let config = if all_to_train { SplitConfig { validation_ratio: 0.0, ..*config } } else { *config };
    let plan = split::plan(&keys, report.classes.is_some(), &config);
    let train_tokens = plan.sides.iter().zip(&tokens).filter(|(s, _)| **s == Side::Train).map(|(_, t)| t).sum();
    if !report.valid {
        return Ok((report, plan, train_tokens));
    }
    match &in_memory {
        Some(data) => {
            copy_spans(data, &spans, &plan, train, validation)?;
            unchanged_since(input, &before)
        }
        // The second read comes from the page cache; measured faster than holding the records in memory.
        None => copy_lines(input, opts, &spans, &plan, train, validation),
    }?;
    Ok((report, plan, train_tokens))
}

/// The whole file, mapped read-only: a file in the page cache is then read without a copy, and its
/// pages are mapped many at a time by whichever worker reads them first. Reading it into a buffer
/// instead costs a page fault per 4 KiB of fresh memory, which took longer than the checks on a file
/// of a few MiB (measured: 4 ms of 18 for 10,000 prompt/completion records; populating the map up
/// front was slower too, on one thread before the workers start).
#[allow(unsafe_code, reason = "mapping a file is unsafe in Rust: another process may change it")]
fn map_whole(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and is dropped before `prepare_file` returns. Another
    // process writing the file meanwhile changes what is read, which `unchanged_since` reports as an
    // error afterwards; one truncating it meanwhile makes reading the lost pages fault (SIGBUS), as it
    // does for any program that maps files. The input is the user's own file, only ever read here.
    unsafe { memmap2::Mmap::map(file) }
}

/// An error when the file's size or modification time differ from `before`.
fn unchanged_since(input: &Path, before: &fs::Metadata) -> Result<(), PrepareError> {
    let now = fs::metadata(input).map_err(|source| PrepareError::Read { path: input.to_path_buf(), source })?;
    if now.len() != before.len() || now.modified().ok() != before.modified().ok() {
        return Err(changed_while_prepared(input));
    }
    Ok(())
}

/// What `prepare` says when its input was written to while it was read: what was read may mix two versions.
fn changed_while_prepared(input: &Path) -> PrepareError {
    PrepareError::Read {
        path: input.to_path_buf(),
        source: io::Error::other("the file changed while it was being prepared; run again"),
    }
}

/// Where a record's line lies in the input, without its terminator.
struct Span {
    offset: u64,
    len: usize,
    /// The line ends in `\n` alone (not `\r\n`, not the end of the file); only known in memory.
    bare_newline: bool,
}

/// Copies the planned lines out of the mapped input with vectored writes, so the lines are not
/// copied through a buffer: a run of lines that lie one after another in the input, each ending in a
/// bare `\n`, and go to the same side is written as one slice.
fn copy_spans(
    data: &[u8],
    spans: &[Span],
    plan: &Plan,
    train: &mut BufWriter<File>,
    validation: &mut BufWriter<File>,
) -> Result<(), PrepareError> {
    for (side, out) in [(Side::Train, train), (Side::Validation, validation)] {
        let mut slices: Vec<IoSlice<'_>> = Vec::new();
        let mut run = 0..0;
        for (span, _) in spans.iter().zip(&plan.sides).filter(|(_, s)| **s == side) {
            let line = span.offset as usize..span.offset as usize + span.len;
            if span.bare_newline {
                if run.end != line.start || run.is_empty() {
                    slices.push(IoSlice::new(&data[run]));
                    run = line.start..line.start;
                }
                run.end = line.end + 1;
            } else {
                // A CRLF or unterminated line: the line, then the newline it is written with.
                slices.push(IoSlice::new(&data[run]));
                run = 0..0;
                slices.extend([IoSlice::new(&data[line]), IoSlice::new(b"\n")]);
            }
        }
        slices.push(IoSlice::new(&data[run]));
        slices.retain(|s| !s.is_empty());
        out.flush().and_then(|()| write_all_slices(out.get_mut(), &mut slices)).map_err(write_err)?;
    }
    Ok(())
}

/// `write_all` for vectored writes, at most `IOV_MAX` (1024) slices per call.
fn write_all_slices(out: &mut File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match out.write_vectored(&slices[..slices.len().min(1024)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Copies the planned lines from the input, read a second time.
fn copy_lines(
    input: &Path,
    opts: &Options,
    spans: &[Span],
    plan: &Plan,
    train: &mut BufWriter<File>,
    validation: &mut BufWriter<File>,
) -> Result<(), PrepareError> {
    let mut reader = LineReader::new(open(input)?, opts.max_line_bytes);
    let mut next = 0usize;
    while next < spans.len() {
        let Some(line) =
            reader.next_line().map_err(|source| PrepareError::Read { path: input.to_path_buf(), source })?
        else {
            break;
        };
        if let Line::Text { offset, bytes, .. } = line
            && offset == spans[next].offset
            && bytes.len() == spans[next].len
        {
            let out = if plan.sides[next] == Side::Train { &mut *train } else { &mut *validation };
            out.write_all(bytes).and_then(|_| out.write_all(b"\n")).map_err(write_err)?;
            next += 1;
        }
    }
    if next != spans.len() {
        return Err(changed_while_prepared(input));
    }
    Ok(())
}

fn write_err(source: io::Error) -> PrepareError {
    PrepareError::Write { path: PathBuf::from(TRAIN_FILE), source }
}

fn copy_validation_file(path: &Path, opts: &Options, out: &mut BufWriter<File>) -> Result<Report, PrepareError> {
    let opts = Options { role: FileRole::Validation, ..opts.clone() };
    let mut write_error = None;
    let report = validate::validate_reader(open(path)?, &opts, |record| {
        if write_error.is_none()
            && let Err(e) = out.write_all(record.bytes).and_then(|_| out.write_all(b"\n"))
        {
            write_error = Some(e);
        }
    })
    .map_err(|source| PrepareError::Read { path: path.to_path_buf(), source })?;
    match write_error {
        Some(source) => Err(PrepareError::Write { path: PathBuf::from(VALIDATION_FILE), source }),
        None => Ok(report),
    }
}

/// Adds the validation file's problems to the main report, each saying which file it is about.
fn merge_validation_report(report: &mut Report, supplied: &Report, path: &Path) {
    let name = path.display();
    let tag = |i: &Issue| Issue { message: format!("validation file {name}: {}", i.message), ..i.clone() };
    report.errors.extend(supplied.errors.iter().map(tag));
    report.warnings.extend(supplied.warnings.iter().filter(|w| w.code != Code::LegacyModel).map(tag));
    report.error_count += supplied.error_count;
    report.warning_count += supplied.warning_count;
    report.valid &= supplied.valid;
}

fn open(path: &Path) -> Result<File, PrepareError> {
    File::open(path).map_err(|source| PrepareError::Read { path: path.to_path_buf(), source })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn remove_stale(path: &Path) -> Result<(), PrepareError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(PrepareError::Write { path: path.to_path_buf(), source: e })
        }
        _ => Ok(()),
    }
}

/// An output written under a temporary name beside its final one, renamed on commit, removed if dropped.
struct Partial {
    tmp: PathBuf,
    dest: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl Partial {
    fn create(dest: &Path) -> Result<Partial, PrepareError> {
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.partial"));
        let file = File::create(&tmp).map_err(|source| PrepareError::Write { path: tmp.clone(), source })?;
        Ok(Partial { tmp, dest: dest.to_path_buf(), writer: Some(BufWriter::with_capacity(64 << 10, file)) })
    }

    fn writer(&mut self) -> &mut BufWriter<File> {
        // Present until `commit` or `discard`, which consume the value.
        self.writer.as_mut().expect("writer used after commit")
    }

    fn commit(mut self) -> Result<(), PrepareError> {
        let write_err = |source| PrepareError::Write { path: self.dest.clone(), source };
        if let Some(w) = self.writer.take() {
            // No fsync: the rename makes the output appear whole; durability across a power cut is not
            // worth doubling the run time for a file that can be made again.
            w.into_inner().map_err(|e| write_err(e.into_error()))?;
        }
        fs::rename(&self.tmp, &self.dest).map_err(write_err)
    }

    fn discard(mut self) {
        self.writer.take();
        let _ = fs::remove_file(&self.tmp);
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.writer.is_some() {
            self.writer.take();
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CustomizationType;

    /// A corpus several write buffers long, split on the writer thread, comes out as the sequential
    /// rule says: every valid line once, on the side its hash picks, in input order; the blank and the
    /// invalid line nowhere.
    #[test]
    fn a_streamed_split_writes_every_record_once_in_order_on_its_hashed_side() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("corpus.jsonl");
        let mut lines: Vec<String> = (0..20_000)
            .map(|i| format!("{{\"input\": \"record {i}: {} \\\"quoted\\\" 数据\"}}", "text ".repeat(i % 100)))
            .collect();
        lines.insert(7, String::new());
        lines.insert(9, "{\"input\": 3}".to_string());
        fs::write(&input, lines.join("\r\n") + "\r\n").unwrap();
        assert!(fs::metadata(&input).unwrap().len() > 4 * WRITE_BUFFER as u64);

        let opts = Options::new("amazon.titan-text-express-v1", CustomizationType::ContinuedPreTraining).unwrap();
        let config = SplitConfig { validation_ratio: 0.2, seed: 9, max_validation: None };
        let out = dir.path().join("out");
        let prepared = prepare_file(&input, &opts, &config, None, &out).unwrap();
        // The invalid record makes the dataset invalid; judge the split on a corpus without it.
        assert!(!prepared.report.valid);
        lines.remove(9);
        fs::write(&input, lines.join("\r\n") + "\r\n").unwrap();
        let prepared = prepare_file(&input, &opts, &config, None, &out).unwrap();
        assert!(prepared.report.valid, "{:?}", prepared.report.errors);

        let (mut train, mut validation) = (String::new(), String::new());
        for line in lines.iter().filter(|l| !l.is_empty()) {
            let hash = xxhash_rust::xxh3::xxh3_64(line.as_bytes());
            let side = split::hashed_side(hash, config.seed, config.validation_ratio);
            let out = if side == Side::Train { &mut train } else { &mut validation };
            out.push_str(line);
            out.push('\n');
        }
        assert_eq!(fs::read_to_string(out.join(TRAIN_FILE)).unwrap(), train);
        assert_eq!(fs::read_to_string(out.join(VALIDATION_FILE)).unwrap(), validation);
        let split = prepared.report.split.unwrap();
        assert_eq!(split.train_records, train.lines().count() as u64);
        assert_eq!(split.validation_records, validation.lines().count() as u64);
        assert!(split.validation_records > 3_000);
    }

    /// An empty file (which cannot be mapped in the usual way) gets the validator's verdict.
    #[test]
    fn an_empty_file_is_judged_like_any_other() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("empty.jsonl");
        fs::write(&input, "").unwrap();
        let opts = Options::new("amazon.titan-text-express-v1", CustomizationType::FineTuning).unwrap();
        let config = SplitConfig { validation_ratio: 0.1, seed: 1, max_validation: None };
        let prepared = prepare_file(&input, &opts, &config, None, &dir.path().join("out")).unwrap();
        assert!(!prepared.report.valid);
        assert_eq!(prepared.report.records, 0);
        assert!(prepared.train.is_none() && prepared.validation.is_none());
    }

    /// A prompt/completion file with every kind of line the split normalizes (a BOM, CRLF, blank
    /// lines, an unterminated last line, duplicates, escaped and non-ASCII labels): held in memory or
    /// streamed, the same report and byte-identical outputs, each record once, LF-terminated.
    #[test]
    fn a_split_in_memory_writes_exactly_what_a_streamed_split_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("\u{feff}");
        for i in 0..3000 {
            let label = ["yes", "no", "p\\u00e9ut-\\u00eatre", "d\\\"accord", "数据"][i % 5];
            let line = match i % 13 {
                0 => "{\"prompt\": \"the same\", \"completion\": \"yes\"}".to_string(),
                _ => format!("{{\"prompt\": \"question {i}: {}\", \"completion\": \"{label}\"}}", "é ".repeat(i % 40)),
            };
            text.push_str(&line);
            text.push_str(match i % 7 {
                0 => "\r\n",
                1 => "\n\n",
                _ => "\n",
            });
        }
        text.push_str("{\"prompt\": \"last\", \"completion\": \"no\"}");
        let input = dir.path().join("in.jsonl");
        fs::write(&input, &text).unwrap();

        let opts = Options::new("amazon.titan-text-express-v1", CustomizationType::FineTuning).unwrap();
        let config = SplitConfig { validation_ratio: 0.2, seed: 5, max_validation: None };
        let (memory, streamed) = (dir.path().join("memory"), dir.path().join("streamed"));
        let in_memory = prepare_with(&input, &opts, &config, None, &memory, IN_MEMORY).unwrap();
        let in_stream = prepare_with(&input, &opts, &config, None, &streamed, 0).unwrap();
        assert!(in_memory.report.valid, "{:?}", in_memory.report.errors);
        assert_eq!(in_memory.report.split.as_ref().unwrap().strategy, "stratified");
        assert_eq!(serde_json::to_value(&in_memory.report).unwrap(), serde_json::to_value(&in_stream.report).unwrap());
        let read = |dir: &Path, name| fs::read_to_string(dir.join(name)).unwrap();
        for name in [TRAIN_FILE, VALIDATION_FILE] {
            assert_eq!(read(&memory, name), read(&streamed, name), "{name}");
        }
        let (train, validation) = (read(&memory, TRAIN_FILE), read(&memory, VALIDATION_FILE));
        let mut written: Vec<&str> = train.lines().chain(validation.lines()).collect();
        let mut records: Vec<&str> = text.trim_start_matches('\u{feff}').lines().filter(|l| !l.is_empty()).collect();
        written.sort_unstable();
        records.sort_unstable();
        assert_eq!(written, records);
        for out in [&train, &validation] {
            assert!(
                out.ends_with('\n') && !out.contains('\r') && !out.contains("\n\n") && !out.starts_with('\u{feff}')
            );
        }
        assert_eq!(validation.lines().count() as u64, in_memory.report.split.unwrap().validation_records);
    }

    /// Preparing into a folder that holds an earlier split replaces it, and nothing of the old one
    /// (nor the names it was moved to while being deleted) is left.
    #[test]
    fn an_earlier_split_in_the_folder_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("corpus.jsonl");
        let lines: Vec<String> = (0..500).map(|i| format!("{{\"input\": \"record {i}\"}}")).collect();
        fs::write(&input, lines.join("\n") + "\n").unwrap();
        let out = dir.path().join("out");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join(TRAIN_FILE), "old train\n").unwrap();
        fs::write(out.join(VALIDATION_FILE), "old validation\n").unwrap();
        let opts = Options::new("amazon.titan-text-express-v1", CustomizationType::ContinuedPreTraining).unwrap();
        let config = SplitConfig { validation_ratio: 0.2, seed: 1, max_validation: None };
        let prepared = prepare_file(&input, &opts, &config, None, &out).unwrap();
        assert!(prepared.report.valid);
        let train = fs::read_to_string(out.join(TRAIN_FILE)).unwrap();
        let validation = fs::read_to_string(out.join(VALIDATION_FILE)).unwrap();
        assert_eq!(train.lines().count() + validation.lines().count(), 500);
        assert!(!train.contains("old") && !validation.contains("old"));
        let mut names: Vec<String> =
            fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, [REPORT_FILE, TRAIN_FILE, VALIDATION_FILE]);
    }
}
