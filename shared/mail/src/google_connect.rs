//! Connecting a Gmail mailbox with Google's OAuth 2.0 for web servers: the consent screen
//! (offline access, so a refresh token comes back; PKCE S256), the code exchanged at the
//! token endpoint, and the address read from the OpenID Connect userinfo endpoint.

use async_trait::async_trait;
use reqwest::Url;
use scaliyo_store::oauth::Provider;
use scaliyo_store::{
    Connectable, Grant, MailError, OAuthClient, OAuthError, OAuthProvider, Tokens,
};
use serde_json::Value;

use crate::google_oauth::GoogleOAuth;

pub const DEFAULT_AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const DEFAULT_USERINFO_URL: &str = "https://openidconnect.googleapis.com/v1/userinfo";

/// Google's endpoints; the tests point them at a local fake.
#[derive(Debug, Clone)]
pub struct GoogleEndpoints {
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: String,
}

impl GoogleEndpoints {
    /// `GOOGLE_AUTHORIZE_URL`, `GOOGLE_TOKEN_URL`, `GOOGLE_USERINFO_URL`; Google's own unless set.
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self {
            authorize_url: var("GOOGLE_AUTHORIZE_URL", DEFAULT_AUTHORIZE_URL),
            token_url: var("GOOGLE_TOKEN_URL", crate::gmail::DEFAULT_TOKEN_URL),
            userinfo_url: var("GOOGLE_USERINFO_URL", DEFAULT_USERINFO_URL),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GoogleConnect {
    client: OAuthClient,
    endpoints: GoogleEndpoints,
    refresher: GoogleOAuth,
    http: reqwest::Client,
}

impl GoogleConnect {
    pub fn new(client: OAuthClient, endpoints: GoogleEndpoints, http: reqwest::Client) -> Self {
        let refresher = GoogleOAuth::new(
            endpoints.token_url.clone(),
            client.client_id.clone(),
            client.client_secret.clone(),
            http.clone(),
        );
        Self {
            client,
            endpoints,
            refresher,
            http,
        }
    }
}

fn unavailable(error: reqwest::Error) -> OAuthError {
    OAuthError::Unavailable(error.without_url().to_string())
}

#[async_trait]
impl OAuthProvider for GoogleConnect {
    fn provider(&self) -> Provider {
        Provider::Google
    }

    fn authorize_url(&self, state: &str, code_challenge: Option<&str>) -> String {
        let Ok(mut url) = Url::parse(&self.endpoints.authorize_url) else {
            return self.endpoints.authorize_url.clone();
        };
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client.client_id)
                .append_pair("redirect_uri", &self.client.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &Provider::Google.scopes().join(" "))
                // A refresh token, and asked for again on a reconnect (Google only returns
                // one on a consent).
                .append_pair("access_type", "offline")
                .append_pair("prompt", "consent")
                .append_pair("include_granted_scopes", "true")
                .append_pair("state", state);
            if let Some(challenge) = code_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
        }
        url.into()
    }

    async fn exchange(
        &self,
        code: &str,
        code_verifier: Option<&str>,
    ) -> Result<Tokens, OAuthError> {
        let mut form = vec![
            ("code", code),
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.client_secret.as_str()),
            ("redirect_uri", self.client.redirect_uri.as_str()),
            ("grant_type", "authorization_code"),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        let response = self
            .http
            .post(&self.endpoints.token_url)
            .form(&form)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        Tokens::from_token_endpoint(status, &body)
    }

    async fn connectables(&self, access_token: &str) -> Result<Vec<Connectable>, OAuthError> {
        let response = self
            .http
            .get(&self.endpoints.userinfo_url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(OAuthError::Unavailable(format!(
                "userinfo answered {status}"
            )));
        }
        // An address Google has not verified is not one to send as.
        let (Some(email), Some(true)) = (body["email"].as_str(), body["email_verified"].as_bool())
        else {
            return Err(OAuthError::Refused {
                code: "email_unverified".into(),
                message: "the Google account has no verified e-mail address".into(),
            });
        };
        Ok(vec![Connectable::Mailbox {
            email: email.to_owned(),
            name: body["name"].as_str().map(str::to_owned),
        }])
    }

    async fn refresh(&self, grant: &Grant) -> Result<Tokens, OAuthError> {
        let Some(refresh_token) = &grant.refresh_token else {
            return Err(OAuthError::Refused {
                code: "no_refresh_token".into(),
                message: "Google granted no refresh token; connect again".into(),
            });
        };
        let (access_token, expires_at) =
            self.refresher
                .refresh(refresh_token)
                .await
                .map_err(|error| match error {
                    MailError::Auth(message) => OAuthError::Refused {
                        code: "invalid_grant".into(),
                        message,
                    },
                    other => OAuthError::Unavailable(other.to_string()),
                })?;
        Ok(Tokens {
            access_token,
            refresh_token: grant.refresh_token.clone(),
            // The mailer's refresher answers an instant; the port speaks in lifetimes.
            expires_in: Some((expires_at - chrono::Utc::now()).num_seconds()),
            scopes: grant.scopes.clone(),
        })
    }
}
