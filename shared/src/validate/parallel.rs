//! `validate_reader` on several cores, with the same report and the same records in the same order.
//!
//! Most of a large file's cost is in checks that need no state: UTF-8, the format's fast scan and the
//! record's hash. A reader thread cuts the stream into blocks; workers run those checks on every line
//! that lies wholly inside a block; the calling thread reads the blocks again, in order, through the
//! ordinary `LineReader` and `State`, taking a worker's result for a line instead of computing it. So
//! everything that depends on order (line numbers, duplicates, labels, the first record's file-level
//! checks, the caps on listed issues) is decided exactly as in one pass, and a line no worker checked
//! (one across two blocks, the first record, one the fast scan does not take) is checked in full there.

use super::lines::{Line, LineReader};
use super::records::State;
use super::{Options, Record, RecordText, cpt, prompt_completion};
use crate::catalogue::DatasetFormat;
use crate::report::Report;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

/// Bytes per block: large enough that the lines across two blocks are rare (one per block) and the
/// threads hand over work seldom; measured fastest on the benchmark corpus (against 512 KiB and 4 MiB).
const BLOCK: usize = 2 << 20;
/// For a file under 32 MiB, so that a file of a few MiB already keeps every core busy.
const SMALL_BLOCK: usize = 256 << 10;
/// Blocks read ahead of the calling thread (each also waits for, or is with, a worker): enough that
/// a thread descheduled for a moment does not stall the others. About 20 MiB at most in flight.
const BLOCKS_AHEAD: usize = 8;

/// A line the workers found good: the record's text sizes and hash, for the line at `offset`.
pub(super) struct Checked {
    offset: u64,
    len: usize,
    pub(super) hash: u64,
    pub(super) text: RecordText,
}

/// The format's stateless fast check, where the format has one.
fn fast_check(format: DatasetFormat) -> Option<fn(&str) -> Option<RecordText>> {
    match format {
        DatasetFormat::ContinuedPreTraining => Some(cpt::check_fast),
        DatasetFormat::PromptCompletion => Some(prompt_completion::check_fast),
        _ => None,
    }
}

/// Like `validate_reader`, with `workers` threads doing the stateless checks; `size_hint` is the
/// stream's length when known (it sizes the blocks).
pub fn validate_parallel<R: Read + Send>(
    reader: R,
    opts: &Options,
    workers: usize,
    size_hint: Option<u64>,
    sink: impl FnMut(&Record<'_>),
) -> io::Result<Report> {
    // A small file in small blocks, so that every core has some.
    let block = match size_hint {
        Some(size) if size < 32 << 20 => SMALL_BLOCK,
        _ => BLOCK,
    };
    validate_in_blocks(reader, opts, workers, block, sink)
}

/// `validate_parallel` on bytes already in memory: the workers check the slice where it lies, and
/// the calling thread reads its lines from it, so nothing is read or copied twice.
pub fn validate_slice_parallel(
    data: &[u8],
    opts: &Options,
    workers: usize,
    sink: impl FnMut(&Record<'_>),
) -> io::Result<Report> {
    validate_slice_in_blocks(data, opts, workers, SMALL_BLOCK, sink)
}

fn validate_slice_in_blocks(
    data: &[u8],
    opts: &Options,
    workers: usize,
    block_size: usize,
    mut sink: impl FnMut(&Record<'_>),
) -> io::Result<Report> {
    let max_line = opts.max_line_bytes;
    let Some(check) = fast_check(opts.format()) else {
        return super::validate_lines(LineReader::over(data, max_line), opts, sink);
    };
    let blocks: Vec<&[u8]> = data.chunks(block_size).collect();
    // A worker takes a block's sender with the block, so a worker that panics drops it and the calling
    // thread is not left waiting for results that will never come.
    let (to_merge, results): (Vec<_>, Vec<_>) = blocks
        .iter()
        .map(|_| {
            let (send, receive) = mpsc::sync_channel::<Vec<Checked>>(1);
            (Mutex::new(Some(send)), receive)
        })
        .unzip();
    let next_block = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let (blocks, to_merge, next_block, stop) = (&blocks, &to_merge, &next_block, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = next_block.fetch_add(1, Ordering::Relaxed);
                    let Some(block) = blocks.get(index) else { return };
                    let Some(send) = to_merge[index].lock().ok().and_then(|mut slot| slot.take()) else { return };
                    let _ = send.send(check_lines((index * block_size) as u64, block, check, max_line));
                }
            });
        }
        let checked = RefCell::new(VecDeque::new());
        let mut merged = 0;
        let queue_results = |offset| {
            // A block's results join the queue before any line that starts in it is taken.
            while merged < results.len() && (merged * block_size) as u64 <= offset {
                // A worker that died leaves no results: its lines are simply checked here.
                checked.borrow_mut().extend(results[merged].recv().unwrap_or_default());
                merged += 1;
            }
        };
        // Once the file is abandoned nothing more is checked: the workers can stop.
        let stop_workers = || stop.store(true, Ordering::Relaxed);
        let mut lines = LineReader::over(data, max_line);
        let result = merge_in_order(&mut lines, opts, &checked, queue_results, stop_workers, &mut sink);
        stop_workers();
        result
    })
}

