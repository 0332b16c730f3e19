//! Provider event webhooks (SendGrid, Mailchimp Transactional): each sender account gets its
//! own unguessable webhook URL and the provider's verification key; verified events become
//! `email_events` rows, move the message's status, and put bounced, complaining or
//! unsubscribing addresses on the workspace's suppression list. Each provider event is
//! recorded once: a marker keyed by the provider's event id is written in the same
//! transaction, so a replayed batch changes nothing.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::provider_events::{
    DeliveryEvent, DeliveryKind, mandrill_events, mandrill_signature_valid, sendgrid_events,
    sendgrid_signature_valid,
};
use scaliyo_domain::schema;
use scaliyo_domain::status::MessageStatus;
use scaliyo_store::{Clock, Item, Key, StoreError, WriteOp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, Rows, timestamp_text};
use crate::send::suppression_key;
use crate::tracking::EmailEventRow;
use crate::webhooks::WebhookEmitter;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("no such webhook")]
    UnknownHook,
    #[error("the signature does not match")]
    BadSignature,
    /// A validly signed batch from too long ago (or in the future): a replay.
    #[error("the signed timestamp is more than ten minutes from now")]
    Stale,
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Access(#[from] AccessError),
}

crate::errors::through_access!(HookError);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookRequest {
    /// SendGrid: the Signed Event Webhook's public key; Mailchimp Transactional: the
    /// webhook's key.
    pub verification_key: String,
}

/// A webhook's item: `PK = HOOK#<token>`, found without knowing the owner.
fn hook_key(token: &str) -> Key {
    Key::new(format!("HOOK#{token}"), "HOOK")
}

fn marker_key(owner: OwnerId, provider: &str, event_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("pevt#{provider}#{event_id}"),
    )
}

#[derive(Clone)]
pub struct ProviderHooks {
    rows: Rows,
    clock: Arc<dyn Clock>,
    /// The public base of the webhook URLs (the tracking host).
    base_url: String,
    /// `email.bounced` and `email.unsubscribed` go to the owner's webhooks.
    webhooks: Option<WebhookEmitter>,
}

/// A webhook as stored.
struct Hook {
    provider: String,
    owner: OwnerId,
    key: String,
    url: String,
}

