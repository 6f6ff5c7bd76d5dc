//! The state machine against the contract: every JSONPath the definition uses must name something in
//! the serialized documents of `shared::pipeline` at that point of the flow, every Task must hand its
//! Lambda the type that Lambda takes, and every result must land where the run document keeps it.
//!
//! The documents that reach each state are listed by hand below (realistic values from the
//! fixtures); a state without an entry, or a field this test does not know how to check, fails the
//! test, so a change to the definition cannot slip past it.

use std::collections::BTreeMap;

use fixtures::Poll;
use serde_json::{Value, json};
use shared::pipeline::PipelineError as PipelineErrorNames;
use shared::pipeline::{
    CheckStatusRequest, DeploymentMode, FinalizeRequest, Outcome, PreparedRun, RunDocument, StartRequest,
    ValidateRequest,
};
use tests::jsonpath::{evaluate_template, intrinsic_paths, is_intrinsic, resolve, set_result};
use tests::{definition, definition_json, function_of};

type Docs = Vec<(String, Value)>;

fn v<T: serde::Serialize>(x: T) -> Value {
    serde_json::to_value(x).expect("contract types serialize")
}

fn docs(items: Vec<(&str, Value)>) -> Docs {
    items.into_iter().map(|(l, d)| (l.to_string(), d)).collect()
}

fn failed(doc: RunDocument, error: &str) -> RunDocument {
    fixtures::with_outcome(fixtures::with_error(doc, error, "the cause"), Outcome::Failed)
}

