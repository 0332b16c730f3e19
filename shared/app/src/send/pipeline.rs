//! The send, stage by stage: validate, refuse suppressed recipients, render, choose and
//! reserve, deliver, record — and give the reservation back when a later stage fails.

use super::*;

use super::delivery::Tracked;
use super::idempotency::{IdempotencyKey, MarkerClaim, marker_done};

impl SendPipeline {
    pub fn new(
        access: Arc<Access>,
        sealer: Arc<dyn Sealer>,
        mailers: Mailers,
        clock: Arc<dyn Clock>,
        config: SendConfig,
    ) -> Self {
        Self {
            senders: SenderAccounts::new(access.clone(), sealer, mailers.clone()),
            access,
            mailers,
            clock,
            config,
            webhooks: None,
            metrics: scaliyo_store::no_metrics(),
            system_sender: None,
        }
    }

    /// Notices of a workspace without a connected sender go through `sender`.
    pub fn with_system_sender(mut self, sender: Option<SystemSender>) -> Self {
        self.system_sender = sender;
        self
    }

    /// Mailchimp Marketing accounts can be connected (`connect-mailchimp-oauth`).
    pub fn with_mailchimp_marketing(
        mut self,
        api: Option<Arc<dyn scaliyo_store::MailchimpMarketing>>,
    ) -> Self {
        self.senders = self.senders.with_mailchimp_marketing(api);
        self
    }

    /// The sender mailboxes: connecting one, and their secrets.
    pub fn senders(&self) -> &SenderAccounts {
        &self.senders
    }

    /// Sends, failures and refusals are counted here.
    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// `email.sent` / `email.failed` go to the owner's webhooks.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// The whole send, with an optional Idempotency-Key.
    pub async fn send(
        &self,
        actor: &Actor,
        request: SendRequest,
        idempotency: Option<&str>,
    ) -> Result<SendOutcome, SendError> {
        let owner = actor.owner()?;
        let key = idempotency.map(IdempotencyKey::parse).transpose()?;
        let marker = match key {
            Some(key) => match self.claim_marker(owner, key.as_str(), None).await? {
                MarkerClaim::Claimed { marker, .. } => Some(marker),
                MarkerClaim::Done(outcome) => return Ok(*outcome),
            },
            None => None,
        };
        let result = guarded(
            "send",
            self.send_once(actor, owner, request, marker.clone()),
        )
        .await;
        // A sent message settled its marker with its record; a refused one frees the key.
        if let (Some(marker), Err(_)) = (marker, &result) {
            self.settle_marker(marker, &result).await?;
        }
        result
    }

    /// Sends an e-mail rendered ahead of time (a scheduled row) for `owner`, exactly once per
    /// `idempotency` key as far as the world allows: the key's marker is claimed before the
    /// provider is called, a marker left `in_progress` longer than `stale_after` (its sender
    /// crashed) may be taken over, and a takeover first looks for the message the crashed
    /// attempt may have recorded (its id is derived from the key) before sending again.
    pub async fn send_prepared(
        &self,
        owner: OwnerId,
        prepared: PreparedSend,
        idempotency: &str,
        stale_after: chrono::Duration,
    ) -> Result<SendOutcome, SendError> {
        let actor = Actor::acting_for(owner);
        let message_id = keyed_message_id(owner, idempotency);
        let (marker, taken_over) = match self
            .claim_marker(owner, idempotency, Some(stale_after))
            .await?
        {
            MarkerClaim::Claimed { marker, taken_over } => (marker, taken_over),
            MarkerClaim::Done(outcome) => return Ok(*outcome),
        };
        // Only a sent message is recorded under the derived id, and only a crashed attempt
        // can have left one behind: look for it on a takeover only.
        let recorded = if taken_over {
            let messages = &schema::EMAIL_MESSAGES;
            self.access
                .rows()
                .get(messages, Some(&owner.to_string()), &message_id)
                .await?
        } else {
            None
        };
        match recorded {
            // The crashed attempt got as far as recording its message: it was sent.
            Some(message) => {
                let result = Ok(SendOutcome {
                    message_id: message_id.clone(),
                    status: message["status"]
                        .as_str()
                        .unwrap_or(MessageStatus::Sent.as_str())
                        .to_owned(),
                    provider: message["provider"].as_str().unwrap_or_default().to_owned(),
                    provider_message_id: message["provider_message_id"].as_str().map(str::to_owned),
                    sender_account_id: String::new(),
                    to_email: message["to_email"].as_str().unwrap_or_default().to_owned(),
                    tracked_links: 0,
                });
                self.settle_marker(marker, &result).await?;
                result
            }
            None => {
                let result = guarded(
                    "scheduled send",
                    self.send_prepared_once(&actor, owner, prepared, message_id, marker.clone()),
                )
                .await;
                // A sent message settled its marker with its record.
                if result.is_err() {
                    self.settle_marker(marker, &result).await?;
                }
                result
            }
        }
    }

