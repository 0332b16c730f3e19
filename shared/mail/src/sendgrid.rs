//! `SendgridMailer`: SendGrid v3 Mail Send (`POST /v3/mail/send`, bearer API key, JSON body;
//! `202 Accepted` with the id in `X-Message-Id`).

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
        let Credentials::ApiKey(key) = credentials else {
            return Err(MailError::Auth(
                "the account has no SendGrid API key".into(),
            ));
        };
        let response = self
            .http
            .post(format!("{}/v3/mail/send", self.base_url))
            .bearer_auth(key)
            .json(&request_body(email))
            .send()
            .await
            .map_err(crate::network_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_success() {
            let id = headers
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Ok(Delivery {
                provider_message_id: id,
                refreshed: None,
            });
        }
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
        Err(crate::status_error(status, &headers, message))
    }
}
