//! The inbox port: new messages in a sender's mailbox since a cursor, read-only. IMAP (by
//! UID, with UIDVALIDITY) and the Gmail API (by history id) are its adapters.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mail::{Credentials, MailError};

/// Where the last poll of a mailbox stopped. Opaque to everyone but the adapter that wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxCursor {
    /// IMAP: the mailbox's UIDVALIDITY when `next_uid` was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid_validity: Option<u32>,
    /// IMAP: the first UID not yet read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uid: Option<u32>,
    /// Gmail: the history id read up to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
    /// When the mailbox was last read (a resync starts from the day before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polled_at: Option<DateTime<Utc>>,
}

/// One new message as the source gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchedMessage {
    /// Its header section followed by (a prefix of) its body.
    Raw(Vec<u8>),
    /// Its headers and a text snippet (Gmail's metadata format).
    Headers {
        headers: Vec<(String, String)>,
        snippet: String,
    },
}

/// What a poll found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub messages: Vec<FetchedMessage>,
    pub cursor: MailboxCursor,
    /// A new OAuth access token obtained on the way (to store, sealed).
    pub refreshed: Option<(String, DateTime<Utc>)>,
    /// More messages wait beyond this poll's bound: poll again soon.
    pub more: bool,
}

#[async_trait]
pub trait Inbox: Send + Sync {
    /// The messages that arrived since `cursor` (the first poll of a mailbox only sets the
    /// cursor: mail from before reply detection was turned on is not read).
    async fn poll(
        &self,
        credentials: &Credentials,
        cursor: &MailboxCursor,
        now: DateTime<Utc>,
    ) -> Result<Fetched, MailError>;
}

/// The inboxes by provider of the sender account.
#[derive(Clone)]
pub struct Inboxes {
    /// `smtp` accounts, read over IMAP.
    pub imap: Arc<dyn Inbox>,
    pub gmail: Arc<dyn Inbox>,
}

impl Inboxes {
    pub fn for_provider(&self, provider: &str) -> Option<&Arc<dyn Inbox>> {
        match provider {
            "smtp" => Some(&self.imap),
            "gmail" => Some(&self.gmail),
            _ => None,
        }
    }
}
