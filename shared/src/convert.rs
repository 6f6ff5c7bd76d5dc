//! A dataset given as one JSON array (`[{...}, {...}]`, a common mistake of the blog guide's users)
//! turned into JSON Lines, one record per line, so `prepare` can go on instead of only refusing it.
//!
//! Streaming: the input is read in chunks and each element is written as soon as it is complete, so
//! memory is bounded by the largest record (capped, like the validator's longest line), not by the
//! file. Whitespace outside strings is dropped (a pretty-printed record becomes one line); nothing
//! else changes, and elements are not validated here: the validator that reads the output reports a
//! bad record by its line, which is its position in the array. The user's file is never modified.

use crate::validate::MAX_LINE_BYTES_CAP;
use std::io::{self, BufRead, BufReader, Read, Write};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    pub records: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl Conversion {
    /// The sentence `prepare` prints.
    pub fn note(&self) -> String {
        format!(
            "the file is one JSON array, not JSON Lines: converted its {} record{} to JSON Lines, one per line \
             (your file is unchanged); line N below is the array's N-th record",
            self.records,
            if self.records == 1 { "" } else { "s" }
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("the file does not start with `[`; it is not a JSON array")]
    NotAnArray,
    #[error("the array ends early, inside record {record} (at byte {offset}); the file looks truncated")]
    Truncated { record: u64, offset: u64 },
    #[error("record {record} is larger than {limit} bytes; split it or check the file is what you meant")]
    RecordTooLarge { record: u64, limit: usize },
    #[error(
        "record {record} has a raw line break inside a string (byte {offset}), which JSON does not allow; write it as \\n"
    )]
    LineBreakInString { record: u64, offset: u64 },
    #[error("byte {offset}: expected {expected} after record {record}, found `{found}`")]
    Unexpected { record: u64, offset: u64, expected: &'static str, found: char },
    #[error("byte {offset}: more data after the array's closing `]`")]
    TrailingData { offset: u64 },
}

