//! The SaaS's own subscriptions on Stripe (issue 21, part A): a checkout page for a plan, the
//! customer portal, the billing summary, and the signed webhook events that make Stripe the
//! only writer of `subscriptions` (and of `profiles.plan`, kept in step). `docs/billing.md`.

mod account;
mod events;
pub(crate) mod received;
mod sync;

use std::sync::Arc;

use scaliyo_domain::billing::SignatureError;
use scaliyo_store::{Clock, PaymentError, Payments};

use crate::access::{Access, AccessError};

pub use account::{BillingSummary, CheckoutLink, SetPlan};
pub use events::Applied;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// No payment provider in this deployment (locally, unless `STRIPE_SECRET_KEY` is set).
    #[error("billing is not configured: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")]
    NotConfigured,
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The user has no customer at the provider yet (nothing to manage in the portal).
    #[error("there is no subscription to manage yet: choose a plan first")]
    NoCustomer,
    #[error("the Stripe-Signature does not verify: {0}")]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Provider(#[from] PaymentError),
    #[error(transparent)]
    Access(#[from] AccessError),
}

crate::errors::through_access!(BillingError);

impl From<received::ReceiveError> for BillingError {
    fn from(error: received::ReceiveError) -> Self {
        match error {
            received::ReceiveError::NotConfigured => BillingError::NotConfigured,
            received::ReceiveError::Signature(e) => BillingError::Signature(e),
            malformed @ received::ReceiveError::Malformed(_) => {
                invalid("body", malformed.to_string())
            }
            received::ReceiveError::Store(e) => e.into(),
        }
    }
}
crate::errors::invalid_constructor!(BillingError);

/// Where the provider sends the browser back to (the frontend's pages).
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// The frontend's base URL: checkout returns to `{app_url}/billing?checkout=success&session_id=…`
    /// (or `=cancelled`), the portal to `{app_url}/billing`.
    pub app_url: String,
    /// The webhook endpoint's signing secret (`whsec_…`); without it every event is refused.
    pub webhook_secret: Option<String>,
}

#[derive(Clone)]
pub struct Billing {
    access: Arc<Access>,
    payments: Option<Arc<dyn Payments>>,
    clock: Arc<dyn Clock>,
    config: BillingConfig,
}

impl Billing {
    pub fn new(
        access: Arc<Access>,
        payments: Option<Arc<dyn Payments>>,
        clock: Arc<dyn Clock>,
        config: BillingConfig,
    ) -> Self {
        Self {
            access,
            payments,
            clock,
            config,
        }
    }

    fn payments(&self) -> Result<&Arc<dyn Payments>, BillingError> {
        self.payments.as_ref().ok_or(BillingError::NotConfigured)
    }
}
