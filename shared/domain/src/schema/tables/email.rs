//! Seed section 1.3 Email Sending & Tracking.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static SENDER_ACCOUNTS: Table = Table {
    name: "sender_accounts",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("workspace_id", Uuid).not_null(),
        Column::new("provider", Text).not_null().one_of(&[
            "gmail",
            "smtp",
            "sendgrid",
            "mailchimp",
        ]),
        Column::new("display_name", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("from_email", Text).not_null(),
        Column::new("from_name", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("connected"))
            .one_of(&["connected", "needs_reauth", "disabled"]),
        Column::new("is_default", Boolean)
            .not_null()
            .default(DefaultValue::Bool(false)),
        Column::new("use_for_outreach", Boolean)
            .not_null()
            .default(DefaultValue::Bool(true)),
        Column::new("metadata", Jsonb)
            .not_null()
            .default(DefaultValue::Json("{}")),
        Column::new("daily_sent_today", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("daily_sent_date", Date)
            .not_null()
            .default(DefaultValue::CurrentDate),
        Column::new("warmup_enabled", Boolean)
            .not_null()
            .default(DefaultValue::Bool(false)),
        Column::new("warmup_daily_sent", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("last_health_check_at", Timestamptz),
        Column::new("health_score", Int)
            .default(DefaultValue::Int(100))
            .range(0, 100),
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
            name: "idx_sender_accounts_workspace",
            parts: &[KeyPart::Column("workspace_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_sender_accounts_lookup",
            parts: &[
                KeyPart::Column("workspace_id"),
                KeyPart::Column("status"),
                KeyPart::Column("use_for_outreach"),
            ],
            filter: None,
        },
        IndexDef {
            name: "idx_sender_accounts_default",
            parts: &[KeyPart::Column("workspace_id")],
            filter: Some(Filter::IsTrue("is_default")),
        },
    ],
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

pub static SENDER_ACCOUNT_SECRETS: Table = Table {
    name: "sender_account_secrets",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("sender_account_id", Uuid).not_null().unique(),
        Column::new("oauth_access_token", Text),
        Column::new("oauth_refresh_token", Text),
        Column::new("oauth_expires_at", Timestamptz),
        Column::new("smtp_host", Text),
        Column::new("smtp_port", Int).default(DefaultValue::Int(587)),
        Column::new("smtp_user", Text),
        Column::new("smtp_pass", Text),
        Column::new("api_key", Text),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[Unique {
        name: "sender_account_secrets_sender_account_id_key",
        parts: &[KeyPart::Column("sender_account_id")],
        filter: None,
    }],
    indexes: &[],
    foreign_keys: &[ForeignKey {
        column: "sender_account_id",
        table: "sender_accounts",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::OwnerOf("sender_account_id"),
    policy: &[],
    documented: true,
};

pub static EMAIL_MESSAGES: Table = Table {
    name: "email_messages",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("lead_id", Uuid).not_null(),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("provider", Text).not_null().one_of(&[
            "sendgrid",
            "mailchimp",
            "gmail",
            "smtp",
            "manual",
        ]),
        Column::new("provider_message_id", Text),
        Column::new("subject", Text),
        Column::new("to_email", Text).not_null(),
        Column::new("from_email", Text),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("sent"))
            .one_of(&["sent", "delivered", "bounced", "failed"]),
        Column::new("track_opens", Boolean)
            .not_null()
            .default(DefaultValue::Bool(true)),
        Column::new("track_clicks", Boolean)
            .not_null()
            .default(DefaultValue::Bool(true)),
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
            name: "idx_email_messages_owner",
            parts: &[KeyPart::Column("owner_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_email_messages_lead",
            parts: &[KeyPart::Column("lead_id")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "lead_id",
            table: "leads",
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
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(SIU, Who::Owner("owner_id"))],
    documented: true,
};

pub static EMAIL_LINKS: Table = Table {
    name: "email_links",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("message_id", Uuid).not_null(),
        Column::new("destination_url", Text).not_null(),
        Column::new("link_label", Text),
        Column::new("link_index", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("click_count", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_email_links_message",
        parts: &[KeyPart::Column("message_id")],
        filter: None,
    }],
    foreign_keys: &[ForeignKey {
        column: "message_id",
        table: "email_messages",
        references: "id",
        on_delete: OnDelete::Cascade,
    }],
    scope: Scope::OwnerOf("message_id"),
    policy: &[Rule::new(READ, Who::Parent("message_id"))],
    documented: true,
};

pub static EMAIL_EVENTS: Table = Table {
    name: "email_events",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("message_id", Uuid).not_null(),
        Column::new("link_id", Uuid),
        Column::new("event_type", Text).not_null().one_of(&[
            "open",
            "click",
            "delivered",
            "bounced",
            "unsubscribe",
            "spam_report",
        ]),
        Column::new("ip_address", Text),
        Column::new("user_agent", Text),
        Column::new("is_bot", Boolean).default(DefaultValue::Bool(false)),
        Column::new("is_apple_privacy", Boolean).default(DefaultValue::Bool(false)),
        Column::new("metadata", Jsonb).default(DefaultValue::Json("{}")),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[
        IndexDef {
            name: "idx_email_events_message",
            parts: &[KeyPart::Column("message_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_email_events_type",
            parts: &[KeyPart::Column("event_type")],
            filter: None,
        },
    ],
    foreign_keys: &[
        ForeignKey {
            column: "message_id",
            table: "email_messages",
            references: "id",
            on_delete: OnDelete::Cascade,
        },
        ForeignKey {
            column: "link_id",
            table: "email_links",
            references: "id",
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::OwnerOf("message_id"),
    policy: &[Rule::new(READ, Who::Parent("message_id"))],
    documented: true,
};

pub static EMAIL_PROVIDER_CONFIGS: Table = Table {
    name: "email_provider_configs",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("owner_id", Uuid),
        Column::new("provider", Text),
        Column::new("is_active", Boolean),
        Column::new("from_email", Text),
        Column::new("api_key", Text),
        Column::new("smtp_host", Text),
    ],
    uniques: &[],
    indexes: &[],
    foreign_keys: &[ForeignKey {
        column: "owner_id",
        table: "auth.users",
        references: "id",
        on_delete: OnDelete::NoAction,
    }],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(CRUD, Who::Owner("owner_id"))],
    documented: true,
};

pub static EMAIL_TEMPLATES: Table = Table {
    name: "email_templates",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid),
        Column::new("name", Text).not_null(),
        Column::new("category", Text).not_null().one_of(&[
            "welcome",
            "follow_up",
            "case_study",
            "demo_invite",
            "nurture",
            "custom",
        ]),
        Column::new("subject_template", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("body_template", Text)
            .not_null()
            .default(DefaultValue::Text("")),
        Column::new("is_default", Boolean)
            .not_null()
            .default(DefaultValue::Bool(false)),
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
            name: "idx_email_templates_owner",
            parts: &[KeyPart::Column("owner_id")],
            filter: None,
        },
        IndexDef {
            name: "idx_email_templates_category",
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

pub static SCHEDULED_EMAILS: Table = Table {
    name: "scheduled_emails",
    section: "1.3 Email Sending & Tracking",
    columns: &[
        Column::new("id", Uuid)
            .pk()
            .default(DefaultValue::RandomUuid),
        Column::new("owner_id", Uuid).not_null(),
        Column::new("lead_id", Uuid),
        Column::new("to_email", Text).not_null(),
        Column::new("subject", Text).not_null(),
        Column::new("html_body", Text).not_null(),
        Column::new("scheduled_at", Timestamptz).not_null(),
        Column::new("status", Text)
            .not_null()
            .default(DefaultValue::Text("pending"))
            .one_of(&["pending", "processing", "sent", "failed", "cancelled"]),
        Column::new("block_index", Int)
            .not_null()
            .default(DefaultValue::Int(0)),
        Column::new("sequence_id", Text),
        Column::new("error_message", Text),
        Column::new("sent_at", Timestamptz),
        Column::new("created_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
        Column::new("updated_at", Timestamptz)
            .not_null()
            .default(DefaultValue::Now),
    ],
    uniques: &[],
    indexes: &[IndexDef {
        name: "idx_scheduled_emails_status_scheduled",
        parts: &[KeyPart::Column("status"), KeyPart::Column("scheduled_at")],
        filter: Some(Filter::Equals("status", "pending")),
    }],
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
            on_delete: OnDelete::SetNull,
        },
    ],
    scope: Scope::Owner("owner_id"),
    policy: &[Rule::new(SIU, Who::Owner("owner_id"))],
    documented: true,
};
