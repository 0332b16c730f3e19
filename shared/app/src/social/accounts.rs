//! Connecting social accounts: the one part that seals tokens.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use scaliyo_store::{Index, Item, Sealer, WriteOp};
use serde::{Deserialize, Serialize};

use super::{
    SocialError, TOKEN_WARNING, accounts_of, invalid, redact, reminder_key, reminder_partition,
};
use crate::access::{Access, Actor};
use crate::layout;
use crate::rows::{Row, timestamp_text, to_row};
use crate::work_queue::lease_sort_key;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectMeta {
    pub page_id: String,
    pub page_name: Option<String>,
    pub page_access_token: String,
    pub instagram_user_id: Option<String>,
    pub instagram_username: Option<String>,
    pub token_expires_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectLinkedIn {
    pub member_urn: Option<String>,
    pub org_urn: Option<String>,
    pub org_name: Option<String>,
    pub access_token: String,
    pub token_expires_at: Option<DateTime<FixedOffset>>,
}

/// Connecting accounts: the one part that seals tokens. It runs where the key service is —
/// the `send-email` function in AWS, beside the sender connection — so the `api` function
/// carries no KMS client (its package stays inside the size budget).
#[derive(Clone)]
pub struct SocialAccounts {
    pub(super) access: Arc<Access>,
    pub(super) sealer: Arc<dyn Sealer>,
}

/// A new `social_accounts` row: the owner and provider, and the provider's columns.
#[derive(Serialize)]
struct NewAccount<'a, F: Serialize> {
    user_id: OwnerId,
    provider: &'a str,
    #[serde(flatten)]
    fields: F,
}

/// The columns a Meta (Facebook page / Instagram) connection sets.
#[derive(Serialize)]
struct MetaAccount<'a> {
    meta_page_id: &'a str,
    meta_page_name: Option<&'a str>,
    meta_page_access_token_encrypted: &'a str,
    meta_ig_user_id: Option<&'a str>,
    meta_ig_username: Option<&'a str>,
    token_expires_at: Option<String>,
}

/// The columns a LinkedIn (member and/or organisation) connection sets.
#[derive(Serialize)]
struct LinkedInAccount<'a> {
    linkedin_member_urn: Option<&'a str>,
    linkedin_org_urn: Option<&'a str>,
    linkedin_org_name: Option<&'a str>,
    linkedin_access_token_encrypted: &'a str,
    token_expires_at: Option<String>,
}

/// An account's token reminder, due at `due` in the lease index the tick reads.
pub(super) fn reminder_item(owner: OwnerId, account_id: &str, due: DateTime<Utc>) -> Item {
    let (pk, sk) = Index::Gsi5.key_attributes();
    Item::new(&reminder_key(account_id))
        .with("owner", owner.to_string())
        .with("account_id", account_id)
        .with(pk, reminder_partition(layout::shard_of(account_id)))
        .with(sk, lease_sort_key(due, account_id))
}

impl SocialAccounts {
    pub fn new(access: Arc<Access>, sealer: Arc<dyn Sealer>) -> Self {
        Self { access, sealer }
    }

    async fn seal(&self, token: &str) -> Result<String, SocialError> {
        if token.trim().is_empty() {
            return Err(invalid("access_token", "is required"));
        }
        self.sealer.seal(token).await.map_err(SocialError::Seal)
    }

    /// Creates or (same identity) reconnects an account; the response never has the token.
    async fn upsert_account<F: Serialize>(
        &self,
        owner: OwnerId,
        provider: &str,
        identity: (&str, &str),
        fields: F,
    ) -> Result<Row, SocialError> {
        let accounts = accounts_of(self.access.rows(), owner, provider).await?;
        let existing = accounts
            .iter()
            .find(|a| a.str(identity.0) == Some(identity.1))
            .and_then(|a| a.str("id"))
            .map(str::to_owned);
        let table = &schema::SOCIAL_ACCOUNTS;
        // A reconnect rewrites the row, which also clears the reconnect mark.
        let row = match existing {
            Some(id) => {
                self.access
                    .rows()
                    .update(table, Some(&owner.to_string()), &id, to_row(&fields)?)
                    .await?
            }
            None => {
                let row = to_row(&NewAccount {
                    user_id: owner,
                    provider,
                    fields,
                })?;
                self.access.rows().create(table, None, row).await?
            }
        };
        self.remind_before_expiry(owner, &row).await?;
        Ok(redact("social_accounts", row))
    }