/// The documents that can reach each state.
fn arriving() -> BTreeMap<&'static str, Docs> {
    use fixtures::*;
    let modes = [DeploymentMode::OnDemand, DeploymentMode::Provisioned];
    let job_polls = |polls: &[Poll]| -> Docs {
        polls.iter().map(|p| (format!("after CheckJob ({p:?})"), v(after_check_job(*p)))).collect()
    };
    let deployment_polls = |polls: &[Poll]| -> Docs {
        modes
            .iter()
            .flat_map(|m| polls.iter().map(move |p| (format!("after CheckDeployment ({m:?}, {p:?})"), *m, *p)))
            .map(|(l, m, p)| (l, v(after_check_deployment(m, p))))
            .collect()
    };
    let errored: Docs = every_stage()
        .into_iter()
        .map(|(l, d)| (format!("{l}, with error"), v(with_error(d, "InternalError", "boom"))))
        .collect();
    let with_outcomes: Docs = every_stage()
        .into_iter()
        .map(|(l, d)| (format!("{l}, FAILED"), v(failed(d, "JobFailed"))))
        .chain([
            (
                "after Provision (none), SUCCEEDED".to_string(),
                v(with_outcome(after_provision(DeploymentMode::None), Outcome::Succeeded)),
            ),
            ("after Evaluate, SUCCEEDED".to_string(), v(with_outcome(after_evaluate(true), Outcome::Succeeded))),
        ])
        .collect();
    let torn_down: Docs = with_outcomes
        .iter()
        .map(|(l, d)| {
            let doc: RunDocument = serde_json::from_value(d.clone()).expect("a run document");
            (format!("{l}, torn down"), v(with_teardown(doc)))
        })
        .collect();
    // Finalize's wait loop: a throughput still Creating, then the loop's bound reached.
    let teardown_with = |progress: fn() -> shared::pipeline::TeardownResult, label: &str| -> Docs {
        let doc = failed(after_provision(DeploymentMode::Provisioned), "GateFailed");
        vec![(
            format!("after Provision (Provisioned), FAILED, {label}"),
            v(RunDocument { teardown: Some(progress()), ..doc }),
        )]
    };
    let teardown_pending = teardown_with(teardown_pending, "teardown pending");
    let teardown_incomplete = teardown_with(teardown_incomplete, "teardown incomplete");
    let waiting_job = {
        let mut d = job_polls(&[Poll::InProgress]);
        d.push(("after StartJob".into(), v(after_start_job())));
        d
    };
    let waiting_deployment = {
        let mut d = deployment_polls(&[Poll::InProgress]);
        d.extend(modes.iter().map(|m| (format!("after Provision ({m:?})"), v(after_provision(*m)))));
        d
    };
    let teardown_failed: Docs = with_outcomes
        .iter()
        .map(|(l, d)| {
            let mut d = d.clone();
            d["teardown_error"] = v(caught("Lambda.Unknown", "teardown crashed"));
            (format!("{l}, teardown failed"), d)
        })
        .collect();

    BTreeMap::from([
        (
            "ValidateSplit",
            docs(vec![
                ("console StartRequest", v(start_request_console())),
                ("schedule StartRequest", v(start_request_schedule())),
                ("S3 upload StartRequest", v(start_request_upload())),
            ]),
        ),
        (
            "IsUnchanged",
            docs(vec![
                ("valid", v(after_validate_split(true))),
                ("invalid", v(after_validate_split(false))),
                ("unchanged", v(unchanged_run())),
            ]),
        ),
        ("NothingChanged", docs(vec![("unchanged", v(unchanged_run()))])),
        (
            "IsDatasetValid",
            docs(vec![("valid", v(after_validate_split(true))), ("invalid", v(after_validate_split(false)))]),
        ),
        ("DatasetInvalid", docs(vec![("invalid", v(after_validate_split(false)))])),
        ("StartJob", docs(vec![("after ValidateSplit", v(after_validate_split(true)))])),
        ("WaitForJob", waiting_job.clone()),
        ("CheckJob", waiting_job),
        ("JobStatus", job_polls(&Poll::ALL)),
        ("JobFailed", job_polls(&[Poll::Failed])),
        ("JobEnded", job_polls(&[Poll::FailedSilently, Poll::Stopped])),
        ("JobPollingExhausted", job_polls(&[Poll::Exhausted])),
        ("Provision", job_polls(&[Poll::Ready])),
        (
            "IsDeploymentNeeded",
            [DeploymentMode::None, DeploymentMode::OnDemand, DeploymentMode::Provisioned]
                .into_iter()
                .map(|m| (format!("after Provision ({m:?})"), v(after_provision(m))))
                .collect(),
        ),
        ("WaitForDeployment", waiting_deployment.clone()),
        ("CheckDeployment", waiting_deployment),
        ("DeploymentStatus", deployment_polls(&Poll::ALL)),
        ("DeploymentFailed", deployment_polls(&[Poll::Failed])),
        ("DeploymentEnded", deployment_polls(&[Poll::FailedSilently, Poll::Stopped])),
        ("DeploymentPollingExhausted", deployment_polls(&[Poll::Exhausted])),
        ("Evaluate", deployment_polls(&[Poll::Ready])),
        (
            "QualityGate",
            docs(vec![
                ("passed", v(after_evaluate(true))),
                ("gate failed", v(after_evaluate(false))),
                ("inconclusive", v(after_evaluate_inconclusive())),
            ]),
        ),
        ("GateInconclusive", docs(vec![("inconclusive", v(after_evaluate_inconclusive()))])),
        ("GateFailed", docs(vec![("gate failed", v(after_evaluate(false)))])),
        (
            "MarkSucceeded",
            docs(vec![
                ("after Provision (none)", v(after_provision(DeploymentMode::None))),
                ("after Evaluate (passed)", v(after_evaluate(true))),
            ]),
        ),
        ("MarkFailed", errored),
        ("Finalize", [with_outcomes, teardown_pending.clone()].concat()),
        ("TeardownPending", [torn_down.clone(), teardown_pending.clone(), teardown_incomplete.clone()].concat()),
        ("WaitForTeardown", teardown_pending),
        ("TeardownIncomplete", teardown_incomplete),
        ("TeardownFailed", teardown_failed),
        ("ReportOutcome", torn_down.clone()),
        ("Succeeded", torn_down.iter().filter(|(_, d)| d["outcome"] == json!("SUCCEEDED")).cloned().collect()),
        ("Failed", torn_down.iter().filter(|(_, d)| d["outcome"] == json!("FAILED")).cloned().collect()),
    ])
}

/// What a function answers, for a ResultPath check: a realistic instance of its output type.
fn function_output(function: &str, effective_input: &Value) -> Value {
    match function {
        "validate-split" => v(fixtures::prepared_run(true)),
        "start-job" => v(fixtures::job_started()),
        "check-status" => match effective_input.get("target").and_then(Value::as_str) {
            Some("deployment") => v(fixtures::deployment_polled(DeploymentMode::OnDemand, Poll::Ready)),
            _ => v(fixtures::job_polled(Poll::Ready)),
        },
        "provision" => v(fixtures::deployment_started(DeploymentMode::OnDemand)),
        "evaluate" => v(fixtures::evaluation(true)),
        "teardown" => v(fixtures::teardown_result(Outcome::Succeeded)),
        other => panic!("unknown function {other}"),
    }
}

