//! The OpenAPI 3.1 document of the data API, generated from the schema declaration (served at
//! `/v1/openapi.json`). Nothing here is written by hand per table; the routes beyond the
//! row routes are described in the submodules, one per area.

mod ai;
mod billing;
mod mailboxes;
mod public;
mod storage;
mod teamhub;

use scaliyo_app::layout;
use scaliyo_domain::schema::{
    self, Check, Column, ColumnType, DefaultValue, Scope, TABLES, Table, Who,
};
use serde_json::{Map, Value, json};

fn column_schema(column: &Column) -> Value {
    let mut schema = match column.ty {
        ColumnType::Uuid => json!({ "type": "string", "format": "uuid" }),
        ColumnType::Text => json!({ "type": "string" }),
        ColumnType::Int => {
            json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX })
        }
        ColumnType::BigInt => json!({ "type": "integer", "format": "int64" }),
        ColumnType::Real => json!({ "type": "number" }),
        ColumnType::Boolean => json!({ "type": "boolean" }),
        ColumnType::Jsonb => json!({}),
        ColumnType::TextArray => json!({ "type": "array", "items": { "type": "string" } }),
        ColumnType::Date => json!({ "type": "string", "format": "date" }),
        ColumnType::Timestamptz => json!({ "type": "string", "format": "date-time" }),
    };
    match column.check {
        Check::OneOf(values) => {
            schema["enum"] = json!(values);
        }
        Check::Range { min, max } => {
            schema["minimum"] = json!(min);
            schema["maximum"] = json!(max);
        }
        Check::None => {}
    }
    let nullable = !column.not_null && !column.primary_key;
    if nullable && column.ty != ColumnType::Jsonb {
        let ty = schema["type"].clone();
        schema["type"] = json!([ty, "null"]);
        if let Some(values) = schema.get("enum").cloned() {
            let mut with_null = values.as_array().cloned().unwrap_or_default();
            with_null.push(Value::Null);
            schema["enum"] = Value::Array(with_null);
        }
    }
    schema
}

fn owner_column(table: &Table) -> Option<&'static str> {
    match table.scope {
        Scope::Owner(c) => Some(c),
        _ => None,
    }
}

/// The row, create and update schemas of a table.
fn table_schemas(table: &Table, out: &mut Map<String, Value>) {
    let mut properties = Map::new();
    for column in table.columns {
        let mut schema = column_schema(column);
        if schema::is_secret(table.name, column.name) {
            schema["writeOnly"] = json!(true);
        }
        properties.insert(column.name.to_owned(), schema);
    }
    if table.primary_key().is_none() {
        properties.insert(
            layout::ROWID.to_owned(),
            json!({ "type": "string", "format": "uuid" }),
        );
    }
    // Rows as returned: every column but the write-only secrets, which are never sent back.
    let mut returned = properties.clone();
    returned.retain(|name, _| !schema::is_secret(table.name, name));
    let all: Vec<&str> = returned.keys().map(String::as_str).collect();
    out.insert(
        table.name.to_owned(),
        json!({ "type": "object", "properties": returned.clone(), "required": all, "additionalProperties": false }),
    );
    let mut writable = properties.clone();
    writable.remove(layout::ROWID);
    // The owner column is filled in from the caller when the owner rule applies.
    let auto_owner = owner_column(table).filter(|c| {
        table
            .policy
            .iter()
            .any(|r| matches!(r.who, Who::Owner(o) if o == *c))
    });
    let required: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.required() && Some(c.name) != auto_owner)
        .map(|c| c.name)
        .collect();
    out.insert(
        format!("{}_create", table.name),
        json!({ "type": "object", "properties": writable.clone(), "required": required, "additionalProperties": false }),
    );
    let mut update = writable;
    for column in table.columns {
        if column.primary_key || Some(column.name) == owner_column(table) {
            update.remove(column.name);
        }
        if matches!(column.default, DefaultValue::None) && column.not_null {
            // Required columns may be changed but not cleared.
            if let Some(schema) = update.get_mut(column.name) {
                *schema = column_schema(&Column {
                    not_null: true,
                    ..*column
                });
            }
        }
    }
    out.insert(
        format!("{}_update", table.name),
        json!({ "type": "object", "properties": update, "additionalProperties": false }),
    );
    if table.name == "workflows" {
        document_workflow_nodes(out);
    }
}

/// `workflows.nodes`: the node graph (docs/workflows.md). Rows hold what the builder sent
/// (a draft may be work in progress); writes are described node by node.
fn document_workflow_nodes(out: &mut Map<String, Value>) {
    use scaliyo_domain::workflows::NODE_TYPES;
    out.insert(
        "workflow_node".into(),
        json!({
            "type": "object",
            "description": "One node of a workflow's graph: exactly one trigger; a node with one exit has `next` (null = end); condition, split.random and wait.event have ordered `branches` (first match wins; a last branch without `when` is the else). `config` depends on `type` (docs/workflows.md). Unknown fields (positions, labels) are the builder's and are kept.",
            "required": ["id", "type"],
            "properties": {
                "id": { "type": "string", "minLength": 1, "maxLength": 64 },
                "type": { "type": "string", "enum": NODE_TYPES },
                "config": { "type": "object" },
                "next": { "type": ["string", "null"] },
                "branches": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key"],
                        "properties": {
                            "key": { "type": "string" },
                            "when": { "type": "object", "description": "{all: [...]}, {any: [...]} or {field, op, value}" },
                            "next": { "type": ["string", "null"] }
                        },
                        "additionalProperties": false
                    }
                }
            }
        }),
    );
    let described = json!({
        "type": "array",
        "maxItems": scaliyo_domain::workflows::MAX_NODES,
        "items": { "$ref": "#/components/schemas/workflow_node" },
        "description": "The node graph, validated when the workflow becomes active (400 naming the node)."
    });
    for name in ["workflows_create", "workflows_update"] {
        if let Some(schema) = out.get_mut(name) {
            schema["properties"]["nodes"] = described.clone();
        }
    }
    if let Some(schema) = out.get_mut("workflows") {
        schema["properties"]["nodes"] = json!({ "type": "array" });
    }
}

