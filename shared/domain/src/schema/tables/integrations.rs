//! Seed section 1.12 Integrations & Webhooks.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static INTEGRATIONS: Table = Table {
    name: "integrations",
    section: "1.12 Integrations & Webhooks",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("provider", Text).not_null(),
        Column::new("category", Text).not_null(),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("disconnected"))
            .one_of(&["connected", "disconnected", "error"]),
        Column::new("credentials", Jsonb)
            .not_null()
            .default(DefaultValue::Json("{}")),
        Column::new("metadata", Jsonb)
            .not_null()
            .default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "integrations_owner_id_provider_key",
        parts: &[KeyPart::Column("owner_id"), KeyPart::Column("provider")],
        filter: None,
    }],
    indexes: &[IndexDef {
        name: "idx_integrations_owner",
        parts: &[KeyPart::Column("owner_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "owner_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(CRUD, Who::Owner("owner_id"))],
    documented: true,
};

pub static WEBHOOKS: Table = Table {
    name: "webhooks",
    section: "1.12 Integrations & Webhooks",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("name", Text).not_null(),
        Column::new("url", Text).not_null(),
        Column::new("trigger_event", Text).not_null(),
        Column::new("is_active", Boolean).default(DefaultValue::Bool(true)),
        Column::new("secret", Text),
        Column::new("last_fired", Timestamptz),
        Column::new("success_rate", Real).default(DefaultValue::Real(100.0)),
        Column::new("fire_count", Int).default(DefaultValue::Int(0)),
        Column::new("fail_count", Int).default(DefaultValue::Int(0)),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_webhooks_owner",
        parts: &[KeyPart::Column("owner_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "owner_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(CRUD, Who::Owner("owner_id"))],
    documented: true,
};
