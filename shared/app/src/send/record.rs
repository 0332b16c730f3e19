//! What a sent message leaves behind: its row, its audit entry and the day's analytics.

use super::*;
use crate::rows::to_row;

/// The `email_messages` row of a send.
#[derive(Serialize)]
struct MessageRow<'a> {
    id: &'a str,
    lead_id: &'a Value,
    owner_id: OwnerId,
    provider: &'a str,
    provider_message_id: Option<&'a str>,
    subject: &'a str,
    to_email: &'a str,
    from_email: &'a Value,
    status: MessageStatus,
    track_opens: bool,
    track_clicks: bool,
}

/// Its `audit_logs` entry.
#[derive(Serialize)]
struct AuditRow {
    user_id: OwnerId,
    action: &'static str,
    details: String,
}

impl SendPipeline {
    /// The message row, its audit entry and the day's "sent" analytics — and `settled`, the
    /// send's Idempotency-Key outcome, in the same commit.
    pub(super) async fn record(
        &self,
        draft: &Draft<'_>,
        provider_message_id: Option<String>,
        status: MessageStatus,
        settled: Option<WriteOp>,
    ) -> Result<(), SendError> {
        let Draft {
            owner,
            lead,
            sender,
            request,
            ..
        } = *draft;
        let (message_id, to_email, subject, provider) = (
            draft.message_id.as_str(),
            draft.to_email.as_str(),
            draft.subject.as_str(),
            draft.provider.as_str(),
        );
        let rows = self.access.rows();
        let message = to_row(&MessageRow {
            id: message_id,
            lead_id: &lead["id"],
            owner_id: owner,
            provider,
            provider_message_id: provider_message_id.as_deref(),
            subject,
            to_email,
            from_email: &sender["from_email"],
            status,
            track_opens: request.track_opens,
            track_clicks: request.track_clicks,
        })?;
        let messages = &schema::EMAIL_MESSAGES;
        let message = rows.prepare(messages, message)?;
        let mut ops = rows.insert_ops(messages, None, &message, true)?;
        let details = json!({
            "message_id": message_id,
            "lead_id": lead["id"],
            "sender_account_id": sender["id"],
            "provider": provider,
        });
        let audit = to_row(&AuditRow {
            user_id: owner,
            action: if status == MessageStatus::Sent {
                "email.sent"
            } else {
                "email.failed"
            },
            details: details.to_string(),
        })?;
        let audit_logs = &schema::AUDIT_LOGS;
        let audit = rows.prepare(audit_logs, audit)?;
        ops.extend(rows.insert_ops(audit_logs, None, &audit, false)?);
        // Every message counts as sent in the analytics, as in the materialised view.
        if let Some(date) = crate::analytics::message_date(&message) {
            ops.extend(crate::analytics::on_message_ops(owner, &date));
        }
        ops.extend(settled.clone());
        // One commit for the records of a send. The message has gone out: a passing store
        // error must not leave it without its row (and its tracking without a message).
        let store = rows.store();
        let committed = crate::transient::retrying(StoreError::is_retryable, || {
            store.transact_write(ops.clone())
        })
        .await;
        if let Err(error) = committed {
            // The lead may have been deleted while the message went out: it is sent all the same,
            // and its key must say so (a replay must not send it again).
            tracing::warn!(%owner, message_id, %error, "recording a sent message failed");
            if let Some(settled) = settled {
                crate::transient::retrying(StoreError::is_retryable, || {
                    store.transact_write(vec![settled.clone()])
                })
                .await?;
            }
        }
        Ok(())
    }
}
