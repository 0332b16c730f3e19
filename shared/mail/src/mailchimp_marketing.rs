//! `MailchimpMarketingApi`: the Marketing API's root (`GET https://<dc>.api.mailchimp.com/3.0/`)
//! with the key as HTTP Basic auth (any user name, the key as password) — the account's id,
//! name and login e-mail. Errors come as problem documents (`{type, title, status, detail}`).

use async_trait::async_trait;
use base64::Engine;
use scaliyo_store::{MailError, MailchimpMarketing, MarketingAccount, mailchimp_datacenter};
use serde_json::Value;

/// The API's host per data centre; `{dc}` is replaced by the key's data centre.
pub const DEFAULT_URL: &str = "https://{dc}.api.mailchimp.com";

#[derive(Debug, Clone)]
pub struct MailchimpMarketingApi {
    /// A base URL, with `{dc}` where the data centre goes (a local stand-in may leave it out).
    url: String,
    http: reqwest::Client,
}

impl MailchimpMarketingApi {
    pub fn new(url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// `MAILCHIMP_MARKETING_URL` (tests point it at a stand-in), else Mailchimp's own.
    pub fn from_env(http: reqwest::Client) -> Self {
        Self::new(
            std::env::var("MAILCHIMP_MARKETING_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned()),
            http,
        )
    }
}

/// `Authorization: Basic base64("scaliyo:<key>")`, as the Marketing API documents it.
pub fn authorization(api_key: &str) -> String {
    let pair = format!("scaliyo:{}", api_key.trim());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

#[async_trait]
impl MailchimpMarketing for MailchimpMarketingApi {
    async fn account(&self, api_key: &str) -> Result<MarketingAccount, MailError> {
        let datacenter = mailchimp_datacenter(api_key).ok_or_else(|| {
            MailError::Auth(
                "not a Mailchimp API key: expected the key and its data centre, e.g. …-us21".into(),
            )
        })?;
        let response = self
            .http
            .get(format!("{}/3.0/", self.url.replace("{dc}", datacenter)))
            .header(reqwest::header::AUTHORIZATION, authorization(api_key))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(crate::network_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let detail = body["detail"]
                .as_str()
                .or_else(|| body["title"].as_str())
                .unwrap_or(status.as_str())
                .to_owned();
            return Err(crate::status_error(status, &headers, detail));
        }
        let account = MarketingAccount {
            datacenter: datacenter.to_owned(),
            account_id: text(&body, "account_id"),
            account_name: text(&body, "account_name"),
            email: text(&body, "email"),
        };
        if account.account_id.is_empty() {
            return Err(MailError::Unavailable(
                "unexpected response from the Mailchimp Marketing API".into(),
            ));
        }
        Ok(account)
    }
}
