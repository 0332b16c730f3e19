//! The body the frontend's `send-email` Edge Function takes (`supabase.functions.invoke`):
//! `{to_email, subject, html_body, lead_id, from_email, provider, track_opens, track_clicks}`.
//! It names the sender by its address and provider where our own shape names it by id, and
//! the recipient by address where ours takes the lead's; both become a `SendRequest` here,
//! so the send itself is the one pipeline with its caps, suppression and tracking.

use super::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSendRequest {
    pub lead_id: Option<String>,
    pub to_email: Option<String>,
    pub subject: Option<String>,
    pub html_body: Option<String>,
    /// The sender's address; absent: the sender is chosen by rotation.
    pub from_email: Option<String>,
    /// The sender's provider (`gmail`, `smtp`, `sendgrid`, `mailchimp`), narrowing `from_email`.
    pub provider: Option<String>,
    pub sender_account_id: Option<String>,
    pub template_id: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    pub track_opens: Option<bool>,
    pub track_clicks: Option<bool>,
    #[serde(default)]
    pub honeypot_link: bool,
}

impl SendPipeline {
    /// The frontend's request as ours: the sender found among the caller's connected
    /// accounts by address (and provider), the recipient checked against the lead.
    pub async fn resolve_edge_request(
        &self,
        actor: &Actor,
        request: EdgeSendRequest,
    ) -> Result<SendRequest, SendError> {
        let owner = actor.owner()?;
        let lead_id = request
            .lead_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                invalid(
                    "lead_id",
                    "is required: an e-mail goes to one of your leads",
                )
            })?;
        if let Some(provider) = &request.provider
            && let Some(schema::Check::OneOf(providers)) = schema::SENDER_ACCOUNTS
                .column("provider")
                .map(|column| column.check)
            && !providers.contains(&provider.as_str())
        {
            return Err(invalid(
                "provider",
                format!("must be one of {}", providers.join(", ")),
            ));
        }
        let sender_account_id = match (request.sender_account_id, &request.from_email) {
            (Some(id), _) => Some(id),
            (None, Some(from_email)) => Some(
                self.sender_sending_as(owner, from_email, request.provider.as_deref())
                    .await?,
            ),
            (None, None) => None,
        };
        Ok(SendRequest {
            lead_id,
            to_email: request.to_email,
            sender_account_id,
            template_id: request.template_id,
            subject: request.subject,
            html_body: request.html_body,
            variables: request.variables,
            track_opens: request.track_opens.unwrap_or(true),
            track_clicks: request.track_clicks.unwrap_or(true),
            honeypot_link: request.honeypot_link,
        })
    }

    /// The id of the caller's connected sender with this address (and provider).
    async fn sender_sending_as(
        &self,
        owner: OwnerId,
        from_email: &str,
        provider: Option<&str>,
    ) -> Result<String, SendError> {
        let found =
            self.senders
                .senders_of(owner)
                .await?
                .into_iter()
                .find(|sender| {
                    sender["from_email"].as_str().is_some_and(|address| {
                        address.trim().eq_ignore_ascii_case(from_email.trim())
                    }) && provider.is_none_or(|provider| sender["provider"] == json!(provider))
                        && SenderStatus::of(&sender["status"]) == Some(SenderStatus::Connected)
                });
        if let Some(id) = found.as_ref().and_then(|sender| sender["id"].as_str()) {
            return Ok(id.to_owned());
        }
        let provider = provider
            .map(|p| format!(" through {p}"))
            .unwrap_or_default();
        Err(SendError::NoSender(format!(
            "no connected sender account sends as {}{provider}; connect it first",
            from_email.trim()
        )))
    }
}
