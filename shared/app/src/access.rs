//! Row policies, exactly as the seed's RLS states them, over the generic repository: who may
//! read, create, change or delete which rows of every table. A row the caller may not see
//! does not exist for them (`NotFound`), never `Forbidden`.

use std::sync::Arc;

use scaliyo_domain::ids::{Caller, Role};
use scaliyo_domain::plans::Plan;
use scaliyo_domain::schema::writes::{self, ClientWriter, Refusal};
use scaliyo_domain::schema::{self, FlowPath, FlowRole, Op, Scope, Table, Who};
use scaliyo_store::{Clock, CmpOp, Condition, Item, Key, Update, WriteOp};
use serde_json::{Value, json};

use crate::cursor::{CursorSealer, ListBinding};
use crate::layout;
use crate::rows::{Extra, ListRequest, Row, RowError, RowPage, Rows, timestamp_text};

/// The largest page a list call returns.
pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 50;

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum AccessError {
    #[error("sign in to do this")]
    Unauthenticated,
    /// The caller sees the row (or the table) but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// A client tried to write what the system owns (a plan, a counter, a state it decides).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A list cursor that was not made by this deployment for this list and caller.
    #[error("the cursor does not belong to this list; start again without one")]
    BadCursor,
    /// The caller's profile is disabled: nothing is served to it.
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Row(#[from] RowError),
}

fn not_found() -> AccessError {
    AccessError::Row(RowError::NotFound)
}

/// An active support session: a super admin reading a target user's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportGrant {
    pub session_id: String,
    pub target_user_id: String,
    pub access_level: String,
}

/// Who is acting, with what the policies need to know about them.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub caller: Option<Caller>,
    pub is_admin: bool,
    pub is_super_admin: bool,
    pub support: Option<SupportGrant>,
}

impl Actor {
    pub fn anonymous() -> Self {
        Self {
            caller: None,
            is_admin: false,
            is_super_admin: false,
            support: None,
        }
    }

    /// A background job acting for one user, with exactly that user's rights.
    pub fn acting_for(owner: &str) -> Result<Self, AccessError> {
        let user_id = owner.parse().map_err(|_| AccessError::Unauthenticated)?;
        Ok(Self {
            caller: Some(Caller {
                user_id,
                role: Role::Client,
                email: None,
            }),
            is_admin: false,
            is_super_admin: false,
            support: None,
        })
    }

    pub fn user_id(&self) -> Option<String> {
        self.caller.as_ref().map(|c| c.user_id.to_string())
    }
}

/// A list call as the API receives it: equality filters and an optional order column.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filters: Vec<(String, String)>,
    pub order: Option<(String, bool)>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Clone)]
pub struct Access {
    rows: Rows,
    clock: Arc<dyn Clock>,
    /// Seals the list cursors handed to clients (ADR 17).
    cursors: CursorSealer,
    /// Webhook URLs may point at plain http and private addresses (local development only).
    private_webhooks: bool,
}

/// The contacts counter of a workspace, kept in its partition beside its leads.
fn contacts_counter(owner: &str) -> Key {
    Key::new(layout::owner_partition(owner), "counter#contacts")
}

impl Access {
    pub fn new(rows: Rows, clock: Arc<dyn Clock>) -> Self {
        Self {
            rows,
            clock,
            cursors: CursorSealer::ephemeral(),
            private_webhooks: false,
        }
    }

    /// Seals list cursors under the deployment's key (`CURSOR_KEY`, or the local secrets
    /// directory), so that a cursor from one instance opens on another. Without it cursors
    /// open only in this process.
    pub fn with_cursor_key(mut self, secret: &[u8]) -> Self {
        self.cursors = CursorSealer::new(secret);
        self
    }

    /// Local development: webhooks may deliver to http:// and private addresses (a receiver
    /// on this machine). Never in production (SSRF).
    pub fn allowing_private_webhooks(mut self) -> Self {
        self.private_webhooks = true;
        self
    }

