//! `GmailMailer`: Gmail API `users.messages.send` with the message as base64url `raw`. An
//! expired (or refused) access token is refreshed once with the refresh token at Google's
//! token endpoint; `invalid_grant` means the account must be re-authorised.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};

use crate::google_oauth::GoogleOAuth;
use scaliyo_store::{Credentials, Delivery, MailError, Mailer, OutgoingEmail};
use serde_json::{Value, json};

pub const DEFAULT_API_BASE: &str = "https://gmail.googleapis.com";
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

#[derive(Debug, Clone)]
pub struct GmailMailer {
    api_base: String,
    oauth: GoogleOAuth,
    http: reqwest::Client,
}

impl GmailMailer {
    pub fn new(
        api_base: impl Into<String>,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            oauth: GoogleOAuth::new(token_url, client_id, client_secret, http.clone()),
            http,
        }
    }

    async fn post(&self, token: &str, raw: &str) -> Result<reqwest::Response, MailError> {
        self.http
            .post(format!("{}/gmail/v1/users/me/messages/send", self.api_base))
            .bearer_auth(token)
            .json(&json!({ "raw": raw }))
            .send()
            .await
            .map_err(crate::network_error)
    }
}

#[async_trait]
impl Mailer for GmailMailer {
    async fn send(
        &self,
        email: &OutgoingEmail,
        credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        let Credentials::OAuth {
            access_token,
            refresh_token,
            expires_at,
        } = credentials
        else {
            return Err(MailError::Auth(
                "the account has no Google authorisation".into(),
            ));
        };
        let raw = URL_SAFE_NO_PAD.encode(crate::message::to_bytes(email)?);
        let mut refreshed = None;
        let mut token = access_token.clone();
        // Refresh ahead of expiry rather than spend a request on a certain 401.
        if expires_at.is_some_and(|at| at <= Utc::now() + Duration::seconds(60))
            && let Some(refresh) = refresh_token
        {
            let new = self.oauth.refresh(refresh).await?;
            token = new.0.clone();
            refreshed = Some(new);
        }
        let mut response = self.post(&token, &raw).await?;
        if response.status().as_u16() == 401 && refreshed.is_none() {
            let refresh = refresh_token.as_deref().ok_or_else(|| {
                MailError::Auth("the access token expired and there is no refresh token".into())
            })?;
            let new = self.oauth.refresh(refresh).await?;
            response = self.post(&new.0, &raw).await?;
            refreshed = Some(new);
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Delivery {
                provider_message_id: body["id"].as_str().map(str::to_owned),
                refreshed,
            });
        }
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or(status.as_str())
            .to_owned();
        Err(crate::status_error(status, &headers, message))
    }
}
