//! `DIR/env`: how a client outside the process reaches a served local cloud. `export` lines a shell
//! sources: the standard per-service endpoint variables every AWS SDK and the AWS CLI read
//! (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_BEDROCK`, ...), region and the test credentials, then the
//! stack's outputs under the names `sam deploy` gives them (template.yaml's `Outputs`), so a script
//! written for a deployed stack finds its bucket and state machine the same way. `finetune ... --local
//! DIR` reads the same file back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use local_cloud::Endpoints;

use crate::{BUCKET, REGION, ROLE_ARN, topic_arn};

/// The file's name in the data folder.
pub const FILE_NAME: &str = "env";

/// template.yaml's `Outputs`, in its order: what `finetune --stack` reads from DescribeStacks.
pub const OUTPUT_NAMES: [&str; 4] = ["BucketName", "StateMachineArn", "TopicArn", "BedrockServiceRoleArn"];

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// The stack outputs of the local cloud, by template.yaml's output names: the topic is in the state
/// machine's region (its ARN's fourth field), as the stack deploys both in one region.
pub fn outputs(state_machine_arn: &str) -> BTreeMap<String, String> {
    let topic = topic_arn(state_machine_arn.split(':').nth(3).unwrap_or(REGION));
    let values = [BUCKET, state_machine_arn, topic.as_str(), ROLE_ARN];
    OUTPUT_NAMES.iter().zip(values).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The file's text: the endpoint, region and credential variables, then the outputs.
pub fn render(endpoints: &Endpoints, state_machine_arn: &str) -> String {
    let mut text = String::from(
        "# The local cloud of `finetune local serve`: source this file (`. DIR/env`) and any AWS SDK or the AWS CLI\n\
         # reaches it; the last lines are the stack's outputs, named as a deployed stack's are. Rewritten at each start.\n",
    );
    let outputs = outputs(state_machine_arn);
    let stack = OUTPUT_NAMES.iter().map(|name| (name.to_string(), outputs[*name].clone()));
    for (name, value) in endpoints.env_vars().into_iter().chain(stack) {
        text.push_str(&format!("export {name}={}\n", quote(&value)));
    }
    text
}

/// The variables of a file [`render`] wrote (or one a person wrote in the same `export NAME=value`
/// form, quoted or not). Lines that are not assignments are skipped.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            let name = name.trim();
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| (name.to_string(), unquote(value.trim())))
        })
        .collect()
}

/// The endpoints a parsed file points at (`None` for a service it does not name).
pub fn endpoints(vars: &BTreeMap<String, String>) -> Endpoints {
    let url = |service: &str| vars.get(&format!("AWS_ENDPOINT_URL_{service}")).cloned();
    let mut endpoints = Endpoints::new(vars.get("AWS_REGION").map_or(REGION, String::as_str));
    endpoints.s3 = url("S3");
    endpoints.lambda = url("LAMBDA");
    endpoints.sfn = url("SFN");
    endpoints.bedrock = url("BEDROCK");
    endpoints.bedrock_runtime = url("BEDROCK_RUNTIME");
    endpoints.sns = url("SNS");
    endpoints
}

/// Single quotes, so a shell takes the value as it is.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.replace(r"'\''", "'");
    }
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return inner.to_string();
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_with_every_service_and_output() {
        let mut served = Endpoints::new("us-east-1");
        served.s3 = Some("http://127.0.0.1:4590".into());
        served.bedrock = Some("http://127.0.0.1:4591".into());
        served.bedrock_runtime = Some("http://127.0.0.1:4591".into());
        served.sfn = Some("http://127.0.0.1:4592".into());
        served.lambda = Some("http://127.0.0.1:4593".into());
        served.sns = Some("http://127.0.0.1:4594".into());
        let text = render(&served, "arn:aws:states:us-east-1:123456789012:stateMachine:finetune-pipeline");
        assert!(text.contains("export AWS_ENDPOINT_URL_BEDROCK_RUNTIME='http://127.0.0.1:4591'\n"));
        assert!(text.contains("export BucketName='finetune-local'\n"));
        let vars = parse(&text);
        for name in OUTPUT_NAMES {
            assert!(vars.contains_key(name), "{name}");
        }
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], local_cloud::TEST_ACCESS_KEY_ID);
        assert_eq!(endpoints(&vars), served);
    }

    #[test]
    fn hand_written_lines_parse_too() {
        let vars = parse("# comment\nexport A=\"x y\"\nB='it'\\''s'\nC=plain\nnot a line\n=v\n");
        assert_eq!(vars.len(), 3);
        assert_eq!((vars["A"].as_str(), vars["B"].as_str(), vars["C"].as_str()), ("x y", "it's", "plain"));
    }
}
