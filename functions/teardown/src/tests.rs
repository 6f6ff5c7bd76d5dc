use super::*;
use aws_sdk_bedrock::error::ErrorMetadata;
use aws_sdk_bedrock::operation::delete_custom_model_deployment::{
    DeleteCustomModelDeploymentError, DeleteCustomModelDeploymentOutput,
};
use aws_sdk_bedrock::operation::delete_provisioned_model_throughput::{
    DeleteProvisionedModelThroughputError, DeleteProvisionedModelThroughputOutput,
};
use aws_sdk_bedrock::operation::get_custom_model_deployment::GetCustomModelDeploymentError;
use aws_sdk_bedrock::operation::get_model_customization_job::{
    GetModelCustomizationJobError, GetModelCustomizationJobOutput,
};
use aws_sdk_bedrock::operation::get_provisioned_model_throughput::{
    GetProvisionedModelThroughputError, GetProvisionedModelThroughputOutput,
};
use aws_sdk_bedrock::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_bedrock::operation::stop_model_customization_job::StopModelCustomizationJobOutput;
use aws_sdk_bedrock::primitives::DateTime;
use aws_sdk_bedrock::types::ModelCustomizationJobStatus;
use aws_sdk_bedrock::types::error::{AccessDeniedException, ResourceNotFoundException};
use aws_sdk_bedrock::types::{ProvisionedModelStatus, Tag};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use fixtures::{BUCKET, CUSTOM_MODEL_ARN as MODEL_ARN, DEPLOYMENT_ARN, JOB_ARN, Poll, RUN_ID as RUN, THROUGHPUT_ARN};
use functions_common::FixedClock;
use lambda_runtime::Context;
use notify::{NoNotifier, SnsNotifier};
use serde_json::json;
use shared::aws::RUN_ID_TAG;
use shared::pipeline::{Backoff, DeploymentRef};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------------------------------------------
// Fixtures.

/// The sample run, to be deployed `mode`.
fn prepared(mode: DeploymentMode) -> PreparedRun {
    fixtures::with_config(fixtures::after_validate_split(true), |c| c.deployment = mode).run
}

/// The sample run's `mode` deployment, ready, at `arn`.
fn deployment(mode: DeploymentMode, arn: &str) -> DeploymentRef {
    DeploymentRef {
        arn: Some(arn.into()),
        invoke_arn: Some(arn.into()),
        ..fixtures::deployment_polled(mode, Poll::Ready)
    }
}

fn doc(outcome: Outcome, error: Option<(&str, &str)>, deployed: Option<DeploymentRef>) -> RunDocument {
    let mode = deployed.as_ref().map_or(DeploymentMode::OnDemand, |d| d.mode);
    RunDocument {
        run: prepared(mode),
        job: Some(fixtures::job_polled(Poll::Ready)),
        deployment: deployed,
        evaluation: None,
        error: error.map(|(e, c)| CaughtError { error: e.into(), cause: c.into() }),
        outcome: Some(outcome),
        teardown: None,
    }
}

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(String, String)>>,
}

impl Notifier for Recorder {
    async fn notify(&self, subject: &str, message: &str, _: &RunSummary) -> Result<bool, PipelineError> {
        self.sent.lock().unwrap().push((subject.into(), message.into()));
        Ok(true)
    }
}

type Written = Arc<Mutex<BTreeMap<String, String>>>;

/// PutObject recording key -> body; GetObject of the summary answers NoSuchKey unless `existing`.
fn s3_with(existing: Option<String>) -> (aws_sdk_s3::Client, Written) {
    let written: Written = Arc::default();
    let sink = written.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let body = String::from_utf8(r.body().bytes().unwrap_or_default().to_vec()).unwrap();
            sink.lock().unwrap().insert(format!("{}/{}", r.bucket().unwrap(), r.key().unwrap()), body);
            true
        })
        .then_output(|| PutObjectOutput::builder().build());
    let get = match existing {
        Some(body) => mock!(aws_sdk_s3::Client::get_object)
            .then_output(move || GetObjectOutput::builder().body(ByteStream::from(body.clone().into_bytes())).build()),
        None => {
            mock!(aws_sdk_s3::Client::get_object).then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()))
        }
    };
    // report.html looks for the job's loss files: none here.
    let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_output(|| ListObjectsV2Output::builder().build());
    (mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &get, &list]), written)
}

fn bedrock(rules: &[&Rule]) -> aws_sdk_bedrock::Client {
    mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, rules, |c| c
        .retry_config(aws_sdk_bedrock::config::retry::RetryConfig::disabled()))
}