/// The input type each function's handler deserializes.
fn check_function_input(function: &str, input: &Value) -> Result<(), String> {
    let result = match function {
        "validate-split" => serde_json::from_value::<ValidateRequest>(input.clone())
            .map_err(|e| e.to_string())
            .and_then(|r| serde_json::from_value::<StartRequest>(r.input).map_err(|e| e.to_string()))
            .map(drop)
            .map_err(serde::de::Error::custom),
        "check-status" => serde_json::from_value::<CheckStatusRequest>(input.clone()).map(drop),
        // Finalize hands teardown the document with the execution's ARN; a missing ARN would go unnoticed
        // by serde (it is optional for hand-made invocations), so it is asked for here.
        "teardown" => serde_json::from_value::<FinalizeRequest>(input.clone()).and_then(|r| match r.execution_arn {
            Some(arn) if arn.contains(":execution:") => Ok(()),
            _ => Err(serde::de::Error::custom("Finalize passes no execution ARN ($$.Execution.Id)")),
        }),
        _ => serde_json::from_value::<RunDocument>(input.clone()).map(drop),
    };
    result.map_err(|e| format!("the input does not deserialize into {function}'s contract type: {e}"))
}

/// A result placed at `result_path` must survive a trip through `RunDocument` (or `PreparedRun` for
/// the first step): otherwise the contract has no field for it and the next step would not see it.
fn round_trips(doc: &Value, result_path: &str) -> Result<(), String> {
    let placed = resolve(doc, result_path)?.ok_or("the result is not at its ResultPath")?;
    let typed = if result_path == "$" {
        v(RunDocument {
            run: serde_json::from_value::<PreparedRun>(doc.clone()).map_err(|e| e.to_string())?,
            job: None,
            deployment: None,
            evaluation: None,
            error: None,
            outcome: None,
            teardown: None,
        })
    } else {
        v(serde_json::from_value::<RunDocument>(doc.clone()).map_err(|e| format!("not a RunDocument: {e}"))?)
    };
    match resolve(&typed, result_path)? {
        Some(kept) if kept == placed => Ok(()),
        Some(kept) => Err(format!("RunDocument changes the result: {placed} became {kept}")),
        None => Err("RunDocument has no field there: the result would be dropped".to_string()),
    }
}

const KNOWN_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "Resource",
    "InputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Retry",
    "Catch",
    "Next",
    "End",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Result",
    "TimeoutSeconds",
];

struct Checker {
    problems: Vec<String>,
    checked: usize,
}

