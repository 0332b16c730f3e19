//! Why a queue's consumer gave up on a message. SQS keeps no reason with a message it moves
//! to a dead-letter queue (only the message, its id and its receive count), and the reason in
//! the consumer's log is hard to find a week later; so every failed record leaves a small note
//! keyed by its message id (which the move to the dead-letter queue keeps), and
//! `scaliyo-ops dlq list` prints each dead letter with its note. A note lives as long as a
//! dead letter (14 days); each failure overwrites the last, counting the failures.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use scaliyo_store::table::{MAX_BATCH_GET, TTL};
use scaliyo_store::{Clock, FailureLog, Item, Key, StoreError, Table, Update, Value};

/// The dead-letter queues keep messages 14 days.
const KEPT: Duration = Duration::days(14);
/// A note's reason is the error's text, cut to this many characters.
const REASON_CHARS: usize = 1_000;

fn key(message_id: &str) -> Key {
    Key::new(format!("ops#failure#{message_id}"), "note")
}

/// One message's last failure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailureNote {
    /// The function that failed it.
    pub function: String,
    pub reason: String,
    /// How many times a consumer noted a failure of this message.
    pub failures: i64,
    /// RFC 3339, UTC.
    pub last_failed_at: String,
}

/// The notes, as items of the table (both backends).
#[derive(Clone)]
pub struct FailureNotes {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    /// The consumer writing the notes (`AWS_LAMBDA_FUNCTION_NAME` in Lambda).
    function: String,
}

impl FailureNotes {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, function: impl Into<String>) -> Self {
        Self {
            table,
            clock,
            function: function.into(),
        }
    }

    /// The notes of `message_ids`, in their order (`None` where no consumer noted one).
    pub async fn read(&self, message_ids: &[&str]) -> Result<Vec<Option<FailureNote>>, StoreError> {
        let keys: Vec<Key> = message_ids.iter().map(|id| key(id)).collect();
        let mut notes = Vec::with_capacity(keys.len());
        let now = self.clock.now().timestamp();
        for chunk in keys.chunks(MAX_BATCH_GET) {
            for item in self.table.batch_get(chunk).await? {
                notes.push(item.filter(|i| !i.is_expired(now)).map(|i| note_of(&i)));
            }
        }
        Ok(notes)
    }
}

#[async_trait]
impl FailureLog for FailureNotes {
    /// One UpdateItem, on the failure path only. A note that cannot be written is logged and
    /// dropped — it must never turn a retry into a loss.
    async fn note(&self, message_id: &str, reason: &str) {
        if message_id.is_empty() {
            return;
        }
        let now = self.clock.now();
        let reason: String = reason.chars().take(REASON_CHARS).collect();
        let update = Update::new()
            .set("function", Value::from(self.function.as_str()))
            .set("reason", Value::from(reason.as_str()))
            .set("last_failed_at", Value::from(now.to_rfc3339()))
            .set(TTL, Value::from((now + KEPT).timestamp()))
            .add("failures", 1i64);
        if let Err(error) = self.table.update(&key(message_id), update, None).await {
            tracing::warn!(message_id, %error, "the failure note was not written");
        }
    }
}

fn note_of(item: &Item) -> FailureNote {
    FailureNote {
        function: item.str("function").unwrap_or_default().to_owned(),
        reason: item.str("reason").unwrap_or_default().to_owned(),
        failures: item.i64("failures").unwrap_or_default(),
        last_failed_at: item.str("last_failed_at").unwrap_or_default().to_owned(),
    }
}