fn error_responses(codes: &[&str]) -> Map<String, Value> {
    let mut responses = Map::new();
    for code in codes {
        let description = match *code {
            "400" => "invalid input (code names the problem, message the column)",
            "401" => "missing, expired or invalid token",
            "403" => "not allowed, or a plan limit (`plan_limit`)",
            "404" => "no such row (or not visible to the caller)",
            "409" => "a unique constraint, or a concurrent update",
            "410" => {
                "gone: the invitation expired (`invite_expired`) or its inviter may no longer invite (`invite_revoked`)"
            }
            "415" => "the body is not `application/json`",
            "429" => "a quota is exhausted (`quota_exceeded`)",
            "502" => "the e-mail provider failed (`provider_*`; `retryable` says whether to retry)",
            "503" => "the store is unavailable; retry",
            _ => "error",
        };
        responses.insert(
            (*code).to_owned(),
            json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
        );
    }
    responses
}

/// A sequence's send window (`POST /v1/sequences`, `POST /v1/sequences/ai`).
fn send_window() -> Value {
    json!({ "type": ["object", "null"], "properties": {
        "weekdays": { "type": "array", "items": { "type": "string", "enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] } },
        "start": { "type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$" },
        "end": { "type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$" },
        "time_zone": { "type": "string" }
    }, "required": ["weekdays", "start", "end", "time_zone"], "additionalProperties": false })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn list_parameters(table: &Table) -> Vec<Value> {
    let mut parameters = vec![
        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100 } }),
        json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } }),
    ];
    let mut filters = std::collections::BTreeSet::new();
    let mut orders = std::collections::BTreeSet::new();
    if let Some(layout) = layout::layout(table.name) {
        for index in layout.indexes.iter().filter(|i| !i.sharded) {
            for part in &index.equality {
                filters.insert(part.column());
            }
            if let Some(range) = index.range {
                orders.insert(format!("{}.desc", range.column()));
                orders.insert(format!("{}.asc", range.column()));
                orders.insert(range.column().to_owned());
            }
        }
    }
    if let Some(owner) = owner_column(table) {
        filters.insert(owner);
    }
    for column in filters {
        if let Some(c) = table.column(column) {
            let mut schema = column_schema(c);
            schema["type"] = json!("string");
            parameters.push(json!({
                "name": column,
                "in": "query",
                "description": "equality filter on an indexed column (combinations as the indexes allow)",
                "schema": schema
            }));
        }
    }
    if !orders.is_empty() {
        parameters.push(json!({ "name": "order", "in": "query", "schema": { "type": "string", "enum": orders.into_iter().collect::<Vec<_>>() } }));
    }
    parameters
}

const RPCS: &[(&str, &str)] = &[
    (
        "increment_ai_usage",
        r#"{"type":"object","properties":{"credits":{"type":"integer","minimum":0},"tokens":{"type":"integer","minimum":0}},"additionalProperties":false}"#,
    ),
    (
        "increment_sender_daily_sent",
        r#"{"type":"object","properties":{"sender_account_id":{"type":"string","format":"uuid"},"count":{"type":"integer","minimum":1},"daily_limit":{"type":["integer","null"]}},"required":["sender_account_id"],"additionalProperties":false}"#,
    ),
    (
        "get_sender_daily_sent",
        r#"{"type":"object","properties":{"sender_account_id":{"type":"string","format":"uuid"}},"required":["sender_account_id"],"additionalProperties":false}"#,
    ),
    (
        "increment_workspace_usage",
        r#"{"type":"object","properties":{"field":{"type":"string","enum":["emails_sent","linkedin_actions","ai_credits_used","warmup_emails_sent"]},"amount":{"type":"integer","minimum":0},"daily_limit":{"type":["integer","null"]}},"required":["field"],"additionalProperties":false}"#,
    ),
    (
        "get_workspace_monthly_usage",
        r#"{"type":"object","properties":{"month":{"type":["string","null"],"pattern":"^[0-9]{4}-[0-9]{2}$"}},"additionalProperties":false}"#,
    ),
    (
        "increment_outbound_usage",
        r#"{"type":"object","properties":{"channel":{"type":"string","enum":["email","linkedin"]},"inbox_id":{"type":["string","null"]},"amount":{"type":"integer","minimum":0},"daily_limit":{"type":["integer","null"]},"monthly_limit":{"type":["integer","null"]}},"required":["channel"],"additionalProperties":false}"#,
    ),
];