impl ProviderHooks {
    pub fn new(rows: Rows, clock: Arc<dyn Clock>, base_url: impl Into<String>) -> Self {
        Self {
            rows,
            clock,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            webhooks: None,
        }
    }

    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Creates an event webhook for one of the caller's sender accounts and returns the URL
    /// to configure at the provider. Each call makes a new URL with its own key (rotating the
    /// provider's key means configuring the new URL); earlier URLs keep working.
    pub async fn create(
        &self,
        access: &Access,
        actor: &Actor,
        sender_account_id: &str,
        request: HookRequest,
    ) -> Result<Value, HookError> {
        let sender = access
            .get(actor, "sender_accounts", sender_account_id)
            .await?;
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        if !matches!(provider.as_str(), "sendgrid" | "mailchimp") {
            return Err(HookError::Malformed(format!(
                "{provider} does not post event webhooks; only sendgrid and mailchimp do"
            )));
        }
        let key = request.verification_key.trim();
        if key.is_empty() || key.len() > 4096 {
            return Err(HookError::Malformed(
                "verification_key: give the provider's webhook key".into(),
            ));
        }
        let owner = crate::rows::owner_in(&sender, "workspace_id")?;
        let mut bytes = [0u8; 18];
        rand::fill(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let url = format!("{}/webhooks/{provider}/{token}", self.base_url);
        // The key stays server-side: no API returns it.
        let item = Item::new(&hook_key(&token))
            .with("provider", provider.as_str())
            .with("owner", owner.to_string())
            .with("sender_account_id", sender_account_id)
            .with("key", key)
            .with("url", url.as_str())
            .with("created_at", timestamp_text(self.clock.now()));
        let reference =
            crate::references::reference_op(owner, &format!("hook#{token}"), &[hook_key(&token)]);
        self.rows
            .store()
            .transact_write(vec![WriteOp::put(item), reference])
            .await?;
        Ok(json!({ "provider": provider, "url": url }))
    }

    async fn hook(&self, provider: &str, token: &str) -> Result<Hook, HookError> {
        let plausible = (16..=64).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible {
            return Err(HookError::UnknownHook);
        }
        let item = self
            .rows
            .store()
            .get(&hook_key(token))
            .await?
            .ok_or(HookError::UnknownHook)?;
        let hook = Hook {
            provider: item.str("provider").unwrap_or_default().to_owned(),
            owner: item
                .str("owner")
                .and_then(|owner| owner.parse().ok())
                .ok_or_else(|| {
                    RowError::Invariant("a provider webhook without its owner".into())
                })?,
            key: item.str("key").unwrap_or_default().to_owned(),
            url: item.str("url").unwrap_or_default().to_owned(),
        };
        if hook.provider != provider {
            return Err(HookError::UnknownHook);
        }
        Ok(hook)
    }

    /// Whether a webhook URL exists (Mandrill checks with a HEAD request when it is added).
    pub async fn exists(&self, provider: &str, token: &str) -> bool {
        self.hook(provider, token).await.is_ok()
    }

    /// A SendGrid batch: verified, then recorded. Returns how many events were new.
    pub async fn sendgrid(
        &self,
        token: &str,
        signature: &str,
        timestamp: &str,
        body: &[u8],
    ) -> Result<usize, HookError> {
        let hook = self.hook("sendgrid", token).await?;
        if !sendgrid_signature_valid(&hook.key, signature, timestamp, body) {
            tracing::warn!(
                provider = "sendgrid",
                "event webhook refused: bad signature"
            );
            return Err(HookError::BadSignature);
        }
        if !scaliyo_domain::provider_events::sendgrid_timestamp_fresh(
            timestamp,
            self.clock.now().timestamp(),
        ) {
            tracing::warn!(
                provider = "sendgrid",
                "event webhook refused: stale timestamp"
            );
            return Err(HookError::Stale);
        }
        let events = sendgrid_events(body)
            .ok_or_else(|| HookError::Malformed("the body is not a JSON array of events".into()))?;
        self.record(&hook, events).await
    }

    /// A Mailchimp Transactional batch (`mandrill_events` form parameter).
    pub async fn mandrill(
        &self,
        token: &str,
        signature: &str,
        params: &[(String, String)],
    ) -> Result<usize, HookError> {
        let hook = self.hook("mailchimp", token).await?;
        if !mandrill_signature_valid(&hook.key, &hook.url, params, signature) {
            tracing::warn!(
                provider = "mailchimp",
                "event webhook refused: bad signature"
            );
            return Err(HookError::BadSignature);
        }
        let events_json = params
            .iter()
            .find(|(name, _)| name == "mandrill_events")
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| HookError::Malformed("mandrill_events is missing".into()))?;
        let events = mandrill_events(events_json)
            .ok_or_else(|| HookError::Malformed("mandrill_events is not a JSON array".into()))?;
        self.record(&hook, events).await
    }

