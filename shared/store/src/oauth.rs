//! The OAuth port: one provider's authorization-code grant as the server runs it — the
//! authorize URL the user is sent to, the code exchanged for tokens (with the client secret,
//! which never leaves the server), the accounts those tokens can connect, and a refresh
//! before the access token expires.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
pub use scaliyo_domain::oauth::Provider;
use serde::{Deserialize, Serialize};

/// Tokens as a provider answers them: the lifetime in seconds from now.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    /// Google and LinkedIn (where granted). Meta grants none: its long-lived user token is
    /// itself exchanged for a fresh one.
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    /// The scopes the user actually granted (a user may untick some).
    pub scopes: Vec<String>,
}

impl Tokens {
    /// A token endpoint's successful answer (RFC 6749 §5.1): the access token, and the
    /// refresh token, lifetime and scopes where given (scopes space- or comma-separated:
    /// LinkedIn uses commas).
    pub fn from_answer(body: &serde_json::Value) -> Result<Self, OAuthError> {
        let access_token = body["access_token"]
            .as_str()
            .ok_or_else(|| OAuthError::Unavailable("no access_token in the answer".into()))?;
        Ok(Self {
            access_token: access_token.to_owned(),
            refresh_token: body["refresh_token"].as_str().map(str::to_owned),
            expires_in: body["expires_in"].as_i64().filter(|secs| *secs > 0),
            scopes: body["scope"]
                .as_str()
                .unwrap_or_default()
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// A token endpoint's answer, an error answer (RFC 6749 §5.2: `error`,
    /// `error_description`) read as a refusal — or, for a 5xx, a 429 or an answer without an
    /// error code, as the endpoint being unavailable.
    pub fn from_token_endpoint(status: u16, body: &serde_json::Value) -> Result<Self, OAuthError> {
        if (200..300).contains(&status) {
            return Self::from_answer(body);
        }
        let code = body["error"].as_str().unwrap_or_default();
        let message = body["error_description"]
            .as_str()
            .unwrap_or(code)
            .to_owned();
        Err(if status >= 500 || status == 429 || code.is_empty() {
            OAuthError::Unavailable(format!("the token endpoint answered {status}: {message}"))
        } else {
            OAuthError::Refused {
                code: code.to_owned(),
                message,
            }
        })
    }

    /// The grant as kept: the expiry fixed by the caller's clock.
    pub fn at(self, now: DateTime<Utc>) -> Grant {
        Grant {
            expires_at: self
                .expires_in
                .filter(|secs| *secs > 0)
                .map(|secs| now + chrono::Duration::seconds(secs)),
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            scopes: self.scopes,
        }
    }
}

impl std::fmt::Debug for Tokens {
    // Tokens never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Tokens a provider granted, as kept (sealed) for renewals.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Grant {
    // Tokens never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// An Instagram business account linked to a Facebook Page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstagramAccount {
    pub id: String,
    pub username: Option<String>,
}

/// Something a grant can connect.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Connectable {
    /// A Google mailbox (a `gmail` sender account).
    Mailbox { email: String, name: Option<String> },
    /// A Facebook Page the user manages, with the Page's own token and its Instagram
    /// business account if one is linked.
    FacebookPage {
        page_id: String,
        name: Option<String>,
        page_token: String,
        instagram: Option<InstagramAccount>,
    },
    /// The LinkedIn member who signed in.
    LinkedinMember { urn: String, name: Option<String> },
    /// A LinkedIn organisation the member administers.
    LinkedinOrganization { urn: String, name: Option<String> },
}

impl std::fmt::Debug for Connectable {
    // A Page's token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connectable::Mailbox { .. } => f.write_str("Mailbox"),
            Connectable::FacebookPage { page_id, .. } => write!(f, "FacebookPage({page_id})"),
            Connectable::LinkedinMember { urn, .. } => write!(f, "LinkedinMember({urn})"),
            Connectable::LinkedinOrganization { urn, .. } => {
                write!(f, "LinkedinOrganization({urn})")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The provider refused for good (`invalid_grant`, a revoked app, a code already used):
    /// only the user connecting again fixes it.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// No usable answer (network, 5xx, 429): worth trying again later.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait OAuthProvider: Send + Sync {
    fn provider(&self) -> Provider;

    /// Where the user's browser goes to sign in and consent. `code_challenge` is the PKCE
    /// S256 challenge for providers that take one.
    fn authorize_url(&self, state: &str, code_challenge: Option<&str>) -> String;

    /// The code of the callback exchanged for tokens (Meta: for a long-lived user token).
    async fn exchange(&self, code: &str, code_verifier: Option<&str>)
    -> Result<Tokens, OAuthError>;

    /// What this access token can connect: the mailbox, the Pages, the member and
    /// organisations.
    async fn connectables(&self, access_token: &str) -> Result<Vec<Connectable>, OAuthError>;

    /// Fresh tokens before these expire: the refresh token (Google, LinkedIn), or the
    /// long-lived user token exchanged again (Meta).
    async fn refresh(&self, grant: &Grant) -> Result<Tokens, OAuthError>;
}

/// The providers this deployment has an OAuth client for (none configured: `None`).
#[derive(Clone, Default)]
pub struct OAuthProviders {
    pub google: Option<Arc<dyn OAuthProvider>>,
    pub meta: Option<Arc<dyn OAuthProvider>>,
    pub linkedin: Option<Arc<dyn OAuthProvider>>,
}

impl std::fmt::Debug for OAuthProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configured: Vec<&str> = Provider::ALL
            .into_iter()
            .filter(|p| self.get(*p).is_some())
            .map(Provider::as_str)
            .collect();
        f.debug_struct("OAuthProviders")
            .field("configured", &configured)
            .finish()
    }
}

impl OAuthProviders {
    pub fn get(&self, provider: Provider) -> Option<&Arc<dyn OAuthProvider>> {
        match provider {
            Provider::Google => self.google.as_ref(),
            Provider::Meta => self.meta.as_ref(),
            Provider::Linkedin => self.linkedin.as_ref(),
        }
    }
}

/// This deployment's registration with a provider: the client (app) id and secret, and the
/// callback URL registered with it (`<api>/oauth/<provider>/callback`).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

impl OAuthClient {
    /// `<PREFIX>_CLIENT_ID` and `<PREFIX>_CLIENT_SECRET` from the environment, the callback
    /// under `api_base` (the API's public URL); none without an id and a secret.
    pub fn from_env(prefix: &str, provider: Provider, api_base: &str) -> Option<Self> {
        let var = |name: String| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Some(Self {
            client_id: var(format!("{prefix}_CLIENT_ID"))?,
            client_secret: var(format!("{prefix}_CLIENT_SECRET"))?,
            redirect_uri: callback_url(api_base, provider),
        })
    }
}

/// The callback URL of a provider under the API's public base URL.
pub fn callback_url(api_base: &str, provider: Provider) -> String {
    format!(
        "{}/oauth/{provider}/callback",
        api_base.trim_end_matches('/')
    )
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}
