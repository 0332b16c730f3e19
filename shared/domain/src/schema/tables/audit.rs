//! Seed section 1.15 Audit.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static AUDIT_LOGS: Table = Table {
    name: "audit_logs",
    section: "1.15 Audit",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid),
        Column::new("team_id", Uuid),
        Column::new("action", Text).not_null(),
        Column::new("details", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_audit_logs_user_id",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_audit_logs_created_at",
            parts: &[KeyPart::Desc("created_at")],
            filter: None,
        },
        IndexDef {
            name: "idx_audit_logs_user_created",
            parts: &[KeyPart::Column("user_id"), KeyPart::Desc("created_at")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
        ForeignKey {
            column: "team_id",
            table: "teams",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(SI, Who::Owner("user_id")),
        Rule::new(READ, Who::TeamMember("team_id")),
    ],
    documented: true,
};
