//! Replies (issue 22): inbound mail read from the senders' mailboxes (IMAP, the Gmail API) or
//! posted by the providers' inbound parse (SendGrid, Mailchimp Transactional), matched to the
//! message it answers, recorded once, and acted on — a person's reply stops the lead's
//! sequences and the workflows that exit on `email.replied`, wakes the ones that wait for it,
//! and goes to the owner's webhooks; an out-of-office note is recorded and stops nothing; a
//! bounce is recorded as the provider webhooks record one (event, status, suppression).
//!
//! The rooms: `matching` (which of our messages a message answers), `record` (the reply's
//! record, once, with its counts), `effects` (what a reply stops and tells), `mailboxes`
//! (reply detection turned on per sender, its cursor and lease), `poll` (the tick that reads
//! the mailboxes), `inbound` (the providers' inbound-parse webhooks), `rules` (the
//! workspace's reply rules). See docs/replies.md.

mod effects;
pub mod inbound;
mod mailboxes;
mod matching;
mod poll;
mod record;
mod rules;

pub use inbound::InboundRequest;
pub use mailboxes::{EnableRequest, ImapSettings};
pub use poll::PollReport;
pub use record::Recorded;
pub use rules::ReplyRules;

use std::sync::Arc;

use chrono::Duration;
use scaliyo_store::{Clock, Inboxes, MailError, Sealer};

use crate::access::{Access, AccessError};
use crate::provider_events::{HookError, ProviderHooks};
use crate::scheduler::Scheduling;
use crate::send::{SendError, SenderAccounts};
use crate::webhooks::WebhookEmitter;

#[derive(Debug, Clone)]
pub struct RepliesConfig {
    /// How often a mailbox is read.
    pub poll_every: Duration,
    /// How long a claim of a mailbox holds (a crashed poll's mailbox is read again after it).
    pub lease: Duration,
    /// Mailboxes read at once by one tick.
    pub concurrency: usize,
    /// Mailboxes claimed per tick; the rest wait for the next.
    pub max_per_tick: usize,
}

impl Default for RepliesConfig {
    fn default() -> Self {
        Self {
            poll_every: Duration::minutes(2),
            lease: Duration::minutes(5),
            concurrency: 32,
            max_per_tick: 5_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("no such inbound webhook")]
    UnknownHook,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the mailbox could not be read: {0}")]
    Mailbox(MailError),
    /// This function does not read mailboxes (a wiring error: the route belongs elsewhere).
    #[error("reply detection is not served here")]
    NoMailboxAccess,
}

crate::errors::through_access!(ReplyError);
crate::errors::invalid_constructor!(ReplyError);

impl From<SendError> for ReplyError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Access(access) => ReplyError::Access(access),
            SendError::Invalid { field, reason } => ReplyError::Invalid { field, reason },
            other => ReplyError::Invalid {
                field: "sender_account_id".into(),
                reason: other.to_string(),
            },
        }
    }
}

impl From<HookError> for ReplyError {
    fn from(error: HookError) -> Self {
        match error {
            HookError::Access(access) => ReplyError::Access(access),
            HookError::UnknownHook => ReplyError::UnknownHook,
            HookError::BadSignature | HookError::Stale => ReplyError::BadSignature,
            HookError::Malformed(reason) => ReplyError::Invalid {
                field: "body".into(),
                reason,
            },
        }
    }
}

/// What reading mailboxes needs beyond recording: the senders' logins (sealed) and the
/// inbox adapters. The functions that only record (inbound parse, the data API) go without.
#[derive(Clone)]
pub struct MailboxAccess {
    pub senders: SenderAccounts,
    pub sealer: Arc<dyn Sealer>,
    pub inboxes: Inboxes,
}

#[derive(Clone)]
pub struct Replies {
    access: Arc<Access>,
    clock: Arc<dyn Clock>,
    mailboxes: Option<MailboxAccess>,
    scheduling: Scheduling,
    /// Bounces found in mailboxes are recorded as the provider webhooks record theirs.
    bounces: ProviderHooks,
    webhooks: Option<WebhookEmitter>,
    /// The public base of the inbound webhook URLs (the tracking host).
    base_url: String,
    config: RepliesConfig,
    /// `ReplyPollTicks`, `MailboxesPolled` (outcome), `InboundMessages` (kind).
    metrics: Arc<dyn scaliyo_store::Metrics>,
}

impl Replies {
    pub fn new(
        access: Arc<Access>,
        clock: Arc<dyn Clock>,
        webhooks: Option<WebhookEmitter>,
        base_url: impl Into<String>,
    ) -> Self {
        let scheduling = Scheduling::new(access.clone(), clock.clone());
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let bounces = ProviderHooks::new(access.rows().clone(), clock.clone(), base_url.clone())
            .with_webhooks(webhooks.clone());
        Self {
            access,
            clock,
            mailboxes: None,
            scheduling,
            bounces,
            webhooks,
            base_url,
            config: RepliesConfig::default(),
            metrics: scaliyo_store::no_metrics(),
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads mailboxes too (reply detection on, the poll tick).
    pub fn with_mailboxes(mut self, mailboxes: MailboxAccess) -> Self {
        self.mailboxes = Some(mailboxes);
        self
    }

    pub fn with_config(mut self, config: RepliesConfig) -> Self {
        self.config = config;
        self
    }

    fn mailbox_access(&self) -> Result<&MailboxAccess, ReplyError> {
        self.mailboxes.as_ref().ok_or(ReplyError::NoMailboxAccess)
    }
}
