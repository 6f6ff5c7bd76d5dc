//! Every customization type to the end on the local cloud, with each model's default deployment: the
//! path a user of the blog guide takes with `finetune run --model M --type T`.

use local_stack::{LocalCloud, Options, function_arn};
use serde_json::{Value, json};
use shared::CustomizationType;
use shared::catalogue;
use shared::pipeline::{DeploymentMode, PipelineConfig, layout};
use shared::sample::{Plan, Task};
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

async fn cloud(dir: &Path, region: &str, parameters: &[(&str, &str)]) -> LocalCloud {
    let mut options = Options::new(dir.join(region));
    options.region = region.to_string();
    // The operator allows every catalogued model and deployment, so each type runs under its defaults.
    // Distillation teachers too: the allow-list applies to a teacher as to a base model.
    let teachers = catalogue::distillation::TEACHERS.iter().map(|t| t.id);
    let models: Vec<&str> = catalogue::all().iter().map(|m| m.id).chain(teachers).collect();
    options.parameters = [
        ("AllowedBaseModels", models.join(",")),
        ("AllowedDeploymentModes", "none,on-demand,provisioned".to_string()),
        ("MaxModelUnits", "1".to_string()),
        // Some catalogued models have no training price; the operator accepts that their cost is not capped.
        ("UnpricedModelsAllowed", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    .collect();
    LocalCloud::start(options).await.expect("local cloud starts")
}

/// Writes a sample for the model and type, uploads it with `sidecar`, and waits for the execution's end:
/// (run id, status, output or cause).
async fn run(
    cloud: &LocalCloud,
    dir: &Path,
    model: &str,
    kind: CustomizationType,
    task: Task,
    sidecar: Value,
) -> (String, String, Value) {
    // Bedrock counts a minimum of 100 on the training file it reads, after the split holds some out.
    let plan = Plan::new(model, kind, task, Some(150), 7).expect("a sample for the model");
    let name = format!("{}-{}.jsonl", model.replace([':', '.'], "-"), kind.as_str().to_lowercase());
    let file = dir.join(&name);
    std::fs::write(&file, plan.to_jsonl()).unwrap();
    let mut config = json!({"base_model": model, "customization_type": kind});
    config.as_object_mut().unwrap().extend(sidecar.as_object().unwrap().clone());
    cloud.upload(&file, &name, Some(&config)).await.expect("upload");
    let answer = cloud.next_upload_result(PATIENCE).await.expect("notified").expect("validate-split");
    let started = &answer["started"][0];
    let run_id = started["run_id"].as_str().expect("run id").to_string();
    let arn = started["execution_arn"].as_str().expect("execution").to_string();
    let done = tokio::time::timeout(PATIENCE, cloud.sfn.wait_for_execution(&arn)).await.expect("in time").unwrap();
    let snap = done.snapshot;
    let status = format!("{:?}", snap.status).to_uppercase();
    let output = snap.output.clone().unwrap_or_else(|| json!({"error": snap.error, "cause": snap.cause}));
    (run_id, status, output)
}

/// How a model's run of one type is expected to end.
fn check_run(cloud: &LocalCloud, model: &catalogue::Model, kind: CustomizationType, run_id: &str, output: &Value) {
    let config: PipelineConfig = serde_json::from_value(output["config"].clone()).unwrap();
    let expected = match kind {
        // Raw text has no answers to evaluate; a distilled student is trained only.
        CustomizationType::ContinuedPreTraining | CustomizationType::Distillation => DeploymentMode::None,
        _ if model.on_demand_deployment => DeploymentMode::OnDemand,
        _ => DeploymentMode::None,
    };
    assert_eq!(config.deployment, expected, "{} {kind}", model.id);
    assert_eq!(config.preset, Some(shared::presets::Preset::Moderate), "{} {kind}", model.id);
    // Evaluated where it was deployed; trained only where it could not be.
    let evaluated = expected == DeploymentMode::OnDemand;
    assert_eq!(output["evaluation"].is_object(), evaluated, "{} {kind}: {output}", model.id);
    let job_arn = output["job"]["job_arn"].as_str().expect("a job");
    assert!(job_arn.starts_with(&format!("arn:aws:bedrock:{}:", cloud.region)), "{job_arn}");
    let job = cloud.emulator.get_model_customization_job(job_arn).unwrap();
    assert_eq!(job.customization_type, kind.as_str(), "{}", model.id);
    assert!(cloud.object_path(&layout::summary_key(run_id)).exists(), "{} {kind}", model.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customizable_model_runs_every_type_it_supports_to_the_end_in_its_own_region() {
    let dir = tempfile::tempdir().unwrap();
    // One stack per region, as a user deploys one where the model is offered: us-east-1 when it is
    // (the stack's default), else its own (Llama, Claude: us-west-2). Every ARN, the Bedrock role's
    // trust conditions and the topic follow the stack's region.
    let mut clouds: Vec<LocalCloud> = Vec::new();
    let mut ran = 0;
    for model in catalogue::all().iter().filter(|m| !m.customizations.is_empty()) {
        let region = model.region_for(local_stack::REGION);
        if !clouds.iter().any(|c| c.region == region) {
            clouds.push(cloud(dir.path(), region, &[]).await);
        }
        let cloud = clouds.iter().find(|c| c.region == region).unwrap();
        for kind in model.supported_types() {
            let (run_id, status, output) = run(cloud, dir.path(), model.id, kind, Task::Qa, json!({})).await;
            assert_eq!(status, "SUCCEEDED", "{} {kind} in {region}: {output}", model.id);
            check_run(cloud, model, kind, &run_id, &output);
            ran += 1;
        }
    }
    let elsewhere = catalogue::all()
        .iter()
        .filter(|m| !m.customizations.is_empty() && !m.regions.contains(&local_stack::REGION))
        .count();
    assert!(elsewhere >= 8, "Llama and Claude are not customized in us-east-1: {elsewhere}");
    assert!(clouds.iter().any(|c| c.region == "us-west-2"), "the us-west-2-only models ran in their region");
    let pairs: usize = catalogue::all().iter().map(|m| m.customizations.len()).sum();
    assert_eq!(ran, pairs, "every (model, type) the catalogue offers ran");
    assert!(ran >= 23, "{ran} runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_titan_text_express_trains_under_the_defaults_and_continued_pre_training_never_pays_to_fail() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), "us-east-1", &[]).await;
    let titan = "amazon.titan-text-express-v1:0:8k";
    let (_, status, output) = run(&cloud, dir.path(), titan, CustomizationType::FineTuning, Task::Qa, json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    assert_eq!(output["config"]["deployment"], "none");

    let (_, status, output) =
        run(&cloud, dir.path(), titan, CustomizationType::ContinuedPreTraining, Task::Qa, json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    assert_eq!(output["config"]["deployment"], "none", "raw text has no answers to evaluate against");
    assert!(output["job"]["custom_model_arn"].is_string());

    // Asked to deploy it anyway: refused before any job, with the reason.
    let jobs_before = cloud.emulator.list_model_customization_jobs(&Default::default()).unwrap();
    let (_, status, output) = run(
        &cloud,
        dir.path(),
        "amazon.titan-text-lite-v1:0:4k",
        CustomizationType::ContinuedPreTraining,
        Task::Classification,
        json!({"deployment": "provisioned"}),
    )
    .await;
    assert_eq!(status, "FAILED");
    let cause = output["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("no answers for the evaluation to score"), "{output}");
    let jobs_after = cloud.emulator.list_model_customization_jobs(&Default::default()).unwrap();
    assert_eq!(
        jobs_after.model_customization_job_summaries.len(),
        jobs_before.model_customization_job_summaries.len(),
        "no job was started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distillation_trains_the_student_with_the_catalogues_default_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = cloud(dir.path(), "us-east-1", &[]).await;
    let micro = "amazon.nova-micro-v1:0:128k";
    let (_, status, output) =
        run(&cloud, dir.path(), micro, CustomizationType::Distillation, Task::Qa, json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    assert_eq!(output["config"]["teacher_model"], "amazon.nova-pro-v1:0");
    assert_eq!(output["config"]["deployment"], "none");
    let job = cloud.emulator.get_model_customization_job(output["job"]["job_arn"].as_str().unwrap()).unwrap();
    assert_eq!(job.customization_type, "DISTILLATION");
    let config = job.customization_config.expect("customizationConfig");
    assert_eq!(config["distillationConfig"]["teacherModelConfig"]["teacherModelIdentifier"], "amazon.nova-pro-v1:0");

    // A pair Bedrock does not offer is refused before anything is spent.
    let (_, status, output) = run(
        &cloud,
        dir.path(),
        micro,
        CustomizationType::Distillation,
        Task::Classification,
        json!({"teacher_model": "meta.llama3-1-405b-instruct-v1:0"}),
    )
    .await;
    assert_eq!(status, "FAILED");
    assert!(output["cause"].as_str().unwrap_or_default().contains("cannot teach"), "{output}");
}

/// The reward curve the job's grader produced: (step, mean reward).
fn rewards(cloud: &LocalCloud, run_id: &str) -> Vec<(u64, f64)> {
    let output = cloud.object_path(&layout::output_prefix(run_id));
    let job = std::fs::read_dir(&output).unwrap().flatten().next().expect("the job's folder").path();
    let csv = std::fs::read_to_string(job.join("training_artifacts/reward_metrics.csv")).expect("reward curve");
    csv.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].parse().unwrap(), cells[2].parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinforcement_fine_tuning_calls_the_stacks_grader_whose_scores_shape_the_reward_curve() {
    let dir = tempfile::tempdir().unwrap();
    let lite = "amazon.nova-2-lite-v1:0:256k";
    let exact = cloud(&dir.path().join("exact"), "us-east-1", &[]).await;
    let (run_id, status, output) =
        run(&exact, dir.path(), lite, CustomizationType::ReinforcementFineTuning, Task::Qa, json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    assert_eq!(output["config"]["deployment"], "on-demand");
    assert!(output["evaluation"].is_object(), "RFT records carry reference answers: evaluated");
    let job = exact.emulator.get_model_customization_job(output["job"]["job_arn"].as_str().unwrap()).unwrap();
    let config = job.customization_config.expect("customizationConfig");
    assert_eq!(config["rftConfig"]["graderConfig"]["lambdaGrader"]["lambdaArn"], function_arn("grader"));
    let calls = exact.lambdas.invocation_count("grader");
    assert!(calls >= 2, "the grader Lambda was invoked during training: {calls}");
    let strict = rewards(&exact, &run_id);
    assert!(strict.len() >= 2 && strict.last().unwrap().1 > strict[0].1, "{strict:?}");

    // The same data graded numerically with a tolerance and partial credit: near misses earn reward.
    let spec = r#"{"mode":"numeric","rel_tolerance":0.05,"partial_credit":true}"#;
    let numeric = cloud(&dir.path().join("numeric"), "us-east-1", &[("GraderSpec", spec)]).await;
    let (run_id, status, output) =
        run(&numeric, dir.path(), lite, CustomizationType::ReinforcementFineTuning, Task::Qa, json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    let lenient = rewards(&numeric, &run_id);
    let mean = |c: &[(u64, f64)]| c.iter().map(|(_, r)| r).sum::<f64>() / c.len() as f64;
    assert!(mean(&lenient) > mean(&strict), "numeric {lenient:?} vs exact {strict:?}");

    // The uploader picks the mode in the sidecar, on the stack whose operator left exact as default:
    // the spec travels in the prepared records and the same grader function applies it.
    let sidecar = json!({"grader": {"mode": "numeric", "rel_tolerance": 0.05, "partial_credit": true}});
    let (run_id, status, output) =
        run(&exact, dir.path(), lite, CustomizationType::ReinforcementFineTuning, Task::Qa, sidecar).await;
    assert_eq!(status, "SUCCEEDED", "{output}");
    let train = std::fs::read_to_string(exact.object_path(&layout::train_key(&run_id))).unwrap();
    let first: Value = serde_json::from_str(train.lines().next().unwrap()).unwrap();
    assert_eq!(first["finetune_grader"]["mode"], "numeric", "{first}");
    let chosen = rewards(&exact, &run_id);
    assert!(mean(&chosen) > mean(&strict), "sidecar numeric {chosen:?} vs exact {strict:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grader_the_bedrock_role_may_not_invoke_fails_the_job_as_aws_would_and_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    // The template without the service role's lambda:InvokeFunction on the grader (the function's
    // resource policy for bedrock.amazonaws.com stays: Bedrock calls as the role, which it does not name).
    let statement = "              - Sid: CallTheRewardGrader\n                # Reinforcement fine-tuning: Bedrock calls the stack's grader as this role.\n                Effect: Allow\n                Action: lambda:InvokeFunction\n                Resource: !GetAtt GraderFunction.Arn\n";
    assert!(local_stack::TEMPLATE.contains(statement), "the template's grader statement moved; update this test");
    let mut options = Options::new(dir.path().join("denied"));
    options.template = local_stack::TEMPLATE.replace(statement, "");
    let lite = "amazon.nova-2-lite-v1:0:256k";
    options.parameters = [("AllowedBaseModels", lite), ("UnpricedModelsAllowed", "true")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");
    let (_, status, output) =
        run(&cloud, dir.path(), lite, CustomizationType::ReinforcementFineTuning, Task::Qa, json!({})).await;
    assert_eq!(status, "FAILED", "{output}");
    let cause = output["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("AccessDeniedException") && cause.contains("lambda:InvokeFunction"), "{output}");
    assert!(cause.contains(&function_arn("grader")), "{output}");
    assert_eq!(cloud.lambdas.invocation_count("grader"), 0, "the grader never ran");
}