    /// Bounces (hard and soft, said which) and unsubscribes (including spam reports, which
    /// unsubscribe the address too) for the owner's webhooks; deliveries are not sent.
    async fn emit(&self, owner: OwnerId, provider: &str, event: &DeliveryEvent) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        let event_type = match event.kind {
            DeliveryKind::HardBounce | DeliveryKind::SoftBounce => "email.bounced",
            DeliveryKind::SpamReport | DeliveryKind::Unsubscribe => "email.unsubscribed",
            DeliveryKind::Delivered => return,
        };
        let data = json!({
            "message_id": event.message_id,
            "email": event.email,
            "provider": provider,
            "provider_event": event.provider_event,
            "reason": event.reason,
            "permanent": event.kind == DeliveryKind::HardBounce,
            "source": match event.kind {
                DeliveryKind::SpamReport => "spam_report",
                DeliveryKind::Unsubscribe => "provider",
                _ => "bounce",
            },
        });
        let subject = format!("{provider}:{}", event.event_id);
        webhooks.emit(owner, event_type, &subject, data).await;
    }

    async fn record(&self, hook: &Hook, events: Vec<DeliveryEvent>) -> Result<usize, HookError> {
        let mut recorded = 0;
        for event in events {
            if self
                .record_delivery(hook.owner, &hook.provider, &event)
                .await?
            {
                recorded += 1;
            }
        }
        tracing::info!(provider = %hook.provider, owner = %hook.owner, recorded, "provider events recorded");
        Ok(recorded)
    }

    /// One event in one transaction: its marker (refused if already recorded), the event
    /// row, the message's new status, the suppression entry.
    /// Also how a bounce that arrived in a mailbox (a DSN) is recorded: `provider` names
    /// where it came from. False when it was recorded before or names no message of ours.
    pub(crate) async fn record_delivery(
        &self,
        owner: OwnerId,
        provider: &str,
        event: &DeliveryEvent,
    ) -> Result<bool, HookError> {
        let owner_text = owner.to_string();
        let (messages, events) = (&schema::EMAIL_MESSAGES, &schema::EMAIL_EVENTS);
        for _ in 0..3 {
            // Events about messages this workspace does not have (another sender's, or
            // deleted) are ignored.
            let Some(message) = self
                .rows
                .get_raw(messages, Some(&owner_text), &event.message_id)
                .await?
            else {
                return Ok(false);
            };
            let now = self.clock.now();
            let marker = Item::new(&marker_key(owner, provider, &event.event_id))
                .with("at", timestamp_text(now))
                .with(
                    scaliyo_store::table::TTL,
                    (now + chrono::Duration::days(90)).timestamp(),
                );
            let mut ops = vec![WriteOp::put_new(marker)];
            let row = crate::rows::to_row(&EmailEventRow {
                message_id: &event.message_id,
                event_type: event.kind.event_type(),
                metadata: Some(
                    json!({ "provider": provider, "provider_event": event.provider_event, "provider_event_id": event.event_id, "reason": event.reason, "soft": event.kind == DeliveryKind::SoftBounce }),
                ),
                ..EmailEventRow::default()
            })?;
            let prepared = self.rows.prepare(events, row)?;
            ops.extend(
                self.rows
                    .insert_ops(events, Some(&owner.to_string()), &prepared, false)?,
            );
            let status = message.str("status").and_then(MessageStatus::parse);
            let new_status = match event.kind {
                DeliveryKind::Delivered if status == Some(MessageStatus::Sent) => {
                    Some(MessageStatus::Delivered)
                }
                DeliveryKind::HardBounce if status != Some(MessageStatus::Bounced) => {
                    Some(MessageStatus::Bounced)
                }
                _ => None,
            };
            if let Some(new_status) = new_status {
                let mut patch = Row::new();
                patch.insert("status".into(), json!(new_status));
                let (_, op) = self.rows.transition_op(messages, &message, patch, &[])?;
                ops.push(op);
            }
            if event.kind.suppresses() {
                let reason = match event.kind {
                    DeliveryKind::HardBounce => "bounce",
                    DeliveryKind::SpamReport => "spam_report",
                    _ => "unsubscribe",
                };
                ops.push(WriteOp::put(
                    Item::new(&suppression_key(owner, &event.email))
                        .with("reason", reason)
                        .with("message_id", event.message_id.as_str())
                        .with("at", timestamp_text(now)),
                ));
            }
            match self.rows.store().transact_write(ops).await {
                Ok(()) => {
                    self.emit(owner, provider, event).await;
                    return Ok(true);
                }
                // Already recorded: a replay.
                Err(StoreError::ConditionFailed { index: Some(0) }) => return Ok(false),
                // The message changed meanwhile: read it again.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RowError::Concurrent.into())
    }
}
