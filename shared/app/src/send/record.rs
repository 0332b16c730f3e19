//! What a sent message leaves behind: its row, its audit entry and the day's analytics.

use super::*;

impl SendPipeline {
    /// The message row, its audit entry and the day's "sent" analytics.
    pub(super) async fn record(
        &self,
        draft: &Draft<'_>,
        provider_message_id: Option<String>,
        status: MessageStatus,
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
        let mut message = Row::new();
        message.insert("id".into(), json!(message_id));
        message.insert("lead_id".into(), lead["id"].clone());
        message.insert("owner_id".into(), json!(owner));
        message.insert("provider".into(), json!(provider));
        message.insert(
            "provider_message_id".into(),
            provider_message_id.map(Value::from).unwrap_or(Value::Null),
        );
        message.insert("subject".into(), json!(subject));
        message.insert("to_email".into(), json!(to_email));
        message.insert("from_email".into(), sender["from_email"].clone());
        message.insert("status".into(), json!(status));
        message.insert("track_opens".into(), json!(request.track_opens));
        message.insert("track_clicks".into(), json!(request.track_clicks));
        let messages = &schema::EMAIL_MESSAGES;
        let message = rows.prepare(messages, message)?;
        let mut ops = rows.insert_ops(messages, None, &message, true)?;
        let mut audit = Row::new();
        audit.insert("user_id".into(), json!(owner));
        audit.insert(
            "action".into(),
            json!(if status == MessageStatus::Sent {
                "email.sent"
            } else {
                "email.failed"
            }),
        );
        audit.insert(
            "details".into(),
            json!(json!({ "message_id": message_id, "lead_id": lead["id"], "sender_account_id": sender["id"], "provider": provider }).to_string()),
        );
        let audit_logs = &schema::AUDIT_LOGS;
        let audit = rows.prepare(audit_logs, audit)?;
        ops.extend(rows.insert_ops(audit_logs, None, &audit, false)?);
        // Every message counts as sent in the analytics, as in the materialised view.
        if let Some(date) = crate::analytics::message_date(&message) {
            ops.extend(crate::analytics::on_message_ops(owner, &date));
        }
        // One commit for the records of a send.
        if let Err(error) = rows.store().transact_write(ops).await {
            // The lead may have been deleted while the message went out: it is sent all the same.
            tracing::warn!(owner, message_id, %error, "recording a sent message failed");
        }
        Ok(())
    }
}
