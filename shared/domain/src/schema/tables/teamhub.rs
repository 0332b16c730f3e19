//! Seed section 1.11 Team Hub (Kanban).

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static TEAMHUB_BOARDS: Table = Table {
    name: "teamhub_boards",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("workspace_id", Uuid),
        Column::new("name", Text)
            .not_null()
            .default(DefaultValue::Text("Untitled Board")),
        Column::new("created_by", Uuid).not_null(),
        Column::new("template_id", Uuid),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_teamhub_boards_created_by",
            parts: &[KeyPart::Column("created_by")],
            filter: None,
        },
        IndexDef {
            name: "idx_teamhub_boards_workspace",
            parts: &[KeyPart::Column("workspace_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "created_by",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "template_id",
            table: "teamhub_flow_templates",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(&[Op::Insert], Who::Owner("created_by")),
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Board,
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            &[Op::Update],
            Who::Flow {
                via: FlowPath::Board,
                min: FlowRole::Admin,
            },
        ),
        Rule::new(
            &[Op::Delete],
            Who::Flow {
                via: FlowPath::Board,
                min: FlowRole::Owner,
            },
        ),
    ],
    documented: true,
};

pub static TEAMHUB_LISTS: Table = Table {
    name: "teamhub_lists",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("board_id", Uuid).not_null(),
        Column::new("name", Text)
            .not_null()
            .default(DefaultValue::Text("Untitled List")),
        Column::new("position", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_teamhub_lists_board",
        parts: &[KeyPart::Column("board_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "board_id",
        table: "teamhub_boards",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Column("board_id"),
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            WRITE,
            Who::Flow {
                via: FlowPath::Column("board_id"),
                min: FlowRole::Admin,
            },
        ),
    ],
    documented: true,
};

pub static TEAMHUB_CARDS: Table = Table {
    name: "teamhub_cards",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("board_id", Uuid).not_null(),
        Column::new("list_id", Uuid).not_null(),
        Column::new("title", Text).not_null(),
        Column::new("description", Text),
        Column::new("position", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("due_date", Date),
        Column::new("priority", Text).one_of(&["low", "medium", "high"]),
        Column::new("labels", Jsonb).default(DefaultValue::Json("[]")),
        Column::new("is_archived", Boolean)
            .not_null()
            .default(DefaultValue::Bool(false)),
        Column::new("created_by", Uuid).not_null(),
        Column::new("card_color", Text),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_teamhub_cards_list",
            parts: &[KeyPart::Column("list_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_teamhub_cards_board",
            parts: &[KeyPart::Column("board_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_teamhub_cards_archived",
            parts: &[KeyPart::Column("is_archived")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "board_id",
            table: "teamhub_boards",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "list_id",
            table: "teamhub_lists",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "created_by",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Column("board_id"),
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            WRITE,
            Who::Flow {
                via: FlowPath::Column("board_id"),
                min: FlowRole::Member,
            },
        ),
    ],
    documented: true,
};

pub static TEAMHUB_COMMENTS: Table = Table {
    name: "teamhub_comments",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("card_id", Uuid).not_null(),
        Column::new("user_id", Uuid).not_null(),
        Column::new("content", Text).not_null(),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_teamhub_comments_card",
        parts: &[KeyPart::Column("card_id"), KeyPart::Column("created_at")],
        filter: None,
    }],
    foreign_keys: &[
        ForeignKey {
            column: "card_id",
            table: "teamhub_cards",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Card("card_id"),
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            &[Op::Insert],
            Who::Flow {
                via: FlowPath::Card("card_id"),
                min: FlowRole::Member,
            },
        ),
        Rule::new(&[Op::Update, Op::Delete], Who::Owner("user_id")),
    ],
    documented: false,
};

pub static TEAMHUB_ACTIVITY: Table = Table {
    name: "teamhub_activity",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("card_id", Uuid).not_null(),
        Column::new("user_id", Uuid),
        Column::new("action", Text).not_null(),
        Column::new("details", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_teamhub_activity_card",
        parts: &[KeyPart::Column("card_id"), KeyPart::Desc("created_at")],
        filter: None,
    }],
    foreign_keys: &[
        ForeignKey {
            column: "card_id",
            table: "teamhub_cards",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Card("card_id"),
                min: FlowRole::Viewer,
            },
        ),
        // Written by the server with the change it records (schema::writes::SYSTEM_TABLES).
    ],
    documented: false,
};

pub static TEAMHUB_CARD_MEMBERS: Table = Table {
    name: "teamhub_card_members",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("card_id", Uuid).not_null(),
        Column::new("user_id", Uuid).not_null(),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "teamhub_card_members_card_id_user_id_key",
        parts: &[KeyPart::Column("card_id"), KeyPart::Column("user_id")],
        filter: None,
    }],
    indexes: &[
        IndexDef {
            name: "idx_teamhub_card_members_card",
            parts: &[KeyPart::Column("card_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_teamhub_card_members_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "card_id",
            table: "teamhub_cards",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Card("card_id"),
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            &[Op::Insert, Op::Delete],
            Who::Flow {
                via: FlowPath::Card("card_id"),
                min: FlowRole::Member,
            },
        ),
    ],
    documented: false,
};

pub static TEAMHUB_FLOW_MEMBERS: Table = Table {
    name: "teamhub_flow_members",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("flow_id", Uuid).not_null(),
        Column::new("user_id", Uuid).not_null(),
        Column::new("role", Text)
            .not_null()
            .default(DefaultValue::Text("viewer"))
            .one_of(&["owner", "admin", "member", "viewer"]),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "teamhub_flow_members_flow_id_user_id_key",
        parts: &[KeyPart::Column("flow_id"), KeyPart::Column("user_id")],
        filter: None,
    }],
    indexes: &[
        IndexDef {
            name: "idx_teamhub_flow_members_flow",
            parts: &[KeyPart::Column("flow_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_teamhub_flow_members_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "flow_id",
            table: "teamhub_boards",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "user_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Column("flow_id"),
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            WRITE,
            Who::Flow {
                via: FlowPath::Column("flow_id"),
                min: FlowRole::Admin,
            },
        ),
    ],
    documented: true,
};

pub static TEAMHUB_INVITES: Table = Table {
    name: "teamhub_invites",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("flow_id", Uuid).not_null(),
        Column::new("email", Text).not_null(),
        Column::new("role", Text)
            .not_null()
            .default(DefaultValue::Text("member"))
            .one_of(&["admin", "member", "viewer"]),
        Column::new("invited_by", Uuid).not_null(),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("pending"))
            .one_of(&["pending", "accepted"]),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "teamhub_invites_flow_id_email_key",
        parts: &[KeyPart::Column("flow_id"), KeyPart::Column("email")],
        filter: None,
    }],
    indexes: &[],
    foreign_keys: &[
        ForeignKey {
            column: "flow_id",
            table: "teamhub_boards",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "invited_by",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            CRUD,
            Who::Flow {
                via: FlowPath::Column("flow_id"),
                min: FlowRole::Admin,
            },
        ),
        Rule::new(&[Op::Select, Op::Update], Who::Invitee("email")),
    ],
    documented: true,
};

