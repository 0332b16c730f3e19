//! What a person's reply does: the lead's last activity, its sequences stopped (and, when the
//! workspace asks for it, those of the other leads at the same company), and `email.replied`
//! to the owner's webhooks and the workflow engine (which ends runs that exit on it and wakes
//! runs that wait for it). Each step may run twice (a retried record) and changes nothing
//! the second time.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use serde_json::json;

use super::record::ReplyRecord;
use super::*;
use crate::access::Actor;
use crate::rows::{ListRequest, Row, RowError};

/// The reason a sequence row stopped by a reply carries (`scheduled_emails.error_message`).
pub const REPLY_REASON: &str = "reply";
/// … and one stopped by a colleague's reply.
pub const COMPANY_REPLY_REASON: &str = "reply_from_company";
/// Leads read at most when looking for a company's other leads.
const COMPANY_SCAN_LIMIT: usize = 20_000;

impl Replies {
    pub(super) async fn after_reply(
        &self,
        owner: OwnerId,
        record: &ReplyRecord,
    ) -> Result<(), ReplyError> {
        let actor = Actor::acting_for(owner);
        let mut patch = Row::new();
        patch.insert("lastActivity".into(), json!(record.received_at));
        let lead = match self
            .access
            .update(&actor, "leads", &record.lead_id, patch)
            .await
        {
            Ok(lead) => Some(lead),
            // Deleted meanwhile: nothing of it to stop.
            Err(AccessError::Row(RowError::NotFound)) => None,
            Err(error) => return Err(error.into()),
        };
        let stopped = self
            .scheduling
            .cancel_lead_sequences(owner, &record.lead_id, REPLY_REASON)
            .await
            .map_err(|e| invalid("scheduled_emails", e.to_string()))?;
        let mut company_stopped = 0;
        if let Some(lead) = &lead
            && self.rules(owner).await?.stop_company_on_reply
        {
            company_stopped = self.stop_company(owner, lead).await?;
        }
        tracing::info!(%owner, stopped, company_stopped, "reply recorded; sequences stopped");
        if let Some(webhooks) = &self.webhooks {
            let data = json!({
                "reply_id": record.id,
                "lead_id": record.lead_id,
                "message_id": record.message_id,
                "sender_account_id": record.sender_account_id,
                "from_email": record.from_email,
                "subject": record.subject,
                "snippet": record.snippet,
                "matched_by": record.matched_by,
                "received_at": record.received_at,
            });
            webhooks
                .emit(owner, "email.replied", &record.id, data)
                .await;
        }
        Ok(())
    }

    /// Stops the sequences of the owner's other leads at the lead's company.
    async fn stop_company(&self, owner: OwnerId, lead: &Row) -> Result<usize, ReplyError> {
        let company = lead["company"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        if company.is_empty() {
            return Ok(0);
        }
        let owner_text = owner.to_string();
        let mut cursor = None;
        let mut seen = 0;
        let mut stopped = 0;
        loop {
            let page = self
                .access
                .rows()
                .list(
                    &schema::LEADS,
                    Some(&owner_text),
                    ListRequest {
                        limit: 500,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            seen += page.rows.len();
            for other in &page.rows {
                let same = other["company"]
                    .as_str()
                    .is_some_and(|c| c.trim().to_lowercase() == company);
                if same
                    && other["id"] != lead["id"]
                    && let Some(id) = other["id"].as_str()
                {
                    stopped += self
                        .scheduling
                        .cancel_lead_sequences(owner, id, COMPANY_REPLY_REASON)
                        .await
                        .map_err(|e| invalid("scheduled_emails", e.to_string()))?;
                }
            }
            match page.next {
                Some(next) if seen < COMPANY_SCAN_LIMIT => cursor = Some(next),
                _ => break,
            }
        }
        Ok(stopped)
    }
}
