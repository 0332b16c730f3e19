//! Seed section 1.9 Guest Posting.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static GUEST_POST_OUTREACH: Table = Table {
    name: "guest_post_outreach",
    section: "1.9 Guest Posting",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("blog_name", Text).not_null(),
        Column::new("blog_url", Text),
        Column::new("contact_name", Text),
        Column::new("contact_email", Text),
        Column::new("domain_authority", Int).range(0, 100),
        Column::new("monthly_traffic", Text),
        Column::new("status", Text)
            .default(DefaultValue::Text("researching"))
            .one_of(&[
                "researching",
                "pitched",
                "accepted",
                "writing",
                "published",
                "rejected",
            ]),
        Column::new("pitch_subject", Text),
        Column::new("pitch_body", Text),
        Column::new("notes", Text),
        Column::new("target_publish_date", Date),
        Column::new("published_url", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_guest_post_outreach_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_guest_post_outreach_status",
            parts: &[KeyPart::Column("user_id"), KeyPart::Column("status")],
            filter: None,
        },
    ],
    foreign_keys: &[ForeignKey {
        column: "user_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(CRUD, Who::Owner("user_id"))],
    documented: true,
};

pub static GUEST_CONTRIBUTORS: Table = Table {
    name: "guest_contributors",
    section: "1.9 Guest Posting",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("name", Text).not_null(),
        Column::new("email", Text).not_null(),
        Column::new("bio", Text),
        Column::new("website", Text),
        Column::new("status", Text)
            .default(DefaultValue::Text("invited"))
            .one_of(&["invited", "active", "inactive"]),
        Column::new("posts_submitted", Int).default(DefaultValue::Int(0)),
        Column::new("posts_published", Int).default(DefaultValue::Int(0)),
        Column::new("invited_at", Timestamptz).default(DefaultValue::Now),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_guest_contributors_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_guest_contributors_status",
            parts: &[KeyPart::Column("user_id"), KeyPart::Column("status")],
            filter: None,
        },
    ],
    foreign_keys: &[ForeignKey {
        column: "user_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(CRUD, Who::Owner("user_id"))],
    documented: true,
};
