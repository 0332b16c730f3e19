//! Recording tracking hits: opens through the pixel, clicks through tracked links, and
//! unsubscribes. A token resolves without knowing the owner (its item names the owner); each
//! hit is stored as an `email_events` row with its classification and evidence.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::schema;
use scaliyo_domain::tracking::{Hit, HitKind, Rules, Verdict};
use scaliyo_store::{Clock, Condition, Item, OutgoingMessage, Queue, StoreError, Update, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::analytics::EventKind;
use crate::layout;
use crate::rows::{Row, RowError, Rows};
use crate::send_email::{suppression_key, token_key};
use crate::webhooks::WebhookEmitter;

/// What a token stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: String,
    pub owner: String,
    pub message_id: String,
    pub link_id: Option<String>,
    pub destination: Option<String>,
    pub email: Option<String>,
    /// When the message was sent (epoch seconds); absent on tokens of older sends.
    pub sent_at: Option<i64>,
}

impl Token {
    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            kind: item.str("kind")?.to_owned(),
            owner: item.str("owner")?.to_owned(),
            message_id: item.str("message_id")?.to_owned(),
            link_id: item.str("link_id").map(str::to_owned),
            destination: item.str("destination").map(str::to_owned),
            email: item.str("email").map(str::to_owned),
            sent_at: item.i64("sent_at"),
        })
    }
}

#[derive(Clone)]
pub struct Tracking {
    rows: Rows,
    rules: Arc<Rules>,
    clock: Arc<dyn Clock>,
    /// Where opens go when the store cannot take them (written later by [`Tracking::replay`]).
    spool: Option<Arc<dyn Queue>>,
    /// `email.opened`, `email.clicked`, `email.unsubscribed` (machine hits are not sent).
    webhooks: Option<WebhookEmitter>,
}

/// An open that could not be stored when it happened, as it waits in the spool queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpooledOpen {
    pub token: String,
    pub method: String,
    pub user_agent: Option<String>,
    pub ip: Option<IpAddr>,
    pub purpose: Option<String>,
    /// When the mail client fetched the pixel.
    pub at: DateTime<Utc>,
}

