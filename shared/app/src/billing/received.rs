//! Receiving a Stripe webhook event, for both endpoints (the platform's and Connect's):
//! checked against the endpoint's secret (refused without one), read, and looked up by its
//! marker (`STRIPEEVT#<id>`, kept 90 days) so that each event is applied once — the marker
//! goes into the transaction that applies it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::billing::{SignatureError, verify_signature};
use scaliyo_store::{Item, Key, StoreError, Table, WriteOp};
use serde::Deserialize;
use serde_json::Value;

/// A Stripe event, as both endpoints receive it.
#[derive(Deserialize)]
pub(crate) struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The connected account the event happened in (Connect events only).
    pub account: Option<String>,
    pub data: EventData,
}

#[derive(Deserialize)]
pub(crate) struct EventData {
    pub object: Value,
}

/// An event not applied before, and the marker to write with its changes.
// One value per request, moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Received {
    New {
        event: StripeEvent,
        marker: WriteOp,
    },
    /// Already applied: a redelivery.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReceiveError {
    /// No signing secret configured: every event is refused.
    #[error("no webhook secret is configured")]
    NotConfigured,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("not a Stripe event: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn marker_key(event_id: &str) -> Key {
    Key::new(format!("STRIPEEVT#{event_id}"), "STRIPEEVT")
}

pub(crate) async fn receive(
    store: &Arc<dyn Table>,
    secret: Option<&str>,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Received, ReceiveError> {
    let secret = secret
        .filter(|s| !s.is_empty())
        .ok_or(ReceiveError::NotConfigured)?;
    verify_signature(signature, body, secret, now.timestamp())?;
    let event: StripeEvent =
        serde_json::from_slice(body).map_err(|e| ReceiveError::Malformed(e.to_string()))?;
    let key = marker_key(&event.id);
    if store.get(&key).await?.is_some() {
        return Ok(Received::Duplicate);
    }
    let marker = WriteOp::put_new(
        Item::new(&key)
            .with("type", event.event_type.as_str())
            .with(
                scaliyo_store::table::TTL,
                (now + chrono::Duration::days(90)).timestamp(),
            ),
    );
    Ok(Received::New { event, marker })
}
