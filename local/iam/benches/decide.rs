//! What IAM costs the local cloud: a pipeline run makes a few hundred calls, each decided once.
//! `decide/pipeline-300-calls` authorizes and decides 300 calls as a run makes them (S3 reads and writes,
//! Bedrock job and deployment calls, Converse, Lambda invokes, with each caller's real role);
//! `resolve/template` is the once-per-run cost of reading template.yaml.
//!
//!   cargo bench -p local-iam --bench decide

use criterion::{Criterion, criterion_group, criterion_main};
use local_iam::{Call, Identities, Request, StackSettings, authorizations, decide, resolve_template};
use std::hint::black_box;

const TEMPLATE: &str = include_str!("../../../template.yaml");
/// (caller, service, operation, parameters)
type PipelineCall<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>);

const BUCKET: &str = "finetune-123456789012-us-east-1";

fn bench(c: &mut Criterion) {
    let settings = StackSettings::new("123456789012", "us-east-1", "finetune");
    let stack = resolve_template("template.yaml", TEMPLATE, &settings).unwrap();
    let identities = Identities::new(&stack, "AKIALOCALADMIN", "secret");
    let job = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/abc";
    let pt = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt";
    let function = "arn:aws:lambda:us-east-1:123456789012:function:finetune-EvaluateFunction";
    let role = "arn:aws:iam::123456789012:role/finetune-BedrockServiceRole";
    // One run's mix, repeated to 300 calls: mostly Converse (evaluation) and S3.
    let mix: Vec<PipelineCall> = vec![
        ("ValidateSplitFunction", "s3", "GetObject", vec![("bucket", BUCKET), ("key", "incoming/tickets.jsonl")]),
        ("ValidateSplitFunction", "s3", "PutObject", vec![("bucket", BUCKET), ("key", "runs/r/split/train.jsonl")]),
        (
            "StartJobFunction",
            "bedrock",
            "CreateModelCustomizationJob",
            vec![("model", "amazon.nova-micro-v1:0:128k"), ("custom_model_name", "r"), ("role_arn", role)],
        ),
        ("CheckStatusFunction", "bedrock", "GetModelCustomizationJob", vec![("job_arn", job)]),
        ("PipelineStateMachine", "lambda", "Invoke", vec![("function_arn", function)]),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", pt)]),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", "amazon.nova-micro-v1:0:128k")]),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", pt)]),
        ("EvaluateFunction", "bedrock-runtime", "Converse", vec![("model", "amazon.nova-micro-v1:0:128k")]),
        ("TeardownFunction", "s3", "GetObject", vec![("bucket", BUCKET), ("key", "runs/r/summary.json")]),
    ];
    let calls: Vec<_> = mix.iter().cycle().take(300).collect();
    c.bench_function("decide/pipeline-300-calls", |b| {
        b.iter(|| {
            let mut allowed = 0;
            for (who, service, operation, parameters) in &calls {
                let identity = identities.of(who, &stack).unwrap();
                let call = Call { service, operation, parameters, request_tags: &[], resource_tags: &[] };
                for a in authorizations("aws", "us-east-1", "123456789012", &call).unwrap() {
                    let request = Request {
                        principal: &identity.principal,
                        action: a.action,
                        resource: &a.resource,
                        context: &a.context,
                    };
                    allowed +=
                        decide(&identity.policies, stack.resource_policy(&a.resource), &request).allowed() as usize;
                }
            }
            black_box(allowed)
        })
    });
    c.bench_function("resolve/template", |b| {
        b.iter(|| black_box(resolve_template("template.yaml", TEMPLATE, &settings).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
