//! Invoices users send to their leads (issue 21, part B): drafts from a package, the totals
//! computed by the server, sending through the user's own Stripe account (Connect) with every
//! create keyed by our ids, the end states (void, uncollectible, paid out of band), and the
//! Connect events that keep status and payment true. `docs/billing.md`.

mod connect;
mod email;
mod events;
mod lifecycle;
mod package;
mod send;

use std::sync::Arc;

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::invoices::InvoiceRuleError;
use scaliyo_domain::schema;
use scaliyo_domain::status::InvoiceStatus;
use scaliyo_store::{Clock, Invoicing, Item, Key, PaymentError};

use crate::access::{Access, AccessError};
use crate::layout;
use crate::rows::{ListRequest, Row};
use crate::send::SendPipeline;
use crate::webhooks::WebhookEmitter;

pub use connect::ConnectStatus;
pub use package::FromPackage;

#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    /// No Stripe in this deployment.
    #[error("invoicing through Stripe is not configured: set STRIPE_SECRET_KEY")]
    NotConfigured,
    /// The user has not connected (or finished onboarding) a Stripe account.
    #[error("connect a Stripe account first (POST /v1/billing/connect)")]
    NotConnected,
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the invoice is {status}: {action}")]
    WrongState {
        status: String,
        action: &'static str,
    },
    #[error(transparent)]
    Rule(#[from] InvoiceRuleError),
    #[error("the Stripe-Signature does not verify: {0}")]
    Signature(#[from] scaliyo_domain::billing::SignatureError),
    #[error(transparent)]
    Provider(#[from] PaymentError),
    /// The e-mailed invoice could not be sent (no sender, quota, suppression, provider).
    #[error(transparent)]
    Send(Box<crate::send::SendError>),
    #[error(transparent)]
    Access(#[from] AccessError),
}

crate::errors::through_access!(InvoiceError);

impl From<crate::billing::received::ReceiveError> for InvoiceError {
    fn from(error: crate::billing::received::ReceiveError) -> Self {
        use crate::billing::received::ReceiveError;
        match error {
            ReceiveError::NotConfigured => InvoiceError::NotConfigured,
            ReceiveError::Signature(e) => InvoiceError::Signature(e),
            malformed @ ReceiveError::Malformed(_) => invalid("body", malformed.to_string()),
            ReceiveError::Store(e) => e.into(),
        }
    }
}

impl From<crate::send::SendError> for InvoiceError {
    fn from(error: crate::send::SendError) -> Self {
        match error {
            crate::send::SendError::Access(e) => InvoiceError::Access(e),
            other => InvoiceError::Send(Box::new(other)),
        }
    }
}
crate::errors::invalid_constructor!(InvoiceError);

#[derive(Debug, Clone)]
pub struct InvoicesConfig {
    /// The frontend's base URL: Connect onboarding returns to `{app_url}/billing/connect`.
    pub app_url: String,
    /// The Connect webhook endpoint's signing secret (`whsec_…`).
    pub connect_webhook_secret: Option<String>,
}

#[derive(Clone)]
pub struct Invoices {
    access: Arc<Access>,
    invoicing: Option<Arc<dyn Invoicing>>,
    clock: Arc<dyn Clock>,
    config: InvoicesConfig,
    /// Sends an invoice by e-mail through the user's sender when no Stripe account is
    /// connected (where the send pipeline runs: `send-email`, the local server).
    mailer: Option<Arc<SendPipeline>>,
    webhooks: Option<WebhookEmitter>,
}

impl Invoices {
    pub fn new(
        access: Arc<Access>,
        invoicing: Option<Arc<dyn Invoicing>>,
        clock: Arc<dyn Clock>,
        config: InvoicesConfig,
    ) -> Self {
        Self {
            access,
            invoicing,
            clock,
            config,
            mailer: None,
            webhooks: None,
        }
    }

    pub fn with_mailer(mut self, mailer: Option<Arc<SendPipeline>>) -> Self {
        self.mailer = mailer;
        self
    }

    /// `invoice.sent` and `invoice.paid` go to the user's own webhooks.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    async fn emit(&self, owner: OwnerId, event_type: &str, invoice: &Row) {
        if let Some(webhooks) = &self.webhooks {
            let id = crate::rows::field(invoice, "id")
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let data = serde_json::json!({
                "invoice_id": id,
                "lead_id": crate::rows::field(invoice, "lead_id"),
                "status": crate::rows::field(invoice, "status"),
                "total_cents": crate::rows::field(invoice, "total_cents"),
                "currency": crate::rows::field(invoice, "currency"),
                "invoice_number": crate::rows::field(invoice, "invoice_number"),
                "sent_via": crate::rows::field(invoice, "sent_via"),
            });
            webhooks.emit(owner, event_type, &id, data).await;
        }
    }

    fn invoicing(&self) -> Result<&Arc<dyn Invoicing>, InvoiceError> {
        self.invoicing.as_ref().ok_or(InvoiceError::NotConfigured)
    }

    /// The invoice's line items, in the order they were added.
    async fn lines_of(&self, owner: OwnerId, invoice_id: &str) -> Result<Vec<Row>, InvoiceError> {
        let mut lines = self
            .access
            .rows()
            .list_all(
                &schema::INVOICE_LINE_ITEMS,
                Some(&owner.to_string()),
                ListRequest {
                    index: Some("idx_invoice_line_items_invoice".into()),
                    equals: vec![invoice_id.to_owned()],
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
        lines.sort_by(|a, b| {
            crate::rows::field(a, "created_at")
                .as_str()
                .cmp(&crate::rows::field(b, "created_at").as_str())
                .then(
                    crate::rows::field(a, "id")
                        .as_str()
                        .cmp(&crate::rows::field(b, "id").as_str()),
                )
        });
        Ok(lines)
    }
}

/// The invoice's status, refusing a value outside the CHECK set (a broken invariant).
fn status_of(invoice: &Row) -> Result<InvoiceStatus, InvoiceError> {
    InvoiceStatus::of(crate::rows::field(invoice, "status")).ok_or_else(|| {
        crate::rows::RowError::Invariant(format!(
            "invoice status {:?}",
            crate::rows::field(invoice, "status")
        ))
        .into()
    })
}

/// `U#<owner> / stripe#connect`: the user's connected account, written only by the server
/// (an `integrations` row is the client's to write, so it cannot name the account).
fn connect_key(owner: OwnerId) -> Key {
    Key::new(layout::owner_partition(owner), "stripe#connect")
}

/// `STRIPEINV#<stripe invoice id>`: whose invoice a Connect event is about.
fn remote_invoice_key(stripe_invoice_id: &str) -> Key {
    Key::new(format!("STRIPEINV#{stripe_invoice_id}"), "STRIPEINV")
}

impl Invoices {
    /// The user's connected account id, if they have one.
    async fn account_of(&self, owner: OwnerId) -> Result<Option<String>, InvoiceError> {
        let item: Option<Item> = self.access.rows().store().get(&connect_key(owner)).await?;
        Ok(item.and_then(|i| i.str("account").map(str::to_owned)))
    }
}