/// `rules` first, then what a test does not care about: every resource is this run's (its run tag
/// says RUN), and no throughput or deployment exists under a derived name.
fn deps<N: Notifier>(rules: &[&Rule], s3: aws_sdk_s3::Client, notifier: N) -> Deps<FixedClock, N> {
    let defaults = [tagged(RUN), no_throughput_named(), no_deployment_named()];
    let all: Vec<&Rule> = rules.iter().copied().chain(defaults.iter()).collect();
    // report.html's history: empty (the page itself is tested in report_html).
    let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
        aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput::builder()
            .set_events(Some(vec![]))
            .build()
            .unwrap()
    });
    Deps {
        bedrock: bedrock(&all),
        s3,
        clock: FixedClock::at_unix(1_767_323_045),
        notifier,
        bucket: None,
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&history]),
        state_machine_arn: Some(MACHINE.into()),
    }
}

/// ListTagsForResource: every resource carries the run tag `run`.
fn tagged(run: &'static str) -> Rule {
    mock!(aws_sdk_bedrock::Client::list_tags_for_resource).then_output(move || {
        ListTagsForResourceOutput::builder()
            .tags(Tag::builder().key(RUN_ID_TAG).value(run).build().unwrap())
            .tags(Tag::builder().key("project").value("support-bot").build().unwrap())
            .build()
    })
}

/// ListTagsForResource: `arn` has no run tag at all.
fn untagged(arn: &'static str) -> Rule {
    mock!(aws_sdk_bedrock::Client::list_tags_for_resource)
        .match_requests(move |r| r.resource_arn() == Some(arn))
        .then_output(|| ListTagsForResourceOutput::builder().build())
}

fn no_throughput_named() -> Rule {
    mock!(aws_sdk_bedrock::Client::get_provisioned_model_throughput).then_error(|| {
        GetProvisionedModelThroughputError::ResourceNotFoundException(
            ResourceNotFoundException::builder().meta(meta("ResourceNotFoundException", "no such throughput")).build(),
        )
    })
}

fn no_deployment_named() -> Rule {
    mock!(aws_sdk_bedrock::Client::get_custom_model_deployment).then_error(|| {
        GetCustomModelDeploymentError::ResourceNotFoundException(
            ResourceNotFoundException::builder().meta(meta("ResourceNotFoundException", "no such deployment")).build(),
        )
    })
}

