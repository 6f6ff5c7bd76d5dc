//! The definition on the local engine with scripted Lambdas: Retry on every Task, bounded loops,
//! teardown after every failure, the success path, and what polling a two-hour job costs.

use local_sfn::{ExecutionIdentity, ExecutionSnapshot, ExecutionStatus, StateType, VirtualClock, run_execution};
use serde_json::{Value, json};
use shared::pipeline::{Backoff, DeploymentMode, PipelineError, PollState};
use tests::fake::{Lambdas, Script};
use tests::{FUNCTIONS, definition, definition_json};

const LAMBDA_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

/// Runs one execution of the pipeline on a fresh virtual clock.
async fn run(script: Script, input: Value, setup: impl FnOnce(Lambdas) -> Lambdas) -> (ExecutionSnapshot, Lambdas) {
    let clock = VirtualClock::default();
    let lambdas = setup(Lambdas::new(clock.clone(), script));
    let identity = ExecutionIdentity::local("finetune-pipeline", &fixtures::run_id_for_samples());
    let snapshot = run_execution(&definition(), &lambdas, &clock, &identity, input, 7).await;
    assert_eq!(lambdas.violations(), Vec::<String>::new(), "contract violations");
    (snapshot, lambdas)
}

/// What the S3 upload entry starts an execution with: the dataset only.
fn prepared() -> Value {
    serde_json::to_value(fixtures::start_request_upload()).expect("serializes")
}

fn console() -> Value {
    serde_json::to_value(fixtures::start_request_console()).expect("serializes")
}

