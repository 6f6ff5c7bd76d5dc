mod common;

use std::time::Duration;

use common::{LAMBDA, Script, def, elapsed, run};
use local_sfn::{ExecutionStatus, TaskError, VirtualClock};
use serde_json::{Value, json};

#[tokio::test]
async fn pass_state_result_parameters_and_paths() {
    let d = def(json!({
        "StartAt": "Result",
        "States": {
            "Result": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.fixed", "Next": "Params"},
            "Params": {
                "Type": "Pass",
                "InputPath": "$.payload",
                "Parameters": {
                    "static": "s",
                    "value.$": "$.v",
                    "name.$": "$$.Execution.Name",
                    "start.$": "$$.Execution.StartTime",
                    "entered.$": "$$.State.EnteredTime",
                    "state.$": "$$.State.Name",
                    "retry.$": "$$.State.RetryCount",
                    "machine.$": "$$.StateMachine.Name"
                },
                "ResultPath": "$.out",
                "OutputPath": "$.out",
                "Next": "Discard"
            },
            "Discard": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "Next": "Empty"},
            "Empty": {"Type": "Pass", "InputPath": null, "End": true}
        }
    }));
    let clock = VirtualClock::default();
    let s = run(&d, &Script::echo(), &clock, json!({"payload": {"v": [1, 2]}})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded, "{:?}", s.error);
    assert_eq!(s.output, Some(json!({})));
    let params_out = s
        .history
        .iter()
        .find_map(|e| match &e.details {
            local_sfn::EventDetails::StateExited { name, output, .. } if name == "Params" => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        params_out,
        json!({
            "static": "s", "value": [1, 2], "name": "exec-1",
            "start": "2025-01-01T00:00:00.000Z", "entered": "2025-01-01T00:00:00.000Z",
            "state": "Params", "retry": 0, "machine": "machine"
        })
    );
    // ResultPath null kept the input; the first Pass merged its Result.
    let discard_out = &s.history.iter().rev().find(|e| e.type_name() == "PassStateExited").unwrap();
    assert_eq!(discard_out.type_name(), "PassStateExited");
    assert_eq!(s.states_entered(), ["Result", "Params", "Discard", "Empty"]);
}

#[tokio::test]
async fn intrinsic_functions_in_parameters() {
    let d = def(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {
            "msg.$": "States.Format('run {} took {} s', $$.Execution.Name, $.secs)",
            "parsed.$": "States.StringToJson($.text)",
            "text.$": "States.JsonToString($.obj)",
            "list.$": "States.Array($.secs, 'x', States.MathAdd($.secs, 5))",
            "sum.$": "States.MathAdd($.secs, -2)"
        }, "End": true}}
    }));
    let clock = VirtualClock::default();
    let s = run(&d, &Script::echo(), &clock, json!({"secs": 10, "text": "{\"a\":true}", "obj": {"b": [1]}})).await;
    assert_eq!(
        s.output,
        Some(json!({
            "msg": "run exec-1 took 10 s",
            "parsed": {"a": true},
            "text": "{\"b\":[1]}",
            "list": [10, "x", 15],
            "sum": 8
        }))
    );
}

