//! Recording tracking hits: opens through the pixel, clicks through tracked links, and
//! unsubscribes. A token resolves without knowing the owner (its item names the owner); each
//! hit is stored as an `email_events` row with its classification and evidence.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_domain::signed_link::{self, LinkKey};
use scaliyo_domain::tracking::{Class, Context, Hit, HitKind, PastHit, Rules, Verdict};
use scaliyo_store::{
    Clock, Condition, Index, Item, Journal, JournalError, Query, SortCondition, StoreError, Update,
    WriteOp,
};
use serde_json::{Value, json};

use crate::analytics::{CountedMessage, EventKind};
use crate::layout;
use crate::rows::{Row, RowError, Rows};
use crate::send::{suppression_key, token_key};
use crate::webhooks::WebhookEmitter;

mod accept;
mod apply;
mod batch;
#[cfg(test)]
mod batch_tests;
mod event_id;
mod event_row;
mod hits;
mod recent;
mod record;
mod recount;
mod token_cache;
mod unsubscribe;

pub use apply::ApplyReport;
use event_id::{event_id_at, id_bound};
pub(crate) use event_row::EmailEventRow;
use recent::RecentHits;
pub use record::{HitRecord, RecordKind};
pub use recount::RecountReport;
use token_cache::TokenCache;

/// What a token stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: String,
    pub owner: OwnerId,
    pub message_id: String,
    pub link_id: Option<String>,
    pub destination: Option<String>,
    pub email: Option<String>,
    /// When the message was sent (epoch seconds); absent on tokens of older sends.
    pub sent_at: Option<i64>,
    /// The message's hidden honeypot link (no reader sees it; whatever follows it is a machine).
    pub honeypot: bool,
}

impl Token {
    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            kind: item.str("kind")?.to_owned(),
            owner: item.str("owner")?.parse().ok()?,
            message_id: item.str("message_id")?.to_owned(),
            link_id: item.str("link_id").map(str::to_owned),
            destination: item.str("destination").map(str::to_owned),
            email: item.str("email").map(str::to_owned),
            sent_at: item.i64("sent_at"),
            honeypot: matches!(item.get("honeypot"), Some(scaliyo_store::Value::Bool(true))),
        })
    }
}

#[derive(Clone)]
pub struct Tracking {
    rows: Rows,
    rules: Arc<Rules>,
    clock: Arc<dyn Clock>,
    /// Where hits are made durable before the answer (applied later by [`Tracking::apply`]);
    /// without one, a hit is applied on the request.
    journal: Option<Arc<dyn Journal>>,
    /// Resolved tokens (the redirect and the applier read them again and again).
    tokens: Arc<TokenCache>,
    /// Opens signed links: their destination needs no read (ADR 28).
    link_key: Option<LinkKey>,
    /// `email.opened`, `email.clicked`, `email.unsubscribed` (machine hits are not sent).
    webhooks: Option<WebhookEmitter>,
    /// `TrackingHits` by kind and class.
    metrics: Arc<dyn scaliyo_store::Metrics>,
}

/// When a hit arrived and the id its event row gets.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub(crate) at: DateTime<Utc>,
    pub(crate) event_id: String,
}

impl Arrival {
    /// A journalled hit's arrival. Records spooled by earlier versions carry no id: one is
    /// chosen now.
    pub(crate) fn of(record: &HitRecord) -> Self {
        Self {
            at: record.at,
            event_id: record
                .event_id
                .clone()
                .unwrap_or_else(|| event_id_at(record.at)),
        }
    }
}

/// Whether storing a hit wrote it, or found it written by an earlier application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    New,
    Duplicate,
}

/// What applying one journalled hit did.
#[derive(Debug, Clone, PartialEq)]
pub enum HitOutcome {
    Stored(Verdict),
    /// Applied before (a replay after a crash, a queue's second delivery): nothing counted.
    Duplicate,
    /// The token is unknown, or not of this kind of hit: nothing to record.
    NotTracked,
}

/// Recent hits read for the history rules: enough for every rule (a burst needs 4 before
/// this one), few enough that a message hammered by a scanner costs a bounded read.
const HISTORY_LIMIT: u32 = 8;
/// How far back the history rules look.
const HISTORY_SECONDS: i64 = 60;

