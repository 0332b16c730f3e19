//! Every table of the seed, declared once. `docs/schema.md` is checked against this file by
//! `schema_matches_the_seed_document`; the three Team Hub supporting tables the seed only
//! describes in prose are designed here (`documented: false`).

use super::ColumnType::*;
use super::*;

pub static TABLES: &[Table] = &[
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
        name: "workflows",
        section: "1.4 Automation",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("user_id", Uuid).not_null(),
            Column::new("team_id", Uuid),
            Column::new("name", Text)
                .not_null()
                .default(DefaultValue::Text("Untitled Workflow")),
            Column::new("description", Text).default(DefaultValue::Text("")),
            Column::new("status", Text)
                .not_null()
                .default(DefaultValue::Text("draft"))
                .one_of(&["active", "paused", "draft"]),
            Column::new("nodes", Jsonb)
                .not_null()
                .default(DefaultValue::Json("[]")),
            Column::new("stats", Jsonb)
                .not_null()
                .default(DefaultValue::Json(
                    "{\"leadsProcessed\":0,\"conversionRate\":0,\"timeSavedHrs\":0,\"roi\":0}",
                )),
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
                name: "idx_workflows_user_id",
                parts: &[KeyPart::Column("user_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_workflows_status",
                parts: &[KeyPart::Column("status")],
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
    },
    Table {
        name: "workflow_executions",
        section: "1.4 Automation",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("workflow_id", Uuid).not_null(),
            Column::new("user_id", Uuid).not_null(),
            Column::new("lead_id", Uuid),
            Column::new("status", Text)
                .not_null()
                .default(DefaultValue::Text("running"))
                .one_of(&["running", "success", "failed", "skipped"]),
            Column::new("current_node", Text),
            Column::new("steps", Jsonb)
                .not_null()
                .default(DefaultValue::Json("[]")),
            Column::new("started_at", Timestamptz)
                .not_null()
                .default(DefaultValue::Now),
            Column::new("completed_at", Timestamptz),
            Column::new("error_message", Text),
        ],
        uniques: &[],
        indexes: &[
            IndexDef {
                name: "idx_workflow_executions_workflow_id",
                parts: &[KeyPart::Column("workflow_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_workflow_executions_user_id",
                parts: &[KeyPart::Column("user_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_workflow_executions_lead_id",
                parts: &[KeyPart::Column("lead_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_workflow_executions_status",
                parts: &[KeyPart::Column("status")],
                filter: None,
            },
        ],
        foreign_keys: &[
            ForeignKey {
                column: "workflow_id",
                table: "workflows",
                references: "id",
                on_delete: OnDelete::Cascade,
            },
            ForeignKey {
                column: "user_id",
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
        scope: Scope::Owner("user_id"),
        policy: &[Rule::new(SI, Who::Owner("user_id"))],
        documented: true,
    },
    Table {
        name: "workspace_ai_usage",
        section: "1.5 Usage & Quota Tracking",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("workspace_id", Uuid).not_null(),
            Column::new("month_year", Text).not_null(),
            Column::new("credits_used", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("tokens_used", BigInt)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("credits_limit", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("created_at", Timestamptz).default(DefaultValue::Now),
            Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[Unique {
            name: "workspace_ai_usage_workspace_id_month_year_key",
            parts: &[
                KeyPart::Column("workspace_id"),
                KeyPart::Column("month_year"),
            ],
            filter: None,
        }],
        indexes: &[IndexDef {
            name: "idx_workspace_ai_usage_lookup",
            parts: &[
                KeyPart::Column("workspace_id"),
                KeyPart::Column("month_year"),
            ],
            filter: None,
        }],
        foreign_keys: &[ForeignKey {
            column: "workspace_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        }],
        scope: Scope::Owner("workspace_id"),
        policy: &[Rule::new(SIU, Who::Owner("workspace_id"))],
        documented: true,
    },
    Table {
        name: "workspace_usage_counters",
        section: "1.5 Usage & Quota Tracking",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("workspace_id", Uuid).not_null(),
            Column::new("date_key", Date).not_null(),
            Column::new("month_key", Text).not_null(),
            Column::new("emails_sent", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("linkedin_actions", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("ai_credits_used", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("warmup_emails_sent", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("updated_at", Timestamptz)
                .not_null()
                .default(DefaultValue::Now),
        ],
        uniques: &[Unique {
            name: "workspace_usage_counters_workspace_id_date_key_key",
            parts: &[KeyPart::Column("workspace_id"), KeyPart::Column("date_key")],
            filter: None,
        }],
        indexes: &[IndexDef {
            name: "idx_workspace_usage_workspace_month",
            parts: &[
                KeyPart::Column("workspace_id"),
                KeyPart::Column("month_key"),
            ],
            filter: None,
        }],
        foreign_keys: &[ForeignKey {
            column: "workspace_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        }],
        scope: Scope::Owner("workspace_id"),
        policy: &[Rule::new(SIU, Who::Owner("workspace_id"))],
        documented: true,
    },
    Table {
        name: "outbound_usage",
        section: "1.5 Usage & Quota Tracking",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("workspace_id", Uuid).not_null(),
            Column::new("inbox_id", Text),
            Column::new("channel", Text)
                .not_null()
                .one_of(&["email", "linkedin"]),
            Column::new("period_type", Text)
                .not_null()
                .one_of(&["daily", "monthly"]),
            Column::new("period_key", Text).not_null(),
            Column::new("count", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[Unique {
            name: "outbound_usage_workspace_id_inbox_id_channel_period_type_period_key_key",
            parts: &[
                KeyPart::Column("workspace_id"),
                KeyPart::Column("inbox_id"),
                KeyPart::Column("channel"),
                KeyPart::Column("period_type"),
                KeyPart::Column("period_key"),
            ],
            filter: None,
        }],
        indexes: &[],
        foreign_keys: &[ForeignKey {
            column: "workspace_id",
            table: "profiles",
            references: "id",
            on_delete: OnDelete::Cascade,
        }],
        scope: Scope::Owner("workspace_id"),
        policy: &[Rule::new(SIU, Who::Owner("workspace_id"))],
        documented: true,
    },
    Table {
        name: "ai_usage_logs",
        section: "1.5 Usage & Quota Tracking",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("user_id", Uuid).not_null(),
            Column::new("tokens_used", Int)
                .not_null()
                .default(DefaultValue::Int(0)),
            Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[IndexDef {
            name: "idx_ai_usage_logs_user_id",
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
        policy: &[Rule::new(SI, Who::Owner("user_id"))],
        documented: true,
    },
    Table {
        name: "invoices",
        section: "1.6 Invoicing",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("owner_id", Uuid).not_null(),
            Column::new("lead_id", Uuid).not_null(),
            Column::new("stripe_customer_id", Text),
            Column::new("stripe_invoice_id", Text),
            Column::new("invoice_number", Text),
            Column::new("status", Text)
                .default(DefaultValue::Text("draft"))
                .one_of(&["draft", "open", "paid", "void", "uncollectible"]),
            Column::new("currency", Text).default(DefaultValue::Text("usd")),
            Column::new("subtotal_cents", Int).default(DefaultValue::Int(0)),
            Column::new("total_cents", Int).default(DefaultValue::Int(0)),
            Column::new("due_date", Date),
            Column::new("notes", Text),
            Column::new("stripe_hosted_url", Text),
            Column::new("stripe_pdf_url", Text),
            Column::new("sent_at", Timestamptz),
            Column::new("sent_via", Text),
            Column::new("paid_at", Timestamptz),
            Column::new("created_at", Timestamptz).default(DefaultValue::Now),
            Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[
            IndexDef {
                name: "idx_invoices_owner",
                parts: &[KeyPart::Column("owner_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_invoices_lead",
                parts: &[KeyPart::Column("lead_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_invoices_stripe_invoice",
                parts: &[KeyPart::Column("stripe_invoice_id")],
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
        policy: &[Rule::new(SIU, Who::Owner("owner_id"))],
        documented: true,
    },
    Table {
        name: "invoice_line_items",
        section: "1.6 Invoicing",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("invoice_id", Uuid).not_null(),
            Column::new("description", Text).not_null(),
            Column::new("quantity", Int).default(DefaultValue::Int(1)),
            Column::new("unit_price_cents", Int).not_null(),
            Column::new("amount_cents", Int).not_null(),
            Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[IndexDef {
            name: "idx_invoice_line_items_invoice",
            parts: &[KeyPart::Column("invoice_id")],
            filter: None,
        }],
        foreign_keys: &[ForeignKey {
            column: "invoice_id",
            table: "invoices",
            references: "id",
            on_delete: OnDelete::Cascade,
        }],
        scope: Scope::OwnerOf("invoice_id"),
        policy: &[Rule::new(CRUD, Who::Parent("invoice_id"))],
        documented: true,
    },
    Table {
        name: "invoice_packages",
        section: "1.6 Invoicing",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("owner_id", Uuid).not_null(),
            Column::new("name", Text).not_null(),
            Column::new("description", Text),
            Column::new("created_at", Timestamptz).default(DefaultValue::Now),
            Column::new("updated_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[IndexDef {
            name: "idx_invoice_packages_owner",
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
    },
    Table {
        name: "invoice_package_items",
        section: "1.6 Invoicing",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("package_id", Uuid).not_null(),
            Column::new("description", Text).not_null(),
            Column::new("quantity", Int).default(DefaultValue::Int(1)),
            Column::new("unit_price_cents", Int).not_null(),
        ],
        uniques: &[],
        indexes: &[IndexDef {
            name: "idx_invoice_package_items_package",
            parts: &[KeyPart::Column("package_id")],
            filter: None,
        }],
        foreign_keys: &[ForeignKey {
            column: "package_id",
            table: "invoice_packages",
            references: "id",
            on_delete: OnDelete::Cascade,
        }],
        scope: Scope::OwnerOf("package_id"),
        policy: &[Rule::new(CRUD, Who::Parent("package_id"))],
        documented: true,
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
            Rule::new(
                &[Op::Insert],
                Who::Flow {
                    via: FlowPath::Card("card_id"),
                    min: FlowRole::Member,
                },
            ),
        ],
        documented: false,
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
        name: "support_sessions",
        section: "1.14 Support (Super Admin)",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("admin_id", Uuid).not_null(),
            Column::new("target_user_id", Uuid).not_null(),
            Column::new("reason", Text)
                .not_null()
                .default(DefaultValue::Text("")),
            Column::new("access_level", Text)
                .not_null()
                .default(DefaultValue::Text("read_only"))
                .one_of(&["read_only", "debug"]),
            Column::new("started_at", Timestamptz)
                .not_null()
                .default(DefaultValue::Now),
            Column::new("expires_at", Timestamptz)
                .not_null()
                .default(DefaultValue::NowPlusSeconds(7200)),
            Column::new("ended_at", Timestamptz),
            Column::new("is_active", Boolean)
                .not_null()
                .default(DefaultValue::Bool(true)),
            Column::new("metadata", Jsonb).default(DefaultValue::Json("{}")),
            Column::new("created_at", Timestamptz)
                .not_null()
                .default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[],
        foreign_keys: &[
            ForeignKey {
                column: "admin_id",
                table: "profiles",
                references: "id",
                on_delete: OnDelete::Cascade,
            },
            ForeignKey {
                column: "target_user_id",
                table: "profiles",
                references: "id",
                on_delete: OnDelete::Cascade,
            },
        ],
        scope: Scope::Shared,
        policy: &[Rule::new(SIU, Who::SuperAdmin("admin_id"))],
        documented: true,
    },
    Table {
        name: "support_audit_logs",
        section: "1.14 Support (Super Admin)",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("session_id", Uuid),
            Column::new("admin_id", Uuid).not_null(),
            Column::new("target_user_id", Uuid).not_null(),
            Column::new("action", Text).not_null(),
            Column::new("resource_type", Text),
            Column::new("resource_id", Text),
            Column::new("details", Jsonb).default(DefaultValue::Json("{}")),
            Column::new("created_at", Timestamptz)
                .not_null()
                .default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[],
        foreign_keys: &[
            ForeignKey {
                column: "session_id",
                table: "support_sessions",
                references: "id",
                on_delete: OnDelete::SetNull,
            },
            ForeignKey {
                column: "admin_id",
                table: "profiles",
                references: "id",
                on_delete: OnDelete::Cascade,
            },
            ForeignKey {
                column: "target_user_id",
                table: "profiles",
                references: "id",
                on_delete: OnDelete::Cascade,
            },
        ],
        scope: Scope::Shared,
        policy: &[Rule::new(READ, Who::SuperAdmin("admin_id"))],
        documented: true,
    },
    Table {
        name: "audit_logs",
        section: "1.15 Audit",
        columns: &[
            Column::new("id", Uuid)
                .pk()
                .default(DefaultValue::RandomUuid),
            Column::new("user_id", Uuid),
            Column::new("team_id", Uuid),
            Column::new("action", Text).not_null(),
            Column::new("details", Text),
            Column::new("created_at", Timestamptz).default(DefaultValue::Now),
        ],
        uniques: &[],
        indexes: &[
            IndexDef {
                name: "idx_audit_logs_user_id",
                parts: &[KeyPart::Column("user_id")],
                filter: None,
            },
            IndexDef {
                name: "idx_audit_logs_created_at",
                parts: &[KeyPart::Desc("created_at")],
                filter: None,
            },
            IndexDef {
                name: "idx_audit_logs_user_created",
                parts: &[KeyPart::Column("user_id"), KeyPart::Desc("created_at")],
                filter: None,
            },
        ],
        foreign_keys: &[
            ForeignKey {
                column: "user_id",
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
            Rule::new(SI, Who::Owner("user_id")),
            Rule::new(READ, Who::TeamMember("team_id")),
        ],
        documented: true,
    },
];
