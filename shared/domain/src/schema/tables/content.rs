//! Seed section 1.8 Blog & Content.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static BLOG_CATEGORIES: Table = Table {
    name: "blog_categories",
    section: "1.8 Blog & Content",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("name", Text).not_null().unique(),
        Column::new("slug", Text).not_null().unique(),
        Column::new("description", Text),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[
        Unique {
            name: "blog_categories_name_key",
            parts: &[KeyPart::Column("name")],
            filter: None,
        },
        Unique {
            name: "blog_categories_slug_key",
            parts: &[KeyPart::Column("slug")],
            filter: None,
        },
    ],
    indexes: &[],
    foreign_keys: &[],
    scope: Scope::Shared,
    policy: &[
        Rule::new(READ, Who::Public(None)),
        Rule::new(WRITE, Who::Admin),
    ],
    documented: true,
};

pub static BLOG_POSTS: Table = Table {
    name: "blog_posts",
    section: "1.8 Blog & Content",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("author_id", Uuid),
        Column::new("category_id", Uuid),
        Column::new("contributor_id", Uuid),
        Column::new("title", Text).not_null(),
        Column::new("slug", Text).not_null().unique(),
        Column::new("content", Text).default(DefaultValue::Text("")),
        Column::new("excerpt", Text),
        Column::new("featured_image", Text),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("draft"))
            .one_of(&["draft", "pending_review", "published", "archived"]),
        Column::new("visibility", Text).default(DefaultValue::Text("public")),
        Column::new("seo_settings", Jsonb),
        Column::new("ai_metadata", Jsonb),
        Column::new("published_at", Timestamptz),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "blog_posts_slug_key",
        parts: &[KeyPart::Column("slug")],
        filter: None,
    }],
    indexes: &[
        IndexDef {
            name: "idx_blog_posts_slug",
            parts: &[KeyPart::Column("slug")],
            filter: None,
        },
        IndexDef {
            name: "idx_blog_posts_status",
            parts: &[KeyPart::Column("status")],
            filter: None,
        },
        IndexDef {
            name: "idx_blog_posts_author_created",
            parts: &[KeyPart::Column("author_id"), KeyPart::Desc("created_at")],
            filter: None,
        },
        IndexDef {
            name: "idx_blog_posts_contributor",
            parts: &[KeyPart::Column("contributor_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "author_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
        ForeignKey {
            column: "category_id",
            table: "blog_categories",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
        ForeignKey {
            column: "contributor_id",
            table: "guest_contributors",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Shared,
    policy: &[
        Rule::new(
            READ,
            Who::Public(Some(Filter::Equals("status", "published"))),
        ),
        Rule::new(CRUD, Who::Owner("author_id")),
    ],
    documented: true,
};

pub static AI_PROMPTS: Table = Table {
    name: "ai_prompts",
    section: "1.8 Blog & Content",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("name", Text).not_null(),
        Column::new("template", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("version", Int)
            .not_null()
            .default(DefaultValue::Int(1)),
        Column::new("is_active", Boolean).default(DefaultValue::Bool(true)),
        Column::new("created_at", Timestamptz).default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[],
    scope: Scope::Shared,
    policy: &[
        Rule::new(READ, Who::Authenticated(Some(Filter::IsTrue("is_active")))),
        Rule::new(CRUD, Who::Admin),
    ],
    documented: true,
};

pub static USER_PROMPTS: Table = Table {
    name: "user_prompts",
    section: "1.8 Blog & Content",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid),
        Column::new("prompt_key", Text).not_null(),
        Column::new("category", Text).not_null().one_of(&[
            "sales_outreach",
            "analytics",
            "email",
            "content",
            "lead_research",
            "blog",
            "social",
            "automation",
            "strategy",
        ]),
        Column::new("display_name", Text).not_null(),
        Column::new("description", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("system_instruction", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("prompt_template", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("temperature", Real)
            .not_null()
            .default(DefaultValue::Real(0.7)),
        Column::new("top_p", Real)
            .not_null()
            .default(DefaultValue::Real(0.9)),
        Column::new("version", Int)
            .not_null()
            .default(DefaultValue::Int(1)),
        Column::new("is_active", Boolean)
            .not_null()
            .default(DefaultValue::Bool(true)),
        Column::new("is_default", Boolean)
            .not_null()
            .default(DefaultValue::Bool(false)),
        Column::new("last_tested_at", Timestamptz),
        Column::new("test_result", Text),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "idx_user_prompts_active_unique",
        parts: &[KeyPart::Column("owner_id"), KeyPart::Column("prompt_key")],
        filter: Some(Filter::IsTrue("is_active")),
    }],
    indexes: &[
        IndexDef {
            name: "idx_user_prompts_owner",
            parts: &[KeyPart::Column("owner_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_user_prompts_key",
            parts: &[KeyPart::Column("prompt_key")],
            filter: None,
        },
        IndexDef {
            name: "idx_user_prompts_category",
            parts: &[KeyPart::Column("category")],
            filter: None,
        },
    ],
    foreign_keys: &[ForeignKey {
        column: "owner_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::Owner("owner_id"),
    policy: &[
        Rule::new(READ, Who::Public(Some(Filter::IsTrue("is_default")))),
        Rule::new(CRUD, Who::Owner("owner_id")),
    ],
    documented: true,
};

pub static USER_PROMPT_VERSIONS: Table = Table {
    name: "user_prompt_versions",
    section: "1.8 Blog & Content",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("prompt_id", Uuid).not_null(),
        Column::new("owner_id", Uuid),
        Column::new("version", Int).not_null(),
        Column::new("system_instruction", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("prompt_template", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("temperature", Real)
            .not_null()
            .default(DefaultValue::Real(0.7)),
        Column::new("top_p", Real)
            .not_null()
            .default(DefaultValue::Real(0.9)),
        Column::new("change_note", Text),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_user_prompt_versions_prompt",
        parts: &[KeyPart::Column("prompt_id")],
        filter: None,
    }],
    foreign_keys: &[
        ForeignKey {
            column: "prompt_id",
            table: "user_prompts",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "owner_id",
            table: "auth.users",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
    ],
    scope: Scope::OwnerOf("prompt_id"),
    policy: &[Rule::new(SI, Who::Owner("owner_id"))],
    documented: true,
};
