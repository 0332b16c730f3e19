//! Pending connections: what a Meta or LinkedIn grant can connect, kept sealed (the Page
//! tokens and the grant) under the user's partition for an hour while the user chooses.

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::oauth::{PENDING_LIFETIME, Provider};
use scaliyo_store::{Connectable, Grant, InstagramAccount, Item, WriteOp};
use serde::{Deserialize, Serialize};

use super::{ConnectError, OAuthConnections, invalid};
use crate::rows::{RowError, timestamp_text};

fn pending_key(owner: OwnerId, id: &str) -> scaliyo_store::Key {
    OAuthConnections::owner_key(owner, format!("oauth_pending#{id}"))
}

/// The sealed part.
#[derive(Serialize, Deserialize)]
pub(super) struct Pending {
    pub provider: Provider,
    pub grant: Grant,
    pub connectables: Vec<Connectable>,
    pub expires_at: DateTime<Utc>,
}

/// One thing to choose, as the user sees it (no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// What to send back to connect it: the Page id or the LinkedIn URN.
    pub id: String,
    pub kind: &'static str,
    pub name: Option<String>,
    /// The Instagram business account connected with a Page.
    pub instagram: Option<InstagramAccount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingView {
    pub id: String,
    pub provider: Provider,
    pub expires_at: String,
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectChoices {
    /// Ids of [`Choice`]s.
    pub choices: Vec<String>,
}

fn choice_of(connectable: &Connectable) -> Choice {
    match connectable {
        Connectable::Mailbox { email, name } => Choice {
            id: email.clone(),
            kind: "mailbox",
            name: name.clone(),
            instagram: None,
        },
        Connectable::FacebookPage {
            page_id,
            name,
            instagram,
            ..
        } => Choice {
            id: page_id.clone(),
            kind: "facebook_page",
            name: name.clone(),
            instagram: instagram.clone(),
        },
        Connectable::LinkedinMember { urn, name } => Choice {
            id: urn.clone(),
            kind: "linkedin_member",
            name: name.clone(),
            instagram: None,
        },
        Connectable::LinkedinOrganization { urn, name } => Choice {
            id: urn.clone(),
            kind: "linkedin_organization",
            name: name.clone(),
            instagram: None,
        },
    }
}

impl Pending {
    pub fn view(&self, id: &str) -> PendingView {
        PendingView {
            id: id.to_owned(),
            provider: self.provider,
            expires_at: timestamp_text(self.expires_at),
            choices: self.connectables.iter().map(choice_of).collect(),
        }
    }

    /// The connectables chosen, each once; an id the grant did not offer is refused.
    pub fn chosen(&self, request: &ConnectChoices) -> Result<Vec<&Connectable>, ConnectError> {
        if request.choices.is_empty() {
            return Err(invalid("choices", "choose at least one account to connect"));
        }
        let mut chosen: Vec<&Connectable> = Vec::new();
        for id in &request.choices {
            let found = self
                .connectables
                .iter()
                .find(|c| choice_of(c).id == *id)
                .ok_or_else(|| {
                    invalid(
                        "choices",
                        format!(
                            "{} is not one of this connection's accounts",
                            id.chars().take(80).collect::<String>()
                        ),
                    )
                })?;
            if !chosen.contains(&found) {
                chosen.push(found);
            }
        }
        Ok(chosen)
    }
}

pub(super) async fn keep(
    flow: &OAuthConnections,
    owner: OwnerId,
    provider: Provider,
    grant: Grant,
    connectables: Vec<Connectable>,
) -> Result<String, ConnectError> {
    let id = uuid::Uuid::now_v7().to_string();
    let expires_at = flow.now() + PENDING_LIFETIME;
    let pending = Pending {
        provider,
        grant,
        connectables,
        expires_at,
    };
    let text = serde_json::to_string(&pending).map_err(|e| invalid("pending", e.to_string()))?;
    let sealed = flow.sealer.seal(&text).await.map_err(ConnectError::Seal)?;
    let item = Item::new(&pending_key(owner, &id))
        .with("provider", provider.as_str())
        .with("sealed", sealed)
        .with("ttl", (expires_at + chrono::Duration::days(1)).timestamp());
    flow.access
        .rows()
        .store()
        .transact_write(vec![WriteOp::put_new(item)])
        .await?;
    Ok(id)
}

/// The caller's pending connection: another user's id is simply not found (it lives in
/// that user's partition).
pub(super) async fn open(
    flow: &OAuthConnections,
    owner: OwnerId,
    id: &str,
) -> Result<Pending, ConnectError> {
    let not_found = || ConnectError::Access(RowError::NotFound.into());
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    let item = flow
        .access
        .rows()
        .store()
        .get(&pending_key(owner, id))
        .await?
        .ok_or_else(not_found)?;
    let sealed = item.str("sealed").ok_or_else(not_found)?;
    let text = flow.sealer.open(sealed).await.map_err(ConnectError::Seal)?;
    let pending: Pending = serde_json::from_str(&text).map_err(|_| not_found())?;
    if pending.expires_at <= flow.now() {
        return Err(ConnectError::PendingExpired);
    }
    Ok(pending)
}

pub(super) async fn discard(
    flow: &OAuthConnections,
    owner: OwnerId,
    id: &str,
) -> Result<(), ConnectError> {
    flow.access
        .rows()
        .store()
        .transact_write(vec![WriteOp::delete(pending_key(owner, id))])
        .await?;
    Ok(())
}
