//! What the process tests share: running the binary, writing inputs, reading JSON's key paths.
#![allow(dead_code)] // each test file uses its own part

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const TITAN: &str = "amazon.titan-text-express-v1:0:8k";
pub const TITAN_LITE: &str = "amazon.titan-text-lite-v1:0:4k";

pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_finetune"));
    command.stdin(Stdio::null());
    command
}

pub fn finetune(args: &[&str]) -> Output {
    bin().args(args).output().expect("run finetune")
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

pub fn sample() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/support-tickets.jsonl")
}

pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// `n` distinct prompt/completion records with three labels.
pub fn pc_records(n: usize) -> String {
    let labels = ["positive", "negative", "neutral"];
    (0..n).map(|i| format!("{{\"prompt\": \"review {i}\", \"completion\": \"{}\"}}\n", labels[i % 3])).collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The one JSON document a `--json` command prints.
pub fn json(o: &Output) -> Value {
    let text = stdout(o);
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\nstderr: {}", stderr(o)))
}

/// Every key path of a document: `a.b` for nested objects, `a[].b` inside arrays (over all
/// elements); a key whose value is `null` or a scalar ends its path. Maps keyed by data (names of
/// artifacts) are paths too, which is what a fixed set of names wants.
pub fn key_paths(value: &Value) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    walk(value, "", &mut paths);
    paths
}

fn walk(value: &Value, prefix: &str, paths: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                paths.insert(path.clone());
                walk(v, &path, paths);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, &format!("{prefix}[]"), paths);
            }
        }
        _ => {}
    }
}