/// What became of an open.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenOutcome {
    Recorded(Verdict),
    /// The token is unknown: nothing to record.
    Unknown,
    /// The store was unavailable: the hit waits in the spool queue.
    Spooled,
}

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
            spool: None,
            webhooks: None,
        }
    }

    /// Human opens and clicks, and unsubscribes, go to the owner's webhooks (through the
    /// webhook queue: nothing is delivered on the recipient's request).
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    async fn emit(
        &self,
        token: &Token,
        event_type: &str,
        subject: &str,
        verdict: Option<&Verdict>,
        extra: Value,
    ) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        if verdict.is_some_and(|v| v.is_bot) {
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
        if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
            data.extend(extra);
        }
        webhooks.emit(&token.owner, event_type, subject, data).await;
    }

    /// Opens that cannot be stored go to this queue instead of being lost.
    pub fn with_spool(mut self, spool: Arc<dyn Queue>) -> Self {
        self.spool = Some(spool);
        self
    }

    pub async fn resolve(&self, token: &str) -> Result<Option<Token>, RowError> {
        if !plausible(token) {
            return Ok(None);
        }
        Ok(self
            .rows
            .store()
            .get(&token_key(token))
            .await?
            .and_then(|item| Token::from_item(&item)))
    }

    async fn message(&self, token: &Token) -> Option<Row> {
        let messages = schema::table("email_messages")?;
        self.rows
            .get(messages, Some(&token.owner), &token.message_id)
            .await
            .ok()?
    }

    fn seconds_since_sent(message: Option<&Row>, now: DateTime<Utc>) -> Option<i64> {
        let sent = DateTime::parse_from_rfc3339(message?["created_at"].as_str()?).ok()?;
        Some((now - sent.with_timezone(&Utc)).num_seconds())
    }

    /// Classifies a hit; the message is read only when needed — for the send time on tokens
    /// that lack it, and for the analytics of a human hit.
    async fn classify(
        &self,
        token: &Token,
        hit: &mut Hit<'_>,
        now: DateTime<Utc>,
    ) -> (Verdict, Option<Row>) {
        let mut message = None;
        hit.seconds_since_sent = match token.sent_at {
            Some(sent_at) => Some(now.timestamp() - sent_at),
            None => {
                message = self.message(token).await;
                Self::seconds_since_sent(message.as_ref(), now)
            }
        };
        let verdict = self.rules.classify(hit);
        if !verdict.is_bot && message.is_none() {
            message = self.message(token).await;
        }
        (verdict, message)
    }

    /// Stores a classified hit (with `also`, e.g. the link's click count) and counts it in the
    /// live analytics, in one commit.
    #[allow(clippy::too_many_arguments)]
    async fn store_hit(
        &self,
        token: &Token,
        message: Option<&Row>,
        kind: EventKind,
        hit: &Hit<'_>,
        verdict: &Verdict,
        also: Option<WriteOp>,
        at: DateTime<Utc>,
    ) -> Result<(), RowError> {
        let event_type = if kind == EventKind::Open {
            "open"
        } else {
            "click"
        };
        let mut ops = self.event_ops(token, event_type, hit, Some(verdict), Some(at))?;
        ops.extend(also);
        crate::analytics::on_event_with(
            &self.rows,
            &token.owner,
            message,
            kind,
            verdict.is_bot,
            ops,
        )
        .await
    }

    /// The actions that store one hit as an `email_events` row.
    fn event_ops(
        &self,
        token: &Token,
        event_type: &str,
        hit: &Hit<'_>,
        verdict: Option<&Verdict>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<WriteOp>, RowError> {
        let Some(events) = schema::table("email_events") else {
            return Ok(Vec::new());
        };
        let mut row = Row::new();
        row.insert("message_id".into(), json!(token.message_id));
        row.insert(
            "link_id".into(),
            token
                .link_id
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        row.insert("event_type".into(), json!(event_type));
        row.insert(
            "ip_address".into(),
            hit.ip
                .map(|ip| Value::from(ip.to_string()))
                .unwrap_or(Value::Null),
        );
        row.insert(
            "user_agent".into(),
            hit.user_agent.map(Value::from).unwrap_or(Value::Null),
        );
        if let Some(verdict) = verdict {
            row.insert("is_bot".into(), json!(verdict.is_bot));
            row.insert("is_apple_privacy".into(), json!(verdict.is_apple_privacy));
            row.insert(
                "metadata".into(),
                json!({ "class": verdict.class.as_str(), "reason": verdict.reason, "evidence": verdict.evidence, "method": hit.method }),
            );
        }
        if let Some(at) = at {
            row.insert("created_at".into(), json!(crate::rows::timestamp_text(at)));
        }
        let prepared = self.rows.prepare(events, row)?;
        self.rows
            .insert_ops(events, Some(&token.owner), &prepared, false)
    }

    /// An open: classified and stored. Unknown tokens record nothing.
    pub async fn record_open(
        &self,
        token: &str,
        hit: Hit<'_>,
    ) -> Result<Option<Verdict>, RowError> {
        self.record_open_at(token, hit, None).await
    }

    /// An open that the store must not lose: when the store is unavailable (and a spool is
    /// configured) the hit goes to the spool queue, to be written by [`Tracking::replay`].
    pub async fn record_open_or_spool(
        &self,
        token: &str,
        hit: Hit<'_>,
    ) -> Result<OpenOutcome, RowError> {
        let at = self.clock.now();
        // The hit holds only borrowed text: keeping a copy for the spool costs nothing unless
        // the store fails.
        match self.record_open_at(token, hit.clone(), Some(at)).await {
            Ok(Some(verdict)) => Ok(OpenOutcome::Recorded(verdict)),
            Ok(None) => Ok(OpenOutcome::Unknown),
            Err(RowError::Store(error)) if error.is_retryable() => {
                let Some(spool) = &self.spool else {
                    return Err(RowError::Store(error));
                };
                let spooled = SpooledOpen {
                    token: token.to_owned(),
                    method: hit.method.to_owned(),
                    user_agent: hit.user_agent.map(str::to_owned),
                    ip: hit.ip,
                    purpose: hit.purpose.map(str::to_owned),
                    at,
                };
                let body = serde_json::to_string(&spooled).unwrap_or_default();
                spool
                    .send_batch(vec![OutgoingMessage::new(body)])
                    .await
                    .map_err(|e| RowError::Store(StoreError::Unavailable(e.to_string())))?;
                tracing::warn!(%error, "store unavailable: the open is spooled");
                Ok(OpenOutcome::Spooled)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes a spooled open with the time it happened. Unknown tokens are dropped.
    pub async fn replay(&self, body: &str) -> Result<Option<Verdict>, RowError> {
        let spooled: SpooledOpen = serde_json::from_str(body).map_err(|e| RowError::Invalid {
            column: "spooled open".into(),
            reason: e.to_string(),
        })?;
        let hit = Hit {
            kind: None,
            method: &spooled.method,
            user_agent: spooled.user_agent.as_deref(),
            ip: spooled.ip,
            purpose: spooled.purpose.as_deref(),
            seconds_since_sent: None,
        };
        self.record_open_at(&spooled.token, hit, Some(spooled.at))
            .await
    }

    async fn record_open_at(
        &self,
        token: &str,
        mut hit: Hit<'_>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<Verdict>, RowError> {
        let Some(token) = self.resolve(token).await? else {
            return Ok(None);
        };
        if token.kind != "open" {
            return Ok(None);
        }
        hit.kind = Some(HitKind::Open);
        let now = at.unwrap_or_else(|| self.clock.now());
        let (verdict, message) = self.classify(&token, &mut hit, now).await;
        tracing::debug!(
            reason = verdict.reason,
            class = verdict.class.as_str(),
            "open classified"
        );
        self.store_hit(
            &token,
            message.as_ref(),
            EventKind::Open,
            &hit,
            &verdict,
            None,
            now,
        )
        .await?;
        let subject = uuid::Uuid::new_v4().to_string();
        self.emit(
            &token,
            "email.opened",
            &subject,
            Some(&verdict),
            json!({ "opened_at": crate::rows::timestamp_text(now) }),
        )
        .await;
        Ok(Some(verdict))
    }

    /// A click: the stored destination (never one from the request), the link's click count
    /// added to atomically, and the classified event.
    pub async fn record_click(
        &self,
        token: &str,
        mut hit: Hit<'_>,
    ) -> Result<Option<String>, RowError> {
        let Some(token) = self.resolve(token).await? else {
            return Ok(None);
        };
        let (Some(destination), Some(link_id)) = (token.destination.clone(), token.link_id.clone())
        else {
            return Ok(None);
        };
        if token.kind != "click" {
            return Ok(None);
        }
        hit.kind = Some(HitKind::Click);
        let now = self.clock.now();
        let (verdict, message) = self.classify(&token, &mut hit, now).await;
        // The link's count goes in the hit's own commit.
        let count = schema::table("email_links").map(|links| WriteOp::Update {
            key: layout::row_key(links, Some(&token.owner), &link_id),
            update: Update::new().add("click_count", 1).add("_v", 1),
            condition: Some(Condition::item_exists()),
        });
        let stored = self
            .store_hit(
                &token,
                message.as_ref(),
                EventKind::Click,
                &hit,
                &verdict,
                count,
                now,
            )
            .await;
        match stored {
            Ok(()) => {}
            // The link is gone (its message was deleted): keep the event all the same.
            Err(RowError::Store(StoreError::ConditionFailed { .. })) => {
                self.store_hit(
                    &token,
                    message.as_ref(),
                    EventKind::Click,
                    &hit,
                    &verdict,
                    None,
                    now,
                )
                .await?;
            }
            Err(e) => return Err(e),
        }
        let subject = uuid::Uuid::new_v4().to_string();
        self.emit(
            &token,
            "email.clicked",
            &subject,
            Some(&verdict),
            json!({ "link_id": link_id, "url": destination, "clicked_at": crate::rows::timestamp_text(now) }),
        )
        .await;
        Ok(Some(destination))
    }

    /// Whether an unsubscribe token is known (the confirmation page shows only then).
    pub async fn unsubscribe_target(&self, token: &str) -> Result<Option<Token>, RowError> {
        Ok(self
            .resolve(token)
            .await?
            .filter(|t| t.kind == "unsubscribe"))
    }

    /// One-click unsubscribe (RFC 8058): the address joins the workspace's suppression list
    /// and an `unsubscribe` event is recorded — once, however often it is posted.
    pub async fn unsubscribe(&self, token: &str, hit: Hit<'_>) -> Result<bool, RowError> {
        let Some(token) = self.unsubscribe_target(token).await? else {
            return Ok(false);
        };
        let Some(email) = token.email.clone() else {
            return Ok(false);
        };
        let entry = Item::new(&suppression_key(&token.owner, &email))
            .with("reason", "unsubscribe")
            .with("message_id", token.message_id.as_str())
            .with("at", crate::rows::timestamp_text(self.clock.now()));
        match self
            .rows
            .store()
            .transact_write(vec![WriteOp::put_new(entry)])
            .await
        {
            Ok(()) => {
                let ops = self.event_ops(&token, "unsubscribe", &hit, None, None)?;
                self.rows.store().transact_write(ops).await?;
                let subject = format!("{}:unsubscribe", token.message_id);
                self.emit(
                    &token,
                    "email.unsubscribed",
                    &subject,
                    None,
                    json!({ "source": "one_click" }),
                )
                .await;
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }
}
