//! Outgoing webhooks (`webhooks` table): events delivered to customers' URLs from a queue
//! consumer, never from the request that caused them.
//!
//! - **Producers** (send pipeline, tracking, provider events, imports, social) call
//!   [`WebhookEmitter::emit`]: when the owner has a webhook for the event (a cached lookup), one
//!   `emit` message goes to the webhook queue. Nothing else happens on the producer's path.
//! - **The consumer** ([`WebhookDispatcher::process`]) turns an `emit` into one delivery per
//!   subscribed webhook (a delivery item and a per-(webhook, event) marker written together,
//!   so an event emitted twice is delivered once), then delivers each: a JSON body with a stable
//!   event id, signed `Scaliyo-Signature: t=…,v1=…`. A failed attempt is retried through the
//!   queue's delay (30 s … 15 min, 7 attempts); every attempt is logged on the delivery with its
//!   status and latency; the webhook's `fire_count`, `fail_count`, `success_rate` and
//!   `last_fired` are kept.
//! - **The log** is readable and a delivery can be sent again (`redeliver`), through the API.
//!
//! Delivery items live beside the rows: `PK = WH#<webhook id>`, `SK = D#<delivery id>` (UUID v7,
//! so the partition reads newest first), expiring after 30 days.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::webhooks;
use scaliyo_store::{
    Clock, Condition, Item, Key, OutgoingMessage, Query, Queue, SortCondition, StoreError,
    TransportError, Update, Value as StoreValue, WebhookRequest, WebhookTransport, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{RowError, Rows, VERSION_ATTR, timestamp_text};

/// How long delivery records are kept.
pub const LOG_DAYS: i64 = 30;
/// Deliveries a log read returns.
pub const LOG_PAGE: u32 = 50;
/// How long a Lambda remembers whether an owner has webhooks (a new webhook gets events
/// within this; the pixel and redirect paths read nothing while it holds).
pub const LAMBDA_SUBSCRIPTIONS_CACHE: StdDuration = StdDuration::from_secs(30);
/// Attempts kept in one delivery's log (the counters keep counting).
const ATTEMPT_LOG: usize = 20;

/// One event as producers emit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Stable: derived from the event type and its subject, so re-emitting is harmless.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub owner: String,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

/// What travels on the webhook queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebhookMessage {
    Emit(WebhookEvent),
    Deliver {
        owner: String,
        webhook_id: String,
        delivery_id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("not a webhook message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Queue(#[from] scaliyo_store::QueueError),
}

crate::errors::through_access!(WebhookError);

fn delivery_key(webhook_id: &str, delivery_id: &str) -> Key {
    Key::new(format!("WH#{webhook_id}"), format!("D#{delivery_id}"))
}

fn marker_key(webhook_id: &str, event_id: &str) -> Key {
    Key::new(format!("WHE#{webhook_id}#{event_id}"), "E")
}

fn webhook_key(owner: &str, id: &str) -> Key {
    layout::row_key(&scaliyo_domain::schema::WEBHOOKS, Some(owner), id)
}

/// The owner's webhook rows (raw items), from the owner's partition.
async fn webhooks_of(rows: &Rows, owner: &str) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = rows
            .store()
            .query(
                Query::partition(scaliyo_store::Index::Table, layout::owner_partition(owner))
                    .sort(SortCondition::BeginsWith("webhooks#".into()))
                    .after(cursor.take()),
            )
            .await?;
        items.extend(
            page.items
                .into_iter()
                .filter(|i| i.str(layout::TABLE_ATTR) == Some("webhooks")),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

fn is_active(item: &Item) -> bool {
    !matches!(item.get("is_active"), Some(StoreValue::Bool(false)))
}

// ---------------------------------------------------------------------------------------
// Producers

/// The producers' side: decides cheaply whether anyone listens, and enqueues.
/// Per owner: the triggers of their active webhooks, and when that was read.
type TriggerCache = Arc<Mutex<HashMap<String, (Instant, Vec<String>)>>>;

#[derive(Clone)]
pub struct WebhookEmitter {
    rows: Rows,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    /// Per owner: the triggers of their active webhooks, and when that was read. A Lambda
    /// keeps it between invocations; zero means "always read" (the local system, tests).
    cache: TriggerCache,
    cache_for: StdDuration,
}

impl WebhookEmitter {
    pub fn new(rows: Rows, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            rows,
            queue,
            clock,
            cache: Arc::new(Mutex::new(HashMap::new())),
            cache_for: StdDuration::ZERO,
        }
    }

    /// A Lambda's emitter: on the queue named by its configuration (none: no webhooks are
    /// emitted), remembering owners' subscriptions for [`LAMBDA_SUBSCRIPTIONS_CACHE`].
    pub fn for_lambda(
        rows: Rows,
        queue: Option<Arc<dyn Queue>>,
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        queue.map(|queue| Self::new(rows, queue, clock).caching_for(LAMBDA_SUBSCRIPTIONS_CACHE))
    }

    /// Remember an owner's subscriptions this long (a new webhook gets events after at most
    /// this delay).
    pub fn caching_for(mut self, duration: StdDuration) -> Self {
        self.cache_for = duration;
        self
    }

    async fn triggers(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        if !self.cache_for.is_zero() {
            let cache = self.cache.lock().await;
            if let Some((at, triggers)) = cache.get(owner)
                && at.elapsed() < self.cache_for
            {
                return Ok(triggers.clone());
            }
        }
        let triggers: Vec<String> = webhooks_of(&self.rows, owner)
            .await?
            .iter()
            .filter(|w| is_active(w))
            .filter_map(|w| w.str("trigger_event").map(str::to_owned))
            .collect();
        if !self.cache_for.is_zero() {
            let mut cache = self.cache.lock().await;
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(owner.to_owned(), (Instant::now(), triggers.clone()));
        }
        Ok(triggers)
    }

    /// Emits `event_type` about `subject` (the id that makes the event unique: a message id,
    /// a target id…). Never fails the caller: a lost emit is logged.
    pub async fn emit(&self, owner: &str, event_type: &str, subject: &str, data: Value) {
        if self.wants(owner, event_type).await {
            self.send(owner, event_type, subject, data).await;
        }
    }

    /// Whether the owner has an active webhook for the event (a hot path asks first, and
    /// builds the event only then).
    pub async fn wants(&self, owner: &str, event_type: &str) -> bool {
        match self.triggers(owner).await {
            Ok(triggers) => triggers.iter().any(|t| webhooks::subscribed(t, event_type)),
            Err(error) => {
                tracing::warn!(%error, event_type, "reading webhooks failed; the event is not emitted");
                false
            }
        }
    }

    /// Enqueues the event without asking [`WebhookEmitter::wants`] again.
    pub async fn send(&self, owner: &str, event_type: &str, subject: &str, data: Value) {
        let event = WebhookEvent {
            id: event_id(event_type, subject),
            event_type: event_type.to_owned(),
            owner: owner.to_owned(),
            occurred_at: self.clock.now(),
            data,
        };
        let body = match serde_json::to_string(&WebhookMessage::Emit(event)) {
            Ok(body) => body,
            Err(_) => return,
        };
        if let Err(error) = self
            .queue
            .send_batch(vec![OutgoingMessage::new(body)])
            .await
        {
            tracing::warn!(%error, event_type, "enqueueing a webhook event failed");
        }
    }
}

/// `evt_<uuid v5 of type and subject>`.
pub fn event_id(event_type: &str, subject: &str) -> String {
    let id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:webhook-event:{event_type}:{subject}").as_bytes(),
    );
    format!("evt_{}", id.simple())
}

// ---------------------------------------------------------------------------------------
// The consumer

/// A delivery as the log shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `retrying`, `delivered`, `failed`.
    pub status: String,
    pub attempts: i64,
    pub created_at: String,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub log: Value,
    pub payload: Value,
}

