//! JSON as every `--json` prints it: one line, keys in declaration order, and numbers a person and
//! a script can read: 6 significant digits but never fewer than 6 decimals, and never an exponent
//! (`0.0000032`, not `3.2000000000000003e-06`; `0.935185`; `12345.678901`). Integers are written
//! as integers.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io;

/// Decimals kept at least: a micro-dollar for costs, six places for scores, ratios and losses.
pub const DECIMALS: i32 = 6;
/// Significant digits kept for small numbers (a learning rate of 0.0000001, a cost of 0.0000032).
pub const SIGNIFICANT: i32 = 6;
/// Numbers smaller than this many decimals show are written as 0.
const MOST_DECIMALS: i32 = 20;

pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, Rounded);
    value.serialize(&mut serializer)?;
    // serde_json writes UTF-8 only.
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

/// A float rounded as above, without trailing zeros but with one decimal kept (`2.0`, `0.0158`);
/// what rounds to zero is `0.0`, never `-0.0`.
pub fn format_float(value: f64) -> String {
    let magnitude = if value == 0.0 { 0 } else { value.abs().log10().floor() as i32 };
    let decimals = (SIGNIFICANT - 1 - magnitude).clamp(DECIMALS, MOST_DECIMALS) as usize;
    let mut text = format!("{value:.decimals$}");
    while text.ends_with('0') && !text.ends_with(".0") {
        text.pop();
    }
    if text.trim_start_matches('-').trim_start_matches(['0', '.']).is_empty() { "0.0".to_string() } else { text }
}

/// serde_json's compact output (the trait's defaults), with floats rounded.
struct Rounded;

impl Formatter for Rounded {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        // serde_json writes non-finite numbers as null before reaching here.
        writer.write_all(format_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_are_rounded_without_exponent_and_integers_stay_integers() {
        let value =
            json!([3.2000000000000003e-06, 0.9351851851851852, 47, 0.0, -1e-21, 1.5e9, {"loss": [2.702382, 0.1]}]);
        assert_eq!(
            to_string(&value).unwrap(),
            r#"[0.0000032,0.935185,47,0.0,0.0,1500000000.0,{"loss":[2.702382,0.1]}]"#
        );
        assert_eq!(format_float(0.0158), "0.0158");
        assert_eq!(format_float(21.18), "21.18");
        assert_eq!(format_float(12345.678901234), "12345.678901", "a micro-dollar is never lost");
        assert_eq!(format_float(1e-7), "0.0000001", "a small learning rate keeps its digits");
        assert_eq!(format_float(-0.000001234567), "-0.00000123457");
        assert_eq!(to_string(&f64::NAN).unwrap(), "null");
    }

    #[test]
    fn the_output_parses_back_to_the_rounded_values() {
        let value = json!({"a": 1.0 / 3.0, "s": "caf\u{e9} \"x\"\n"});
        let back: serde_json::Value = serde_json::from_str(&to_string(&value).unwrap()).unwrap();
        assert_eq!(back["a"].as_f64(), Some(0.333333));
        assert_eq!(back["s"], value["s"]);
        let tiny: serde_json::Value = serde_json::from_str(&to_string(&json!(1.0 / 3.0e5)).unwrap()).unwrap();
        assert_eq!(tiny.as_f64(), Some(0.00000333333));
    }
}
