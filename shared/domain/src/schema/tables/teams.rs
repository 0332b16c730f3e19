//! Seed section 1.10 Teams.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static TEAMS: Table = Table {
    name: "teams",
    section: "1.10 Teams",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("name", Text).not_null(),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_teams_owner_id",
        parts: &[KeyPart::Column("owner_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "owner_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Shared,
    policy: &[
        Rule::new(READ, Who::TeamMember("id")),
        Rule::new(CRUD, Who::Owner("owner_id")),
    ],
    documented: true,
};

pub static TEAM_MEMBERS: Table = Table {
    name: "team_members",
    section: "1.10 Teams",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("team_id", Uuid).not_null(),
        Column::new("user_id", Uuid).not_null(),
        Column::new("role", Text)
            .not_null()
            .default(DefaultValue::Text("member"))
            .one_of(&["owner", "admin", "member"]),
        Column::new("joined_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "team_members_team_id_user_id_key",
        parts: &[KeyPart::Column("team_id"), KeyPart::Column("user_id")],
        filter: None,
    }],
    indexes: &[
        IndexDef {
            name: "idx_team_members_team_id",
            parts: &[KeyPart::Column("team_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_team_members_user_id",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "team_id",
            table: "teams",
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
    policy: &[Rule::new(
        &[Op::Select, Op::Insert, Op::Delete],
        Who::TeamMember("team_id"),
    )],
    documented: true,
};

pub static TEAM_INVITES: Table = Table {
    name: "team_invites",
    section: "1.10 Teams",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("team_id", Uuid).not_null(),
        Column::new("email", Text).not_null(),
        Column::new("invited_by", Uuid).not_null(),
        Column::new("role", Text)
            .not_null()
            .default(DefaultValue::Text("member")),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("pending"))
            .one_of(&["pending", "accepted", "declined"]),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("expires_at", Timestamptz).default(DefaultValue::NowPlusSeconds(604800)),
    ],
    uniques: &[Unique {
        name: "team_invites_team_id_email_key",
        parts: &[KeyPart::Column("team_id"), KeyPart::Column("email")],
        filter: None,
    }],
    indexes: &[],
    foreign_keys: &[
        ForeignKey {
            column: "team_id",
            table: "teams",
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
        Rule::new(READ, Who::Owner("invited_by")),
        Rule::new(&[Op::Select, Op::Update], Who::Invitee("email")),
        Rule::new(&[Op::Insert], Who::TeamMember("team_id")),
    ],
    documented: true,
};
