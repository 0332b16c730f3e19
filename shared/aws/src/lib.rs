//! AWS adapters of the ports: DynamoDB, SQS, S3 and EventBridge. Clients are built once per
//! cold start from the environment (`AWS_REGION`, credentials, and optionally
//! `AWS_ENDPOINT_URL_<SERVICE>` for DynamoDB Local and moto) and handed to the adapters.

pub mod bus;
pub mod capacity;
pub mod dynamo;
pub mod kms;
pub mod queue;
pub mod s3;
pub mod xray;

pub use bus::EventBridgeBus;
pub use capacity::{CapacityMeter, Consumed};
pub use dynamo::{DynamoTable, create_table};
pub use kms::KmsSealer;
pub use queue::SqsQueue;
pub use s3::S3Blobs;

pub use aws_config::SdkConfig;
use aws_config::{BehaviorVersion, Region};

/// Loads region, credentials and endpoint overrides from the environment, the standard way.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A configuration for an emulator at `endpoint` (DynamoDB Local, moto): a fixed region and
/// dummy credentials, which emulators require but do not check.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The SQS queue whose URL is in `variable`, when it is set (optional features: the tracking
/// spool, outgoing webhooks).
pub fn queue_from_env(
    variable: &str,
    config: &SdkConfig,
) -> Option<std::sync::Arc<dyn scaliyo_store::Queue>> {
    let url = std::env::var(variable).ok().filter(|u| !u.is_empty())?;
    Some(std::sync::Arc::new(SqsQueue::new(sqs_client(config), url)))
}

/// The subsegment interceptor every client gets when an X-Ray daemon is configured (in Lambda
/// with active tracing); built once per process.
fn subsegments() -> Option<xray::SdkSubsegments> {
    static SUBSEGMENTS: std::sync::OnceLock<Option<xray::SdkSubsegments>> =
        std::sync::OnceLock::new();
    SUBSEGMENTS
        .get_or_init(|| match xray::Daemon::from_env()? {
            Ok(daemon) => Some(xray::SdkSubsegments::new(std::sync::Arc::new(daemon))),
            Err(error) => {
                tracing::warn!(%error, "SDK calls are not traced");
                None
            }
        })
        .clone()
}

/// A service's client from the shared configuration, with the subsegment interceptor when
/// there is one (each service has its own builder type, hence a macro).
macro_rules! traced_client {
    ($service:ident, $config:expr) => {{
        let mut builder = $service::config::Builder::from($config);
        if let Some(interceptor) = subsegments() {
            builder = builder.interceptor(interceptor);
        }
        builder
    }};
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(traced_client!(aws_sdk_dynamodb, config).build())
}

pub fn kms_client(config: &SdkConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::from_conf(traced_client!(aws_sdk_kms, config).build())
}

pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(traced_client!(aws_sdk_sqs, config).build())
}

pub fn eventbridge_client(config: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(traced_client!(aws_sdk_eventbridge, config).build())
}

/// S3 uses path-style addressing when an endpoint override is set (emulators do not resolve
/// `bucket.127.0.0.1`); virtual-host style against AWS itself.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3_config = traced_client!(aws_sdk_s3, config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}
