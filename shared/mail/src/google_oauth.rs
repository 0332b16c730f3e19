//! Google's OAuth token endpoint: a fresh access token from a refresh token. Shared by the
//! Gmail mailer and the Gmail inbox; `invalid_grant` means the account must be re-authorised.

use chrono::{Duration, Utc};
use scaliyo_store::MailError;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct GoogleOAuth {
    token_url: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
}

impl GoogleOAuth {
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            http,
        }
    }

    pub async fn refresh(
        &self,
        refresh_token: &str,
    ) -> Result<(String, chrono::DateTime<Utc>), MailError> {
        let response = self
            .http
            .post(&self.token_url)
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
                ("refresh_token", refresh_token),
                ("grant_type", "refresh_token"),
            ])
            .send()
            .await
            .map_err(crate::network_error)?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let error = body["error"].as_str().unwrap_or_default();
            let description = body["error_description"]
                .as_str()
                .unwrap_or(error)
                .to_owned();
            return Err(match error {
                "invalid_grant" | "invalid_client" | "unauthorized_client" => {
                    MailError::Auth(description)
                }
                _ if status.as_u16() == 429 => MailError::RateLimited { retry_after: None },
                _ => MailError::Unavailable(format!("token refresh {status}: {description}")),
            });
        }
        let token = body["access_token"].as_str().ok_or_else(|| {
            MailError::Unavailable("no access_token in the refresh response".into())
        })?;
        let expires_in = body["expires_in"].as_i64().unwrap_or(3600);
        Ok((token.to_owned(), Utc::now() + Duration::seconds(expires_in)))
    }
}
