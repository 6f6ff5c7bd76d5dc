//! Small, valid datasets to try the pipeline with: `finetune sample --task classification|qa --records N`.
//!
//! Two synthetic tasks, written in the format the chosen model and customization type take:
//!
//! - `classification`: customer-support tickets labelled `billing`, `technical`, `shipping`, `account` or
//!   `returns`, in equal shares (the split can stratify, the validator sees no imbalance);
//! - `qa`: arithmetic word problems whose answer is a number (so an RFT run can use the `numeric` grader).
//!
//! Formats: `bedrock-conversation-2024` (Nova, Llama 3.2/3.3), prompt/completion (Titan, Cohere,
//! Llama 3.1), Claude messages, continued pre-training `{"input"}` (the ticket or problem with its answer
//! as running text), distillation prompts (the user turn only: the teacher answers), and RFT chat messages
//! with `reference_answer`. The same seed gives the same bytes; every record is distinct.

use crate::CustomizationType;
use crate::catalogue::{Customization, DatasetFormat, Model};
use crate::validate::{Options, OptionsError};
use serde::Serialize;
use std::io::{self, Write};
use std::str::FromStr;
use xxhash_rust::xxh3::xxh3_64_with_seed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Classification,
    Qa,
}

impl Task {
    pub const ALL: [Task; 2] = [Task::Classification, Task::Qa];
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Qa => "qa",
        }
    }
}

impl FromStr for Task {
    type Err = SampleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classification" => Ok(Task::Classification),
            "qa" => Ok(Task::Qa),
            _ => Err(SampleError::UnknownTask(s.to_string())),
        }
    }
}

