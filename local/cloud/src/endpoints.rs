//! Pointing the real AWS SDK at the local cloud: one `SdkConfig` from which every service client finds its
//! own local endpoint, as a deployed handler's clients find the real ones.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The key pair the local S3 accepts (and that [`sdk_config`] hands every client). Not a secret.
pub const TEST_ACCESS_KEY_ID: &str = "AKIALOCALCLOUDTEST";
pub const TEST_SECRET_ACCESS_KEY: &str = "localcloud/test/secret/key/not/a/secret";

/// Base URLs (`http://127.0.0.1:<port>`) of the local services; `None` leaves that service at AWS's
/// default endpoint resolution (which, offline, fails).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub region: String,
    pub s3: Option<String>,
    pub lambda: Option<String>,
    pub sfn: Option<String>,
    pub bedrock: Option<String>,
    pub bedrock_runtime: Option<String>,
    pub sns: Option<String>,
}

impl Endpoints {
    pub fn new(region: impl Into<String>) -> Endpoints {
        Endpoints {
            region: region.into(),
            s3: None,
            lambda: None,
            sfn: None,
            bedrock: None,
            bedrock_runtime: None,
            sns: None,
        }
    }

    /// The endpoint for an SDK service id (the id each client's config asks for: "S3", "Lambda", "SFN",
    /// "Bedrock", "Bedrock Runtime", "SNS").
    pub fn url_for(&self, service_id: &str) -> Option<&str> {
        let url = match service_id {
            "S3" => &self.s3,
            "Lambda" => &self.lambda,
            "SFN" => &self.sfn,
            "Bedrock" => &self.bedrock,
            "Bedrock Runtime" => &self.bedrock_runtime,
            "SNS" => &self.sns,
            _ => &None,
        };
        url.as_deref()
    }

    /// The environment a separate process (a handler binary, aws-local-stepfunctions, the aws CLI) needs to
    /// reach the same endpoints: `AWS_ENDPOINT_URL_<SERVICE>`, region and the test credentials.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("AWS_REGION".to_string(), self.region.clone()),
            ("AWS_DEFAULT_REGION".to_string(), self.region.clone()),
            ("AWS_ACCESS_KEY_ID".to_string(), TEST_ACCESS_KEY_ID.to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), TEST_SECRET_ACCESS_KEY.to_string()),
        ];
        let services = [
            ("S3", &self.s3),
            ("LAMBDA", &self.lambda),
            ("SFN", &self.sfn),
            ("BEDROCK", &self.bedrock),
            ("BEDROCK_RUNTIME", &self.bedrock_runtime),
            ("SNS", &self.sns),
        ];
        for (service, url) in services {
            if let Some(url) = url {
                vars.push((format!("AWS_ENDPOINT_URL_{service}"), url.clone()));
            }
        }
        vars
    }
}

/// Answers each client's "endpoint_url for my service?" from [`Endpoints`]; replaces aws-config's
/// environment and profile lookup, so a developer's `AWS_ENDPOINT_URL_*` cannot send local traffic to AWS.
#[derive(Debug)]
struct LocalServiceConfig(Endpoints);

impl LoadServiceConfig for LocalServiceConfig {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        match key.env() {
            "AWS_ENDPOINT_URL" => self.0.url_for(key.service_id()).map(str::to_string),
            _ => None,
        }
    }
}

/// The static test credentials as a provider.
pub fn test_credentials() -> Credentials {
    Credentials::new(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, None, None, "local-cloud")
}

/// An `SdkConfig` for the local cloud: fixed region, test credentials, and per-service endpoints, so
/// `aws_sdk_xxx::Client::new(&config)` reaches the local service without per-client setup.
pub async fn sdk_config(endpoints: &Endpoints) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(endpoints.region.clone()))
        .credentials_provider(test_credentials())
        .load()
        .await
        .into_builder()
        .service_config(LocalServiceConfig(endpoints.clone()))
        .build()
}

/// An S3 client for the local S3, path-style (bucket in the path: `127.0.0.1` has no bucket subdomains).
pub async fn s3_client(endpoints: &Endpoints) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&sdk_config(endpoints).await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(config)
}
