//! `POST /v1/invoices/{id}/send`: a draft sent through the user's Stripe account. Each step
//! is keyed by our ids and checkpointed on the invoice's item, so a retry — minutes or days
//! later — resumes where the last attempt stopped and never makes a second customer,
//! invoice or set of lines.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::invoices::{self, Line};
use scaliyo_domain::schema;
use scaliyo_domain::status::InvoiceStatus;
use scaliyo_store::{
    Invoicing, Item, Key, NewInvoice, NewLine, StoreError, Value as StoreValue, WriteOp,
};
use serde::Serialize;
use serde_json::Value;

use super::{InvoiceError, Invoices, invalid, remote_invoice_key, status_of};
use crate::access::Actor;
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text, to_row};

/// Set once the lines are on the Stripe invoice.
const LINES_ADDED: &str = "_stripe_lines";

/// `U#<owner> / stripecus#<lead>`: the lead's customer in the user's account (one per lead).
fn customer_key(owner: OwnerId, lead_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("stripecus#{lead_id}"),
    )
}

/// A draft checked and priced, ready to go out either way.
pub(super) struct Prepared {
    pub owner: OwnerId,
    pub invoice_id: String,
    pub visible: Row,
    pub lead_id: String,
    pub lead: Row,
    pub email: String,
    pub lines: Vec<Row>,
    pub totals: invoices::Totals,
    pub due: Option<chrono::NaiveDate>,
    pub days_until_due: u32,
    pub currency: String,
}

#[derive(Serialize)]
struct Created<'a> {
    stripe_customer_id: &'a str,
    stripe_invoice_id: &'a str,
    subtotal_cents: i64,
    total_cents: i64,
}

#[derive(Serialize)]
struct Sent<'a> {
    status: InvoiceStatus,
    invoice_number: Option<&'a str>,
    stripe_hosted_url: Option<&'a str>,
    stripe_pdf_url: Option<&'a str>,
    sent_at: String,
    sent_via: &'static str,
}

impl Invoices {
    pub async fn send(&self, actor: &Actor, invoice_id: &str) -> Result<Value, InvoiceError> {
        let owner = actor.owner()?;
        let visible = self.access.get(actor, "invoices", invoice_id).await?;
        let status = status_of(&visible)?;
        if status != InvoiceStatus::Draft {
            return Err(InvoiceError::WrongState {
                status: status.to_string(),
                action: "only a draft can be sent",
            });
        }
        let lead_id = crate::rows::field(&visible, "lead_id")
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let lead = self.access.get(actor, "leads", &lead_id).await?;
        let email = crate::scheduler::lead_address(&lead)
            .ok_or_else(|| invalid("lead_id", "the lead has no e-mail address"))?;
        let lines = self.lines_of(owner, invoice_id).await?;
        let totals = invoices::totals(
            &lines
                .iter()
                .map(|l| Line {
                    quantity: crate::rows::field(l, "quantity").as_i64().unwrap_or(1),
                    unit_price_cents: crate::rows::field(l, "unit_price_cents")
                        .as_i64()
                        .unwrap_or(-1),
                })
                .collect::<Vec<_>>(),
        )?;
        let due = crate::rows::field(&visible, "due_date")
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let days_until_due = invoices::days_until_due(due, self.clock.now().date_naive())
            .map_err(|e| invalid("due_date", e.to_string()))?;
        let currency = invoices::currency(
            crate::rows::field(&visible, "currency")
                .as_str()
                .unwrap_or("usd"),
        )
        .map_err(|e| invalid("currency", e.to_string()))?;
        let prepared = Prepared {
            owner,
            invoice_id: invoice_id.to_owned(),
            visible,
            lead_id,
            lead,
            email,
            lines,
            totals,
            due,
            days_until_due,
            currency,
        };
        // Through the user's Stripe account when one can take payments, else by e-mail
        // through the user's sender (where the send pipeline runs).
        let connected = match (&self.invoicing, self.account_of(owner).await?) {
            (Some(invoicing), Some(account)) => invoicing
                .account(&account)
                .await?
                .charges_enabled
                .then(|| (invoicing.clone(), account)),
            _ => None,
        };
        let sent = match (connected, &self.mailer) {
            (Some((invoicing, account)), _) => {
                self.send_through_stripe(invoicing.as_ref(), &account, &prepared)
                    .await?
            }
            (None, Some(mailer)) => self.send_by_email(actor, mailer, &prepared).await?,
            (None, None) => return Err(InvoiceError::NotConnected),
        };
        self.emit(owner, "invoice.sent", &sent).await;
        Ok(Value::Object(sent))
    }

