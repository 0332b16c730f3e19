//! The invoicing port: invoices that users send to their leads through their own payment
//! account (Stripe Connect). Every call names the connected account it acts in, and every
//! create carries an idempotency key derived from our ids, so a retried send never makes a
//! second customer or invoice.

use async_trait::async_trait;

use crate::PaymentError;

/// A user's connected payment account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    pub id: String,
    /// The account may take payments (onboarding is complete).
    pub charges_enabled: bool,
    pub details_submitted: bool,
}

/// An invoice as the provider has it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteInvoice {
    pub id: String,
    /// `draft`, `open`, `paid`, `void`, `uncollectible`.
    pub status: String,
    pub number: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
    /// Our invoice id (`metadata[invoice_id]`).
    pub invoice_id: Option<String>,
    /// When it was paid (epoch seconds).
    pub paid_at: Option<i64>,
}

/// A new invoice for a customer: sent by e-mail, due in `days_until_due`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    pub customer: String,
    pub currency: String,
    pub days_until_due: u32,
    /// Our invoice id, kept in `metadata[invoice_id]`.
    pub invoice_id: String,
    pub description: Option<String>,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub description: String,
    pub quantity: i64,
    pub unit_amount_cents: i64,
}

/// The end states an open invoice can be moved to by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceAction {
    Void,
    MarkUncollectible,
    /// Paid outside the provider (cash, bank transfer).
    PaidOutOfBand,
}

#[async_trait]
pub trait Invoicing: Send + Sync {
    /// A new connected account for a user (Express), created once per key.
    async fn create_account(&self, key: &str, email: Option<&str>) -> Result<String, PaymentError>;
    /// The onboarding page of a connected account.
    async fn onboarding_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<String, PaymentError>;
    async fn account(&self, account: &str) -> Result<ConnectedAccount, PaymentError>;
    async fn create_customer(
        &self,
        account: &str,
        key: &str,
        email: &str,
        name: Option<&str>,
        lead_id: &str,
    ) -> Result<String, PaymentError>;
    async fn create_invoice(
        &self,
        account: &str,
        key: &str,
        invoice: &NewInvoice,
    ) -> Result<RemoteInvoice, PaymentError>;
    async fn add_lines(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
        currency: &str,
        lines: &[NewLine],
    ) -> Result<RemoteInvoice, PaymentError>;
    async fn finalize(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
    ) -> Result<RemoteInvoice, PaymentError>;
    async fn send(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
    ) -> Result<RemoteInvoice, PaymentError>;
    async fn settle(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
        action: InvoiceAction,
    ) -> Result<RemoteInvoice, PaymentError>;
    async fn invoice(&self, account: &str, invoice: &str) -> Result<RemoteInvoice, PaymentError>;
}