/// Largest sample written: this is a tool to try the pipeline, not a data generator.
pub const MAX_RECORDS: u64 = 20_000;
/// Records written when none are asked for (raised to the model's minimum).
pub const DEFAULT_RECORDS: u64 = 100;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Options(#[from] OptionsError),
    #[error("unknown task `{0}`; use classification or qa")]
    UnknownTask(String),
    #[error("{model} needs at least {min} records for {kind}; ask for --records {min} or more")]
    TooFewRecords { model: &'static str, kind: CustomizationType, min: u64 },
    #[error("at most {max} records for {model} ({kind}); ask for fewer")]
    TooManyRecords { model: &'static str, kind: CustomizationType, max: u64 },
}

/// What will be written: checked before anything is.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub model: &'static Model,
    pub customization: &'static Customization,
    pub task: Task,
    pub records: u64,
    pub seed: u64,
}

impl Plan {
    /// Checks the model, type and record count. `records: None` means [`DEFAULT_RECORDS`], or the
    /// model's minimum when that is higher.
    pub fn new(
        model_id: &str,
        kind: CustomizationType,
        task: Task,
        records: Option<u64>,
        seed: u64,
    ) -> Result<Plan, SampleError> {
        let options = Options::new(model_id, kind)?;
        let (model, customization) = (options.model, options.customization);
        let bounds = customization.records;
        let min = bounds.min.map_or(1, |f| f.value).max(1);
        let max = [bounds.max_total, bounds.max_train]
            .into_iter()
            .flatten()
            .map(|f| f.value)
            .min()
            .unwrap_or(MAX_RECORDS)
            .min(MAX_RECORDS);
        let records = records.unwrap_or(DEFAULT_RECORDS.max(min));
        if records < min {
            return Err(SampleError::TooFewRecords { model: model.id, kind, min });
        }
        if records > max {
            return Err(SampleError::TooManyRecords { model: model.id, kind, max });
        }
        Ok(Plan { model, customization, task, records, seed })
    }

    pub fn format(&self) -> DatasetFormat {
        self.customization.format
    }

    /// Writes the dataset as JSON Lines; returns the bytes written.
    pub fn write(&self, mut out: impl Write) -> io::Result<u64> {
        let mut written = 0u64;
        let mut line = Vec::with_capacity(512);
        for i in 0..self.records {
            line.clear();
            let example = match self.task {
                Task::Classification => ticket(self.seed, i),
                Task::Qa => word_problem(self.seed, i),
            };
            record(self.format(), &example, &mut line)?;
            line.push(b'\n');
            out.write_all(&line)?;
            written += line.len() as u64;
        }
        Ok(written)
    }

    /// The dataset in memory.
    pub fn to_jsonl(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("JSON is UTF-8")
    }
}

/// One example before it is put in a format.
struct Example {
    system: &'static str,
    prompt: String,
    /// What a tuned model should answer.
    answer: String,
    /// The short answer a grader compares with.
    reference: String,
}

/// A uniform pick from `n` for the `k`-th choice of record `i`.
fn pick(seed: u64, i: u64, k: u64, n: usize) -> usize {
    (xxh3_64_with_seed(&[i.to_le_bytes(), k.to_le_bytes()].concat(), seed) % n as u64) as usize
}

const LABELS: [&str; 5] = ["billing", "technical", "shipping", "account", "returns"];
const CLASSIFY: &str = "Classify the customer support ticket as billing, technical, shipping, account or returns. \
                        Answer with the label only.";
const PRODUCTS: [&str; 8] = [
    "headphones",
    "desk lamp",
    "coffee grinder",
    "backpack",
    "keyboard",
    "water bottle",
    "phone case",
    "monitor stand",
];
const TICKETS: [[&str; 4]; 5] = [
    [
        "I was charged twice for order {order} ({product}). Please refund the extra payment.",
        "My invoice for order {order} shows the wrong amount for the {product}.",
        "The discount code was not applied to order {order}; I paid full price for the {product}.",
        "Why did my card get billed again {days} days after I paid for order {order}?",
    ],
    [
        "The app crashes every time I open the page for order {order}.",
        "I cannot log in on the website since the update {days} days ago; order {order} is stuck.",
        "The {product} setup guide link gives an error page for order {order}.",
        "Checkout freezes when I try to pay for order {order} on my phone.",
    ],
    [
        "Order {order} ({product}) has not arrived after {days} days.",
        "The tracking for order {order} has not changed in {days} days.",
        "My {product} from order {order} was delivered to the wrong address.",
        "Can you ship order {order} faster? The {product} is a gift.",
    ],
    [
        "Please change the email address on my account; my last order was {order}.",
        "I want to delete my account after order {order} is closed.",
        "My password reset email never arrives; I need the receipt for order {order}.",
        "How do I add a second shipping address to my account before order {order} ships?",
    ],
    [
        "The {product} from order {order} is broken. How do I send it back?",
        "I would like to return the {product} from order {order}; it is the wrong size.",
        "I sent back order {order} {days} days ago. When will the return be processed?",
        "Can I exchange the {product} from order {order} for another colour?",
    ],
];

fn ticket(seed: u64, i: u64) -> Example {
    let label = (i % LABELS.len() as u64) as usize;
    // Unique per record: 7919 is prime and coprime with 900,000.
    let order = 100_000 + (i * 7919) % 900_000;
    let text = TICKETS[label][pick(seed, i, 1, 4)]
        .replace("{order}", &format!("#{order}"))
        .replace("{product}", PRODUCTS[pick(seed, i, 2, PRODUCTS.len())])
        .replace("{days}", &(2 + pick(seed, i, 3, 20)).to_string());
    Example { system: CLASSIFY, prompt: text, answer: LABELS[label].to_string(), reference: LABELS[label].to_string() }
}

const SOLVE: &str = "Solve the word problem. Show the calculation, then give the number.";
const ITEMS: [&str; 6] = ["pens", "apples", "books", "cups", "candles", "stickers"];

fn word_problem(seed: u64, i: u64) -> Example {
    let shop = i + 1;
    let item = ITEMS[pick(seed, i, 1, ITEMS.len())];
    let a = 2 + pick(seed, i, 2, 18) as u64;
    let b = 3 + pick(seed, i, 3, 27) as u64;
    let (prompt, working, result) = match pick(seed, i, 4, 3) {
        0 => (
            format!("Shop {shop} has {a} boxes with {b} {item} in each box. How many {item} does it have?"),
            format!("{a} boxes × {b} {item} = {}", a * b),
            a * b,
        ),
        1 => (
            format!("Shop {shop} had {} {item} and sold {a} of them. How many {item} are left?", a + b),
            format!("{} − {a} = {b}", a + b),
            b,
        ),
        _ => (
            format!("Shop {shop} receives {a} {item} on Monday and {b} on Tuesday. How many {item} did it receive?"),
            format!("{a} + {b} = {}", a + b),
            a + b,
        ),
    };
    Example {
        system: SOLVE,
        prompt,
        answer: format!("{working}. The answer is {result}."),
        reference: result.to_string(),
    }
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    content: [Text<'a>; 1],
}

#[derive(Serialize)]
struct Conversation<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: &'static str,
    system: [Text<'a>; 1],
    messages: Vec<Turn<'a>>,
}

#[derive(Serialize)]
struct PlainTurn<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Claude<'a> {
    system: &'a str,
    messages: [PlainTurn<'a>; 2],
}

#[derive(Serialize)]
struct PromptCompletion<'a> {
    prompt: &'a str,
    completion: &'a str,
}

#[derive(Serialize)]
struct Pretraining<'a> {
    input: &'a str,
}

