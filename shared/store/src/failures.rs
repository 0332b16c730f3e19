//! Port: where a queue consumer notes why it failed a message, so that the reason is found
//! beside the message once it lands in a dead-letter queue (`scaliyo-ops dlq list`).

use async_trait::async_trait;

#[async_trait]
pub trait FailureLog: Send + Sync {
    /// Notes that the message `message_id` failed for `reason`. Never fails the caller: a note
    /// that cannot be written is logged and dropped.
    async fn note(&self, message_id: &str, reason: &str);
}

/// Notes nothing (tests of a consumer's own behaviour, local runs).
pub struct NoFailureLog;

#[async_trait]
impl FailureLog for NoFailureLog {
    async fn note(&self, _message_id: &str, _reason: &str) {}
}