    async fn send_through_stripe(
        &self,
        invoicing: &dyn Invoicing,
        account: &str,
        prepared: &Prepared,
    ) -> Result<Row, InvoiceError> {
        let Prepared {
            owner,
            invoice_id,
            visible,
            lead_id,
            lead,
            email,
            lines,
            totals,
            days_until_due,
            currency,
            ..
        } = prepared;
        let (owner, days_until_due) = (*owner, *days_until_due);
        let invoice_id = invoice_id.as_str();
        let account = account.to_owned();
        let owner_text = owner.to_string();
        let rows = self.access.rows();
        let mut item = rows
            .get_raw(&schema::INVOICES, Some(&owner_text), invoice_id)
            .await?
            .ok_or(RowError::NotFound)?;

        // 1. The lead's customer, and the Stripe invoice (checkpointed together).
        let remote_id = match item.str("stripe_invoice_id").map(str::to_owned) {
            Some(id) => id,
            None => {
                let customer = self
                    .customer_of(invoicing, &account, owner, lead, lead_id, email)
                    .await?;
                let created = invoicing
                    .create_invoice(
                        &account,
                        &format!("scaliyo-inv-{invoice_id}"),
                        &NewInvoice {
                            customer: customer.clone(),
                            currency: currency.clone(),
                            days_until_due,
                            invoice_id: invoice_id.to_owned(),
                            description: crate::rows::field(visible, "notes")
                                .as_str()
                                .map(str::to_owned),
                        },
                    )
                    .await?;
                let patch = to_row(&Created {
                    stripe_customer_id: &customer,
                    stripe_invoice_id: &created.id,
                    subtotal_cents: totals.subtotal_cents,
                    total_cents: totals.total_cents,
                })?;
                let (_, op) = rows.transition_op(&schema::INVOICES, &item, patch, &[])?;
                let map = Item::new(&remote_invoice_key(&created.id))
                    .with("owner", owner_text.as_str())
                    .with("invoice_id", invoice_id)
                    .with("account", account.as_str());
                let customer_map = Item::new(&customer_key(owner, lead_id))
                    .with("account", account.as_str())
                    .with("customer", customer.as_str());
                self.commit(vec![op, WriteOp::put(map), WriteOp::put(customer_map)])
                    .await?;
                item = self.reread(&owner_text, invoice_id).await?;
                created.id
            }
        };

        // 2. Its lines, once; then finalized (numbered) and sent.
        let mut remote = invoicing.invoice(&account, &remote_id).await?;
        if remote.status == "draft" {
            if item.str(LINES_ADDED).is_none() {
                let new_lines: Vec<NewLine> = lines
                    .iter()
                    .map(|l| NewLine {
                        description: crate::rows::field(l, "description")
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        quantity: crate::rows::field(l, "quantity").as_i64().unwrap_or(1),
                        unit_amount_cents: crate::rows::field(l, "unit_price_cents")
                            .as_i64()
                            .unwrap_or(0),
                    })
                    .collect();
                invoicing
                    .add_lines(
                        &account,
                        &format!("scaliyo-lines-{invoice_id}"),
                        &remote_id,
                        currency,
                        &new_lines,
                    )
                    .await?;
                let (_, op) = rows.transition_op(
                    &schema::INVOICES,
                    &item,
                    Row::new(),
                    &[(LINES_ADDED, StoreValue::from(true))],
                )?;
                self.commit(vec![op]).await?;
                item = self.reread(&owner_text, invoice_id).await?;
            }
            remote = invoicing
                .finalize(&account, &format!("scaliyo-fin-{invoice_id}"), &remote_id)
                .await?;
        }
        if remote.status == "open" {
            remote = invoicing
                .send(&account, &format!("scaliyo-send-{invoice_id}"), &remote_id)
                .await?;
        }
        let status = InvoiceStatus::parse(&remote.status).unwrap_or(InvoiceStatus::Open);
        let patch = to_row(&Sent {
            status,
            invoice_number: remote.number.as_deref(),
            stripe_hosted_url: remote.hosted_invoice_url.as_deref(),
            stripe_pdf_url: remote.invoice_pdf.as_deref(),
            sent_at: timestamp_text(self.clock.now()),
            sent_via: "stripe",
        })?;
        self.record_sent(&item, patch, lines, &totals.amounts).await
    }