/// GetProvisionedModelThroughput by the run's derived name answers THROUGHPUT_ARN.
fn throughput_named() -> Rule {
    mock!(aws_sdk_bedrock::Client::get_provisioned_model_throughput)
        .match_requests(|r| r.provisioned_model_id() == Some(&names::throughput_name(RUN)))
        .then_output(|| {
            GetProvisionedModelThroughputOutput::builder()
                .model_units(1)
                .desired_model_units(1)
                .provisioned_model_name(names::throughput_name(RUN))
                .provisioned_model_arn(THROUGHPUT_ARN)
                .model_arn(MODEL_ARN)
                .desired_model_arn(MODEL_ARN)
                .foundation_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
                .status(ProvisionedModelStatus::InService)
                .creation_time(DateTime::from_secs(0))
                .last_modified_time(DateTime::from_secs(0))
                .build()
                .unwrap()
        })
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn job_in(state: ModelCustomizationJobStatus) -> Rule {
    job_in_with(state, JOB_ARN.to_string())
}

/// The job, answered only when asked for by `identifier` (its ARN, or its derived name).
fn job_in_with(state: ModelCustomizationJobStatus, identifier: String) -> Rule {
    mock!(aws_sdk_bedrock::Client::get_model_customization_job)
        .match_requests(move |r| r.job_identifier() == Some(identifier.as_str()))
        .then_output(move || {
            GetModelCustomizationJobOutput::builder()
                .job_arn(JOB_ARN)
                .job_name(names::job_name(RUN))
                .output_model_name(names::custom_model_name(RUN))
                .role_arn(fixtures::ROLE_ARN)
                .creation_time(DateTime::from_secs(0))
                .base_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
                .status(state.clone())
                .build()
                .unwrap()
        })
}

fn no_job() -> Rule {
    mock!(aws_sdk_bedrock::Client::get_model_customization_job)
        .match_requests(|r| r.job_identifier() == Some(&names::job_name(RUN)))
        .then_error(|| {
            GetModelCustomizationJobError::ResourceNotFoundException(
                ResourceNotFoundException::builder().meta(meta("ResourceNotFoundException", "no such job")).build(),
            )
        })
}

fn stop() -> Rule {
    mock!(aws_sdk_bedrock::Client::stop_model_customization_job)
        .match_requests(|r| r.job_identifier() == Some(JOB_ARN))
        .then_output(|| StopModelCustomizationJobOutput::builder().build())
}

fn delete_throughput(id: &'static str) -> Rule {
    mock!(aws_sdk_bedrock::Client::delete_provisioned_model_throughput)
        .match_requests(move |r| r.provisioned_model_id() == Some(id))
        .then_output(|| DeleteProvisionedModelThroughputOutput::builder().build())
}

fn delete_deployment(id: &'static str) -> Rule {
    mock!(aws_sdk_bedrock::Client::delete_custom_model_deployment)
        .match_requests(move |r| r.custom_model_deployment_identifier() == Some(id))
        .then_output(|| DeleteCustomModelDeploymentOutput::builder().build())
}

fn throughput_gone() -> Rule {
    mock!(aws_sdk_bedrock::Client::delete_provisioned_model_throughput).then_error(|| {
        DeleteProvisionedModelThroughputError::ResourceNotFoundException(
            ResourceNotFoundException::builder().meta(meta("ResourceNotFoundException", "gone")).build(),
        )
    })
}

fn deployment_gone() -> Rule {
    mock!(aws_sdk_bedrock::Client::delete_custom_model_deployment).then_error(|| {
        DeleteCustomModelDeploymentError::ResourceNotFoundException(
            ResourceNotFoundException::builder().meta(meta("ResourceNotFoundException", "gone")).build(),
        )
    })
}

fn summary_of(written: &Written) -> RunSummary {
    let written = written.lock().unwrap();
    serde_json::from_str(&written[&format!("{BUCKET}/runs/{RUN}/summary.json")]).unwrap()
}

/// The state machine's machine in these tests.
const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline";

/// Finalize's input as the state machine makes it.
fn finalize_event(d: RunDocument) -> LambdaEvent<Value> {
    let request = FinalizeRequest { document: d, execution_arn: Some(shared::aws::execution_arn(MACHINE, RUN)) };
    LambdaEvent::new(serde_json::to_value(request).unwrap(), Context::default())
}

// ---------------------------------------------------------------------------------------------------
// Finalize.

#[tokio::test]
async fn a_failed_run_deletes_the_throughput_stops_the_job_and_publishes_the_summary() {
    let (s3, written) = s3_with(None);
    let (get, stop, delete) =
        (job_in(ModelCustomizationJobStatus::InProgress), stop(), delete_throughput(THROUGHPUT_ARN));
    let deps = deps(&[&get, &stop, &delete], s3, Recorder::default());
    let d = doc(
        Outcome::Failed,
        Some(("TransientError", "CheckStatus gave up")),
        Some(deployment(DeploymentMode::Provisioned, THROUGHPUT_ARN)),
    );
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert_eq!((get.num_calls(), stop.num_calls(), delete.num_calls()), (1, 1, 1));
    assert_eq!(out.outcome, Outcome::Failed);
    assert_eq!(out.deleted, vec![THROUGHPUT_ARN]);
    assert_eq!(out.stopped, vec![JOB_ARN]);
    assert!(out.kept.is_empty());
    assert_eq!(out.summary_uri, format!("s3://{BUCKET}/runs/{RUN}/summary.json"));
    assert!(out.notified);

    let summary = summary_of(&written);
    assert_eq!((summary.status, summary.trigger), (Outcome::Failed, Trigger::StateMachine));
    assert_eq!(summary.error.as_ref().unwrap().error, "TransientError");
    assert_eq!(summary.job_arn.as_deref(), Some(JOB_ARN));
    assert_eq!(summary.custom_model_arn.as_deref(), Some(MODEL_ARN));
    assert_eq!(summary.dataset, Some(format!("s3://{BUCKET}/{}", fixtures::DATASET_KEY)));
    assert_eq!(summary.deleted, vec![THROUGHPUT_ARN]);
    assert_eq!(summary.reports.summary.as_deref(), Some(out.summary_uri.as_str()));
    assert_eq!(summary.finished_at, "2026-01-02T03:04:05Z");
    let sent = deps.notifier.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, format!("Fine-tuning run {RUN}: FAILED (TransientError)"));
    assert_eq!(serde_json::from_str::<RunSummary>(&sent[0].1).unwrap(), summary);
}

#[tokio::test]
async fn a_finalize_retry_after_the_summary_went_out_writes_and_sends_nothing_again() {
    let failed = || {
        doc(
            Outcome::Failed,
            Some(("TransientError", "CheckStatus gave up")),
            Some(deployment(DeploymentMode::Provisioned, THROUGHPUT_ARN)),
        )
    };
    let (s3, written) = s3_with(None);
    let (get, stop, delete) =
        (job_in(ModelCustomizationJobStatus::InProgress), stop(), delete_throughput(THROUGHPUT_ARN));
    let first = deps(&[&get, &stop, &delete], s3, Recorder::default());
    let out = handler(&first, finalize_event(failed())).await.unwrap();
    assert_eq!(first.notifier.sent.lock().unwrap().len(), 1);
    let summary = written.lock().unwrap()[&format!("{BUCKET}/runs/{RUN}/summary.json")].clone();

    // Step Functions did not get the result (Lambda.ServiceException) and calls again: the job is
    // stopped and the throughput gone by now.
    let (s3, rewritten) = s3_with(Some(summary));
    let (get, gone) = (job_in(ModelCustomizationJobStatus::Stopped), throughput_gone());
    let again = deps(&[&get, &gone], s3, Recorder::default());
    let retry = handler(&again, finalize_event(failed())).await.unwrap();
    assert!(again.notifier.sent.lock().unwrap().is_empty(), "published twice");
    let summary_key = format!("{BUCKET}/runs/{RUN}/summary.json");
    assert!(!rewritten.lock().unwrap().contains_key(&summary_key), "the summary is written once");
    assert_eq!((retry.deleted, retry.stopped), (out.deleted, out.stopped), "the first pass's lists");
    assert_eq!(retry.summary_uri, out.summary_uri);
    assert!(retry.progress.pending.is_empty() && retry.progress.incomplete.is_none());
}

