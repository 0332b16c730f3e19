//! Operator work on the queues (`scaliyo-ops`, docs/operations.md): look at the messages of
//! a dead-letter queue with the reason their consumer gave up on them, move them back to their
//! source queue once the cause is fixed, and set a stopped import going again from its
//! checkpoint. Written against the ports, so it runs the same on AWS and on the local parts.

mod imports;
mod notes;

pub use imports::{ImportResume, ResumeError, resume_import, s3_notification};
pub use notes::{FailureNote, FailureNotes};

use std::time::Duration;

use scaliyo_store::{OutgoingMessage, Queue, QueueError};

/// One dead letter as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    /// How often it was delivered (in the dead-letter queue: once it moved, at least 1).
    pub receive_count: u32,
    pub body: String,
    /// Why its consumer failed it the last time, when the consumer noted it
    /// ([`FailureNotes`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureNote>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Redriven {
    /// Sent to the source queue and removed from the dead-letter queue.
    pub moved: usize,
}

/// Up to `max` messages of a queue, left in it: each is received (hidden while the listing
/// pages on), then released (visible again at once). Its receive count goes up by one.
pub async fn peek(queue: &dyn Queue, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
    let mut letters = Vec::new();
    let mut receipts = Vec::new();
    while letters.len() < max {
        let batch = queue
            .receive(
                (max - letters.len()).min(10),
                Duration::from_secs(60),
                Duration::from_millis(200),
            )
            .await?;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            receipts.push(message.receipt);
            letters.push(DeadLetter {
                message_id: message.message_id,
                receive_count: message.receive_count,
                body: message.body,
                failure: None,
            });
        }
    }
    for receipt in receipts {
        queue.release(&receipt).await?;
    }
    Ok(letters)
}

/// [`peek`], each letter with the reason its consumer noted (one batched read of the notes).
pub async fn peek_with_reasons(
    queue: &dyn Queue,
    notes: &FailureNotes,
    max: usize,
) -> Result<Vec<DeadLetter>, OpsError> {
    let mut letters = peek(queue, max).await?;
    let ids: Vec<&str> = letters.iter().map(|l| l.message_id.as_str()).collect();
    let found = notes.read(&ids).await?;
    for (letter, note) in letters.iter_mut().zip(found) {
        letter.failure = note;
    }
    Ok(letters)
}

/// What an operator command can fail on.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("the queue: {0}")]
    Queue(#[from] QueueError),
    #[error("the table: {0}")]
    Store(#[from] scaliyo_store::StoreError),
}

/// Moves up to `max` messages from `from` to `to`: each is sent first, then deleted, so a
/// failure in between leaves a duplicate (the consumers are idempotent), never a loss.
pub async fn redrive(from: &dyn Queue, to: &dyn Queue, max: usize) -> Result<Redriven, QueueError> {
    let mut report = Redriven::default();
    while report.moved < max {
        let room = (max - report.moved).min(10);
        // Hidden long enough for the send and the delete; back in the queue if this stops.
        let batch = from
            .receive(room, Duration::from_secs(60), Duration::from_millis(200))
            .await?;
        if batch.is_empty() {
            break;
        }
        let outgoing = batch
            .iter()
            .map(|message| OutgoingMessage::new(message.body.clone()))
            .collect();
        to.send_batch(outgoing).await?;
        for message in &batch {
            from.delete(&message.receipt).await?;
        }
        report.moved += batch.len();
    }
    Ok(report)
}
