//! The local cloud's S3 and Lambda endpoints: real wire protocols on loopback, so the same AWS SDK clients
//! a deployed handler uses work unchanged, offline.
//!
//! - [`LocalS3`]: s3s + s3s-fs over a folder (`<root>/<bucket>/<key>`), with AWS-shaped bucket notifications
//!   for dataset uploads under `incoming/` (never under `runs/`).
//! - [`LocalLambda`]: the Lambda Invoke API over any [`Functions`] (for example a [`FunctionRegistry`]).
//! - [`Endpoints`], [`sdk_config`], [`s3_client`]: point the SDK at them with the static test credentials.
//!
//! ```
//! use std::sync::Arc;
//! use local_cloud::{Endpoints, FunctionError, FunctionRegistry, LocalLambda, LocalS3};
//! use serde_json::{Value, json};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let (_, s3) = LocalS3::start(dir.path(), "us-east-1").await?;
//! s3.create_bucket("datasets")?;
//! let mut notifications = s3.subscribe();
//!
//! let functions = FunctionRegistry::new()
//!     .register("echo", |event: Value| async move { Ok(event) })
//!     .register("throttled", |_| async { Err(FunctionError::new("Throttled", "slow down")) });
//! let (_, lambda) = LocalLambda::start(Arc::new(functions), "us-east-1").await?;
//!
//! let mut endpoints = Endpoints::new("us-east-1");
//! endpoints.s3 = Some(s3.url());
//! endpoints.lambda = Some(lambda.url());
//! let client = local_cloud::s3_client(&endpoints).await;
//! client.put_object().bucket("datasets").key("incoming/my data.jsonl").body(b"{}\n".to_vec().into())
//!     .send().await.expect("put");
//!
//! let event = notifications.recv().await.expect("a notification");
//! assert_eq!(event["Records"][0]["s3"]["object"]["key"], json!("incoming/my+data.jsonl"));
//! # Ok(())
//! # }
//! ```

mod endpoints;
mod lambda;
mod s3;
pub mod s3_iam;
mod server;
mod sns;

pub use endpoints::{Endpoints, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, s3_client, sdk_config, test_credentials};
pub use lambda::{ACCOUNT_ID, FunctionError, FunctionRef, FunctionRegistry, Functions, LocalLambda, router};
pub use s3::{LocalS3, NotificationInput, NotificationRule, NotifyingFs, ObjectCreated, notification};
pub use server::ServerHandle;
pub use sns::serve_sns;
