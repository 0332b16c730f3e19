//! `MailchimpMailer`: Mailchimp Transactional (Mandrill) `POST /api/1.0/messages/send` with the
//! API key in the JSON body; a 200 carries one result per recipient (`sent`, `queued`,
//! `rejected`, `invalid`), errors come as `{"status":"error","name":…,"message":…}`. A key is
//! checked when a sender connects with `POST /api/1.0/users/ping2` (`{"PING": "PONG!"}`).

use async_trait::async_trait;
use scaliyo_store::{Credentials, Delivery, MailError, Mailer, OutgoingEmail};
use serde_json::{Map, Value, json};

pub const DEFAULT_BASE_URL: &str = "https://mandrillapp.com";

#[derive(Debug, Clone)]
pub struct MailchimpMailer {
    base_url: String,
    http: reqwest::Client,
}

impl MailchimpMailer {
    pub fn new(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }
}

pub fn request_body(email: &OutgoingEmail, key: &str) -> Value {
    let headers: Map<String, Value> = email
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), json!(v)))
        .collect();
    let mut to = json!({ "email": email.to_email, "type": "to" });
    if let Some(name) = email.to_name.as_deref().filter(|n| !n.is_empty()) {
        to["name"] = json!(name);
    }
    json!({
        "key": key,
        "message": {
            "html": email.html,
            "text": email.text,
            "subject": email.subject,
            "from_email": email.from_email,
            "from_name": email.from_name,
            "to": [to],
            "headers": headers,
            "track_opens": false,
            "track_clicks": false,
            "metadata": { "scaliyo_message_id": email.scaliyo_message_id }
        }
    })
}

#[async_trait]
impl Mailer for MailchimpMailer {
    async fn send(
        &self,
        email: &OutgoingEmail,
        credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        let key = api_key(credentials)?;
        let body = self
            .call("messages/send", &request_body(email, key))
            .await?;
        let result = &body[0];
        match result["status"].as_str() {
            Some("sent" | "queued" | "scheduled") => Ok(Delivery {
                provider_message_id: result["_id"].as_str().map(str::to_owned),
                refreshed: None,
            }),
            Some(other) => Err(MailError::Rejected(format!(
                "{other}: {}",
                result["reject_reason"]
                    .as_str()
                    .unwrap_or("no reason given")
            ))),
            None => Err(MailError::Unavailable(
                "unexpected response from Mailchimp Transactional".into(),
            )),
        }
    }

    /// A key Mailchimp does not know (`Invalid_Key`) is refused when the sender connects,
    /// not at its first e-mail.
    async fn verify(&self, credentials: &Credentials) -> Result<(), MailError> {
        let key = api_key(credentials)?;
        let body = self.call("users/ping2", &json!({ "key": key })).await?;
        if body["PING"] == "PONG!" {
            Ok(())
        } else {
            Err(MailError::Unavailable(
                "unexpected answer to a ping from Mailchimp Transactional".into(),
            ))
        }
    }
}

impl MailchimpMailer {
    /// One API call (`POST /api/1.0/<method>`, the key in `body`): the answer's JSON, or the
    /// error it names as the caller can act on it.
    async fn call(&self, method: &str, body: &Value) -> Result<Value, MailError> {
        let response = self
            .http
            .post(format!("{}/api/1.0/{method}", self.base_url))
            .json(body)
            .send()
            .await
            .map_err(crate::network_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let name = body["name"].as_str().unwrap_or_default();
        let message = body["message"]
            .as_str()
            .unwrap_or(status.as_str())
            .to_owned();
        Err(match name {
            "Invalid_Key" | "PaymentRequired" | "Unknown_Subaccount" => MailError::Auth(message),
            "ValidationError" | "Unknown_Template" => MailError::Rejected(message),
            _ if status.as_u16() == 429 => MailError::RateLimited {
                retry_after: crate::retry_after(&headers),
            },
            _ => crate::status_error(status, &headers, message),
        })
    }
}

fn api_key(credentials: &Credentials) -> Result<&str, MailError> {
    match credentials {
        Credentials::ApiKey(key) => Ok(key),
        _ => Err(MailError::Auth(
            "the account has no Mailchimp Transactional API key".into(),
        )),
    }
}
