//! Connections made by the server with OAuth (docs/oauth.md): the frontend never holds an
//! app secret. A start hands out the provider's authorize URL with a sealed, single-use
//! `state` bound to the user (and PKCE where the provider takes it); the callback exchanges
//! the code, then
//!
//! - **Google**: connects the mailbox as a `gmail` sender (its refresh token sealed);
//! - **Meta, LinkedIn**: keeps what the grant can connect (Pages with their Instagram
//!   accounts; the member and the organisations they administer) as a *pending connection*
//!   for an hour, sealed, for the user to choose from (`GET /v1/oauth/pending/{id}`,
//!   `POST /v1/oauth/pending/{id}/connect`).
//!
//! The rooms: `state` (issuing and redeeming states), `pending` (the choices), this file
//! (the flow and its errors).

mod pending;
mod state;

pub use pending::{Choice, ConnectChoices, PendingView};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::oauth::{Provider, StateError};
use scaliyo_store::{Clock, Connectable, OAuthError, OAuthProvider, OAuthProviders, Sealer};
use serde::{Deserialize, Serialize};

use crate::access::{Access, AccessError, Actor};
use crate::rows::Row;
use crate::send::{GmailMailbox, SendError, SenderAccounts};
use crate::social::{SocialAccounts, SocialError};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{0} is not a provider this service connects (google, meta, linkedin)")]
    UnknownProvider(String),
    #[error("connecting with {0} is not configured in this deployment")]
    NotConfigured(Provider),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the provider refused: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    #[error("the pending connection has expired; connect again")]
    PendingExpired,
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("sealing: {0}")]
    Seal(#[source] scaliyo_store::SealError),
    #[error(transparent)]
    Sender(Box<SendError>),
    #[error(transparent)]
    Social(Box<SocialError>),
}

crate::errors::through_access!(ConnectError);
crate::errors::invalid_constructor!(ConnectError);

impl From<OAuthError> for ConnectError {
    fn from(error: OAuthError) -> Self {
        match error {
            OAuthError::Refused { code, message } => ConnectError::Refused { code, message },
            OAuthError::Unavailable(detail) => ConnectError::Unavailable(detail),
        }
    }
}

impl From<SendError> for ConnectError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Access(e) => ConnectError::Access(e),
            other => ConnectError::Sender(Box::new(other)),
        }
    }
}

impl From<SocialError> for ConnectError {
    fn from(error: SocialError) -> Self {
        match error {
            SocialError::Access(e) => ConnectError::Access(e),
            other => ConnectError::Social(Box::new(other)),
        }
    }
}

impl ConnectError {
    /// The machine-readable code, also what the callback puts in the frontend's URL.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::Access(_) => "forbidden",
            ConnectError::UnknownProvider(_) => "unknown_provider",
            ConnectError::NotConfigured(_) => "oauth_not_configured",
            ConnectError::State(e) => e.code(),
            ConnectError::Refused { .. } => "provider_refused",
            ConnectError::Unavailable(_) => "provider_unavailable",
            ConnectError::PendingExpired => "pending_expired",
            ConnectError::Invalid { .. } => "invalid",
            ConnectError::Seal(_) => "unavailable",
            ConnectError::Sender(_) | ConnectError::Social(_) => "connect_failed",
        }
    }
}

pub fn parse_provider(text: &str) -> Result<Provider, ConnectError> {
    Provider::parse(text)
        .ok_or_else(|| ConnectError::UnknownProvider(text.chars().take(40).collect()))
}

/// A started connection: where to send the browser.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub provider: Provider,
    pub authorize_url: String,
    /// The state (and so the callback) is good until then.
    pub expires_at: String,
}

/// The query of a provider's redirect back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The user declined, or the provider failed (`access_denied`, …).
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// What a callback came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completed {
    /// Google: the sender account connected (or reconnected).
    Connected { account_id: String },
    /// Meta, LinkedIn: the choices wait under this id.
    Pending { pending_id: String },
}

/// Connections through OAuth: held by the `oauth` function (and the local server).
#[derive(Clone)]
pub struct OAuthConnections {
    access: Arc<Access>,
    sealer: Arc<dyn Sealer>,
    providers: OAuthProviders,
    senders: SenderAccounts,
    social: SocialAccounts,
    clock: Arc<dyn Clock>,
}

impl OAuthConnections {
    pub fn new(
        access: Arc<Access>,
        sealer: Arc<dyn Sealer>,
        providers: OAuthProviders,
        senders: SenderAccounts,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let social = SocialAccounts::new(access.clone(), sealer.clone());
        Self {
            access,
            sealer,
            providers,
            senders,
            social,
            clock,
        }
    }