/// The whole document.
pub fn document() -> Value {
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({ "type": "object", "properties": { "code": { "type": "string" }, "message": { "type": "string" } }, "required": ["code", "message"] }),
    );
    let mut paths = Map::new();
    for table in TABLES {
        table_schemas(table, &mut schemas);
        let row = json!({ "$ref": format!("#/components/schemas/{}", table.name) });
        let tag = json!([table.section]);
        let mut list_responses = error_responses(&["400", "401", "503"]);
        list_responses.insert(
            "200".into(),
            json_response("a page of rows", json!({
                "type": "object",
                "properties": { "data": { "type": "array", "items": row }, "next_cursor": { "type": ["string", "null"] } },
                "required": ["data", "next_cursor"]
            })),
        );
        let mut create_responses =
            error_responses(&["400", "401", "403", "404", "409", "415", "503"]);
        create_responses.insert("201".into(), json_response("the created row", row.clone()));
        paths.insert(
            format!("/v1/{}", table.name),
            json!({
                "get": { "operationId": format!("list_{}", table.name), "tags": tag, "parameters": list_parameters(table), "responses": list_responses },
                "post": {
                    "operationId": format!("create_{}", table.name),
                    "tags": tag,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{}_create", table.name) } } } },
                    "responses": create_responses
                }
            }),
        );
        let id_schema = match table.primary_key() {
            Some(pk) if pk.ty == ColumnType::Uuid || table.primary_key().is_none() => {
                json!({ "type": "string", "format": "uuid" })
            }
            Some(_) => json!({ "type": "string", "minLength": 1 }),
            None => json!({ "type": "string", "format": "uuid" }),
        };
        let id_parameter =
            json!({ "name": "id", "in": "path", "required": true, "schema": id_schema });
        let mut get_responses = error_responses(&["400", "401", "404", "503"]);
        get_responses.insert("200".into(), json_response("the row", row.clone()));
        let mut update_responses =
            error_responses(&["400", "401", "403", "404", "409", "415", "503"]);
        update_responses.insert("200".into(), json_response("the updated row", row));
        let mut delete_responses = error_responses(&["400", "401", "403", "404", "409", "503"]);
        delete_responses.insert(
            "204".into(),
            json!({ "description": "deleted, with the schema's ON DELETE actions" }),
        );
        paths.insert(
            format!("/v1/{}/{{id}}", table.name),
            json!({
                "parameters": [id_parameter],
                "get": { "operationId": format!("get_{}", table.name), "tags": tag, "responses": get_responses },
                "patch": {
                    "operationId": format!("update_{}", table.name),
                    "tags": tag,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{}_update", table.name) } } } },
                    "responses": update_responses
                },
                "delete": { "operationId": format!("delete_{}", table.name), "tags": tag, "responses": delete_responses }
            }),
        );
    }
    for (name, arguments) in RPCS {
        let schema: Value =
            serde_json::from_str(arguments).unwrap_or_else(|_| json!({ "type": "object" }));
        let mut responses = error_responses(&["400", "401", "404", "409", "415", "429", "503"]);
        responses.insert(
            "200".into(),
            json_response("the counter after the call", json!({ "type": "object" })),
        );
        paths.insert(
            format!("/v1/rpc/{name}"),
            json!({ "post": {
                "operationId": format!("rpc_{name}"),
                "tags": ["6 Usage Counter Architecture"],
                "requestBody": { "required": true, "content": { "application/json": { "schema": schema } } },
                "responses": responses
            } }),
        );
    }
    let send_request = json!({
        "type": "object",
        "properties": {
            "lead_id": { "type": "string", "format": "uuid" },
            "sender_account_id": { "type": ["string", "null"], "format": "uuid" },
            "template_id": { "type": ["string", "null"], "format": "uuid" },
            "subject": { "type": ["string", "null"] },
            "html_body": { "type": ["string", "null"] },
            "variables": { "type": "object", "additionalProperties": { "type": "string" } },
            "track_opens": { "type": "boolean" },
            "track_clicks": { "type": "boolean" },
            "honeypot_link": { "type": "boolean", "description": "add a hidden link; whatever follows it is classified a machine" }
        },
        "required": ["lead_id"],
        "additionalProperties": false
    });
    let mut send_responses =
        error_responses(&["400", "401", "404", "409", "415", "429", "502", "503"]);
    send_responses.insert(
        "200".into(),
        json_response(
            "sent",
            json!({
                "type": "object",
                "properties": {
                    "message_id": { "type": "string", "format": "uuid" },
                    "status": { "type": "string" },
                    "provider": { "type": "string" },
                    "provider_message_id": { "type": ["string", "null"] },
                    "sender_account_id": { "type": "string", "format": "uuid" },
                    "to_email": { "type": "string" },
                    "tracked_links": { "type": "integer" }
                },
                "required": ["message_id", "status", "provider", "sender_account_id", "to_email"]
            }),
        ),
    );
    paths.insert(
        "/v1/send-email".into(),
        json!({ "post": {
            "operationId": "send_email",
            "tags": ["send-email"],
            "parameters": [{ "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "minLength": 1, "maxLength": 255 } }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": send_request } } },
            "responses": send_responses
        } }),
    );
    let connect_request = json!({
        "type": "object",
        "properties": {
            "provider": { "type": "string", "enum": ["gmail", "smtp", "sendgrid", "mailchimp"] },
            "from_email": { "type": "string" },
            "from_name": { "type": "string" },
            "display_name": { "type": "string" },
            "is_default": { "type": "boolean" },
            "use_for_outreach": { "type": ["boolean", "null"] },
            "warmup_enabled": { "type": "boolean" },
            "metadata": { "type": "object" },
            "smtp": { "type": ["object", "null"], "writeOnly": true },
            "api_key": { "type": ["string", "null"], "writeOnly": true },
            "oauth": { "type": ["object", "null"], "writeOnly": true }
        },
        "required": ["provider", "from_email"],
        "additionalProperties": false
    });
    let mut connect_responses = error_responses(&["400", "401", "403", "404", "409", "415", "503"]);
    connect_responses.insert(
        "201".into(),
        json_response(
            "the sender account (credentials are never returned)",
            json!({ "$ref": "#/components/schemas/sender_accounts" }),
        ),
    );
    paths.insert(
        "/v1/sender-accounts/connect".into(),
        json!({ "post": {
            "operationId": "connect_sender_account",
            "tags": ["send-email"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": connect_request } } },
            "responses": connect_responses
        } }),
    );
    schedule_paths(&mut paths);
    social_paths(&mut paths);
    webhook_paths(&mut paths);
    recount_paths(&mut paths);
    let mut hook_responses = error_responses(&["400", "401", "404", "409", "415", "503"]);
    hook_responses.insert(
        "201".into(),
        json_response(
            "the URL to configure at the provider (the key is never returned)",
            json!({ "type": "object", "properties": {
                "provider": { "type": "string", "enum": ["sendgrid", "mailchimp"] },
                "url": { "type": "string" }
            }, "required": ["provider", "url"] }),
        ),
    );
    paths.insert(
        "/v1/sender-accounts/{id}/event-webhook".into(),
        json!({ "post": {
            "operationId": "create_provider_event_webhook",
            "tags": ["send-email"],
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "verification_key": { "type": "string", "minLength": 1, "maxLength": 4096, "writeOnly": true } },
                "required": ["verification_key"],
                "additionalProperties": false
            } } } },
            "responses": hook_responses
        } }),
    );
    import_paths(&mut paths);
    reply_paths(&mut paths);
    mailboxes::mailbox_paths(&mut paths);
    public::public_paths(&mut paths);
    billing::billing_paths(&mut paths);
    ai::ai_paths(&mut paths);
    storage::storage_paths(&mut paths);
    teamhub::teamhub_paths(&mut paths);
    invite_paths(&mut paths);
    oauth_paths(&mut paths);
    analytics_paths(&mut paths);
    content_paths(&mut paths);
    paths.insert(
        "/v1/openapi.json".into(),
        json!({ "get": {
            "operationId": "openapi_document",
            "security": [{}],
            "responses": { "200": json_response("this document", json!({ "type": "object" })) }
        } }),
    );
    let mut account = error_responses(&["401", "503"]);
    account.insert(
        "204".into(),
        json!({ "description": "the account and everything it owns are deleted" }),
    );
    paths.insert(
        "/v1/account".into(),
        json!({ "delete": { "operationId": "delete_account", "responses": account } }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Scaliyo data API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every table of the Scaliyo schema over REST, with the schema's row policies. Generated from the schema declaration."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, {}],
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": schemas
        },
        "paths": paths
    })
}

