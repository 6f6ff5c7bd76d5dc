//! Splits a byte stream into lines with bounded memory: a line longer than the cap is skipped over
//! (counted, never buffered whole), so a 60 MB single line costs no more memory than a short one.

use std::borrow::Cow;
use std::io::{self, Read};

const CHUNK: usize = 256 * 1024;

/// One line, without its terminator (`\n`, and a `\r` before it).
#[derive(Debug)]
pub enum Line<'a> {
    Text {
        /// 1-based line number.
        number: u64,
        /// Byte offset of the line's first byte in the stream (after a BOM on line 1).
        offset: u64,
        bytes: &'a [u8],
        /// The line ended with `\n` (false only for a last line without one).
        terminated: bool,
        crlf: bool,
    },
    TooLong {
        number: u64,
        offset: u64,
        /// The line's full length in bytes.
        len: u64,
        terminated: bool,
    },
}

pub struct LineReader<'a, R> {
    inner: R,
    /// The stream's bytes, read into a buffer of our own, or the whole stream when it is in memory.
    buf: Cow<'a, [u8]>,
    start: usize,
    end: usize,
    eof: bool,
    number: u64,
    offset: u64,
    max_line: usize,
    pub bom: bool,
    pub bytes_read: u64,
}

impl<R: Read> LineReader<'static, R> {
    pub fn new(inner: R, max_line: usize) -> Self {
        LineReader {
            inner,
            buf: Cow::Owned(vec![0; CHUNK.max(max_line.min(CHUNK))]),
            start: 0,
            end: 0,
            eof: false,
            number: 0,
            offset: 0,
            max_line: max_line.max(1),
            bom: false,
            bytes_read: 0,
        }
    }
}

impl<'a> LineReader<'a, io::Empty> {
    /// The lines of bytes already in memory, read where they lie, without a copy.
    pub fn over(data: &'a [u8], max_line: usize) -> Self {
        LineReader {
            inner: io::empty(),
            buf: Cow::Borrowed(data),
            start: 0,
            end: data.len(),
            eof: true,
            number: 0,
            offset: 0,
            max_line: max_line.max(1),
            bom: false,
            bytes_read: data.len() as u64,
        }
    }
}

