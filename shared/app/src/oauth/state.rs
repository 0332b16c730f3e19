//! The `state` of a started connection: its claims (provider, user, nonce, expiry) sealed
//! with the deployment's key — authenticated encryption, so it can be neither forged nor
//! read — and a record under the user's partition, keyed by the nonce, that holds the PKCE
//! verifier (which never leaves the server) and is deleted when the state is redeemed:
//! a state works once.

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::oauth::{Provider, STATE_LIFETIME, StateClaims, StateError};
use scaliyo_store::{Condition, Item, StoreError, WriteOp};

use super::{ConnectError, OAuthConnections};
use crate::tokens::random_url_token;

/// An issued state.
pub(super) struct Issued {
    pub state: String,
    pub verifier: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A redeemed state: whose connection it is and its PKCE verifier.
pub(super) struct Redeemed {
    pub owner: OwnerId,
    pub verifier: Option<String>,
}

fn record_key(owner: OwnerId, nonce: &str) -> scaliyo_store::Key {
    OAuthConnections::owner_key(owner, format!("oauth_state#{nonce}"))
}

pub(super) async fn issue(
    flow: &OAuthConnections,
    owner: OwnerId,
    provider: Provider,
) -> Result<Issued, ConnectError> {
    let now = flow.now();
    let nonce = random_url_token::<16>();
    // 32 random bytes: a 43-character verifier, inside RFC 7636's 43–128.
    let verifier = provider.uses_pkce().then(random_url_token::<32>);
    let claims = StateClaims::new(provider, owner.to_string(), nonce.clone(), now);
    let expires_at = now + STATE_LIFETIME;
    let text =
        serde_json::to_string(&claims).map_err(|e| super::invalid("state", e.to_string()))?;
    let state = flow.sealer.seal(&text).await.map_err(ConnectError::Seal)?;
    let mut record = Item::new(&record_key(owner, &nonce))
        .with("provider", provider.as_str())
        .with("expires_at", crate::rows::timestamp_text(expires_at))
        // DynamoDB's TTL removes records nobody came back for.
        .with("ttl", (expires_at + chrono::Duration::days(1)).timestamp());
    if let Some(verifier) = &verifier {
        record = record.with("code_verifier", verifier.as_str());
    }
    flow.access
        .rows()
        .store()
        .transact_write(vec![WriteOp::put_new(record)])
        .await?;
    Ok(Issued {
        state,
        verifier,
        expires_at,
    })
}

pub(super) async fn redeem(
    flow: &OAuthConnections,
    provider: Provider,
    state: &str,
) -> Result<Redeemed, ConnectError> {
    let opened = flow
        .sealer
        .open(state)
        .await
        .map_err(|_| StateError::Forged)?;
    let claims = StateClaims::check(&opened, provider, flow.now())?;
    let owner: OwnerId = claims.user_id.parse().map_err(|_| StateError::Forged)?;
    let key = record_key(owner, &claims.nonce);
    let store = flow.access.rows().store();
    let record = store.get(&key).await?.ok_or(StateError::Used)?;
    // Deleted only if still there: of two callbacks racing with one state, one wins.
    match store
        .transact_write(vec![WriteOp::delete(key).when(Condition::item_exists())])
        .await
    {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { .. }) => return Err(StateError::Used.into()),
        Err(error) => return Err(error.into()),
    }
    Ok(Redeemed {
        owner,
        verifier: record.str("code_verifier").map(str::to_owned),
    })
}
