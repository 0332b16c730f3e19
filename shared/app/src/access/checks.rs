//! The checks a client write passes before it reaches the row layer: server-owned columns,
//! sealed secrets, webhook targets, the author column and references to rows the writer may see.

use super::*;

impl Access {
    /// A webhook row's event and URL (the transport checks the resolved address again).
    pub(super) fn check_webhook(&self, table: &Table, row: &Row) -> Result<(), AccessError> {
        if table.name != "webhooks" {
            return Ok(());
        }
        let invalid = |column: &str, reason: String| {
            AccessError::Row(RowError::Invalid {
                column: column.to_owned(),
                reason,
            })
        };
        if let Some(trigger) = row.get("trigger_event").and_then(Value::as_str)
            && !scaliyo_domain::webhooks::is_event_type(trigger)
        {
            return Err(invalid(
                "trigger_event",
                format!(
                    "must be *, workflow.<name> or one of {}",
                    scaliyo_domain::webhooks::EVENT_TYPES.join(", ")
                ),
            ));
        }
        if let Some(url) = row.get("url").and_then(Value::as_str) {
            scaliyo_domain::webhooks::check_url(url, self.private_webhooks, self.private_webhooks)
                .map_err(|problem| invalid("url", problem.to_string()))?;
        }
        Ok(())
    }

    /// Social tokens are sealed by the connect calls; one written raw through the data API
    /// would sit in the table in clear text.
    pub(super) fn check_unsealed_tokens(table: &Table, fields: &Row) -> Result<(), AccessError> {
        if table.name != "social_accounts" {
            return Ok(());
        }
        for column in [
            "meta_page_access_token_encrypted",
            "linkedin_access_token_encrypted",
        ] {
            if fields.get(column).is_some_and(|v| !v.is_null()) {
                return Err(AccessError::Row(RowError::Invalid {
                    column: column.to_owned(),
                    reason: "tokens are sealed on the way in: connect the account with POST /v1/social/accounts/meta or /v1/social/accounts/linkedin".into(),
                }));
            }
        }
        Ok(())
    }

    pub(super) fn writer<'a>(actor: &'a Actor, user: &'a str) -> ClientWriter<'a> {
        ClientWriter {
            user_id: user,
            is_admin: actor.is_admin,
            email: actor.caller.as_ref().and_then(|c| c.email.as_deref()),
        }
    }

    /// Ids of rows kept in an owner's partition are the server's: an id names one row of its
    /// table system-wide (ADR 15), and a client choosing it could name another tenant's row.
    /// A row that is its owner (a profile) is named by the caller's own id.
    pub(super) fn check_client_id(table: &Table, supplied: &Row) -> Result<(), AccessError> {
        let owner_column = match table.scope {
            Scope::Owner(column) | Scope::OwnerOf(column) => column,
            Scope::Shared => return Ok(()),
        };
        let Some(key) = table.primary_key() else {
            return Ok(());
        };
        let is_owner_itself = key.name == owner_column;
        if !is_owner_itself && supplied.get(key.name).is_some_and(|v| !v.is_null()) {
            return Err(AccessError::Row(RowError::Invalid {
                column: key.name.to_owned(),
                reason: "is assigned by the server; leave it out".into(),
            }));
        }
        Ok(())
    }

    /// Nobody makes themselves owner of a Team Hub flow: only its owner grants that role.
    pub(super) async fn check_flow_owner_grant(
        &self,
        table: &Table,
        user: &str,
        row: &Row,
        previous: Option<&Row>,
    ) -> Result<(), AccessError> {
        if table.name != "teamhub_flow_members" || row["role"] != "owner" {
            return Ok(());
        }
        if previous.is_some_and(|p| p["role"] == "owner") {
            return Ok(());
        }
        let board = row["flow_id"].as_str().unwrap_or_default();
        if self.flow_role(board, user).await? == Some(FlowRole::Owner) {
            return Ok(());
        }
        Err(AccessError::Forbidden(
            "only the flow's owner may make someone an owner".into(),
        ))
    }

    /// Every non-null foreign key must point at a row this actor can see.
    pub(super) async fn check_references(
        &self,
        actor: &Actor,
        table: &Table,
        row: &Row,
        previous: Option<&Row>,
    ) -> Result<(), AccessError> {
        for fk in table.foreign_keys {
            // Users (and their profiles) may be named by anyone: a user id reveals no row.
            if fk.table == schema::AUTH_USERS || fk.table == "profiles" {
                continue;
            }
            let Some(value) = row.get(fk.column).and_then(Value::as_str) else {
                continue;
            };
            if previous
                .and_then(|p| p.get(fk.column))
                .and_then(Value::as_str)
                == Some(value)
            {
                continue;
            }
            let parent = Self::table(fk.table)?;
            if self.find_visible(actor, parent, value).await?.is_none() {
                return Err(RowError::MissingReference {
                    column: fk.column.to_owned(),
                }
                .into());
            }
        }
        Ok(())
    }
}
