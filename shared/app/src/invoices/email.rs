//! An invoice e-mailed to the lead through the user's own sender, when no Stripe account of
//! theirs can take payments: the lines, the total and the due date in the body, sent once
//! (keyed by the invoice).

use scaliyo_domain::invoices::{self, EmailedInvoice, ShownLine};
use scaliyo_domain::schema;
use scaliyo_domain::status::InvoiceStatus;
use serde::Serialize;

use super::send::Prepared;
use super::{InvoiceError, Invoices};
use crate::access::Actor;
use crate::rows::{Row, RowError, field, timestamp_text, to_row};
use crate::send::{SendPipeline, SendRequest};

#[derive(Serialize)]
struct Emailed {
    status: InvoiceStatus,
    subtotal_cents: i64,
    total_cents: i64,
    sent_at: String,
    sent_via: &'static str,
}

impl Invoices {
    pub(super) async fn send_by_email(
        &self,
        actor: &Actor,
        mailer: &SendPipeline,
        prepared: &Prepared,
    ) -> Result<Row, InvoiceError> {
        let reference = field(&prepared.visible, "invoice_number")
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                prepared
                    .invoice_id
                    .chars()
                    .take(8)
                    .collect::<String>()
                    .to_uppercase()
            });
        let shown: Vec<ShownLine<'_>> = prepared
            .lines
            .iter()
            .zip(&prepared.totals.amounts)
            .map(|(line, amount)| ShownLine {
                description: field(line, "description").as_str().unwrap_or_default(),
                quantity: field(line, "quantity").as_i64().unwrap_or(1),
                unit_price_cents: field(line, "unit_price_cents").as_i64().unwrap_or(0),
                amount_cents: *amount,
            })
            .collect();
        let html = invoices::email_html(&EmailedInvoice {
            reference: &reference,
            currency: &prepared.currency,
            lines: shown,
            total_cents: prepared.totals.total_cents,
            due: prepared.due,
            notes: field(&prepared.visible, "notes").as_str(),
        });
        let request = SendRequest {
            lead_id: prepared.lead_id.clone(),
            to_email: None,
            sender_account_id: None,
            template_id: None,
            subject: Some(format!(
                "Invoice {reference}: {}",
                invoices::money(prepared.totals.total_cents, &prepared.currency)
            )),
            html_body: Some(html),
            variables: Default::default(),
            track_opens: false,
            track_clicks: false,
            honeypot_link: false,
        };
        // One e-mail per invoice, however often the send is retried.
        let key = format!("invoice-{}", prepared.invoice_id);
        mailer.send(actor, request, Some(&key)).await?;
        let item = self
            .access
            .rows()
            .get_raw(
                &schema::INVOICES,
                Some(&prepared.owner.to_string()),
                &prepared.invoice_id,
            )
            .await?
            .ok_or(RowError::NotFound)?;
        let patch = to_row(&Emailed {
            status: InvoiceStatus::Open,
            subtotal_cents: prepared.totals.subtotal_cents,
            total_cents: prepared.totals.total_cents,
            sent_at: timestamp_text(self.clock.now()),
            sent_via: "email",
        })?;
        self.record_sent(&item, patch, &prepared.lines, &prepared.totals.amounts)
            .await
    }
}
