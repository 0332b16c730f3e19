//! Stripe Connect for the invoices users send to their leads: Express accounts and their
//! onboarding links, and customers and invoices created in the user's own account.

use async_trait::async_trait;
use scaliyo_store::{
    ConnectedAccount, InvoiceAction, Invoicing, NewInvoice, NewLine, PaymentError, RemoteInvoice,
};

use crate::Stripe;
use crate::wire::{self, path_segment};

fn pair(key: impl Into<String>, value: impl Into<String>) -> (String, String) {
    (key.into(), value.into())
}

#[async_trait]
impl Invoicing for Stripe {
    async fn create_account(&self, key: &str, email: Option<&str>) -> Result<String, PaymentError> {
        let mut form = vec![pair("type", "express")];
        if let Some(email) = email {
            form.push(pair("email", email));
        }
        let account: wire::Object = self
            .call(
                self.post("/v1/accounts", &form)
                    .header("Idempotency-Key", key),
            )
            .await?;
        Ok(account.id)
    }

    async fn onboarding_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<String, PaymentError> {
        let form = [
            pair("account", account),
            pair("refresh_url", refresh_url),
            pair("return_url", return_url),
            pair("type", "account_onboarding"),
        ];
        let link: wire::Portal = self.call(self.post("/v1/account_links", &form)).await?;
        Ok(link.url)
    }

    async fn account(&self, account: &str) -> Result<ConnectedAccount, PaymentError> {
        let path = format!("/v1/accounts/{}", path_segment(account)?);
        let found: wire::Account = self.call(self.http.get(self.url(&path))).await?;
        Ok(found.into())
    }

    async fn create_customer(
        &self,
        account: &str,
        key: &str,
        email: &str,
        name: Option<&str>,
        lead_id: &str,
    ) -> Result<String, PaymentError> {
        let mut form = vec![pair("email", email), pair("metadata[lead_id]", lead_id)];
        if let Some(name) = name {
            form.push(pair("name", name));
        }
        let customer: wire::Object = self
            .call(self.post_in(account, Some(key), "/v1/customers", &form))
            .await?;
        Ok(customer.id)
    }

    async fn create_invoice(
        &self,
        account: &str,
        key: &str,
        invoice: &NewInvoice,
    ) -> Result<RemoteInvoice, PaymentError> {
        let mut form = vec![
            pair("customer", invoice.customer.as_str()),
            pair("collection_method", "send_invoice"),
            pair("days_until_due", invoice.days_until_due.to_string()),
            pair("currency", invoice.currency.as_str()),
            // We finalize and send ourselves, once the lines are on it.
            pair("auto_advance", "false"),
            pair("metadata[invoice_id]", invoice.invoice_id.as_str()),
        ];
        if let Some(description) = &invoice.description {
            form.push(pair("description", description.as_str()));
        }
        let created: wire::Invoice = self
            .call(self.post_in(account, Some(key), "/v1/invoices", &form))
            .await?;
        Ok(created.into())
    }

    async fn add_lines(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
        currency: &str,
        lines: &[NewLine],
    ) -> Result<RemoteInvoice, PaymentError> {
        let mut form = Vec::with_capacity(lines.len() * 5);
        for (i, line) in lines.iter().enumerate() {
            form.push(pair(
                format!("lines[{i}][description]"),
                line.description.as_str(),
            ));
            form.push(pair(
                format!("lines[{i}][quantity]"),
                line.quantity.to_string(),
            ));
            form.push(pair(format!("lines[{i}][price_data][currency]"), currency));
            form.push(pair(
                format!("lines[{i}][price_data][unit_amount]"),
                line.unit_amount_cents.to_string(),
            ));
            form.push(pair(
                format!("lines[{i}][price_data][product_data][name]"),
                line.description.as_str(),
            ));
        }
        let path = format!("/v1/invoices/{}/add_lines", path_segment(invoice)?);
        let updated: wire::Invoice = self
            .call(self.post_in(account, Some(key), &path, &form))
            .await?;
        Ok(updated.into())
    }

    async fn finalize(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
    ) -> Result<RemoteInvoice, PaymentError> {
        let path = format!("/v1/invoices/{}/finalize", path_segment(invoice)?);
        let form = [pair("auto_advance", "false")];
        let finalized: wire::Invoice = self
            .call(self.post_in(account, Some(key), &path, &form))
            .await?;
        Ok(finalized.into())
    }

    async fn send(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
    ) -> Result<RemoteInvoice, PaymentError> {
        let path = format!("/v1/invoices/{}/send", path_segment(invoice)?);
        let sent: wire::Invoice = self
            .call(self.post_in(account, Some(key), &path, &[]))
            .await?;
        Ok(sent.into())
    }

    async fn settle(
        &self,
        account: &str,
        key: &str,
        invoice: &str,
        action: InvoiceAction,
    ) -> Result<RemoteInvoice, PaymentError> {
        let id = path_segment(invoice)?;
        let (path, form) = match action {
            InvoiceAction::Void => (format!("/v1/invoices/{id}/void"), vec![]),
            InvoiceAction::MarkUncollectible => {
                (format!("/v1/invoices/{id}/mark_uncollectible"), vec![])
            }
            InvoiceAction::PaidOutOfBand => (
                format!("/v1/invoices/{id}/pay"),
                vec![pair("paid_out_of_band", "true")],
            ),
        };
        let settled: wire::Invoice = self
            .call(self.post_in(account, Some(key), &path, &form))
            .await?;
        Ok(settled.into())
    }

    async fn invoice(&self, account: &str, invoice: &str) -> Result<RemoteInvoice, PaymentError> {
        let path = format!("/v1/invoices/{}", path_segment(invoice)?);
        let found: wire::Invoice = self.call(self.get_in(account, &path)).await?;
        Ok(found.into())
    }
}
