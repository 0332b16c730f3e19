//! Accounts connected by the server's OAuth flow (docs/oauth.md): connected from what a
//! grant offered, with the grant kept sealed on the account (`_grant`) so the token can be
//! renewed before it expires — LinkedIn with its refresh token, Meta by exchanging the
//! long-lived user token again and reading the Page's token anew.

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_store::{
    Condition, Connectable, Grant, Item, OAuthError, OAuthProvider, Update, WriteOp,
};

use super::health::reconnect_mark;
use super::{ConnectLinkedIn, ConnectMeta, SocialAccounts, SocialError};
use crate::access::Actor;
use crate::rows::Row;

/// The sealed grant on an account item (an internal attribute: never in a row).
const GRANT: &str = "_grant";

/// How long a renewal that found the provider unavailable waits before the next try.
const RETRY_AFTER_UNAVAILABLE: Duration = Duration::hours(1);

/// What a renewal came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// New tokens stored; the reminder moved to before the new expiry.
    Renewed,
    /// The provider refused for good: the account is marked for reconnection.
    Refused(String),
    /// The provider could not be reached; the reminder comes back later.
    Postponed,
    /// Not an account the server connected (no grant kept), or no client for its provider.
    NotRenewable,
}

fn at_time(time: Option<DateTime<Utc>>) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    time.map(|t| t.fixed_offset())
}

impl SocialAccounts {
    /// Connects one thing a grant offered, with the grant kept for renewals. `expires_at`
    /// is the grant's (for a Page: the user token's, which the Page token lives on).
    pub async fn connect_granted(
        &self,
        owner: OwnerId,
        connectable: &Connectable,
        grant: &Grant,
    ) -> Result<Row, SocialError> {
        let actor = Actor::acting_for(owner);
        let row = match connectable.clone() {
            Connectable::FacebookPage {
                page_id,
                name,
                page_token,
                instagram,
            } => {
                let (instagram_user_id, instagram_username) = match instagram {
                    Some(ig) => (Some(ig.id), ig.username),
                    None => (None, None),
                };
                let request = ConnectMeta {
                    page_id,
                    page_name: name,
                    page_access_token: page_token,
                    instagram_user_id,
                    instagram_username,
                    token_expires_at: at_time(grant.expires_at),
                };
                self.connect_meta(&actor, request).await?
            }
            Connectable::LinkedinMember { urn, .. } => {
                let request = ConnectLinkedIn {
                    member_urn: Some(urn),
                    org_urn: None,
                    org_name: None,
                    access_token: grant.access_token.clone(),
                    token_expires_at: at_time(grant.expires_at),
                };
                self.connect_linkedin(&actor, request).await?
            }
            Connectable::LinkedinOrganization { urn, name } => {
                let request = ConnectLinkedIn {
                    member_urn: None,
                    org_urn: Some(urn),
                    org_name: name,
                    access_token: grant.access_token.clone(),
                    token_expires_at: at_time(grant.expires_at),
                };
                self.connect_linkedin(&actor, request).await?
            }
            Connectable::Mailbox { .. } => {
                return Err(super::invalid(
                    "provider",
                    "a mailbox is a sender account, not a social account",
                ));
            }
        };
        self.keep_grant(owner, &row, grant).await?;
        Ok(row)
    }

    async fn keep_grant(
        &self,
        owner: OwnerId,
        row: &Row,
        grant: &Grant,
    ) -> Result<(), SocialError> {
        let Some(id) = row.get("id").and_then(|v| v.as_str()) else {
            return Ok(());
        };
        let text =
            serde_json::to_string(grant).map_err(|e| super::invalid("grant", e.to_string()))?;
        let sealed = self.sealer.seal(&text).await.map_err(SocialError::Seal)?;
        let key = crate::layout::row_key(&schema::SOCIAL_ACCOUNTS, Some(&owner.to_string()), id);
        self.access
            .rows()
            .store()
            .update(
                &key,
                Update::new().set(GRANT, sealed),
                Some(Condition::item_exists()),
            )
            .await?;
        Ok(())
    }