/// A topic that answers throttled once, then publishes.
#[derive(Default)]
struct ThrottledOnce {
    calls: Mutex<usize>,
    sent: Mutex<Vec<String>>,
}

impl Notifier for ThrottledOnce {
    async fn notify(&self, _: &str, message: &str, _: &RunSummary) -> Result<bool, PipelineError> {
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            return Err(PipelineError::Throttled("Publish: Throttling".into()));
        }
        self.sent.lock().unwrap().push(message.into());
        Ok(true)
    }
}

#[tokio::test]
async fn a_publish_that_failed_is_retried_since_no_summary_was_written_before_it() {
    let d = || doc(Outcome::Failed, Some(("AccessDenied", "x")), None);
    let (s3, written) = s3_with(None);
    let get = job_in(ModelCustomizationJobStatus::Completed);
    let deps = deps(&[&get], s3, ThrottledOnce::default());
    let err = handler(&deps, finalize_event(d())).await.unwrap_err();
    assert_eq!(err.error_type(), "Throttled");
    assert!(written.lock().unwrap().is_empty(), "nothing written before the message went out");
    // The state machine's retry (same S3: still no summary) publishes and writes.
    let out = handler(&deps, finalize_event(d())).await.unwrap();
    assert!(out.notified);
    assert_eq!(deps.notifier.sent.lock().unwrap().len(), 1);
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_on_demand_run_deletes_the_deployment_and_leaves_a_finished_job_alone() {
    let (s3, _) = s3_with(None);
    let (get, stop, delete) =
        (job_in(ModelCustomizationJobStatus::Completed), stop(), delete_deployment(DEPLOYMENT_ARN));
    let deps = deps(&[&get, &stop, &delete], s3, NoNotifier);
    let d =
        doc(Outcome::Failed, Some(("AccessDenied", "x")), Some(deployment(DeploymentMode::OnDemand, DEPLOYMENT_ARN)));
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert_eq!((get.num_calls(), stop.num_calls(), delete.num_calls()), (1, 0, 1));
    assert_eq!(out.deleted, vec![DEPLOYMENT_ARN]);
    assert!(out.stopped.is_empty());
    assert!(!out.notified, "no topic, no notification");
}

#[tokio::test]
async fn a_successful_run_keeps_everything() {
    let (s3, written) = s3_with(None);
    let (get, delete) = (job_in(ModelCustomizationJobStatus::Completed), delete_deployment(DEPLOYMENT_ARN));
    let deps = deps(&[&get, &delete], s3, Recorder::default());
    let mut d = doc(Outcome::Succeeded, None, Some(deployment(DeploymentMode::OnDemand, DEPLOYMENT_ARN)));
    d.evaluation = Some(fixtures::evaluation(true));
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert_eq!((get.num_calls(), delete.num_calls()), (0, 0));
    assert_eq!(out.outcome, Outcome::Succeeded);
    assert_eq!(out.kept, vec![DEPLOYMENT_ARN]);
    assert!(out.deleted.is_empty() && out.stopped.is_empty());
    let summary = summary_of(&written);
    assert!(summary.evaluation.as_ref().unwrap().passed);
    assert_eq!(
        summary.reports.evaluation_markdown.as_deref(),
        Some(&*format!("s3://{BUCKET}/runs/{RUN}/evaluation/report.md"))
    );
    assert_eq!(deps.notifier.sent.lock().unwrap()[0].0, format!("Fine-tuning run {RUN}: SUCCEEDED"));
}

#[tokio::test]
async fn a_gate_failure_keeps_the_deployment_only_when_asked() {
    for keep in [true, false] {
        let (s3, written) = s3_with(None);
        let (get, delete) = (job_in(ModelCustomizationJobStatus::Completed), delete_deployment(DEPLOYMENT_ARN));
        let deps = deps(&[&get, &delete], s3, NoNotifier);
        let mut d = doc(
            Outcome::Failed,
            Some(("GateFailed", "custom did not beat base")),
            Some(deployment(DeploymentMode::OnDemand, DEPLOYMENT_ARN)),
        );
        d.run.config.evaluation.keep_on_gate_failure = keep;
        d.evaluation = Some(fixtures::evaluation(false));
        let out = handler(&deps, finalize_event(d)).await.unwrap();
        if keep {
            assert_eq!(delete.num_calls(), 0);
            assert_eq!(out.kept, vec![DEPLOYMENT_ARN]);
            assert!(summary_of(&written).notes[0].contains("keep_on_gate_failure"));
        } else {
            assert_eq!(delete.num_calls(), 1);
            assert_eq!(out.deleted, vec![DEPLOYMENT_ARN]);
        }
        assert!(!summary_of(&written).evaluation.unwrap().passed);
    }
}

#[tokio::test]
async fn a_committed_throughput_is_kept_and_said_to_bill() {
    let (s3, written) = s3_with(None);
    let (get, delete) = (job_in(ModelCustomizationJobStatus::Completed), delete_throughput(THROUGHPUT_ARN));
    let deps = deps(&[&get, &delete], s3, NoNotifier);
    let mut d = doc(Outcome::Failed, Some(("X", "y")), Some(deployment(DeploymentMode::Provisioned, THROUGHPUT_ARN)));
    d.run.config.commitment = Some("OneMonth".into());
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert_eq!(delete.num_calls(), 0);
    assert_eq!(out.kept, vec![THROUGHPUT_ARN]);
    assert!(summary_of(&written).notes.iter().any(|n| n.contains("OneMonth")));
}

#[tokio::test]
async fn a_failed_run_where_nothing_exists_tears_down_nothing_and_still_reports() {
    let (s3, written) = s3_with(None);
    let (get, gone, stop) = (no_job(), deployment_gone(), stop());
    let deps = deps(&[&get, &gone, &stop], s3, Recorder::default());
    // Provision never returned: the deployment is looked for by its derived name.
    let mut d = doc(Outcome::Failed, Some(("DatasetInvalid", "line 3: bad")), None);
    d.job = None;
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    // Not found by its name, so nothing is deleted.
    assert_eq!((get.num_calls(), gone.num_calls(), stop.num_calls()), (1, 0, 0));
    assert!(out.deleted.is_empty() && out.stopped.is_empty() && out.kept.is_empty());
    let summary = summary_of(&written);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert!(summary.notes.iter().any(|n| n.contains(&names::deployment_name(RUN)) && n.contains("does not exist")));
    assert!(out.notified);
}

#[tokio::test]
async fn a_throughput_still_creating_is_waited_for_and_the_one_summary_comes_when_it_is_gone() {
    let (s3, written) = s3_with(None);
    let get = job_in(ModelCustomizationJobStatus::InProgress);
    let stopped = stop();
    let busy = mock!(aws_sdk_bedrock::Client::delete_provisioned_model_throughput)
        .then_error(|| DeleteProvisionedModelThroughputError::generic(meta("ConflictException", "still Creating")));
    let first_deps = deps(&[&get, &stopped, &busy], s3, Recorder::default());
    let d = doc(Outcome::Failed, Some(("X", "y")), Some(deployment(DeploymentMode::Provisioned, THROUGHPUT_ARN)));
    let first = handler(&first_deps, finalize_event(d.clone())).await.unwrap();
    // Not an error: the state machine waits (WaitForTeardown) and calls again; nothing written or sent yet.
    assert_eq!(first.progress.pending, vec![THROUGHPUT_ARN]);
    assert_eq!((first.progress.attempt, first.progress.next_wait_seconds), (1, Backoff::TEARDOWN.initial_seconds));
    assert!(first.progress.incomplete.is_none() && !first.notified && first.summary_uri.is_empty());
    assert_eq!(first.stopped.len(), 1, "the job was stopped in the first pass");
    assert!(written.lock().unwrap().is_empty());
    assert!(first_deps.notifier.sent.lock().unwrap().is_empty());

    // The next pass finds it InService: deleted, and the summary lists what both passes did.
    let (s3, written) = s3_with(None);
    let (get, delete) = (job_in(ModelCustomizationJobStatus::Stopping), delete_throughput(THROUGHPUT_ARN));
    let deps = deps(&[&get, &delete], s3, Recorder::default());
    let again = RunDocument { teardown: Some(first), ..d };
    let second = handler(&deps, finalize_event(again)).await.unwrap();
    assert!(second.progress.pending.is_empty() && second.progress.incomplete.is_none());
    assert_eq!(second.deleted, vec![THROUGHPUT_ARN]);
    let summary = summary_of(&written);
    assert_eq!((summary.deleted.len(), summary.stopped.len()), (1, 1), "{summary:?}");
    assert!(second.notified);
}

#[tokio::test]
async fn from_an_execution_event_a_creating_throughput_is_reported_and_the_invocation_fails_for_the_alarm() {
    let (s3, written) = s3_with(None);
    let get = no_job();
    let busy = mock!(aws_sdk_bedrock::Client::delete_provisioned_model_throughput)
        .then_error(|| DeleteProvisionedModelThroughputError::generic(meta("ConflictException", "still Creating")));
    let named = throughput_named();
    let deps = deps(&[&get, &named, &busy], s3, Recorder::default());
    let input = serde_json::to_value(prepared(DeploymentMode::Provisioned)).unwrap();
    let event = LambdaEvent::new(status_event("ABORTED", Some(input)), Context::default());
    let err = handler(&deps, event).await.unwrap_err();
    assert_eq!(err.error_type(), "TeardownFailed");
    assert!(err.to_string().contains("left to the reaper"), "{err}");
    let summary = summary_of(&written);
    assert!(summary.failures.iter().any(|f| f.contains("the reaper deletes it")), "{:?}", summary.failures);
    assert_eq!(deps.notifier.sent.lock().unwrap().len(), 1, "the operator is told before the invocation fails");
}

#[tokio::test]
async fn a_denied_delete_is_listed_for_a_person_and_the_summary_still_goes_out() {
    let (s3, written) = s3_with(None);
    let get = job_in(ModelCustomizationJobStatus::Completed);
    let denied = mock!(aws_sdk_bedrock::Client::delete_custom_model_deployment).then_error(|| {
        DeleteCustomModelDeploymentError::AccessDeniedException(
            AccessDeniedException::builder().meta(meta("AccessDeniedException", "no bedrock:Delete*")).build(),
        )
    });
    let deps = deps(&[&get, &denied], s3, Recorder::default());
    let d = doc(Outcome::Failed, Some(("X", "y")), Some(deployment(DeploymentMode::OnDemand, DEPLOYMENT_ARN)));
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert!(out.deleted.is_empty() && out.notified);
    let failures = summary_of(&written).failures;
    assert_eq!(failures.len(), 1);
    assert!(failures[0].starts_with(DEPLOYMENT_ARN) && failures[0].contains("AccessDenied"), "{failures:?}");
}

// ---------------------------------------------------------------------------------------------------
// The execution status-change event.

fn status_event(status: &str, input: Option<Value>) -> Value {
    let mut detail = json!({
        "executionArn": shared::aws::execution_arn(MACHINE, RUN),
        "stateMachineArn": MACHINE,
        "name": RUN,
        "status": status,
        "startDate": 1_767_300_000_000u64,
        "stopDate": 1_767_323_045_000u64,
    });
    if let Some(input) = input {
        detail["input"] = Value::String(input.to_string());
    }
    json!({
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-01-02T03:04:05Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:states:us-east-1:123456789012:execution:pipeline:{RUN}")],
        "detail": detail,
    })
}

#[tokio::test]
async fn an_aborted_execution_stops_the_job_and_deletes_by_derived_names() {
    let (s3, written) = s3_with(None);
    let get = job_in_with(ModelCustomizationJobStatus::InProgress, names::job_name(RUN));
    let (stop, named, delete) = (stop(), throughput_named(), delete_throughput(THROUGHPUT_ARN));
    let deps = deps(&[&get, &stop, &named, &delete], s3, Recorder::default());
    let input = serde_json::to_value(prepared(DeploymentMode::Provisioned)).unwrap();
    let event = LambdaEvent::new(status_event("ABORTED", Some(input)), Context::default());
    let out = handler(&deps, event).await.unwrap();
    assert_eq!((get.num_calls(), stop.num_calls(), delete.num_calls()), (1, 1, 1));
    assert_eq!(out.outcome, Outcome::Failed);
    assert_eq!(out.stopped, vec![JOB_ARN]);
    // Found by its derived name, proven this run's by its tag, deleted by its ARN.
    assert_eq!(named.num_calls(), 1);
    assert_eq!(out.deleted, vec![THROUGHPUT_ARN]);
    let summary = summary_of(&written);
    assert_eq!(summary.trigger, Trigger::ExecutionEvent);
    assert_eq!(summary.execution_status.as_deref(), Some("ABORTED"));
    assert_eq!(summary.error.as_ref().unwrap().error, "ExecutionAborted");
    assert_eq!(summary.base_model.as_deref(), Some("amazon.nova-micro-v1:0:128k"));
    assert!(out.notified);
}

#[tokio::test]
async fn a_timed_out_execution_without_its_input_looks_for_both_kinds_and_never_fails_on_what_is_gone() {
    let (s3, written) = s3_with(None);
    let (get, t_gone, d_gone) = (no_job(), throughput_gone(), deployment_gone());
    let mut deps = deps(&[&get, &t_gone, &d_gone], s3, Recorder::default());
    deps.bucket = Some(BUCKET.into());
    let event = LambdaEvent::new(status_event("TIMED_OUT", None), Context::default());
    let out = handler(&deps, event).await.unwrap();
    // Neither kind exists under its derived name: nothing to delete.
    assert_eq!((get.num_calls(), t_gone.num_calls(), d_gone.num_calls()), (1, 0, 0));
    assert!(out.deleted.is_empty() && out.stopped.is_empty());
    let summary = summary_of(&written);
    assert!(summary.failures.is_empty());
    assert_eq!(summary.error.unwrap().error, "ExecutionTimedOut");
    // And again: idempotent.
    let event = LambdaEvent::new(status_event("TIMED_OUT", None), Context::default());
    assert_eq!(handler(&deps, event).await.unwrap(), out);
}

#[tokio::test]
async fn a_failed_execution_that_finalize_already_summarised_is_left_as_it_was() {
    let (get, delete) = (job_in(ModelCustomizationJobStatus::Completed), delete_deployment(DEPLOYMENT_ARN));
    // Finalize kept the deployment after a gate failure, then the execution failed on purpose.
    let mut d = doc(
        Outcome::Failed,
        Some(("GateFailed", "no gain")),
        Some(deployment(DeploymentMode::OnDemand, DEPLOYMENT_ARN)),
    );
    d.run.config.evaluation.keep_on_gate_failure = true;
    let (s3_first, written) = s3_with(None);
    let first = deps(&[&get, &delete], s3_first, NoNotifier);
    handler(&first, finalize_event(d)).await.unwrap();
    let summary = written.lock().unwrap()[&format!("{BUCKET}/runs/{RUN}/summary.json")].clone();

    let (s3, after) = s3_with(Some(summary));
    let second = deps(&[&get, &delete], s3, Recorder::default());
    let input = serde_json::to_value(prepared(DeploymentMode::OnDemand)).unwrap();
    let out =
        handler(&second, LambdaEvent::new(status_event("FAILED", Some(input)), Context::default())).await.unwrap();
    assert_eq!(delete.num_calls(), 0, "the kept deployment stays");
    assert_eq!(out.kept, vec![DEPLOYMENT_ARN]);
    assert!(!out.notified && second.notifier.sent.lock().unwrap().is_empty());
    assert!(after.lock().unwrap().is_empty(), "the summary is not rewritten");
}

#[tokio::test]
async fn other_statuses_touch_nothing() {
    let (s3, written) = s3_with(None);
    let (get, delete) = (no_job(), throughput_gone());
    let deps = deps(&[&get, &delete], s3, Recorder::default());
    for status in ["RUNNING", "SUCCEEDED"] {
        let input = serde_json::to_value(prepared(DeploymentMode::Provisioned)).unwrap();
        let out =
            handler(&deps, LambdaEvent::new(status_event(status, Some(input)), Context::default())).await.unwrap();
        assert!(out.deleted.is_empty() && !out.notified);
    }
    assert_eq!((get.num_calls(), delete.num_calls()), (0, 0));
    assert!(written.lock().unwrap().is_empty());
}

#[test]
fn inputs_are_told_apart_by_shape() {
    let event = parse_input(status_event("ABORTED", None)).unwrap();
    let execution = shared::aws::execution_arn(MACHINE, RUN);
    assert!(matches!(&event, Input::Execution(e) if e.run_id == RUN && e.status == "ABORTED" && e.input.is_none()
        && e.execution_arn.as_deref() == Some(execution.as_str())));
    let d = doc(Outcome::Succeeded, None, None);
    // Finalize's shape, with the execution's ARN; a bare run document (a hand-made invocation) too.
    let Input::Finalize { document, execution_arn } = parse_input(finalize_event(d.clone()).payload).unwrap() else {
        panic!("Finalize's input")
    };
    assert_eq!((*document, execution_arn.as_deref()), (d.clone(), Some(execution.as_str())));
    let bare = parse_input(serde_json::to_value(&d).unwrap()).unwrap();
    assert!(matches!(bare, Input::Finalize { execution_arn: None, .. }));
    assert!(matches!(parse_input(json!({"document": {"hello": 1}})), Err(PipelineError::Internal(_))));
    assert!(matches!(parse_input(json!({"hello": 1})), Err(PipelineError::Internal(_))));
    let mut nameless = status_event("ABORTED", None);
    nameless["detail"]["name"] = Value::Null;
    assert!(parse_input(nameless).is_err());
}

// ---------------------------------------------------------------------------------------------------
// Ownership: nothing is stopped or deleted unless its run tag, read back, is this run's.

#[tokio::test]
async fn a_recorded_deployment_tagged_for_another_run_is_refused_and_reported() {
    let (s3, written) = s3_with(None);
    let (get, foreign, delete) = (
        job_in(ModelCustomizationJobStatus::Completed),
        tagged("someone-elses-run"),
        delete_throughput(THROUGHPUT_ARN),
    );
    let deps = deps(&[&get, &foreign, &delete], s3, Recorder::default());
    let d = doc(Outcome::Failed, Some(("X", "y")), Some(deployment(DeploymentMode::Provisioned, THROUGHPUT_ARN)));
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert_eq!(delete.num_calls(), 0, "a foreign throughput is never deleted");
    assert!(out.deleted.is_empty() && out.notified);
    let failures = summary_of(&written).failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("refused") && failures[0].contains("someone-elses-run"), "{failures:?}");
}

