//! Billing (the user's own plan through Stripe Checkout and the customer portal, an admin's
//! hand-set plan) and invoices to leads (Stripe Connect). Without Stripe configured the
//! routes that need it answer `501 billing_not_configured`.

use serde_json::{Map, Value, json};

use super::{error_responses, json_response};

fn link() -> Value {
    json_response(
        "where to send the browser (Stripe Checkout for a new subscription, the customer portal for a live one)",
        json!({ "type": "object", "properties": {
            "url": { "type": "string" },
            "kind": { "type": "string", "enum": ["checkout", "portal"] }
        }, "required": ["url", "kind"] }),
    )
}

fn summary() -> Value {
    let count = json!({ "type": "integer" });
    json_response(
        "the caller's plan, its limits and this month's usage",
        json!({ "type": "object", "properties": {
            "plan": { "type": "string", "enum": ["Starter", "Growth", "Scale"] },
            "status": { "type": ["string", "null"] },
            "expires_at": { "type": ["string", "null"] },
            "limits": { "type": "object" },
            "usage": { "type": "object", "properties": {
                "contacts": count, "emails_sent": count, "ai_credits_used": count
            } },
            "billing_enabled": { "type": "boolean" }
        }, "required": ["plan", "limits", "usage", "billing_enabled"] }),
    )
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn id() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }])
}

pub(super) fn billing_paths(paths: &mut Map<String, Value>) {
    let mut shown = error_responses(&["401", "503"]);
    shown.insert("200".into(), summary());
    paths.insert(
        "/v1/billing".into(),
        json!({ "get": { "operationId": "billing_summary", "tags": ["billing"], "responses": shown } }),
    );
    let mut checkout = error_responses(&["400", "401", "409", "415", "501", "502", "503"]);
    checkout.insert("200".into(), link());
    paths.insert(
        "/v1/billing/checkout".into(),
        json!({ "post": {
            "operationId": "billing_checkout",
            "tags": ["billing"],
            "requestBody": body(json!({
                "type": "object",
                "properties": { "plan": { "type": "string", "enum": ["growth", "scale"] } },
                "required": ["plan"],
                "additionalProperties": false
            })),
            "responses": checkout
        } }),
    );
    let mut confirmed = error_responses(&["400", "401", "403", "404", "501", "502", "503"]);
    confirmed.insert("200".into(), summary());
    paths.insert(
        "/v1/billing/checkout/{session_id}".into(),
        json!({ "get": {
            "operationId": "billing_confirm_checkout",
            "tags": ["billing"],
            "description": "Where Checkout returns to: the session is read from Stripe and applied at once (the webhook may come later).",
            "parameters": [{ "name": "session_id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": confirmed
        } }),
    );
    let mut portal = error_responses(&["401", "409", "501", "502", "503"]);
    portal.insert("200".into(), link());
    paths.insert(
        "/v1/billing/portal".into(),
        json!({ "post": { "operationId": "billing_portal", "tags": ["billing"], "responses": portal } }),
    );
    let mut set = error_responses(&["400", "401", "403", "404", "415", "503"]);
    set.insert("200".into(), summary());
    paths.insert(
        "/v1/billing/plan".into(),
        json!({ "post": {
            "operationId": "billing_set_plan",
            "tags": ["billing"],
            "description": "Admins only: a user's plan set by hand (audited).",
            "requestBody": body(json!({
                "type": "object",
                "properties": { "user_id": { "type": "string" }, "plan": { "type": "string" } },
                "required": ["user_id", "plan"],
                "additionalProperties": false
            })),
            "responses": set
        } }),
    );
    invoice_paths(paths);
}

fn invoice_paths(paths: &mut Map<String, Value>) {
    let status = json_response(
        "the caller's Stripe account for invoicing leads",
        json!({ "type": "object", "properties": {
            "connected": { "type": "boolean" },
            "charges_enabled": { "type": "boolean" },
            "details_submitted": { "type": "boolean" },
            "onboarding_url": { "type": "string" }
        }, "required": ["connected", "charges_enabled", "details_submitted"] }),
    );
    let mut read = error_responses(&["401", "503"]);
    read.insert("200".into(), status.clone());
    let mut connect = error_responses(&["401", "501", "502", "503"]);
    connect.insert("200".into(), status);
    paths.insert(
        "/v1/billing/connect".into(),
        json!({
            "get": { "operationId": "invoicing_account", "tags": ["invoices"], "responses": read },
            "post": { "operationId": "connect_invoicing_account", "tags": ["invoices"], "description": "Creates the account on first use and returns a link to its onboarding.", "responses": connect }
        }),
    );
    let invoice = json!({ "$ref": "#/components/schemas/invoices" });
    let mut created = error_responses(&["400", "401", "404", "409", "415", "501", "502", "503"]);
    created.insert(
        "201".into(),
        json_response(
            "a draft invoice for the lead, priced from the package",
            invoice.clone(),
        ),
    );
    paths.insert(
        "/v1/invoices/from-package".into(),
        json!({ "post": {
            "operationId": "invoice_from_package",
            "tags": ["invoices"],
            "requestBody": body(json!({
                "type": "object",
                "properties": { "lead_id": { "type": "string" }, "package_id": { "type": "string" } },
                "required": ["lead_id", "package_id"],
                "additionalProperties": false
            })),
            "responses": created
        } }),
    );
    for (action, id_suffix, about) in [
        (
            "send",
            "send_invoice",
            "finalised at Stripe and e-mailed to the lead with its payment link",
        ),
        (
            "void",
            "void_invoice",
            "voided (at Stripe when it was sent)",
        ),
        (
            "mark-uncollectible",
            "mark_invoice_uncollectible",
            "marked uncollectible",
        ),
        (
            "mark-paid",
            "mark_invoice_paid",
            "paid outside Stripe (cash, bank transfer)",
        ),
    ] {
        let mut moved = error_responses(&["400", "401", "403", "404", "409", "501", "502", "503"]);
        moved.insert(
            "200".into(),
            json_response(&format!("the invoice, {about}"), invoice.clone()),
        );
        paths.insert(
            format!("/v1/invoices/{{id}}/{action}"),
            json!({ "post": { "operationId": id_suffix, "tags": ["invoices"], "parameters": id(), "responses": moved } }),
        );
    }
}
