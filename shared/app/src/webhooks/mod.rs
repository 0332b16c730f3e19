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
use scaliyo_domain::ids::OwnerId;
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

mod dispatcher;
mod emitter;
mod log;

pub use dispatcher::{Delivery, Dispatched, WebhookDispatcher};
pub use emitter::WebhookEmitter;
pub use log::WebhookLog;

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
    pub owner: OwnerId,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

/// What travels on the webhook queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebhookMessage {
    Emit(WebhookEvent),
    Deliver {
        owner: OwnerId,
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

fn webhook_key(owner: OwnerId, id: &str) -> Key {
    layout::row_key(
        &scaliyo_domain::schema::WEBHOOKS,
        Some(&owner.to_string()),
        id,
    )
}

/// The owner's webhook rows (raw items), from the owner's partition.
async fn webhooks_of(rows: &Rows, owner: OwnerId) -> Result<Vec<Item>, StoreError> {
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

/// `evt_<uuid v5 of type and subject>`.
pub fn event_id(event_type: &str, subject: &str) -> String {
    let id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:webhook-event:{event_type}:{subject}").as_bytes(),
    );
    format!("evt_{}", id.simple())
}
