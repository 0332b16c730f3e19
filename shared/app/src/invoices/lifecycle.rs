//! An open invoice's end states set by hand: `void`, `mark-uncollectible`, `mark-paid` (paid
//! outside Stripe). One sent through Stripe is changed there first, so both agree.

use scaliyo_domain::schema;
use scaliyo_domain::status::InvoiceStatus;
use scaliyo_store::InvoiceAction;
use serde::Serialize;
use serde_json::Value;

use super::{InvoiceError, Invoices, status_of};
use crate::access::Actor;
use crate::rows::{RowError, timestamp_text, to_row};

#[derive(Serialize)]
struct Settled {
    status: InvoiceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<String>,
}

impl Invoices {
    pub async fn settle(
        &self,
        actor: &Actor,
        invoice_id: &str,
        action: InvoiceAction,
    ) -> Result<Value, InvoiceError> {
        let owner = actor.owner()?;
        let visible = self.access.get(actor, "invoices", invoice_id).await?;
        let status = status_of(&visible)?;
        let (target, verb) = match action {
            InvoiceAction::Void => (InvoiceStatus::Void, "only an open invoice can be voided"),
            InvoiceAction::MarkUncollectible => (
                InvoiceStatus::Uncollectible,
                "only an open invoice can be marked uncollectible",
            ),
            InvoiceAction::PaidOutOfBand => (
                InvoiceStatus::Paid,
                "only an open or uncollectible invoice can be marked paid",
            ),
        };
        let allowed = match action {
            InvoiceAction::PaidOutOfBand => {
                matches!(status, InvoiceStatus::Open | InvoiceStatus::Uncollectible)
            }
            _ => status == InvoiceStatus::Open,
        };
        if !allowed {
            return Err(InvoiceError::WrongState {
                status: status.to_string(),
                action: verb,
            });
        }
        if let Some(remote) = crate::rows::field(&visible, "stripe_invoice_id").as_str() {
            let account = self
                .account_of(owner)
                .await?
                .ok_or(InvoiceError::NotConnected)?;
            let key = format!("scaliyo-{}-{invoice_id}", action_name(action));
            self.invoicing()?
                .settle(&account, &key, remote, action)
                .await?;
        }
        let owner_text = owner.to_string();
        let rows = self.access.rows();
        let item = rows
            .get_raw(&schema::INVOICES, Some(&owner_text), invoice_id)
            .await?
            .ok_or(RowError::NotFound)?;
        let patch = to_row(&Settled {
            status: target,
            paid_at: (target == InvoiceStatus::Paid).then(|| timestamp_text(self.clock.now())),
        })?;
        let (row, op) = rows.transition_op(&schema::INVOICES, &item, patch, &[])?;
        match rows.store().transact_write(vec![op]).await {
            Ok(()) => Ok(Value::Object(row)),
            Err(scaliyo_store::StoreError::ConditionFailed { .. }) => {
                Err(RowError::Concurrent.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn action_name(action: InvoiceAction) -> &'static str {
    match action {
        InvoiceAction::Void => "void",
        InvoiceAction::MarkUncollectible => "uncollectible",
        InvoiceAction::PaidOutOfBand => "paid",
    }
}
