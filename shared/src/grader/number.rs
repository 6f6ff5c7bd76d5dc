//! Reading the number a model's response gives as its answer.
//!
//! [`last_number`] takes the last number inside the last `\boxed{...}` (LaTeX answers), else the first
//! number after the last `####` (GSM8K-style answers), else the LAST number of the whole text, so a
//! worked solution ending in its result is read right. What counts as a number:
//!
//! - digits with an optional decimal part and exponent: `42`, `3.14`, `.5`, `1e-3`, `2.5E+4`;
//! - a sign written right before the digits: `-7`, `+7`, `−7` (U+2212), when what precedes it is not a
//!   letter, digit or closing bracket: in `x-3` and `5-3` the minus is an operator and the number is 3,
//!   and in `10 - 3` too (a sign must touch its digits);
//! - thousands separators as commas between groups of exactly three digits: `1,234,567.5`; `3,14`
//!   (a decimal comma) reads as 3 and 14, and `1,2,3` as three numbers;
//! - fractions of whole numbers, `3/4` and LaTeX `\frac{3}{4}` (`\dfrac`, `\tfrac`; a sign before the
//!   backslash counts): 0.75. A zero denominator is not a number; a date such as `12/25` reads as a
//!   fraction, so boxed answers are the safe form;
//! - units and symbols around a number are ignored: `$1,200` is 1200 and `50%` is 50 (not 0.5).
//!
//! Bytes are scanned once, without allocating.

/// The number a response gives as its answer (see the module docs), or `None` when it has none.
pub fn last_number(text: &str) -> Option<f64> {
    if let Some(n) = last_boxed(text).and_then(scan_last) {
        return Some(n);
    }
    if let Some(at) = text.rfind("####")
        && let Some(n) = scan_first(&text[at + 4..])
    {
        return Some(n);
    }
    scan_last(text)
}

/// Every number in `text`, in order (what [`last_number`] chooses from).
pub fn numbers(text: &str) -> Vec<f64> {
    let mut all = Vec::new();
    scan(text.as_bytes(), |n| all.push(n));
    all
}

/// A reference answer given as text: the whole text when it is one number, else its last number.
pub fn reference_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    trimmed.parse::<f64>().ok().filter(|n| n.is_finite()).or_else(|| last_number(trimmed))
}

fn scan_first(text: &str) -> Option<f64> {
    let mut first = None;
    scan(text.as_bytes(), |n| {
        first.get_or_insert(n);
    });
    first
}

fn scan_last(text: &str) -> Option<f64> {
    let mut last = None;
    scan(text.as_bytes(), |n| last = Some(n));
    last
}

/// The content of the last `\boxed{...}`, braces balanced (to the end of the text when unclosed).
fn last_boxed(text: &str) -> Option<&str> {
    let start = text.rfind("\\boxed{")? + "\\boxed{".len();
    let mut depth = 1usize;
    for (i, b) in text[start..].bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + i]);
                }
            }
            _ => {}
        }
    }
    Some(&text[start..])
}

const UNICODE_MINUS: &[u8] = "−".as_bytes();

fn scan(b: &[u8], mut found: impl FnMut(f64)) {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (negative, start) = match c {
            b'0'..=b'9' => (false, i),
            b'.' if digit_at(b, i + 1) => (false, i),
            b'-' | b'+' if sign_allowed(b, i) && number_starts(b, i + 1) => (c == b'-', i + 1),
            0xE2 if b[i..].starts_with(UNICODE_MINUS) => {
                if sign_allowed(b, i) && number_starts(b, i + UNICODE_MINUS.len()) {
                    (true, i + UNICODE_MINUS.len())
                } else {
                    i += UNICODE_MINUS.len();
                    continue;
                }
            }
            b'\\' => {
                match latex_fraction(b, i) {
                    Some((value, end)) => {
                        let negative = i > 0 && b[i - 1] == b'-' && sign_allowed(b, i - 1);
                        found(if negative { -value } else { value });
                        i = end;
                    }
                    None => i += 1,
                }
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // A run too long or too large for an f64 is skipped whole (never rescanned digit by digit).
        let (value, end) = number_at(b, start);
        if let Some(value) = value {
            found(if negative { -value } else { value });
        }
        i = end;
    }
}

fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

fn number_starts(b: &[u8], i: usize) -> bool {
    digit_at(b, i) || (b.get(i) == Some(&b'.') && digit_at(b, i + 1))
}

/// A sign is a sign unless it follows a letter, a digit or a closing bracket (then it is an operator).
fn sign_allowed(b: &[u8], i: usize) -> bool {
    i == 0 || !(b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b')' | b']' | b'}'))
}

