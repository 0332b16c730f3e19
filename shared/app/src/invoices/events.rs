//! Stripe Connect events about the invoices users sent (`invoice.finalized`, `sent`, `paid`,
//! `payment_failed`, `voided`, `marked_uncollectible`): matched by our invoice id, checked
//! against the account the event came from, and applied from the invoice as Stripe has it now.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_domain::status::InvoiceStatus;
use scaliyo_store::{PaymentError, StoreError, WriteOp};
use serde::Serialize;

use super::{InvoiceError, Invoices, remote_invoice_key};
use crate::billing::Applied;
use crate::billing::received::{self, Received, StripeEvent};
use crate::rows::{RowError, timestamp_text, to_row};

/// The columns an event may move.
#[derive(Serialize)]
struct Remote<'a> {
    status: InvoiceStatus,
    invoice_number: Option<&'a str>,
    stripe_hosted_url: Option<&'a str>,
    stripe_pdf_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<String>,
}

const INVOICE_EVENTS: [&str; 6] = [
    "invoice.finalized",
    "invoice.sent",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
];

impl Invoices {
    /// `POST /webhooks/stripe-connect`: the Connect endpoint's events, signed with its own
    /// secret (fail closed without it).
    pub async fn apply_connect_event(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<Applied, InvoiceError> {
        let store = self.access.rows().store();
        let received = received::receive(
            store,
            self.config.connect_webhook_secret.as_deref(),
            signature,
            body,
            self.clock.now(),
        )
        .await?;
        let Received::New { event, marker } = received else {
            return Ok(Applied::Duplicate);
        };
        let change = self.invoice_ops(&event).await?;
        let mut all = vec![marker];
        if let Some((op, _, _)) = &change {
            all.push(op.clone());
        }
        match store.transact_write(all).await {
            Ok(()) => match change {
                Some((_, owner, row)) => {
                    if crate::rows::field(&row, "status") == "paid" {
                        self.emit(owner, "invoice.paid", &row).await;
                    }
                    Ok(Applied::Applied)
                }
                None => Ok(Applied::Ignored),
            },
            Err(StoreError::ConditionFailed { index: Some(0) }) => Ok(Applied::Duplicate),
            // The invoice changed meanwhile (a send finishing): Stripe retries the event.
            Err(StoreError::ConditionFailed { .. }) => Err(RowError::Concurrent.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The actions that make our invoice what Stripe has now; `None` for events that are
    /// not about one of our invoices in the account they came from.
    async fn invoice_ops(
        &self,
        event: &StripeEvent,
    ) -> Result<Option<(WriteOp, OwnerId, crate::rows::Row)>, InvoiceError> {
        if !INVOICE_EVENTS.contains(&event.event_type.as_str()) {
            return Ok(None);
        }
        let Some(remote_id) = event.data.object["id"].as_str() else {
            return Ok(None);
        };
        let store = self.access.rows().store();
        let Some(mapped) = store.get(&remote_invoice_key(remote_id)).await? else {
            return Ok(None);
        };
        let (Some(owner), Some(invoice_id), Some(account)) = (
            mapped.str("owner").map(str::to_owned),
            mapped.str("invoice_id").map(str::to_owned),
            mapped.str("account").map(str::to_owned),
        ) else {
            return Ok(None);
        };
        // An event from another account naming this invoice id is not believed.
        if event.account.as_deref() != Some(account.as_str()) {
            tracing::warn!(event_id = %event.id, "a Connect event from another account was ignored");
            return Ok(None);
        }
        let remote = match self.invoicing()?.invoice(&account, remote_id).await {
            Ok(remote) => remote,
            Err(PaymentError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if remote.invoice_id.as_deref() != Some(invoice_id.as_str()) {
            return Ok(None);
        }
        let Some(status) = InvoiceStatus::parse(&remote.status) else {
            return Ok(None);
        };
        let rows = self.access.rows();
        let Some(item) = rows
            .get_raw(&schema::INVOICES, Some(&owner), &invoice_id)
            .await?
        else {
            return Ok(None);
        };
        let paid_at = remote
            .paid_at
            .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
            .map(timestamp_text)
            .filter(|_| status == InvoiceStatus::Paid);
        let patch = to_row(&Remote {
            status,
            invoice_number: remote.number.as_deref(),
            stripe_hosted_url: remote.hosted_invoice_url.as_deref(),
            stripe_pdf_url: remote.invoice_pdf.as_deref(),
            paid_at,
        })?;
        let (row, op) = rows.transition_op(&schema::INVOICES, &item, patch, &[])?;
        let owner: OwnerId = owner
            .parse()
            .map_err(|_| RowError::Invariant("an invoice map without its owner".into()))?;
        Ok(Some((op, owner, row)))
    }
}