    /// Renews an account's token before it expires, with the provider's client (its
    /// reminder is due). A refusal marks the account for reconnection (the health read and
    /// the `social.token_expiring` event say so).
    pub async fn renew(
        &self,
        owner: OwnerId,
        account: &Item,
        provider: Option<&dyn OAuthProvider>,
        now: DateTime<Utc>,
    ) -> Result<Renewal, SocialError> {
        let (Some(sealed), Some(provider)) = (account.str(GRANT), provider) else {
            return Ok(Renewal::NotRenewable);
        };
        let grant: Grant = match self.sealer.open(sealed).await {
            Ok(text) => match serde_json::from_str(&text) {
                Ok(grant) => grant,
                Err(_) => return Ok(Renewal::NotRenewable),
            },
            Err(error) => return Err(SocialError::Seal(error)),
        };
        let renewed = provider.refresh(&grant).await.map(|t| t.at(now));
        let outcome = match renewed {
            Ok(renewed) => self.store_renewal(owner, account, provider, &renewed).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => Ok(Renewal::Renewed),
            Err(OAuthError::Refused { code, message }) => {
                let reason = format!("renewing the token was refused: {code}: {message}");
                self.mark_reconnect(account, &reason).await?;
                Ok(Renewal::Refused(reason))
            }
            Err(OAuthError::Unavailable(detail)) => {
                tracing::warn!(%detail, "renewing a social token: the provider is unavailable");
                self.postpone_reminder(owner, account, now + RETRY_AFTER_UNAVAILABLE)
                    .await?;
                Ok(Renewal::Postponed)
            }
        }
    }

    /// The account connected again with the renewed grant (for a Page, the Page's token read
    /// with the new user token), which also moves its reminder and clears a reconnect mark.
    async fn store_renewal(
        &self,
        owner: OwnerId,
        account: &Item,
        provider: &dyn OAuthProvider,
        renewed: &Grant,
    ) -> Result<(), OAuthError> {
        let connectable = match account.str("provider") {
            Some("meta") => {
                let page_id = account.str("meta_page_id").unwrap_or_default();
                provider
                    .connectables(&renewed.access_token)
                    .await?
                    .into_iter()
                    .find(|c| matches!(c, Connectable::FacebookPage { page_id: p, .. } if p == page_id))
                    .ok_or_else(|| OAuthError::Refused {
                        code: "page_gone".into(),
                        message: "the Page is no longer managed by the user who connected it".into(),
                    })?
            }
            _ => match (
                account.str("linkedin_org_urn"),
                account.str("linkedin_member_urn"),
            ) {
                (Some(urn), _) => Connectable::LinkedinOrganization {
                    urn: urn.to_owned(),
                    name: account.str("linkedin_org_name").map(str::to_owned),
                },
                (None, Some(urn)) => Connectable::LinkedinMember {
                    urn: urn.to_owned(),
                    name: None,
                },
                (None, None) => {
                    return Err(OAuthError::Refused {
                        code: "account_incomplete".into(),
                        message: "the account has no LinkedIn identity".into(),
                    });
                }
            },
        };
        self.connect_granted(owner, &connectable, renewed)
            .await
            .map(|_| ())
            .map_err(|error| OAuthError::Unavailable(error.to_string()))
    }

    async fn mark_reconnect(&self, account: &Item, reason: &str) -> Result<(), SocialError> {
        let key = account.key()?;
        self.access
            .rows()
            .store()
            .update(&key, reconnect_mark(reason), Some(Condition::item_exists()))
            .await?;
        Ok(())
    }

    async fn postpone_reminder(
        &self,
        owner: OwnerId,
        account: &Item,
        due: DateTime<Utc>,
    ) -> Result<(), SocialError> {
        let Some(id) = account.str("id") else {
            return Ok(());
        };
        let reminder = super::accounts::reminder_item(owner, id, due);
        self.access
            .rows()
            .store()
            .transact_write(vec![WriteOp::put(reminder)])
            .await?;
        Ok(())
    }
}
