//! The queue port: at-least-once delivery with visibility timeouts and a dead-letter queue.

use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// Delivery is held back this long (SQS allows up to 15 minutes).
    pub delay: Duration,
}

impl OutgoingMessage {
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub body: String,
    /// Opaque handle for `delete`; valid for this receive only.
    pub receipt: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue not found: {0}")]
    NotFound(String),
    #[error("invalid queue request: {0}")]
    Invalid(String),
    #[error("queue throttled the request")]
    Throttled,
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// Limits shared by every backend, so the embedded queue refuses what SQS would refuse.
pub const MAX_BATCH: usize = 10;
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends any number of messages (chunked by 10 as SQS requires).
    async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError>;

    /// Receives up to `max` (1..=10) messages, hiding them for `visibility`; waits up to `wait`
    /// for at least one.
    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Acknowledges a message so it is never delivered again.
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;

    /// Makes a received message visible again now (its visibility timeout set to zero).
    async fn release(&self, receipt: &str) -> Result<(), QueueError>;
}

/// Validates a batch against the limits SQS enforces, before any backend-specific work.
pub fn check_messages(messages: &[OutgoingMessage]) -> Result<(), QueueError> {
    for message in messages {
        if message.delay > MAX_DELAY {
            return Err(QueueError::Invalid(format!(
                "delay {}s exceeds the 900s maximum",
                message.delay.as_secs()
            )));
        }
        if message.body.len() > MAX_BODY_BYTES {
            return Err(QueueError::Invalid(format!(
                "message body of {} bytes exceeds 256 KiB",
                message.body.len()
            )));
        }
        if message.body.is_empty() {
            return Err(QueueError::Invalid("message body is empty".into()));
        }
    }
    Ok(())
}
