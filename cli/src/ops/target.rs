//! Where the operating commands act: a deployed stack (`--stack NAME`, its outputs read with
//! CloudFormation DescribeStacks, with the user's usual credentials, profile and region) or a served
//! local cloud (`--local [DIR]`, `DIR/env` as `finetune local serve` wrote it). Both give the same
//! [`Cloud`]: an `SdkConfig` and the stack's outputs, from which every command builds the same clients.
//! Only the endpoints differ.

use crate::output::CliError;
#[cfg(test)]
use crate::output::Exit;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use clap::Args;
use local_stack::env_file;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The data folder `finetune local serve` and `finetune run` use unless told otherwise.
pub const DEFAULT_LOCAL_DIR: &str = ".local-cloud";

#[derive(Args, Clone, Debug, Default)]
pub struct TargetArgs {
    /// A deployed stack (`sam deploy --stack-name NAME`): its bucket and state machine are read from the
    /// stack's outputs, with your usual AWS credentials.
    #[arg(long, value_name = "NAME", conflicts_with = "local")]
    pub stack: Option<String>,
    /// The stack's region (default: AWS_REGION, then the profile's region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The AWS profile whose credentials and region to use (default: AWS_PROFILE, then `default`).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// A local cloud kept running by `finetune local serve` (its data folder; default .local-cloud).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = DEFAULT_LOCAL_DIR)]
    pub local: Option<PathBuf>,
}

/// The stack's outputs a command needs (template.yaml's `Outputs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    pub bucket: String,
    pub state_machine_arn: String,
    pub topic_arn: Option<String>,
    pub role_arn: Option<String>,
}

impl StackOutputs {
    /// From outputs by name; a missing bucket or state machine is named in the error.
    pub fn from_named(outputs: &BTreeMap<String, String>, source: &str) -> Result<StackOutputs, CliError> {
        let get = |name: &str| outputs.get(name).filter(|v| !v.trim().is_empty()).cloned();
        let missing: Vec<&str> = ["BucketName", "StateMachineArn"].into_iter().filter(|n| get(n).is_none()).collect();
        if !missing.is_empty() {
            return Err(CliError::usage(format!(
                "{source} lacks the output{} {}",
                plural(missing.len()),
                missing.join(", ")
            ))
            .with_hint(
                "deploy this project's template.yaml (its Outputs name BucketName, StateMachineArn, TopicArn and \
                     BedrockServiceRoleArn), or name the stack that was deployed from it",
            ));
        }
        Ok(StackOutputs {
            bucket: get("BucketName").unwrap_or_default(),
            state_machine_arn: get("StateMachineArn").unwrap_or_default(),
            topic_arn: get("TopicArn"),
            role_arn: get("BedrockServiceRoleArn"),
        })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Where the commands act, resolved.
#[derive(Debug, Clone)]
pub struct Cloud {
    pub sdk: SdkConfig,
    pub outputs: StackOutputs,
    /// `Some(DIR)` for a local cloud: its Bedrock is the emulator and its clock virtual.
    pub local_dir: Option<PathBuf>,
    /// How to name this target in messages: `stack NAME in REGION` or `the local cloud in DIR`.
    pub label: String,
    /// The AWS profile asked for (`--profile`, else AWS_PROFILE), named when AWS refuses a call.
    pub profile: Option<String>,
}

impl Cloud {
    pub fn emulated(&self) -> bool {
        self.local_dir.is_some()
    }

    /// Whose calls these are, for a refusal: `profile `dev` in eu-west-1 (stack NAME in eu-west-1)`.
    pub fn whose(&self) -> String {
        match &self.local_dir {
            Some(_) => format!("{} (region {})", self.label, self.region()),
            None => format!(
                "profile `{}` in {} ({})",
                self.profile.as_deref().unwrap_or("default"),
                self.region(),
                self.label
            ),
        }
    }

    pub fn region(&self) -> String {
        self.sdk.region().map(ToString::to_string).unwrap_or_default()
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        // The local S3 is on 127.0.0.1, which has no bucket subdomains.
        let config = aws_sdk_s3::config::Builder::from(&self.sdk).force_path_style(self.emulated()).build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    pub fn bedrock(&self) -> aws_sdk_bedrock::Client {
        aws_sdk_bedrock::Client::new(&self.sdk)
    }

    pub fn runtime(&self) -> aws_sdk_bedrockruntime::Client {
        aws_sdk_bedrockruntime::Client::new(&self.sdk)
    }

    /// The execution ARN of a run: its execution's name is the run id.
    pub fn execution_arn(&self, run_id: &str) -> String {
        shared::aws::execution_arn(&self.outputs.state_machine_arn, run_id)
    }
}

/// Resolves `--stack` or `--local`.
pub async fn resolve(args: &TargetArgs) -> Result<Cloud, CliError> {
    match (&args.stack, &args.local) {
        (Some(stack), _) => resolve_stack(stack, args.profile.as_deref(), args.region.as_deref()).await,
        (None, Some(dir)) => resolve_local(dir).await,
        (None, None) => Err(CliError::usage(
            "say where the runs are: --stack NAME (a deployed stack) or --local [DIR]",
        )
        .with_hint(
            "`finetune local serve` keeps a local cloud running for --local; `sam deploy` makes a stack for --stack",
        )),
    }
}

async fn resolve_local(dir: &std::path::Path) -> Result<Cloud, CliError> {
    let path = env_file::path(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::usage(match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("no local cloud in {}: {} does not exist", dir.display(), path.display())
            }
            _ => format!("cannot read {}: {e}", path.display()),
        })
        .with_hint(format!("start one with `finetune local serve --data-dir {}` (it keeps running)", dir.display()))
    })?;
    let vars = env_file::parse(&text);
    let outputs = StackOutputs::from_named(&vars, &path.display().to_string())?;
    let endpoints = env_file::endpoints(&vars);
    let sdk = local_stack::local_sdk_config(&endpoints).await;
    Ok(Cloud {
        sdk,
        outputs,
        local_dir: Some(dir.to_path_buf()),
        label: format!("the local cloud in {}", dir.display()),
        profile: None,
    })
}

