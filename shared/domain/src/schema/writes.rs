//! Which parts of a row a client decides. The seed's RLS says who may touch a row; these rules
//! say which of its columns a client may write through the data API and into which states it
//! may move a row. Everything else is server-owned: written by the pipelines (sending,
//! tracking, imports, publishing, billing), and by admins where the seed lets them.
//! `docs/security.md` lists every rule with its reason.

use serde_json::{Map, Value};

/// Tables a client reads (as its row policy says) but never inserts into or changes: each
/// row is a fact the system records (usage, events, executions) or a decision it made (the
/// plan a payment bought, a short link it generated).
pub const SYSTEM_TABLES: &[&str] = &[
    "subscriptions",
    "workspace_usage_counters",
    "workspace_ai_usage",
    "outbound_usage",
    "email_links",
    "email_events",
    "tracking_events",
    "tracking_links",
    "social_post_events",
    "workflow_executions",
    "support_audit_logs",
    "sender_account_secrets",
    // The previous states of prompts, kept by the server as a prompt changes.
    "user_prompt_versions",
    // Who did what: written by the server with each audited change.
    "audit_logs",
    // A card's history: written by the server with each card, comment and assignment change.
    "teamhub_activity",
];

/// Who, besides the system, may write a server-owned column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Only the system (a pipeline); an admin may correct it.
    System,
    /// Admins (a user must not grant themselves a role, a plan or credits).
    Admin,
}

/// Columns a client may not set or change on rows it otherwise writes.
pub const SERVER_COLUMNS: &[(&str, Writer, &[&str])] = &[
    (
        "profiles",
        Writer::Admin,
        &[
            "role",
            "is_super_admin",
            "plan",
            "credits_total",
            "credits_used",
            "status",
        ],
    ),
    (
        "sender_accounts",
        Writer::System,
        &[
            "daily_sent_today",
            "daily_sent_date",
            "warmup_daily_sent",
            "last_health_check_at",
            "health_score",
        ],
    ),
    ("email_messages", Writer::System, &["provider_message_id"]),
    (
        "import_batches",
        Writer::System,
        &[
            "total_rows",
            "imported_count",
            "updated_count",
            "skipped_count",
            "skipped_rows",
            "completed_at",
        ],
    ),
    (
        "scheduled_emails",
        Writer::System,
        &["sent_at", "error_message"],
    ),
    (
        "webhooks",
        Writer::System,
        &["last_fired", "success_rate", "fire_count", "fail_count"],
    ),
    (
        "social_post_targets",
        Writer::System,
        &[
            "remote_post_id",
            "error_code",
            "error_message",
            "published_at",
        ],
    ),
    ("social_accounts", Writer::System, &["token_expires_at"]),
    // A prompt's version counts its changes (each kept in user_prompt_versions).
    ("user_prompts", Writer::System, &["version"]),
    // The engine keeps a workflow's figures (docs/workflows.md).
    ("workflows", Writer::System, &["stats"]),
    (
        "invoices",
        Writer::System,
        &[
            "stripe_customer_id",
            "stripe_invoice_id",
            "stripe_hosted_url",
            "stripe_pdf_url",
            "sent_at",
            "sent_via",
            "paid_at",
        ],
    ),
    (
        "guest_contributors",
        Writer::System,
        &["posts_submitted", "posts_published"],
    ),
    // An invitation is answered through /v1/invites (accepting creates the membership in the
    // same transaction); re-inviting renews it (docs/invitations.md).
    ("team_invites", Writer::System, &["status", "expires_at"]),
    ("teamhub_invites", Writer::System, &["status"]),
];

/// Columns that keep the value they were created with, whoever asks, admins included: a
/// support session's window (started now, over two hours later) and whom it reads.
/// `started_at` and `expires_at` take the server's defaults; the others are chosen at insert.
pub const FIXED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "support_sessions",
        &["started_at", "expires_at", "target_user_id", "admin_id"],
    ),
    // The invitee may read and update their invitation (the seed's policy) but not change
    // what it grants; the inviter re-invites to change the role.
    ("team_invites", &["team_id", "email", "role", "invited_by"]),
    (
        "teamhub_invites",
        &["flow_id", "email", "role", "invited_by"],
    ),
];

