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

/// Stripe's error envelope: `{"error": {"type", "code", "message", "param"}}`; a
/// `Stripe-Should-Retry` header, when present, decides whether the failure is transient.
pub(crate) fn error_of(status: u16, should_retry: Option<bool>, body: &[u8]) -> PaymentError {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| v["error"].clone())
        .unwrap_or(Value::Null);
    let message = error["message"]
        .as_str()
        .unwrap_or("the payment provider refused the request")
        .to_owned();
    let transient = should_retry.unwrap_or(matches!(status, 429 | 500..=599));
    match status {
        404 => PaymentError::NotFound,
        _ if transient => PaymentError::Unavailable(format!("{status}: {message}")),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str, code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({ "error": { "type": kind, "code": code, "message": message, "param": "x" } })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn stripes_errors_become_refusals_absences_or_transient_failures() {
        let card = envelope("card_error", "card_declined", "Your card was declined.");
        assert_eq!(
            error_of(402, None, &card),
            PaymentError::Refused {
                code: "card_declined".into(),
                message: "Your card was declined.".into()
            }
        );
        let invalid = envelope(
            "invalid_request_error",
            "parameter_missing",
            "Missing required param: customer.",
        );
        assert!(
            matches!(error_of(400, None, &invalid), PaymentError::Refused { code, .. } if code == "parameter_missing")
        );
        let missing = envelope(
            "invalid_request_error",
            "resource_missing",
            "No such invoice",
        );
        assert_eq!(error_of(404, None, &missing), PaymentError::NotFound);
        let limited = envelope("invalid_request_error", "rate_limit", "Too many requests");
        assert!(matches!(
            error_of(429, None, &limited),
            PaymentError::Unavailable(_)
        ));
        let api = envelope("api_error", "api_error", "Something went wrong");
        assert!(matches!(
            error_of(500, None, &api),
            PaymentError::Unavailable(_)
        ));
        // Stripe's header wins over the status code, both ways.
        let conflict = envelope(
            "invalid_request_error",
            "lock_timeout",
            "This object cannot be accessed right now",
        );
        assert!(matches!(
            error_of(409, Some(true), &conflict),
            PaymentError::Unavailable(_)
        ));
        assert!(matches!(
            error_of(500, Some(false), &api),
            PaymentError::Refused { .. }
        ));
        // Not JSON at all: still an error with a message, never a panic.
        assert!(matches!(
            error_of(502, None, b"<html>bad gateway</html>"),
            PaymentError::Unavailable(_)
        ));
    }

    #[test]
    fn only_stripe_shaped_ids_become_path_segments() {
        assert_eq!(path_segment("in_1AbC"), Ok("in_1AbC"));
        for bad in ["", "in/../x", "in 1", "in%2F", &"a".repeat(256)] {
            assert_eq!(path_segment(bad), Err(PaymentError::NotFound), "{bad}");
        }
    }

    #[test]
    fn a_subscription_reads_its_period_from_the_item_or_the_older_top_level() {
        let basil: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "customer": "cus_1", "status": "active", "metadata": { "user_id": "u" },
            "items": { "data": [{ "price": { "lookup_key": "scaliyo_growth" }, "current_period_end": 200 }] },
            "cancel_at": null
        }))
        .unwrap();
        let remote = RemoteSubscription::from(basil);
        assert_eq!(
            (
                remote.current_period_end,
                remote.lookup_key.as_deref(),
                remote.user_id.as_deref()
            ),
            (Some(200), Some("scaliyo_growth"), Some("u"))
        );
        let acacia: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_2", "customer": { "id": "cus_2", "object": "customer" }, "status": "past_due",
            "items": { "data": [{ "price": { "lookup_key": null } }] }, "current_period_end": 100
        }))
        .unwrap();
        let remote = RemoteSubscription::from(acacia);
        assert_eq!(
            (remote.customer.as_str(), remote.current_period_end),
            ("cus_2", Some(100))
        );
    }
}
