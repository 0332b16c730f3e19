//! `OutboxMailer`: the local provider — each message becomes an `.eml` file in the data
//! directory, exactly as it would have gone out.

use std::path::PathBuf;

use async_trait::async_trait;
use scaliyo_store::{Credentials, Delivery, MailError, Mailer, OutgoingEmail};

#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(
        &self,
        email: &OutgoingEmail,
        _credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        let bytes = crate::message::to_bytes(email)?;
        let dir = self.dir.clone();
        let file = self.dir.join(format!("{}.eml", email.scaliyo_message_id));
        // One hand-off to the blocking pool for both calls: each `tokio::fs` call is a thread
        // wake-up of its own, a visible cost at thousands of messages a second.
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(&file, bytes)
        })
        .await
        .map_err(|e| MailError::Unavailable(e.to_string()))?
        .map_err(|e| MailError::Unavailable(e.to_string()))?;
        Ok(Delivery {
            provider_message_id: Some(format!("outbox-{}", email.scaliyo_message_id)),
            refreshed: None,
        })
    }
}
