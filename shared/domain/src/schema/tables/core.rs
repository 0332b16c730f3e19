//! Seed section 1.1 Core.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static PROFILES: Table = Table {
    name: "profiles",
    section: "1.1 Core",
    columns: &[
        Column::new("id", Uuid).pk(),
        Column::new("email", Text).not_null().unique(),
        Column::new("name", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("role", Text)
            .not_null()
            .default(DefaultValue::Text("CLIENT"))
            .one_of(&["ADMIN", "CLIENT", "GUEST"]),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("active"))
            .one_of(&["active", "disabled"]),
        Column::new("plan", Text).default(DefaultValue::Text("Starter")),
        Column::new("credits_total", Int).default(DefaultValue::Int(100)),
        Column::new("credits_used", Int).default(DefaultValue::Int(0)),
        Column::new("businessProfile", Jsonb),
        Column::new("is_super_admin", Boolean).default(DefaultValue::Bool(false)),
        Column::new("ui_preferences", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("createdAt", Timestamptz).default(DefaultValue::Now),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "profiles_email_key",
        parts: &[KeyPart::Column("email")],
        filter: None,
    }],
    indexes: &[],
    foreign_keys: &[ForeignKey {
        column: "id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("id"),
    policy: &[Rule::new(SIU, Who::Owner("id"))],
    documented: true,
};

pub static SUBSCRIPTIONS: Table = Table {
    name: "subscriptions",
    section: "1.1 Core",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null().unique(),
        Column::new("plan_name", Text).default(DefaultValue::Text("Starter")),
        Column::new("plan", Text).default(DefaultValue::Text("Starter")),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("active"))
            .one_of(&["active", "past_due", "canceled"]),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("expires_at", Timestamptz),
    ],
    uniques: &[Unique {
        name: "subscriptions_user_id_key",
        parts: &[KeyPart::Column("user_id")],
        filter: None,
    }],
    indexes: &[IndexDef {
        name: "idx_subscriptions_user_id",
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
    policy: &[Rule::new(SIU, Who::Owner("user_id"))],
    documented: true,
};

pub static PLANS: Table = Table {
    name: "plans",
    section: "1.1 Core",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("name", Text).not_null(),
        Column::new("price", Text)
            .not_null()
            .default(DefaultValue::Text("$0")),
        Column::new("credits", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("description", Text),
        Column::new("features", TextArray).default(DefaultValue::EmptyArray),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[],
    scope: Scope::Shared,
    policy: &[
        Rule::new(READ, Who::Public(None)),
        Rule::new(WRITE, Who::Admin),
    ],
    documented: true,
};

pub static CONFIG_SETTINGS: Table = Table {
    name: "config_settings",
    section: "1.1 Core",
    columns: &[
        Column::new("key", Text).pk(),
        Column::new("value", Text),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[],
    scope: Scope::Shared,
    policy: &[Rule::new(CRUD, Who::Admin)],
    documented: true,
};