    pub(super) async fn send_prepared_once(
        &self,
        actor: &Actor,
        owner: OwnerId,
        prepared: PreparedSend,
        message_id: String,
        marker: Key,
    ) -> Result<SendOutcome, SendError> {
        let lead = self.access.get(actor, "leads", &prepared.lead_id).await?;
        self.refuse_suppressed(owner, &prepared.to_email).await?;
        let request = SendRequest {
            lead_id: prepared.lead_id,
            to_email: None,
            sender_account_id: None,
            template_id: None,
            subject: Some(prepared.subject.clone()),
            html_body: Some(prepared.html_body.clone()),
            variables: BTreeMap::new(),
            track_opens: true,
            track_clicks: true,
            honeypot_link: false,
        };
        let subject = prepared.subject.replace(['\r', '\n'], " ");
        let outgoing = Outgoing {
            owner,
            lead: &lead,
            to_email: prepared.to_email,
            subject,
            body: &prepared.html_body,
            request: &request,
            message_id,
            keyed: true,
            marker: Some(marker),
        };
        self.dispatch(actor, outgoing).await
    }

    pub(super) async fn refuse_suppressed(
        &self,
        owner: OwnerId,
        to_email: &str,
    ) -> Result<(), SendError> {
        let store = self.access.rows().store();
        if store
            .get(&suppression_key(owner, to_email))
            .await?
            .is_some()
        {
            tracing::info!(%owner, "send refused: recipient suppressed");
            return Err(SendError::Suppressed);
        }
        Ok(())
    }