#[tokio::test]
async fn task_input_output_processing_in_spec_order() {
    let d = def(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task",
            "Resource": LAMBDA,
            "InputPath": "$.job",
            "Parameters": {"id.$": "$.id", "kind": "train"},
            "ResultSelector": {"status.$": "$.Status", "arn.$": "$.Arn"},
            "ResultPath": "$.result",
            "OutputPath": "$.result",
            "End": true
        }}
    }));
    let script = Script::new(|_, input, _, _| {
        assert_eq!(input, &json!({"id": 42, "kind": "train"}));
        Ok(json!({"Status": "InProgress", "Arn": "arn:job", "Noise": 1}))
    });
    let clock = VirtualClock::default();
    let s = run(&d, &script, &clock, json!({"job": {"id": 42, "other": true}, "keep": 1})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(s.output, Some(json!({"status": "InProgress", "arn": "arn:job"})));
    assert_eq!(script.calls()[0].resource, LAMBDA);

    // Without OutputPath the result is merged into the original (pre-InputPath) input.
    let d = def(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "InputPath": "$.job", "ResultPath": "$.job.result", "End": true}}
    }));
    let s = run(&d, &Script::new(|_, _, _, _| Ok(json!("done"))), &clock, json!({"job": {"id": 1}, "keep": 1})).await;
    assert_eq!(s.output, Some(json!({"job": {"id": 1, "result": "done"}, "keep": 1})));
    assert_eq!(
        s.event_types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

fn retry_machine(retrier: Value, catch: Value) -> local_sfn::Definition {
    let mut d = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {"attempt.$": "$$.State.RetryCount"},
                "Retry": [retrier],
                "Catch": catch,
                "Next": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    // Only reachable states are allowed, so the catch target exists only when something catches.
    if d["States"]["T"]["Catch"].as_array().is_some_and(|c| !c.is_empty()) {
        d["States"]["Handle"] = json!({"Type": "Pass", "End": true});
    }
    def(d)
}

fn fail_times(n: usize, error: &'static str) -> Script {
    Script::new(
        move |_, input, _, call| {
            if call < n { Err(TaskError::new(error, format!("attempt {call} failed"))) } else { Ok(input.clone()) }
        },
    )
}

#[tokio::test]
async fn retry_backoff_advances_the_virtual_clock() {
    let d = retry_machine(
        json!({"ErrorEquals": ["Throttled"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3}),
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]),
    );
    let clock = VirtualClock::default();
    let script = fail_times(3, "Throttled");
    let s = run(&d, &script, &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded, "{:?}", s.cause);
    // Waits of 2, 4 and 8 seconds.
    assert_eq!(elapsed(&clock), 14.0);
    let calls = script.calls();
    assert_eq!(calls.iter().map(|c| c.retry_count).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(calls.iter().map(|c| c.input["attempt"].clone()).collect::<Vec<_>>(), [0, 1, 2, 3]);
    let scheduled: Vec<_> = s.history.iter().filter(|e| e.type_name() == "LambdaFunctionScheduled").collect();
    let gaps: Vec<i64> =
        scheduled.windows(2).map(|w| w[1].timestamp.epoch_millis() - w[0].timestamp.epoch_millis()).collect();
    assert_eq!(gaps, [2000, 4000, 8000]);
    // Two states entered plus three retries.
    assert_eq!(s.states_entered(), ["T", "Done"]);
    assert_eq!(s.state_transitions(), 5);
}

#[tokio::test]
async fn retry_defaults_and_max_delay_cap() {
    // Defaults: IntervalSeconds 1, BackoffRate 2.0, MaxAttempts 3 -> 1 + 2 + 4.
    let d = retry_machine(json!({"ErrorEquals": ["States.ALL"]}), json!([]));
    let clock = VirtualClock::default();
    let s = run(&d, &fail_times(10, "Boom"), &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!((s.error.as_deref(), s.cause.as_deref()), (Some("Boom"), Some("attempt 3 failed")));
    assert_eq!(elapsed(&clock), 7.0);

    // 10, 30 -> 25, 90 -> 25, 270 -> 25.
    let d = retry_machine(
        json!({"ErrorEquals": ["Boom"], "IntervalSeconds": 10, "BackoffRate": 3.0, "MaxAttempts": 4, "MaxDelaySeconds": 25}),
        json!([]),
    );
    let clock = VirtualClock::default();
    let s = run(&d, &fail_times(4, "Boom"), &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(elapsed(&clock), 85.0);

    // MaxAttempts 0: never retried.
    let d = retry_machine(json!({"ErrorEquals": ["Boom"], "MaxAttempts": 0}), json!([]));
    let clock = VirtualClock::default();
    let s = run(&d, &fail_times(1, "Boom"), &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(elapsed(&clock), 0.0);
}

#[tokio::test]
async fn full_jitter_is_deterministic_and_bounded() {
    let d = retry_machine(
        json!({"ErrorEquals": ["Boom"], "IntervalSeconds": 4, "MaxAttempts": 3, "JitterStrategy": "FULL"}),
        json!([]),
    );
    let mut totals = Vec::new();
    for _ in 0..2 {
        let clock = VirtualClock::default();
        let s = run(&d, &fail_times(3, "Boom"), &clock, json!({})).await;
        assert_eq!(s.status, ExecutionStatus::Succeeded);
        totals.push(elapsed(&clock));
    }
    assert_eq!(totals[0], totals[1]);
    assert!(totals[0] <= 4.0 + 8.0 + 16.0, "{totals:?}");
    assert!(totals[0] < 28.0, "jitter should shorten the waits: {totals:?}");
}

#[tokio::test]
async fn catch_merges_the_error_with_result_path() {
    let d = retry_machine(
        json!({"ErrorEquals": ["Throttled"], "MaxAttempts": 1}),
        json!([
            {"ErrorEquals": ["Throttled"], "ResultPath": "$.failure", "Next": "Handle"},
            {"ErrorEquals": ["States.ALL"], "Next": "Done"}
        ]),
    );
    let clock = VirtualClock::default();
    let s = run(&d, &fail_times(5, "Throttled"), &clock, json!({"runId": "r1"})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(s.output, Some(json!({"runId": "r1", "failure": {"Error": "Throttled", "Cause": "attempt 1 failed"}})));
    assert_eq!(s.states_entered(), ["T", "Handle"]);
    assert_eq!(elapsed(&clock), 1.0);
    let types = s.event_types();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, e) in s.history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert_eq!(e.previous_event_id, i as u64);
    }
    // Without ResultPath the error object replaces the input.
    let d =
        retry_machine(json!({"ErrorEquals": ["Nope"]}), json!([{"ErrorEquals": ["Other", "Bad"], "Next": "Handle"}]));
    let s = run(&d, &fail_times(1, "Bad"), &clock, json!({"runId": "r1"})).await;
    assert_eq!(s.output, Some(json!({"Error": "Bad", "Cause": "attempt 0 failed"})));
}

#[tokio::test]
async fn error_name_matching_rules() {
    // States.TaskFailed matches a Lambda error; the first matching retrier decides.
    let d = def(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA,
                "Retry": [
                    {"ErrorEquals": ["Throttled"], "MaxAttempts": 0},
                    {"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 5}
                ],
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
                "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let clock = VirtualClock::default();
    let s = run(&d, &fail_times(1, "Throttled"), &clock, json!({})).await;
    assert_eq!(s.states_entered(), ["T", "Caught"]);
    assert_eq!(elapsed(&clock), 0.0);

    // States.Runtime (InputPath names nothing) is not caught by States.ALL.
    let d = def(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "InputPath": "$.missing",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let s = run(&d, &Script::echo(), &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(s.error.as_deref(), Some("States.Runtime"));
    assert!(s.cause.as_deref().unwrap().contains("$.missing"));

    // A Parameters path failure is caught, not retried.
    let d = def(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"x.$": "$.missing"},
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ParameterPathFailure"], "ResultPath": "$.err", "Next": "Caught"}],
                "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let script = Script::echo();
    let s = run(&d, &script, &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(s.output.unwrap()["err"]["Error"], "States.ParameterPathFailure");
    assert!(script.calls().is_empty());
}

#[tokio::test]
async fn task_timeout_in_virtual_time() {
    let d = def(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 30,
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Caught"}],
                "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let clock = VirtualClock::default();
    let c = clock.clone();
    let script = Script::new(move |_, _, ctx, _| {
        assert_eq!(ctx.timeout_at, Some(c.now().saturating_add(Duration::from_secs(30))));
        c.advance(Duration::from_secs(31));
        Ok(json!("too late"))
    });
    let s = run(&d, &script, &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    // States.TaskFailed does not match States.Timeout, so no retry happened.
    assert_eq!(script.calls().len(), 1);
    assert_eq!(s.output, Some(json!({"timeout": {"Error": "States.Timeout", "Cause": "Task timed out."}})));
    assert!(s.event_types().contains(&"LambdaFunctionTimedOut".to_string()));
}

/// The pipeline's polling shape: Wait (SecondsPath) -> Task -> Choice, bounded by a counter.
fn poll_machine() -> local_sfn::Definition {
    def(json!({
        "StartAt": "Init",
        "TimeoutSeconds": 86400,
        "States": {
            "Init": {"Type": "Pass", "Result": {"count": 0, "waitSeconds": 600}, "ResultPath": "$.poll", "Next": "Wait"},
            "Wait": {"Type": "Wait", "SecondsPath": "$.poll.waitSeconds", "Next": "Check"},
            "Check": {"Type": "Task", "Resource": LAMBDA,
                "Parameters": {"jobArn.$": "$.jobArn"},
                "ResultPath": "$.status",
                "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 5}],
                "Next": "Decide"},
            "Decide": {"Type": "Choice",
                "Choices": [
                    {"Variable": "$.status.status", "StringEquals": "Completed", "Next": "Done"},
                    {"Or": [
                        {"Variable": "$.status.status", "StringEquals": "Failed"},
                        {"Variable": "$.status.status", "StringEquals": "Stopped"}
                    ], "Next": "JobFailed"},
                    {"Variable": "$.poll.count", "NumericGreaterThanEquals": 4, "Next": "TooLong"}
                ],
                "Default": "Count"},
            "Count": {"Type": "Pass",
                "Parameters": {"count.$": "States.MathAdd($.poll.count, 1)", "waitSeconds.$": "$.poll.waitSeconds"},
                "ResultPath": "$.poll", "Next": "Wait"},
            "Done": {"Type": "Succeed", "OutputPath": "$.status"},
            "JobFailed": {"Type": "Fail", "ErrorPath": "$.status.error", "CausePath": "$.status.message"},
            "TooLong": {"Type": "Fail", "Error": "PollLimitExceeded", "Cause": "the job did not finish in time"}
        }
    }))
}

fn statuses(list: &'static [&'static str]) -> Script {
    Script::new(move |_, _, _, call| {
        let s = list[call.min(list.len() - 1)];
        Ok(json!({"status": s, "error": "JobFailed", "message": format!("job ended {s}")}))
    })
}

#[tokio::test]
async fn bounded_poll_loop_reaches_each_terminal_status() {
    let d = poll_machine();
    let clock = VirtualClock::default();
    let s = run(&d, &statuses(&["InProgress", "InProgress", "Completed"]), &clock, json!({"jobArn": "j"})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(s.output, Some(json!({"status": "Completed", "error": "JobFailed", "message": "job ended Completed"})));
    assert_eq!(elapsed(&clock), 1800.0);
    assert_eq!(
        s.states_entered(),
        [
            "Init", "Wait", "Check", "Decide", "Count", "Wait", "Check", "Decide", "Count", "Wait", "Check", "Decide",
            "Done"
        ]
    );

    for terminal in ["Failed", "Stopped"] {
        let list: &'static [&'static str] = if terminal == "Failed" { &["Failed"] } else { &["Stopped"] };
        let s = run(&d, &statuses(list), &VirtualClock::default(), json!({"jobArn": "j"})).await;
        assert_eq!(s.status, ExecutionStatus::Failed);
        assert_eq!(s.error.as_deref(), Some("JobFailed"));
        assert_eq!(s.cause, Some(format!("job ended {terminal}")));
        assert_eq!(s.event_types().last().unwrap(), "ExecutionFailed");
        assert!(s.event_types().contains(&"FailStateEntered".to_string()));
    }

    // A job that never finishes ends at the bound, after five polls.
    let clock = VirtualClock::default();
    let script = statuses(&["InProgress"]);
    let s = run(&d, &script, &clock, json!({"jobArn": "j"})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(s.error.as_deref(), Some("PollLimitExceeded"));
    assert_eq!(script.calls().len(), 5);
    assert_eq!(elapsed(&clock), 3000.0);
}

#[tokio::test]
async fn machine_timeout_fails_with_states_timeout() {
    let d = def(json!({
        "StartAt": "Wait",
        "TimeoutSeconds": 60,
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 7200, "Next": "Never"},
            "Never": {"Type": "Succeed"}
        }
    }));
    let clock = VirtualClock::default();
    let s = run(&d, &Script::echo(), &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::TimedOut);
    assert_eq!(s.error.as_deref(), Some("States.Timeout"));
    assert_eq!(elapsed(&clock), 60.0);
    assert_eq!(s.event_types().last().unwrap(), "ExecutionTimedOut");
    assert_eq!(s.states_entered(), ["Wait"]);

    // Time spent inside tasks (another emulator advancing the clock) counts too.
    let d = poll_machine();
    let clock = VirtualClock::default();
    let c = clock.clone();
    let script = Script::new(move |_, _, _, _| {
        c.advance(Duration::from_secs(40_000));
        Ok(json!({"status": "InProgress"}))
    });
    let s = run(&d, &script, &clock, json!({"jobArn": "j"})).await;
    assert_eq!(s.status, ExecutionStatus::TimedOut);
    assert_eq!(script.calls().len(), 3);
}

#[tokio::test]
async fn wait_variants() {
    let d = def(json!({
        "StartAt": "Secs",
        "States": {
            "Secs": {"Type": "Wait", "Seconds": 10, "Next": "Until"},
            "Until": {"Type": "Wait", "Timestamp": "2025-01-01T01:00:00Z", "Next": "UntilPath"},
            "UntilPath": {"Type": "Wait", "TimestampPath": "$.at", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "Next": "ByPath"},
            "ByPath": {"Type": "Wait", "SecondsPath": "$.secs", "End": true}
        }
    }));
    let clock = VirtualClock::default();
    let s = run(&d, &Script::echo(), &clock, json!({"at": "2025-01-01T02:00:00+00:00", "secs": 5})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(elapsed(&clock), 7205.0);
    assert_eq!(s.event_types()[1], "WaitStateEntered");

    for bad in [json!({"at": "2025-01-01T02:00:00Z", "secs": -1}), json!({"at": "later", "secs": 5})] {
        let s = run(&d, &Script::echo(), &VirtualClock::default(), bad).await;
        assert_eq!(s.status, ExecutionStatus::Failed);
        assert_eq!(s.error.as_deref(), Some("States.Runtime"));
    }
}

#[tokio::test]
async fn choice_without_match_or_default_fails() {
    let d = def(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Not": {"Variable": "$.ready", "BooleanEquals": false}, "Next": "Yes"},
                {"And": [
                    {"Variable": "$.n", "IsPresent": true},
                    {"Variable": "$.n", "NumericLessThan": 0}
                ], "Next": "Yes"}
            ]},
            "Yes": {"Type": "Succeed"}
        }
    }));
    let clock = VirtualClock::default();
    let s = run(&d, &Script::echo(), &clock, json!({"ready": false, "n": 3})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(s.error.as_deref(), Some("States.NoChoiceMatched"));
    let s = run(&d, &Script::echo(), &clock, json!({"ready": true})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded);
    assert_eq!(
        s.event_types(),
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn fail_state_with_literals_and_paths() {
    let d = def(json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "because"}}}));
    let s = run(&d, &Script::echo(), &VirtualClock::default(), json!({})).await;
    assert_eq!(
        (s.status, s.error.as_deref(), s.cause.as_deref()),
        (ExecutionStatus::Failed, Some("Bad"), Some("because"))
    );
    assert_eq!(s.event_types(), ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]);

    let d = def(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$$.Execution.Name"}}}),
    );
    let s = run(&d, &Script::echo(), &VirtualClock::default(), json!({"e": "FromInput"})).await;
    assert_eq!((s.error.as_deref(), s.cause.as_deref()), (Some("FromInput"), Some("exec-1")));
    let s = run(&d, &Script::echo(), &VirtualClock::default(), json!({"e": 3})).await;
    assert_eq!(s.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn runaway_loops_stop_at_the_history_limit() {
    let d = def(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}));
    let s = run(&d, &Script::echo(), &VirtualClock::default(), json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(s.error.as_deref(), Some("States.Runtime"));
    assert_eq!(s.history.len(), local_sfn::MAX_HISTORY_EVENTS);
}

#[tokio::test]
async fn task_failure_without_catch_fails_the_execution() {
    let d = def(json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true}}}));
    let s = run(&d, &fail_times(1, "DatasetInvalid"), &VirtualClock::default(), json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!((s.error.as_deref(), s.cause.as_deref()), (Some("DatasetInvalid"), Some("attempt 0 failed")));
    assert_eq!(s.event_types().last().unwrap(), "ExecutionFailed");
    let failed = s.history.iter().find(|e| e.type_name() == "LambdaFunctionFailed").unwrap();
    let api = failed.to_api_json("us-east-1", true);
    assert_eq!(
        api["lambdaFunctionFailedEventDetails"],
        json!({"error": "DatasetInvalid", "cause": "attempt 0 failed"})
    );
    let _: Value = api;
}