/// `POST /v1/imports`, the direct upload and the rejected-rows report.
fn import_paths(paths: &mut Map<String, Value>) {
    let start_request = json!({
        "type": "object",
        "properties": {
            "file_name": { "type": "string", "minLength": 1, "maxLength": 255 },
            "file_type": { "type": ["string", "null"], "enum": ["csv", "apollo", null] },
            "column_mapping": { "type": "object", "additionalProperties": { "type": "string" } },
            "options": { "type": "object", "properties": {
                "on_duplicate": { "type": "string", "enum": ["skip", "update", "create"] },
                "update_mode": { "type": "string", "enum": ["fill_empty", "overwrite"] }
            }, "additionalProperties": false },
            "content_length": { "type": "integer", "minimum": 1, "description": "The file's exact size in bytes, signed into the upload URL; 0 is refused as empty_file" }
        },
        "required": ["file_name", "content_length"],
        "additionalProperties": false
    });
    let mut start_responses =
        error_responses(&["400", "401", "403", "404", "409", "413", "415", "503"]);
    start_responses.insert(
        "201".into(),
        json_response(
            "the batch (status pending) and where to PUT the file",
            json!({ "type": "object", "properties": {
                "batch": { "$ref": "#/components/schemas/import_batches" },
                "upload": { "type": "object", "properties": {
                    "url": { "type": "string" },
                    "method": { "type": "string" },
                    "expires_at": { "type": "string" },
                    "headers": { "type": "object" }
                }, "required": ["url", "method", "expires_at", "headers"] }
            }, "required": ["batch", "upload"] }),
        ),
    );
    paths.insert(
        "/v1/imports".into(),
        json!({ "post": {
            "operationId": "start_import",
            "tags": ["imports"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": start_request } } },
            "responses": start_responses
        } }),
    );
    let id =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let mut upload_responses = error_responses(&["400", "401", "404", "409", "413", "503"]);
    upload_responses.insert(
        "202".into(),
        json_response(
            "stored; processing starts",
            json!({ "$ref": "#/components/schemas/import_batches" }),
        ),
    );
    paths.insert(
        "/v1/imports/{id}/file".into(),
        json!({ "post": {
            "operationId": "upload_import_file",
            "tags": ["imports"],
            "parameters": id,
            "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
            "responses": upload_responses
        } }),
    );
    let mut rejected_responses = error_responses(&["401", "404", "409", "503"]);
    rejected_responses.insert(
        "200".into(),
        json_response(
            "a 5-minute download URL of rejected.csv (row,reason,detail,raw)",
            json!({ "type": "object", "properties": {
                "url": { "type": "string" },
                "method": { "type": "string" },
                "expires_at": { "type": "string" }
            }, "required": ["url", "method", "expires_at"] }),
        ),
    );
    paths.insert(
        "/v1/imports/{id}/rejected".into(),
        json!({ "get": {
            "operationId": "import_rejected_rows",
            "tags": ["imports"],
            "parameters": id,
            "responses": rejected_responses
        } }),
    );
}

/// `POST /v1/scheduled-emails`, `POST /v1/sequences` and their reads and cancels.
/// Replies (issue 22): a lead's replies, the reply rules, inbound parse URLs.
fn reply_paths(paths: &mut Map<String, Value>) {
    let id =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let text = json!({ "type": "string" });
    let maybe = json!({ "type": ["string", "null"] });
    let reply = json!({ "type": "object", "properties": {
        "id": text, "lead_id": text, "message_id": text, "sender_account_id": text,
        "kind": { "type": "string", "enum": ["reply", "auto_reply", "bounce"] },
        "matched_by": { "type": "string", "enum": ["message_id", "subject"] },
        "from_email": maybe, "from_name": maybe, "subject": text,
        "snippet": { "type": "string", "maxLength": 280 },
        "received_at": text, "sent_at": maybe, "rfc_message_id": maybe, "bounce_status": maybe,
        "via": { "type": "string", "enum": ["imap", "gmail", "sendgrid_inbound", "mailchimp_inbound"] }
    }, "required": ["id", "lead_id", "message_id", "kind", "snippet", "received_at"] });
    let mut listed = error_responses(&["400", "401", "404", "503"]);
    listed.insert(
        "200".into(),
        json_response(
            "the lead's replies, auto-replies and bounces, newest first (text snippets only)",
            json!({ "type": "array", "items": reply }),
        ),
    );
    paths.insert(
        "/v1/leads/{id}/replies".into(),
        json!({ "get": { "operationId": "list_lead_replies", "tags": ["replies"], "parameters": id, "responses": listed } }),
    );
    let rules = json!({ "type": "object", "properties": {
        "stop_company_on_reply": { "type": "boolean" }
    }, "additionalProperties": false });
    let mut read = error_responses(&["401", "503"]);
    read.insert(
        "200".into(),
        json_response("the workspace's reply rules", rules.clone()),
    );
    let mut write = error_responses(&["400", "401", "415", "503"]);
    write.insert(
        "200".into(),
        json_response("the rules as stored", rules.clone()),
    );
    paths.insert(
        "/v1/replies/settings".into(),
        json!({
            "get": { "operationId": "get_reply_rules", "tags": ["replies"], "responses": read },
            "put": { "operationId": "put_reply_rules", "tags": ["replies"],
                     "requestBody": { "required": true, "content": { "application/json": { "schema": rules } } },
                     "responses": write }
        }),
    );
    let mut created = error_responses(&["400", "401", "404", "415", "503"]);
    created.insert(
        "201".into(),
        json_response(
            "the inbound parse URL to configure at the provider (the key is never returned)",
            json!({ "type": "object", "properties": {
                "provider": { "type": "string", "enum": ["sendgrid", "mailchimp"] },
                "url": { "type": "string" }
            }, "required": ["provider", "url"] }),
        ),
    );
    paths.insert(
        "/v1/sender-accounts/{id}/inbound-webhook".into(),
        json!({ "post": {
            "operationId": "create_inbound_webhook",
            "tags": ["replies"],
            "parameters": id,
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "verification_key": { "type": "string", "minLength": 1, "maxLength": 4096, "writeOnly": true } },
                "additionalProperties": false
            } } } },
            "responses": created
        } }),
    );
}