/// Digits collected for `str::parse`, on the stack for any realistic number.
struct Digits {
    buf: [u8; 64],
    len: usize,
    overflow: bool,
}

impl Digits {
    fn new() -> Self {
        Digits { buf: [0; 64], len: 0, overflow: false }
    }
    fn push(&mut self, byte: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = byte;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }
    fn parse(&self) -> Option<f64> {
        if self.overflow {
            return None;
        }
        // Only ASCII digits, '.', 'e' and signs were pushed.
        std::str::from_utf8(&self.buf[..self.len]).ok()?.parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

/// The unsigned number starting at `start` (a digit, or '.' before a digit) and where it ends; the
/// value is `None` when it does not fit an f64 (or 64 characters).
fn number_at(b: &[u8], start: usize) -> (Option<f64>, usize) {
    let mut d = Digits::new();
    let mut j = start;
    if b[j] == b'.' {
        d.push(b'0');
    }
    while digit_at(b, j) {
        d.push(b[j]);
        j += 1;
    }
    let integer_digits = j - start;
    // Thousands groups: `1,234` but not `1,2345` nor `12345,678`.
    if (1..=3).contains(&integer_digits) {
        while b.get(j) == Some(&b',') && (1..=3).all(|k| digit_at(b, j + k)) && !digit_at(b, j + 4) {
            for k in 1..=3 {
                d.push(b[j + k]);
            }
            j += 4;
        }
    }
    let mut whole = true;
    if b.get(j) == Some(&b'.') && digit_at(b, j + 1) {
        whole = false;
        d.push(b'.');
        j += 1;
        while digit_at(b, j) {
            d.push(b[j]);
            j += 1;
        }
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        let sign = matches!(b.get(k), Some(b'+' | b'-'));
        if sign {
            k += 1;
        }
        if digit_at(b, k) {
            whole = false;
            d.push(b'e');
            if sign {
                d.push(b[j + 1]);
            }
            while digit_at(b, k) {
                d.push(b[k]);
                k += 1;
            }
            j = k;
        }
    }
    let Some(value) = d.parse() else {
        return (None, j);
    };
    // `3/4`: a fraction of whole numbers.
    if whole && b.get(j) == Some(&b'/') && digit_at(b, j + 1) {
        let mut k = j + 1;
        let mut denominator = Digits::new();
        while digit_at(b, k) {
            denominator.push(b[k]);
            k += 1;
        }
        // `1/2.5` or `3/4/5` is not a simple fraction: read the numerator alone.
        let plain_end = !(b.get(k) == Some(&b'.') && digit_at(b, k + 1)) && b.get(k) != Some(&b'/');
        if let Some(den) = denominator.parse()
            && den != 0.0
            && plain_end
        {
            return (Some(value / den), k);
        }
    }
    (Some(value), j)
}

/// `\frac{a}{b}`, `\dfrac{a}{b}` or `\tfrac{a}{b}` at `i` (the backslash), each part one plain number.
fn latex_fraction(b: &[u8], i: usize) -> Option<(f64, usize)> {
    let rest = &b[i..];
    let skip = [&b"\\frac{"[..], b"\\dfrac{", b"\\tfrac{"].into_iter().find(|p| rest.starts_with(p))?.len();
    let (numerator, after) = braced_number(b, i + skip)?;
    if b.get(after) != Some(&b'{') {
        return None;
    }
    let (denominator, end) = braced_number(b, after + 1)?;
    (denominator != 0.0).then(|| (numerator / denominator, end))
}

/// A number filling `...}` from `start` (after the `{`), spaces and a sign allowed; the index after `}`.
fn braced_number(b: &[u8], start: usize) -> Option<(f64, usize)> {
    let close = start + b[start..].iter().position(|&c| c == b'}')?;
    let inner = std::str::from_utf8(&b[start..close]).ok()?.trim();
    let (negative, digits) = match inner.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, inner),
    };
    if !number_starts(digits.as_bytes(), 0) {
        return None;
    }
    match number_at(digits.as_bytes(), 0) {
        (Some(value), end) if end == digits.len() => Some((if negative { -value } else { value }, close + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_number_is_the_answer() {
        assert_eq!(last_number("First 3 apples, then 4 more: 7 in total."), Some(7.0));
        assert_eq!(last_number("no digits here"), None);
        assert_eq!(last_number(""), None);
        assert_eq!(last_number("The answer is 42."), Some(42.0));
    }

    #[test]
    fn signs_decimals_exponents() {
        assert_eq!(
            numbers("x = -4, y = +2.5, z = −3 and .5 and 1e-3 and 2.5E+4"),
            [-4.0, 2.5, -3.0, 0.5, 0.001, 25000.0]
        );
        // A minus between operands is an operator; a sign must touch its digits.
        assert_eq!(numbers("5-3 x-2 10 - 4 (-6) [−1]"), [5.0, 3.0, 2.0, 10.0, 4.0, -6.0, -1.0]);
        assert_eq!(numbers("3. 2e apples"), [3.0, 2.0]);
    }

    #[test]
    fn thousands_separators_only_in_groups_of_three() {
        assert_eq!(numbers("$1,234,567.50 total"), [1_234_567.5]);
        assert_eq!(
            numbers("1,2345 and 3,14 and 1,2,3 and 12345,678"),
            [1.0, 2345.0, 3.0, 14.0, 1.0, 2.0, 3.0, 12345.0, 678.0]
        );
        assert_eq!(numbers("50% of 1,000"), [50.0, 1000.0]);
    }

    #[test]
    fn fractions_plain_and_latex() {
        assert_eq!(numbers("3/4 and -1/2 and 1/0 and 1/2.5"), [0.75, -0.5, 1.0, 0.0, 1.0, 2.5]);
        assert_eq!(last_number(r"so x = \frac{3}{4}"), Some(0.75));
        assert_eq!(last_number(r"x = -\dfrac{1}{ 8 }"), Some(-0.125));
        assert_eq!(last_number(r"\tfrac{-2}{4}"), Some(-0.5));
        assert_eq!(last_number(r"\frac{a}{2} is not a number, 9 is"), Some(9.0));
    }

    #[test]
    fn boxed_and_hashes_win_over_later_numbers() {
        assert_eq!(last_number(r"The result is \boxed{\frac{1}{4}}, checked in 3 steps"), Some(0.25));
        assert_eq!(last_number(r"\boxed{12} then \boxed{-1,500}. Step 9"), Some(-1500.0));
        assert_eq!(last_number("Work... 3 + 4\n#### 7\n(took 2 tries)"), Some(7.0));
        // A box without a number does not hide the rest.
        assert_eq!(last_number(r"\boxed{x} = 5"), Some(5.0));
        assert_eq!(last_number(r"unclosed \boxed{8"), Some(8.0));
    }

    #[test]
    fn reference_numbers() {
        assert_eq!(reference_number(" 1e3 "), Some(1000.0));
        assert_eq!(reference_number("x = 4"), Some(4.0));
        assert_eq!(reference_number("1,200"), Some(1200.0));
        assert_eq!(reference_number("none"), None);
        assert_eq!(reference_number("NaN"), None);
    }

    #[test]
    fn huge_or_hostile_text_is_handled() {
        let long_digits = "9".repeat(400);
        assert_eq!(last_number(&format!("{long_digits} then 5")), Some(5.0));
        assert_eq!(last_number(&"-".repeat(10_000)), None);
        assert_eq!(last_number(&format!("{}1", "\\boxed{".repeat(1000))), Some(1.0));
        assert_eq!(last_number("1e999"), None, "too large for an f64: not a number");
        let digits = "7".repeat(1 << 20);
        assert_eq!(last_number(&digits), None);
        assert_eq!(numbers(&format!("1{} 3", ",234".repeat(30))), [3.0], "an over-long run is skipped whole");
    }
}
