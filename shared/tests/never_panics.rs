//! Whatever the input, validation returns a report and never panics, for every model and customization
//! type; and the report's counts agree with its lists.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shared::catalogue;
use shared::report::Report;
use shared::validate::{Options, validate_reader};

/// Every (model, customization type) pair, with a small line cap on some to reach the long-line path.
fn all_options() -> Vec<Options> {
    catalogue::all()
        .iter()
        .flat_map(|m| m.customizations.iter().map(move |c| (m, c.kind)))
        .map(|(m, kind)| Options::new(m.id, kind).expect("catalogue entries make options"))
        .collect()
}

fn check_everywhere(data: &[u8], line_cap: Option<usize>) -> Result<(), TestCaseError> {
    for mut opts in all_options() {
        if let Some(cap) = line_cap {
            opts.max_line_bytes = cap;
        }
        let mut sunk = 0u64;
        let report = validate_reader(data, &opts, |_| sunk += 1).expect("reading from memory cannot fail");
        consistent(&report, sunk)?;
    }
    Ok(())
}

fn consistent(r: &Report, sunk: u64) -> Result<(), TestCaseError> {
    prop_assert!(r.error_count >= r.errors.len() as u64, "{} < {}", r.error_count, r.errors.len());
    prop_assert!(r.warning_count >= r.warnings.len() as u64);
    prop_assert_eq!(r.valid, r.error_count == 0);
    prop_assert!(sunk <= r.records);
    Ok(())
}

/// Pieces of the formats' JSON, so random lines are often nearly valid records.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\n",
    "\r\n",
    "\"",
    "\\",
    "\\u00e9",
    "\\ud800",
    "null",
    "true",
    "0",
    "-1.5e309",
    "\"prompt\"",
    "\"completion\"",
    "\"input\"",
    "\"text\"",
    "\"messages\"",
    "\"role\"",
    "\"user\"",
    "\"assistant\"",
    "\"system\"",
    "\"content\"",
    "\"schemaVersion\"",
    "\"reference_answer\"",
    "\"image\"",
    "\"video\"",
    "\"format\"",
    "\"png\"",
    "\"mp4\"",
    "\"source\"",
    "\"s3Location\"",
    "\"uri\"",
    "\"s3://b-1/a b.png\"",
    "\"bucketOwner\"",
    "\"User: hi\"",
    "\"[EOS]\"",
    "\"数据\"",
    "\u{feff}",
    "\u{1F600}",
    "\"type\"",
];

fn fragment_lines() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..80).prop_map(|parts| parts.concat())
}

/// Keys and strings the checkers look at, so generated objects reach deep into them.
const KEYS: &[&str] = &[
    "prompt",
    "completion",
    "input",
    "text",
    "messages",
    "role",
    "content",
    "system",
    "schemaVersion",
    "reference_answer",
    "image",
    "video",
    "format",
    "source",
    "s3Location",
    "uri",
    "bucketOwner",
    "bytes",
    "type",
];
const STRINGS: &[&str] = &[
    "",
    " ",
    "user",
    "assistant",
    "system",
    "User",
    "png",
    "jpeg",
    "PNG",
    "mp4",
    "flv",
    "s3://bucket-1/a.png",
    "s3://B/x",
    "s3://b-1/",
    "https://x",
    "123456789012",
    "Bot: hi",
    "USER: x",
    "[EOS]",
    "text",
    "数据 é",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(KEYS), json_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![4 => proptest::sample::select(STRINGS).prop_map(Value::from), 1 => json_value()]
}

/// Content blocks shaped like the conversation format's, with arbitrary values inside.
fn block() -> impl Strategy<Value = Value> {
    let media = (proptest::sample::select(&["image", "video"][..]), text(), text(), proptest::option::of(text()))
        .prop_map(|(kind, format, uri, owner)| {
            let mut location = json!({ "uri": uri });
            if let Some(owner) = owner {
                location["bucketOwner"] = owner;
            }
            let mut block = Map::new();
            block.insert(kind.to_string(), json!({ "format": format, "source": { "s3Location": location } }));
            Value::Object(block)
        });
    prop_oneof![3 => text().prop_map(|t| json!({ "text": t })), 2 => media, 1 => json_object()]
}

fn message() -> impl Strategy<Value = Value> {
    let content = prop_oneof![
        3 => proptest::collection::vec(block(), 0..12).prop_map(Value::Array),
        2 => text(),
        1 => json_value(),
    ];
    (text(), content).prop_map(|(role, content)| json!({ "role": role, "content": content }))
}

/// Records shaped like every format's, so the checkers' deeper rules are reached.
fn record() -> impl Strategy<Value = Value> {
    let shaped = (
        proptest::collection::vec(message(), 0..8),
        proptest::option::of(text()),
        proptest::option::of(prop_oneof![text(), proptest::collection::vec(block(), 0..3).prop_map(Value::Array)]),
        proptest::option::of(json_value()),
    )
        .prop_map(|(messages, version, system, answer)| {
            let mut record = json!({ "messages": messages });
            for (key, value) in [("schemaVersion", version), ("system", system), ("reference_answer", answer)] {
                if let Some(value) = value {
                    record[key] = value;
                }
            }
            record
        });
    prop_oneof![3 => shaped, 1 => json_object(), 1 => json_value()]
}

fn json_records() -> impl Strategy<Value = String> {
    proptest::collection::vec(record(), 1..6).prop_map(|values| values.iter().map(|v| v.to_string() + "\n").collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_everywhere(&data, None)?;
    }

    #[test]
    fn json_fragments_never_panic(lines in proptest::collection::vec(fragment_lines(), 0..6), cap in 1usize..64) {
        let data = lines.join("\n");
        check_everywhere(data.as_bytes(), None)?;
        check_everywhere(data.as_bytes(), Some(cap))?;
    }

    #[test]
    fn generated_json_records_never_panic(data in json_records()) {
        check_everywhere(data.as_bytes(), None)?;
    }
}
