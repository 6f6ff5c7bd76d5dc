//! Adversarial end to end on the local cloud: an abort in every state of the definition, a fault in
//! every Task state, teardown waiting out a throughput still Creating, the reaper as the backstop,
//! quota exceeded. Every test ends asserting that nothing the run created still bills (the emulator's
//! inventory: no job in progress, no throughput, no deployment), that nothing foreign was touched, and
//! that the operator got a message.
//!
//! The states come from the definition itself: a scenario is a way to drive a run (a sidecar, faults,
//! a choreography of pauses), each scenario is run once to learn which states it enters, and every
//! state of the definition must be entered by one of them (or be listed in UNREACHABLE with why).

use local_bedrock::wire::{CreateModelCustomizationJobRequest, OutputDataConfig, Tag, TrainingDataConfig};
use local_bedrock::{FaultSpec, LiveKind};
use local_stack::{BUCKET, DEFINITION, LocalCloud, Options};
use serde_json::{Value, json};
use shared::aws::RUN_ID_TAG;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const FOREIGN_JOB: &str = "someone-elses-job";

/// States no scenario here can enter, and why; the test fails if one of them becomes reachable (so the
/// list stays true) or if a state is neither reached nor listed.
const UNREACHABLE: [(&str, &str); 5] = [
    ("JobEnded", "check-status always gives a failed or stopped job a failure message, so JobFailed is taken"),
    ("DeploymentEnded", "check-status passes Bedrock's failureMessage, which the emulator always sets on Failed"),
    ("JobPollingExhausted", "needs a job running beyond 4 days; the emulator's training time follows the dataset"),
    // Nothing is created on that path, so there is nothing to leave billing.
    ("NothingChanged", "a scheduled run whose data did not change ends here before anything is created"),
    ("DatasetInvalid", "validate-split raises DatasetInvalid itself (nothing exists yet), so the Choice never sees it"),
];

fn sample() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/support-tickets.jsonl")).to_path_buf()
}