#[derive(Serialize)]
struct Reinforcement<'a> {
    messages: [PlainTurn<'a>; 2],
    reference_answer: &'a str,
}

/// One record in `format`. Structs, not `json!`, so the key order (and the bytes) never depends on
/// serde_json's features.
fn record(format: DatasetFormat, e: &Example, out: &mut Vec<u8>) -> io::Result<()> {
    let user = |text| Turn { role: "user", content: [Text { text }] };
    match format {
        DatasetFormat::Conversation | DatasetFormat::DistillationPrompts => {
            let mut messages = vec![user(&e.prompt)];
            // Distillation: the teacher writes the answers.
            if format == DatasetFormat::Conversation {
                messages.push(Turn { role: "assistant", content: [Text { text: &e.answer }] });
            }
            serde_json::to_writer(
                out,
                &Conversation {
                    schema_version: "bedrock-conversation-2024",
                    system: [Text { text: e.system }],
                    messages,
                },
            )
        }
        DatasetFormat::ClaudeMessages => serde_json::to_writer(
            out,
            &Claude {
                system: e.system,
                messages: [
                    PlainTurn { role: "user", content: &e.prompt },
                    PlainTurn { role: "assistant", content: &e.answer },
                ],
            },
        ),
        DatasetFormat::PromptCompletion => {
            let prompt = format!("{}\n\n{}", e.system, e.prompt);
            serde_json::to_writer(out, &PromptCompletion { prompt: &prompt, completion: &e.answer })
        }
        DatasetFormat::ContinuedPreTraining => {
            let input = format!("{} {}", e.prompt, e.answer);
            serde_json::to_writer(out, &Pretraining { input: &input })
        }
        DatasetFormat::ReinforcementChat => serde_json::to_writer(
            out,
            &Reinforcement {
                messages: [
                    PlainTurn { role: "system", content: e.system },
                    PlainTurn { role: "user", content: &e.prompt },
                ],
                reference_answer: &e.reference,
            },
        ),
    }
    .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::every_customization;
    use crate::report::Code;
    use crate::validate::validate_reader;

    #[test]
    fn every_sample_is_valid_for_every_customizable_model_and_type() {
        for (model, customization) in every_customization() {
            for task in Task::ALL {
                let plan = Plan::new(model.id, customization.kind, task, None, 7).unwrap();
                let data = plan.to_jsonl();
                let options = Options::new(model.id, customization.kind).unwrap();
                let report = validate_reader(data.as_bytes(), &options, |_| {}).unwrap();
                let what = format!("{} {} {}", model.id, customization.kind, task.as_str());
                assert!(report.valid, "{what}: {:?}", report.errors);
                assert_eq!(report.records, plan.records, "{what}");
                // Nothing to warn about but the model being legacy.
                let warnings: Vec<Code> =
                    report.warnings.iter().map(|w| w.code).filter(|c| *c != Code::LegacyModel).collect();
                assert!(warnings.is_empty(), "{what}: {:?}", report.warnings);
            }
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let plan = |seed| {
            Plan::new("amazon.nova-micro-v1:0", CustomizationType::FineTuning, Task::Qa, Some(50), seed).unwrap()
        };
        assert_eq!(plan(1).to_jsonl(), plan(1).to_jsonl());
        assert_ne!(plan(1).to_jsonl(), plan(2).to_jsonl());
        let data = plan(1).to_jsonl();
        assert_eq!(data.lines().count(), 50);
        let first: serde_json::Value = serde_json::from_str(data.lines().next().unwrap()).unwrap();
        let answer = first["messages"][1]["content"][0]["text"].as_str().unwrap();
        assert!(answer.starts_with(|c: char| c.is_ascii_digit()) && answer.contains("The answer is"), "{answer}");
    }

    #[test]
    fn rft_references_are_what_the_graders_compare_with() {
        let plan = Plan::new("amazon.nova-2-lite-v1:0", CustomizationType::ReinforcementFineTuning, Task::Qa, None, 3)
            .unwrap();
        for line in plan.to_jsonl().lines().take(20) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let reference: u64 = v["reference_answer"].as_str().unwrap().parse().unwrap();
            assert!(reference > 0);
            assert_eq!(v["messages"][1]["role"], "user");
        }
        let plan = Plan::new(
            "amazon.nova-2-lite-v1:0",
            CustomizationType::ReinforcementFineTuning,
            Task::Classification,
            None,
            3,
        )
        .unwrap();
        let labels: std::collections::BTreeSet<String> = plan
            .to_jsonl()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["reference_answer"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(labels.len(), 5);
    }

    #[test]
    fn record_counts_respect_the_model() {
        let e = Plan::new("meta.llama3-1-8b-instruct-v1:0", CustomizationType::FineTuning, Task::Qa, Some(10), 0)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "meta.llama3-1-8b-instruct-v1:0:128k needs at least 100 records for FINE_TUNING; ask for --records 100 or more"
        );
        let e = Plan::new(
            "anthropic.claude-3-haiku-20240307-v1:0",
            CustomizationType::FineTuning,
            Task::Qa,
            Some(10_001),
            0,
        );
        assert!(matches!(e, Err(SampleError::TooManyRecords { max: 10_000, .. })));
        assert_eq!(
            Plan::new("amazon.nova-micro-v1:0", CustomizationType::FineTuning, Task::Qa, None, 0).unwrap().records,
            100
        );
        assert_eq!(
            Plan::new("amazon.nova-micro-v1:0", CustomizationType::FineTuning, Task::Qa, Some(8), 0).unwrap().records,
            8
        );
        assert!(matches!(
            Plan::new("nope", CustomizationType::FineTuning, Task::Qa, None, 0),
            Err(SampleError::Options(_))
        ));
        assert!("QA".parse::<Task>().is_ok() && "poems".parse::<Task>().is_err());
    }

    #[test]
    fn a_large_sample_has_no_duplicates() {
        let plan =
            Plan::new("amazon.nova-micro-v1:0", CustomizationType::FineTuning, Task::Classification, Some(20_000), 9)
                .unwrap();
        let data = plan.to_jsonl();
        let options = Options::new(plan.model.id, plan.customization.kind).unwrap();
        let report = validate_reader(data.as_bytes(), &options, |_| {}).unwrap();
        assert!(report.valid && report.warnings.is_empty(), "{:?}", report.warnings);
    }
}
