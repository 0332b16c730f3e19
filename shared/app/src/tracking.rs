//! Recording tracking hits: opens through the pixel, clicks through tracked links, and
//! unsubscribes. A token resolves without knowing the owner (its item names the owner); each
//! hit is stored as an `email_events` row with its classification and evidence.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::schema;
use scaliyo_domain::tracking::{Class, Context, Hit, HitKind, PastHit, Rules, Verdict};
use scaliyo_store::{
    Clock, Condition, Index, Item, OutgoingMessage, Query, Queue, SortCondition, StoreError,
    Update, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::analytics::{CountedMessage, EventKind};
use crate::layout;
use crate::rows::{Row, RowError, Rows};
use crate::send::{suppression_key, token_key};
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
    /// The message's hidden honeypot link (no reader sees it; whatever follows it is a machine).
    pub honeypot: bool,
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
            honeypot: matches!(item.get("honeypot"), Some(scaliyo_store::Value::Bool(true))),
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

/// Recent hits read for the history rules: enough for every rule (a burst needs 4 before
/// this one), few enough that a message hammered by a scanner costs a bounded read.
const HISTORY_LIMIT: u32 = 8;
/// How far back the history rules look.
const HISTORY_SECONDS: i64 = 60;

/// A UUID v7 whose time is the hit's (the clock's, not the machine's), so ids sort as hits
/// happened.
fn event_id_at(at: DateTime<Utc>) -> String {
    let mut random = [0u8; 10];
    rand::fill(&mut random);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// The text below every v7 id of `at` or later: its 48-bit millisecond prefix, as the id's
/// text begins (`xxxxxxxx-xxxx`).
fn id_bound(at: DateTime<Utc>) -> String {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    format!("{:08x}-{:04x}", millis >> 16, millis & 0xffff)
}

/// An `email_events` item as a past hit of its message, when it is recent.
fn past_hit(item: &Item, now: DateTime<Utc>) -> Option<PastHit> {
    let kind = match item.str("event_type")? {
        "open" => HitKind::Open,
        "click" => HitKind::Click,
        _ => return None,
    };
    let at = DateTime::parse_from_rfc3339(item.str("created_at")?).ok()?;
    let seconds_before = (now - at.with_timezone(&Utc)).num_seconds();
    (0..=HISTORY_SECONDS)
        .contains(&seconds_before)
        .then(|| PastHit {
            seconds_before,
            kind,
            link_id: item.str("link_id").map(str::to_owned),
            ip: item.str("ip_address").and_then(|ip| ip.parse().ok()),
        })
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

    /// An outgoing webhook event about a hit, built only when the owner has a webhook for it
    /// (the pixel and the redirect pay one cached lookup otherwise). `subject` None: a hit of
    /// its own (a fresh id).
    async fn emit(
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
        if verdict.is_some_and(|v| v.is_bot) || !webhooks.wants(&token.owner, event_type).await {
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
        let fresh;
        let subject = match subject {
            Some(subject) => subject,
            None => {
                fresh = uuid::Uuid::new_v4().to_string();
                &fresh
            }
        };
        webhooks.send(&token.owner, event_type, subject, data).await;
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

    /// What the analytics need of the token's message (its stored item, not a full row: the
    /// body is not converted).
    async fn message(&self, token: &Token) -> Option<CountedMessage> {
        let messages = &schema::EMAIL_MESSAGES;
        let item = self
            .rows
            .get_raw(messages, Some(&token.owner), &token.message_id)
            .await
            .ok()??;
        CountedMessage::from_item(&item)
    }

    /// The message's hits of the last minute, newest first (event ids are UUID v7, so the
    /// message's index reads newest first).
    async fn history(&self, token: &Token, now: DateTime<Utc>) -> Vec<PastHit> {
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
        let items = match page {
            Ok(page) => page.items,
            Err(error) => {
                // The history only sharpens a verdict; without it the hit is still judged.
                tracing::warn!(%error, "reading a message's recent hits failed");
                return Vec::new();
            }
        };
        items
            .iter()
            .filter_map(|item| past_hit(item, now))
            .collect()
    }

    fn seconds_since_sent(message: Option<&CountedMessage>, now: DateTime<Utc>) -> Option<i64> {
        let sent = DateTime::parse_from_rfc3339(&message?.created_at).ok()?;
        Some((now - sent.with_timezone(&Utc)).num_seconds())
    }

    /// Classifies a hit; the message is read only when needed — for the send time on tokens
    /// that lack it, and for the analytics of a human hit.
    async fn classify(
        &self,
        token: &Token,
        hit: &mut Hit<'_>,
        now: DateTime<Utc>,
    ) -> (Verdict, Option<CountedMessage>) {
        let mut message = None;
        hit.seconds_since_sent = match token.sent_at {
            Some(sent_at) => Some(now.timestamp() - sent_at),
            None => {
                message = self.message(token).await;
                Self::seconds_since_sent(message.as_ref(), now)
            }
        };
        // The request's own rules first; only a hit that still looks human (or probably a
        // machine) costs the read of the message's recent hits.
        let verdict = if token.honeypot {
            self.rules.judge(
                hit,
                &Context {
                    honeypot: true,
                    ..Context::default()
                },
            )
        } else {
            let first = self.rules.classify(hit);
            let history = if first.class == Class::Machine {
                Vec::new()
            } else {
                self.history(token, now).await
            };
            let context = Context {
                link_id: token.link_id.as_deref(),
                honeypot: false,
                history: &history,
            };
            self.rules.sharpen(first, hit, &context)
        };
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
        message: Option<&CountedMessage>,
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
        let events = &schema::EMAIL_EVENTS;
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
            // The raw request features stay with the verdict: a recount judges them again.
            row.insert(
                "metadata".into(),
                json!({ "class": verdict.class.as_str(), "reason": verdict.reason, "evidence": verdict.evidence, "method": hit.method, "purpose": hit.purpose, "honeypot": token.honeypot }),
            );
        }
        // Ids ordered by the hit's time: the message's index then reads its recent hits alone.
        let at_or_now = at.unwrap_or_else(|| self.clock.now());
        row.insert("id".into(), json!(event_id_at(at_or_now)));
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
        self.emit(
            &token,
            "email.opened",
            None,
            Some(&verdict),
            || json!({ "opened_at": crate::rows::timestamp_text(now) }),
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
        let Some(destination) = token.destination.clone() else {
            return Ok(None);
        };
        // A honeypot has no link row (it counts in no link's clicks); every other click does.
        let link_id = token.link_id.clone();
        if token.kind != "click" || (link_id.is_none() && !token.honeypot) {
            return Ok(None);
        }
        hit.kind = Some(HitKind::Click);
        let now = self.clock.now();
        let (verdict, message) = self.classify(&token, &mut hit, now).await;
        // The link's count goes in the hit's own commit.
        let count = link_id.as_deref().map(|link_id| WriteOp::Update {
            key: layout::row_key(&schema::EMAIL_LINKS, Some(&token.owner), link_id),
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
        self.emit(&token, "email.clicked", None, Some(&verdict), || {
            json!({ "link_id": link_id, "url": destination, "clicked_at": crate::rows::timestamp_text(now) })
        })
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
                    Some(&subject),
                    None,
                    || json!({ "source": "one_click" }),
                )
                .await;
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }
}

/// What a recount changed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RecountReport {
    pub examined: usize,
    pub changed: usize,
    /// `"<old reason> -> <new reason>"` and how often.
    pub changes: std::collections::BTreeMap<String, usize>,
    /// The days whose analytics were rebuilt.
    pub dates_rebuilt: Vec<String>,
}

impl Tracking {
    /// Judges an owner's stored hits again with today's rules, from the raw features each
    /// event keeps (method, user agent, address, purpose header, honeypot, time after sending,
    /// the message's other hits), rewrites the verdicts that changed and rebuilds the
    /// analytics of the days concerned. For a rules change (new network lists, new rules).
    pub async fn recount(
        &self,
        owner: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<RecountReport, RowError> {
        let (events, messages) = (&schema::EMAIL_EVENTS, &schema::EMAIL_MESSAGES);
        let mut by_message: std::collections::BTreeMap<String, Vec<Item>> = Default::default();
        let mut cursor = None;
        loop {
            let page = self
                .rows
                .store()
                .query(
                    Query::partition(Index::Table, layout::owner_partition(owner))
                        .sort(scaliyo_store::SortCondition::BeginsWith(
                            "email_events#".into(),
                        ))
                        .after(cursor.take()),
                )
                .await?;
            for item in page.items {
                let hit_kind = matches!(item.str("event_type"), Some("open" | "click"));
                let recent_enough = since.is_none_or(|since| {
                    item.str("created_at")
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .is_some_and(|t| {
                            t.with_timezone(&Utc) >= since - chrono::Duration::minutes(1)
                        })
                });
                if hit_kind
                    && recent_enough
                    && let Some(message) = item.str("message_id")
                {
                    by_message.entry(message.to_owned()).or_default().push(item);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut report = RecountReport::default();
        let mut dates = std::collections::BTreeSet::new();
        for (message_id, mut items) in by_message {
            items.sort_by(|a, b| a.str("created_at").cmp(&b.str("created_at")));
            let message = self.rows.get(messages, Some(owner), &message_id).await?;
            let sent = message
                .as_ref()
                .and_then(|m| m["created_at"].as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let mut changed_here = false;
            for (index, item) in items.iter().enumerate() {
                let Some(at) = item
                    .str("created_at")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc))
                else {
                    continue;
                };
                if since.is_some_and(|since| at < since) {
                    continue;
                }
                report.examined += 1;
                let metadata: Value = item
                    .get("metadata")
                    .map(|m| m.to_json())
                    .unwrap_or(Value::Null);
                let kind = if item.str("event_type") == Some("click") {
                    HitKind::Click
                } else {
                    HitKind::Open
                };
                let hit = Hit {
                    kind: Some(kind),
                    method: metadata["method"].as_str().unwrap_or("GET"),
                    user_agent: item.str("user_agent"),
                    ip: item.str("ip_address").and_then(|ip| ip.parse().ok()),
                    purpose: metadata["purpose"].as_str(),
                    seconds_since_sent: sent.map(|sent| (at - sent).num_seconds()),
                };
                let history: Vec<PastHit> = items[..index]
                    .iter()
                    .rev()
                    .filter_map(|earlier| past_hit(earlier, at))
                    .collect();
                let verdict = self.rules.judge(
                    &hit,
                    &Context {
                        link_id: item.str("link_id"),
                        honeypot: metadata["honeypot"].as_bool().unwrap_or(false),
                        history: &history,
                    },
                );
                let old_reason = metadata["reason"].as_str().unwrap_or("unclassified");
                let old_bot = matches!(item.get("is_bot"), Some(scaliyo_store::Value::Bool(true)));
                if old_reason == verdict.reason && old_bot == verdict.is_bot {
                    continue;
                }
                let mut updated = metadata.clone();
                if !updated.is_object() {
                    updated = json!({});
                }
                updated["class"] = json!(verdict.class.as_str());
                updated["reason"] = json!(verdict.reason);
                updated["evidence"] = json!(verdict.evidence);
                updated["recounted_from"] = json!(old_reason);
                let mut patch = Row::new();
                patch.insert("is_bot".into(), json!(verdict.is_bot));
                patch.insert("is_apple_privacy".into(), json!(verdict.is_apple_privacy));
                patch.insert("metadata".into(), updated);
                let (_, op) = self.rows.transition_op(events, item, patch, &[])?;
                match self.rows.store().transact_write(vec![op]).await {
                    Ok(()) => {}
                    // Changed meanwhile (deleted with its message): leave it.
                    Err(StoreError::ConditionFailed { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
                *report
                    .changes
                    .entry(format!("{old_reason} -> {}", verdict.reason))
                    .or_default() += 1;
                report.changed += 1;
                changed_here = true;
            }
            if changed_here
                && let Some(date) = message.as_ref().and_then(crate::analytics::message_date)
            {
                dates.insert(date);
            }
        }
        report.dates_rebuilt = dates.into_iter().collect();
        if !report.dates_rebuilt.is_empty() {
            crate::analytics::rebuild(&self.rows, owner, &report.dates_rebuilt).await?;
        }
        tracing::info!(
            owner,
            examined = report.examined,
            changed = report.changed,
            "tracking recount"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_sort_by_the_hits_time_and_the_bound_selects_from_it() {
        let at = DateTime::parse_from_rfc3339("2026-11-27T09:00:00.500Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = event_id_at(at);
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert!(id.as_str() > id_bound(at).as_str());
        assert!(id.as_str() < id_bound(at + chrono::Duration::milliseconds(1)).as_str());
        assert!(id.as_str() > id_bound(at - chrono::Duration::seconds(60)).as_str());
        let later = event_id_at(at + chrono::Duration::seconds(1));
        assert!(later > id);
    }
}