/// Invitations (docs/invitations.md): the invitee's pending list, answers by id or by the
/// e-mailed token, and resending.
fn invite_paths(paths: &mut Map<String, Value>) {
    let id =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let text = json!({ "type": "string" });
    let maybe = json!({ "type": ["string", "null"] });
    let invite = json!({ "type": "object", "properties": {
        "id": text, "email": text,
        "kind": { "type": "string", "enum": ["team", "flow", "guest_contributor"] },
        "role": maybe, "target_id": maybe, "target_name": maybe, "invited_by": maybe,
        "created_at": maybe, "expires_at": maybe
    }, "required": ["id", "kind", "email"] });
    let mut listed = error_responses(&["400", "401", "503"]);
    listed.insert(
        "200".into(),
        json_response(
            "the signed-in invitee's pending team and flow invitations",
            json!({ "type": "object", "properties": { "data": { "type": "array", "items": invite } }, "required": ["data"] }),
        ),
    );
    paths.insert(
        "/v1/invites".into(),
        json!({ "get": { "operationId": "list_pending_invites", "tags": ["invites"], "responses": listed } }),
    );
    let answered = json!({ "type": "object", "properties": {
        "invite": invite,
        "status": { "type": "string", "enum": ["accepted", "declined", "active", "inactive"] },
        "membership": { "type": ["object", "null"] }
    }, "required": ["invite", "status"] });
    let answer_responses = |body: bool| {
        let codes: &[&str] = if body {
            &["400", "401", "404", "409", "410", "415", "503"]
        } else {
            &["400", "401", "404", "409", "410", "503"]
        };
        let mut responses = error_responses(codes);
        responses.insert(
            "200".into(),
            json_response(
                "the answer; accepting returns the membership it created",
                answered.clone(),
            ),
        );
        responses
    };
    let token_body = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object",
        "properties": { "token": { "type": "string", "minLength": 1, "maxLength": 128 } },
        "required": ["token"],
        "additionalProperties": false
    } } } });
    for (answer, verb) in [("accept", "accept"), ("decline", "decline")] {
        paths.insert(
            format!("/v1/invites/{answer}"),
            json!({ "post": {
                "operationId": format!("{verb}_invite_by_token"),
                "tags": ["invites"],
                "requestBody": token_body,
                "responses": answer_responses(true)
            } }),
        );
        paths.insert(
            format!("/v1/invites/{{id}}/{answer}"),
            json!({ "post": {
                "operationId": format!("{verb}_invite"),
                "tags": ["invites"],
                "parameters": id,
                "responses": answer_responses(false)
            } }),
        );
    }
    let mut resent = error_responses(&["401", "404", "409", "429", "503"]);
    resent.insert(
        "202".into(),
        json_response("the invitation, e-mailed again", invite),
    );
    paths.insert(
        "/v1/invites/{id}/resend".into(),
        json!({ "post": { "operationId": "resend_invite", "tags": ["invites"], "parameters": id, "responses": resent } }),
    );
}

fn oauth_paths(paths: &mut Map<String, Value>) {
    let provider = json!({ "name": "provider", "in": "path", "required": true, "schema": { "type": "string" } });
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    let text = json!({ "type": "string" });
    let mut started = error_responses(&["401", "404", "501", "503"]);
    started.insert(
        "200".into(),
        json_response(
            "where to send the browser: the provider's consent page, with a sealed single-use state (10 minutes)",
            json!({ "type": "object", "properties": {
                "provider": { "type": "string", "enum": ["google", "meta", "linkedin"] },
                "authorize_url": text, "expires_at": text
            }, "required": ["provider", "authorize_url", "expires_at"] }),
        ),
    );
    paths.insert(
        "/v1/oauth/{provider}/start".into(),
        json!({ "get": { "operationId": "start_oauth_connection", "tags": ["oauth"], "parameters": [provider], "responses": started } }),
    );
    let mut returned = error_responses(&["400", "404", "501", "502", "503"]);
    returned.insert(
        "303".into(),
        json!({ "description": "back to <APP_URL>/settings/connections with provider, status (connected, choose, error) and the account, pending connection or error code" }),
    );
    returned.insert(
        "200".into(),
        json_response(
            "the outcome, where no APP_URL is configured",
            json!({ "type": "object", "properties": {
                "provider": text, "status": text, "account_id": text, "pending_id": text
            }, "required": ["provider", "status"] }),
        ),
    );
    let callback_query = ["code", "state", "error", "error_description"]
        .iter()
        .map(|name| json!({ "name": name, "in": "query", "schema": { "type": "string" } }))
        .chain([provider.clone()])
        .collect::<Vec<_>>();
    paths.insert(
        "/oauth/{provider}/callback".into(),
        json!({ "get": {
            "operationId": "oauth_callback",
            "tags": ["oauth"],
            "security": [{}],
            "parameters": callback_query,
            "responses": returned
        } }),
    );
    let choice = json!({ "type": "object", "properties": {
        "id": text,
        "kind": { "type": "string", "enum": ["mailbox", "facebook_page", "linkedin_member", "linkedin_organization"] },
        "name": { "type": ["string", "null"] },
        "instagram": { "type": ["object", "null"] }
    }, "required": ["id", "kind"] });
    let mut pending = error_responses(&["401", "404", "410", "503"]);
    pending.insert(
        "200".into(),
        json_response(
            "what the grant can connect (no tokens)",
            json!({ "type": "object", "properties": {
                "id": text, "provider": text, "expires_at": text,
                "choices": { "type": "array", "items": choice }
            }, "required": ["id", "provider", "expires_at", "choices"] }),
        ),
    );
    paths.insert(
        "/v1/oauth/pending/{id}".into(),
        json!({ "get": { "operationId": "show_pending_connection", "tags": ["oauth"], "parameters": [id.clone()], "responses": pending } }),
    );
    let mut connected = error_responses(&["400", "401", "403", "404", "410", "415", "503"]);
    connected.insert(
        "201".into(),
        json_response(
            "the social accounts connected (tokens sealed, never returned)",
            json!({ "type": "object", "properties": { "data": { "type": "array", "items": { "type": "object" } } }, "required": ["data"] }),
        ),
    );
    paths.insert(
        "/v1/oauth/pending/{id}/connect".into(),
        json!({ "post": {
            "operationId": "connect_pending_accounts",
            "tags": ["oauth"],
            "parameters": [id],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "choices": { "type": "array", "items": text, "minItems": 1 } },
                "required": ["choices"],
                "additionalProperties": false
            } } } },
            "responses": connected
        } }),
    );
}

