//! Where the emulators are. `scripts/test` starts DynamoDB Local and moto, exports their
//! endpoints and sets `SCALIYO_REQUIRE_EMULATORS=1`, so a missing emulator fails the run
//! instead of skipping; a bare `cargo test` says loudly what it skipped.

use aws_config::{BehaviorVersion, SdkConfig};

pub const DYNAMODB_ENDPOINT: &str = "SCALIYO_TEST_DYNAMODB_ENDPOINT";
pub const MOTO_ENDPOINT: &str = "SCALIYO_TEST_MOTO_ENDPOINT";
pub const REQUIRE: &str = "SCALIYO_REQUIRE_EMULATORS";
/// Set to use real AWS (the ambient credentials and region) instead of an emulator.
pub const USE_REAL_AWS: &str = "SCALIYO_TEST_REAL_AWS";

/// The SDK configuration for the emulator behind `variable`, or `None` (with a loud note)
/// when it is not running and not required.
pub async fn config(variable: &str, what: &str) -> Option<SdkConfig> {
    if std::env::var(USE_REAL_AWS).as_deref() == Ok("1") {
        return Some(aws_config::defaults(BehaviorVersion::latest()).load().await);
    }
    match std::env::var(variable) {
        Ok(endpoint) if !endpoint.is_empty() => Some(scaliyo_aws::emulator_config(&endpoint).await),
        _ => {
            assert!(
                std::env::var(REQUIRE).as_deref() != Ok("1"),
                "{what} is required but {variable} is not set: run the tests through scripts/test"
            );
            eprintln!("SKIPPED: {what} is not running ({variable} unset); scripts/test starts it");
            None
        }
    }
}

pub async fn dynamodb() -> Option<SdkConfig> {
    config(DYNAMODB_ENDPOINT, "DynamoDB Local").await
}

pub async fn moto() -> Option<SdkConfig> {
    config(MOTO_ENDPOINT, "moto server").await
}

/// Dovecot on loopback (`host:port`; any user logs in with [`IMAP_PASSWORD`]), or `None`
/// (with a loud note) when it is not running and not required.
pub const IMAP_ENDPOINT: &str = "SCALIYO_TEST_IMAP_ENDPOINT";
pub const IMAP_PASSWORD: &str = "secret";

pub fn imap() -> Option<(String, u16)> {
    match std::env::var(IMAP_ENDPOINT) {
        Ok(endpoint) if !endpoint.is_empty() => {
            let (host, port) = endpoint.rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        }
        _ => {
            assert!(
                std::env::var(REQUIRE).as_deref() != Ok("1"),
                "Dovecot is required but {IMAP_ENDPOINT} is not set: run the tests through scripts/test"
            );
            eprintln!(
                "SKIPPED: Dovecot is not running ({IMAP_ENDPOINT} unset); scripts/test starts it"
            );
            None
        }
    }
}

/// The directory of Dovecot's Maildirs (`<dir>/<user>/`), when scripts/test started it.
pub fn imap_maildir() -> Option<std::path::PathBuf> {
    std::env::var("SCALIYO_TEST_IMAP_MAILDIR")
        .ok()
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
}

/// A name no earlier run has used (emulators keep state and dedup windows).
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// An S3 client for the emulator: path-style addressing, as the adapter uses with endpoints.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// A fresh table on DynamoDB Local (the layout's keys and indexes): its adapter.
pub async fn new_table(config: &SdkConfig, prefix: &str) -> scaliyo_aws::DynamoTable {
    let client = scaliyo_aws::dynamodb_client(config);
    let name = unique_name(prefix);
    scaliyo_aws::create_table(&client, &name)
        .await
        .expect("a table on DynamoDB Local");
    scaliyo_aws::DynamoTable::new(client, name)
}

/// A fresh SQS queue on moto: its URL.
pub async fn new_queue(config: &SdkConfig, prefix: &str) -> String {
    scaliyo_aws::sqs_client(config)
        .create_queue()
        .queue_name(unique_name(prefix))
        .send()
        .await
        .expect("a queue on moto")
        .queue_url()
        .unwrap_or_default()
        .to_owned()
}

/// A signed-up user (a profile row) on `access`: the actor acting for them.
pub async fn new_user(access: &scaliyo_app::access::Access) -> scaliyo_app::access::Actor {
    new_user_with_id(access, scaliyo_domain::ids::OwnerId::new_random()).await
}

/// The same, for a given user id.
pub async fn new_user_with_id(
    access: &scaliyo_app::access::Access,
    owner: scaliyo_domain::ids::OwnerId,
) -> scaliyo_app::access::Actor {
    let actor = scaliyo_app::access::Actor::acting_for(owner);
    let mut profile = serde_json::Map::new();
    profile.insert("id".into(), serde_json::json!(owner));
    profile.insert(
        "email".into(),
        serde_json::json!(format!("{owner}@example.com")),
    );
    access
        .create(&actor, "profiles", profile)
        .await
        .expect("a profile");
    actor
}
