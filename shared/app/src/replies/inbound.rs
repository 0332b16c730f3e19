//! The providers' inbound parse: SendGrid Inbound Parse (a multipart form POST: the raw
//! message in `email` when "send raw" is on, else `headers`, `text`, `html`…) and Mailchimp
//! Transactional inbound routes (`mandrill_events` with `event: "inbound"`, signed like its
//! event webhooks), each behind an unguessable per-sender URL
//! (`POST /v1/sender-accounts/{id}/inbound-webhook`). Unknown tokens are a plain 404; bodies
//! over [`MAX_INBOUND_BYTES`] are refused before they are parsed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mailparse::MailHeaderMap;
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::provider_events::mandrill_signature_valid;
use scaliyo_domain::replies::{self, InboundMessage};
use scaliyo_store::{Item, Key, WriteOp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::record::Source;
use super::*;
use crate::access::Actor;
use crate::rows::{RowError, timestamp_text};

/// The largest inbound POST read (API Gateway's own limit is 10 MB).
pub const MAX_INBOUND_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundRequest {
    /// Mailchimp Transactional: the inbound route's webhook key (signs each POST).
    pub verification_key: Option<String>,
}

fn hook_key(token: &str) -> Key {
    Key::new(format!("INBOUND#{token}"), "INBOUND")
}

struct Hook {
    provider: String,
    owner: OwnerId,
    sender_account_id: String,
    key: String,
    url: String,
}

impl Replies {
    /// A new inbound URL for one of the caller's SendGrid or Mailchimp sender accounts.
    pub async fn create_inbound(
        &self,
        actor: &Actor,
        sender_id: &str,
        request: InboundRequest,
    ) -> Result<Value, ReplyError> {
        let sender = self.access.get(actor, "sender_accounts", sender_id).await?;
        let owner = crate::rows::owner_in(&sender, "workspace_id")?;
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        let key = match (provider.as_str(), request.verification_key) {
            ("sendgrid", None) => String::new(),
            ("sendgrid", Some(_)) => {
                return Err(invalid(
                    "verification_key",
                    "SendGrid Inbound Parse does not sign its posts; the URL is the secret",
                ));
            }
            ("mailchimp", Some(key)) if !key.trim().is_empty() && key.len() <= 4096 => {
                key.trim().to_owned()
            }
            ("mailchimp", _) => {
                return Err(invalid(
                    "verification_key",
                    "give the inbound route's webhook key from Mailchimp Transactional",
                ));
            }
            _ => {
                return Err(invalid(
                    "sender_account_id",
                    format!(
                        "{provider} mailboxes are read directly: PUT /v1/sender-accounts/{{id}}/reply-detection"
                    ),
                ));
            }
        };
        let mut bytes = [0u8; 18];
        rand::fill(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let url = format!("{}/webhooks/inbound/{provider}/{token}", self.base_url);
        let item = Item::new(&hook_key(&token))
            .with("provider", provider.as_str())
            .with("owner", owner.to_string())
            .with("sender_account_id", sender_id)
            .with("key", key)
            .with("url", url.as_str())
            .with("created_at", timestamp_text(self.clock.now()));
        let reference = crate::references::reference_op(
            owner,
            &format!("inbound#{token}"),
            &[hook_key(&token)],
        );
        self.access
            .rows()
            .store()
            .transact_write(vec![WriteOp::put(item), reference])
            .await?;
        Ok(json!({ "provider": provider, "url": url }))
    }

    async fn inbound_hook(&self, provider: &str, token: &str) -> Result<Hook, ReplyError> {
        let plausible = (16..=64).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible {
            return Err(ReplyError::UnknownHook);
        }
        let item = self
            .access
            .rows()
            .store()
            .get(&hook_key(token))
            .await?
            .ok_or(ReplyError::UnknownHook)?;
        if item.str("provider") != Some(provider) {
            return Err(ReplyError::UnknownHook);
        }
        Ok(Hook {
            provider: provider.to_owned(),
            owner: item
                .str("owner")
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| RowError::Invariant("an inbound hook without its owner".into()))?,
            sender_account_id: item.str("sender_account_id").unwrap_or_default().to_owned(),
            key: item.str("key").unwrap_or_default().to_owned(),
            url: item.str("url").unwrap_or_default().to_owned(),
        })
    }

    /// Whether an inbound URL exists (Mandrill checks with a HEAD request when it is added).
    pub async fn inbound_exists(&self, provider: &str, token: &str) -> bool {
        self.inbound_hook(provider, token).await.is_ok()
    }

    /// One SendGrid Inbound Parse POST.
    pub async fn sendgrid_inbound(
        &self,
        token: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Recorded, ReplyError> {
        if body.len() > MAX_INBOUND_BYTES {
            return Err(ReplyError::TooLarge(MAX_INBOUND_BYTES));
        }
        let hook = self.inbound_hook("sendgrid", token).await?;
        let inbound = sendgrid_message(content_type, body)?;
        self.record(
            hook.owner,
            Source {
                sender_account_id: &hook.sender_account_id,
                via: "sendgrid_inbound",
            },
            inbound,
        )
        .await
    }

    /// One Mailchimp Transactional inbound POST (a batch of `inbound` events).
    pub async fn mailchimp_inbound(
        &self,
        token: &str,
        signature: &str,
        params: &[(String, String)],
        body_len: usize,
    ) -> Result<Vec<Recorded>, ReplyError> {
        if body_len > MAX_INBOUND_BYTES {
            return Err(ReplyError::TooLarge(MAX_INBOUND_BYTES));
        }
        let hook = self.inbound_hook("mailchimp", token).await?;
        if !mandrill_signature_valid(&hook.key, &hook.url, params, signature) {
            tracing::warn!(provider = %hook.provider, "inbound webhook refused: bad signature");
            return Err(ReplyError::BadSignature);
        }
        let events = params
            .iter()
            .find(|(name, _)| name == "mandrill_events")
            .and_then(|(_, value)| serde_json::from_str::<Vec<Value>>(value).ok())
            .ok_or_else(|| invalid("mandrill_events", "a JSON array of events is required"))?;
        let mut recorded = Vec::new();
        for event in events.iter().filter(|e| e["event"] == "inbound") {
            let Some(inbound) = mandrill_message(&event["msg"]) else {
                continue;
            };
            recorded.push(
                self.record(
                    hook.owner,
                    Source {
                        sender_account_id: &hook.sender_account_id,
                        via: "mailchimp_inbound",
                    },
                    inbound,
                )
                .await?,
            );
        }
        Ok(recorded)
    }
}

/// The message of a SendGrid Inbound Parse form: the raw MIME in `email` (send raw), else
/// the `headers` block with the `text` (or `html`) part for the snippet.
fn sendgrid_message(content_type: &str, body: &[u8]) -> Result<InboundMessage, ReplyError> {
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(invalid(
            "body",
            "SendGrid Inbound Parse posts multipart/form-data",
        ));
    }
    // A form is MIME: parsed as a multipart entity with the request's content type.
    let mut entity = format!(
        "Content-Type: {}\r\n\r\n",
        content_type.replace(['\r', '\n'], " ")
    )
    .into_bytes();
    entity.extend_from_slice(body);
    let form =
        mailparse::parse_mail(&entity).map_err(|_| invalid("body", "not a multipart form"))?;
    let field = |name: &str| -> Option<Vec<u8>> {
        form.subparts.iter().find_map(|part| {
            let disposition = part.get_content_disposition();
            (disposition.params.get("name").map(String::as_str) == Some(name))
                .then(|| part.get_body_raw().ok())
                .flatten()
        })
    };
    if let Some(raw) = field("email") {
        return replies::from_raw(&raw).map_err(|e| invalid("email", e.to_string()));
    }
    let headers_block = field("headers")
        .ok_or_else(|| invalid("headers", "the form has neither email nor headers"))?;
    let (parsed, _) = mailparse::parse_headers(&headers_block)
        .map_err(|_| invalid("headers", "not a header block"))?;
    let headers: Vec<(String, String)> = parsed
        .iter()
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    if headers.is_empty() || parsed.get_first_value("From").is_none() {
        return Err(invalid("headers", "the header block has no From"));
    }
    let text = field("text")
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .or_else(|| field("html").map(|h| replies::text_of_html(&String::from_utf8_lossy(&h))))
        .unwrap_or_default();
    Ok(replies::from_headers(&headers, &text))
}

/// The message of a Mandrill inbound event: its `raw_msg`, else its parsed `headers` and `text`.
fn mandrill_message(msg: &Value) -> Option<InboundMessage> {
    if let Some(raw) = msg["raw_msg"].as_str()
        && let Ok(inbound) = replies::from_raw(raw.as_bytes())
    {
        return Some(inbound);
    }
    let headers: Vec<(String, String)> = msg["headers"]
        .as_object()?
        .iter()
        .filter_map(|(name, value)| match value {
            Value::String(v) => Some((name.clone(), v.clone())),
            Value::Array(values) => values
                .first()
                .and_then(Value::as_str)
                .map(|v| (name.clone(), v.to_owned())),
            _ => None,
        })
        .collect();
    Some(replies::from_headers(
        &headers,
        msg["text"].as_str().unwrap_or_default(),
    ))
}