impl Delivery {
    fn from_item(item: &Item) -> Self {
        let text = |name: &str| item.str(name).unwrap_or_default().to_owned();
        Self {
            id: text("id"),
            webhook_id: text("webhook_id"),
            event_id: text("event_id"),
            event_type: text("event_type"),
            status: text("status"),
            attempts: item.i64("attempts").unwrap_or(0),
            created_at: text("created_at"),
            last_attempt_at: item.str("last_attempt_at").map(str::to_owned),
            next_attempt_at: item.str("next_attempt_at").map(str::to_owned),
            log: item
                .str("log")
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_else(|| json!([])),
            payload: item
                .str("payload")
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null),
        }
    }
}

/// One HTTP attempt as the log keeps it.
#[derive(Debug, Clone, Copy, Default)]
struct Attempt {
    status: Option<u16>,
    latency_ms: Option<u64>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Dispatched {
    Fanned {
        deliveries: usize,
    },
    Delivered {
        status: u16,
    },
    Retrying {
        attempt: i64,
        after_seconds: u64,
    },
    Failed {
        reason: String,
    },
    /// Already delivered, or its webhook or record is gone.
    Skipped,
}

#[derive(Clone)]
pub struct WebhookDispatcher {
    rows: Rows,
    queue: Arc<dyn Queue>,
    transport: Arc<dyn WebhookTransport>,
    clock: Arc<dyn Clock>,
    /// Every retry waits this instead of the schedule (local development and tests).
    retry_delay: Option<StdDuration>,
}

impl WebhookDispatcher {
    pub fn new(
        rows: Rows,
        queue: Arc<dyn Queue>,
        transport: Arc<dyn WebhookTransport>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            rows,
            queue,
            transport,
            clock,
            retry_delay: None,
        }
    }