/// True when the first bytes of a file (after a byte-order mark and whitespace) open a JSON array.
pub fn looks_like_json_array(head: &[u8]) -> bool {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Converts with the validator's record cap ([`MAX_LINE_BYTES_CAP`]).
pub fn array_to_jsonl<R: Read, W: Write>(reader: R, writer: W) -> Result<Conversion, ConvertError> {
    array_to_jsonl_with_limit(reader, writer, MAX_LINE_BYTES_CAP)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the `[` (a BOM and whitespace are skipped).
    Start,
    /// After `[` or a comma: a record or (right after `[`) the closing `]`.
    BeforeRecord { first: bool },
    /// Inside a record.
    InRecord,
    /// After a record: a comma or `]`.
    AfterRecord,
    /// After the closing `]`: only whitespace.
    End,
}

pub fn array_to_jsonl_with_limit<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    limit: usize,
) -> Result<Conversion, ConvertError> {
    // A byte-order mark is skipped; the first bytes are read one by one as the reader gives them.
    let mut head = Vec::with_capacity(3);
    while head.len() < 3 {
        let mut bytes = [0u8; 3];
        match reader.read(&mut bytes[..3 - head.len()]) {
            Ok(0) => break,
            Ok(got) => head.extend_from_slice(&bytes[..got]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (head, mut offset) = if head == BOM { (Vec::new(), BOM.len() as u64) } else { (head, 0) };
    let mut input = BufReader::with_capacity(64 * 1024, io::Cursor::new(head).chain(reader));
    let mut state = State::Start;
    let mut record = Vec::new();
    let (mut records, mut written) = (0u64, 0u64);
    // Inside a record: nesting depth, whether in a string, whether the last byte was a backslash.
    let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        for &b in chunk {
            match state {
                State::Start => match b {
                    b'[' => state = State::BeforeRecord { first: true },
                    b if b.is_ascii_whitespace() => {}
                    _ => return Err(ConvertError::NotAnArray),
                },
                State::BeforeRecord { first } => match b {
                    b if b.is_ascii_whitespace() => {}
                    b']' if first => state = State::End,
                    b']' => {
                        return Err(ConvertError::Unexpected {
                            record: records,
                            offset,
                            expected: "a record after the comma",
                            found: ']',
                        });
                    }
                    b',' => {
                        return Err(ConvertError::Unexpected {
                            record: records,
                            offset,
                            expected: "a record",
                            found: ',',
                        });
                    }
                    _ => {
                        records += 1;
                        record.clear();
                        depth = 0;
                        in_string = false;
                        escaped = false;
                        state = State::InRecord;
                        // The first byte is handled as part of the record below.
                        if let Some(next) =
                            record_byte(b, &mut record, &mut depth, &mut in_string, &mut escaped, records, offset)?
                        {
                            state = next;
                        }
                        if state == State::AfterRecord {
                            written += flush(&mut writer, &record)?;
                        }
                    }
                },
                State::InRecord => {
                    // A bare value (number, true, ...) ends at a comma, `]` or whitespace.
                    if depth == 0 && !in_string && matches!(b, b',' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        written += flush(&mut writer, &record)?;
                        state = match b {
                            b',' => State::BeforeRecord { first: false },
                            b']' => State::End,
                            _ => State::AfterRecord,
                        };
                    } else {
                        if record.len() >= limit {
                            return Err(ConvertError::RecordTooLarge { record: records, limit });
                        }
                        if let Some(next) =
                            record_byte(b, &mut record, &mut depth, &mut in_string, &mut escaped, records, offset)?
                        {
                            state = next;
                            written += flush(&mut writer, &record)?;
                        }
                    }
                }
                State::AfterRecord => match b {
                    b',' => state = State::BeforeRecord { first: false },
                    b']' => state = State::End,
                    b if b.is_ascii_whitespace() => {}
                    other => {
                        return Err(ConvertError::Unexpected {
                            record: records,
                            offset,
                            expected: "`,` or `]`",
                            found: char::from(other),
                        });
                    }
                },
                State::End => {
                    if !b.is_ascii_whitespace() {
                        return Err(ConvertError::TrailingData { offset });
                    }
                }
            }
            offset += 1;
        }
        let len = chunk.len();
        input.consume(len);
    }
    match state {
        State::End => {
            writer.flush()?;
            Ok(Conversion { records, bytes_read: offset, bytes_written: written })
        }
        State::Start => Err(ConvertError::NotAnArray),
        _ => Err(ConvertError::Truncated { record: records.max(1), offset }),
    }
}

/// Adds one byte of a record; returns the next state when the byte completes it.
fn record_byte(
    b: u8,
    record: &mut Vec<u8>,
    depth: &mut u32,
    in_string: &mut bool,
    escaped: &mut bool,
    index: u64,
    offset: u64,
) -> Result<Option<State>, ConvertError> {
    if *in_string {
        match b {
            b'\n' | b'\r' => return Err(ConvertError::LineBreakInString { record: index, offset }),
            _ if *escaped => *escaped = false,
            b'\\' => *escaped = true,
            b'"' => *in_string = false,
            _ => {}
        }
        record.push(b);
        // A bare string record ends with its closing quote.
        return Ok((*depth == 0 && !*in_string).then_some(State::AfterRecord));
    }
    match b {
        b' ' | b'\t' | b'\n' | b'\r' => return Ok(None),
        b'"' => *in_string = true,
        b'{' | b'[' => *depth += 1,
        b'}' | b']' => {
            // An unbalanced closer: kept, and the validator reports the record as invalid JSON.
            *depth = depth.saturating_sub(1);
            record.push(b);
            return Ok((*depth == 0).then_some(State::AfterRecord));
        }
        _ => {}
    }
    record.push(b);
    Ok(None)
}

fn flush(writer: &mut impl Write, record: &[u8]) -> io::Result<u64> {
    writer.write_all(record)?;
    writer.write_all(b"\n")?;
    Ok(record.len() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn convert(input: &str) -> Result<(String, Conversion), ConvertError> {
        let mut out = Vec::new();
        let c = array_to_jsonl(input.as_bytes(), &mut out)?;
        Ok((String::from_utf8(out).unwrap(), c))
    }

    #[test]
    fn a_pretty_printed_array_becomes_one_record_per_line() {
        let records = json!([
            {"prompt": "a [tricky] {one}, with \"quotes\" and \\ backslash", "completion": "x"},
            {"messages": [{"role": "user", "content": [{"text": "héllo 🌍 \u{0007}"}]}], "n": [1, 2.5, -3e2, true, null]},
            {}
        ]);
        let pretty = serde_json::to_string_pretty(&records).unwrap();
        let (out, c) = convert(&format!("\u{feff}\r\n  {pretty}\r\n\n")).unwrap();
        assert_eq!(c.records, 3);
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(Value::Array(lines), records);
        assert_eq!(c.bytes_written, out.len() as u64);
        assert!(c.note().contains("converted its 3 records to JSON Lines"));
        // Already-compact input is copied byte for byte.
        let compact = r#"[{"a":"b c"},{"d":[1,{"e":"]"}]}]"#;
        assert_eq!(convert(compact).unwrap().0, "{\"a\":\"b c\"}\n{\"d\":[1,{\"e\":\"]\"}]}\n");
    }

    #[test]
    fn bare_values_pass_through_for_the_validator_to_judge() {
        let (out, c) = convert(r#"[1, "two" ,true,null , [3]]"#).unwrap();
        assert_eq!(out, "1\n\"two\"\ntrue\nnull\n[3]\n");
        assert_eq!(c.records, 5);
        assert_eq!(convert("[]").unwrap().1.records, 0);
        assert_eq!(convert("  [ ]  ").unwrap().0, "");
    }

    #[test]
    fn broken_arrays_are_refused_with_where() {
        let err = |s: &str| convert(s).unwrap_err().to_string();
        assert_eq!(err(r#"{"a": 1}"#), "the file does not start with `[`; it is not a JSON array");
        assert_eq!(err(""), "the file does not start with `[`; it is not a JSON array");
        assert_eq!(
            err(r#"[{"a": 1}, {"b": "#),
            "the array ends early, inside record 2 (at byte 17); the file looks truncated"
        );
        assert_eq!(err(r#"[{"a": 1}"#), "the array ends early, inside record 1 (at byte 9); the file looks truncated");
        assert_eq!(err(r#"[{"a": 1} {"b": 2}]"#), "byte 10: expected `,` or `]` after record 1, found `{`");
        assert_eq!(err(r#"[{"a": 1},]"#), "byte 10: expected a record after the comma after record 1, found `]`");
        assert_eq!(err(r#"[{"a": 1}] x"#), "byte 11: more data after the array's closing `]`");
        assert!(
            err("[{\"a\": \"line\nbreak\"}]").starts_with("record 1 has a raw line break inside a string (byte 12)")
        );
        let mut out = Vec::new();
        let e = array_to_jsonl_with_limit(r#"[{"a": "0123456789"}]"#.as_bytes(), &mut out, 8).unwrap_err();
        assert_eq!(e.to_string(), "record 1 is larger than 8 bytes; split it or check the file is what you meant");
    }

    #[test]
    fn a_converted_array_validates_like_the_jsonl_it_came_from() {
        use crate::validate::{Options, validate_reader};
        let plan = crate::sample::Plan::new(
            "amazon.nova-micro-v1:0",
            crate::CustomizationType::FineTuning,
            crate::sample::Task::Classification,
            Some(40),
            5,
        )
        .unwrap();
        let records: Vec<Value> = plan.to_jsonl().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let (out, c) = convert(&serde_json::to_string_pretty(&records).unwrap()).unwrap();
        assert_eq!(c.records, 40);
        let options = Options::new(plan.model.id, plan.customization.kind).unwrap();
        let report = validate_reader(out.as_bytes(), &options, |_| {}).unwrap();
        assert!(report.valid && report.records == 40, "{:?}", report.errors);
    }

    #[test]
    fn detection_skips_bom_and_whitespace() {
        assert!(looks_like_json_array(b"\xEF\xBB\xBF \n [{"));
        assert!(!looks_like_json_array(b"{\"a\": [1]}\n"));
        assert!(!looks_like_json_array(b""));
    }

    /// A reader that produces a large array without holding it: memory stays bounded by one record.
    struct Generated {
        next: u64,
        total: u64,
        pending: Vec<u8>,
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                if self.next > self.total {
                    return Ok(0);
                }
                self.pending = match self.next {
                    0 => b"[\n".to_vec(),
                    n if n == self.total => b"\n]\n".to_vec(),
                    n => {
                        format!("{}  {{\n    \"input\": \"record {n} [x] {{y}}\"\n  }}", if n > 1 { ",\n" } else { "" })
                            .into_bytes()
                    }
                };
                self.next += 1;
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn a_large_array_streams_through_a_small_record_limit() {
        let total = 200_000;
        let mut lines = 0u64;
        struct Count<'a>(&'a mut u64);
        impl Write for Count<'_> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                *self.0 += buf.iter().filter(|b| **b == b'\n').count() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        // Each record is ~40 bytes; a 64-byte limit proves no more than one record is held.
        let c = array_to_jsonl_with_limit(Generated { next: 0, total, pending: Vec::new() }, Count(&mut lines), 64)
            .unwrap();
        assert_eq!(c.records, total - 1);
        assert_eq!(lines, total - 1);
        assert!(c.bytes_read > 8_000_000);
    }

    #[test]
    fn a_bom_split_across_reads_is_skipped() {
        struct Trickle(Vec<u8>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0.remove(0);
                Ok(1)
            }
        }
        let mut out = Vec::new();
        let c = array_to_jsonl(Trickle(b"\xEF\xBB\xBF[{\"a\": 1}]".to_vec()), &mut out).unwrap();
        assert_eq!((c.records, out.as_slice()), (1, &b"{\"a\":1}\n"[..]));
    }
}