/// Tokens are 22 base64url characters; anything else is not worth a lookup.
fn plausible(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Tracking {
    pub fn new(rows: Rows, clock: Arc<dyn Clock>) -> Self {
        Self {
            rows,
            rules: Arc::new(Rules::default()),
            clock,
            journal: None,
            tokens: Arc::new(TokenCache::default()),
            link_key: None,
            webhooks: None,
            metrics: scaliyo_store::no_metrics(),
        }
    }

    /// Human opens and clicks, and unsubscribes, go to the owner's webhooks (through the
    /// webhook queue: nothing is delivered on the recipient's request).
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Links signed with this key redirect without a read (`LINK_SIGNING_KEY`, the key the
    /// senders sign with).
    pub fn with_link_key(mut self, link_key: Option<LinkKey>) -> Self {
        self.link_key = link_key;
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// An outgoing webhook event about a hit, built only when the owner has a webhook for it
    /// (the pixel and the redirect pay one cached lookup otherwise). `subject` None: a hit of
    /// its own (a fresh id).
    pub(super) async fn emit(
        &self,
        token: &Token,
        event_type: &str,
        subject: Option<&str>,
        verdict: Option<&Verdict>,
        extra: impl FnOnce() -> Value,
    ) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        if verdict.is_some_and(|v| v.is_bot) {
            return;
        }
        let feed = match webhooks.workflow_feed() {
            Some(feed) if feed.wants(token.owner, event_type).await => Some(feed),
            _ => None,
        };
        let to_webhooks = webhooks.wants(token.owner, event_type).await;
        if feed.is_none() && !to_webhooks {
            return;
        }
        let mut data = json!({
            "message_id": token.message_id,
            "email": token.email,
        });
        if let Some(verdict) = verdict {
            data["class"] = json!(verdict.class.as_str());
            data["reason"] = json!(verdict.reason);
            data["is_apple_privacy"] = json!(verdict.is_apple_privacy);
        }
        if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra()) {
            data.extend(extra);
        }
        if let Some(feed) = feed {
            feed.offer(token.owner, event_type, &data).await;
        }
        if !to_webhooks {
            return;
        }
        let fresh;
        let subject = match subject {
            Some(subject) => subject,
            None => {
                fresh = uuid::Uuid::new_v4().to_string();
                &fresh
            }
        };
        webhooks.send(token.owner, event_type, subject, data).await;
    }

    /// Hits are journalled before the answer and applied by the journal's consumer.
    pub fn with_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    pub async fn resolve(&self, token: &str) -> Result<Option<Arc<Token>>, RowError> {
        if !plausible(token) {
            return Ok(None);
        }
        if let Some(found) = self.tokens.get(token) {
            return Ok(Some(found));
        }
        let found = self
            .rows
            .store()
            .get(&token_key(token))
            .await?
            .and_then(|item| Token::from_item(&item))
            .map(Arc::new);
        if let Some(found) = &found {
            self.tokens.put(token, found.clone());
        }
        Ok(found)
    }

    /// What the analytics need of the token's message (its stored item, not a full row: the
    /// body is not converted).
    pub(super) async fn message(&self, token: &Token) -> Option<CountedMessage> {
        let messages = &schema::EMAIL_MESSAGES;
        let item = self
            .rows
            .get_raw(messages, Some(&token.owner.to_string()), &token.message_id)
            .await
            .ok()??;
        CountedMessage::from_item(&item)
    }

    /// The message's hits of the last minute, newest first (event ids are UUID v7, so the
    /// message's index reads newest first).
    pub(super) async fn history(&self, token: &Token, now: DateTime<Utc>) -> Vec<PastHit> {
        self.recent_hits(token, now).await.before(now)
    }

    /// The message's newest hits from a minute before `now` on, as the index holds them.
    pub(super) async fn recent_hits(&self, token: &Token, now: DateTime<Utc>) -> RecentHits {
        let page = self
            .rows
            .store()
            .query(
                Query::partition(
                    Index::Gsi1,
                    format!("idx_email_events_message#{}", token.message_id),
                )
                .sort(SortCondition::Gt(id_bound(
                    now - chrono::Duration::seconds(HISTORY_SECONDS),
                )))
                .backward()
                .limit(HISTORY_LIMIT),
            )
            .await;
        match page {
            Ok(page) => RecentHits::from_items(&page.items),
            Err(error) => {
                // The history only sharpens a verdict; without it the hit is still judged.
                tracing::warn!(%error, "reading a message's recent hits failed");
                RecentHits::default()
            }
        }
    }

    pub(super) fn seconds_since_sent(
        message: Option<&CountedMessage>,
        now: DateTime<Utc>,
    ) -> Option<i64> {
        let sent = DateTime::parse_from_rfc3339(&message?.created_at).ok()?;
        Some((now - sent.with_timezone(&Utc)).num_seconds())
    }
}
