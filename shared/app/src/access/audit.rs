//! The audit log the server keeps (`audit_logs`, never written by clients): who did what to
//! which account, team, sender, webhook, integration, import, lead or support session — and
//! an admin's changes to server-owned columns — in the same transaction as the change.

use super::*;

/// One `audit_logs` entry.
#[derive(serde::Serialize)]
struct AuditEntry<'a> {
    user_id: OwnerId,
    team_id: Option<&'a str>,
    action: &'a str,
    details: String,
}

/// The action a write of a table records, if that write is audited.
pub(crate) fn audited_action(table: &str, op: Op) -> Option<&'static str> {
    Some(match (table, op) {
        ("teams", Op::Insert) => "team.created",
        ("teams", Op::Update) => "team.updated",
        ("teams", Op::Delete) => "team.deleted",
        ("team_members", Op::Insert) => "team.member_added",
        ("team_members", Op::Update) => "team.member_changed",
        ("team_members", Op::Delete) => "team.member_removed",
        ("team_invites", Op::Insert) => "team.invite_created",
        ("sender_accounts", Op::Insert) => "sender.connected",
        ("sender_accounts", Op::Update) => "sender.updated",
        ("sender_accounts", Op::Delete) => "sender.deleted",
        ("webhooks", Op::Insert) => "webhook.created",
        ("webhooks", Op::Update) => "webhook.updated",
        ("webhooks", Op::Delete) => "webhook.deleted",
        ("integrations", Op::Insert) => "integration.connected",
        ("integrations", Op::Update) => "integration.updated",
        ("integrations", Op::Delete) => "integration.removed",
        ("import_batches", Op::Insert) => "import.started",
        ("leads", Op::Delete) => "lead.deleted",
        ("support_sessions", Op::Insert) => "support.session_started",
        ("support_sessions", Op::Update) => "support.session_changed",
        _ => return None,
    })
}

impl Access {
    /// The entry of `action` by the actor, as extra actions of the write it records.
    pub(crate) fn audit_ops(
        &self,
        actor: &Actor,
        team_id: Option<&str>,
        action: &str,
        details: Value,
    ) -> Result<Vec<Extra>, AccessError> {
        let Some(user) = actor.user_id() else {
            return Ok(Vec::new());
        };
        let entry = crate::rows::to_row(&AuditEntry {
            user_id: user,
            team_id,
            action,
            details: details.to_string(),
        })?;
        let audit_logs = &schema::AUDIT_LOGS;
        let entry = self.rows.prepare(audit_logs, entry)?;
        // The team a row names is checked by the write itself.
        Ok(Extra::beside(
            self.rows.insert_ops(audit_logs, None, &entry, false)?,
        ))
    }

    /// The audit entry of a write to an audited table (`row` as written, or as it was for a
    /// delete).
    pub(super) fn audit_write(
        &self,
        actor: &Actor,
        table: &Table,
        op: Op,
        row: &Row,
    ) -> Result<Vec<Extra>, AccessError> {
        let Some(action) = audited_action(table.name, op) else {
            return Ok(Vec::new());
        };
        let id = crate::rows::field(row, "id").as_str().unwrap_or_default();
        let team_id = match table.name {
            "teams" if op != Op::Delete => Some(id),
            _ => crate::rows::field(row, "team_id").as_str(),
        };
        let mut details = json!({ "table": table.name, "row_id": id });
        for column in [
            "name",
            "provider",
            "email",
            "role",
            "status",
            "file_name",
            "from_email",
            "url",
        ] {
            if let Some(value) = row.get(column).filter(|v| !v.is_null())
                && !schema::is_secret(table.name, column)
            {
                details[column] = value.clone();
            }
        }
        self.audit_ops(actor, team_id, action, details)
    }

    /// An admin's change to server-owned columns (a plan, a role, credits set by hand) is
    /// written to the admin's `audit_logs` in the same transaction as the change.
    pub(crate) fn admin_audit(
        &self,
        actor: &Actor,
        table: &Table,
        id: &str,
        current: &Row,
        patch: &Row,
    ) -> Result<Vec<Extra>, AccessError> {
        if !actor.is_admin {
            return Ok(Vec::new());
        }
        let changed = writes::server_columns_changed(table.name, current, patch);
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        let changes: serde_json::Map<String, Value> = changed
            .iter()
            .map(|column| {
                let from = current.get(*column).cloned().unwrap_or(Value::Null);
                let to = patch.get(*column).cloned().unwrap_or(Value::Null);
                ((*column).to_owned(), json!({ "from": from, "to": to }))
            })
            .collect();
        let details = json!({ "table": table.name, "row_id": id, "changes": changes });
        self.audit_ops(actor, None, "admin_update", details)
    }
}