fn invalid_sample(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sample()).expect("sample");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{this is not json";
    let path = dir.join("broken.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    path
}

/// Every state of the definition the local cloud runs, in the definition's order.
fn definition_states() -> Vec<(String, String)> {
    let def: Value = serde_json::from_str(DEFINITION).expect("definition");
    let states = def["States"].as_object().expect("States");
    states.iter().map(|(name, s)| (name.clone(), s["Type"].as_str().unwrap_or_default().to_string())).collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Start {
    Upload,
    UploadInvalid,
    Console,
}

/// One way to drive a run.
#[derive(Clone, Debug)]
struct Scenario {
    name: &'static str,
    start: Start,
    sidecar: Option<Value>,
    faults: Option<&'static str>,
    throughput_ready_after: Option<Duration>,
    /// At each state (in order): the faults to set when an execution is paused there, then resume.
    choreography: Vec<(&'static str, &'static str)>,
    /// The next calls of a function fail with an error type: (function, errorType, count).
    inject: Option<(&'static str, &'static str, usize)>,
}

impl Scenario {
    fn new(name: &'static str) -> Scenario {
        Scenario {
            name,
            start: Start::Upload,
            sidecar: None,
            faults: None,
            throughput_ready_after: None,
            choreography: vec![],
            inject: None,
        }
    }
}

fn scenarios() -> Vec<Scenario> {
    let provisioned = json!({"deployment": "provisioned"});
    vec![
        Scenario { sidecar: Some(provisioned.clone()), ..Scenario::new("provisioned, gate passes") },
        Scenario {
            sidecar: Some(json!({"deployment": "provisioned", "evaluation": {"min_improvement": 0.99}})),
            ..Scenario::new("provisioned, gate fails")
        },
        Scenario { start: Start::UploadInvalid, ..Scenario::new("invalid dataset") },
        Scenario { faults: Some("job-failed"), ..Scenario::new("job fails") },
        Scenario {
            sidecar: Some(provisioned.clone()),
            faults: Some("throughput-failed"),
            ..Scenario::new("throughput fails")
        },
        Scenario { start: Start::Console, ..Scenario::new("console start") },
        // Every Bedrock call throttled while CheckDeployment runs: it fails after its retries, and
        // Finalize finds the throughput still Creating.
        Scenario {
            sidecar: Some(provisioned.clone()),
            choreography: vec![("CheckDeployment", "throttle=1"), ("MarkFailed", "")],
            ..Scenario::new("teardown waits out a Creating throughput")
        },
        // A throughput that stays Creating beyond both bounds: the deployment poll loop, then
        // teardown's wait loop.
        Scenario {
            sidecar: Some(provisioned.clone()),
            throughput_ready_after: Some(30 * HOUR),
            ..Scenario::new("teardown gives up to the reaper")
        },
        Scenario {
            sidecar: Some(provisioned),
            inject: Some(("teardown", "InternalError", 4)),
            ..Scenario::new("teardown crashes")
        },
        // Nine calls in ten throttled while evaluating: after the handler's own retries about half the
        // answers are still missing, too few to judge.
        Scenario {
            choreography: vec![("Evaluate", "throttle=0.9,seed=5"), ("MarkFailed", "")],
            ..Scenario::new("evaluation throttled")
        },
    ]
}

async fn cloud(dir: &Path, scenario: &Scenario) -> LocalCloud {
    let mut options = Options::new(dir.join("cloud"));
    options.throughput_ready_after = scenario.throughput_ready_after;
    // The operator lets the reaper delete (the template's default is a dry run).
    options.parameters.insert("ReaperMode".into(), "delete".into());
    // The operator allows hourly billing: these scenarios provision throughputs.
    options.parameters.insert("AllowedDeploymentModes".into(), "none,on-demand,provisioned".into());
    let cloud = LocalCloud::start(options).await.expect("local cloud starts");
    foreign_job(&cloud).await;
    // After the foreign job, so that a fault like job-failed falls on the run's own.
    if let Some(faults) = scenario.faults {
        cloud.emulator.set_faults(faults.parse::<FaultSpec>().expect("faults"));
    }
    cloud
}

/// Someone else's customization job in the same account, tagged with another run id: nothing a run,
/// its teardown or the reaper does may stop it.
async fn foreign_job(cloud: &LocalCloud) {
    let key = "foreign/data.jsonl";
    let body = aws_sdk_s3::primitives::ByteStream::from_path(sample()).await.expect("sample");
    cloud.s3_client.put_object().bucket(BUCKET).key(key).body(body).send().await.expect("put foreign data");
    let tags = Some(vec![Tag { key: RUN_ID_TAG.into(), value: "someone-elses-run".into() }]);
    cloud
        .emulator
        .create_model_customization_job(CreateModelCustomizationJobRequest {
            job_name: Some(FOREIGN_JOB.into()),
            custom_model_name: Some("someone-elses-model".into()),
            role_arn: Some(local_stack::ROLE_ARN.into()),
            client_request_token: Some("someone-else".into()),
            base_model_identifier: Some("amazon.nova-micro-v1:0:128k".into()),
            training_data_config: Some(TrainingDataConfig {
                s3_uri: Some(format!("s3://{BUCKET}/{key}")),
                invocation_logs_config: None,
            }),
            output_data_config: Some(OutputDataConfig { s3_uri: Some(format!("s3://{BUCKET}/foreign/output/")) }),
            job_tags: tags.clone(),
            custom_model_tags: tags,
            ..Default::default()
        })
        .expect("the foreign job");
}

/// Starts the scenario's run; returns its execution ARN.
async fn start(cloud: &LocalCloud, dir: &Path, scenario: &Scenario) -> String {
    match scenario.start {
        Start::Console => {
            let key = "datasets/support-tickets.jsonl";
            let body = aws_sdk_s3::primitives::ByteStream::from_path(sample()).await.expect("sample");
            cloud.s3_client.put_object().bucket(BUCKET).key(key).body(body).send().await.expect("put dataset");
            let input = json!({"dataset": format!("s3://{BUCKET}/{key}")}).to_string();
            cloud
                .sfn
                .start_execution(&cloud.state_machine_arn, Some("console-run"), Some(&input))
                .expect("start")
                .execution_arn
        }
        Start::Upload | Start::UploadInvalid => {
            let file = if scenario.start == Start::Upload { sample() } else { invalid_sample(dir) };
            cloud.upload(&file, "support-tickets.jsonl", scenario.sidecar.as_ref()).await.expect("upload");
            let result = cloud.next_upload_result(PATIENCE).await.expect("notified in time").expect("validate-split");
            result["started"][0]["execution_arn"].as_str().unwrap_or_else(|| panic!("{result}")).to_string()
        }
    }
}

/// Drives the scenario until the execution ends, or until it is paused at `stop_at`. Returns the
/// execution ARN and whether it was paused there.
async fn drive(cloud: &LocalCloud, dir: &Path, scenario: &Scenario, stop_at: Option<&str>) -> (String, bool) {
    if let Some(state) = stop_at {
        cloud.sfn.pause_at(state);
    }
    for (state, _) in &scenario.choreography {
        if Some(*state) != stop_at {
            cloud.sfn.pause_at(state);
        }
    }
    if let Some((function, error, count)) = scenario.inject {
        cloud.lambdas.fail_next(function, error, count);
    }
    let arn = start(cloud, dir, scenario).await;
    let mut steps = scenario.choreography.iter();
    let mut step = steps.next();
    loop {
        let ended = async {
            let _ = cloud.sfn.wait_for_execution(&arn).await;
        };
        let at_stop = async {
            match stop_at {
                Some(state) => cloud.sfn.until_paused(state, 1).await,
                None => std::future::pending().await,
            }
        };
        let at_step = async {
            match step {
                Some((state, _)) if Some(*state) != stop_at => cloud.sfn.until_paused(state, 1).await,
                _ => std::future::pending().await,
            }
        };
        let what = tokio::time::timeout(PATIENCE, async {
            tokio::select! {
                biased;
                () = at_stop => 0,
                () = at_step => 1,
                () = ended => 2,
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{}: stuck (stop at {stop_at:?})", scenario.name));
        match what {
            0 => return (arn, true),
            1 => {
                let (state, faults) = step.expect("a step");
                cloud.emulator.set_faults(faults.parse::<FaultSpec>().expect("faults"));
                cloud.sfn.resume(state);
                step = steps.next();
            }
            _ => return (arn, false),
        }
    }
}

fn states_entered(cloud: &LocalCloud, arn: &str) -> Vec<String> {
    cloud.sfn.describe_execution(arn).expect("describe").snapshot.states_entered()
}

/// What the run (execution `name`) still has that bills, from the emulator's inventory.
fn billing(cloud: &LocalCloud) -> Vec<String> {
    cloud
        .emulator
        .inventory()
        .into_iter()
        .filter(|l| l.kind != LiveKind::CustomModel && l.name != FOREIGN_JOB)
        .map(|l| format!("{:?} {} ({})", l.kind, l.arn, l.status))
        .collect()
}

fn assert_foreign_untouched(cloud: &LocalCloud, what: &str) {
    let job = cloud.emulator.get_model_customization_job(FOREIGN_JOB).expect("the foreign job exists");
    assert!(
        !matches!(job.status.as_str(), "Stopping" | "Stopped"),
        "{what}: the foreign job was stopped ({})",
        job.status
    );
}

fn published(cloud: &LocalCloud) -> Vec<(String, String)> {
    cloud.lambdas.notifier.published.lock().unwrap().clone()
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Teardown's invocations so far: (count, how the last one ended).
fn teardowns(cloud: &LocalCloud) -> Vec<Option<String>> {
    cloud.lambdas.invocations.lock().unwrap().iter().filter(|(n, _)| n == "teardown").map(|(_, e)| e.clone()).collect()
}

/// The backstop: once whatever was Creating has settled, a reaper round deletes what the ended run left.
async fn reap(cloud: &LocalCloud) -> Value {
    cloud.clock.advance(48 * HOUR);
    cloud.lambdas.call("reaper", json!({})).await.unwrap_or_else(|e| panic!("reaper: {e:?}"))
}

// -------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_in_every_state_leaves_nothing_billing_touches_nothing_foreign_and_tells_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = scenarios();
    // Which scenario enters which state.
    let mut reached: BTreeMap<String, usize> = BTreeMap::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        let sub = dir.path().join(format!("learn-{i}"));
        let cloud = cloud(&sub, scenario).await;
        let (arn, _) = drive(&cloud, &sub, scenario, None).await;
        for state in states_entered(&cloud, &arn) {
            reached.entry(state).or_insert(i);
        }
    }
    let states = definition_states();
    let unreachable: BTreeMap<&str, &str> = UNREACHABLE.into_iter().collect();
    let missing: Vec<&String> = states
        .iter()
        .map(|(n, _)| n)
        .filter(|n| !reached.contains_key(*n) && !unreachable.contains_key(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "states no scenario enters (add a scenario, or list them in UNREACHABLE): {missing:?}");
    let stale: Vec<&&str> = unreachable.keys().filter(|n| reached.contains_key(**n)).collect();
    assert!(stale.is_empty(), "listed as unreachable but entered: {stale:?}");

    for (state, _) in states.iter().filter(|(n, _)| reached.contains_key(n)) {
        let scenario = &scenarios[reached[state]];
        let what = format!("abort in {state} ({})", scenario.name);
        let sub = dir.path().join(format!("abort-{state}"));
        let cloud = cloud(&sub, scenario).await;
        let (arn, paused) = drive(&cloud, &sub, scenario, Some(state)).await;
        assert!(paused, "{what}: never paused there");
        let name = cloud.sfn.describe_execution(&arn).unwrap().name;
        let before = teardowns(&cloud).len();
        // The scenario's faults were for the run; the clean-up after the abort meets a calm service
        // (on AWS a throttled teardown is retried by Lambda's asynchronous invocation, not here).
        cloud.emulator.set_faults(FaultSpec::default());
        cloud.sfn.stop_execution(&arn, Some("Aborted"), Some(&what)).expect("stop");
        let done = cloud.sfn.wait_for_execution(&arn).await.expect("ended");
        assert_eq!(done.snapshot.status.as_str(), "ABORTED", "{what}");
        eventually(&format!("{what}: teardown ran"), || teardowns(&cloud).len() > before).await;
        let last = teardowns(&cloud).last().cloned().flatten();

        let left = billing(&cloud);
        match last.as_deref() {
            None => assert!(left.is_empty(), "{what}: teardown succeeded yet left billing: {left:?}"),
            // Only a throughput still Creating may be left, and it is the reaper's.
            Some("TeardownFailed") => {
                assert!(
                    left.iter().all(|l| l.contains("ProvisionedThroughput") && l.contains("Creating")),
                    "{what}: {left:?}"
                );
                let report = reap(&cloud).await;
                assert!(billing(&cloud).is_empty(), "{what}: the reaper left {:?}: {report}", billing(&cloud));
            }
            Some(other) => panic!("{what}: teardown failed with {other}"),
        }
        assert_foreign_untouched(&cloud, &what);
        let messages = published(&cloud);
        assert!(
            messages.iter().any(|(_, m)| m.contains(&name)),
            "{what}: no message names the run {name}: {messages:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_in_every_task_state_fails_the_run_with_nothing_billing() {
    let dir = tempfile::tempdir().unwrap();
    // The run that enters every Task state of the main path once the job is done: provisioned, gate
    // passes. ValidateSplit is the console entry's.
    let base = &scenarios()[0];
    let console = &scenarios()[5];
    let tasks: Vec<String> = definition_states().into_iter().filter(|(_, t)| t == "Task").map(|(n, _)| n).collect();
    assert!(tasks.len() >= 7, "{tasks:?}");
    for state in &tasks {
        let scenario = if state == "ValidateSplit" { console } else { base };
        let what = format!("fault in {state}");
        let sub = dir.path().join(format!("fault-{state}"));
        let cloud = cloud(&sub, scenario).await;
        let (arn, paused) = drive(&cloud, &sub, scenario, Some(state)).await;
        assert!(paused, "{what}: never reached");
        // The state's Resource, through the template's DefinitionSubstitutions, names the function.
        let def: Value = serde_json::from_str(DEFINITION).unwrap();
        let placeholder =
            def["States"][state]["Resource"].as_str().unwrap().trim_start_matches("${").trim_end_matches('}');
        let function_arn = &local_stack::substitutions(local_stack::TEMPLATE).unwrap()[placeholder];
        let function = function_arn.rsplit(':').next().unwrap().to_string();
        assert!(local_stack::FUNCTION_NAMES.contains(&function.as_str()), "{what}: {function}");
        // Terminal for the state's Retry (InternalError is no retryable name); Finalize retries even
        // that three times, so it gets more.
        cloud.lambdas.fail_next(&function, "InternalError", if state == "Finalize" { 4 } else { 1 });
        cloud.sfn.resume(state);
        let done = cloud.sfn.wait_for_execution(&arn).await.expect("ended");
        assert_eq!(done.snapshot.status.as_str(), "FAILED", "{what}: {:?}", done.snapshot.states_entered());
        let expected = if state == "Finalize" { "TeardownFailed" } else { "InternalError" };
        assert_eq!(done.snapshot.error.as_deref(), Some(expected), "{what}");
        {
            // EventBridge's rule delivers FAILED executions to teardown too: where Finalize never
            // summarised the run (it failed, or ValidateSplit failed before it) teardown cleans up by
            // derived names and reports. The local cloud's watcher delivers it at a moment of its own;
            // delivered here as well, the test knows when it has been handled (teardown is idempotent).
            let event = json!({
                "detail-type": "Step Functions Execution Status Change",
                "source": "aws.states",
                "detail": {"name": done.name, "status": "FAILED", "executionArn": arn, "input": done.snapshot.input.to_string()},
            });
            cloud.lambdas.call("teardown", event).await.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        }
        assert!(billing(&cloud).is_empty(), "{what}: left billing {:?}", billing(&cloud));
        assert_foreign_untouched(&cloud, &what);
        assert!(!published(&cloud).is_empty(), "{what}: nobody was told");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalize_waits_out_a_throughput_still_creating_and_writes_one_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = &scenarios()[6];
    let cloud = cloud(dir.path(), scenario).await;
    let (arn, _) = drive(&cloud, dir.path(), scenario, None).await;
    let done = cloud.sfn.describe_execution(&arn).unwrap();
    let states = done.snapshot.states_entered();
    assert_eq!(done.snapshot.status.as_str(), "FAILED", "{states:?}");
    let waits = states.iter().filter(|s| *s == "WaitForTeardown").count();
    assert!(waits >= 1, "teardown waited: {states:?}");
    assert_eq!(states.iter().filter(|s| *s == "Finalize").count(), waits + 1, "{states:?}");
    assert!(billing(&cloud).is_empty(), "{:?}", billing(&cloud));
    let messages = published(&cloud);
    assert_eq!(messages.len(), 1, "one summary, published once the loop ended: {messages:?}");
    let summary: Value = serde_json::from_str(&messages[0].1).unwrap();
    let deleted = summary["deleted"].as_array().unwrap();
    assert!(deleted.iter().any(|d| d.as_str().unwrap().contains(":provisioned-model/")), "{summary}");
    assert!(summary["failures"].as_array().unwrap().is_empty(), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throughput_creating_past_the_bound_fails_the_run_loudly_and_the_reaper_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = &scenarios()[7];
    let cloud = cloud(dir.path(), scenario).await;
    let (arn, _) = drive(&cloud, dir.path(), scenario, None).await;
    let done = cloud.sfn.describe_execution(&arn).unwrap();
    let states = done.snapshot.states_entered();
    assert_eq!(done.snapshot.error.as_deref(), Some("TeardownFailed"), "{states:?}");
    assert!(
        states.iter().any(|s| s == "DeploymentPollingExhausted") && states.iter().any(|s| s == "TeardownIncomplete")
    );
    let cause = done.snapshot.cause.clone().unwrap_or_default();
    assert!(cause.contains("still cannot be deleted after") && cause.contains("left to the reaper"), "{cause}");
    let messages = published(&cloud);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].1.contains("the reaper deletes it"), "{}", messages[0].1);
    let left = billing(&cloud);
    assert_eq!(left.len(), 1, "the Creating throughput: {left:?}");

    // Before it settles the reaper can only report it; once it has, it goes, and so does its model.
    let early = cloud.lambdas.call("reaper", json!({})).await.expect("reaper");
    assert_eq!(early["deleted"].as_array().unwrap().len(), 0, "{early}");
    assert!(early["failures"][0].as_str().unwrap().contains("ConflictException"), "{early}");
    let report = reap(&cloud).await;
    assert!(billing(&cloud).is_empty(), "{report}");
    let kinds: Vec<&str> = report["deleted"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["provisioned-throughput", "custom-model"], "{report}");
    assert_foreign_untouched(&cloud, "reaper");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reaper_spares_untagged_foreign_and_successful_resources_and_dry_run_only_reports() {
    let dir = tempfile::tempdir().unwrap();
    // A successful run keeps its deployment and model; a failed-gate run loses its model to the reaper.
    let ok = &scenarios()[0];
    let cloud = cloud(dir.path(), ok).await;
    let (arn, _) = drive(&cloud, dir.path(), ok, None).await;
    assert_eq!(cloud.sfn.describe_execution(&arn).unwrap().snapshot.status.as_str(), "SUCCEEDED");
    // The foreign job completes; its model gets a deployment tagged for another run, and another with no tag.
    cloud.clock.advance(48 * HOUR);
    let foreign_model = cloud.emulator.get_custom_model("someone-elses-model").expect("foreign model").model_arn;
    let deploy = |name: &str, tags: Option<Vec<Tag>>| local_bedrock::wire::CreateCustomModelDeploymentRequest {
        model_deployment_name: Some(name.into()),
        model_arn: Some(foreign_model.clone()),
        tags,
        ..Default::default()
    };
    let foreign = cloud
        .emulator
        .create_custom_model_deployment(deploy(
            "foreign",
            Some(vec![Tag { key: RUN_ID_TAG.into(), value: "other-stack-run".into() }]),
        ))
        .unwrap()
        .custom_model_deployment_arn;
    let untagged =
        cloud.emulator.create_custom_model_deployment(deploy("untagged", None)).unwrap().custom_model_deployment_arn;
    let before = cloud.emulator.inventory();

    let report = cloud.lambdas.call("reaper", json!({})).await.expect("reaper");
    assert_eq!(report["dry_run"], false, "{report}");
    assert!(report["deleted"].as_array().unwrap().is_empty(), "nothing here may go: {report}");
    assert_eq!(cloud.emulator.inventory(), before);
    for arn in [&foreign, &untagged] {
        assert!(cloud.emulator.get_custom_model_deployment(arn).is_ok(), "{arn}");
    }

    // A dry run (the template's default) of a round that would delete: reports to the topic, deletes nothing.
    let dry_dir = dir.path().join("dry");
    let mut options = Options::new(dry_dir.join("cloud"));
    options.faults = Some("deployment-failed".into());
    let dry = LocalCloud::start(options).await.unwrap();
    dry.upload(&sample(), "support-tickets.jsonl", None).await.unwrap();
    let started = dry.next_upload_result(PATIENCE).await.unwrap().unwrap();
    let arn = started["started"][0]["execution_arn"].as_str().unwrap().to_string();
    dry.sfn.wait_for_execution(&arn).await.unwrap();
    let models = dry.emulator.inventory().into_iter().filter(|l| l.kind == LiveKind::CustomModel).count();
    assert_eq!(models, 1, "the failed run's model is left for the reaper");
    let published_before = published(&dry).len();
    let report = dry.lambdas.call("reaper", json!({})).await.expect("reaper");
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["would_delete"].as_array().unwrap().len(), 1, "{report}");
    assert!(report["deleted"].as_array().unwrap().is_empty());
    let models = dry.emulator.inventory().into_iter().filter(|l| l.kind == LiveKind::CustomModel).count();
    assert_eq!(models, 1, "a dry run deletes nothing");
    let messages = published(&dry);
    assert_eq!(messages.len(), published_before + 1);
    assert!(messages.last().unwrap().0.contains("dry run"), "{messages:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_fails_the_run_before_anything_bills() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        sidecar: Some(json!({"deployment": "provisioned"})),
        faults: Some("quota"),
        ..Scenario::new("quota exceeded")
    };
    let cloud = cloud(dir.path(), &scenario).await;
    let (arn, _) = drive(&cloud, dir.path(), &scenario, None).await;
    let done = cloud.sfn.describe_execution(&arn).unwrap();
    assert_eq!(done.snapshot.status.as_str(), "FAILED");
    assert_eq!(done.snapshot.error.as_deref(), Some("QuotaExceeded"), "{:?}", done.snapshot.cause);
    let cause = done.snapshot.cause.unwrap_or_default();
    assert!(cause.contains("quota"), "{cause}");
    // A quota that stays full: Provision's Retry waited it out (bounded), then the run failed.
    assert_eq!(cloud.lambdas.invocation_count("provision"), 5, "the first call and four retries");
    assert!(billing(&cloud).is_empty(), "{:?}", billing(&cloud));
    assert_foreign_untouched(&cloud, "quota");
    assert_eq!(published(&cloud).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_that_frees_up_is_waited_out_and_the_run_goes_on() {
    // The account's no-commitment throughputs are all taken at first (ServiceQuotaExceededException
    // once): Provision's Retry waits minutes, not seconds, and the run then provisions and passes.
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        sidecar: Some(json!({"deployment": "provisioned"})),
        faults: Some("quota=1"),
        ..Scenario::new("quota frees up")
    };
    let cloud = cloud(dir.path(), &scenario).await;
    let (arn, _) = drive(&cloud, dir.path(), &scenario, None).await;
    let done = cloud.sfn.describe_execution(&arn).unwrap();
    assert_eq!(done.snapshot.status.as_str(), "SUCCEEDED", "{:?} {:?}", done.snapshot.error, done.snapshot.cause);
    let history = cloud.sfn.get_execution_history(&arn).unwrap();
    let quota_failures = history
        .iter()
        .filter(|e| matches!(&e.details, local_sfn::EventDetails::TaskFailed { error, .. } if error == "QuotaExceeded"))
        .count();
    assert_eq!(quota_failures, 1, "one refusal, then the retry");
    assert_eq!(cloud.lambdas.invocation_count("provision"), 2);
    assert_foreign_untouched(&cloud, "quota frees up");
    assert_eq!(published(&cloud).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluation_under_heavy_throttling_is_inconclusive_not_a_failed_gate() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenarios().pop().unwrap();
    assert_eq!(scenario.name, "evaluation throttled");
    let cloud = cloud(dir.path(), &scenario).await;
    let (arn, _) = drive(&cloud, dir.path(), &scenario, None).await;
    let done = cloud.sfn.describe_execution(&arn).unwrap();
    let states = done.snapshot.states_entered();
    assert_eq!(done.snapshot.error.as_deref(), Some("GateInconclusive"), "{states:?} {:?}", done.snapshot.cause);
    assert!(!states.iter().any(|s| s == "GateFailed"), "neither passed nor failed: {states:?}");
    let cause = done.snapshot.cause.unwrap_or_default();
    assert!(cause.contains("below the 0.8 needed to judge"), "{cause}");
    let evaluated = local_stack_evaluation(&cloud, &arn);
    let coverage = evaluated["coverage"].as_f64().unwrap();
    assert!(coverage < 0.8, "{evaluated}");
    let errors = evaluated["base"]["errors"].as_u64().unwrap() + evaluated["custom"]["errors"].as_u64().unwrap();
    assert!(errors > 0, "calls failed and were not scored: {evaluated}");
    assert_eq!(evaluated["verdict"], "INCONCLUSIVE");
    assert!(billing(&cloud).is_empty(), "{:?}", billing(&cloud));
    assert_eq!(published(&cloud).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluation_under_half_throttling_judges_only_what_both_models_answered() {
    // Every second Bedrock call throttled while evaluating. Whatever the handler's retries recover, the
    // gate is decided on the samples both models answered: coverage is exactly their share, an
    // unanswered sample is never scored (as 0 or otherwise), and below the coverage floor the gate
    // neither passes nor fails.
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        choreography: vec![("Evaluate", "throttle=0.5,seed=11"), ("MarkFailed", "")],
        ..Scenario::new("evaluation half throttled")
    };
    let cloud = cloud(dir.path(), &scenario).await;
    let (arn, _) = drive(&cloud, dir.path(), &scenario, None).await;
    let done = cloud.sfn.describe_execution(&arn).unwrap();
    let states = done.snapshot.states_entered();
    let evaluated = local_stack_evaluation(&cloud, &arn);
    let run_id = done.name.clone();
    let predictions = std::fs::read_to_string(cloud.object_path(&shared::pipeline::layout::predictions_key(&run_id)))
        .expect("predictions written");
    let rows: Vec<Value> = predictions.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let answered = |row: &Value, side: &str| !row[side]["answer"].is_null();
    let both = rows.iter().filter(|r| answered(r, "base") && answered(r, "custom")).count();
    let samples = evaluated["samples"].as_u64().unwrap() as usize;
    assert_eq!(rows.len(), samples, "{evaluated}");
    let errors = evaluated["base"]["errors"].as_u64().unwrap() + evaluated["custom"]["errors"].as_u64().unwrap();
    let unanswered =
        rows.iter().map(|r| usize::from(!answered(r, "base")) + usize::from(!answered(r, "custom"))).sum::<usize>();
    assert_eq!(errors as usize, unanswered, "every unanswered call is an error, not a score: {evaluated}");
    let coverage = evaluated["coverage"].as_f64().unwrap();
    assert!((coverage - both as f64 / samples as f64).abs() < 1e-9, "coverage {coverage} vs {both}/{samples}");
    match evaluated["verdict"].as_str().unwrap() {
        "INCONCLUSIVE" => {
            assert!(coverage < evaluated["min_coverage"].as_f64().unwrap(), "{evaluated}");
            assert_eq!(done.snapshot.error.as_deref(), Some("GateInconclusive"), "{states:?}");
            assert!(!states.iter().any(|s| s == "GateFailed" || s == "MarkSucceeded"), "{states:?}");
        }
        verdict => {
            // Judged: enough samples both answered, and the scores are over answered samples only.
            assert!(coverage >= evaluated["min_coverage"].as_f64().unwrap(), "{verdict}: {evaluated}");
        }
    }
    // The throttling did happen: the handler retried calls (and recovered what it reports as answered).
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(cloud.object_path(&shared::pipeline::layout::evaluation_report_key(&run_id))).unwrap(),
    )
    .unwrap();
    let retries = report["models"]["base"]["retries"].as_u64().unwrap_or(0)
        + report["models"]["custom"]["retries"].as_u64().unwrap_or(0);
    assert!(retries > 0, "no call was throttled: {}", report["models"]);
    let left = billing(&cloud);
    if done.snapshot.status.as_str() == "SUCCEEDED" {
        // A passed gate keeps the run's on-demand deployment (billed per call, not by the hour).
        assert!(left.len() == 1 && left[0].contains("custom-model-deployment/"), "{left:?}");
    } else {
        assert!(left.is_empty(), "{left:?}");
    }
    assert_foreign_untouched(&cloud, "evaluation half throttled");
    assert_eq!(published(&cloud).len(), 1);
}

/// Evaluate's output, from the execution's history.
fn local_stack_evaluation(cloud: &LocalCloud, arn: &str) -> Value {
    let history = cloud.sfn.get_execution_history(arn).unwrap();
    let mut current = String::new();
    for event in &history {
        match &event.details {
            local_sfn::EventDetails::StateEntered { name, .. } => current.clone_from(name),
            local_sfn::EventDetails::TaskSucceeded { output, .. } if current == "Evaluate" => return output.clone(),
            _ => {}
        }
    }
    panic!("Evaluate never succeeded")
}
