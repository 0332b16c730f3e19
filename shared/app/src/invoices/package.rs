//! `POST /v1/invoices/from-package {lead_id, package_id}`: a draft whose lines are the
//! package's items, with the amounts and totals computed here.

use scaliyo_domain::invoices::{self, Line};
use scaliyo_domain::schema;
use scaliyo_domain::status::InvoiceStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{InvoiceError, Invoices, invalid};
use crate::access::Actor;
use crate::rows::{ListRequest, Row, RowError, timestamp_text, to_row};

/// The most lines a package may give a draft (one transaction holds the invoice and them).
const MAX_LINES: usize = 40;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromPackage {
    pub lead_id: String,
    pub package_id: String,
}

#[derive(Serialize)]
struct DraftRow<'a> {
    id: &'a str,
    owner_id: scaliyo_domain::ids::OwnerId,
    lead_id: &'a str,
    status: InvoiceStatus,
    subtotal_cents: i64,
    total_cents: i64,
    notes: Option<&'a str>,
}

#[derive(Serialize)]
struct LineRow<'a> {
    invoice_id: &'a str,
    description: &'a str,
    quantity: i64,
    unit_price_cents: i64,
    amount_cents: i64,
    /// A millisecond apart, in the package's order: the lines keep it.
    created_at: String,
}

impl Invoices {
    pub async fn from_package(
        &self,
        actor: &Actor,
        request: FromPackage,
    ) -> Result<Value, InvoiceError> {
        let owner = actor.owner()?;
        // Both must be visible to the caller (another tenant's ids are simply not found).
        let lead = self.access.get(actor, "leads", &request.lead_id).await?;
        let package = self
            .access
            .get(actor, "invoice_packages", &request.package_id)
            .await?;
        let owner_text = owner.to_string();
        let rows = self.access.rows();
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = rows
                .list(
                    &schema::INVOICE_PACKAGE_ITEMS,
                    Some(&owner_text),
                    ListRequest {
                        index: Some("idx_invoice_package_items_package".into()),
                        equals: vec![request.package_id.clone()],
                        limit: 100,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            items.extend(page.rows);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if items.len() > MAX_LINES {
            return Err(invalid(
                "package_id",
                format!("a package of more than {MAX_LINES} items cannot become one invoice"),
            ));
        }
        let lines: Vec<Line> = items
            .iter()
            .map(|item| Line {
                quantity: crate::rows::field(item, "quantity").as_i64().unwrap_or(1),
                unit_price_cents: crate::rows::field(item, "unit_price_cents")
                    .as_i64()
                    .unwrap_or(0),
            })
            .collect();
        let totals = invoices::totals(&lines).map_err(|e| match e {
            invoices::InvoiceRuleError::NoLines => {
                invalid("package_id", "the package has no items")
            }
            other => InvoiceError::Rule(other),
        })?;
        let invoice_id = uuid::Uuid::new_v4().to_string();
        let draft = rows.prepare(
            &schema::INVOICES,
            to_row(&DraftRow {
                id: &invoice_id,
                owner_id: owner,
                lead_id: crate::rows::field(&lead, "id")
                    .as_str()
                    .unwrap_or(&request.lead_id),
                status: InvoiceStatus::Draft,
                subtotal_cents: totals.subtotal_cents,
                total_cents: totals.total_cents,
                notes: crate::rows::field(&package, "name").as_str(),
            })?,
        )?;
        let mut ops = rows.insert_ops(&schema::INVOICES, None, &draft, true)?;
        let mut created_lines = Vec::with_capacity(items.len());
        let now = self.clock.now();
        for (position, (item, amount)) in items.iter().zip(&totals.amounts).enumerate() {
            let line = rows.prepare(
                &schema::INVOICE_LINE_ITEMS,
                to_row(&LineRow {
                    invoice_id: &invoice_id,
                    description: crate::rows::field(item, "description")
                        .as_str()
                        .unwrap_or_default(),
                    quantity: crate::rows::field(item, "quantity").as_i64().unwrap_or(1),
                    unit_price_cents: crate::rows::field(item, "unit_price_cents")
                        .as_i64()
                        .unwrap_or(0),
                    amount_cents: *amount,
                    created_at: timestamp_text(
                        now + chrono::Duration::milliseconds(position as i64),
                    ),
                })?,
            )?;
            // The invoice is written in this transaction: no separate check of it.
            ops.extend(rows.insert_ops(
                &schema::INVOICE_LINE_ITEMS,
                Some(&owner_text),
                &line,
                false,
            )?);
            created_lines.push(Value::Object(line));
        }
        match rows.store().transact_write(ops).await {
            Ok(()) => {}
            Err(scaliyo_store::StoreError::ConditionFailed { .. }) => {
                return Err(RowError::NotFound.into());
            }
            Err(e) => return Err(e.into()),
        }
        let mut out: Row = draft;
        out.insert("line_items".into(), Value::Array(created_lines));
        Ok(Value::Object(out))
    }
}