/// Each state once, in the order first entered: the shape of a path with its loops folded.
fn shape(states: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in states {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

fn count(states: &[String], name: &str) -> usize {
    states.iter().filter(|s| *s == name).count()
}

#[test]
fn every_task_retries_lambda_and_pipeline_transient_errors_with_capped_jittered_backoff() {
    let def = definition();
    let json = definition_json();
    let tasks: Vec<&str> = def.state_names().filter(|n| def.state_type(n) == Some(StateType::Task)).collect();
    assert_eq!(tasks.len(), 7, "{tasks:?}");
    for name in &tasks {
        let state = &json["States"][name];
        let retry = state["Retry"].as_array().unwrap_or_else(|| panic!("{name} has no Retry"));
        let retried: Vec<&str> = retry
            .iter()
            .flat_map(|r| r["ErrorEquals"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        for error in LAMBDA_ERRORS.iter().chain(PipelineError::RETRYABLE.iter()) {
            assert!(retried.contains(error), "{name} does not retry {error}");
        }
        for terminal in [
            PipelineError::DATASET_INVALID,
            PipelineError::JOB_FAILED,
            PipelineError::DEPLOYMENT_FAILED,
            PipelineError::GATE_FAILED,
        ] {
            assert!(!retried.contains(&terminal), "{name} retries the terminal {terminal}");
        }
        for r in retry {
            for field in ["IntervalSeconds", "BackoffRate", "MaxAttempts", "MaxDelaySeconds"] {
                assert!(r[field].is_number(), "{name}: a retrier lacks {field}");
            }
            assert_eq!(r["JitterStrategy"], "FULL", "{name}");
        }
        let catch = state["Catch"].as_array();
        if *name == "ValidateSplit" {
            assert!(catch.is_none(), "nothing to tear down before the run exists");
            continue;
        }
        let last = catch.and_then(|c| c.last()).unwrap_or_else(|| panic!("{name} has no Catch"));
        assert_eq!(last["ErrorEquals"], json!(["States.ALL"]), "{name}");
        if *name == "Finalize" {
            assert_eq!(def.state_type(last["Next"].as_str().unwrap_or_default()), Some(StateType::Fail));
        } else {
            assert_eq!(
                (last["ResultPath"].as_str(), last["Next"].as_str()),
                (Some("$.error"), Some("MarkFailed")),
                "{name}"
            );
        }
    }
    assert!(
        json["States"]["Finalize"]["Retry"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["ErrorEquals"] == json!(["States.ALL"])))
    );
    // Every function is used, through its placeholder.
    let text = tests::definition_text();
    for (placeholder, _) in FUNCTIONS {
        assert!(text.contains(&format!("\"${{{placeholder}}}\"")), "{placeholder} unused");
    }
    assert!(!text.contains("arn:aws:states:::lambda:invoke"), "direct ARNs, not the invoke integration");
    assert_eq!(def.timeout_seconds(), Some(5 * 24 * 3600));
}

#[tokio::test]
async fn success_path_from_an_upload_reaches_finalize_and_succeeds() {
    let (snap, lambdas) = run(Script::default(), prepared(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Succeeded, "{:?} {:?}", snap.error, snap.cause);
    let states = snap.states_entered();
    assert_eq!(
        shape(&states),
        [
            "ValidateSplit",
            "IsUnchanged",
            "IsDatasetValid",
            "StartJob",
            "WaitForJob",
            "CheckJob",
            "JobStatus",
            "Provision",
            "IsDeploymentNeeded",
            "WaitForDeployment",
            "CheckDeployment",
            "DeploymentStatus",
            "Evaluate",
            "QualityGate",
            "MarkSucceeded",
            "Finalize",
            "TeardownPending",
            "ReportOutcome",
            "Succeeded",
        ]
    );
    assert_eq!(count(&states, "CheckJob") as u32, Backoff::JOB.polls_for(2 * 3600));
    assert_eq!(lambdas.count("validate-split"), 1, "an upload is validated inside the execution too");
    assert_eq!(lambdas.count("teardown"), 1);
    let output = snap.output.expect("output");
    assert_eq!(output["outcome"], "SUCCEEDED");
    assert_eq!(output["teardown"]["outcome"], "SUCCEEDED");
    assert_eq!(output["evaluation"]["passed"], true);
    assert_eq!(output["job"]["status"]["state"], "READY");
}

#[tokio::test]
async fn console_and_schedule_runs_validate_first() {
    for input in [console(), serde_json::to_value(fixtures::start_request_schedule()).expect("serializes")] {
        let (snap, lambdas) = run(Script::default(), input, |l| l).await;
        assert_eq!(snap.status, ExecutionStatus::Succeeded);
        assert_eq!(snap.states_entered()[..3], ["ValidateSplit", "IsUnchanged", "IsDatasetValid"]);
        assert_eq!(lambdas.count("validate-split"), 1);
    }
}

#[tokio::test]
async fn mode_none_trains_only_and_skips_evaluation() {
    let script = Script { deployment: DeploymentMode::None, ..Script::default() };
    let (snap, lambdas) = run(script, prepared(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Succeeded);
    let states = snap.states_entered();
    assert_eq!(
        shape(&states)[8..],
        ["IsDeploymentNeeded", "MarkSucceeded", "Finalize", "TeardownPending", "ReportOutcome", "Succeeded"]
    );
    assert_eq!((lambdas.count("evaluate"), lambdas.count("teardown")), (0, 1));
}

#[tokio::test]
async fn a_two_hour_job_costs_few_state_transitions() {
    // Train only, so the count is the job loop plus the fixed steps around it.
    let script = Script { deployment: DeploymentMode::None, job_seconds: 7200, ..Script::default() };
    let (snap, lambdas) = run(script, prepared(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Succeeded);
    let transitions = snap.state_transitions();
    let polls = lambdas.count("check-status");
    println!(
        "2-hour job: {transitions} state transitions in the whole execution, {polls} polls ({} in the poll loop)",
        polls * 3
    );
    assert!(transitions <= 60, "{transitions} transitions");
    assert_eq!(polls as u32, Backoff::JOB.polls_for(7200));
}

#[tokio::test]
async fn a_job_that_never_finishes_fails_after_max_attempts_and_is_torn_down() {
    let script = Script { job_seconds: u64::MAX, ..Script::default() };
    let (snap, lambdas) = run(script, prepared(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Failed);
    assert_eq!(snap.error.as_deref(), Some("PollingExhausted"));
    assert_eq!(lambdas.count("check-status") as u32, Backoff::JOB.max_attempts);
    assert_eq!(lambdas.count("teardown"), 1);
    let last = lambdas.calls().into_iter().last().expect("calls");
    assert_eq!((last.function.as_str(), last.input["document"]["outcome"].as_str()), ("teardown", Some("FAILED")));
    // Finalize names its execution, whose history teardown reads for report.html's timeline.
    let arn = last.input["execution_arn"].as_str().expect("the execution's ARN");
    assert!(arn.starts_with("arn:aws:states:") && arn.contains(":execution:"), "{arn}");
}

#[tokio::test]
async fn a_deployment_that_never_becomes_ready_fails_after_max_attempts_and_is_torn_down() {
    let script = Script { deployment_seconds: u64::MAX, ..Script::default() };
    let (snap, lambdas) = run(script, prepared(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Failed);
    assert_eq!(snap.error.as_deref(), Some("PollingExhausted"));
    let deployment_polls = lambdas.calls().iter().filter(|c| c.state == "CheckDeployment").count();
    assert_eq!(deployment_polls as u32, Backoff::DEPLOYMENT.max_attempts);
    assert_eq!(lambdas.count("teardown"), 1);
}

#[tokio::test]
async fn even_a_check_status_that_never_gives_up_is_stopped_by_the_machine_timeout() {
    // A broken check-status (never `exhausted`): TimeoutSeconds still ends it; the EventBridge rule on
    // TIMED_OUT then tears down by the run id's names.
    let script = Script { job_seconds: u64::MAX, reports_exhausted: false, ..Script::default() };
    let (snap, _) = run(script, prepared(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::TimedOut);
    let ran = snap.stop_date.expect("stopped").duration_since(snap.start_date).as_secs();
    assert!(ran <= 5 * 24 * 3600, "{ran}");
}

#[tokio::test]
async fn a_terminal_error_at_any_step_after_validation_reaches_teardown_and_fails() {
    // check-status is both loops: inject in the job loop; deployment failures are covered below.
    for function in ["start-job", "check-status", "provision", "evaluate"] {
        for error in
            [PipelineError::ACCESS_DENIED, PipelineError::QUOTA_EXCEEDED, PipelineError::INTERNAL, "Lambda.Unknown"]
        {
            let (snap, lambdas) = run(Script::default(), prepared(), |l| l.fail_always(function, error)).await;
            assert_eq!(snap.status, ExecutionStatus::Failed, "{function} {error}");
            assert_eq!(snap.error.as_deref(), Some(error), "{function}");
            assert_eq!(snap.cause, Some(format!("injected {error} in {function}")));
            // A quota frees up as other runs end: the creating tasks wait it out (1 call + 4 retries).
            let quota_waited = error == PipelineError::QUOTA_EXCEEDED && matches!(function, "start-job" | "provision");
            let calls = if quota_waited { 5 } else { 1 };
            assert_eq!(lambdas.count(function), calls, "{function} {error}: retried as its Retry says");
            assert_eq!(lambdas.count("teardown"), 1, "{function} {error}: no teardown");
            let states = snap.states_entered();
            assert_eq!(
                states[states.len() - 5..],
                ["MarkFailed", "Finalize", "TeardownPending", "ReportOutcome", "Failed"]
            );
        }
    }
}

#[tokio::test]
async fn failures_after_provision_always_tear_down() {
    // (what, script, error injected at a function or state, the execution's error)
    type Case = (&'static str, Script, Option<(&'static str, &'static str)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "deployment failed",
            Script { deployment_end: PollState::Failed, ..Script::default() },
            None,
            PipelineError::DEPLOYMENT_FAILED,
        ),
        (
            "deployment stopped",
            Script { deployment_end: PollState::Stopped, ..Script::default() },
            None,
            PipelineError::DEPLOYMENT_FAILED,
        ),
        ("quality gate", Script { gate_passes: false, ..Script::default() }, None, "GateFailed"),
        (
            "deployment poll error",
            Script::default(),
            Some(("CheckDeployment", PipelineError::ACCESS_DENIED)),
            "AccessDenied",
        ),
        ("evaluate error", Script::default(), Some(("evaluate", PipelineError::INTERNAL)), "InternalError"),
        ("evaluate throttled for good", Script::default(), Some(("evaluate", PipelineError::THROTTLED)), "Throttled"),
        ("provision quota", Script::default(), Some(("provision", PipelineError::QUOTA_EXCEEDED)), "QuotaExceeded"),
    ];
    for (what, script, inject, expected) in cases {
        let (snap, lambdas) = run(script, prepared(), |l| match inject {
            Some((at, e)) => l.fail_always(at, e),
            None => l,
        })
        .await;
        assert_eq!(snap.status, ExecutionStatus::Failed, "{what}");
        assert_eq!(snap.error.as_deref(), Some(expected), "{what}: {:?}", snap.cause);
        assert_eq!(lambdas.count("teardown"), 1, "{what}");
        let teardown = lambdas.calls().into_iter().find(|c| c.function == "teardown").expect("teardown");
        let document = &teardown.input["document"];
        assert_eq!(document["outcome"], "FAILED", "{what}");
        assert_eq!(document["error"]["Error"], expected, "{what}");
        assert!(document["job"]["custom_model_arn"].is_string(), "{what}: teardown sees the model");
    }
}

#[tokio::test]
async fn throttling_is_retried_then_the_run_goes_on() {
    for function in ["start-job", "check-status", "provision", "evaluate", "teardown"] {
        let (snap, lambdas) =
            run(Script::default(), prepared(), |l| l.fail_times(function, PipelineError::THROTTLED, 2)).await;
        assert_eq!(snap.status, ExecutionStatus::Succeeded, "{function}: {:?}", snap.cause);
        let baseline = run(Script::default(), prepared(), |l| l).await;
        assert_eq!(lambdas.count(function), baseline.1.count(function) + 2, "{function}");
        assert_eq!(snap.state_transitions(), baseline.0.state_transitions() + 2, "retries are billed transitions");
    }
}

#[tokio::test]
async fn an_execution_input_claiming_to_be_prepared_is_refused_before_anything_starts() {
    // A caller passing a prepared run (with foreign job and deployment ARNs) cannot skip validation.
    let mut input = serde_json::to_value(fixtures::after_provision(DeploymentMode::Provisioned)).expect("serializes");
    input["outcome"] = json!("FAILED");
    let (snap, lambdas) = run(Script::default(), input, |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Failed);
    assert_eq!(snap.error.as_deref(), Some(PipelineError::CONFIG_INVALID));
    assert_eq!(snap.states_entered(), ["ValidateSplit"]);
    assert_eq!((lambdas.count("start-job"), lambdas.count("teardown")), (0, 0));
}

#[tokio::test]
async fn an_invalid_console_dataset_fails_in_validate_split_with_its_cause() {
    let script = Script { dataset_invalid: true, ..Script::default() };
    let (snap, lambdas) = run(script, console(), |l| l).await;
    assert_eq!(snap.status, ExecutionStatus::Failed);
    assert_eq!(snap.error.as_deref(), Some(PipelineError::DATASET_INVALID));
    assert!(snap.cause.as_deref().is_some_and(|c| c.contains("line 3")));
    assert_eq!(lambdas.count("validate-split"), 1, "DatasetInvalid is not retried");
    assert_eq!(lambdas.count("teardown"), 0, "nothing was created");
}

#[tokio::test]
async fn a_failed_teardown_is_visible() {
    let (snap, lambdas) = run(Script::default(), prepared(), |l| l.fail_always("teardown", "Lambda.Unknown")).await;
    assert_eq!(snap.status, ExecutionStatus::Failed);
    assert_eq!(snap.error.as_deref(), Some("TeardownFailed"));
    assert_eq!(snap.cause.as_deref(), Some("injected Lambda.Unknown in teardown"));
    assert_eq!(lambdas.count("teardown"), 4, "teardown is idempotent: retried even on unknown errors");
    assert_eq!(snap.states_entered().last().map(String::as_str), Some("TeardownFailed"));
}

#[tokio::test]
async fn a_failed_or_stopped_job_fails_with_its_reason() {
    for (end, cause) in [
        (PollState::Failed, "ended Failed: Internal error during training"),
        (PollState::Stopped, "ended with status Stopped"),
    ] {
        let script = Script { job_end: end, job_seconds: 3600, ..Script::default() };
        let (snap, lambdas) = run(script, prepared(), |l| l).await;
        assert_eq!(snap.status, ExecutionStatus::Failed);
        assert_eq!(snap.error.as_deref(), Some(PipelineError::JOB_FAILED));
        assert!(snap.cause.as_deref().is_some_and(|c| c.contains(cause)), "{:?}", snap.cause);
        assert_eq!((lambdas.count("provision"), lambdas.count("teardown")), (0, 1));
    }
}