impl Checker {
    fn fail(&mut self, state: &str, what: &str, label: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("state `{state}`, {what}: {message} (document: {label})"));
    }

    /// A path that must name a value in every document.
    fn path(&mut self, state: &str, field: &str, path: &str, docs: &Docs) -> Vec<Option<Value>> {
        self.checked += 1;
        docs.iter()
            .map(|(label, doc)| match resolve(doc, path) {
                Ok(Some(found)) => Some(found),
                Ok(None) => {
                    self.fail(state, &format!("{field} `{path}`"), label, "names nothing");
                    None
                }
                Err(e) => {
                    self.fail(state, field, label, e);
                    None
                }
            })
            .collect()
    }

    fn choice_rule(&mut self, state: &str, rule: &Value, docs: &Docs) {
        let Value::Object(fields) = rule else {
            return self.fail(state, "Choices", "-", "a rule must be an object");
        };
        for (key, value) in fields {
            match key.as_str() {
                "Next" | "Comment" => {}
                "And" | "Or" => {
                    for r in value.as_array().into_iter().flatten() {
                        self.choice_rule(state, r, docs);
                    }
                }
                "Not" => self.choice_rule(state, value, docs),
                "Variable" => {
                    let path = value.as_str().unwrap_or_default();
                    if fields.contains_key("IsPresent") {
                        // Absent in some documents by design; present in none would be a typo.
                        self.checked += 1;
                        if !docs.iter().any(|(_, d)| resolve(d, path).ok().flatten().is_some()) {
                            self.fail(state, &format!("IsPresent `{path}`"), "all", "never present");
                        }
                    } else {
                        self.path(state, "Variable", path, docs);
                    }
                }
                k if k.ends_with("Path") => {
                    self.path(state, k, value.as_str().unwrap_or_default(), docs);
                }
                _ => {} // a comparison operator with a literal
            }
        }
    }

    fn state(&mut self, name: &str, state: &Value, docs: &Docs, all: &serde_json::Map<String, Value>) {
        for key in state.as_object().expect("a state is an object").keys() {
            if !KNOWN_FIELDS.contains(&key.as_str()) {
                self.fail(name, key, "-", "a field this test does not check; teach it");
            }
        }
        if state.get("OutputPath").is_some() {
            self.fail(name, "OutputPath", "-", "not used by the pipeline; the test would need the state's output");
        }
        let kind = state["Type"].as_str().unwrap_or_default();
        for (label, doc) in docs {
            // InputPath, then Parameters: the effective input.
            let mut input = doc.clone();
            if let Some(path) = state.get("InputPath").and_then(Value::as_str) {
                match self.path(name, "InputPath", path, &docs_of(label, doc)).remove(0) {
                    Some(found) => input = found,
                    None => continue,
                }
            }
            if let Some(template) = state.get("Parameters") {
                self.checked += 1;
                match evaluate_template(template, &input) {
                    Ok(built) => input = built,
                    Err(e) => {
                        self.fail(name, "Parameters", label, e);
                        continue;
                    }
                }
            }
            let result = match kind {
                "Task" => {
                    let resource = state["Resource"].as_str().unwrap_or_default();
                    let Some(function) = function_of(resource) else {
                        self.fail(
                            name,
                            "Resource",
                            label,
                            format!("`{resource}` is not one of the pipeline's functions"),
                        );
                        continue;
                    };
                    if let Err(e) = check_function_input(function, &input) {
                        self.fail(name, &format!("input of {function}"), label, e);
                    }
                    let output = function_output(function, &input);
                    match state.get("ResultSelector") {
                        None => Some(output),
                        Some(t) => {
                            self.checked += 1;
                            evaluate_template(t, &output).map_err(|e| self.fail(name, "ResultSelector", label, e)).ok()
                        }
                    }
                }
                "Pass" => Some(state.get("Result").cloned().unwrap_or(input)),
                _ => None,
            };
            if let Some(result) = result {
                let result_path = state.get("ResultPath").and_then(Value::as_str).unwrap_or("$");
                self.checked += 1;
                match set_result(doc, result_path, result) {
                    Ok(out) => {
                        if let Err(e) = round_trips(&out, result_path) {
                            self.fail(name, &format!("ResultPath `{result_path}`"), label, e);
                        }
                    }
                    Err(e) => self.fail(name, "ResultPath", label, e),
                }
            }
            for catcher in state.get("Catch").and_then(Value::as_array).into_iter().flatten() {
                let result_path = catcher["ResultPath"].as_str().unwrap_or("$");
                let next = catcher["Next"].as_str().unwrap_or_default();
                self.checked += 1;
                let caught = v(fixtures::caught("Lambda.Unknown", "an error"));
                match set_result(doc, result_path, caught) {
                    // A Fail state ends the document: it only has to find what it reads.
                    Ok(out) if all[next]["Type"] == "Fail" => self.fail_state(next, &all[next], &docs_of(label, &out)),
                    Ok(out) => {
                        if let Err(e) = round_trips(&out, result_path) {
                            self.fail(name, &format!("Catch ResultPath `{result_path}`"), label, e);
                        }
                    }
                    Err(e) => self.fail(name, "Catch ResultPath", label, e),
                }
            }
        }
        match kind {
            "Choice" => {
                for rule in state["Choices"].as_array().into_iter().flatten() {
                    self.choice_rule(name, rule, docs);
                }
            }
            "Wait" => {
                if let Some(path) = state.get("SecondsPath").and_then(Value::as_str) {
                    for (found, (label, _)) in self.path(name, "SecondsPath", path, docs).into_iter().zip(docs) {
                        if found.is_some_and(|s| !s.is_u64()) {
                            self.fail(name, "SecondsPath", label, "not a non-negative integer");
                        }
                    }
                }
                if let Some(path) = state.get("TimestampPath").and_then(Value::as_str) {
                    self.path(name, "TimestampPath", path, docs);
                }
            }
            "Fail" => self.fail_state(name, state, docs),
            _ => {}
        }
    }

    fn fail_state(&mut self, name: &str, state: &Value, docs: &Docs) {
        for field in ["ErrorPath", "CausePath"] {
            if let Some(path) = state.get(field).and_then(Value::as_str) {
                for (found, (label, _)) in self.path(name, field, path, docs).into_iter().zip(docs) {
                    if found.is_some_and(|s| !s.is_string()) {
                        self.fail(name, field, label, "not a string");
                    }
                }
            }
        }
    }
}

