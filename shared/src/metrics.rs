//! Evaluation metrics: how close a model's answers come to the held-out references, and the quality
//! gate that compares a tuned model with its base model. Pure functions, no I/O.
//!
//! Text is compared after [`normalize`]: lowercase, whitespace collapsed, punctuation stripped at the
//! ends (of the whole answer, and of each token), so `"Paris."` and `" paris"` are the same answer.

use crate::pipeline::{ClassScores, GateVerdict, Metric, ModelScores};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One sample's outcome for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub reference: String,
    /// The model's answer; `None` when the call failed (it then scores 0 and counts as an error).
    pub answer: Option<String>,
    /// Time to answer, when the call succeeded.
    pub latency_ms: Option<f64>,
}

/// Per-sample scores, as written beside each prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleScores {
    pub exact_match: f64,
    pub token_f1: f64,
    pub rouge_l: f64,
}

/// Lowercase, collapse whitespace, strip punctuation at both ends.
pub fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let collapsed = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace()).to_string()
}

/// The normalized text's tokens, each stripped of punctuation at its ends (`"rome,"` -> `"rome"`);
/// tokens that were only punctuation are dropped.
pub fn tokens(text: &str) -> Vec<String> {
    normalize(text)
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| c.is_ascii_punctuation()))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// 1.0 when the normalized texts are equal.
pub fn exact_match(answer: &str, reference: &str) -> f64 {
    if normalize(answer) == normalize(reference) { 1.0 } else { 0.0 }
}

