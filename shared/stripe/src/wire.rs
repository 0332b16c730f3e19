//! Stripe's JSON shapes, only the fields we read, and its error envelope.

use scaliyo_store::{CheckoutSession, PaymentError, RemoteSubscription};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub(crate) struct List<T> {
    pub data: Vec<T>,
}

#[derive(Deserialize)]
pub(crate) struct Price {
    pub id: String,
}

#[derive(Deserialize)]
pub(crate) struct Portal {
    pub url: String,
}

/// An expandable field: an id, or the object when expanded.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn id(self) -> String {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Session {
    id: String,
    url: Option<String>,
    client_reference_id: Option<String>,
    customer: Option<Expandable>,
    subscription: Option<Expandable>,
    status: Option<String>,
}

impl From<Session> for CheckoutSession {
    fn from(s: Session) -> Self {
        CheckoutSession {
            id: s.id,
            url: s.url,
            client_reference_id: s.client_reference_id,
            customer: s.customer.map(Expandable::id),
            subscription: s.subscription.map(Expandable::id),
            status: s.status,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Subscription {
    id: String,
    customer: Expandable,
    status: String,
    #[serde(default)]
    metadata: serde_json::Map<String, Value>,
    items: List<SubscriptionItem>,
    cancel_at: Option<i64>,
    /// Before API version 2025-03-31 the period was on the subscription.
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct SubscriptionItem {
    price: ItemPrice,
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct ItemPrice {
    lookup_key: Option<String>,
}

impl From<Subscription> for RemoteSubscription {
    fn from(s: Subscription) -> Self {
        let first = s.items.data.into_iter().next();
        RemoteSubscription {
            id: s.id,
            customer: s.customer.id(),
            status: s.status,
            user_id: s
                .metadata
                .get("user_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            current_period_end: first
                .as_ref()
                .and_then(|i| i.current_period_end)
                .or(s.current_period_end),
            lookup_key: first.and_then(|i| i.price.lookup_key),
            cancel_at: s.cancel_at,
        }
    }
}

/// An object id as a path segment: Stripe ids are `[A-Za-z0-9_]`; anything else is refused
/// before a request is made (an id from a caller must not change the path).
pub(crate) fn path_segment(id: &str) -> Result<&str, PaymentError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(PaymentError::NotFound)
    }
}

/// Stripe's error envelope: `{"error": {"type", "code", "message", "param"}}`.
pub(crate) fn error_of(status: u16, body: &[u8]) -> PaymentError {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| v["error"].clone())
        .unwrap_or(Value::Null);
    let message = error["message"]
        .as_str()
        .unwrap_or("the payment provider refused the request")
        .to_owned();
    match status {
        404 => PaymentError::NotFound,
        429 | 500..=599 => PaymentError::Unavailable(format!("{status}: {message}")),
        _ => PaymentError::Refused {
            code: error["code"]
                .as_str()
                .or(error["type"].as_str())
                .unwrap_or("invalid_request_error")
                .to_owned(),
            message,
        },
    }
}

/// Any object whose id is all we need.
#[derive(Deserialize)]
pub(crate) struct Object {
    pub id: String,
}

#[derive(Deserialize)]
pub(crate) struct Account {
    id: String,
    #[serde(default)]
    charges_enabled: bool,
    #[serde(default)]
    details_submitted: bool,
}

impl From<Account> for scaliyo_store::ConnectedAccount {
    fn from(a: Account) -> Self {
        scaliyo_store::ConnectedAccount {
            id: a.id,
            charges_enabled: a.charges_enabled,
            details_submitted: a.details_submitted,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Invoice {
    id: String,
    status: Option<String>,
    number: Option<String>,
    hosted_invoice_url: Option<String>,
    invoice_pdf: Option<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, Value>,
    #[serde(default)]
    status_transitions: Value,
}

impl From<Invoice> for scaliyo_store::RemoteInvoice {
    fn from(i: Invoice) -> Self {
        scaliyo_store::RemoteInvoice {
            id: i.id,
            status: i.status.unwrap_or_default(),
            number: i.number,
            hosted_invoice_url: i.hosted_invoice_url,
            invoice_pdf: i.invoice_pdf,
            invoice_id: i
                .metadata
                .get("invoice_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            paid_at: i.status_transitions["paid_at"].as_i64(),
        }
    }
}