/// Of the fixed columns, those only the server's default may set.
const SERVER_DEFAULTED: &[(&str, &str)] = &[
    ("support_sessions", "started_at"),
    ("support_sessions", "expires_at"),
];

/// The states a client may give a row: the values a new row may start in, and the moves a
/// client may make. Any other state is one the system decides (processing, sent, published…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateRule {
    /// Whether admins are bound too (a support session's super admin may end it, never
    /// revive it).
    pub binds_admins: bool,
    pub table: &'static str,
    pub column: &'static str,
    pub start: &'static [&'static str],
    pub moves: &'static [(&'static str, &'static str)],
}

pub const STATE_RULES: &[StateRule] = &[
    StateRule {
        binds_admins: false,
        table: "scheduled_emails",
        column: "status",
        start: &["pending"],
        moves: &[("pending", "cancelled")],
    },
    // A client logs a message it sent by hand; provider messages are the pipeline's.
    StateRule {
        binds_admins: false,
        table: "email_messages",
        column: "provider",
        start: &["manual"],
        moves: &[],
    },
    StateRule {
        binds_admins: false,
        table: "email_messages",
        column: "status",
        start: &["sent"],
        moves: &[],
    },
    StateRule {
        binds_admins: false,
        table: "social_posts",
        column: "status",
        start: &["draft", "scheduled"],
        moves: &[("draft", "scheduled"), ("scheduled", "draft")],
    },
    StateRule {
        binds_admins: false,
        table: "social_post_targets",
        column: "status",
        start: &["pending", "scheduled"],
        moves: &[],
    },
    StateRule {
        binds_admins: false,
        table: "import_batches",
        column: "status",
        start: &["pending"],
        moves: &[],
    },
    StateRule {
        binds_admins: false,
        table: "sender_accounts",
        column: "status",
        start: &["connected"],
        moves: &[
            ("connected", "disabled"),
            ("needs_reauth", "disabled"),
            ("disabled", "connected"),
        ],
    },
    StateRule {
        binds_admins: false,
        table: "invoices",
        column: "status",
        start: &["draft", "open"],
        moves: &[("draft", "open"), ("draft", "void"), ("open", "void")],
    },
    // A post is written, reviewed, published and archived by its author (admins publish
    // anyone's through `POST /v1/blog_posts/{id}/publish`).
    StateRule {
        binds_admins: false,
        table: "blog_posts",
        column: "status",
        start: &["draft", "pending_review"],
        moves: &[
            ("draft", "pending_review"),
            ("pending_review", "draft"),
            ("draft", "published"),
            ("pending_review", "published"),
            ("published", "archived"),
            ("published", "draft"),
            ("archived", "draft"),
        ],
    },
    StateRule {
        binds_admins: false,
        table: "guest_contributors",
        column: "status",
        start: &["invited"],
        moves: &[("active", "inactive"), ("inactive", "active")],
    },
    StateRule {
        binds_admins: false,
        table: "team_invites",
        column: "status",
        start: &["pending"],
        moves: &[("pending", "accepted"), ("pending", "declined")],
    },
    StateRule {
        binds_admins: false,
        table: "teamhub_invites",
        column: "status",
        start: &["pending"],
        moves: &[("pending", "accepted")],
    },
    // System templates are public: only admins publish them.
    StateRule {
        binds_admins: false,
        table: "teamhub_flow_templates",
        column: "type",
        start: &["user"],
        moves: &[],
    },
    // An admin ends a support session; nothing starts one again.
    StateRule {
        binds_admins: true,
        table: "support_sessions",
        column: "is_active",
        start: &["true"],
        moves: &[("true", "false")],
    },
];

/// Columns naming who made a shared row: the server sets them to the caller on insert and
/// nobody but an admin changes them (taking over a board by rewriting its creator, say).
pub const AUTHOR_COLUMNS: &[(&str, &str)] = &[
    ("teams", "owner_id"),
    ("teamhub_boards", "created_by"),
    ("teamhub_boards", "workspace_id"),
    ("teamhub_cards", "created_by"),
    ("teamhub_comments", "user_id"),
    ("teamhub_activity", "user_id"),
    ("teamhub_flow_templates", "created_by"),
    ("team_invites", "invited_by"),
    ("teamhub_invites", "invited_by"),
    ("strategy_tasks", "user_id"),
    ("strategy_notes", "user_id"),
    ("audit_logs", "user_id"),
    ("blog_posts", "author_id"),
    ("support_sessions", "admin_id"),
];