    /// Keeps the account's expiry reminder: due `TOKEN_WARNING` before the token expires, in
    /// the lease index the tick already reads, so an account nobody uses or looks at still
    /// gets its `social.token_expiring` event. A reconnect moves (or, without an expiry,
    /// removes) it.
    async fn remind_before_expiry(&self, owner: OwnerId, account: &Row) -> Result<(), SocialError> {
        let Some(id) = account["id"].as_str() else {
            return Ok(());
        };
        let key = reminder_key(id);
        let expires = account["token_expires_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let op = match expires {
            Some(expires) => WriteOp::put(reminder_item(owner, id, expires - TOKEN_WARNING)),
            None => WriteOp::delete(key),
        };
        self.access.rows().store().transact_write(vec![op]).await?;
        Ok(())
    }

    pub async fn connect_meta(
        &self,
        actor: &Actor,
        request: ConnectMeta,
    ) -> Result<Row, SocialError> {
        let owner = actor.owner()?;
        let page_id = request.page_id.trim();
        if page_id.is_empty() || !page_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                "page_id",
                "must be the numeric id of a Facebook Page",
            ));
        }
        if let Some(ig) = &request.instagram_user_id
            && (ig.is_empty() || !ig.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid(
                "instagram_user_id",
                "must be the numeric id of an Instagram business account",
            ));
        }
        let sealed = self.seal(&request.page_access_token).await?;
        let fields = MetaAccount {
            meta_page_id: page_id,
            meta_page_name: request.page_name.as_deref(),
            meta_page_access_token_encrypted: &sealed,
            meta_ig_user_id: request.instagram_user_id.as_deref(),
            meta_ig_username: request.instagram_username.as_deref(),
            token_expires_at: request
                .token_expires_at
                .map(|t| timestamp_text(t.with_timezone(&Utc))),
        };
        self.upsert_account(owner, "meta", ("meta_page_id", page_id), fields)
            .await
    }

    pub async fn connect_linkedin(
        &self,
        actor: &Actor,
        request: ConnectLinkedIn,
    ) -> Result<Row, SocialError> {
        let owner = actor.owner()?;
        let member = request.member_urn.as_deref().map(str::trim);
        let org = request.org_urn.as_deref().map(str::trim);
        if let Some(m) = member
            && !m.starts_with("urn:li:person:")
        {
            return Err(invalid("member_urn", "must look like urn:li:person:<id>"));
        }
        if let Some(o) = org
            && !o.starts_with("urn:li:organization:")
        {
            return Err(invalid(
                "org_urn",
                "must look like urn:li:organization:<id>",
            ));
        }
        let identity = match (member, org) {
            (_, Some(org)) => ("linkedin_org_urn", org),
            (Some(member), None) => ("linkedin_member_urn", member),
            (None, None) => {
                return Err(invalid(
                    "member_urn",
                    "a member URN, an organisation URN or both are required",
                ));
            }
        };
        let sealed = self.seal(&request.access_token).await?;
        let fields = LinkedInAccount {
            linkedin_member_urn: member,
            linkedin_org_urn: org,
            linkedin_org_name: request.org_name.as_deref(),
            linkedin_access_token_encrypted: &sealed,
            token_expires_at: request
                .token_expires_at
                .map(|t| timestamp_text(t.with_timezone(&Utc))),
        };
        self.upsert_account(owner, "linkedin", identity, fields)
            .await
    }
}