/// Blog publishing and prompt history beyond the row routes.
fn content_paths(paths: &mut Map<String, Value>) {
    let param = |name: &str| json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }]);
    let post_row = json!({ "$ref": "#/components/schemas/blog_posts" });
    let mut published = error_responses(&["400", "401", "403", "404", "409", "503"]);
    published.insert(
        "200".into(),
        json_response(
            "the post, published (published_at stamped on the first publish)",
            post_row.clone(),
        ),
    );
    paths.insert(
        "/v1/blog_posts/{id}/publish".into(),
        json!({ "post": { "operationId": "publish_blog_post", "tags": ["blog_posts"], "parameters": param("id"), "responses": published } }),
    );
    let mut by_slug = error_responses(&["400", "401", "404", "503"]);
    by_slug.insert(
        "200".into(),
        json_response("the published, public, due post with this slug", post_row),
    );
    paths.insert(
        "/v1/blog/{slug}".into(),
        json!({ "get": {
            "operationId": "blog_post_by_slug",
            "tags": ["blog_posts"],
            "security": [{ "bearer": [] }, {}],
            "parameters": param("slug"),
            "responses": by_slug
        } }),
    );
    let mut restored = error_responses(&["400", "401", "403", "404", "409", "415", "503"]);
    restored.insert(
        "200".into(),
        json_response(
            "the prompt at the restored version's content, its version bumped (the change kept in its history)",
            json!({ "$ref": "#/components/schemas/user_prompts" }),
        ),
    );
    paths.insert(
        "/v1/user_prompts/{id}/restore".into(),
        json!({ "post": {
            "operationId": "restore_user_prompt",
            "tags": ["user_prompts"],
            "parameters": param("id"),
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "version": { "type": "integer", "minimum": 1 } },
                "required": ["version"],
                "additionalProperties": false
            } } } },
            "responses": restored
        } }),
    );
}

fn analytics_paths(paths: &mut Map<String, Value>) {
    let date = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" });
    let mut summary = error_responses(&["400", "401", "503"]);
    summary.insert(
        "200".into(),
        json_response(
            "the caller's daily e-mail analytics (email_analytics_summary rows), oldest first",
            json!({ "type": "object", "properties": { "data": { "type": "array", "items": {
                "type": "object",
                "properties": { "analytics_date": { "type": "string" }, "owner_id": { "type": "string" } },
                "required": ["analytics_date"]
            } } }, "required": ["data"] }),
        ),
    );
    paths.insert(
        "/v1/analytics/email-summary".into(),
        json!({ "get": {
            "operationId": "email_summary",
            "tags": ["analytics"],
            "parameters": [
                { "name": "from", "in": "query", "schema": date },
                { "name": "to", "in": "query", "schema": date }
            ],
            "responses": summary
        } }),
    );
}

fn schedule_paths(paths: &mut Map<String, Value>) {
    let block = json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "format": "uuid" },
            "block_index": { "type": "integer" },
            "scheduled_at": { "type": "string", "format": "date-time" }
        },
        "required": ["id", "block_index", "scheduled_at"]
    });
    let one_request = json!({
        "type": "object",
        "properties": {
            "lead_id": { "type": "string", "format": "uuid" },
            "subject": { "type": "string" },
            "html_body": { "type": "string" },
            "scheduled_at": { "type": "string", "format": "date-time" },
            "variables": { "type": "object", "additionalProperties": { "type": "string" } }
        },
        "required": ["lead_id", "subject", "html_body", "scheduled_at"],
        "additionalProperties": false
    });
    let mut one_responses = error_responses(&["400", "401", "404", "409", "415", "503"]);
    one_responses.insert("201".into(), json_response("scheduled", block.clone()));
    paths.insert(
        "/v1/scheduled-emails".into(),
        json!({ "post": {
            "operationId": "schedule_email",
            "tags": ["scheduling"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": one_request } } },
            "responses": one_responses
        } }),
    );
    let sequence_request = json!({
        "type": "object",
        "properties": {
            "lead_ids": { "type": "array", "items": { "type": "string", "format": "uuid" }, "minItems": 1, "maxItems": 1000 },
            "blocks": { "type": "array", "minItems": 1, "maxItems": 20, "items": {
                "type": "object",
                "properties": {
                    "subject": { "type": "string" },
                    "html_body": { "type": "string" },
                    "delay_days": { "type": "integer", "minimum": 0, "maximum": 365 },
                    "delay_hours": { "type": "integer", "minimum": 0, "maximum": 8760 },
                    "delay_minutes": { "type": "integer", "minimum": 0, "maximum": 525600 },
                    "at": { "type": ["string", "null"], "format": "date-time" }
                },
                "required": ["subject", "html_body"],
                "additionalProperties": false
            } },
            "start_at": { "type": ["string", "null"], "format": "date-time" },
            "window": send_window(),
            "variables": { "type": "object", "additionalProperties": { "type": "string" } }
        },
        "required": ["lead_ids", "blocks"],
        "additionalProperties": false
    });
    let mut sequence_responses = error_responses(&["400", "401", "404", "409", "415", "503"]);
    sequence_responses.insert(
        "201".into(),
        json_response(
            "one sequence per lead (skipped leads say why)",
            json!({
                "type": "object",
                "properties": {
                    "sequences": { "type": "array", "items": { "type": "object", "properties": {
                        "lead_id": { "type": "string" },
                        "sequence_id": { "type": "string" },
                        "emails": { "type": "array", "items": block }
                    }, "required": ["lead_id", "sequence_id", "emails"] } },
                    "skipped": { "type": "array", "items": { "type": "object", "properties": {
                        "lead_id": { "type": "string" },
                        "reason": { "type": "string", "enum": ["no_email", "suppressed"] }
                    }, "required": ["lead_id", "reason"] } }
                },
                "required": ["sequences", "skipped"]
            }),
        ),
    );
    paths.insert(
        "/v1/sequences".into(),
        json!({ "post": {
            "operationId": "schedule_sequence",
            "tags": ["scheduling"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": sequence_request } } },
            "responses": sequence_responses
        } }),
    );
    let id_parameter = |name: &str| json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }]);
    let mut cancel_one = error_responses(&["401", "404", "409", "503"]);
    cancel_one.insert(
        "200".into(),
        json_response(
            "the cancelled row",
            json!({ "$ref": "#/components/schemas/scheduled_emails" }),
        ),
    );
    paths.insert(
        "/v1/scheduled-emails/{id}/cancel".into(),
        json!({ "post": {
            "operationId": "cancel_scheduled_email",
            "tags": ["scheduling"],
            "parameters": id_parameter("id"),
            "responses": cancel_one
        } }),
    );
    let mut read_sequence = error_responses(&["401", "404", "409", "503"]);
    read_sequence.insert(
        "200".into(),
        json_response(
            "the blocks in order",
            json!({ "type": "object", "properties": {
                "sequence_id": { "type": "string" },
                "data": { "type": "array", "items": { "$ref": "#/components/schemas/scheduled_emails" } }
            }, "required": ["sequence_id", "data"] }),
        ),
    );
    paths.insert(
        "/v1/sequences/{sequence_id}".into(),
        json!({ "get": {
            "operationId": "get_sequence",
            "tags": ["scheduling"],
            "parameters": id_parameter("sequence_id"),
            "responses": read_sequence
        } }),
    );
    let mut cancel_sequence = error_responses(&["401", "404", "409", "503"]);
    cancel_sequence.insert(
        "200".into(),
        json_response(
            "what the cancel did",
            json!({ "type": "object", "properties": {
                "cancelled": { "type": "integer" },
                "already_settled": { "type": "integer" },
                "in_flight": { "type": "integer" }
            }, "required": ["cancelled", "already_settled", "in_flight"] }),
        ),
    );
    paths.insert(
        "/v1/sequences/{sequence_id}/cancel".into(),
        json!({ "post": {
            "operationId": "cancel_sequence",
            "tags": ["scheduling"],
            "parameters": id_parameter("sequence_id"),
            "responses": cancel_sequence
        } }),
    );
}

