//! Token estimates. Bedrock counts tokens with each model's own tokenizer, which we do not ship; the
//! estimate is characters divided by a per-family ratio from the catalogue (6 for Titan, Cohere and
//! Llama 3.1, as the Bedrock guide suggests; 4 elsewhere, an over-estimate for English). Scripts
//! without spaces between words (CJK, kana, Hangul) tokenize much denser, so each such character counts
//! as a token, as do emoji and other characters beyond the Basic Multilingual Plane.

use crate::catalogue::{Provenance, TokenEstimate};

/// Character counts of one text, split by how densely they tokenize.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextSize {
    /// Characters of scripts written with spaces (Latin, Cyrillic, ...).
    pub spaced: u64,
    /// CJK characters, roughly one token each.
    pub dense: u64,
}

impl TextSize {
    pub fn of(text: &str) -> TextSize {
        let bytes = text.as_bytes();
        if text.is_ascii() {
            return TextSize { spaced: bytes.len() as u64, dense: 0 };
        }
        // Works on bytes, in one pass the compiler vectorizes: a character starts at every byte that is
        // not a continuation byte; a dense character is one whose lead byte is 0xE3..=0xED
        // (U+3000..U+DFFF: CJK, kana, Hangul, Yi) or 0xF0 (U+10000..U+3FFFF: CJK extensions, emoji).
        let (mut chars, mut dense) = (0u64, 0u64);
        // Byte-wide counters over chunks of 255 keep the loop in vector registers.
        for chunk in bytes.chunks(255) {
            let (mut c, mut d) = (0u8, 0u8);
            for &b in chunk {
                c += u8::from((b as i8) >= -0x40);
                d += u8::from(b.wrapping_sub(0xE3) <= 0xED - 0xE3 || b == 0xF0);
            }
            chars += u64::from(c);
            dense += u64::from(d);
        }
        TextSize { spaced: chars - dense, dense }
    }

    pub fn add(&mut self, other: TextSize) {
        self.spaced += other.spaced;
        self.dense += other.dense;
    }

    pub fn chars(&self) -> u64 {
        self.spaced + self.dense
    }

    pub fn tokens(&self, estimate: &TokenEstimate) -> u64 {
        if self.spaced == 0 && self.dense == 0 {
            return 0;
        }
        (self.spaced as f64 / estimate.chars_per_token).ceil() as u64 + self.dense
    }
}

/// What the byte rule above counts as dense, by code point (for tests and documentation).
#[cfg(test)]
fn is_dense(c: u32) -> bool {
    (0x3000..=0xDFFF).contains(&c) || (0x10000..=0x3FFFF).contains(&c)
}

/// The method, in words, for reports.
pub fn describe(estimate: &TokenEstimate) -> String {
    let source = match estimate.provenance {
        Provenance::Documented => "Bedrock's documented rule of thumb",
        Provenance::Secondary | Provenance::Unverified => "an approximation; no figure is published",
    };
    format!("estimate: characters / {} ({source}), CJK characters 1 token each", estimate.chars_per_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIX: TokenEstimate = TokenEstimate { chars_per_token: 6.0, provenance: Provenance::Documented };

    #[test]
    fn ascii_divides_by_the_ratio_rounding_up() {
        assert_eq!(TextSize::of("").tokens(&SIX), 0);
        assert_eq!(TextSize::of("abcdef").tokens(&SIX), 1);
        assert_eq!(TextSize::of("abcdefg").tokens(&SIX), 2);
    }

    #[test]
    fn cjk_counts_one_token_per_character_and_accents_as_letters() {
        let size = TextSize::of("数据 模型 café");
        assert_eq!(size, TextSize { spaced: 6, dense: 4 });
        assert_eq!(size.tokens(&SIX), 1 + 4);
        assert!(describe(&SIX).contains("documented"));
    }

    #[test]
    fn byte_counting_agrees_with_char_iteration() {
        for text in ["ünïcødé 数据", "𠀀𠀁 a", "Ω≈ç√ ひらがな 한국어 \u{10FFFF}", "é"] {
            let dense = text.chars().filter(|c| is_dense(*c as u32)).count() as u64;
            let chars = text.chars().count() as u64;
            assert_eq!(TextSize::of(text), TextSize { spaced: chars - dense, dense }, "{text}");
        }
    }
}
