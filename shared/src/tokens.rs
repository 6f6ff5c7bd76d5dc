//! Token estimates. Bedrock counts tokens with each model's own tokenizer, which we do not ship; the
//! estimate is characters divided by a per-family ratio from the catalogue (6 for Titan, Cohere and
//! Llama 3.1, as the Bedrock guide suggests; 4 elsewhere, an over-estimate for English). Scripts
//! without spaces between words (CJK) tokenize much denser, so each such character counts as a token.

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
        if text.is_ascii() {
            return TextSize { spaced: text.len() as u64, dense: 0 };
        }
        let mut size = TextSize::default();
        for c in text.chars() {
            if is_dense(c) {
                size.dense += 1;
            } else {
                size.spaced += 1;
            }
        }
        size
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

fn is_dense(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FFFF) // CJK extensions B+
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
}