fn docs_of(label: &str, doc: &Value) -> Docs {
    vec![(label.to_string(), doc.clone())]
}

#[test]
fn every_path_in_the_definition_resolves_against_the_contract_documents() {
    definition(); // the local engine loads it (it refuses what it does not run)
    let def = definition_json();
    let states = def["States"].as_object().expect("States");
    let arriving = arriving();
    let mut checker = Checker { problems: Vec::new(), checked: 0 };
    for (name, state) in states {
        match arriving.get(name.as_str()) {
            Some(docs) if !docs.is_empty() => checker.state(name, state, docs, states),
            _ => checker
                .problems
                .push(format!("state `{name}`: no documents listed in arriving(); add the ones that reach it")),
        }
    }
    for name in arriving.keys() {
        if !states.contains_key(*name) {
            checker.problems.push(format!("arriving() lists `{name}`, which the definition no longer has"));
        }
    }
    assert!(checker.problems.is_empty(), "{} problem(s):\n{}", checker.problems.len(), checker.problems.join("\n"));
    println!("{} path checks over {} states", checker.checked, states.len());
    assert!(checker.checked > 100, "suspiciously few checks: {}", checker.checked);
}

#[test]
fn a_wrong_path_is_reported_with_its_state() {
    // The checker itself must catch a typo, not just pass.
    let docs = docs_of("after StartJob", &v(fixtures::after_start_job()));
    let mut checker = Checker { problems: Vec::new(), checked: 0 };
    let states = serde_json::Map::new();
    let bad = json!({"Type": "Wait", "SecondsPath": "$.job.status.next_wait", "Next": "X"});
    checker.state("WaitForJob", &bad, &docs, &states);
    assert_eq!(checker.problems.len(), 1, "{:?}", checker.problems);
    assert!(checker.problems[0].contains("WaitForJob") && checker.problems[0].contains("$.job.status.next_wait"));

    let mut checker = Checker { problems: Vec::new(), checked: 0 };
    let dropped = json!({"Type": "Pass", "Result": "x", "ResultPath": "$.job.stat", "Next": "X"});
    checker.state("Mark", &dropped, &docs, &states);
    assert!(checker.problems.iter().any(|p| p.contains("would be dropped")), "{:?}", checker.problems);

    let mut checker = Checker { problems: Vec::new(), checked: 0 };
    let wrong_input = json!({"Type": "Task", "Resource": tests::function_arn("check-status"),
        "Parameters": {"target": "job", "jobs.$": "$.job"}, "ResultPath": "$.job", "Next": "X"});
    checker.state("CheckJob", &wrong_input, &docs, &states);
    assert!(checker.problems.iter().any(|p| p.contains("input of check-status")), "{:?}", checker.problems);
}

#[test]
fn intrinsic_paths_in_the_definition_are_found() {
    // The error-building Pass states use States.Format; their paths are part of the check.
    let def = definition_json();
    let mut found = 0;
    for state in def["States"].as_object().expect("States").values() {
        for (key, value) in state.get("Parameters").and_then(Value::as_object).into_iter().flatten() {
            if key.ends_with(".$") && is_intrinsic(value.as_str().unwrap_or_default()) {
                let paths = intrinsic_paths(value.as_str().unwrap_or_default());
                assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with("$.")), "{value}");
                found += paths.len();
            }
        }
    }
    assert!(found >= 10, "{found}");
}

