//! AWS adapters of the ports: DynamoDB, SQS, S3 and EventBridge. Clients are built once per
//! cold start from the environment (`AWS_REGION`, credentials, and optionally
//! `AWS_ENDPOINT_URL_<SERVICE>` for DynamoDB Local and moto) and handed to the adapters.

pub mod bus;
pub mod capacity;
pub mod dynamo;
pub mod kms;
pub mod queue;
pub mod s3;

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

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn kms_client(config: &SdkConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(config)
}

pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

pub fn eventbridge_client(config: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(config)
}

/// S3 uses path-style addressing when an endpoint override is set (emulators do not resolve
/// `bucket.127.0.0.1`); virtual-host style against AWS itself.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}
