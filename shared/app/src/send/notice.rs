//! Notices: e-mails the system sends for a workspace — to its owner (a workflow's
//! `action.notify`) or to someone it invites — once per key, through the workspace's best
//! sender, else the deployment's own. Not outreach: no tracking, no unsubscribe footer, not
//! recorded as a lead's message and not counted against the caps.

use super::idempotency::MarkerClaim;
use super::*;

/// A notice's recipient and content.
pub struct Notice<'a> {
    pub to_email: &'a str,
    pub to_name: Option<&'a str>,
    pub subject: &'a str,
    pub html: &'a str,
}

/// Who a notice goes out as.
struct NoticeSender {
    mailer: Arc<dyn scaliyo_store::Mailer>,
    credentials: Credentials,
    from_email: String,
    from_name: String,
    provider: String,
    sender_account_id: String,
}

impl SendPipeline {
    /// Sends `subject` / `html` to the owner, exactly once per `idempotency` key as far as the
    /// world allows (the key's marker is claimed before the provider is called).
    pub async fn notify_owner(
        &self,
        owner: OwnerId,
        subject: &str,
        html: &str,
        idempotency: &str,
        stale_after: chrono::Duration,
    ) -> Result<SendOutcome, SendError> {
        let actor = Actor::acting_for(owner);
        let profile = self
            .access
            .get(&actor, "profiles", &owner.to_string())
            .await?;
        let to_email = profile["email"]
            .as_str()
            .filter(|e| e.contains('@'))
            .ok_or_else(|| invalid("profile", "the owner's profile has no e-mail address"))?;
        let notice = Notice {
            to_email,
            to_name: profile["name"].as_str(),
            subject,
            html,
        };
        self.send_notice(owner, notice, idempotency, stale_after)
            .await
    }

    /// Sends a notice for `owner`'s workspace, exactly once per `idempotency` key as far as
    /// the world allows.
    pub async fn send_notice(
        &self,
        owner: OwnerId,
        notice: Notice<'_>,
        idempotency: &str,
        stale_after: chrono::Duration,
    ) -> Result<SendOutcome, SendError> {
        let marker = match self
            .claim_marker(owner, idempotency, Some(stale_after))
            .await?
        {
            MarkerClaim::Claimed { marker, .. } => marker,
            MarkerClaim::Done(outcome) => return Ok(*outcome),
        };
        let message_id = keyed_message_id(owner, idempotency);
        let result = guarded("notice", self.notice_once(owner, notice, message_id)).await;
        self.settle_marker(marker, &result).await?;
        result
    }

    /// The workspace's best connected sender, else the deployment's own.
    async fn notice_sender(&self, owner: OwnerId) -> Result<NoticeSender, SendError> {
        let actor = Actor::acting_for(owner);
        let candidates = match self.candidates(&actor, owner, None, self.clock.now()).await {
            Ok(candidates) => candidates,
            Err(SendError::NoSender(reason)) => {
                let Some(system) = &self.system_sender else {
                    return Err(SendError::NoSender(reason));
                };
                return Ok(NoticeSender {
                    mailer: system.mailer.clone(),
                    credentials: system.credentials.clone(),
                    from_email: system.from_email.clone(),
                    from_name: system.from_name.clone(),
                    provider: "system".to_owned(),
                    sender_account_id: String::new(),
                });
            }
            Err(e) => return Err(e),
        };
        let sender = candidates
            .first()
            .map(|c| &c.row)
            .ok_or_else(|| SendError::NoSender("no connected sender".into()))?;
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        let mailer = self
            .mailers
            .for_provider(&provider)
            .ok_or_else(|| invalid("sender_account_id", format!("unknown provider {provider}")))?
            .clone();
        Ok(NoticeSender {
            mailer,
            credentials: self.senders.credentials(sender).await?,
            from_email: sender["from_email"].as_str().unwrap_or_default().to_owned(),
            from_name: sender["from_name"].as_str().unwrap_or("Scaliyo").to_owned(),
            provider,
            sender_account_id: sender["id"].as_str().unwrap_or_default().to_owned(),
        })
    }

    async fn notice_once(
        &self,
        owner: OwnerId,
        notice: Notice<'_>,
        message_id: String,
    ) -> Result<SendOutcome, SendError> {
        let sender = self.notice_sender(owner).await?;
        let domain = sender
            .from_email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_else(|| "scaliyo.local".into());
        let outgoing = OutgoingEmail {
            message_id: format!("{message_id}@{domain}"),
            from_name: email::header_line(&sender.from_name),
            from_email: sender.from_email.clone(),
            to_email: notice.to_email.to_owned(),
            to_name: notice.to_name.map(email::header_line),
            subject: email::header_line(notice.subject),
            html: notice.html.to_owned(),
            text: notice.subject.to_owned(),
            headers: vec![("Auto-Submitted".into(), "auto-generated".into())],
            scaliyo_message_id: message_id.clone(),
        };
        let delivery = sender
            .mailer
            .send(&outgoing, &sender.credentials)
            .await
            .map_err(|error| SendError::Provider {
                error,
                message_id: message_id.clone(),
            })?;
        Ok(SendOutcome {
            message_id,
            status: MessageStatus::Sent.as_str().to_owned(),
            provider: sender.provider,
            provider_message_id: delivery.provider_message_id,
            sender_account_id: sender.sender_account_id,
            to_email: notice.to_email.to_owned(),
            tracked_links: 0,
        })
    }
}