    pub(super) async fn send_once(
        &self,
        actor: &Actor,
        owner: OwnerId,
        request: SendRequest,
        marker: Option<Key>,
    ) -> Result<SendOutcome, SendError> {
        let lead = self.access.get(actor, "leads", &request.lead_id).await?;
        let to_email = recipient_of(&lead, request.to_email.as_deref())?;
        self.refuse_suppressed(owner, &to_email).await?;

        let (subject_template, body_template) =
            match (&request.template_id, &request.subject, &request.html_body) {
                (Some(template_id), None, None) => {
                    let template = self
                        .access
                        .get(actor, "email_templates", template_id)
                        .await?;
                    (
                        template["subject_template"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        template["body_template"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                }
                (None, Some(subject), Some(body)) => (subject.clone(), body.clone()),
                _ => {
                    return Err(invalid(
                        "template_id",
                        "give either template_id, or subject and html_body",
                    ));
                }
            };
        if subject_template.trim().is_empty() || body_template.trim().is_empty() {
            return Err(invalid(
                "subject",
                "the subject and the body must not be empty",
            ));
        }
        let values = merge_values(&lead, &request.variables);
        let rendered = |template: &str, html: bool| {
            email::render(template, &values, html).map_err(|e| match e {
                RenderError::UnknownTags(tags) => {
                    invalid("body", format!("unknown merge tag(s): {}", tags.join(", ")))
                }
                RenderError::Unclosed => invalid("body", "a merge tag is not closed"),
            })
        };
        let subject = rendered(&subject_template, false)?.replace(['\r', '\n'], " ");
        let body = rendered(&body_template, true)?;
        let message_id = uuid::Uuid::new_v4().to_string();
        let outgoing = Outgoing {
            owner,
            lead: &lead,
            to_email,
            subject,
            body: &body,
            request: &request,
            message_id,
            keyed: false,
            marker,
        };
        self.dispatch(actor, outgoing).await
    }

    /// From a rendered message to a recorded send: choose a sender, reserve the caps,
    /// deliver, record — and refund the reservation when the provider refuses.
    pub(super) async fn dispatch(
        &self,
        actor: &Actor,
        outgoing: Outgoing<'_>,
    ) -> Result<SendOutcome, SendError> {
        let result = self.dispatch_once(actor, outgoing).await;
        match &result {
            Ok(outcome) => {
                self.metrics
                    .count("EmailsSent", &[("provider", outcome.provider.as_str())], 1);
            }
            Err(SendError::Provider { .. } | SendError::Crashed) => {
                self.metrics.count("EmailsFailed", &[], 1);
            }
            Err(SendError::QuotaExceeded { limit })
            | Err(SendError::Access(AccessError::Row(crate::rows::RowError::QuotaExceeded {
                limit,
            }))) => {
                self.metrics.count("EmailsRefused", &[("limit", limit)], 1);
            }
            Err(_) => {}
        }
        result
    }

    async fn dispatch_once(
        &self,
        actor: &Actor,
        outgoing: Outgoing<'_>,
    ) -> Result<SendOutcome, SendError> {
        let Outgoing {
            owner,
            lead,
            to_email,
            subject,
            body,
            request,
            message_id,
            keyed,
            marker,
        } = outgoing;
        let store = self.access.rows().store().clone();
        let now = self.clock.now();
        let candidates = self
            .candidates(actor, owner, request.sender_account_id.as_deref(), now)
            .await?;
        let Tracked {
            instrumented,
            writes: tracking,
        } = self.track(owner, &message_id, &to_email, body, request)?;
        let (sender, reservation) = self.reserve(owner, candidates, now, tracking).await?;
        let sender_id = sender["id"].as_str().unwrap_or_default().to_owned();
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        tracing::info!(%owner, sender = %sender_id, provider = %provider, "sender chosen");

        let draft = Draft {
            owner,
            lead,
            sender: &sender,
            message_id,
            to_email: to_email.clone(),
            subject,
            provider: provider.clone(),
            request,
        };
        match guarded("delivery", self.deliver(&draft, instrumented)).await {
            Ok((provider_message_id, links)) => {
                let outcome = SendOutcome {
                    message_id: draft.message_id.clone(),
                    status: MessageStatus::Sent.to_string(),
                    provider: provider.clone(),
                    provider_message_id: provider_message_id.clone(),
                    sender_account_id: sender_id.clone(),
                    to_email: to_email.clone(),
                    tracked_links: links,
                };
                // The key's outcome commits with the message's record.
                let settled = marker.map(|marker| marker_done(marker, &outcome));
                self.record(&draft, provider_message_id, MessageStatus::Sent, settled)
                    .await?;
                if let Some(webhooks) = &self.webhooks {
                    let data = json!({
                        "message_id": draft.message_id,
                        "lead_id": lead.get("id"),
                        "to_email": to_email,
                        "subject": draft.subject,
                        "sender_account_id": sender_id,
                        "provider": provider,
                    });
                    webhooks
                        .emit(owner, "email.sent", &draft.message_id, data)
                        .await;
                }
                Ok(outcome)
            }
            Err(error) => {
                // Give back what the send reserved; it did not happen.
                if let Err(e) = store.transact_write(reservation.refund).await {
                    tracing::warn!(error = %e, "refunding a failed send's reservation failed");
                }
                if let SendError::Provider {
                    error: MailError::Auth(_),
                    ..
                } = &error
                {
                    let senders = &schema::SENDER_ACCOUNTS;
                    let mut patch = Row::new();
                    patch.insert("status".into(), json!(SenderStatus::NeedsReauth));
                    let _ = self
                        .access
                        .rows()
                        .update(senders, Some(&owner.to_string()), &sender_id, patch)
                        .await;
                }
                if let SendError::Provider { error, .. } = error {
                    // A keyed send (a scheduled row) keeps its derived id for the attempt that
                    // goes through: the failure is recorded under an id of its own.
                    let failed = Draft {
                        message_id: if keyed {
                            uuid::Uuid::new_v4().to_string()
                        } else {
                            draft.message_id.clone()
                        },
                        ..draft
                    };
                    self.record(&failed, None, MessageStatus::Failed, None)
                        .await?;
                    if let Some(webhooks) = &self.webhooks {
                        let data = json!({
                            "message_id": failed.message_id,
                            "lead_id": lead.get("id"),
                            "to_email": failed.to_email,
                            "subject": failed.subject,
                            "sender_account_id": sender_id,
                            "provider": failed.provider,
                            "error": error.to_string(),
                        });
                        webhooks
                            .emit(owner, "email.failed", &failed.message_id, data)
                            .await;
                    }
                    return Err(SendError::Provider {
                        error,
                        message_id: failed.message_id,
                    });
                }
                Err(error)
            }
        }
    }
}

/// A rendered message on its way to `dispatch`: whose, to which lead and address, its id.
pub(super) struct Outgoing<'a> {
    owner: OwnerId,
    lead: &'a Row,
    to_email: String,
    subject: String,
    /// The rendered HTML body (tracking is added at delivery).
    body: &'a str,
    request: &'a SendRequest,
    message_id: String,
    /// A scheduled row's send: its message id is derived from the row and kept on failure.
    keyed: bool,
    /// The Idempotency-Key marker this attempt holds, settled with the message's record.
    marker: Option<Key>,
}

/// The lead's addresses in order of preference: `primary_email`, `email`, then `emails`.
fn addresses_of(lead: &Row) -> impl Iterator<Item = &str> {
    [lead["primary_email"].as_str(), lead["email"].as_str()]
        .into_iter()
        .flatten()
        .chain(
            lead["emails"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .map(str::trim)
        .filter(|e| e.contains('@'))
}

/// Where the e-mail goes: the address asked for when it is one of the lead's (a send never
/// reaches an address the lead does not have), else the lead's first address.
fn recipient_of(lead: &Row, asked: Option<&str>) -> Result<String, SendError> {
    match asked.map(str::trim) {
        Some(asked) => addresses_of(lead)
            .find(|address| address.eq_ignore_ascii_case(asked))
            .map(str::to_owned)
            .ok_or_else(|| invalid("to_email", "is not one of the lead's e-mail addresses")),
        None => addresses_of(lead)
            .next()
            .map(str::to_owned)
            .ok_or_else(|| invalid("lead_id", "the lead has no e-mail address")),
    }
}
