//! `finetune run --template/--definition/--parameter`: another stack on the local cloud, with IAM
//! enforced as on AWS.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

const TEMPLATE: &str = include_str!("../../template.yaml");

fn run(data: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["run", sample(), "--json", "--data-dir", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = finetune(&args);
    (o.status.code(), json(&o), stderr(&o))
}

#[test]
fn a_template_without_pass_role_fails_the_run_with_access_denied_naming_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let statement = "            - Sid: PassOnlyTheServiceRoleOnlyToBedrock
              Effect: Allow
              Action: iam:PassRole
              Resource: !GetAtt BedrockServiceRole.Arn
              Condition:
                StringEquals:
                  iam:PassedToService: bedrock.amazonaws.com
";
    assert_eq!(TEMPLATE.matches(statement).count(), 1, "the template still has the statement");
    let changed = dir.path().join("template.yaml");
    std::fs::write(&changed, TEMPLATE.replacen(statement, "", 1)).unwrap();

    let (code, outcome, err) = run(&dir.path().join("cloud"), &["--template", changed.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(outcome["status"], "FAILED");
    assert_eq!(outcome["error"], "AccessDenied", "{outcome}");
    let cause = outcome["cause"].as_str().unwrap();
    assert!(
        cause.contains("assumed-role/finetune-StartJobFunctionRole/start-job is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/finetune-local-bedrock because no identity-based policy allows the iam:PassRole action"),
        "{cause}"
    );
    let first = &outcome["errors"][0];
    assert_eq!(first["code"], "AccessDenied");
    assert!(first["message"].as_str().unwrap().contains("iam:PassRole"), "{first}");

    // The shipped template, in the same data folder: another stack, so another run, and it succeeds.
    let (code, shipped, err) = run(&dir.path().join("cloud"), &[]);
    assert_eq!((code, shipped["repeated"].as_bool()), (Some(0), Some(false)), "{err}");
}

#[test]
fn a_validate_split_without_write_access_fails_before_any_execution() {
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("template.yaml");
    let old = "Action: [s3:PutObject, s3:GetObject]";
    assert_eq!(TEMPLATE.matches(old).count(), 1);
    std::fs::write(&changed, TEMPLATE.replacen(old, "Action: [s3:GetObject]", 1)).unwrap();
    let (code, outcome, err) = run(&dir.path().join("cloud"), &["--template", changed.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!((outcome["status"].as_str(), outcome["error"].as_str()), (Some("FAILED"), Some("AccessDenied")));
    assert!(
        outcome["cause"].as_str().unwrap().contains("perform: s3:PutObject on resource: \"arn:aws:s3:::"),
        "{outcome}"
    );
    assert_eq!(outcome["job_arn"], Value::Null, "nothing was trained");
}

#[test]
fn parameters_are_checked_against_the_template_and_change_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let unknown = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap(), "--parameter", "NoSuch=1"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = stderr(&unknown);
    assert!(err.contains("NoSuch") && err.contains("DeploymentMode") && err.contains("BaseModel"), "{err}");
    assert!(stdout(&unknown).is_empty());
    let malformed = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap(), "--parameter", "DeploymentMode"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(stderr(&malformed).contains("NAME=VALUE"), "{}", stderr(&malformed));

    // The operator's default deployment, as a parameter: no evaluation.
    let (code, outcome, err) = run(&data, &["--parameter", "DeploymentMode=none"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(outcome["evaluation"], Value::Null, "{outcome}");
    let (_, default, _) = run(&data, &[]);
    assert_eq!(default["repeated"], false, "another parameter is another run");
    assert!(default["evaluation"].is_object());
}

#[test]
fn an_unreadable_template_or_definition_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    for flag in ["--template", "--definition"] {
        let o = finetune(&["run", sample(), "--data-dir", data.to_str().unwrap(), flag, "/no/such/file"]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(stderr(&o).contains("/no/such/file"), "{}", stderr(&o));
    }
}
