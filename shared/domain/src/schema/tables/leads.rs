//! Seed section 1.2 Leads.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static LEADS: Table = Table {
    name: "leads",
    section: "1.2 Leads",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("client_id", Uuid).not_null(),
        Column::new("name", Text).not_null(),
        Column::new("email", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("first_name", Text),
        Column::new("last_name", Text),
        Column::new("company", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("title", Text),
        Column::new("score", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("New"))
            .one_of(&["New", "Contacted", "Qualified", "Converted", "Lost"]),
        Column::new("lastActivity", Text).default(DefaultValue::Text("")),
        Column::new("insights", Text).default(DefaultValue::Text("")),
        Column::new("knowledgeBase", Jsonb).default(DefaultValue::Null),
        Column::new("primary_email", Text),
        Column::new("emails", TextArray).default(DefaultValue::EmptyArray),
        Column::new("primary_phone", Text),
        Column::new("phones", TextArray).default(DefaultValue::EmptyArray),
        Column::new("linkedin_url", Text),
        Column::new("location", Text),
        Column::new("source", Text).default(DefaultValue::Text("manual")),
        Column::new("industry", Text),
        Column::new("company_size", Text),
        Column::new("import_batch_id", Uuid),
        Column::new("imported_at", Timestamptz),
        Column::new("custom_fields", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[
        Unique {
            name: "idx_leads_client_email",
            parts: &[
                KeyPart::Column("client_id"),
                KeyPart::Lower("primary_email"),
            ],
            filter: Some(Filter::IsNotNull("primary_email")),
        },
        Unique {
            name: "idx_leads_client_linkedin",
            parts: &[KeyPart::Column("client_id"), KeyPart::Lower("linkedin_url")],
            filter: Some(Filter::IsNotNull("linkedin_url")),
        },
    ],
    indexes: &[
        IndexDef {
            name: "idx_leads_client_id",
            parts: &[KeyPart::Column("client_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_leads_score",
            parts: &[KeyPart::Desc("score")],
            filter: None,
        },
        IndexDef {
            name: "idx_leads_client_created",
            parts: &[KeyPart::Column("client_id"), KeyPart::Desc("created_at")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "client_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "import_batch_id",
            table: "import_batches",
            references: "id",
            on_delete: OnDelete::NoAction,
        },
    ],
    scope: Scope::Owner("client_id"),
    policy: &[Rule::new(CRUD, Who::Owner("client_id"))],
    documented: true,
};

pub static IMPORT_BATCHES: Table = Table {
    name: "import_batches",
    section: "1.2 Leads",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("workspace_id", Uuid).not_null(),
        Column::new("file_name", Text).not_null(),
        Column::new("file_type", Text)
            .not_null()
            .default(DefaultValue::Text("csv")),
        Column::new("total_rows", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("imported_count", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("updated_count", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("skipped_count", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("skipped_rows", Jsonb).default(DefaultValue::Json("[]")),
        Column::new("column_mapping", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("options", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("pending")),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("completed_at", Timestamptz),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[ForeignKey {
        column: "workspace_id",
        table: "profiles",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("workspace_id"),
    policy: &[Rule::new(CRUD, Who::Owner("workspace_id"))],
    documented: true,
};

pub static LEAD_STAGE_COLORS: Table = Table {
    name: "lead_stage_colors",
    section: "1.2 Leads",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("stage", Text).not_null(),
        Column::new("color_token", Text).not_null(),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "lead_stage_colors_owner_id_stage_key",
        parts: &[KeyPart::Column("owner_id"), KeyPart::Column("stage")],
        filter: None,
    }],
    indexes: &[IndexDef {
        name: "idx_lead_stage_colors_owner",
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

pub static LEAD_COLOR_OVERRIDES: Table = Table {
    name: "lead_color_overrides",
    section: "1.2 Leads",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("lead_id", Uuid).not_null(),
        Column::new("color_token", Text).not_null(),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "lead_color_overrides_owner_id_lead_id_key",
        parts: &[KeyPart::Column("owner_id"), KeyPart::Column("lead_id")],
        filter: None,
    }],
    indexes: &[
        IndexDef {
            name: "idx_lead_color_overrides_owner",
            parts: &[KeyPart::Column("owner_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_lead_color_overrides_lead",
            parts: &[KeyPart::Column("lead_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "owner_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "lead_id",
            table: "leads",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(CRUD, Who::Owner("owner_id"))],
    documented: true,
};