pub static TEAMHUB_ITEM_LEADS: Table = Table {
    name: "teamhub_item_leads",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("item_id", Uuid).not_null(),
        Column::new("lead_id", Uuid).not_null(),
        Column::new("is_active", Boolean)
            .not_null()
            .default(DefaultValue::Bool(true)),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[
        Unique {
            name: "idx_item_leads_active_item",
            parts: &[KeyPart::Column("item_id")],
            filter: Some(Filter::IsTrue("is_active")),
        },
        Unique {
            name: "idx_item_leads_active_lead",
            parts: &[KeyPart::Column("lead_id")],
            filter: Some(Filter::IsTrue("is_active")),
        },
    ],
    indexes: &[],
    foreign_keys: &[
        ForeignKey {
            column: "item_id",
            table: "teamhub_cards",
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
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Flow {
                via: FlowPath::Card("item_id"),
                min: FlowRole::Viewer,
            },
        ),
        Rule::new(
            WRITE,
            Who::Flow {
                via: FlowPath::Card("item_id"),
                min: FlowRole::Member,
            },
        ),
    ],
    documented: true,
};

pub static TEAMHUB_FLOW_TEMPLATES: Table = Table {
    name: "teamhub_flow_templates",
    section: "1.11 Team Hub (Kanban)",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("name", Text).not_null(),
        Column::new("type", Text)
            .not_null()
            .default(DefaultValue::Text("system"))
            .one_of(&["system", "user"]),
        Column::new("structure_json", Jsonb)
            .not_null()
            .default(DefaultValue::Json("{}")),
        Column::new("created_by", Uuid),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[ForeignKey {
        column: "created_by",
        table: "profiles",
        references: "id",
        on_delete: OnDelete::SetNull,
    }],
    scope: Scope::Shared,
    policy: &[
        Rule::new(READ, Who::Public(Some(Filter::Equals("type", "system")))),
        Rule::new(CRUD, Who::Owner("created_by")),
    ],
    documented: true,
};