/// SQuAD-style F1 over bags of tokens. Two empty texts agree (1.0); one empty text scores 0.
pub fn token_f1(answer: &str, reference: &str) -> f64 {
    let (a, r) = (tokens(answer), tokens(reference));
    if a.is_empty() || r.is_empty() {
        return if a.is_empty() && r.is_empty() { 1.0 } else { 0.0 };
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &r {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &a {
        if let Some(n) = counts.get_mut(t.as_str())
            && *n > 0
        {
            *n -= 1;
            common += 1;
        }
    }
    f_measure(common, a.len(), r.len())
}

/// ROUGE-L F-measure (β = 1): the longest common subsequence of tokens.
pub fn rouge_l(answer: &str, reference: &str) -> f64 {
    let (a, r) = (tokens(answer), tokens(reference));
    if a.is_empty() || r.is_empty() {
        return if a.is_empty() && r.is_empty() { 1.0 } else { 0.0 };
    }
    f_measure(lcs_len(&a, &r), a.len(), r.len())
}

fn f_measure(common: usize, answer_len: usize, reference_len: usize) -> f64 {
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / answer_len as f64;
    let recall = common as f64 / reference_len as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Length of the longest common subsequence, in O(len(a) × len(b)) time and O(len(b)) memory.
fn lcs_len(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { above.max(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The three text metrics for one answer; a failed call scores 0 on all.
pub fn sample_scores(answer: Option<&str>, reference: &str) -> SampleScores {
    match answer {
        Some(a) => SampleScores {
            exact_match: exact_match(a, reference),
            token_f1: token_f1(a, reference),
            rouge_l: rouge_l(a, reference),
        },
        None => SampleScores { exact_match: 0.0, token_f1: 0.0, rouge_l: 0.0 },
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted values; 0 for no values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Most distinct references still treated as class labels.
pub const MAX_CLASSES: usize = 50;
/// Longest (normalized) reference still treated as a label.
pub const MAX_LABEL_CHARS: usize = 64;

/// The label set when the references look like classification labels: short, and repeated (at most
/// half as many distinct values as samples, and at most [`MAX_CLASSES`]). `None` for free text.
pub fn label_set(references: &[&str]) -> Option<BTreeSet<String>> {
    if references.len() < 2 {
        return None;
    }
    let mut labels = BTreeSet::new();
    for r in references {
        let n = normalize(r);
        if n.is_empty() || n.chars().count() > MAX_LABEL_CHARS {
            return None;
        }
        labels.insert(n);
        if labels.len() > MAX_CLASSES {
            return None;
        }
    }
    (labels.len() * 2 <= references.len()).then_some(labels)
}

/// Precision, recall and F1 per class, when the references are labels. An answer outside the label
/// set (or a failed call) predicts no class: it lowers that reference's recall only.
pub fn per_class(predictions: &[Prediction]) -> Vec<ClassScores> {
    let references: Vec<&str> = predictions.iter().map(|p| p.reference.as_str()).collect();
    let Some(labels) = label_set(&references) else {
        return Vec::new();
    };
    // label -> (true positives, predicted, support)
    let mut counts: BTreeMap<&str, (u32, u32, u32)> = labels.iter().map(|l| (l.as_str(), (0, 0, 0))).collect();
    for p in predictions {
        let truth = normalize(&p.reference);
        let guess = p.answer.as_deref().map(normalize);
        if let Some(c) = counts.get_mut(truth.as_str()) {
            c.2 += 1;
        }
        if let Some(g) = guess.as_deref()
            && let Some(c) = counts.get_mut(g)
        {
            c.1 += 1;
            if g == truth {
                c.0 += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(label, (tp, predicted, support))| {
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ClassScores { label: label.to_string(), precision, recall, f1, support }
        })
        .collect()
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 { 0.0 } else { f64::from(a) / f64::from(b) }
}

/// Mean scores over all samples (failed calls count as 0), latency percentiles over the answered ones.
pub fn score(model_id: &str, predictions: &[Prediction]) -> ModelScores {
    let n = predictions.len().max(1) as f64;
    let (mut em, mut f1, mut rl) = (0.0, 0.0, 0.0);
    for p in predictions {
        let s = sample_scores(p.answer.as_deref(), &p.reference);
        em += s.exact_match;
        f1 += s.token_f1;
        rl += s.rouge_l;
    }
    let latencies: Vec<f64> = predictions.iter().filter(|p| p.answer.is_some()).filter_map(|p| p.latency_ms).collect();
    ModelScores {
        model_id: model_id.to_string(),
        exact_match: em / n,
        token_f1: f1 / n,
        rouge_l: rl / n,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        errors: predictions.iter().filter(|p| p.answer.is_none()).count() as u32,
        per_class: per_class(predictions),
    }
}

/// The value of one metric in a model's scores.
pub fn metric_value(scores: &ModelScores, metric: Metric) -> f64 {
    match metric {
        Metric::ExactMatch => scores.exact_match,
        Metric::TokenF1 => scores.token_f1,
        Metric::RougeL => scores.rouge_l,
    }
}

/// Float noise (0.3 − 0.2 = 0.0999…) must not fail a gate the numbers meet.
const GATE_EPSILON: f64 = 1e-9;

/// The quality gate: (custom − base on the primary metric, whether it reaches `min_improvement`).
pub fn gate(primary: Metric, base: &ModelScores, custom: &ModelScores, min_improvement: f64) -> (f64, bool) {
    let improvement = metric_value(custom, primary) - metric_value(base, primary);
    (improvement, improvement + GATE_EPSILON >= min_improvement)
}

/// Share of the samples both models must have answered for the gate to judge: below it, what is
/// missing (throttled or failed calls, the deadline) could change the verdict either way.
pub const MIN_GATE_COVERAGE: f64 = 0.8;

/// The quality gate on the samples both models answered: a call that failed is missing, not wrong,
/// so it is left out of both models' scores rather than scored 0 (which would bias the gate towards
/// whichever model was throttled less). Each side's `errors` still counts its failed calls.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedGate {
    pub base: ModelScores,
    pub custom: ModelScores,
    /// Samples both answered / samples asked (1 when none were asked).
    pub coverage: f64,
    pub improvement: f64,
    pub verdict: GateVerdict,
}

pub fn paired_gate(
    primary: Metric,
    (base_id, base): (&str, &[Prediction]),
    (custom_id, custom): (&str, &[Prediction]),
    min_improvement: f64,
    min_coverage: f64,
) -> PairedGate {
    let both: Vec<usize> =
        (0..base.len().min(custom.len())).filter(|&i| base[i].answer.is_some() && custom[i].answer.is_some()).collect();
    let pick = |p: &[Prediction]| both.iter().map(|&i| p[i].clone()).collect::<Vec<_>>();
    let errors = |p: &[Prediction]| p.iter().filter(|p| p.answer.is_none()).count() as u32;
    let mut base_scores = score(base_id, &pick(base));
    let mut custom_scores = score(custom_id, &pick(custom));
    base_scores.errors = errors(base);
    custom_scores.errors = errors(custom);
    let asked = base.len().max(custom.len());
    let coverage = if asked == 0 { 1.0 } else { both.len() as f64 / asked as f64 };
    let (improvement, passed) = gate(primary, &base_scores, &custom_scores, min_improvement);
    let verdict = if both.is_empty() || coverage + GATE_EPSILON < min_coverage {
        GateVerdict::Inconclusive
    } else if passed {
        GateVerdict::Passed
    } else {
        GateVerdict::Failed
    };
    PairedGate { base: base_scores, custom: custom_scores, coverage, improvement, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn pred(reference: &str, answer: Option<&str>, latency: f64) -> Prediction {
        Prediction { reference: reference.into(), answer: answer.map(Into::into), latency_ms: Some(latency) }
    }

    #[test]
    fn normalization_lowercases_collapses_and_strips_end_punctuation() {
        assert_eq!(normalize("  The  Capital\tis\nParis. "), "the capital is paris");
        assert_eq!(normalize("\"Yes!\""), "yes");
        assert_eq!(normalize("e.g. U.S.A."), "e.g. u.s.a");
        assert_eq!(normalize("..."), "");
        assert_eq!(tokens("Rome, Paris; and (London)."), vec!["rome", "paris", "and", "london"]);
    }

    #[test]
    fn exact_match_ignores_case_spacing_and_end_punctuation() {
        assert_eq!(exact_match("Positive.", " positive"), 1.0);
        assert_eq!(exact_match("positive sentiment", "positive"), 0.0);
    }

    #[test]
    fn token_f1_counts_a_bag_of_tokens() {
        // answer: the cat sat (3), reference: the cat sat down (4); common 3.
        // P = 1, R = 3/4, F1 = 2·0.75/1.75 = 6/7.
        assert!(close(token_f1("The cat sat", "the cat sat down"), 6.0 / 7.0));
        // Repeated tokens count once per occurrence in the reference: "a a a" vs "a b": common 1.
        // P = 1/3, R = 1/2, F1 = 2·(1/6)/(5/6) = 0.4.
        assert!(close(token_f1("a a a", "a b"), 0.4));
        assert_eq!(token_f1("", ""), 1.0);
        assert_eq!(token_f1("x", ""), 0.0);
        assert_eq!(token_f1("x", "y"), 0.0);
    }

    #[test]
    fn rouge_l_uses_the_longest_common_subsequence() {
        // answer: police killed the gunman (4), reference: police kill the gunman (4);
        // LCS = police, the, gunman = 3; P = R = 3/4, F = 0.75.
        assert!(close(rouge_l("police killed the gunman", "police kill the gunman"), 0.75));
        // Order matters for ROUGE-L and not for F1: "b a" vs "a b": LCS 1, F = 0.5; F1 = 1.
        assert!(close(rouge_l("b a", "a b"), 0.5));
        assert!(close(token_f1("b a", "a b"), 1.0));
        // answer 2 tokens, reference 5, LCS 2: P = 1, R = 0.4, F = 0.8/1.4 = 4/7.
        assert!(close(rouge_l("a e", "a b c d e"), 4.0 / 7.0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [15.0, 20.0, 35.0, 40.0, 50.0];
        // p50: ceil(2.5) = 3rd = 35; p95: ceil(4.75) = 5th = 50.
        assert_eq!(percentile(&v, 50.0), 35.0);
        assert_eq!(percentile(&v, 95.0), 50.0);
        assert_eq!(percentile(&[40.0, 10.0, 30.0, 20.0], 50.0), 20.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn labels_are_short_repeated_references() {
        assert!(label_set(&["pos", "neg", "Pos.", "neg"]).is_some());
        assert!(label_set(&["one answer", "another answer"]).is_none());
        assert!(label_set(&["pos"]).is_none());
        let long = "x".repeat(65);
        assert!(label_set(&[&long, &long]).is_none());
    }

    #[test]
    fn per_class_precision_recall_and_support() {
        // truth: pos pos neg neg pos; guess: pos neg neg pos (failed)
        let p = vec![
            pred("pos", Some("Positive? no: pos"), 1.0), // not a label: predicts no class
            pred("pos", Some("pos"), 1.0),
            pred("neg", Some("neg"), 1.0),
            pred("neg", Some("pos"), 1.0),
            pred("pos", None, 1.0),
        ];
        let classes = per_class(&p);
        assert_eq!(classes.len(), 2);
        let neg = &classes[0];
        // neg: tp 1, predicted 1, support 2 -> P 1, R 0.5, F1 2/3.
        assert_eq!((neg.label.as_str(), neg.support), ("neg", 2));
        assert!(close(neg.precision, 1.0) && close(neg.recall, 0.5) && close(neg.f1, 2.0 / 3.0));
        let pos = &classes[1];
        // pos: tp 1, predicted 2, support 3 -> P 0.5, R 1/3, F1 = 2·(1/6)/(5/6) = 0.4.
        assert_eq!((pos.label.as_str(), pos.support), ("pos", 3));
        assert!(close(pos.precision, 0.5) && close(pos.recall, 1.0 / 3.0) && close(pos.f1, 0.4));
    }

    #[test]
    fn score_averages_over_all_samples_and_counts_errors() {
        let p = vec![
            pred("the cat sat down", Some("The cat sat"), 100.0),
            pred("paris", Some("Paris."), 300.0),
            Prediction { reference: "rome".into(), answer: None, latency_ms: None },
        ];
        let s = score("m", &p);
        assert_eq!(s.model_id, "m");
        assert_eq!(s.errors, 1);
        assert!(close(s.exact_match, 1.0 / 3.0));
        assert!(close(s.token_f1, (6.0 / 7.0 + 1.0) / 3.0));
        assert!(close(s.rouge_l, (6.0 / 7.0 + 1.0) / 3.0));
        assert_eq!((s.latency_p50_ms, s.latency_p95_ms), (100.0, 300.0));
        assert!(s.per_class.is_empty());
        let empty = score("m", &[]);
        assert_eq!((empty.token_f1, empty.errors), (0.0, 0));
    }

    #[test]
    fn gate_compares_the_primary_metric() {
        let mut base = score("b", &[pred("a b", Some("a"), 1.0)]);
        let mut custom = base.clone();
        base.token_f1 = 0.2;
        custom.token_f1 = 0.3;
        let (imp, passed) = gate(Metric::TokenF1, &base, &custom, 0.1);
        assert!(close(imp, 0.1) && passed, "float noise must not fail an exact margin");
        assert!(!gate(Metric::TokenF1, &base, &custom, 0.11).1);
        assert!(!gate(Metric::TokenF1, &custom, &base, 0.0).1);
        base.exact_match = 0.5;
        custom.exact_match = 0.5;
        assert_eq!(gate(Metric::ExactMatch, &base, &custom, 0.0), (0.0, true));
    }

    #[test]
    fn the_gate_judges_only_what_both_models_answered_and_needs_enough_of_it() {
        let answered = |r: &str, a: &str| pred(r, Some(a), 1.0);
        let missing = |r: &str| Prediction { reference: r.into(), answer: None, latency_ms: None };
        // The base model was throttled on the samples the custom model got wrong: scoring its misses
        // as 0 would make the custom model look better than it is.
        let base = vec![answered("a", "a"), answered("b", "b"), answered("c", "c"), answered("d", "d"), missing("e")];
        let custom =
            vec![answered("a", "a"), answered("b", "b"), answered("c", "c"), answered("d", "d"), answered("e", "e")];
        let g = paired_gate(Metric::ExactMatch, ("b", &base), ("c", &custom), 0.0, MIN_GATE_COVERAGE);
        assert!(close(g.coverage, 0.8) && close(g.improvement, 0.0), "{g:?}");
        assert_eq!((g.verdict, g.base.errors, g.custom.errors), (GateVerdict::Passed, 1, 0));
        assert!(close(g.base.exact_match, 1.0), "a missing answer is not a wrong one");
        // Half the samples missing: neither a pass nor a failure, however the rest compare.
        let half: Vec<Prediction> = custom
            .iter()
            .enumerate()
            .map(|(i, p)| if i % 2 == 0 { missing(&p.reference) } else { p.clone() })
            .collect();
        let g = paired_gate(Metric::ExactMatch, ("b", &base), ("c", &half), -1.0, MIN_GATE_COVERAGE);
        assert_eq!(g.verdict, GateVerdict::Inconclusive, "{g:?}");
        let g = paired_gate(Metric::ExactMatch, ("b", &base), ("c", &custom), 0.5, MIN_GATE_COVERAGE);
        assert_eq!(g.verdict, GateVerdict::Failed);
        let none = paired_gate(Metric::ExactMatch, ("b", &[missing("a")]), ("c", &[missing("a")]), -1.0, 0.0);
        assert_eq!(none.verdict, GateVerdict::Inconclusive, "nothing answered proves nothing");
    }
}