/// The calling thread's pass, the same for a stream and for bytes in memory: every line, in order,
/// through `State`, taking a worker's result for a line when `checked` has one. `before` runs ahead of
/// each line's lookup with the line's offset; `abandoned` runs for each line after the file is given up.
fn merge_in_order<R: Read>(
    lines: &mut LineReader<'_, R>,
    opts: &Options,
    checked: &RefCell<VecDeque<Checked>>,
    mut before: impl FnMut(u64),
    mut abandoned: impl FnMut(),
    sink: &mut impl FnMut(&Record<'_>),
) -> io::Result<Report> {
    let mut state = State::new(opts);
    while let Some(line) = lines.next_line()? {
        if state.abandoned {
            abandoned();
            continue;
        }
        let done = match &line {
            Line::Text { offset, bytes, .. } => {
                before(*offset);
                take_checked(&mut checked.borrow_mut(), *offset, bytes.len())
            }
            Line::TooLong { .. } => None,
        };
        state.line_checked(line, done, sink);
    }
    Ok(state.finish(lines.bytes_read, lines.bom))
}

fn validate_in_blocks<R: Read + Send>(
    reader: R,
    opts: &Options,
    workers: usize,
    block_size: usize,
    mut sink: impl FnMut(&Record<'_>),
) -> io::Result<Report> {
    let Some(check) = fast_check(opts.format()) else {
        return super::validate_reader(reader, opts, sink);
    };
    let max_line = opts.max_line_bytes;
    thread::scope(|scope| {
        let (to_work, work) = mpsc::sync_channel::<Job>(BLOCKS_AHEAD);
        let (to_merge, in_order) = mpsc::sync_channel::<InOrder>(BLOCKS_AHEAD);
        let (recycle, recycled) = mpsc::channel::<Vec<u8>>();
        let reading = scope.spawn(move || read_blocks(reader, block_size, to_work, to_merge, recycled));
        let work = Arc::new(Mutex::new(work));
        for _ in 0..workers.max(1) {
            let work = Arc::clone(&work);
            scope.spawn(move || check_blocks(&work, check, max_line));
        }
        drop(work);

        let checked = Rc::new(RefCell::new(VecDeque::new()));
        let blocks = BlockReader { in_order, current: None, at: 0, checked: Rc::clone(&checked), recycle };
        let mut lines = LineReader::new(blocks, max_line);
        // The block reader queues each block's results as it reaches the block.
        let result = merge_in_order(&mut lines, opts, &checked, |_| {}, || {}, &mut sink);
        // Dropping the reader closes the channels, so the threads end even after an error here.
        drop(lines);
        let read = reading.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let report = result?;
        read?;
        Ok(report)
    })
}

/// A block's bytes, shared by its worker and the calling thread. A `Vec`, not a slice, so that the
/// calling thread can take it back whole (`Arc::try_unwrap`) and the reader refill it.
#[allow(clippy::rc_buffer)]
type SharedBlock = Arc<Vec<u8>>;
/// A block for a worker: where it starts, its bytes, and where its results go.
type Job = (u64, SharedBlock, SyncSender<Vec<Checked>>);
/// A block for the calling thread, with its worker's results to come.
type InOrder = (SharedBlock, Receiver<Vec<Checked>>);

fn read_blocks<R: Read>(
    mut reader: R,
    block_size: usize,
    to_work: SyncSender<Job>,
    to_merge: SyncSender<InOrder>,
    recycled: Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut offset = 0u64;
    loop {
        let mut block = recycled.try_recv().unwrap_or_else(|_| vec![0; block_size]);
        block.resize(block_size, 0);
        let mut filled = 0;
        while filled < block_size {
            match reader.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        block.truncate(filled);
        let block = Arc::new(block);
        let (done, results) = mpsc::sync_channel(1);
        // Either side gone means the calling thread stopped early; it reports why.
        if to_work.send((offset, Arc::clone(&block), done)).is_err() || to_merge.send((block, results)).is_err() {
            return Ok(());
        }
        offset += filled as u64;
        if filled < block_size {
            return Ok(());
        }
    }
}

fn check_blocks(work: &Mutex<Receiver<Job>>, check: fn(&str) -> Option<RecordText>, max_line: usize) {
    loop {
        let job = work.lock().map(|queue| queue.recv());
        let Ok(Ok((offset, block, done))) = job else { return };
        let results = check_lines(offset, &block, check, max_line);
        // The calling thread takes the block back only once it has the results, so it can reuse it.
        drop(block);
        let _ = done.send(results);
    }
}

/// The stateless checks on each line wholly inside the block, as `State::line` would make them. The
/// first line of the stream is left to the calling thread (a byte-order mark, the first record's
/// file-level checks), as is a line cut by the block's start or end.
fn check_lines(offset: u64, block: &[u8], check: fn(&str) -> Option<RecordText>, max_line: usize) -> Vec<Checked> {
    let mut results = Vec::new();
    let mut start = match memchr::memchr(b'\n', block) {
        Some(at) => at + 1,
        None => return results,
    };
    while let Some(at) = memchr::memchr(b'\n', &block[start..]) {
        let end = start + at;
        let mut line = &block[start..end];
        let within_cap = line.len() <= max_line;
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if within_cap
            && !line.iter().all(u8::is_ascii_whitespace)
            && let Ok(text) = simdutf8::basic::from_utf8(line)
            && let Some(text) = check(text)
        {
            let hash = xxhash_rust::xxh3::xxh3_64(line);
            results.push(Checked { offset: offset + start as u64, len: line.len(), hash, text });
        }
        start = end + 1;
    }
    results
}

/// The worker's result for the line at `offset` of `len` bytes, if a worker checked that line.
fn take_checked(checked: &mut VecDeque<Checked>, offset: u64, len: usize) -> Option<Checked> {
    while checked.front().is_some_and(|c| c.offset < offset) {
        checked.pop_front();
    }
    if checked.front().is_some_and(|c| c.offset == offset && c.len == len) { checked.pop_front() } else { None }
}

/// The blocks again, in order, as one stream; each block's results join the queue as it is reached,
/// before any of its lines can be.
struct BlockReader {
    in_order: Receiver<InOrder>,
    current: Option<SharedBlock>,
    at: usize,
    checked: Rc<RefCell<VecDeque<Checked>>>,
    recycle: mpsc::Sender<Vec<u8>>,
}

impl Read for BlockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(block) = &self.current
                && self.at < block.len()
            {
                let n = buf.len().min(block.len() - self.at);
                buf[..n].copy_from_slice(&block[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if let Some(done) = self.current.take()
                && let Ok(block) = Arc::try_unwrap(done)
            {
                let _ = self.recycle.send(block);
            }
            let Ok((block, results)) = self.in_order.recv() else {
                // The reader is done (or failed: it says so when joined).
                return Ok(0);
            };
            // A worker that died leaves no results: its lines are simply checked here.
            if let Ok(results) = results.recv() {
                self.checked.borrow_mut().extend(results);
            }
            self.current = Some(block);
            self.at = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CustomizationType::{ContinuedPreTraining, FineTuning};
    use crate::validate::test_support::opts;

    /// What a pass hands its sink, owned.
    type Seen = Vec<(u64, u64, Vec<u8>, u64, Option<u32>, u64)>;

    /// Runs one way of validating, keeping an owned copy of every record it hands its sink.
    fn collect(validate: impl FnOnce(&mut dyn FnMut(&Record<'_>)) -> io::Result<Report>) -> (Report, Seen) {
        let mut seen = Vec::new();
        let report =
            validate(&mut |r| seen.push((r.line, r.offset, r.bytes.to_vec(), r.hash, r.class, r.tokens))).unwrap();
        (report, seen)
    }

    fn one_pass(opts: &Options, data: &[u8]) -> (Report, Seen) {
        collect(|sink| crate::validate::validate_reader(data, opts, sink))
    }

    fn in_blocks(opts: &Options, data: &[u8], workers: usize, block: usize) -> (Report, Seen) {
        collect(|sink| validate_in_blocks(data, opts, workers, block, sink))
    }

    fn in_memory(opts: &Options, data: &[u8], workers: usize, block: usize) -> (Report, Seen) {
        collect(|sink| validate_slice_in_blocks(data, opts, workers, block, sink))
    }

    /// Every kind of line the one pass treats specially, in a file cut into blocks of many sizes
    /// (lines across blocks, blocks inside one line), streamed or in memory: the same report, the
    /// same records, in order.
    #[test]
    fn blocks_and_workers_change_nothing_in_the_report_or_the_records() {
        let cpt = opts("amazon.titan-text-express-v1", ContinuedPreTraining);
        let pc = opts("amazon.titan-text-express-v1:0:8k", FineTuning);
        let mut corpus = Vec::new();
        corpus.extend_from_slice("\u{feff}\n\n{\"input\": \"first after blanks\"}\r\n".as_bytes());
        for i in 0..400 {
            let line = match i % 11 {
                0 => "{\"input\": \"dup\"}".to_string(),
                1 => format!("{{\"input\": \"escaped \\\"{i}\\\" \\u00e9 数据\"}}"),
                2 => "   ".to_string(),
                3 => format!("{{\"input\": {i}}}"),
                4 => format!("{{\"input\": \"{}\"}}", "long ".repeat(i)),
                5 => format!("{{\"input\": \"x{i}\", \"extra\": 1}}"),
                6 => "{\"input\": \"bad \u{1}\"}".to_string(),
                7 => format!("{{\"text\": \"{i}\"}}"),
                _ => format!("{{\"input\": \"record {i}\"}}"),
            };
            corpus.extend_from_slice(line.as_bytes());
            corpus.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        corpus.extend_from_slice(&[b'{', 0xff, b'}', b'\n']);
        corpus.extend_from_slice(b"{\"input\": \"unterminated\"");
        let mut pcs = Vec::new();
        for i in 0..300 {
            let line = match i % 7 {
                0 => "{\"prompt\": \"p\", \"completion\": \"same\"}".to_string(),
                1 => format!("{{\"prompt\": \"q{i}\", \"completion\": \"\"}}"),
                2 => format!("{{\"prompt\": \"q{i}\\n\", \"completion\": \"label {}\"}}", i % 4),
                _ => format!("{{\"prompt\": \"question {i}\", \"completion\": \"answer {}\"}}", i % 5),
            };
            pcs.extend_from_slice(line.as_bytes());
            pcs.push(b'\n');
        }
        let csv = b"prompt,completion\n{\"prompt\": \"a\", \"completion\": \"b\"}\n".to_vec();
        let array = b"[{\"input\": \"a\"},\n{\"input\": \"b\"}]\n".to_vec();
        for (opts, data) in [(&cpt, &corpus), (&pc, &pcs), (&pc, &csv), (&cpt, &array)] {
            let expected = one_pass(opts, data);
            for block in [7, 64, 1000, 4096, 1 << 20] {
                for workers in [1, 3] {
                    let streamed = in_blocks(opts, data, workers, block);
                    let mapped = in_memory(opts, data, workers, block);
                    for (how, got) in [("streamed", streamed), ("in memory", mapped)] {
                        assert_eq!(
                            serde_json::to_value(&got.0).unwrap(),
                            serde_json::to_value(&expected.0).unwrap(),
                            "{how}, block {block}, {workers} workers"
                        );
                        assert_eq!(got.1, expected.1, "{how}, block {block}, {workers} workers");
                    }
                }
            }
        }
        // The corpus exercised the paths it is meant to.
        let (report, seen) = one_pass(&cpt, &corpus);
        assert!(report.error_count > 100 && report.warning_count > 100, "{report:?}");
        assert!(seen.len() > 100);
    }

    /// A line longer than the record cap is skipped, not held, in blocks as in one pass.
    #[test]
    fn a_line_over_the_cap_is_reported_the_same_way() {
        let mut cpt = opts("amazon.titan-text-express-v1", ContinuedPreTraining);
        cpt.max_line_bytes = 100;
        let data = format!("{{\"input\": \"a\"}}\n{{\"input\": \"{}\"}}\n{{\"input\": \"b\"}}\n", "z".repeat(300));
        let expected = one_pass(&cpt, data.as_bytes());
        for block in [16, 90, 200, 4096] {
            for got in [in_blocks(&cpt, data.as_bytes(), 2, block), in_memory(&cpt, data.as_bytes(), 2, block)] {
                assert_eq!(serde_json::to_value(&got.0).unwrap(), serde_json::to_value(&expected.0).unwrap());
                assert_eq!(got.1, expected.1);
            }
        }
        assert_eq!(expected.1.len(), 2);
    }

    /// A read error is the caller's error, after the threads have stopped.
    #[test]
    fn a_read_error_is_returned() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                let line = b"{\"input\": \"x\"}\n";
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line[..n]);
                self.0 -= 1;
                Ok(n)
            }
        }
        let cpt = opts("amazon.titan-text-express-v1", ContinuedPreTraining);
        let err = validate_in_blocks(Failing(50), &cpt, 2, 64, |_| {}).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
    }
}
