//! The payments port: what the billing use cases ask of the payment provider (Stripe) for
//! the SaaS's own subscriptions — a checkout page for a plan, the customer portal, and the
//! current state of a checkout or a subscription.

use async_trait::async_trait;

/// A subscription checkout for one user and one plan price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// Our user id: `client_reference_id` and `metadata[user_id]` on the session and the
    /// subscription, so that every later event names the user.
    pub user_id: String,
    /// The price's lookup key (`scaliyo_growth`).
    pub lookup_key: String,
    /// The provider's customer, once the user has one; else the e-mail pre-fills checkout.
    pub customer: Option<String>,
    pub email: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
}

/// A checkout session as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckoutSession {
    pub id: String,
    /// Where to send the browser (present while the session is open).
    pub url: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer: Option<String>,
    pub subscription: Option<String>,
    /// `open`, `complete` or `expired`.
    pub status: Option<String>,
}

/// A subscription as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteSubscription {
    pub id: String,
    pub customer: String,
    /// The provider's status (`active`, `past_due`, `canceled`, …).
    pub status: String,
    /// `metadata[user_id]`, set at checkout.
    pub user_id: Option<String>,
    /// The lookup key of the first item's price.
    pub lookup_key: Option<String>,
    /// Epoch seconds.
    pub current_period_end: Option<i64>,
    pub cancel_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The provider answered and refused (a 4xx): not worth retrying as is.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// No such object (404).
    #[error("not found at the payment provider")]
    NotFound,
    /// The provider could not be reached, timed out, throttled or failed (5xx, 429).
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Payments: Send + Sync {
    /// A hosted checkout page subscribing the user to the price with the request's lookup key.
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentError>;
    /// The customer portal for a customer; returns its URL.
    async fn create_portal(&self, customer: &str, return_url: &str)
    -> Result<String, PaymentError>;
    async fn checkout_session(&self, id: &str) -> Result<CheckoutSession, PaymentError>;
    async fn subscription(&self, id: &str) -> Result<RemoteSubscription, PaymentError>;
}
