//! Writes every policy document template.yaml resolves to, one JSON file each, for tools that read
//! policies one at a time (CI's parliament audit, .ci/iam-audit.sh):
//!
//!   iam-policies [--template FILE] [--parameter NAME=VALUE]... OUT_DIR
//!
//! Files are `identity--<Role>--<Policy>.json`, `trust--<Role>.json` and `resource--<Policy>.json`.
//! The stack is resolved for account 123456789012, us-east-1, stack name `finetune`.

use local_iam::{StackSettings, resolve_template};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(count) => {
            println!("{count} policy documents written");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("iam-policies: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<usize, String> {
    let mut template = PathBuf::from("template.yaml");
    let mut settings = StackSettings::new("123456789012", "us-east-1", "finetune");
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--template" => template = args.next().ok_or("--template needs a file")?.into(),
            "--parameter" => {
                let pair = args.next().ok_or("--parameter needs NAME=VALUE")?;
                let (name, value) =
                    pair.split_once('=').ok_or_else(|| format!("--parameter {pair}: expected NAME=VALUE"))?;
                settings.parameters.insert(name.into(), value.into());
            }
            "-h" | "--help" => {
                return Err("usage: iam-policies [--template FILE] [--parameter NAME=VALUE]... OUT_DIR".into());
            }
            other if out.is_none() && !other.starts_with('-') => out = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let out = out.ok_or("usage: iam-policies [--template FILE] [--parameter NAME=VALUE]... OUT_DIR")?;
    let text = std::fs::read_to_string(&template).map_err(|e| format!("{}: {e}", template.display()))?;
    let stack = resolve_template(&template.display().to_string(), &text, &settings).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut documents = Vec::new();
    for role in &stack.roles {
        documents.push((format!("trust--{}", role.logical_id), &role.trust.document));
        for policy in &role.policies {
            documents.push((format!("identity--{}--{}", role.logical_id, policy.name), &policy.document));
        }
    }
    for resource in &stack.resource_policies {
        documents.push((format!("resource--{}", resource.policy.name), &resource.policy.document));
    }
    for (name, document) in &documents {
        let file: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let path = out.join(format!("{file}.json"));
        let text = serde_json::to_string_pretty(document).expect("JSON");
        std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(documents.len())
}
