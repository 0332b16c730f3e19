//! Who is acting and what the policies let them touch: the actor resolved from the caller
//! (role, disabled accounts, support sessions), team and Team Hub memberships, and the
//! partitions an actor may read.

use super::*;

/// A `support_audit_logs` entry: what a support session read.
#[derive(serde::Serialize)]
struct SupportAuditRow<'a> {
    session_id: &'a str,
    admin_id: OwnerId,
    target_user_id: &'a str,
    action: &'static str,
    resource_type: &'static str,
    resource_id: Option<&'a str>,
}

impl Access {
    /// Resolves the actor: the profile's role (or a verified ADMIN claim) makes an admin; a
    /// super admin naming an active support session may read its target's rows.
    pub async fn actor(
        &self,
        caller: Option<Caller>,
        support_session: Option<&str>,
    ) -> Result<Actor, AccessError> {
        let Some(caller) = caller else {
            return Ok(Actor::anonymous());
        };
        let user = caller.user_id.to_string();
        let profile = self.rows.get(&schema::PROFILES, Some(&user), &user).await?;
        if profile.as_ref().and_then(|p| p["status"].as_str()) == Some("disabled") {
            return Err(AccessError::Disabled);
        }
        let profile_admin = profile.as_ref().and_then(|p| p["role"].as_str()) == Some("ADMIN");
        let is_super_admin =
            profile.as_ref().and_then(|p| p["is_super_admin"].as_bool()) == Some(true);
        let mut actor = Actor {
            is_admin: profile_admin || caller.role == Role::Admin,
            is_super_admin,
            caller: Some(caller),
            support: None,
        };
        if let Some(session_id) = support_session {
            if !is_super_admin {
                return Err(AccessError::Forbidden(
                    "support sessions are for super admins".into(),
                ));
            }
            let session = self
                .rows
                .get(&schema::SUPPORT_SESSIONS, None, session_id)
                .await?
                .ok_or_else(|| AccessError::Forbidden("no such support session".into()))?;
            let now = timestamp_text(self.clock.now());
            let active = session["is_active"] == json!(true)
                && session["ended_at"].is_null()
                && session["admin_id"].as_str() == Some(user.as_str())
                && session["expires_at"]
                    .as_str()
                    .is_some_and(|expires| expires > now.as_str());
            if !active {
                return Err(AccessError::Forbidden(
                    "the support session has ended or expired".into(),
                ));
            }
            actor.support = Some(SupportGrant {
                session_id: session_id.to_owned(),
                target_user_id: session["target_user_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                access_level: session["access_level"]
                    .as_str()
                    .unwrap_or("read_only")
                    .to_owned(),
            });
        }
        Ok(actor)
    }

    // -----------------------------------------------------------------------------------
    // Policy evaluation

    /// Whether `actor` may do `op` to `row` of `table`.
    pub fn allows<'a>(
        &'a self,
        actor: &'a Actor,
        table: &'static Table,
        op: Op,
        row: &'a Row,
    ) -> futures::future::BoxFuture<'a, Result<bool, AccessError>> {
        Box::pin(async move {
            for rule in table.policy.iter().filter(|r| r.ops.contains(&op)) {
                if self.admits(actor, table, rule.who, op, row).await? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    pub(super) async fn admits(
        &self,
        actor: &Actor,
        table: &'static Table,
        who: Who,
        op: Op,
        row: &Row,
    ) -> Result<bool, AccessError> {
        let user = actor.user_id().map(|u| u.to_string());
        let column_is_user = |column: &str| {
            user.as_deref()
                .is_some_and(|u| row.get(column).and_then(Value::as_str) == Some(u))
        };
        Ok(match who {
            Who::Owner(column) => column_is_user(column),
            Who::Public(filter) => {
                filter.is_none_or(|f| f.matches(row)) && self.released(table, row)
            }
            Who::Authenticated(filter) => {
                actor.caller.is_some() && filter.is_none_or(|f| f.matches(row))
            }
            Who::Admin => actor.is_admin,
            Who::SuperAdmin(column) => actor.is_super_admin && column_is_user(column),
            Who::Invitee(column) => {
                let email = actor.caller.as_ref().and_then(|c| c.email.as_deref());
                match (email, row.get(column).and_then(Value::as_str)) {
                    (Some(mine), Some(invited)) => mine.eq_ignore_ascii_case(invited),
                    _ => false,
                }
            }
            Who::TeamMember(column) => {
                match (user.as_deref(), row.get(column).and_then(Value::as_str)) {
                    (Some(user), Some(team)) => self.is_team_member(team, user).await?,
                    _ => false,
                }
            }
            Who::Flow { via, min } => {
                let board = match via {
                    FlowPath::Board => row.get("id").and_then(Value::as_str).map(str::to_owned),
                    FlowPath::Column(column) => {
                        row.get(column).and_then(Value::as_str).map(str::to_owned)
                    }
                    FlowPath::Card(column) => match row.get(column).and_then(Value::as_str) {
                        Some(card) => self
                            .rows
                            .get(&schema::TEAMHUB_CARDS, None, card)
                            .await?
                            .and_then(|c| c["board_id"].as_str().map(str::to_owned)),
                        None => None,
                    },
                };
                match (user.as_deref(), board) {
                    (Some(user), Some(board)) => self
                        .flow_role(&board, user)
                        .await?
                        .is_some_and(|role| role >= min),
                    _ => false,
                }
            }
            Who::Parent(column) => {
                let Some(fk) = table.foreign_key(column) else {
                    return Ok(false);
                };
                let Some(parent_id) = row.get(column).and_then(Value::as_str) else {
                    return Ok(false);
                };
                let parent_table = Self::table(fk.table)?;
                let parent_op = if op == Op::Select {
                    Op::Select
                } else {
                    Op::Update
                };
                match self.find_visible(actor, parent_table, parent_id).await? {
                    Some((parent, _)) => {
                        self.allows(actor, parent_table, parent_op, &parent).await?
                    }
                    None => false,
                }
            }
        })
    }

    pub(super) async fn is_team_member(&self, team: &str, user: &str) -> Result<bool, AccessError> {
        let members = &schema::TEAM_MEMBERS;
        let unique = members
            .uniques
            .iter()
            .find(|u| u.name == "team_members_team_id_user_id_key");
        if let Some(unique) = unique {
            let mut probe = Row::new();
            probe.insert("team_id".into(), json!(team));
            probe.insert("user_id".into(), json!(user));
            if self
                .rows
                .find_unique(members, unique, &probe)
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        // The team's owner is a member of it.
        let team_row = self.rows.get(&schema::TEAMS, None, team).await?;
        Ok(team_row
            .and_then(|t| t["owner_id"].as_str().map(|o| o == user))
            .unwrap_or(false))
    }

    /// The caller's role on a Team Hub flow (board): its creator is the owner; others by
    /// `teamhub_flow_members`.
    pub async fn flow_role(
        &self,
        board: &str,
        user: &str,
    ) -> Result<Option<FlowRole>, AccessError> {
        let boards = &schema::TEAMHUB_BOARDS;
        if let Some(row) = self.rows.get(boards, None, board).await?
            && row["created_by"].as_str() == Some(user)
        {
            return Ok(Some(FlowRole::Owner));
        }
        let members = &schema::TEAMHUB_FLOW_MEMBERS;
        let Some(unique) = members
            .uniques
            .iter()
            .find(|u| u.name == "teamhub_flow_members_flow_id_user_id_key")
        else {
            return Ok(None);
        };
        let mut probe = Row::new();
        probe.insert("flow_id".into(), json!(board));
        probe.insert("user_id".into(), json!(user));
        Ok(self
            .rows
            .find_unique(members, unique, &probe)
            .await?
            .and_then(|m| match m["role"].as_str() {
                Some("owner") => Some(FlowRole::Owner),
                Some("admin") => Some(FlowRole::Admin),
                Some("member") => Some(FlowRole::Member),
                Some("viewer") => Some(FlowRole::Viewer),
                _ => None,
            }))
    }

    /// The partitions a caller's row of this table can be in, in lookup order.
    pub(super) fn partitions(actor: &Actor, table: &Table) -> Vec<Option<String>> {
        let mut out = Vec::new();
        match table.scope {
            Scope::Owner(column) | Scope::OwnerOf(column) => {
                if let Some(user) = actor.user_id() {
                    out.push(Some(user.to_string()));
                }
                if let Some(grant) = &actor.support {
                    out.push(Some(grant.target_user_id.clone()));
                }
                let nullable = matches!(table.scope, Scope::Owner(_))
                    && table
                        .column(column)
                        .is_some_and(|c| !c.not_null && !c.primary_key);
                if nullable {
                    out.push(None);
                }
            }
            Scope::Shared => out.push(None),
        }
        out
    }

    pub(super) async fn audit_support_read(
        &self,
        actor: &Actor,
        table: &Table,
        resource_id: Option<&str>,
    ) -> Result<(), AccessError> {
        let (Some(grant), Some(admin)) = (&actor.support, actor.user_id()) else {
            return Ok(());
        };
        let entry = crate::rows::to_row(&SupportAuditRow {
            session_id: &grant.session_id,
            admin_id: admin,
            target_user_id: &grant.target_user_id,
            action: if resource_id.is_some() {
                "read"
            } else {
                "list"
            },
            resource_type: table.name,
            resource_id,
        })?;
        self.rows
            .create(&schema::SUPPORT_AUDIT_LOGS, None, entry)
            .await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // Operations
}
