//! Recording tracking hits: opens through the pixel, clicks through tracked links, and
//! unsubscribes. A token resolves without knowing the owner (its item names the owner); each
//! hit is stored as an `email_events` row with its classification and evidence.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::schema;
use scaliyo_domain::tracking::{Hit, HitKind, Rules, Verdict};
use scaliyo_store::{Clock, Condition, Item, StoreError, Update, WriteOp};
use serde_json::{Value, json};

use crate::analytics::EventKind;
use crate::layout;
use crate::rows::{Row, RowError, Rows};
use crate::send_email::{suppression_key, token_key};

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
        }
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
    async fn classify(&self, token: &Token, hit: &mut Hit<'_>) -> (Verdict, Option<Row>) {
        let now = self.clock.now();
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
    async fn store_hit(
        &self,
        token: &Token,
        message: Option<&Row>,
        kind: EventKind,
        hit: &Hit<'_>,
        verdict: &Verdict,
        also: Option<WriteOp>,
    ) -> Result<(), RowError> {
        let event_type = if kind == EventKind::Open {
            "open"
        } else {
            "click"
        };
        let mut ops = self.event_ops(token, event_type, hit, Some(verdict))?;
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
        let prepared = self.rows.prepare(events, row)?;
        self.rows
            .insert_ops(events, Some(&token.owner), &prepared, false)
    }

    /// An open: classified and stored. Unknown tokens record nothing.
    pub async fn record_open(
        &self,
        token: &str,
        mut hit: Hit<'_>,
    ) -> Result<Option<Verdict>, RowError> {
        let Some(token) = self.resolve(token).await? else {
            return Ok(None);
        };
        if token.kind != "open" {
            return Ok(None);
        }
        hit.kind = Some(HitKind::Open);
        let (verdict, message) = self.classify(&token, &mut hit).await;
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
        )
        .await?;
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
        let (verdict, message) = self.classify(&token, &mut hit).await;
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
                )
                .await?;
            }
            Err(e) => return Err(e),
        }
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
                let ops = self.event_ops(&token, "unsubscribe", &hit, None)?;
                self.rows.store().transact_write(ops).await?;
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }
}
