//! Connecting a user's Stripe account (Express): created once, onboarded on Stripe's pages.

use scaliyo_store::{Item, WriteOp};
use serde::Serialize;

use super::{InvoiceError, Invoices, connect_key};
use crate::access::Actor;

/// `GET /v1/billing/connect`.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectStatus {
    pub connected: bool,
    /// The account can take payments (onboarding complete).
    pub charges_enabled: bool,
    pub details_submitted: bool,
    /// Where to continue onboarding (`POST` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboarding_url: Option<String>,
}

impl Invoices {
    /// `POST /v1/billing/connect`: the user's account (created on the first call) and a link
    /// to its onboarding.
    pub async fn connect(&self, actor: &Actor) -> Result<ConnectStatus, InvoiceError> {
        let invoicing = self.invoicing()?;
        let owner = actor.owner()?;
        let account = match self.account_of(owner).await? {
            Some(account) => account,
            None => {
                let email = actor.caller.as_ref().and_then(|c| c.email.as_deref());
                let account = invoicing
                    .create_account(&format!("scaliyo-acct-{owner}"), email)
                    .await?;
                let item = Item::new(&connect_key(owner)).with("account", account.as_str());
                self.access
                    .rows()
                    .store()
                    .transact_write(vec![WriteOp::put(item)])
                    .await?;
                account
            }
        };
        let app = self.config.app_url.trim_end_matches('/');
        let url = invoicing
            .onboarding_link(
                &account,
                &format!("{app}/billing/connect?refresh=1"),
                &format!("{app}/billing/connect?done=1"),
            )
            .await?;
        let found = invoicing.account(&account).await?;
        Ok(ConnectStatus {
            connected: true,
            charges_enabled: found.charges_enabled,
            details_submitted: found.details_submitted,
            onboarding_url: Some(url),
        })
    }

    /// `GET /v1/billing/connect`.
    pub async fn connect_status(&self, actor: &Actor) -> Result<ConnectStatus, InvoiceError> {
        let owner = actor.owner()?;
        let Some(account) = self.account_of(owner).await? else {
            return Ok(ConnectStatus {
                connected: false,
                charges_enabled: false,
                details_submitted: false,
                onboarding_url: None,
            });
        };
        let found = self.invoicing()?.account(&account).await?;
        Ok(ConnectStatus {
            connected: true,
            charges_enabled: found.charges_enabled,
            details_submitted: found.details_submitted,
            onboarding_url: None,
        })
    }
}