/// The user's own AWS configuration: credentials and region from the usual chain (environment,
/// profile, SSO, instance role), `--profile` and `--region` first.
async fn resolve_stack(stack: &str, profile: Option<&str>, region: Option<&str>) -> Result<Cloud, CliError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    let sdk = loader.load().await;
    check_environment(&sdk, profile).await?;
    let client = aws_sdk_cloudformation::Client::new(&sdk);
    let outputs = stack_outputs(&client, stack, &sdk.region().map(ToString::to_string).unwrap_or_default()).await?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let profile = profile.map(str::to_string).or_else(|| std::env::var("AWS_PROFILE").ok());
    Ok(Cloud { sdk, outputs, local_dir: None, label: format!("stack {stack} in {region}"), profile })
}

/// Region and credentials, checked before any call, so their absence is said plainly (exit 2) rather
/// than as a dispatch failure.
pub async fn check_environment(sdk: &SdkConfig, profile: Option<&str>) -> Result<(), CliError> {
    let profile_name = profile
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".to_string());
    if sdk.region().is_none() {
        return Err(CliError::usage(format!("no AWS region: none is set for profile `{profile_name}`"))
            .with_hint("pass --region REGION, set AWS_REGION, or add `region = ...` to the profile in ~/.aws/config"));
    }
    let Some(provider) = sdk.credentials_provider() else {
        return Err(CliError::usage(format!("no AWS credentials provider for profile `{profile_name}`")));
    };
    use aws_credential_types::provider::ProvideCredentials;
    provider.provide_credentials().await.map_err(|e| {
        CliError::usage(format!(
            "no AWS credentials for profile `{profile_name}` in {}: {}",
            sdk.region().map(ToString::to_string).unwrap_or_default(),
            DisplayErrorContext(&e)
        ))
        .with_hint(
            "sign in (`aws sso login --profile NAME`, `aws configure`), pass --profile NAME, or set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    })?;
    Ok(())
}

/// The stack's outputs by name, from DescribeStacks.
pub async fn stack_outputs(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
    region: &str,
) -> Result<StackOutputs, CliError> {
    let described = client.describe_stacks().stack_name(stack).send().await.map_err(|e| {
        let message = e.message().unwrap_or_default().to_string();
        match e.code() {
            Some("ValidationError") if message.contains("does not exist") => CliError::usage(format!(
                "there is no stack {stack} in {region}"
            ))
            .with_hint("check the name (`aws cloudformation list-stacks`) and pass --region where it was deployed"),
            Some(code)
                if code.contains("AccessDenied")
                    || code.contains("ExpiredToken")
                    || code.contains("InvalidClientTokenId") =>
            {
                CliError::usage(format!("AWS refused to describe stack {stack} in {region}: {code}: {message}"))
                    .with_hint("your credentials lack cloudformation:DescribeStacks, or have expired: sign in again")
            }
            _ => {
                CliError::failure(format!("could not describe stack {stack} in {region}: {}", DisplayErrorContext(&e)))
            }
        }
    })?;
    let Some(found) = described.stacks().first() else {
        return Err(CliError::usage(format!("there is no stack {stack} in {region}")));
    };
    let outputs: BTreeMap<String, String> = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    StackOutputs::from_named(&outputs, &format!("stack {stack} in {region}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::{
        ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future,
    };
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::describe_stacks::{DescribeStacksError, DescribeStacksOutput};
    use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
    use aws_smithy_mocks::{mock, mock_client};

    fn stack(outputs: &[(&str, &str)]) -> DescribeStacksOutput {
        let mut stack = Stack::builder()
            .stack_name("finetune")
            .stack_status(StackStatus::CreateComplete)
            .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0));
        for (k, v) in outputs {
            stack = stack.outputs(Output::builder().output_key(*k).output_value(*v).build());
        }
        DescribeStacksOutput::builder().stacks(stack.build()).build()
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn a_deployed_stacks_outputs_are_read_by_their_template_names() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("finetune"))
            .then_output(|| {
                stack(&[
                    ("BucketName", "finetune-123-us-east-1"),
                    ("StateMachineArn", "arn:aws:states:us-east-1:123:stateMachine:finetune-pipeline"),
                    ("TopicArn", "arn:aws:sns:us-east-1:123:finetune"),
                    ("BedrockServiceRoleArn", "arn:aws:iam::123:role/finetune-bedrock"),
                ])
            });
        let client = mock_client!(aws_sdk_cloudformation, [&rule]);
        let outputs = run(stack_outputs(&client, "finetune", "us-east-1")).unwrap();
        assert_eq!(outputs.bucket, "finetune-123-us-east-1");
        assert_eq!(outputs.topic_arn.as_deref(), Some("arn:aws:sns:us-east-1:123:finetune"));
        assert_eq!(rule.num_calls(), 1);
    }

    #[test]
    fn a_stack_without_the_outputs_is_named_with_what_it_lacks() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .then_output(|| stack(&[("TopicArn", "arn:aws:sns:us-east-1:123:other")]));
        let client = mock_client!(aws_sdk_cloudformation, [&rule]);
        let error = run(stack_outputs(&client, "other-app", "eu-west-1")).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.message.contains("stack other-app in eu-west-1"), "{}", error.message);
        assert!(error.message.contains("BucketName, StateMachineArn"), "{}", error.message);
    }

    #[test]
    fn a_missing_stack_or_refused_call_is_a_usage_error_naming_stack_and_region() {
        let missing = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder().code("ValidationError").message("Stack with id nope does not exist").build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudformation, [&missing]);
        let error = run(stack_outputs(&client, "nope", "us-west-2")).unwrap_err();
        assert_eq!((error.exit, error.message.as_str()), (Exit::Usage, "there is no stack nope in us-west-2"));

        let denied = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(ErrorMetadata::builder().code("ExpiredToken").message("expired").build())
        });
        let client = mock_client!(aws_sdk_cloudformation, [&denied]);
        let error = run(stack_outputs(&client, "finetune", "us-east-1")).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.message.contains("ExpiredToken") && error.message.contains("us-east-1"), "{}", error.message);
    }

    #[derive(Debug)]
    struct NoCredentials;

    impl ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("profile `ghost` not found")))
        }
    }

    #[test]
    fn no_region_or_no_credentials_name_the_profile_and_exit_2() {
        let no_region = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).build();
        let error = run(check_environment(&no_region, Some("ghost"))).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.message.contains("no AWS region") && error.message.contains("`ghost`"), "{}", error.message);
        assert!(error.hint.as_deref().unwrap_or_default().contains("--region"));

        let no_credentials = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .credentials_provider(SharedCredentialsProvider::new(NoCredentials))
            .build();
        let error = run(check_environment(&no_credentials, Some("ghost"))).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.message.contains("no AWS credentials for profile `ghost` in eu-central-1"), "{}", error.message);
        assert!(error.message.contains("not found"), "{}", error.message);
    }

    #[test]
    fn a_local_target_reads_dir_env_and_says_how_to_start_one() {
        let dir = tempfile::tempdir().unwrap();
        let error =
            run(resolve(&TargetArgs { local: Some(dir.path().to_path_buf()), ..TargetArgs::default() })).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(error.hint.as_deref().unwrap_or_default().contains("finetune local serve"));
        std::fs::write(
            dir.path().join("env"),
            "export AWS_REGION='us-east-1'\nexport AWS_ENDPOINT_URL_SFN='http://127.0.0.1:1'\n\
             export BucketName='b'\nexport StateMachineArn='arn:aws:states:us-east-1:1:stateMachine:m'\n",
        )
        .unwrap();
        let cloud =
            run(resolve(&TargetArgs { local: Some(dir.path().to_path_buf()), ..TargetArgs::default() })).unwrap();
        assert!(cloud.emulated());
        assert_eq!(cloud.execution_arn("r-1"), "arn:aws:states:us-east-1:1:execution:m:r-1");
        let none = run(resolve(&TargetArgs::default())).unwrap_err();
        assert_eq!(none.exit, Exit::Usage);
    }
}
