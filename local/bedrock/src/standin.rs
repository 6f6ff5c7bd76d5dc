//! Deterministic stand-ins for models. A tuned model answers with the completion of the training
//! examples most similar to the prompt (TF-IDF cosine over word tokens, a weighted vote among the
//! nearest five); a base model never saw the training data and answers with a generic sentence made
//! from the prompt. Neither is a language model: the point is that a tuned model measurably beats its
//! base on held-out data drawn from the training distribution, deterministically.

use serde_json::Value;
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

/// Examples voting on an answer.
const NEIGHBOURS: usize = 5;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Example {
    pub prompt: String,
    pub completion: String,
}

/// Lowercase alphanumeric runs: crude, but the same on both sides of the comparison.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase)
}

/// Text of a `content` that is a string or a list of `{"text": ...}` blocks (empty for anything else).
fn content_text(content: &Value) -> String {
    shared::invocation_logs::content_text(content).unwrap_or_default()
}

/// The (prompt, completion) pairs of one JSONL record in any of the training formats:
/// prompt/completion, bedrock-conversation-2024, Claude messages, OpenAI chat (RFT) and CPT `input`.
pub(crate) fn examples_of(record: &Value) -> Vec<Example> {
    let text = |k: &str| record.get(k).and_then(Value::as_str);
    if let (Some(p), Some(c)) = (text("prompt"), text("completion")) {
        return vec![Example { prompt: p.to_string(), completion: c.to_string() }];
    }
    if let Some(input) = text("input") {
        return vec![Example { prompt: input.to_string(), completion: input.to_string() }];
    }
    let Some(messages) = record.get("messages").and_then(Value::as_array) else { return Vec::new() };
    let system = record.get("system").map(content_text).unwrap_or_default();
    let mut out = Vec::new();
    let mut last_user = String::new();
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let text = m.get("content").map(content_text).unwrap_or_default();
        match role {
            "user" => last_user = text,
            "assistant" if !last_user.is_empty() => {
                let prompt = if system.is_empty() { last_user.clone() } else { format!("{system}\n{last_user}") };
                out.push(Example { prompt, completion: text });
            }
            _ => {}
        }
    }
    if out.is_empty()
        && !last_user.is_empty()
        && let Some(answer) = record.get("reference_answer")
    {
        let completion = answer.as_str().map_or_else(|| answer.to_string(), str::to_string);
        out.push(Example { prompt: format!("{system}\n{last_user}").trim().to_string(), completion });
    }
    out
}

/// Reads examples from JSON Lines, skipping lines that are not JSON objects.
pub fn examples_from_jsonl(bytes: &[u8]) -> Vec<Example> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim().trim_start_matches('\u{feff}')).ok())
        .flat_map(|v| examples_of(&v))
        .collect()
}

/// A model that remembers its training examples.
#[derive(Debug, Clone, Default)]
pub struct TunedModel {
    examples: Vec<Example>,
    vocab: HashMap<String, u32>,
    idf: Vec<f32>,
    /// token -> (example, normalised weight)
    postings: Vec<Vec<(u32, f32)>>,
    /// The most frequent completion: the answer when nothing in the prompt is familiar.
    fallback: Option<String>,
}

impl TunedModel {
    pub fn new(examples: Vec<Example>) -> Self {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut df: Vec<u32> = Vec::new();
        let mut docs: Vec<HashMap<u32, f32>> = Vec::with_capacity(examples.len());
        for ex in &examples {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for t in tokens(&ex.prompt) {
                let next = vocab.len() as u32;
                let id = *vocab.entry(t).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                *tf.entry(id).or_default() += 1.0;
            }
            for id in tf.keys() {
                df[*id as usize] += 1;
            }
            docs.push(tf);
        }
        let n = examples.len() as f32;
        let idf: Vec<f32> = df.iter().map(|d| ((n + 1.0) / (*d as f32 + 1.0)).ln() + 1e-3).collect();
        let mut postings = vec![Vec::new(); vocab.len()];
        for (i, tf) in docs.iter().enumerate() {
            let norm = tf.iter().map(|(id, c)| (c * idf[*id as usize]).powi(2)).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (id, c) in tf {
                    postings[*id as usize].push((i as u32, c * idf[*id as usize] / norm));
                }
            }
        }
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, ex) in examples.iter().enumerate() {
            counts.entry(&ex.completion).or_insert((0, i)).0 += 1;
        }
        // Most frequent, first seen on ties.
        let fallback =
            counts.into_iter().max_by_key(|(_, (n, first))| (*n, usize::MAX - first)).map(|(c, _)| c.to_string());
        TunedModel { examples, vocab, idf, postings, fallback }
    }

    pub fn from_jsonl(bytes: &[u8]) -> Self {
        Self::new(examples_from_jsonl(bytes))
    }

    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// The answer to `prompt`, or None when the model learnt nothing.
    pub fn answer(&self, prompt: &str) -> Option<String> {
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for t in tokens(prompt) {
            if let Some(id) = self.vocab.get(&t) {
                *tf.entry(*id).or_default() += 1.0;
            }
        }
        let mut scores = vec![0f32; self.examples.len()];
        for (id, c) in &tf {
            let w = c * self.idf[*id as usize];
            for (ex, ew) in &self.postings[*id as usize] {
                scores[*ex as usize] += w * ew;
            }
        }
        let mut ranked: Vec<(usize, f32)> = scores.into_iter().enumerate().filter(|(_, s)| *s > 0.0).collect();
        // Highest score first; the earlier example wins a tie, so answers never depend on hash order.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(NEIGHBOURS);
        if ranked.is_empty() {
            return self.fallback.clone();
        }
        let mut votes: Vec<(&str, f32, usize)> = Vec::new();
        for (rank, (i, s)) in ranked.iter().enumerate() {
            let c = self.examples[*i].completion.as_str();
            match votes.iter_mut().find(|v| v.0 == c) {
                Some(v) => v.1 += s,
                None => votes.push((c, *s, rank)),
            }
        }
        votes.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
        votes.first().map(|v| v.0.to_string())
    }
}

