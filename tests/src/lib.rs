//! Shared test support: the conformance suites (generic over a port, run once per backend)
//! and access to the emulators the test command starts (DynamoDB Local, moto).

pub mod blob_conformance;
pub mod counting_table;
pub mod emulators;
pub mod flaky;
pub mod http_client;
pub mod local_server;
pub mod mailbox;
pub mod model_fake;
pub mod queue_conformance;
pub mod rows_conformance;
pub mod stripe_fake;
pub mod table_conformance;
pub mod template;

/// Polls `check` until it returns true or `within` passes — for eventually consistent reads
/// (DynamoDB GSIs), never for ordering work the test itself controls.
pub async fn eventually<F, Fut>(within: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