/// Social accounts, posts and their publishing state.
fn social_paths(paths: &mut Map<String, Value>) {
    let account = json!({ "$ref": "#/components/schemas/social_accounts" });
    let expires = json!({ "type": ["string", "null"], "format": "date-time" });
    let meta_request = json!({
        "type": "object",
        "properties": {
            "page_id": { "type": "string", "pattern": "^[0-9]+$" },
            "page_name": { "type": ["string", "null"] },
            "page_access_token": { "type": "string", "minLength": 1 },
            "instagram_user_id": { "type": ["string", "null"], "pattern": "^[0-9]+$" },
            "instagram_username": { "type": ["string", "null"] },
            "token_expires_at": expires
        },
        "required": ["page_id", "page_access_token"],
        "additionalProperties": false
    });
    let linkedin_request = json!({
        "type": "object",
        "properties": {
            "member_urn": { "type": ["string", "null"], "pattern": "^urn:li:person:" },
            "org_urn": { "type": ["string", "null"], "pattern": "^urn:li:organization:" },
            "org_name": { "type": ["string", "null"] },
            "access_token": { "type": "string", "minLength": 1 },
            "token_expires_at": expires
        },
        "required": ["access_token"],
        "additionalProperties": false
    });
    for (path, operation, request) in [
        (
            "/v1/social/accounts/meta",
            "connect_meta_account",
            meta_request,
        ),
        (
            "/v1/social/accounts/linkedin",
            "connect_linkedin_account",
            linkedin_request,
        ),
    ] {
        let mut responses = error_responses(&["400", "401", "409", "415", "503"]);
        responses.insert(
            "201".into(),
            json_response("the account (its token is never returned)", account.clone()),
        );
        paths.insert(
            path.into(),
            json!({ "post": {
                "operationId": operation,
                "tags": ["social"],
                "requestBody": { "required": true, "content": { "application/json": { "schema": request } } },
                "responses": responses
            } }),
        );
    }
    let mut health = error_responses(&["401", "503"]);
    health.insert(
        "200".into(),
        json_response(
            "every account's token state",
            json!({ "type": "object", "properties": { "data": { "type": "array", "items": {
                "type": "object",
                "properties": {
                    "id": { "type": "string" },
                    "provider": { "type": "string", "enum": ["meta", "linkedin"] },
                    "label": { "type": ["string", "null"] },
                    "token_expires_at": { "type": ["string", "null"] },
                    "expired": { "type": "boolean" },
                    "expiring_soon": { "type": "boolean" },
                    "needs_reconnect": { "type": "boolean" },
                    "reason": { "type": ["string", "null"] }
                },
                "required": ["id", "provider", "expired", "expiring_soon", "needs_reconnect"]
            } } }, "required": ["data"] }),
        ),
    );
    paths.insert(
        "/v1/social/accounts/health".into(),
        json!({ "get": { "operationId": "social_account_health", "tags": ["social"], "responses": health } }),
    );
    let post_view = json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" },
            "status": { "type": "string", "enum": ["draft", "scheduled", "processing", "completed", "failed"] },
            "targets": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" },
                "channel": { "type": "string", "enum": ["facebook_page", "instagram", "linkedin_member", "linkedin_org"] },
                "status": { "type": "string", "enum": ["pending", "scheduled", "processing", "published", "failed"] },
                "short_url": { "type": "string" }
            }, "required": ["id", "channel", "status"] } },
            "events": { "type": "array", "items": { "type": "object" } },
            "summary": { "type": "object", "properties": {
                "published": { "type": "integer" }, "failed": { "type": "integer" }, "open": { "type": "integer" }
            }, "required": ["published", "failed", "open"] }
        },
        "required": ["id", "status", "targets", "events", "summary"]
    });
    let post_request = json!({
        "type": "object",
        "properties": {
            "content_text": { "type": "string" },
            "link_url": { "type": ["string", "null"] },
            "media_paths": { "type": "array", "items": { "type": "string" } },
            "scheduled_at": { "type": ["string", "null"], "description": "RFC 3339, or a local date-time (2026-12-01T09:30) in `timezone`" },
            "timezone": { "type": ["string", "null"], "description": "IANA zone; default Asia/Karachi" },
            "targets": { "type": "array", "maxItems": 10, "items": { "type": "object", "properties": {
                "account_id": { "type": "string" },
                "channel": { "type": "string", "enum": ["facebook_page", "instagram", "linkedin_member", "linkedin_org"] }
            }, "required": ["account_id", "channel"], "additionalProperties": false } }
        },
        "required": ["content_text", "targets"],
        "additionalProperties": false
    });
    let mut create = error_responses(&["400", "401", "409", "415", "503"]);
    create.insert(
        "201".into(),
        json_response("the post, its targets and short links", post_view.clone()),
    );
    paths.insert(
        "/v1/social/posts".into(),
        json!({ "post": {
            "operationId": "create_social_post",
            "tags": ["social"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": post_request } } },
            "responses": create
        } }),
    );
    let id_parameter =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let mut show = error_responses(&["401", "404", "409", "503"]);
    show.insert(
        "200".into(),
        json_response("the post with its targets and events", post_view.clone()),
    );
    paths.insert(
        "/v1/social/posts/{id}".into(),
        json!({ "get": {
            "operationId": "get_social_post",
            "tags": ["social"],
            "parameters": id_parameter,
            "responses": show
        } }),
    );
    let mut schedule = error_responses(&["400", "401", "404", "409", "415", "503"]);
    schedule.insert("200".into(), json_response("the scheduled post", post_view));
    paths.insert(
        "/v1/social/posts/{id}/schedule".into(),
        json!({ "post": {
            "operationId": "schedule_social_post",
            "tags": ["social"],
            "parameters": id_parameter,
            "requestBody": { "required": false, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "scheduled_at": { "type": ["string", "null"] } },
                "additionalProperties": false
            } } } },
            "responses": schedule
        } }),
    );
}

