//! Seed section 1.5 Usage & Quota Tracking.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static WORKSPACE_AI_USAGE: Table = Table {
    name: "workspace_ai_usage",
    section: "1.5 Usage & Quota Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("workspace_id", Uuid).not_null(),
        Column::new("month_year", Text).not_null(),
        Column::new("credits_used", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("tokens_used", BigInt)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("credits_limit", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "workspace_ai_usage_workspace_id_month_year_key",
        parts: &[
            KeyPart::Column("workspace_id"),
            KeyPart::Column("month_year"),
        ],
        filter: None,
    }],
    indexes: &[IndexDef {
        name: "idx_workspace_ai_usage_lookup",
        parts: &[
            KeyPart::Column("workspace_id"),
            KeyPart::Column("month_year"),
        ],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "workspace_id",
        table: "profiles",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("workspace_id"),
    policy: &[Rule::new(SIU, Who::Owner("workspace_id"))],
    documented: true,
};

pub static WORKSPACE_USAGE_COUNTERS: Table = Table {
    name: "workspace_usage_counters",
    section: "1.5 Usage & Quota Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("workspace_id", Uuid).not_null(),
        Column::new("date_key", Date).not_null(),
        Column::new("month_key", Text).not_null(),
        Column::new("emails_sent", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("linkedin_actions", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("ai_credits_used", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("warmup_emails_sent", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "workspace_usage_counters_workspace_id_date_key_key",
        parts: &[KeyPart::Column("workspace_id"), KeyPart::Column("date_key")],
        filter: None,
    }],
    indexes: &[IndexDef {
        name: "idx_workspace_usage_workspace_month",
        parts: &[
            KeyPart::Column("workspace_id"),
            KeyPart::Column("month_key"),
        ],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "workspace_id",
        table: "profiles",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("workspace_id"),
    policy: &[Rule::new(SIU, Who::Owner("workspace_id"))],
    documented: true,
};

pub static OUTBOUND_USAGE: Table = Table {
    name: "outbound_usage",
    section: "1.5 Usage & Quota Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("workspace_id", Uuid).not_null(),
        Column::new("inbox_id", Text),
        Column::new("channel", Text)
            .not_null()
            .one_of(&["email", "linkedin"]),
        Column::new("period_type", Text)
            .not_null()
            .one_of(&["daily", "monthly"]),
        Column::new("period_key", Text).not_null(),
        Column::new("count", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "outbound_usage_workspace_id_inbox_id_channel_period_type_period_key_key",
        parts: &[
            KeyPart::Column("workspace_id"),
            KeyPart::Column("inbox_id"),
            KeyPart::Column("channel"),
            KeyPart::Column("period_type"),
            KeyPart::Column("period_key"),
        ],
        filter: None,
    }],
    indexes: &[],
    foreign_keys: &[ForeignKey {
        column: "workspace_id",
        table: "profiles",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("workspace_id"),
    policy: &[Rule::new(SIU, Who::Owner("workspace_id"))],
    documented: true,
};

pub static AI_USAGE_LOGS: Table = Table {
    name: "ai_usage_logs",
    section: "1.5 Usage & Quota Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("tokens_used", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_ai_usage_logs_user_id",
        parts: &[KeyPart::Column("user_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "user_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(SI, Who::Owner("user_id"))],
    documented: true,
};