    /// Retries after `delay` instead of 30 s … 15 min (the attempt count stays bounded).
    pub fn retrying_after(mut self, delay: StdDuration) -> Self {
        self.retry_delay = Some(delay);
        self
    }

    /// Handles one queue message. `Err` means "let the queue deliver it again".
    pub async fn process(&self, body: &str) -> Result<Dispatched, WebhookError> {
        let message: WebhookMessage =
            serde_json::from_str(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        match message {
            WebhookMessage::Emit(event) => self.fan_out(event).await,
            WebhookMessage::Deliver {
                owner,
                webhook_id,
                delivery_id,
            } => self.deliver(&owner, &webhook_id, &delivery_id).await,
        }
    }

    async fn fan_out(&self, event: WebhookEvent) -> Result<Dispatched, WebhookError> {
        let now = self.clock.now();
        let mut messages = Vec::new();
        for webhook in webhooks_of(&self.rows, &event.owner).await? {
            let Some(webhook_id) = webhook.str("id").map(str::to_owned) else {
                continue;
            };
            let trigger = webhook.str("trigger_event").unwrap_or_default();
            if !is_active(&webhook) || !webhooks::subscribed(trigger, &event.event_type) {
                continue;
            }
            let delivery_id = uuid::Uuid::now_v7().to_string();
            let payload = json!({
                "id": event.id,
                "type": event.event_type,
                "created_at": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "webhook_id": webhook_id,
                "data": event.data,
            });
            let expires = (now + Duration::days(LOG_DAYS)).timestamp();
            let item = Item::new(&delivery_key(&webhook_id, &delivery_id))
                .with("id", delivery_id.as_str())
                .with("webhook_id", webhook_id.as_str())
                .with("owner", event.owner.as_str())
                .with("event_id", event.id.as_str())
                .with("event_type", event.event_type.as_str())
                .with("status", "pending")
                .with("attempts", 0i64)
                .with("created_at", timestamp_text(now))
                .with("payload", payload.to_string())
                .with("log", "[]")
                .with("ttl", expires);
            let marker = Item::new(&marker_key(&webhook_id, &event.id))
                .with("delivery_id", delivery_id.as_str())
                .with("ttl", expires);
            match self
                .rows
                .store()
                .transact_write(vec![WriteOp::put_new(item), WriteOp::put_new(marker)])
                .await
            {
                Ok(()) => {}
                // Emitted before: that delivery stands.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            let message = WebhookMessage::Deliver {
                owner: event.owner.clone(),
                webhook_id,
                delivery_id,
            };
            messages.push(OutgoingMessage::new(
                serde_json::to_string(&message).unwrap_or_default(),
            ));
        }
        let count = messages.len();
        if !messages.is_empty() {
            self.queue.send_batch(messages).await?;
        }
        Ok(Dispatched::Fanned { deliveries: count })
    }

    async fn deliver(
        &self,
        owner: &str,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Dispatched, WebhookError> {
        let store = self.rows.store();
        let Some(delivery) = store.get(&delivery_key(webhook_id, delivery_id)).await? else {
            return Ok(Dispatched::Skipped);
        };
        if delivery.str("status") == Some("delivered") {
            return Ok(Dispatched::Skipped);
        }
        let webhook = store.get(&webhook_key(owner, webhook_id)).await?;
        let Some(webhook) = webhook.filter(|w| w.str(layout::TABLE_ATTR) == Some("webhooks"))
        else {
            self.record(&delivery, "failed", None, "the webhook was deleted", None)
                .await?;
            return Ok(Dispatched::Skipped);
        };
        if !is_active(&webhook) {
            self.record(&delivery, "failed", None, "the webhook is inactive", None)
                .await?;
            return Ok(Dispatched::Skipped);
        }
        let url = webhook.str("url").unwrap_or_default().to_owned();
        let body = delivery.str("payload").unwrap_or("{}").as_bytes().to_vec();
        let now = self.clock.now();
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "user-agent".to_owned(),
                concat!("Scaliyo-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
            ),
            (
                "scaliyo-event".to_owned(),
                delivery.str("event_type").unwrap_or_default().to_owned(),
            ),
            (
                "scaliyo-event-id".to_owned(),
                delivery.str("event_id").unwrap_or_default().to_owned(),
            ),
            ("scaliyo-delivery".to_owned(), delivery_id.to_owned()),
        ];
        if let Some(secret) = webhook.str("secret").filter(|s| !s.is_empty()) {
            headers.push((
                "scaliyo-signature".to_owned(),
                webhooks::signature(secret.as_bytes(), now.timestamp(), &body),
            ));
        }
        let request = WebhookRequest { url, headers, body };
        let attempt = delivery.i64("attempts").unwrap_or(0) + 1;
        let result = self.transport.post(&request).await;
        let (ok, status, latency, error, retryable) = match &result {
            Ok(response) => (
                (200..300).contains(&response.status),
                Some(response.status),
                Some(response.elapsed.as_millis() as u64),
                (!(200..300).contains(&response.status))
                    .then(|| format!("HTTP {}", response.status)),
                webhooks::retryable_status(response.status),
            ),
            Err(TransportError::Refused(reason)) => {
                (false, None, None, Some(format!("refused: {reason}")), false)
            }
            Err(TransportError::Failed(reason)) => (false, None, None, Some(reason.clone()), true),
        };
        self.count(&webhook, ok).await;
        if ok {
            let attempt = Attempt {
                status,
                latency_ms: latency,
            };
            self.record(&delivery, "delivered", Some(attempt), "", None)
                .await?;
            return Ok(Dispatched::Delivered {
                status: status.unwrap_or(200),
            });
        }
        let error = error.unwrap_or_default();
        if retryable && attempt < i64::from(webhooks::MAX_ATTEMPTS) {
            let delay = self
                .retry_delay
                .unwrap_or_else(|| webhooks::retry_delay(attempt as u32 + 1));
            let next = now + Duration::from_std(delay).unwrap_or(Duration::minutes(1));
            let made = Attempt {
                status,
                latency_ms: latency,
            };
            self.record(&delivery, "retrying", Some(made), &error, Some(next))
                .await?;
            let message = WebhookMessage::Deliver {
                owner: owner.to_owned(),
                webhook_id: webhook_id.to_owned(),
                delivery_id: delivery_id.to_owned(),
            };
            self.queue
                .send_batch(vec![
                    OutgoingMessage::new(serde_json::to_string(&message).unwrap_or_default())
                        .delayed(delay),
                ])
                .await?;
            return Ok(Dispatched::Retrying {
                attempt,
                after_seconds: delay.as_secs(),
            });
        }
        let attempt = Attempt {
            status,
            latency_ms: latency,
        };
        self.record(&delivery, "failed", Some(attempt), &error, None)
            .await?;
        Ok(Dispatched::Failed { reason: error })
    }

    /// Sets the delivery's status, appending the attempt (when one was made) to its log.
    async fn record(
        &self,
        delivery: &Item,
        status: &str,
        attempt: Option<Attempt>,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), WebhookError> {
        let now = self.clock.now();
        let attempted = attempt.is_some();
        let Attempt {
            status: http_status,
            latency_ms,
        } = attempt.unwrap_or_default();
        let mut log: Vec<Value> = delivery
            .str("log")
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_default();
        let attempts = delivery.i64("attempts").unwrap_or(0) + i64::from(attempted);
        if attempted {
            log.push(json!({
                "attempt": attempts,
                "at": timestamp_text(now),
                "status": http_status,
                "latency_ms": latency_ms,
                "error": (!error.is_empty()).then_some(error),
            }));
            if log.len() > ATTEMPT_LOG {
                log.drain(..log.len() - ATTEMPT_LOG);
            }
        }
        let mut update = Update::new()
            .set("status", status)
            .set("attempts", attempts)
            .set("log", Value::Array(log).to_string())
            .set("last_attempt_at", timestamp_text(now));
        update = match next {
            Some(at) => update.set("next_attempt_at", timestamp_text(at)),
            None => update.remove("next_attempt_at"),
        };
        let key = delivery.key()?;
        self.rows
            .store()
            .update(&key, update, Some(Condition::item_exists()))
            .await?;
        Ok(())
    }

    /// `fire_count`, `fail_count`, `last_fired`, then `success_rate` from the counts the
    /// update returned. The version moves too, so a data-API edit in flight retries instead
    /// of writing back older counts.
    async fn count(&self, webhook: &Item, ok: bool) {
        let Ok(key) = webhook.key() else { return };
        let store = self.rows.store();
        let update = Update::new()
            .add("fire_count", 1i64)
            .add("fail_count", if ok { 0i64 } else { 1 })
            .add(VERSION_ATTR, 1i64)
            .set("last_fired", timestamp_text(self.clock.now()))
            .set("updated_at", timestamp_text(self.clock.now()));
        let after = match store
            .update(&key, update, Some(Condition::item_exists()))
            .await
        {
            Ok(after) => after,
            Err(error) => {
                tracing::warn!(%error, "counting a webhook attempt failed");
                return;
            }
        };
        let fired = after.i64("fire_count").unwrap_or(0).max(1) as f64;
        let failed = after.i64("fail_count").unwrap_or(0) as f64;
        let rate = ((fired - failed) / fired * 1000.0).round() / 10.0;
        if let Err(error) = store
            .update(
                &key,
                Update::new().set("success_rate", StoreValue::from_json(&json!(rate))),
                Some(Condition::item_exists()),
            )
            .await
        {
            tracing::warn!(%error, "updating a webhook's success rate failed");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The log, through the API

#[derive(Clone)]
pub struct WebhookLog {
    access: Arc<Access>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl WebhookLog {
    pub fn new(access: Arc<Access>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            access,
            queue,
            clock,
        }
    }

    /// The newest deliveries of a webhook the caller can see.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        webhook_id: &str,
    ) -> Result<Vec<Delivery>, WebhookError> {
        self.access.get(actor, "webhooks", webhook_id).await?;
        let page = self
            .access
            .rows()
            .store()
            .query(
                Query::partition(scaliyo_store::Index::Table, format!("WH#{webhook_id}"))
                    .sort(SortCondition::BeginsWith("D#".into()))
                    .backward()
                    .limit(LOG_PAGE),
            )
            .await?;
        let now = self.clock.now().timestamp();
        Ok(page
            .items
            .iter()
            .filter(|i| !i.is_expired(now))
            .map(Delivery::from_item)
            .collect())
    }

    /// Sends a delivery again now (its attempts continue in the same log).
    pub async fn redeliver(
        &self,
        actor: &Actor,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery, WebhookError> {
        let webhook = self.access.get(actor, "webhooks", webhook_id).await?;
        let owner = webhook["owner_id"].as_str().unwrap_or_default().to_owned();
        let store = self.access.rows().store();
        let key = delivery_key(webhook_id, delivery_id);
        let item = store
            .update(
                &key,
                Update::new()
                    .set("status", "pending")
                    .remove("next_attempt_at"),
                Some(Condition::item_exists()),
            )
            .await
            .map_err(|e| match e {
                StoreError::ConditionFailed { .. } => WebhookError::from(RowError::NotFound),
                other => other.into(),
            })?;
        let message = WebhookMessage::Deliver {
            owner,
            webhook_id: webhook_id.to_owned(),
            delivery_id: delivery_id.to_owned(),
        };
        self.queue
            .send_batch(vec![OutgoingMessage::new(
                serde_json::to_string(&message).unwrap_or_default(),
            )])
            .await?;
        Ok(Delivery::from_item(&item))
    }
}
