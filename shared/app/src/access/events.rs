//! Row events for CRM sync: creating, changing and deleting a lead, and adding a team member,
//! reach the owner's outgoing webhooks (`lead.created`, `lead.updated`,
//! `lead.status_changed`, `lead.deleted`, `team.member_added`) with the same signing,
//! retries and delivery log as every other event. A failure to emit never fails the write.

use super::*;

/// The columns of a lead whose change is news (everything but bookkeeping).
fn changed_columns(before: &Row, after: &Row) -> serde_json::Map<String, Value> {
    after
        .iter()
        .filter(|(column, _)| !matches!(column.as_str(), "updated_at" | "last_activity"))
        .filter(|(column, value)| before.get(column.as_str()) != Some(value))
        .map(|(column, value)| {
            let from = before.get(column.as_str()).cloned().unwrap_or(Value::Null);
            (column.clone(), json!({ "from": from, "to": value }))
        })
        .collect()
}

fn owner_of(row: &Row, column: &str) -> Option<OwnerId> {
    crate::rows::field(row, column)
        .as_str()
        .and_then(|id| id.parse().ok())
}

impl Access {
    pub(super) async fn emit_created(&self, table: &Table, row: &Row) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        let id = crate::rows::field(row, "id").as_str().unwrap_or_default();
        match table.name {
            "leads" => {
                if let Some(owner) = owner_of(row, "client_id") {
                    webhooks
                        .emit(owner, "lead.created", id, json!({ "lead": row }))
                        .await;
                }
            }
            "team_members" => {
                let team_id = crate::rows::field(row, "team_id")
                    .as_str()
                    .unwrap_or_default();
                let team = self.rows.get(&schema::TEAMS, None, team_id).await;
                if let Ok(Some(team)) = team
                    && let Some(owner) = owner_of(&team, "owner_id")
                {
                    let data = json!({
                        "team_id": team_id,
                        "user_id": crate::rows::field(row, "user_id"),
                        "role": crate::rows::field(row, "role"),
                    });
                    webhooks.emit(owner, "team.member_added", id, data).await;
                }
            }
            "workflows" => self.workflow_changed(row).await,
            _ => {}
        }
    }

    /// The engine hears of every change to a workflow (activation enrols, pausing holds,
    /// an edit moves waiting runs).
    async fn workflow_changed(&self, row: &Row) {
        let feed = self.webhooks.as_ref().and_then(|w| w.workflow_feed());
        if let (Some(feed), Some(owner)) = (feed, owner_of(row, "user_id")) {
            let id = crate::rows::field(row, "id").as_str().unwrap_or_default();
            feed.changed(owner, id).await;
        }
    }

    pub(super) async fn emit_updated(&self, table: &Table, before: &Row, after: &Row) {
        if table.name == "workflows" {
            self.workflow_changed(after).await;
            return;
        }
        let (Some(webhooks), "leads") = (&self.webhooks, table.name) else {
            return;
        };
        let Some(owner) = owner_of(after, "client_id") else {
            return;
        };
        let changes = changed_columns(before, after);
        if changes.is_empty() {
            return;
        }
        let id = crate::rows::field(after, "id").as_str().unwrap_or_default();
        // Each change is its own event: the subject names the version it produced.
        let at = crate::rows::field(after, "updated_at")
            .as_str()
            .unwrap_or_default();
        let subject = format!("{id}@{at}");
        if let Some(status) = changes.get("status") {
            let data = json!({ "lead_id": id, "from": status["from"], "to": status["to"] });
            webhooks
                .emit(owner, "lead.status_changed", &subject, data)
                .await;
        }
        let data = json!({ "lead_id": id, "changes": changes });
        webhooks.emit(owner, "lead.updated", &subject, data).await;
    }

    pub(super) async fn emit_deleted(&self, table: &Table, row: &Row) {
        let (Some(webhooks), "leads") = (&self.webhooks, table.name) else {
            return;
        };
        if let Some(owner) = owner_of(row, "client_id") {
            let id = crate::rows::field(row, "id").as_str().unwrap_or_default();
            webhooks
                .emit(owner, "lead.deleted", id, json!({ "lead_id": id }))
                .await;
        }
    }
}
