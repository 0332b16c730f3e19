//! `LocalQueue`: the queue port in process, with SQS's semantics — visibility timeouts,
//! delays, receive counts and redrive to a dead-letter queue after N receives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use scaliyo_store::queue::{MAX_BATCH, check_messages};
use scaliyo_store::{OutgoingMessage, Queue, QueueError, ReceivedMessage};
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

#[derive(Debug)]
struct Stored {
    id: String,
    body: String,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    messages: VecDeque<Stored>,
}

/// Where messages go after too many receives.
#[derive(Clone)]
pub struct Redrive {
    pub max_receives: u32,
    pub dead_letters: Arc<LocalQueue>,
}

pub struct LocalQueue {
    name: String,
    state: Mutex<State>,
    arrived: Notify,
    redrive: Option<Redrive>,
}

impl LocalQueue {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
            redrive: None,
        }
    }

    pub fn with_redrive(name: impl Into<String>, redrive: Redrive) -> Self {
        Self {
            redrive: Some(redrive),
            ..Self::new(name)
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages held (visible or not), for tests and the local status page.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Enqueues one message synchronously (for hooks that cannot await).
    pub fn push(&self, body: String, delay: Duration) {
        self.lock().messages.push_back(Stored {
            id: Uuid::new_v4().to_string(),
            body,
            visible_at: Instant::now() + delay,
            receive_count: 0,
            receipt: None,
        });
        self.arrived.notify_waiters();
    }

    /// Takes visible messages, moving over-received ones to the dead-letter queue.
    fn take_visible(&self, max: usize, visibility: Duration) -> Vec<ReceivedMessage> {
        let now = Instant::now();
        let mut dead = Vec::new();
        let mut received = Vec::new();
        {
            let mut state = self.lock();
            let mut i = 0;
            while i < state.messages.len() && received.len() < max {
                if state.messages[i].visible_at > now {
                    i += 1;
                    continue;
                }
                if let Some(redrive) = &self.redrive
                    && state.messages[i].receive_count >= redrive.max_receives
                {
                    if let Some(message) = state.messages.remove(i) {
                        dead.push(message.body);
                    }
                    continue;
                }
                let message = &mut state.messages[i];
                message.receive_count += 1;
                message.visible_at = now + visibility;
                let receipt = Uuid::new_v4().to_string();
                message.receipt = Some(receipt.clone());
                received.push(ReceivedMessage {
                    message_id: message.id.clone(),
                    body: message.body.clone(),
                    receipt,
                    receive_count: message.receive_count,
                });
                i += 1;
            }
        }
        if let Some(redrive) = &self.redrive {
            for body in dead {
                tracing::warn!(queue = %self.name, "message moved to the dead-letter queue");
                redrive.dead_letters.push(body, Duration::ZERO);
            }
        }
        received
    }
}

#[async_trait]
impl Queue for LocalQueue {
    async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        check_messages(&messages)?;
        for message in messages {
            self.push(message.body, message.delay);
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 || max > MAX_BATCH {
            return Err(QueueError::Invalid(format!(
                "receive between 1 and {MAX_BATCH} messages"
            )));
        }
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            let received = self.take_visible(max, visibility);
            if !received.is_empty() || Instant::now() >= deadline {
                return Ok(received);
            }
            // Wake on a new message, or poll again soon for delayed/invisible ones to surface.
            let poll = Duration::from_millis(50).min(deadline - Instant::now());
            let _ = tokio::time::timeout(poll, notified).await;
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let mut state = self.lock();
        match state
            .messages
            .iter()
            .position(|m| m.receipt.as_deref() == Some(receipt))
        {
            Some(i) => {
                state.messages.remove(i);
                Ok(())
            }
            None => Err(QueueError::Invalid(
                "receipt handle is not valid (already deleted or re-received)".into(),
            )),
        }
    }

    async fn release(&self, receipt: &str) -> Result<(), QueueError> {
        let mut state = self.lock();
        match state
            .messages
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(receipt))
        {
            Some(message) => {
                message.visible_at = Instant::now();
                message.receipt = None;
                Ok(())
            }
            None => Err(QueueError::Invalid(
                "receipt handle is not valid (already deleted or re-received)".into(),
            )),
        }
    }
}