    /// The lead's customer in the account: the one made before, else a new one.
    async fn customer_of(
        &self,
        invoicing: &dyn Invoicing,
        account: &str,
        owner: OwnerId,
        lead: &Row,
        lead_id: &str,
        email: &str,
    ) -> Result<String, InvoiceError> {
        let store = self.access.rows().store();
        if let Some(known) = store.get(&customer_key(owner, lead_id)).await?
            && known.str("account") == Some(account)
            && let Some(customer) = known.str("customer")
        {
            return Ok(customer.to_owned());
        }
        let name = crate::rows::field(lead, "name")
            .as_str()
            .or(crate::rows::field(lead, "company").as_str())
            .filter(|n| !n.is_empty());
        Ok(invoicing
            .create_customer(
                account,
                &format!("scaliyo-cus-{account}-{lead_id}"),
                email,
                name,
                lead_id,
            )
            .await?)
    }

    async fn reread(&self, owner: &str, invoice_id: &str) -> Result<Item, InvoiceError> {
        Ok(self
            .access
            .rows()
            .get_raw(&schema::INVOICES, Some(owner), invoice_id)
            .await?
            .ok_or(RowError::NotFound)?)
    }

    async fn commit(&self, ops: Vec<WriteOp>) -> Result<(), InvoiceError> {
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => Ok(()),
            // Changed meanwhile (another send, an edit): the caller sees it and may retry.
            Err(StoreError::ConditionFailed { .. }) => Err(RowError::Concurrent.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The sent invoice's row (`patch` says how it went out), and its lines' amounts as
    /// computed here.
    pub(super) async fn record_sent(
        &self,
        item: &Item,
        patch: Row,
        lines: &[Row],
        amounts: &[i64],
    ) -> Result<Row, InvoiceError> {
        let rows = self.access.rows();
        let (row, op) = rows.transition_op(&schema::INVOICES, item, patch, &[])?;
        let mut ops = vec![op];
        let owner = item.str("owner_id").unwrap_or_default().to_owned();
        for (line, amount) in lines.iter().zip(amounts) {
            if crate::rows::field(line, "amount_cents").as_i64() == Some(*amount) {
                continue;
            }
            let id = crate::rows::field(line, "id").as_str().unwrap_or_default();
            if let Some(line_item) = rows
                .get_raw(&schema::INVOICE_LINE_ITEMS, Some(&owner), id)
                .await?
            {
                let mut patch = Row::new();
                patch.insert("amount_cents".into(), Value::from(*amount));
                let (_, op) =
                    rows.transition_op(&schema::INVOICE_LINE_ITEMS, &line_item, patch, &[])?;
                ops.push(op);
            }
        }
        self.commit(ops).await?;
        Ok(row)
    }
}