/// What a base model says: a generic sentence about the prompt's longest words, worded by a hash of
/// the model and the prompt. It never contains a training completion unless the prompt does.
pub fn base_answer(model_id: &str, prompt: &str) -> String {
    const OPENERS: [&str; 4] = ["Here is a general answer", "In general terms", "Broadly speaking", "A short reply"];
    let mut words: Vec<String> = Vec::new();
    for t in tokens(prompt) {
        if t.chars().count() > 3 && !words.contains(&t) {
            words.push(t);
        }
    }
    // Longest first, then earliest: stable and independent of hashing.
    let mut ranked: Vec<(usize, &String)> = words.iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut picked: Vec<(usize, &String)> = ranked.into_iter().take(4).collect();
    picked.sort_by_key(|(i, _)| *i);
    let topic = picked.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>().join(", ");
    let opener = OPENERS[(xxh3_64(format!("{model_id}\n{prompt}").as_bytes()) % OPENERS.len() as u64) as usize];
    if topic.is_empty() {
        format!("{opener}: could you tell me more about what you need?")
    } else {
        format!("{opener}: this is about {topic}.")
    }
}

/// Estimated tokens of a text: a quarter of its characters, rounded up.
pub(crate) fn token_count(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}

/// Cuts `text` to `max_tokens`; the flag says whether it was cut.
pub(crate) fn truncate(text: String, max_tokens: Option<u32>) -> (String, bool) {
    match max_tokens {
        Some(max) if token_count(&text) > max => (text.chars().take(max as usize * 4).collect(), true),
        _ => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_training_format() {
        let pc = json!({"prompt": "p", "completion": "c"});
        assert_eq!(examples_of(&pc), [Example { prompt: "p".into(), completion: "c".into() }]);
        let conv = json!({"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "sys"}],
            "messages": [{"role": "user", "content": [{"text": "u1"}]}, {"role": "assistant", "content": [{"text": "a1"}]},
                         {"role": "user", "content": [{"text": "u2"}]}, {"role": "assistant", "content": [{"text": "a2"}]}]});
        let ex = examples_of(&conv);
        assert_eq!(ex.len(), 2);
        assert_eq!((ex[1].prompt.as_str(), ex[1].completion.as_str()), ("sys\nu2", "a2"));
        let claude = json!({"system": "s", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]});
        assert_eq!(examples_of(&claude)[0].completion, "a");
        let rft = json!({"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": {"answer": 4}});
        assert_eq!(examples_of(&rft)[0].completion, r#"{"answer":4}"#);
        assert_eq!(examples_of(&json!({"input": "text"}))[0].completion, "text");
        assert!(examples_of(&json!({"other": 1})).is_empty());
        let jsonl =
            b"{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json\n\n{\"prompt\": \"c\", \"completion\": \"d\"}\n";
        assert_eq!(examples_from_jsonl(jsonl).len(), 2);
    }

    #[test]
    fn tuned_model_answers_from_the_nearest_examples() {
        let ex = |p: &str, c: &str| Example { prompt: p.into(), completion: c.into() };
        let m = TunedModel::new(vec![
            ex("Classify: the food was wonderful and tasty", "positive"),
            ex("Classify: terrible service, cold food", "negative"),
            ex("Classify: wonderful staff, tasty dessert", "positive"),
            ex("Classify: awful, terrible, never again", "negative"),
        ]);
        assert_eq!(m.answer("Classify: tasty and wonderful").as_deref(), Some("positive"));
        assert_eq!(m.answer("Classify: terrible and awful").as_deref(), Some("negative"));
        // Nothing familiar: the most frequent completion (first seen on ties).
        assert_eq!(m.answer("zzz qqq").as_deref(), Some("positive"));
        assert_eq!(TunedModel::new(Vec::new()).answer("x"), None);
    }

    #[test]
    fn base_answers_are_generic_and_deterministic() {
        let a = base_answer("amazon.nova-micro-v1:0", "Classify the sentiment: wonderful tasty food");
        assert_eq!(a, base_answer("amazon.nova-micro-v1:0", "Classify the sentiment: wonderful tasty food"));
        assert!(a.contains("sentiment") && a.contains("wonderful"), "{a}");
        assert!(base_answer("m", "?").contains("tell me more"));
        assert_eq!(truncate("abcdefghij".into(), Some(1)), ("abcd".into(), true));
        assert_eq!(truncate("abc".into(), Some(1)), ("abc".into(), false));
    }
}
