//! The e-mail queue's consumer (`process-scheduled-emails`): a claimed scheduled row to send,
//! or an invitation e-mail to deliver — one queue for the e-mails the system sends later.

use std::sync::Arc;

use crate::invites::{Invitations, InviteError, LetterMessage};
use crate::scheduler::{ScheduleError, Scheduler};

#[derive(Debug, thiserror::Error)]
pub enum EmailQueueError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Invite(#[from] InviteError),
}

#[derive(Clone)]
pub struct EmailQueueConsumer {
    scheduler: Arc<Scheduler>,
    invitations: Arc<Invitations>,
}

impl EmailQueueConsumer {
    pub fn new(scheduler: Arc<Scheduler>, invitations: Arc<Invitations>) -> Self {
        Self {
            scheduler,
            invitations,
        }
    }

    /// Handles one message. `Err` means "try it again later" (the queue redelivers it, and
    /// after too many receives it goes to the dead-letter queue).
    pub async fn process(&self, body: &str) -> Result<(), EmailQueueError> {
        match LetterMessage::parse(body) {
            Some(letter) => {
                self.invitations.deliver(&letter).await?;
            }
            None => {
                let processed = self.scheduler.process(body).await?;
                tracing::debug!(?processed, "scheduled e-mail handled");
            }
        }
        Ok(())
    }
}