#[tokio::test]
async fn data_beyond_256_kib_fails_with_states_data_limit_exceeded_which_states_all_does_not_catch() {
    let big = "x".repeat(local_sfn::PAYLOAD_LIMIT_BYTES);
    let catch_all = json!([{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]);
    let retry_all = json!({"ErrorEquals": ["States.ALL"], "MaxAttempts": 3});
    let clock = VirtualClock::default();

    // A task result beyond the quota: not retried, not caught by States.ALL.
    let huge = big.clone();
    let script = Script::new(move |_, _, _, _| Ok(json!({"blob": huge.clone()})));
    let s = run(&retry_machine(retry_all.clone(), catch_all.clone()), &script, &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Failed);
    assert_eq!(s.error.as_deref(), Some(local_sfn::DATA_LIMIT_EXCEEDED));
    let cause = s.cause.clone().unwrap_or_default();
    assert!(cause.contains("task result of state 'T'") && cause.contains("262144"), "{cause}");
    assert_eq!(script.calls().len(), 1, "not retried");
    assert!(!s.states_entered().contains(&"Handle".to_string()), "{:?}", s.states_entered());

    // Named explicitly, a Catch does take it.
    let by_name = json!([{"ErrorEquals": [local_sfn::DATA_LIMIT_EXCEEDED], "Next": "Handle"}]);
    let huge = big.clone();
    let script = Script::new(move |_, _, _, _| Ok(json!({"blob": huge.clone()})));
    let s = run(&retry_machine(retry_all, by_name), &script, &clock, json!({})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded, "{:?} {:?}", s.error, s.cause);
    assert!(s.states_entered().contains(&"Handle".to_string()));

    // A Pass state whose output grows past the quota (its input was within it).
    let d = def(json!({
        "StartAt": "Grow",
        "States": {"Grow": {"Type": "Pass", "Parameters": {"a.$": "$.half", "b.$": "$.half"}, "End": true}}
    }));
    let half = "y".repeat(local_sfn::PAYLOAD_LIMIT_BYTES / 2 + 10);
    let s = run(&d, &Script::echo(), &clock, json!({"half": half})).await;
    assert_eq!(s.error.as_deref(), Some(local_sfn::DATA_LIMIT_EXCEEDED));
    assert!(s.cause.unwrap_or_default().contains("output of state 'Grow'"));

    // Just within the quota passes.
    let fits = "z".repeat(local_sfn::PAYLOAD_LIMIT_BYTES - 100);
    let s = run(&d, &Script::echo(), &clock, json!({"half": fits[..fits.len() / 2 - 20]})).await;
    assert_eq!(s.status, ExecutionStatus::Succeeded, "{:?}", s.cause);
}
