//! `send_email`: one e-mail to one lead, as the outreach tools people pay for do it — pick a
//! sender, refuse suppressed recipients, render, reserve every cap in one transaction, track,
//! send through the sender's provider, record, and give the reservation back on failure.
//! The scheduler (issue 7) sends through this same pipeline.
//!
//! The rooms: `pipeline` (send, send_prepared, the stages in order), `idempotency`
//! (Idempotency-Key markers), `quota` (choosing a sender and reserving every cap),
//! `delivery` (tracking and the provider call), `record` (the message row, audit, analytics),
//! `senders` (connecting senders, opening and refreshing their credentials), `merge` (merge
//! values of a lead).

mod delivery;
mod edge_function;
mod idempotency;
mod instrument;
mod mailchimp_marketing;
mod merge;
mod notice;
mod pipeline;
mod quota;
mod record;
mod senders;

pub use edge_function::EdgeSendRequest;
pub use idempotency::IdempotencyKey;
pub use mailchimp_marketing::{MARKETING_ONLY, MarketingConnect};
pub use merge::merge_values;
pub use notice::Notice;
pub use quota::Reservation;
pub use senders::{ConnectRequest, GmailMailbox, OAuthTokens, SmtpSettings};

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::email::{self, MergeValues, RenderError};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_domain::signed_link::LinkKey;
use scaliyo_domain::status::{MessageStatus, SenderStatus};
use scaliyo_store::{
    Clock, CmpOp, Condition, Credentials, Item, Key, MailError, OutgoingEmail, Sealer,
    SmtpSecurity, StoreError, Update, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, timestamp_text};
use crate::usage::{day_key, month_key};
use crate::webhooks::WebhookEmitter;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub lead_id: String,
    /// One of the lead's addresses (`primary_email`, `email`, `emails`); absent: the first.
    #[serde(default)]
    pub to_email: Option<String>,
    pub sender_account_id: Option<String>,
    pub template_id: Option<String>,
    pub subject: Option<String>,
    pub html_body: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub track_opens: bool,
    #[serde(default = "yes")]
    pub track_clicks: bool,
    /// Adds a hidden link no reader sees: anything that follows it is a machine (scanners
    /// follow every link). Needs `track_clicks`.
    #[serde(default)]
    pub honeypot_link: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SendOutcome {
    pub message_id: String,
    pub status: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub sender_account_id: String,
    pub to_email: String,
    pub tracked_links: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the recipient unsubscribed, bounced or reported spam")]
    Suppressed,
    #[error("the {limit} limit is reached")]
    QuotaExceeded { limit: &'static str },
    #[error("no sender account can send: {0}")]
    NoSender(String),
    #[error("a send with this Idempotency-Key is still in progress")]
    InProgress,
    #[error("the provider did not accept the message: {error}")]
    Provider {
        error: MailError,
        message_id: String,
    },
    /// A bug was hit while sending (a panic, caught): nothing was sent, what was reserved was
    /// given back, the idempotency marker settled. Retrying the same message would hit it again.
    #[error("an internal error stopped this send; nothing was sent")]
    Crashed,
}

crate::errors::through_access!(SendError);
crate::errors::invalid_constructor!(SendError);

/// Runs one stage of a send, turning a panic into [`SendError::Crashed`] so that what the
/// stage's caller reserved or claimed is released rather than left behind.
async fn guarded<T>(
    stage: &'static str,
    work: impl std::future::Future<Output = Result<T, SendError>>,
) -> Result<T, SendError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(stage, "a send stage panicked; nothing was sent");
            Err(SendError::Crashed)
        }
    }
}

pub use scaliyo_store::mail::Mailers;
pub use senders::SenderAccounts;

#[derive(Clone)]
pub struct SendConfig {
    /// Base of the tracking URLs: `<base>/t/o/<token>.gif`, `<base>/t/c/<token>`, `<base>/u/<token>`.
    pub tracking_base_url: String,
    /// Signs tracked links with their destination (`LINK_SIGNING_KEY`): the redirect then
    /// answers without reading the token. None: bare tokens.
    pub link_key: Option<LinkKey>,
}

impl SendConfig {
    /// Tracking through `tracking_base_url`, links unsigned.
    pub fn new(tracking_base_url: impl Into<String>) -> Self {
        Self {
            tracking_base_url: tracking_base_url.into(),
            link_key: None,
        }
    }

    pub fn with_link_key(mut self, link_key: Option<LinkKey>) -> Self {
        self.link_key = link_key;
        self
    }
}

#[derive(Clone)]
pub struct SendPipeline {
    access: Arc<Access>,
    senders: SenderAccounts,
    mailers: Mailers,
    clock: Arc<dyn Clock>,
    config: SendConfig,
    webhooks: Option<WebhookEmitter>,
    /// `EmailsSent`, `EmailsFailed`, `EmailsRefused` (docs/operations.md).
    metrics: Arc<dyn scaliyo_store::Metrics>,
    /// The deployment's own sender, for notices of a workspace without one (invitations).
    system_sender: Option<SystemSender>,
}

/// The deployment's own mailbox (`SYSTEM_MAIL_FROM` with an SMTP or SendGrid account; locally
/// the outbox): notices go through it when the workspace has no connected sender.
#[derive(Clone)]
pub struct SystemSender {
    pub mailer: Arc<dyn scaliyo_store::Mailer>,
    pub credentials: scaliyo_store::Credentials,
    pub from_email: String,
    pub from_name: String,
}

/// Suppression entries live beside the workspace's rows: one item per address.
pub fn suppression_key(owner: OwnerId, email: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("suppress#{}", email.trim().to_lowercase()),
    )
}

/// The message id of a keyed send: derived from the key, so whoever holds the key (a retry,
/// a workflow waiting on the message) knows it without a lookup.
pub fn keyed_message_id(owner: OwnerId, idempotency: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:send:{owner}:{idempotency}").as_bytes(),
    )
    .to_string()
}

/// Tracking tokens resolve without an owner: one item per token.
pub fn token_key(token: &str) -> Key {
    Key::new(format!("TRK#{token}"), "TRK")
}

pub(crate) fn new_token() -> String {
    crate::tokens::random_url_token::<16>()
}

/// An e-mail rendered ahead of time (a scheduled row): sent as it is, merge tags already
/// replaced; links are still tracked and the unsubscribe footer added at send time.
#[derive(Debug, Clone)]
pub struct PreparedSend {
    pub lead_id: String,
    pub to_email: String,
    pub subject: String,
    pub html_body: String,
}

/// The message being sent: who, to whom, through which sender.
struct Draft<'a> {
    owner: OwnerId,
    lead: &'a Row,
    sender: &'a Row,
    message_id: String,
    to_email: String,
    subject: String,
    provider: String,
    request: &'a SendRequest,
}
