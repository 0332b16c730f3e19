//! Seed section 1.13 Strategy Hub.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static STRATEGY_TASKS: Table = Table {
    name: "strategy_tasks",
    section: "1.13 Strategy Hub",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("title", Text).not_null(),
        Column::new("priority", Text)
            .not_null()
            .default(DefaultValue::Text("normal"))
            .one_of(&["urgent", "high", "normal", "low"]),
        Column::new("deadline", Date),
        Column::new("completed", Boolean)
            .not_null()
            .default(DefaultValue::Bool(false)),
        Column::new("lead_id", Uuid),
        Column::new("assigned_to", Uuid),
        Column::new("team_id", Uuid),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("todo"))
            .one_of(&["todo", "in_progress", "done"]),
        Column::new("card_color", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_strategy_tasks_user_id",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_strategy_tasks_status",
            parts: &[KeyPart::Column("status")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "assigned_to",
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
        Rule::new(CRUD, Who::Owner("user_id")),
        Rule::new(&[Op::Select, Op::Update], Who::TeamMember("team_id")),
    ],
    documented: true,
};

pub static STRATEGY_NOTES: Table = Table {
    name: "strategy_notes",
    section: "1.13 Strategy Hub",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("content", Text).not_null(),
        Column::new("lead_name", Text),
        Column::new("team_id", Uuid),
        Column::new("author_name", Text),
        Column::new("card_color", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_strategy_notes_user_id",
        parts: &[KeyPart::Column("user_id")],
        filter: None,
    }],
    foreign_keys: &[
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
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
        Rule::new(CRUD, Who::Owner("user_id")),
        Rule::new(SI, Who::TeamMember("team_id")),
    ],
    documented: true,
};
