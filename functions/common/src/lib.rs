//! What every pipeline Lambda shares: the mapping from Rust errors to the error names the state
//! machine's Retry and Catch match, the mapping from AWS SDK errors to those names (and whether one
//! says a name is taken), the SDK configuration (timeouts, local endpoints), the clock port, and the
//! environment reader with the deployment defaults read through it.
//!
//! # Environment
//!
//! Every function reads its settings through an [`Env`] in one `Deps::from_env` (in its own crate), which
//! its Lambda `main` calls with the process environment and the local cloud calls with the variables
//! template.yaml gives that function. A variable that is absent, empty or only whitespace is unset
//! ([`set_value`]); set values are trimmed.
//!
//! Deployment defaults ([`defaults_from`], read by validate-split); every variable is optional, and a
//! sidecar or an execution input overrides them:
//!
//! | variable | field of `PipelineConfig` | form |
//! |---|---|---|
//! | `BASE_MODEL` | `base_model` | model id, e.g. `amazon.nova-micro-v1:0:128k` |
//! | `CUSTOMIZATION_TYPE` | `customization_type` | `FINE_TUNING`, `fine-tuning`, ... |
//! | `ROLE_ARN` | `role_arn` | the Bedrock service role |
//! | `DEPLOYMENT_MODE` | `deployment` | `none`, `on-demand`, `provisioned` |
//! | `VALIDATION_RATIO` | `validation_ratio` | number in `[0, 1)` |
//! | `SPLIT_SEED` | `seed` | integer |
//! | `MODEL_UNITS` | `model_units` | integer |
//! | `COMMITMENT` | `commitment` | `OneMonth` or `SixMonths` |
//! | `HYPERPARAMETERS` | `hyperparameters` | JSON object of strings, e.g. `{"epochCount":"2"}` |
//! | `EVALUATION` | `evaluation` | JSON object (fields of `EvaluationConfig`, merged) |
//! | `KMS_KEY_ID` | `kms_key_id` | key ARN, id or alias |
//! | `VPC_SUBNET_IDS`, `VPC_SECURITY_GROUP_IDS` | `vpc` | comma-separated; both or neither |
//! | `INVOCATION_LOGS_BUCKET`, `INVOCATION_LOGS_PREFIX` | `invocation_logs_s3_uri` | `s3://<bucket>/<prefix>`; a prefix needs a bucket; unset: no run may read invocation logs |
//! | `RUN_TAGS` | `tags` | JSON object of strings |
//!
//! The operator's caps ([`caps_from`], read by validate-split; see `shared::pipeline::Caps` and the
//! template parameter named beside each): `ALLOWED_BASE_MODELS` (comma-separated; default the
//! `BASE_MODEL`), `ALLOWED_DEPLOYMENT_MODES` (comma-separated; default `none,on-demand`),
//! `COMMITMENT_ALLOWED` (default false), `MAX_MODEL_UNITS` (1), `MAX_TRAINING_COST_USD` (50),
//! `MIN_IMPROVEMENT_FLOOR` (0), `KEEP_ON_GATE_FAILURE_ALLOWED` (false), `MAX_EVALUATION_SAMPLES` (200),
//! `RESOURCE_TTL_HOURS` (0: no limit), `UNPRICED_MODELS_ALLOWED` (false). Unlike the defaults above, no sidecar or input can change them.
//!
//! SDK behaviour ([`load_sdk_config`], [`s3_client`]):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SDK_OPERATION_TIMEOUT_SECONDS` | a whole SDK call, retries included | 45 |
//! | `SDK_ATTEMPT_TIMEOUT_SECONDS` | one attempt of an SDK call | 15 |
//! | `FINETUNE_S3_PATH_STYLE` | `true`, `1` or `yes`: path-style S3 addressing; anything else: off | on when an endpoint override is set |
//! | `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>` | endpoint overrides (read by aws-config) | |

mod caps;
mod clock;
mod env;
mod error;
mod sdk;

pub use aws_config::SdkConfig;
pub use caps::caps_from;
pub use clock::{Clock, FixedClock, SystemClock, elapsed_seconds, format_rfc3339, parse_rfc3339};
pub use env::{Env, defaults_from, set_value};
pub use error::{
    HttpStatus, LambdaError, MAX_ERROR_MESSAGE_CHARS, SdkResultExt, bounded_message, is_name_taken, sdk_error,
};
pub use sdk::{load_sdk_config, s3_client, s3_path_style};
