//! Seed section 1.7 Social Media.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static SOCIAL_ACCOUNTS: Table = Table {
    name: "social_accounts",
    section: "1.7 Social Media",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("provider", Text)
            .not_null()
            .one_of(&["meta", "linkedin"]),
        Column::new("meta_page_id", Text),
        Column::new("meta_page_name", Text),
        Column::new("meta_page_access_token_encrypted", Text),
        Column::new("meta_ig_user_id", Text),
        Column::new("meta_ig_username", Text),
        Column::new("linkedin_member_urn", Text),
        Column::new("linkedin_org_urn", Text),
        Column::new("linkedin_org_name", Text),
        Column::new("linkedin_access_token_encrypted", Text),
        Column::new("token_expires_at", Timestamptz),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_social_accounts_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_social_accounts_provider",
            parts: &[KeyPart::Column("user_id"), KeyPart::Column("provider")],
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

pub static SOCIAL_POSTS: Table = Table {
    name: "social_posts",
    section: "1.7 Social Media",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("content_text", Text).not_null(),
        Column::new("link_url", Text),
        Column::new("media_paths", Jsonb),
        Column::new("scheduled_at", Timestamptz),
        Column::new("timezone", Text).default(DefaultValue::Text("Asia/Karachi")),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("draft"))
            .one_of(&["draft", "scheduled", "processing", "completed", "failed"]),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_social_posts_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_social_posts_status",
            parts: &[KeyPart::Column("status")],
            filter: None,
        },
        IndexDef {
            name: "idx_social_posts_scheduled",
            parts: &[KeyPart::Column("status"), KeyPart::Column("scheduled_at")],
            filter: Some(Filter::Equals("status", "scheduled")),
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

pub static SOCIAL_POST_TARGETS: Table = Table {
    name: "social_post_targets",
    section: "1.7 Social Media",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("post_id", Uuid).not_null(),
        Column::new("user_id", Uuid).not_null(),
        Column::new("channel", Text).not_null().one_of(&[
            "facebook_page",
            "instagram",
            "linkedin_member",
            "linkedin_org",
        ]),
        Column::new("target_id", Text).not_null(),
        Column::new("target_label", Text),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("pending"))
            .one_of(&["pending", "scheduled", "processing", "published", "failed"]),
        Column::new("remote_post_id", Text),
        Column::new("error_code", Text),
        Column::new("error_message", Text),
        Column::new("published_at", Timestamptz),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_social_post_targets_post",
            parts: &[KeyPart::Column("post_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_social_post_targets_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_social_post_targets_status",
            parts: &[KeyPart::Column("status")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "post_id",
            table: "social_posts",
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
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(CRUD, Who::Owner("user_id"))],
    documented: true,
};

pub static SOCIAL_POST_EVENTS: Table = Table {
    name: "social_post_events",
    section: "1.7 Social Media",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("post_id", Uuid).not_null(),
        Column::new("target_id", Uuid),
        Column::new("event_type", Text).not_null().one_of(&[
            "scheduled",
            "started",
            "published",
            "failed",
            "retry",
        ]),
        Column::new("payload", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_social_post_events_post",
            parts: &[KeyPart::Column("post_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_social_post_events_user",
            parts: &[KeyPart::Column("user_id")],
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
            column: "post_id",
            table: "social_posts",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "target_id",
            table: "social_post_targets",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(READ, Who::Owner("user_id"))],
    documented: true,
};

pub static TRACKING_LINKS: Table = Table {
    name: "tracking_links",
    section: "1.7 Social Media",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("user_id", Uuid).not_null(),
        Column::new("post_id", Uuid),
        Column::new("slug", Text).not_null().unique(),
        Column::new("destination_url", Text).not_null(),
        Column::new("channel", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "tracking_links_slug_key",
        parts: &[KeyPart::Column("slug")],
        filter: None,
    }],
    indexes: &[
        IndexDef {
            name: "idx_tracking_links_slug",
            parts: &[KeyPart::Column("slug")],
            filter: None,
        },
        IndexDef {
            name: "idx_tracking_links_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_tracking_links_post",
            parts: &[KeyPart::Column("post_id")],
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
            column: "post_id",
            table: "social_posts",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(CRUD, Who::Owner("user_id"))],
    documented: true,
};

pub static TRACKING_EVENTS: Table = Table {
    name: "tracking_events",
    section: "1.7 Social Media",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("link_id", Uuid).not_null(),
        Column::new("user_id", Uuid).not_null(),
        Column::new("referrer", Text),
        Column::new("user_agent", Text),
        Column::new("ip_hash", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_tracking_events_link",
            parts: &[KeyPart::Column("link_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_tracking_events_user",
            parts: &[KeyPart::Column("user_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "link_id",
            table: "tracking_links",
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
    scope: Scope::Owner("user_id"),
    policy: &[Rule::new(READ, Who::Owner("user_id"))],
    documented: true,
};
