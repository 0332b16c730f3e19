//! Connections made by the server with OAuth 2.0's authorization-code grant: the providers,
//! the scopes each connection needs, the `state` a start hands out and a callback must bring
//! back, and PKCE (RFC 7636).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a started connection may take to come back: the user signs in and consents.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// How long the accounts a Meta or LinkedIn grant offers wait to be chosen.
pub const PENDING_LIFETIME: Duration = Duration::hours(1);

/// The claims sealed into a `state`; `purpose` keeps any other sealed value from passing.
pub const STATE_PURPOSE: &str = "oauth_state";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Meta,
    Linkedin,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Google, Provider::Meta, Provider::Linkedin];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Meta => "meta",
            Provider::Linkedin => "linkedin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Whether the provider takes a PKCE challenge on a confidential web client. Google
    /// does; Meta's and LinkedIn's web flows authenticate the exchange with the client
    /// secret only.
    pub fn uses_pkce(self) -> bool {
        matches!(self, Provider::Google)
    }

    /// What the connection is for, in the scopes each provider names.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            // Identity (the mailbox's address), sending, and reading replies.
            Provider::Google => &[
                "openid",
                "email",
                "profile",
                "https://www.googleapis.com/auth/gmail.send",
                "https://www.googleapis.com/auth/gmail.readonly",
            ],
            // The Pages the user manages, posting to them, and their Instagram accounts.
            Provider::Meta => &[
                "pages_show_list",
                "pages_read_engagement",
                "pages_manage_posts",
                "business_management",
                "instagram_basic",
                "instagram_content_publish",
            ],
            // The member (OpenID), posting as the member, and the organisations they run.
            Provider::Linkedin => &[
                "openid",
                "profile",
                "w_member_social",
                "r_organization_admin",
                "w_organization_social",
            ],
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `state` says, sealed (authenticated encryption) so it cannot be forged or read:
/// who started the connection, with which provider, until when, and the nonce of the
/// single-use record that holds the PKCE verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    pub purpose: String,
    pub provider: Provider,
    pub user_id: String,
    pub nonce: String,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the state was not issued by this service")]
    Forged,
    #[error("the state was issued for another provider")]
    WrongProvider,
    #[error("the state has expired; start the connection again")]
    Expired,
    #[error("the state was already used; start the connection again")]
    Used,
}

impl StateError {
    pub fn code(self) -> &'static str {
        match self {
            StateError::Forged | StateError::WrongProvider => "state_invalid",
            StateError::Expired => "state_expired",
            StateError::Used => "state_used",
        }
    }
}

impl StateClaims {
    pub fn new(provider: Provider, user_id: String, nonce: String, now: DateTime<Utc>) -> Self {
        Self {
            purpose: STATE_PURPOSE.to_owned(),
            provider,
            user_id,
            nonce,
            expires_at: (now + STATE_LIFETIME).timestamp(),
        }
    }

    /// The claims of an opened state, checked for the callback of `provider` at `now`.
    pub fn check(opened: &str, provider: Provider, now: DateTime<Utc>) -> Result<Self, StateError> {
        let claims: Self = serde_json::from_str(opened).map_err(|_| StateError::Forged)?;
        if claims.purpose != STATE_PURPOSE {
            return Err(StateError::Forged);
        }
        if claims.provider != provider {
            return Err(StateError::WrongProvider);
        }
        if now.timestamp() >= claims.expires_at {
            return Err(StateError::Expired);
        }
        Ok(claims)
    }
}

/// The S256 code challenge of a PKCE verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_state_is_refused_when_forged_misdirected_or_late() {
        let claims = StateClaims::new(Provider::Meta, "u".into(), "n".into(), now());
        let text = serde_json::to_string(&claims).unwrap_or_default();
        assert_eq!(StateClaims::check(&text, Provider::Meta, now()), Ok(claims));
        assert_eq!(
            StateClaims::check(&text, Provider::Google, now()),
            Err(StateError::WrongProvider)
        );
        assert_eq!(
            StateClaims::check(&text, Provider::Meta, now() + STATE_LIFETIME),
            Err(StateError::Expired)
        );
        assert_eq!(
            StateClaims::check("{\"api_key\":\"x\"}", Provider::Meta, now()),
            Err(StateError::Forged)
        );
        let other = text.replace(STATE_PURPOSE, "invoice_link");
        assert_eq!(
            StateClaims::check(&other, Provider::Meta, now()),
            Err(StateError::Forged)
        );
    }

    #[test]
    fn providers_parse_from_their_path_segment() {
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()), Some(provider));
        }
        assert_eq!(Provider::parse("twitter"), None);
    }
}