    fn provider(&self, provider: Provider) -> Result<&Arc<dyn OAuthProvider>, ConnectError> {
        self.providers
            .get(provider)
            .ok_or(ConnectError::NotConfigured(provider))
    }

    /// `GET /v1/oauth/{provider}/start`: the authorize URL for the signed-in user.
    pub async fn start(&self, actor: &Actor, provider: Provider) -> Result<Started, ConnectError> {
        let owner = actor.owner()?;
        let client = self.provider(provider)?;
        let issued = state::issue(self, owner, provider).await?;
        let challenge = issued
            .verifier
            .as_deref()
            .map(scaliyo_domain::oauth::pkce_challenge);
        Ok(Started {
            provider,
            authorize_url: client.authorize_url(&issued.state, challenge.as_deref()),
            expires_at: crate::rows::timestamp_text(issued.expires_at),
        })
    }

    /// `GET /oauth/{provider}/callback`: the code exchanged and the result connected or kept
    /// to choose from. The state is redeemed before anything else, even when the provider
    /// reports an error, so a state works once.
    pub async fn complete(
        &self,
        provider: Provider,
        callback: Callback,
    ) -> Result<Completed, ConnectError> {
        let client = self.provider(provider)?;
        let Some(state) = callback.state.as_deref().filter(|s| !s.is_empty()) else {
            return Err(StateError::Forged.into());
        };
        let redeemed = state::redeem(self, provider, state).await?;
        if let Some(error) = callback.error {
            return Err(ConnectError::Refused {
                message: callback
                    .error_description
                    .unwrap_or_else(|| "the user did not grant access".to_owned()),
                code: error.chars().take(64).collect(),
            });
        }
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid("code", "the provider sent no authorization code"))?;
        let grant = client
            .exchange(&code, redeemed.verifier.as_deref())
            .await?
            .at(self.now());
        let connectables = client.connectables(&grant.access_token).await?;
        let owner = redeemed.owner;
        if provider == Provider::Google {
            let Some(Connectable::Mailbox { email, name }) = connectables.first() else {
                return Err(ConnectError::Unavailable("Google named no mailbox".into()));
            };
            let mailbox = GmailMailbox {
                email,
                name: name.as_deref(),
                grant: &grant,
            };
            let sender = self.senders.connect_gmail(owner, mailbox).await?;
            return Ok(Completed::Connected {
                account_id: sender["id"].as_str().unwrap_or_default().to_owned(),
            });
        }
        let pending_id = pending::keep(self, owner, provider, grant, connectables).await?;
        Ok(Completed::Pending { pending_id })
    }

    /// `GET /v1/oauth/pending/{id}`: what a grant can connect, without its tokens.
    pub async fn pending(&self, actor: &Actor, id: &str) -> Result<PendingView, ConnectError> {
        let owner = actor.owner()?;
        let pending = pending::open(self, owner, id).await?;
        Ok(pending.view(id))
    }

    /// `POST /v1/oauth/pending/{id}/connect`: the chosen accounts connected; the pending
    /// connection is used up.
    pub async fn connect_pending(
        &self,
        actor: &Actor,
        id: &str,
        request: ConnectChoices,
    ) -> Result<Vec<Row>, ConnectError> {
        let owner = actor.owner()?;
        let pending = pending::open(self, owner, id).await?;
        let chosen = pending.chosen(&request)?;
        let mut accounts = Vec::with_capacity(chosen.len());
        for connectable in chosen {
            accounts.push(
                self.social
                    .connect_granted(owner, connectable, &pending.grant)
                    .await?,
            );
        }
        pending::discard(self, owner, id).await?;
        Ok(accounts)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn owner_key(owner: OwnerId, sort: String) -> scaliyo_store::Key {
        scaliyo_store::Key::new(crate::layout::owner_partition(owner), sort)
    }
}

/// Where the callback sends the browser back: the frontend's connections page with the
/// outcome in the query (`status=connected|choose|error`, and the account, pending
/// connection or error code).
pub fn landing_url(
    app_url: &str,
    provider: Provider,
    outcome: &Result<Completed, ConnectError>,
) -> String {
    let mut pairs: Vec<(&str, String)> = vec![("provider", provider.as_str().to_owned())];
    match outcome {
        Ok(Completed::Connected { account_id }) => {
            pairs.push(("status", "connected".into()));
            pairs.push(("account_id", account_id.clone()));
        }
        Ok(Completed::Pending { pending_id }) => {
            pairs.push(("status", "choose".into()));
            pairs.push(("pending_id", pending_id.clone()));
        }
        Err(error) => {
            pairs.push(("status", "error".into()));
            pairs.push(("error", error.code().to_owned()));
        }
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!(
        "{}/settings/connections?{query}",
        app_url.trim_end_matches('/')
    )
}