/// The outgoing webhooks' delivery log and redelivery.
fn webhook_paths(paths: &mut Map<String, Value>) {
    let delivery = json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" },
            "webhook_id": { "type": "string" },
            "event_id": { "type": "string" },
            "event_type": { "type": "string" },
            "status": { "type": "string", "enum": ["pending", "retrying", "delivered", "failed"] },
            "attempts": { "type": "integer" },
            "created_at": { "type": "string" },
            "last_attempt_at": { "type": ["string", "null"] },
            "next_attempt_at": { "type": ["string", "null"] },
            "log": { "type": "array", "items": { "type": "object", "properties": {
                "attempt": { "type": "integer" },
                "at": { "type": "string" },
                "status": { "type": ["integer", "null"] },
                "latency_ms": { "type": ["integer", "null"] },
                "error": { "type": ["string", "null"] }
            } } },
            "payload": {}
        },
        "required": ["id", "webhook_id", "event_id", "event_type", "status", "attempts", "log"]
    });
    let mut list = error_responses(&["401", "404", "409", "503"]);
    list.insert(
        "200".into(),
        json_response(
            "the newest deliveries (up to 50), each with its attempts",
            json!({ "type": "object", "properties": {
                "webhook_id": { "type": "string" },
                "data": { "type": "array", "items": delivery.clone() }
            }, "required": ["webhook_id", "data"] }),
        ),
    );
    paths.insert(
        "/v1/webhooks/{id}/deliveries".into(),
        json!({ "get": {
            "operationId": "list_webhook_deliveries",
            "tags": ["webhooks"],
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": list
        } }),
    );
    let mut again = error_responses(&["401", "404", "409", "503"]);
    again.insert("202".into(), json_response("queued for delivery", delivery));
    paths.insert(
        "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver".into(),
        json!({ "post": {
            "operationId": "redeliver_webhook_delivery",
            "tags": ["webhooks"],
            "parameters": [
                { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                { "name": "delivery_id", "in": "path", "required": true, "schema": { "type": "string" } }
            ],
            "responses": again
        } }),
    );
}

/// The tracking recount (admins).
fn recount_paths(paths: &mut Map<String, Value>) {
    let mut responses = error_responses(&["400", "401", "403", "415", "503"]);
    responses.insert(
        "200".into(),
        json_response(
            "what changed, rule by rule",
            json!({ "type": "object", "properties": {
                "examined": { "type": "integer" },
                "changed": { "type": "integer" },
                "changes": { "type": "object", "additionalProperties": { "type": "integer" } },
                "dates_rebuilt": { "type": "array", "items": { "type": "string" } }
            }, "required": ["examined", "changed", "changes", "dates_rebuilt"] }),
        ),
    );
    paths.insert(
        "/v1/admin/tracking/recount".into(),
        json!({ "post": {
            "operationId": "recount_tracking",
            "tags": ["tracking"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    "owner_id": { "type": "string", "format": "uuid" },
                    "since": { "type": ["string", "null"], "format": "date-time" }
                },
                "required": ["owner_id"],
                "additionalProperties": false
            } } } },
            "responses": responses
        } }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_five_operations_and_its_schemas() {
        let doc = document();
        for table in TABLES {
            let collection = &doc["paths"][format!("/v1/{}", table.name)];
            let item = &doc["paths"][format!("/v1/{}/{{id}}", table.name)];
            assert!(
                collection["get"].is_object() && collection["post"].is_object(),
                "{}",
                table.name
            );
            assert!(
                item["get"].is_object() && item["patch"].is_object() && item["delete"].is_object(),
                "{}",
                table.name
            );
            assert!(doc["components"]["schemas"][table.name].is_object());
        }
        let leads = &doc["components"]["schemas"]["leads"]["properties"];
        assert_eq!(
            leads["status"]["enum"],
            json!(["New", "Contacted", "Qualified", "Converted", "Lost"])
        );
        assert!(leads.get("knowledgeBase").is_some() && leads.get("lastActivity").is_some());
        let create_required = &doc["components"]["schemas"]["leads_create"]["required"];
        assert_eq!(create_required, &json!(["name"]));
    }

    /// The routes the routers of this crate declare (`.route("<path>", get(…).post(…))`),
    /// read from their sources: what the running functions serve.
    fn declared_routes() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut routes = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let source = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let running = source.split("#[cfg(test)]").next().unwrap_or_default();
            for (at, _) in running.match_indices(".route(") {
                let call = &running[at + ".route(".len()..];
                let mut depth = 1;
                let end = call
                    .char_indices()
                    .find(|(_, c)| {
                        depth += match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(call.len(), |(i, _)| i);
                let call = &call[..end];
                let Some(path) = call.split('"').nth(1) else {
                    continue;
                };
                for method in ["get", "post", "put", "patch", "delete"] {
                    let used = call.match_indices(method).any(|(i, _)| {
                        call[i + method.len()..].starts_with('(')
                            && !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    if used {
                        routes.push((method.to_owned(), path.to_owned()));
                    }
                }
            }
        }
        routes
    }

    /// Every route a router declares is in the document with its method (the generic row
    /// routes and `/v1/rpc/{name}` as their per-table and per-function paths) — except the
    /// service's own `/health`.
    #[test]
    fn every_declared_route_is_documented() {
        let doc = document();
        let routes = declared_routes();
        assert!(routes.len() > 60, "{routes:?}");
        let mut missing = Vec::new();
        for (method, path) in &routes {
            let documented = |path: &str| !doc["paths"][path][method.as_str()].is_null();
            let ok = match path.as_str() {
                "/health" => true,
                "/v1/{table}" | "/v1/{table}/{id}" => TABLES
                    .iter()
                    .any(|t| documented(&path.replace("{table}", t.name))),
                "/v1/rpc/{name}" => doc["paths"]
                    .as_object()
                    .is_some_and(|paths| paths.keys().any(|p| p.starts_with("/v1/rpc/"))),
                other => documented(other),
            };
            if !ok {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        assert!(missing.is_empty(), "undocumented routes: {missing:#?}");
    }
}
