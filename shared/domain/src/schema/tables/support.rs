//! Seed section 1.14 Support (Super Admin).

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static SUPPORT_SESSIONS: Table = Table {
    name: "support_sessions",
    section: "1.14 Support (Super Admin)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("admin_id", Uuid).not_null(),
        Column::new("target_user_id", Uuid).not_null(),
        Column::new("reason", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("access_level", Text)
            .not_null()
            .default(DefaultValue::Text("read_only"))
            .one_of(&["read_only", "debug"]),
        Column::new("started_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("expires_at", Timestamptz)
            .not_null()
            .default(DefaultValue::NowPlusSeconds(7200)),
        Column::new("ended_at", Timestamptz),
        Column::new("is_active", Boolean)
            .not_null()
            .default(DefaultValue::Bool(true)),
        Column::new("metadata", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[
        ForeignKey {
            column: "admin_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "target_user_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[Rule::new(SIU, Who::SuperAdmin("admin_id"))],
    documented: true,
};

pub static SUPPORT_AUDIT_LOGS: Table = Table {
    name: "support_audit_logs",
    section: "1.14 Support (Super Admin)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("session_id", Uuid),
        Column::new("admin_id", Uuid).not_null(),
        Column::new("target_user_id", Uuid).not_null(),
        Column::new("action", Text).not_null(),
        Column::new("resource_type", Text),
        Column::new("resource_id", Text),
        Column::new("details", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[
        ForeignKey {
            column: "session_id",
            table: "support_sessions",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
        ForeignKey {
            column: "admin_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "target_user_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[Rule::new(READ, Who::SuperAdmin("admin_id"))],
    documented: true,
};
