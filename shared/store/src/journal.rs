//! The journal port: durable, ordered appends that something applies later. The tracking
//! endpoints write each hit here before they answer; a worker (the embedded journal's applier
//! locally, an SQS-triggered Lambda in AWS) classifies and stores them in batches.

use std::sync::Arc;

use async_trait::async_trait;

use crate::queue::{OutgoingMessage, Queue};

#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    #[error("journal record refused: {0}")]
    Invalid(String),
    #[error("journal unavailable: {0}")]
    Unavailable(String),
    /// More is waiting to be applied than the journal may hold: the caller stores the record
    /// another way (the tracking endpoints apply the hit at once, which slows a flood to
    /// the apply rate instead of filling the disk).
    #[error("journal full: {0}")]
    Full(String),
}

#[async_trait]
pub trait Journal: Send + Sync {
    /// Returns once `record` is durable: on disk (fsync'd) or acknowledged by the queue.
    /// An error means it is not (the caller may tell its client to try again).
    async fn append(&self, record: String) -> Result<(), JournalError>;
}

/// A journal that is a queue: one `SendMessage` per record (the AWS path — SQS stores the
/// record on several hosts before it answers, and its consumer applies the batch).
pub struct QueueJournal(Arc<dyn Queue>);

impl QueueJournal {
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self(queue)
    }
}

#[async_trait]
impl Journal for QueueJournal {
    async fn append(&self, record: String) -> Result<(), JournalError> {
        self.0
            .send_batch(vec![OutgoingMessage::new(record)])
            .await
            .map_err(|e| JournalError::Unavailable(e.to_string()))
    }
}