#[tokio::test]
async fn an_untagged_job_is_not_stopped() {
    let (s3, written) = s3_with(None);
    let (get, bare, stop) = (job_in(ModelCustomizationJobStatus::InProgress), untagged(JOB_ARN), stop());
    let deps = deps(&[&get, &bare, &stop], s3, Recorder::default());
    let d = doc(Outcome::Failed, Some(("X", "y")), None);
    let out = handler(&deps, finalize_event(d)).await.unwrap();
    assert_eq!(stop.num_calls(), 0);
    assert!(out.stopped.is_empty());
    let failures = summary_of(&written).failures;
    assert!(
        failures.iter().any(|f| f.starts_with(JOB_ARN) && f.contains("has no finetune-run-id tag")),
        "{failures:?}"
    );
}

#[tokio::test]
async fn an_aborted_execution_named_after_another_run_touches_none_of_its_resources() {
    // The victim's resources answer to the derived names of RUN, but carry the victim's tag.
    let (s3, written) = s3_with(None);
    let get = job_in_with(ModelCustomizationJobStatus::InProgress, names::job_name(RUN));
    let (victims, stop, named, delete) =
        (tagged("victim-run"), stop(), throughput_named(), delete_throughput(THROUGHPUT_ARN));
    let mut deps = deps(&[&get, &victims, &stop, &named, &delete], s3, Recorder::default());
    deps.bucket = Some(BUCKET.into());
    let event = LambdaEvent::new(status_event("ABORTED", None), Context::default());
    let out = handler(&deps, event).await.unwrap();
    assert_eq!((stop.num_calls(), delete.num_calls()), (0, 0));
    assert!(out.stopped.is_empty() && out.deleted.is_empty());
    let failures = summary_of(&written).failures;
    assert_eq!(
        failures.iter().filter(|f| f.contains("refused") && f.contains("victim-run")).count(),
        2,
        "{failures:?}"
    );
}

