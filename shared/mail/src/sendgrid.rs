//! `SendgridMailer`: SendGrid v3 Mail Send (`POST /v3/mail/send`, bearer API key, JSON body;
//! `202 Accepted` with the id in `X-Message-Id`), and the key checked when a sender connects
//! (`GET /v3/scopes`: the key must hold `mail.send`).

use async_trait::async_trait;
use scaliyo_store::{Credentials, Delivery, MailError, Mailer, OutgoingEmail};
use serde_json::{Map, Value, json};

pub const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

#[derive(Debug, Clone)]
pub struct SendgridMailer {
    base_url: String,
    http: reqwest::Client,
}

impl SendgridMailer {
    pub fn new(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }
}

/// SendGrid sets these itself and refuses them as custom headers.
const RESERVED: &[&str] = &["message-id", "from", "to", "subject", "content-type"];

pub fn request_body(email: &OutgoingEmail) -> Value {
    let mut to = json!({ "email": email.to_email });
    if let Some(name) = email.to_name.as_deref().filter(|n| !n.is_empty()) {
        to["name"] = json!(name);
    }
    let headers: Map<String, Value> = email
        .headers
        .iter()
        .filter(|(name, _)| !RESERVED.contains(&name.to_ascii_lowercase().as_str()))
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "personalizations": [{ "to": [to] }],
        "from": { "email": email.from_email, "name": email.from_name },
        "subject": email.subject,
        "content": [
            { "type": "text/plain", "value": email.text },
            { "type": "text/html", "value": email.html }
        ],
        "headers": headers,
        "custom_args": { "scaliyo_message_id": email.scaliyo_message_id },
        // Scaliyo tracks opens and clicks itself.
        "tracking_settings": { "click_tracking": { "enable": false }, "open_tracking": { "enable": false } }
    })
}

#[async_trait]
impl Mailer for SendgridMailer {
    async fn send(
        &self,
        email: &OutgoingEmail,
        credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        let key = api_key(credentials)?;
        let response = self
            .http
            .post(format!("{}/v3/mail/send", self.base_url))
            .bearer_auth(key)
            .json(&request_body(email))
            .send()
            .await
            .map_err(crate::network_error)?;
        if response.status().is_success() {
            let id = response
                .headers()
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Ok(Delivery {
                provider_message_id: id,
                refreshed: None,
            });
        }
        Err(error_of(response).await)
    }

    /// A key that cannot send is refused when the sender connects, not at its first e-mail:
    /// `GET /v3/scopes` answers 401 for an unknown or revoked key, and lists the permissions
    /// of a valid one, of which sending needs `mail.send` (a read-only key lacks it).
    async fn verify(&self, credentials: &Credentials) -> Result<(), MailError> {
        let key = api_key(credentials)?;
        let response = self
            .http
            .get(format!("{}/v3/scopes", self.base_url))
            .bearer_auth(key)
            .send()
            .await
            .map_err(crate::network_error)?;
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let may_send = body["scopes"]
            .as_array()
            .is_some_and(|scopes| scopes.iter().any(|scope| scope == "mail.send"));
        if may_send {
            Ok(())
        } else {
            Err(MailError::Auth(
                "the API key lacks the mail.send permission".into(),
            ))
        }
    }
}

fn api_key(credentials: &Credentials) -> Result<&str, MailError> {
    match credentials {
        Credentials::ApiKey(key) => Ok(key),
        _ => Err(MailError::Auth(
            "the account has no SendGrid API key".into(),
        )),
    }
}

/// A refused request as the caller can act on it, with SendGrid's own messages
/// (`{"errors": [{"message": …}]}`).
async fn error_of(response: reqwest::Response) -> MailError {
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.to_string());
    crate::status_error(status, &headers, message)
}
