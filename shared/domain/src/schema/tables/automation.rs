//! Seed section 1.4 Automation.

use crate::schema::ColumnType::*;
use crate::schema::*;

pub static WORKFLOWS: Table = Table {
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
};

pub static WORKFLOW_EXECUTIONS: Table = Table {
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
};
