//! Connecting a Mailchimp (Marketing) account by its API key — the frontend's
//! `connect-mailchimp-oauth`. The key is checked against the account's API root, then kept
//! sealed on a `mailchimp` sender that is never used for outreach: a Marketing key sends
//! campaigns to audiences, not one-to-one mail (that is Mailchimp Transactional, whose key
//! connects through `connect`).

use super::*;

/// `metadata.mailchimp_api` of a sender connected with a Marketing key: the send pipeline
/// never chooses it, whatever `use_for_outreach` says.
pub const MARKETING_ONLY: &str = "marketing";

/// What the caller gives besides the key: how the sender is shown.
#[derive(Debug, Clone, Default)]
pub struct MarketingConnect {
    pub api_key: String,
    pub from_name: String,
    pub display_name: String,
    pub is_default: bool,
}

fn refused(error: MailError) -> SendError {
    match error {
        MailError::Auth(reason) => {
            invalid("api_key", format!("Mailchimp refused the key: {reason}"))
        }
        other => invalid(
            "api_key",
            format!("Mailchimp could not check the key: {other}"),
        ),
    }
}

impl SenderAccounts {
    /// The caller's Mailchimp Marketing account: the sender already connected for the same
    /// Mailchimp account gets the new key and is `connected` again, else one is created.
    pub async fn connect_mailchimp_marketing(
        &self,
        actor: &Actor,
        request: MarketingConnect,
    ) -> Result<Row, SendError> {
        let owner = actor.owner()?;
        let api = self.mailchimp_marketing.as_ref().ok_or_else(|| {
            invalid(
                "provider",
                "Mailchimp Marketing is not offered by this deployment",
            )
        })?;
        let api_key = request.api_key.trim().to_owned();
        let account = api.account(&api_key).await.map_err(refused)?;
        if account.email.is_empty() {
            return Err(invalid(
                "api_key",
                "the Mailchimp account has no login e-mail to send as",
            ));
        }
        let mut metadata = serde_json::Map::new();
        metadata.insert("mailchimp_api".into(), json!(MARKETING_ONLY));
        metadata.insert("datacenter".into(), json!(account.datacenter));
        metadata.insert("mailchimp_account_id".into(), json!(account.account_id));
        metadata.insert("account_name".into(), json!(account.account_name));
        if let Some(sender) = self.marketing_sender_of(owner, &account.account_id).await? {
            return self.reconnect(owner, &sender, &api_key, metadata).await;
        }
        let display_name = if request.display_name.is_empty() {
            format!("{} (Mailchimp)", account.email)
        } else {
            request.display_name
        };
        let connect = ConnectRequest {
            provider: "mailchimp".into(),
            from_email: account.email,
            from_name: request.from_name,
            display_name,
            is_default: request.is_default,
            use_for_outreach: Some(false),
            warmup_enabled: false,
            metadata,
            smtp: None,
            api_key: Some(api_key),
            oauth: None,
        };
        // The key was checked just now against the Marketing API (`GET /3.0/`).
        self.connect_with(actor, connect, super::senders::KeyCheck::Already)
            .await
    }

    async fn marketing_sender_of(
        &self,
        owner: OwnerId,
        account_id: &str,
    ) -> Result<Option<Row>, SendError> {
        Ok(self.senders_of(owner).await?.into_iter().find(|sender| {
            sender["provider"] == "mailchimp"
                && sender["metadata"]["mailchimp_api"] == MARKETING_ONLY
                && sender["metadata"]["mailchimp_account_id"] == account_id
        }))
    }

    async fn reconnect(
        &self,
        owner: OwnerId,
        sender: &Row,
        api_key: &str,
        metadata: serde_json::Map<String, Value>,
    ) -> Result<Row, SendError> {
        let sealed = self
            .sealer
            .seal(api_key)
            .await
            .map_err(|e| invalid("credentials", e.to_string()))?;
        let mut secrets = Row::new();
        secrets.insert("api_key".into(), json!(sealed));
        self.replace_secrets(owner, sender, secrets).await?;
        let mut merged = sender["metadata"].as_object().cloned().unwrap_or_default();
        merged.extend(metadata);
        let mut patch = Row::new();
        patch.insert("metadata".into(), Value::Object(merged));
        self.reconnected(owner, sender, patch).await
    }
}