#[test]
fn the_run_id_of_an_event_derives_from_the_execution_name_as_validate_split_derives_it() {
    let mut event = status_event("ABORTED", None);
    event["detail"]["name"] = json!("My Retrain");
    let Input::Execution(e) = parse_input(event).unwrap() else { panic!("an execution event") };
    assert_eq!(e.run_id, run_id_for_execution("My Retrain"));
    assert!(e.run_id.starts_with("id-my-retrain-"), "{}", e.run_id);
}

// ---------------------------------------------------------------------------------------------------
// The SNS adapter.

#[tokio::test]
async fn sns_publishes_subject_message_and_filterable_attributes_and_skips_without_a_topic() {
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            let attrs = r.message_attributes().unwrap();
            r.topic_arn() == Some("arn:aws:sns:us-east-1:123456789012:runs")
                && r.subject() == Some("s")
                && r.message() == Some("m")
                && attrs["status"].string_value() == Some("FAILED")
                && attrs["run_id"].string_value() == Some(RUN)
        })
        .then_output(|| PublishOutput::builder().message_id("1").build());
    let client = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]);
    let summary = RunSummary::new(RUN, Outcome::Failed, Trigger::StateMachine, "2026-01-02T03:04:05Z".into());
    let sns = SnsNotifier { client: client.clone(), topic_arn: Some("arn:aws:sns:us-east-1:123456789012:runs".into()) };
    assert!(sns.notify("s", "m", &summary).await.unwrap());
    assert_eq!(publish.num_calls(), 1);
    let silent = SnsNotifier { client, topic_arn: None };
    assert!(!silent.notify("s", "m", &summary).await.unwrap());
    assert_eq!(publish.num_calls(), 1);
}

#[test]
fn from_env_reads_the_bucket_and_the_topic() {
    let sdk = SdkConfig::builder().behavior_version(aws_sdk_bedrock::config::BehaviorVersion::latest()).build();
    let env = Env::from_vars([("BUCKET", " finetune-1-us-east-1 "), ("TOPIC_ARN", "")]);
    let deps = Deps::from_env(&sdk, &env, FixedClock::at_unix(0), SnsNotifier::from_env(&sdk, &env));
    assert_eq!(deps.bucket.as_deref(), Some("finetune-1-us-east-1"));
    assert_eq!(deps.notifier.topic_arn, None);
    assert_eq!(deps.state_machine_arn, None, "no machine: no history is read");
    let unset = Deps::from_env(&sdk, &Env::from_vars([("BUCKET", "  ")]), FixedClock::at_unix(0), NoNotifier);
    assert_eq!(unset.bucket, None);
    let env = Env::from_vars([("STATE_MACHINE_ARN", MACHINE)]);
    assert_eq!(
        Deps::from_env(&sdk, &env, FixedClock::at_unix(0), NoNotifier).state_machine_arn.as_deref(),
        Some(MACHINE)
    );
}