impl<R: Read> LineReader<'_, R> {
    /// Reads more bytes after `end`, growing the buffer up to the line cap. Returns bytes read. Never
    /// called once the stream has ended, so never on bytes `over` borrowed.
    fn fill(&mut self) -> io::Result<usize> {
        let buf = self.buf.to_mut();
        if self.start > 0 && (self.end == buf.len() || self.start == self.end) {
            buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == buf.len() {
            let grown = (buf.len() * 2).min(self.max_line + CHUNK).max(self.end + CHUNK);
            buf.resize(grown, 0);
        }
        loop {
            match self.inner.read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.bytes_read += n as u64;
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut searched = 0;
        loop {
            let window = &self.buf[self.start + searched..self.end];
            if let Some(at) = memchr::memchr(b'\n', window) {
                let line_end = self.start + searched + at;
                // Over the cap however much of it happened to be buffered: the verdict must not
                // depend on how the stream was read.
                if line_end - self.start > self.max_line {
                    return Ok(Some(self.take_too_long(line_end)));
                }
                return Ok(Some(self.take(line_end, true)));
            }
            searched = self.end - self.start;
            if searched > self.max_line {
                return self.skip_long_line().map(Some);
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                return Ok(Some(self.take(self.end, false)));
            }
            self.fill()?;
        }
    }

    fn take(&mut self, line_end: usize, terminated: bool) -> Line<'_> {
        self.number += 1;
        let mut from = self.start;
        let consumed = line_end - from + usize::from(terminated);
        let mut offset = self.offset;
        self.offset += consumed as u64;
        self.start = line_end + usize::from(terminated);
        if self.number == 1 && self.buf[from..line_end].starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.bom = true;
            from += 3;
            offset += 3;
        }
        let mut bytes = &self.buf[from..line_end];
        let crlf = bytes.last() == Some(&b'\r');
        if crlf {
            bytes = &bytes[..bytes.len() - 1];
        }
        Line::Text { number: self.number, offset, bytes, terminated, crlf }
    }

    /// An over-long line that is wholly in the buffer, up to its newline at `line_end`.
    fn take_too_long(&mut self, line_end: usize) -> Line<'static> {
        self.number += 1;
        let len = (line_end - self.start) as u64;
        let offset = self.offset;
        self.offset += len + 1;
        self.start = line_end + 1;
        Line::TooLong { number: self.number, offset, len, terminated: true }
    }

    /// Discards the rest of an over-long line, reading until its newline or the end.
    fn skip_long_line(&mut self) -> io::Result<Line<'static>> {
        self.number += 1;
        let offset = self.offset;
        let mut len = 0u64;
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(at) = memchr::memchr(b'\n', window) {
                len += at as u64;
                self.start += at + 1;
                self.offset += len + 1;
                return Ok(Line::TooLong { number: self.number, offset, len, terminated: true });
            }
            len += window.len() as u64;
            self.start = self.end;
            if self.eof || self.fill()? == 0 {
                self.offset += len;
                return Ok(Line::TooLong { number: self.number, offset, len, terminated: false });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = Vec<(u64, u64, String, bool, bool)>;

    /// The lines read from a stream, after checking that reading them in memory gives the same.
    fn lines(input: &[u8], max: usize) -> Seen {
        let streamed = collect(LineReader::new(input, max));
        assert_eq!(collect(LineReader::over(input, max)), streamed, "in memory");
        streamed
    }

    fn collect<R: Read>(mut r: LineReader<'_, R>) -> Seen {
        let mut out = vec![];
        while let Some(line) = r.next_line().unwrap() {
            out.push(match line {
                Line::Text { number, offset, bytes, terminated, crlf } => {
                    (number, offset, String::from_utf8_lossy(bytes).into_owned(), terminated, crlf)
                }
                Line::TooLong { number, offset, len, terminated } => {
                    (number, offset, format!("<{len}>"), terminated, false)
                }
            });
        }
        out
    }

    #[test]
    fn splits_lf_and_crlf_and_keeps_an_unterminated_last_line() {
        let got = lines(b"a\r\nbb\n\nccc", 100);
        assert_eq!(
            got,
            vec![
                (1, 0, "a".into(), true, true),
                (2, 3, "bb".into(), true, false),
                (3, 6, "".into(), true, false),
                (4, 7, "ccc".into(), false, false)
            ]
        );
    }

    /// Whether a line is over the cap does not depend on how much of it one read returned.
    #[test]
    fn a_line_over_the_cap_is_too_long_however_the_stream_is_read() {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = b"ok\n0123456789\nend\n";
        for step in [1, 3, 5, 100] {
            let mut r = LineReader::new(Trickle(input, step), 8);
            let mut got = vec![];
            while let Some(line) = r.next_line().unwrap() {
                got.push(match line {
                    Line::Text { number, offset, .. } => (number, offset, None),
                    Line::TooLong { number, offset, len, .. } => (number, offset, Some(len)),
                });
            }
            assert_eq!(got, vec![(1, 0, None), (2, 3, Some(10)), (3, 14, None)], "reads of {step} bytes");
        }
    }

    #[test]
    fn strips_a_bom_and_reports_it() {
        let mut r = LineReader::new(&b"\xEF\xBB\xBFx\ny\n"[..], 100);
        let first = match r.next_line().unwrap().unwrap() {
            Line::Text { bytes, .. } => bytes.to_vec(),
            _ => unreachable!(),
        };
        assert_eq!(first, b"x");
        assert!(r.bom);
    }

    #[test]
    fn skips_an_over_long_line_without_buffering_it() {
        let mut input = vec![b'x'; 3 * CHUNK + 17];
        input.extend_from_slice(b"\nshort\n");
        input.extend(vec![b'y'; 2 * CHUNK]);
        let got = lines(&input, 1000);
        assert_eq!(got[0], (1, 0, format!("<{}>", 3 * CHUNK + 17), true, false));
        assert_eq!(got[1].2, "short");
        assert_eq!(got[2], (3, (3 * CHUNK + 17 + 7) as u64, format!("<{}>", 2 * CHUNK), false, false));
    }

    #[test]
    fn lines_longer_than_a_chunk_but_under_the_cap_are_whole() {
        let mut input = vec![b'z'; CHUNK * 2 + 5];
        input.push(b'\n');
        let got = lines(&input, CHUNK * 4);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2.len(), CHUNK * 2 + 5);
    }

    #[test]
    fn reads_through_a_reader_that_returns_one_byte_at_a_time() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let mut r = LineReader::new(Trickle(b"\xEF\xBB\xBFab\ncd"), 100);
        let mut got = vec![];
        while let Some(Line::Text { bytes, .. }) = r.next_line().unwrap() {
            got.push(bytes.to_vec());
        }
        assert_eq!(got, vec![b"ab".to_vec(), b"cd".to_vec()]);
    }
}