/// Why a client write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{table} rows are written by the system; they can only be read")]
    SystemTable { table: &'static str },
    #[error("{column} is written by the system")]
    SystemColumn { column: &'static str },
    #[error("only an admin may set {column}")]
    AdminColumn { column: &'static str },
    #[error("{column} is set to the caller when the row is made and cannot be changed")]
    Author { column: &'static str },
    #[error("{column} is fixed when the row is made")]
    Fixed { column: &'static str },
    #[error("{column} must be the e-mail address you signed in with")]
    NotYourEmail { column: &'static str },
    #[error("{column} cannot be set to {value}: a client may {allowed}")]
    State {
        column: &'static str,
        value: String,
        allowed: String,
    },
}

impl Refusal {
    /// The machine-readable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::SystemTable { .. } | Refusal::SystemColumn { .. } => "server_owned",
            Refusal::AdminColumn { .. } => "admin_only",
            Refusal::Author { .. } => "author_column",
            Refusal::Fixed { .. } => "fixed_column",
            Refusal::NotYourEmail { .. } => "email_not_yours",
            Refusal::State { .. } => "invalid_transition",
        }
    }
}

/// A column value as a rule compares it (`true`, `pending`…); NULL is `None`.
fn state_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

pub fn is_system_table(table: &str) -> bool {
    SYSTEM_TABLES.contains(&table)
}

/// The author columns of a table.
pub fn author_columns(table: &str) -> impl Iterator<Item = &'static str> + '_ {
    AUTHOR_COLUMNS
        .iter()
        .filter(move |(t, _)| *t == table)
        .map(|(_, c)| *c)
}

fn server_columns(table: &str) -> impl Iterator<Item = (Writer, &'static str)> + '_ {
    SERVER_COLUMNS
        .iter()
        .filter(move |(t, _, _)| *t == table)
        .flat_map(|(_, writer, columns)| columns.iter().map(move |c| (*writer, *c)))
}

/// The server-owned columns an update changes (what an admin's edit must leave in the audit
/// log: a plan, a role, credits set by hand), in the table's declared order.
pub fn server_columns_changed(
    table: &str,
    current: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Vec<&'static str> {
    server_columns(table)
        .map(|(_, column)| column)
        .filter(|column| {
            patch
                .get(*column)
                .is_some_and(|value| current.get(*column) != Some(value))
        })
        .collect()
}

fn state_rules(table: &str) -> impl Iterator<Item = &'static StateRule> + '_ {
    STATE_RULES.iter().filter(move |r| r.table == table)
}

fn column_refusal(writer: Writer, column: &'static str) -> Refusal {
    match writer {
        Writer::System => Refusal::SystemColumn { column },
        Writer::Admin => Refusal::AdminColumn { column },
    }
}

/// Columns holding the caller's own e-mail address: when the caller's token carries a
/// verified address, the column may only be that (case aside) — otherwise a user could claim
/// someone else's address, learn from the conflict that it is taken, and block its sign-up.
pub const VERIFIED_EMAIL_COLUMNS: &[(&str, &str)] = &[("profiles", "email")];

/// Who is writing, as these rules need to know it.
#[derive(Debug, Clone, Copy)]
pub struct ClientWriter<'a> {
    pub user_id: &'a str,
    pub is_admin: bool,
    /// The verified e-mail address of the caller's token, if it carries one.
    pub email: Option<&'a str>,
}

fn check_verified_email(
    table: &str,
    writer: ClientWriter<'_>,
    fields: &Map<String, Value>,
) -> Result<(), Refusal> {
    let (Some(verified), false) = (writer.email, writer.is_admin) else {
        return Ok(());
    };
    for (_, column) in VERIFIED_EMAIL_COLUMNS.iter().filter(|(t, _)| *t == table) {
        if let Some(given) = fields.get(*column).and_then(Value::as_str)
            && !given.trim().eq_ignore_ascii_case(verified.trim())
        {
            return Err(Refusal::NotYourEmail { column });
        }
    }
    Ok(())
}

/// Checks a new row a client wants to create. `supplied` is what the client sent; `row` is
/// the row after defaults (which a client may leave as they are).
pub fn check_insert(
    table: &'static str,
    writer: ClientWriter<'_>,
    supplied: &Map<String, Value>,
    row: &Map<String, Value>,
    defaults: &Map<String, Value>,
) -> Result<(), Refusal> {
    if is_system_table(table) && !writer.is_admin {
        return Err(Refusal::SystemTable { table });
    }
    check_verified_email(table, writer, row)?;
    for (t, column) in SERVER_DEFAULTED {
        let set = supplied
            .get(*column)
            .is_some_and(|value| defaults.get(*column) != Some(value) && !value.is_null());
        if *t == table && set {
            return Err(Refusal::SystemColumn { column });
        }
    }
    for rule in state_rules(table).filter(|r| r.binds_admins && writer.is_admin) {
        check_start(rule, row)?;
    }
    for (who, column) in server_columns(table) {
        let set = supplied
            .get(column)
            .is_some_and(|value| defaults.get(column) != Some(value) && !value.is_null());
        if set && !(writer.is_admin) {
            return Err(column_refusal(who, column));
        }
    }
    if writer.is_admin {
        return Ok(());
    }
    for column in author_columns(table) {
        let named = row.get(column).and_then(Value::as_str);
        if named.is_some_and(|named| named != writer.user_id) {
            return Err(Refusal::Author { column });
        }
    }
    for rule in state_rules(table) {
        check_start(rule, row)?;
    }
    Ok(())
}

fn check_start(rule: &StateRule, row: &Map<String, Value>) -> Result<(), Refusal> {
    match state_text(row.get(rule.column)) {
        Some(value) if !rule.start.contains(&value.as_str()) => Err(Refusal::State {
            column: rule.column,
            value,
            allowed: format!("start a row as {}", rule.start.join(" or ")),
        }),
        _ => Ok(()),
    }
}

fn check_move(
    rule: &StateRule,
    current: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<(), Refusal> {
    let from = state_text(current.get(rule.column)).unwrap_or_default();
    let to = state_text(patch.get(rule.column)).unwrap_or_default();
    if rule
        .moves
        .iter()
        .any(|(a, b)| *a == from.as_str() && *b == to.as_str())
    {
        return Ok(());
    }
    let moves: Vec<String> = rule
        .moves
        .iter()
        .map(|(a, b)| format!("{a} → {b}"))
        .collect();
    Err(Refusal::State {
        column: rule.column,
        value: to,
        allowed: if moves.is_empty() {
            "not change it".to_owned()
        } else {
            format!("only move {}", moves.join(", "))
        },
    })
}

/// Checks a client's partial update of an existing row.
pub fn check_update(
    table: &'static str,
    writer: ClientWriter<'_>,
    current: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<(), Refusal> {
    let changes = |column: &str| {
        patch
            .get(column)
            .is_some_and(|value| current.get(column).unwrap_or(&Value::Null) != value)
    };
    if is_system_table(table) && !writer.is_admin {
        return Err(Refusal::SystemTable { table });
    }
    check_verified_email(table, writer, patch)?;
    for (t, columns) in FIXED_COLUMNS {
        if let Some(column) = columns.iter().find(|c| *t == table && changes(c)) {
            return Err(Refusal::Fixed { column });
        }
    }
    for rule in state_rules(table).filter(|r| r.binds_admins && writer.is_admin) {
        if changes(rule.column) {
            check_move(rule, current, patch)?;
        }
    }
    if writer.is_admin {
        return Ok(());
    }
    for (who, column) in server_columns(table) {
        if changes(column) {
            return Err(column_refusal(who, column));
        }
    }
    for column in author_columns(table) {
        if changes(column) {
            return Err(Refusal::Author { column });
        }
    }
    for rule in state_rules(table) {
        if changes(rule.column) {
            check_move(rule, current, patch)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod audit_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_server_columns_are_named() {
        let current = json!({ "plan": "Starter", "role": "CLIENT", "name": "Ada" });
        let patch = json!({ "plan": "Growth", "role": "CLIENT", "name": "Ada L." });
        let (Value::Object(current), Value::Object(patch)) = (current, patch) else {
            unreachable!()
        };
        assert_eq!(
            server_columns_changed("profiles", &current, &patch),
            vec!["plan"]
        );
        assert!(server_columns_changed("leads", &current, &patch).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ME: &str = "11111111-1111-4111-8111-111111111111";
    const THEM: &str = "22222222-2222-4222-8222-222222222222";

    fn client() -> ClientWriter<'static> {
        ClientWriter {
            user_id: ME,
            is_admin: false,
            email: None,
        }
    }

    fn admin() -> ClientWriter<'static> {
        ClientWriter {
            user_id: ME,
            is_admin: true,
            email: None,
        }
    }

    #[test]
    fn a_profile_holds_only_the_callers_verified_address() {
        let ada = ClientWriter {
            email: Some("Ada@Example.com"),
            ..client()
        };
        assert!(insert("profiles", ada, json!({"email": "ada@example.com"})).is_ok());
        assert_eq!(
            insert("profiles", ada, json!({"email": "grace@navy.mil"})),
            Err(Refusal::NotYourEmail { column: "email" })
        );
        assert!(
            update(
                "profiles",
                ada,
                json!({"email": "ada@example.com"}),
                json!({"email": "grace@navy.mil"})
            )
            .is_err()
        );
    }

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn insert(table: &'static str, who: ClientWriter<'_>, row: Value) -> Result<(), Refusal> {
        let row = map(row);
        check_insert(table, who, &row, &row, &Map::new())
    }

    fn update(
        table: &'static str,
        who: ClientWriter<'_>,
        current: Value,
        patch: Value,
    ) -> Result<(), Refusal> {
        check_update(table, who, &map(current), &map(patch))
    }

    #[test]
    fn system_tables_are_read_only_for_clients_and_writable_by_admins() {
        for table in [
            "subscriptions",
            "outbound_usage",
            "workspace_usage_counters",
            "workspace_ai_usage",
        ] {
            let table = crate::schema::table(table).map(|t| t.name).unwrap_or("");
            assert_eq!(
                insert(table, client(), json!({"plan": "Scale"})),
                Err(Refusal::SystemTable { table })
            );
            assert_eq!(
                update(table, client(), json!({}), json!({"count": -100000})),
                Err(Refusal::SystemTable { table })
            );
            assert_eq!(insert(table, admin(), json!({"plan": "Scale"})), Ok(()));
        }
    }

    #[test]
    fn counters_and_health_are_the_systems() {
        assert_eq!(
            update(
                "sender_accounts",
                client(),
                json!({"daily_sent_today": 400}),
                json!({"daily_sent_today": 0})
            ),
            Err(Refusal::SystemColumn {
                column: "daily_sent_today"
            })
        );
        // Sending the value it already has changes nothing and is allowed.
        assert_eq!(
            update(
                "sender_accounts",
                client(),
                json!({"daily_sent_today": 400, "display_name": "a"}),
                json!({"daily_sent_today": 400, "display_name": "b"})
            ),
            Ok(())
        );
        assert_eq!(
            update(
                "profiles",
                client(),
                json!({"plan": "Starter"}),
                json!({"plan": "Scale"})
            ),
            Err(Refusal::AdminColumn { column: "plan" })
        );
    }

    #[test]
    fn a_default_is_not_a_choice() {
        let supplied = map(json!({"name": "x", "fire_count": 0}));
        let defaults = map(json!({"fire_count": 0}));
        assert_eq!(
            check_insert("webhooks", client(), &supplied, &supplied, &defaults),
            Ok(())
        );
        let supplied = map(json!({"name": "x", "fire_count": 7}));
        assert_eq!(
            check_insert("webhooks", client(), &supplied, &supplied, &defaults),
            Err(Refusal::SystemColumn {
                column: "fire_count"
            })
        );
    }

    #[test]
    fn states_a_user_decides_and_states_the_system_decides() {
        let cases: &[(&str, &str, &str, &str, bool)] = &[
            ("scheduled_emails", "status", "pending", "cancelled", true),
            ("scheduled_emails", "status", "pending", "sent", false),
            ("scheduled_emails", "status", "failed", "pending", false),
            ("scheduled_emails", "status", "cancelled", "pending", false),
            ("social_posts", "status", "draft", "scheduled", true),
            ("social_posts", "status", "scheduled", "draft", true),
            ("social_posts", "status", "scheduled", "completed", false),
            ("social_posts", "status", "failed", "scheduled", false),
            ("email_messages", "status", "sent", "delivered", false),
            ("import_batches", "status", "pending", "completed", false),
            ("invoices", "status", "open", "paid", false),
            ("invoices", "status", "draft", "open", true),
            ("sender_accounts", "status", "connected", "disabled", true),
            (
                "sender_accounts",
                "status",
                "needs_reauth",
                "connected",
                false,
            ),
            (
                "social_post_targets",
                "status",
                "pending",
                "published",
                false,
            ),
            ("support_sessions", "is_active", "true", "false", true),
        ];
        for (table, column, from, to, allowed) in cases {
            let table = crate::schema::table(table).map(|t| t.name).unwrap_or("");
            let value = |v: &str| match v {
                "true" => json!(true),
                "false" => json!(false),
                other => json!(other),
            };
            let mut current = Map::new();
            current.insert((*column).into(), value(from));
            let mut patch = Map::new();
            patch.insert((*column).into(), value(to));
            let verdict = check_update(table, client(), &current, &patch);
            assert_eq!(verdict.is_ok(), *allowed, "{table}.{column}: {from} → {to}");
        }
        assert!(insert("scheduled_emails", client(), json!({"status": "sent"})).is_err());
        assert!(insert("email_messages", client(), json!({"provider": "smtp"})).is_err());
        assert!(
            insert(
                "email_messages",
                client(),
                json!({"provider": "manual", "status": "sent"})
            )
            .is_ok()
        );
        assert!(
            insert(
                "teamhub_flow_templates",
                client(),
                json!({"type": "system"})
            )
            .is_err()
        );
        assert!(insert("teamhub_flow_templates", admin(), json!({"type": "system"})).is_ok());
    }

    #[test]
    fn a_support_sessions_window_is_fixed_even_for_its_admin() {
        let now = map(json!({"expires_at": "2026-12-01T12:00:00.000000Z"}));
        let later = map(json!({"expires_at": "2026-12-09T12:00:00.000000Z"}));
        assert_eq!(
            check_update("support_sessions", admin(), &now, &later),
            Err(Refusal::Fixed {
                column: "expires_at"
            })
        );
        assert_eq!(
            check_insert("support_sessions", admin(), &later, &later, &now),
            Err(Refusal::SystemColumn {
                column: "expires_at"
            })
        );
        let active = map(json!({"is_active": true}));
        let ended = map(json!({"is_active": false}));
        assert_eq!(
            check_update("support_sessions", admin(), &active, &ended),
            Ok(())
        );
        assert!(check_update("support_sessions", admin(), &ended, &active).is_err());
    }

    #[test]
    fn author_columns_name_the_caller_and_never_move() {
        assert_eq!(
            insert("teamhub_boards", client(), json!({"created_by": THEM})),
            Err(Refusal::Author {
                column: "created_by"
            })
        );
        assert_eq!(
            insert(
                "teamhub_boards",
                client(),
                json!({"created_by": ME, "workspace_id": ME})
            ),
            Ok(())
        );
        assert_eq!(
            update(
                "teamhub_boards",
                client(),
                json!({"created_by": THEM}),
                json!({"created_by": ME})
            ),
            Err(Refusal::Author {
                column: "created_by"
            })
        );
    }

    #[test]
    fn every_rule_names_a_real_column() {
        let exists = |table: &str, column: &str| {
            crate::schema::table(table).is_some_and(|t| t.column(column).is_some())
        };
        for table in SYSTEM_TABLES {
            assert!(crate::schema::table(table).is_some(), "{table}");
        }
        for (table, _, columns) in SERVER_COLUMNS {
            for column in *columns {
                assert!(exists(table, column), "{table}.{column}");
            }
        }
        for rule in STATE_RULES {
            assert!(
                exists(rule.table, rule.column),
                "{}.{}",
                rule.table,
                rule.column
            );
        }
        for (table, column) in AUTHOR_COLUMNS.iter().chain(SERVER_DEFAULTED) {
            assert!(exists(table, column), "{table}.{column}");
        }
        for (table, columns) in FIXED_COLUMNS {
            for column in *columns {
                assert!(exists(table, column), "{table}.{column}");
            }
        }
    }
}
