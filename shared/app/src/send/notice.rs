//! A notice to the workspace's owner (a workflow's `action.notify`): sent once per key through
//! the workspace's best sender, to the address of the owner's profile. Not outreach: no
//! tracking, no unsubscribe footer, not recorded as a lead's message and not counted against
//! the caps.

use super::idempotency::MarkerClaim;
use super::*;

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
        let marker = match self
            .claim_marker(owner, idempotency, Some(stale_after))
            .await?
        {
            MarkerClaim::Claimed { marker, .. } => marker,
            MarkerClaim::Done(outcome) => return Ok(*outcome),
        };
        let message_id = keyed_message_id(owner, idempotency);
        let result = guarded("notice", self.notify_once(owner, subject, html, message_id)).await;
        self.settle_marker(marker, &result).await?;
        result
    }

    async fn notify_once(
        &self,
        owner: OwnerId,
        subject: &str,
        html: &str,
        message_id: String,
    ) -> Result<SendOutcome, SendError> {
        let actor = Actor::acting_for(owner);
        let profile = self
            .access
            .get(&actor, "profiles", &owner.to_string())
            .await?;
        let to_email = profile["email"]
            .as_str()
            .filter(|e| e.contains('@'))
            .ok_or_else(|| invalid("profile", "the owner's profile has no e-mail address"))?
            .to_owned();
        let candidates = self
            .candidates(&actor, owner, None, self.clock.now())
            .await?;
        let sender = candidates
            .first()
            .map(|c| &c.row)
            .ok_or_else(|| SendError::NoSender("no connected sender".into()))?;
        let from_email = sender["from_email"].as_str().unwrap_or_default().to_owned();
        let domain = from_email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_else(|| "scaliyo.local".into());
        let outgoing = OutgoingEmail {
            message_id: format!("{message_id}@{domain}"),
            from_name: email::header_line(sender["from_name"].as_str().unwrap_or("Scaliyo")),
            from_email,
            to_email: to_email.clone(),
            to_name: profile["name"].as_str().map(email::header_line),
            subject: email::header_line(subject),
            html: html.to_owned(),
            text: subject.to_owned(),
            headers: vec![("Auto-Submitted".into(), "auto-generated".into())],
            scaliyo_message_id: message_id.clone(),
        };
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        let mailer = self
            .mailers
            .for_provider(&provider)
            .ok_or_else(|| invalid("sender_account_id", format!("unknown provider {provider}")))?;
        let credentials = self.senders.credentials(sender).await?;
        let delivery = mailer
            .send(&outgoing, &credentials)
            .await
            .map_err(|error| SendError::Provider {
                error,
                message_id: message_id.clone(),
            })?;
        Ok(SendOutcome {
            message_id,
            status: MessageStatus::Sent.as_str().to_owned(),
            provider,
            provider_message_id: delivery.provider_message_id,
            sender_account_id: sender["id"].as_str().unwrap_or_default().to_owned(),
            to_email,
            tracked_links: 0,
        })
    }
}