    /// A webhook row's event and URL (the transport checks the resolved address again).
    fn check_webhook(&self, table: &Table, row: &Row) -> Result<(), AccessError> {
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
                    "must be * or one of {}",
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

    /// Row access over a store, with one clock for both.
    pub fn over(store: Arc<dyn scaliyo_store::Table>, clock: Arc<dyn Clock>) -> Self {
        Self::new(Rows::new(store, clock.clone()), clock)
    }

    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// A table named by the caller (a request path, a foreign key): unknown names are a 404.
    fn table(name: &str) -> Result<&'static Table, AccessError> {
        schema::table(name).ok_or_else(not_found)
    }

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

    async fn admits(
        &self,
        actor: &Actor,
        table: &'static Table,
        who: Who,
        op: Op,
        row: &Row,
    ) -> Result<bool, AccessError> {
        let user = actor.user_id();
        let column_is_user = |column: &str| {
            user.as_deref()
                .is_some_and(|u| row.get(column).and_then(Value::as_str) == Some(u))
        };
        Ok(match who {
            Who::Owner(column) => column_is_user(column),
            Who::Public(filter) => filter.is_none_or(|f| f.matches(row)),
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

    async fn is_team_member(&self, team: &str, user: &str) -> Result<bool, AccessError> {
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
    fn partitions(actor: &Actor, table: &Table) -> Vec<Option<String>> {
        let mut out = Vec::new();
        match table.scope {
            Scope::Owner(column) | Scope::OwnerOf(column) => {
                if let Some(user) = actor.user_id() {
                    out.push(Some(user));
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

    /// A row by id as this actor can see it, and the partition it was found in.
    async fn find_visible(
        &self,
        actor: &Actor,
        table: &'static Table,
        id: &str,
    ) -> Result<Option<(Row, Option<String>)>, AccessError> {
        for partition in Self::partitions(actor, table) {
            let Some(row) = self.rows.get(table, partition.as_deref(), id).await? else {
                continue;
            };
            if self.allows(actor, table, Op::Select, &row).await? {
                return Ok(Some((row, partition)));
            }
            if let Some(grant) = &actor.support
                && partition.as_deref() == Some(grant.target_user_id.as_str())
            {
                return Ok(Some((row, partition)));
            }
        }
        Ok(None)
    }

    async fn audit_support_read(
        &self,
        actor: &Actor,
        table: &Table,
        resource_id: Option<&str>,
    ) -> Result<(), AccessError> {
        let (Some(grant), Some(admin)) = (&actor.support, actor.user_id()) else {
            return Ok(());
        };
        let mut entry = Row::new();
        entry.insert("session_id".into(), json!(grant.session_id));
        entry.insert("admin_id".into(), json!(admin));
        entry.insert("target_user_id".into(), json!(grant.target_user_id));
        entry.insert(
            "action".into(),
            json!(if resource_id.is_some() {
                "read"
            } else {
                "list"
            }),
        );
        entry.insert("resource_type".into(), json!(table.name));
        entry.insert(
            "resource_id".into(),
            resource_id.map(Value::from).unwrap_or(Value::Null),
        );
        self.rows
            .create(&schema::SUPPORT_AUDIT_LOGS, None, entry)
            .await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // Operations

    /// Drops write-only secret columns from a row on its way out.
    fn redact(table: &Table, mut row: Row) -> Row {
        row.retain(|column, _| !schema::is_secret(table.name, column));
        row
    }

    pub async fn get(&self, actor: &Actor, table_name: &str, id: &str) -> Result<Row, AccessError> {
        let table = Self::table(table_name)?;
        let (row, partition) = self
            .find_visible(actor, table, id)
            .await?
            .ok_or_else(not_found)?;
        if actor
            .support
            .as_ref()
            .is_some_and(|g| partition.as_deref() == Some(g.target_user_id.as_str()))
        {
            self.audit_support_read(actor, table, Some(id)).await?;
        }
        Ok(Self::redact(table, row))
    }

    pub async fn list(
        &self,
        actor: &Actor,
        table_name: &str,
        params: ListParams,
    ) -> Result<RowPage, AccessError> {
        let table = Self::table(table_name)?;
        let layout = layout::layout(table.name).ok_or_else(not_found)?;
        let limit = params.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let owner_column = match table.scope {
            Scope::Owner(c) => Some(c),
            _ => None,
        };
        // Whose partition: the caller's, or a support session's target.
        let mut filters: Vec<(String, String)> = params.filters.clone();
        let mut partition_owner = actor.user_id();
        let mut support_read = false;
        if let Some(column) = owner_column
            && let Some(position) = filters.iter().position(|(c, _)| c == column)
        {
            let (_, wanted) = filters.remove(position);
            if partition_owner.as_deref() != Some(wanted.as_str()) {
                match &actor.support {
                    Some(grant) if grant.target_user_id == wanted => {
                        partition_owner = Some(wanted);
                        support_read = true;
                    }
                    _ => return Ok(RowPage::default()),
                }
            }
        }
        let request = if filters.is_empty() && params.order.is_none() {
            if matches!(table.scope, Scope::Owner(_) | Scope::OwnerOf(_))
                && partition_owner.is_none()
            {
                // Anonymous listing of an owned table: only its shared (public) rows.
                if !table.policy.iter().any(|r| matches!(r.who, Who::Public(_))) {
                    return Err(AccessError::Unauthenticated);
                }
            }
            // A shared table whose rows belong to users lists the caller's own by default.
            let own_index = match (table.scope, actor.user_id()) {
                (Scope::Shared, Some(user)) => table
                    .policy
                    .iter()
                    .filter(|r| r.ops.contains(&Op::Select))
                    .find_map(|r| match r.who {
                        Who::Owner(column) | Who::SuperAdmin(column) => layout
                            .indexes
                            .iter()
                            .find(|i| i.equality.len() == 1 && i.equality[0].column() == column)
                            .map(|i| (i.name.clone(), user.clone())),
                        _ => None,
                    }),
                _ => None,
            };
            match own_index {
                Some((index, user)) => ListRequest {
                    index: Some(index),
                    equals: vec![user],
                    limit,
                    cursor: params.cursor.clone(),
                    ..Default::default()
                },
                None => ListRequest {
                    limit,
                    cursor: params.cursor.clone(),
                    ..Default::default()
                },
            }
        } else {
            let wanted: Vec<&str> = filters.iter().map(|(c, _)| c.as_str()).collect();
            let index = layout
                .indexes
                .iter()
                .find(|i| {
                    let equality: Vec<&str> = i.equality.iter().map(|p| p.column()).collect();
                    let order_ok = match &params.order {
                        Some((column, _)) => i.range.is_some_and(|r| r.column() == column),
                        None => true,
                    };
                    equality.len() == wanted.len()
                        && equality.iter().all(|c| wanted.contains(c))
                        && order_ok
                        && !i.sharded
                })
                .ok_or_else(|| {
                    let options: Vec<String> = layout
                        .indexes
                        .iter()
                        .filter(|i| !i.sharded)
                        .map(|i| {
                            let mut text: Vec<String> =
                                i.equality.iter().map(|p| p.column().to_owned()).collect();
                            if let Some(range) = i.range {
                                text.push(format!("order={}", range.column()));
                            }
                            text.join("+")
                        })
                        .collect();
                    AccessError::Row(RowError::Invalid {
                        column: "filter".into(),
                        reason: format!("{} can be listed by: {}", table.name, options.join("; ")),
                    })
                })?;
            let equals = index
                .equality
                .iter()
                .map(|p| {
                    filters
                        .iter()
                        .find(|(c, _)| c == p.column())
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect();
            ListRequest {
                index: Some(index.name.clone()),
                equals,
                range: None,
                descending: params.order.as_ref().is_some_and(|(_, desc)| *desc),
                limit,
                cursor: params.cursor.clone(),
            }
        };
        let owner = match table.scope {
            Scope::Owner(_) | Scope::OwnerOf(_) => partition_owner.clone(),
            Scope::Shared => None,
        };
        let caller = actor.user_id();
        let binding = ListBinding {
            table: table.name,
            index: request.index.as_deref(),
            equals: &request.equals,
            partition: owner.as_deref(),
            caller: caller.as_deref(),
            descending: request.descending,
        };
        let mut request = request.clone();
        request.cursor = match &params.cursor {
            Some(sealed) => Some(
                self.cursors
                    .open(sealed, &binding)
                    .map_err(|_| AccessError::BadCursor)?,
            ),
            None => None,
        };
        let page = self
            .rows
            .list(table, owner.as_deref(), request.clone())
            .await?;
        let next = page
            .next
            .as_deref()
            .map(|store_cursor| self.cursors.seal(store_cursor, &binding));
        let mut rows = Vec::with_capacity(page.rows.len());
        for row in page.rows {
            if support_read || self.allows(actor, table, Op::Select, &row).await? {
                rows.push(row);
            }
        }
        // Owned tables with public rows (default templates, prompts): the anonymous or
        // first page also shows the shared ones.
        if request.index.is_none()
            && matches!(table.scope, Scope::Owner(_))
            && params.cursor.is_none()
            && table
                .policy
                .iter()
                .any(|r| matches!(r.who, Who::Public(Some(_))))
            && let Ok(shared) = self
                .rows
                .list(
                    table,
                    None,
                    ListRequest {
                        limit,
                        ..Default::default()
                    },
                )
                .await
        {
            for row in shared.rows {
                if self.allows(actor, table, Op::Select, &row).await? && !rows.contains(&row) {
                    rows.push(row);
                }
            }
        }
        if support_read {
            self.audit_support_read(actor, table, None).await?;
        }
        Ok(RowPage {
            rows: rows
                .into_iter()
                .map(|row| Self::redact(table, row))
                .collect(),
            next,
        })
    }

    /// Social tokens are sealed by the connect calls; one written raw through the data API
    /// would sit in the table in clear text.
    fn check_unsealed_tokens(table: &Table, fields: &Row) -> Result<(), AccessError> {
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

    fn writer<'a>(actor: &'a Actor, user: &'a str) -> ClientWriter<'a> {
        ClientWriter {
            user_id: user,
            is_admin: actor.is_admin,
            email: actor.caller.as_ref().and_then(|c| c.email.as_deref()),
        }
    }

    /// Ids of rows kept in an owner's partition are the server's: an id names one row of its
    /// table system-wide (ADR 15), and a client choosing it could name another tenant's row.
    /// A row that is its owner (a profile) is named by the caller's own id.
    fn check_client_id(table: &Table, supplied: &Row) -> Result<(), AccessError> {
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
    async fn check_flow_owner_grant(
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
    async fn check_references(
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

    pub async fn create(
        &self,
        actor: &Actor,
        table_name: &str,
        mut input: Row,
    ) -> Result<Row, AccessError> {
        let table = Self::table(table_name)?;
        let user = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        Self::check_client_id(table, &input)?;
        // A column that an insert rule checks against the caller, and an author column,
        // defaults to the caller.
        for rule in table.policy.iter().filter(|r| r.ops.contains(&Op::Insert)) {
            if let Who::Owner(column) | Who::SuperAdmin(column) = rule.who
                && !input.contains_key(column)
            {
                input.insert(column.to_owned(), json!(user));
            }
        }
        for column in writes::author_columns(table.name) {
            if !input.contains_key(column) {
                input.insert(column.to_owned(), json!(user));
            }
        }
        let supplied = input.clone();
        let row = self.rows.prepare(table, input)?;
        let now = self.clock.now();
        let defaults: Row = table
            .columns
            .iter()
            .map(|c| (c.name.to_owned(), crate::rows::default_value(c, now)))
            .collect();
        Self::check_unsealed_tokens(table, &supplied)?;
        writes::check_insert(
            table.name,
            Self::writer(actor, &user),
            &supplied,
            &row,
            &defaults,
        )?;
        self.check_flow_owner_grant(table, &user, &row, None)
            .await?;
        self.check_webhook(table, &row)?;
        if !self.allows(actor, table, Op::Insert, &row).await? {
            return Err(AccessError::Forbidden(format!(
                "you may not create rows in {}",
                table.name
            )));
        }
        self.check_references(actor, table, &row, None).await?;
        let parent_owner = match table.scope {
            Scope::OwnerOf(_) => Some(user.as_str()),
            _ => None,
        };
        let mut extra = Vec::new();
        if table.name == "leads" {
            let owner = row["client_id"].as_str().unwrap_or(&user).to_owned();
            extra.push(self.contacts_reservation(&owner, 1).await?);
        }
        let created = self.rows.insert(table, parent_owner, row, extra).await?;
        Ok(Self::redact(table, created))
    }

    /// The plan that applies to a user: an active subscription's, else the profile's.
    pub async fn plan_of(&self, user: &str) -> Result<Plan, AccessError> {
        let subscriptions = &schema::SUBSCRIPTIONS;
        if let Some(unique) = subscriptions
            .uniques
            .iter()
            .find(|u| u.name == "subscriptions_user_id_key")
        {
            let mut probe = Row::new();
            probe.insert("user_id".into(), json!(user));
            if let Some(subscription) = self.rows.find_unique(subscriptions, unique, &probe).await?
                && subscription["status"] == "active"
            {
                let name = subscription["plan"]
                    .as_str()
                    .or(subscription["plan_name"].as_str());
                return Ok(Plan::from_name(name));
            }
        }
        let profile = self.rows.get(&schema::PROFILES, Some(user), user).await?;
        Ok(Plan::from_name(
            profile.as_ref().and_then(|p| p["plan"].as_str()),
        ))
    }

    /// An `ADD` on the workspace's contacts counter, refused atomically at the plan limit.
    pub async fn contacts_reservation(
        &self,
        owner: &str,
        count: i64,
    ) -> Result<Extra, AccessError> {
        let limit = i64::from(self.plan_of(owner).await?.limits().contacts);
        let condition = Condition::NotExists("count".into()).or(Condition::cmp(
            "count",
            CmpOp::Le,
            limit - count,
        ));
        Ok(Extra {
            op: WriteOp::Update {
                key: contacts_counter(owner),
                update: Update::new().add("count", count),
                condition: Some(condition),
            },
            on_failure: RowError::PlanLimit {
                limit: "contacts",
                allowed: limit as u64,
            },
        })
    }

    /// How many leads a workspace holds (the counter the plan limit is enforced on).
    pub async fn contacts_used(&self, owner: &str) -> Result<i64, AccessError> {
        let item: Option<Item> = self
            .rows
            .store()
            .get(&contacts_counter(owner))
            .await
            .map_err(RowError::from)?;
        Ok(item.and_then(|i| i.i64("count")).unwrap_or(0))
    }

    /// A row the actor may change or delete: visible (else 404), not reached through a
    /// read-only support session, and admitted by the policy (else 403).
    async fn find_writable(
        &self,
        actor: &Actor,
        table: &'static Table,
        id: &str,
        op: Op,
    ) -> Result<(Row, Option<String>), AccessError> {
        actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let (current, partition) = self
            .find_visible(actor, table, id)
            .await?
            .ok_or_else(not_found)?;
        let through_support = actor
            .support
            .as_ref()
            .is_some_and(|g| partition.as_deref() == Some(g.target_user_id.as_str()));
        if through_support {
            return Err(AccessError::Forbidden(
                "support sessions are read-only".into(),
            ));
        }
        if !self.allows(actor, table, op, &current).await? {
            let verb = if op == Op::Delete { "delete" } else { "change" };
            return Err(AccessError::Forbidden(format!(
                "you may not {verb} this {} row",
                table.name
            )));
        }
        Ok((current, partition))
    }

    pub async fn update(
        &self,
        actor: &Actor,
        table_name: &str,
        id: &str,
        patch: Row,
    ) -> Result<Row, AccessError> {
        let table = Self::table(table_name)?;
        let (current, partition) = self.find_writable(actor, table, id, Op::Update).await?;
        let user = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        Self::check_unsealed_tokens(table, &patch)?;
        writes::check_update(table.name, Self::writer(actor, &user), &current, &patch)?;
        let mut preview = current.clone();
        for (k, v) in &patch {
            if table.column(k).is_none() {
                return Err(RowError::UnknownField(k.clone()).into());
            }
            preview.insert(k.clone(), v.clone());
        }
        if !self.allows(actor, table, Op::Update, &preview).await? {
            return Err(AccessError::Forbidden(format!(
                "the change would move this {} row out of your reach",
                table.name
            )));
        }
        self.check_references(actor, table, &preview, Some(&current))
            .await?;
        self.check_flow_owner_grant(table, &user, &preview, Some(&current))
            .await?;
        self.check_webhook(table, &preview)?;
        let updated = self
            .rows
            .update_keeping_internal(table, partition.as_deref(), id, patch)
            .await?;
        Ok(Self::redact(table, updated))
    }

    pub async fn delete(
        &self,
        actor: &Actor,
        table_name: &str,
        id: &str,
    ) -> Result<(), AccessError> {
        let table = Self::table(table_name)?;
        let (current, partition) = self.find_writable(actor, table, id, Op::Delete).await?;
        let mut extra = Vec::new();
        if table.name == "leads"
            && let Some(owner) = current["client_id"].as_str()
        {
            extra.push(Extra {
                op: WriteOp::update(contacts_counter(owner), Update::new().add("count", -1)),
                on_failure: RowError::Concurrent,
            });
        }
        Ok(self
            .rows
            .delete_with(table, partition.as_deref(), id, extra)
            .await?)
    }

    /// Deletes the items of `owner` kept under keys of their own (see `references`).
    async fn delete_outside_partition(&self, owner: &str) -> Result<(), AccessError> {
        let store = self.rows.store().clone();
        let partition = layout::owner_partition(owner);
        let mut cursor = None;
        loop {
            let page = store
                .query(
                    scaliyo_store::Query::partition(scaliyo_store::Index::Table, partition.clone())
                        .limit(200)
                        .after(cursor.take()),
                )
                .await
                .map_err(RowError::from)?;
            let mut outside = Vec::new();
            for item in &page.items {
                outside.extend(crate::references::referenced(item));
                let id = item.str("id").unwrap_or_default();
                match item.str(layout::TABLE_ATTR) {
                    Some("social_accounts") => {
                        outside.push(Key::new(format!("SOCIALTOKEN#{id}"), "R"));
                    }
                    Some("webhooks") => {
                        let mut after = None;
                        loop {
                            let deliveries = store
                                .query(
                                    scaliyo_store::Query::partition(
                                        scaliyo_store::Index::Table,
                                        format!("WH#{id}"),
                                    )
                                    .after(after.take()),
                                )
                                .await
                                .map_err(RowError::from)?;
                            for delivery in &deliveries.items {
                                outside.push(delivery.key().map_err(RowError::from)?);
                            }
                            match deliveries.next {
                                Some(next) => after = Some(next),
                                None => break,
                            }
                        }
                    }
                    _ => {}
                }
            }
            crate::references::delete_all(store.as_ref(), outside)
                .await
                .map_err(RowError::from)?;
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deletes the caller's account: the profile and, through every ON DELETE action, all
    /// rows keyed to the user; then whatever remains in the user's partition.
    pub async fn delete_account(&self, actor: &Actor) -> Result<(), AccessError> {
        let user = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        // First what lives outside the partition but is found from it: tracking tokens and
        // webhook URLs (reference items), social token reminders and webhook deliveries
        // (keyed by rows' ids) — before the cascades delete the rows that name them.
        self.delete_outside_partition(&user).await?;
        let profiles = &schema::PROFILES;
        match self.rows.delete(profiles, Some(&user), &user).await {
            Ok(()) | Err(RowError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        // Rows keyed to auth.users when no profile existed, and counters.
        for (child, fk) in schema::referencing(schema::AUTH_USERS) {
            if child.name == "profiles" {
                continue;
            }
            self.rows.apply_on_delete(child, fk, &user).await?;
        }
        let partition = layout::owner_partition(&user);
        loop {
            let page = self
                .rows
                .store()
                .query(
                    scaliyo_store::Query::partition(scaliyo_store::Index::Table, partition.clone())
                        .limit(100),
                )
                .await
                .map_err(RowError::from)?;
            if page.items.is_empty() {
                break;
            }
            let mut batch = Vec::new();
            for item in &page.items {
                batch.push(scaliyo_store::BatchOp::Delete(
                    item.key().map_err(RowError::from)?,
                ));
            }
            self.rows
                .store()
                .batch_write(batch)
                .await
                .map_err(RowError::from)?;
        }
        Ok(())
    }
}
