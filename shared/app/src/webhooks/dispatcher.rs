//! The consumer: an emitted event fanned out to one delivery per subscribed webhook, each
//! delivered signed, retried through the queue's delay and logged.

use super::*;

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
    pub(super) fn from_item(item: &Item) -> Self {
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
    /// `WebhookDeliveries` by status (delivered, retrying, failed).
    metrics: Arc<dyn scaliyo_store::Metrics>,
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
            metrics: scaliyo_store::no_metrics(),
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
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
            } => self.deliver(owner, &webhook_id, &delivery_id).await,
        }
    }

    async fn fan_out(&self, event: WebhookEvent) -> Result<Dispatched, WebhookError> {
        let now = self.clock.now();
        let mut messages = Vec::new();
        for webhook in webhooks_of(&self.rows, event.owner).await? {
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
                .with("owner", event.owner.to_string())
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
                owner: event.owner,
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
        owner: OwnerId,
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
                owner,
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
        self.metrics
            .count("WebhookDeliveries", &[("status", status)], 1);
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
