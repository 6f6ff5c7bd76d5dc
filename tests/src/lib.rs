//! Workspace-level tests of what ties the pipeline together: the state machine definition
//! (statemachine/pipeline.asl.json) against the documents in `shared::pipeline`, the sample events in
//! events/, and the definition running on the local engine with scripted Lambdas.
//!
//! This library holds what the test files share: the definition with fake ARNs and a scripted
//! [`fake::Lambdas`] invoker; the documents at every point of a run come from the `fixtures` crate.

pub mod fake;
pub mod jsonpath;

pub use fixtures::{ACCOUNT, REGION};

use std::collections::BTreeMap;
use std::path::PathBuf;

use local_sfn::Definition;
use serde_json::Value;

/// The placeholders of the definition and the function (crate and binary) behind each one.
pub const FUNCTIONS: [(&str, &str); 6] = [
    ("ValidateSplitFunctionArn", "validate-split"),
    ("StartJobFunctionArn", "start-job"),
    ("CheckStatusFunctionArn", "check-status"),
    ("ProvisionFunctionArn", "provision"),
    ("EvaluateFunctionArn", "evaluate"),
    ("TeardownFunctionArn", "teardown"),
];

/// A fake but well-formed Lambda ARN, one per function.
pub fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:finetune-{function}")
}

/// The function a fake ARN names (the inverse of [`function_arn`]).
pub fn function_of(arn: &str) -> Option<&str> {
    arn.rsplit_once(":function:finetune-").map(|(_, f)| f)
}

/// The DefinitionSubstitutions the template passes, with fake ARNs.
pub fn substitutions() -> BTreeMap<String, String> {
    FUNCTIONS.iter().map(|(placeholder, function)| (placeholder.to_string(), function_arn(function))).collect()
}

/// The repository root (this crate lives in tests/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The definition as written, placeholders included.
pub fn definition_text() -> String {
    let path = repo_root().join("statemachine/pipeline.asl.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The definition after substitution, as Step Functions receives it.
pub fn substituted_definition() -> String {
    local_sfn::substitute_definition(&definition_text(), &substitutions()).expect("every placeholder has a value")
}

/// The substituted definition as JSON, to inspect fields the engine does not expose.
pub fn definition_json() -> Value {
    serde_json::from_str(&substituted_definition()).expect("the definition is JSON")
}

/// The substituted definition loaded by the local engine (which refuses what it does not run).
pub fn definition() -> Definition {
    Definition::parse(&substituted_definition())
        .unwrap_or_else(|e| panic!("the local engine refuses the definition: {e}"))
}