#[test]
fn every_error_name_the_definition_raises_or_matches_is_a_shared_error_name() {
    // One place spells error names: shared::pipeline::PipelineError. The definition raises them in its
    // Pass states (`Parameters.Error`) and Fail states, and matches them in Retry and Catch.
    use shared::pipeline::PipelineError;
    let def = definition_json();
    let mut raised = Vec::new();
    let mut matched = Vec::new();
    for (name, state) in def["States"].as_object().expect("States") {
        let errors = [state.get("Error"), state.pointer("/Parameters/Error")];
        raised.extend(errors.into_iter().flatten().filter_map(Value::as_str).map(|e| (name.clone(), e.to_string())));
        for rule in ["Retry", "Catch"].iter().filter_map(|k| state.get(*k)).filter_map(Value::as_array).flatten() {
            let names = rule["ErrorEquals"].as_array().into_iter().flatten().filter_map(Value::as_str);
            matched.extend(names.map(|e| (name.clone(), e.to_string())));
        }
    }
    assert!(raised.len() >= 8, "{raised:?}");
    for (state, error) in &raised {
        assert!(PipelineError::ALL.contains(&error.as_str()), "{state} raises `{error}`, not in PipelineError::ALL");
    }
    for (state, error) in &matched {
        let aws = error.starts_with("States.") || error.starts_with("Lambda.");
        assert!(aws || PipelineError::ALL.contains(&error.as_str()), "{state} matches unknown error `{error}`");
    }
    let deployment_failures: Vec<&str> = raised
        .iter()
        .filter(|(state, _)| state.starts_with("Deployment") && !state.contains("Polling"))
        .map(|(_, e)| e.as_str())
        .collect();
    assert_eq!(deployment_failures, [PipelineError::DEPLOYMENT_FAILED; 2], "a failed deployment is not a failed job");
}

/// Every Task state that invokes one of the Lambdas, by name.
fn lambda_tasks(def: &Value) -> Vec<(String, Value)> {
    def["States"]
        .as_object()
        .expect("States")
        .iter()
        .filter(|(_, s)| s["Type"] == "Task" && s["Resource"].as_str().and_then(function_of).is_some())
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect()
}

/// The error names a state's Retry list matches, with the retrier's MaxAttempts.
fn retried(state: &Value) -> Vec<(String, u64)> {
    let rules = state["Retry"].as_array().cloned().unwrap_or_default();
    rules
        .iter()
        .flat_map(|r| {
            let attempts = r["MaxAttempts"].as_u64().unwrap_or(3);
            let names: Vec<String> =
                r["ErrorEquals"].as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect();
            names.into_iter().map(move |n| (n, attempts))
        })
        .collect()
}

#[test]
fn every_lambda_task_retries_lambdas_own_transient_errors() {
    // Lambda.ClientExecutionTimeoutException: the invoke timed out on the client side, the function may
    // not even have started; like the others it is safe to repeat because every handler is idempotent.
    const LAMBDA: [&str; 5] = [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
    ];
    let def = definition_json();
    let tasks = lambda_tasks(&def);
    assert!(tasks.len() >= 7, "{:?}", tasks.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for (name, state) in &tasks {
        let retried = retried(state);
        for error in LAMBDA.iter().copied().chain(PipelineErrorNames::RETRYABLE) {
            assert!(
                retried.iter().any(|(e, attempts)| e == error && *attempts > 0),
                "{name} does not retry {error}: a transient failure would fail the run"
            );
        }
    }
}

#[test]
fn the_tasks_that_create_billed_resources_wait_out_a_service_quota() {
    // Bedrock answers ServiceQuotaExceededException while the account's concurrent jobs or no-commitment
    // throughputs are all taken; a slot frees as other runs end, so the creating tasks retry it (slowly).
    let def = definition_json();
    for name in ["StartJob", "Provision"] {
        let state = &def["States"][name];
        let rule = state["Retry"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| {
                r["ErrorEquals"].as_array().is_some_and(|e| e.iter().any(|e| e == PipelineErrorNames::QUOTA_EXCEEDED))
            })
            .unwrap_or_else(|| panic!("{name} does not retry {}", PipelineErrorNames::QUOTA_EXCEEDED));
        assert!(rule["MaxAttempts"].as_u64().unwrap_or(3) >= 2, "{name}: {rule}");
        assert!(rule["IntervalSeconds"].as_u64().unwrap_or(1) >= 60, "{name}: a quota is not freed in seconds: {rule}");
        // Bounded: the run fails (and is torn down) rather than waiting out the execution's timeout.
        let attempts = rule["MaxAttempts"].as_u64().unwrap();
        let cap = rule["MaxDelaySeconds"].as_u64().expect("MaxDelaySeconds bounds each wait");
        assert!(attempts * cap <= 4 * 3600, "{name}: waits up to {} s: {rule}", attempts * cap);
    }
}
