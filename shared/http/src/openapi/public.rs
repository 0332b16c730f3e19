//! The routes reached without a user token: what mail clients follow (the open pixel, the
//! click redirect, unsubscribe, short links) and what providers post (signed event and
//! inbound webhooks, Stripe, a workflow's hook). Each is authenticated by its unguessable
//! token or its signature, never by a bearer token.

use serde_json::{Map, Value, json};

use super::{error_responses, json_response};

fn token(name: &str) -> Value {
    json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }])
}

fn html(description: &str) -> Value {
    json!({ "description": description, "content": { "text/html": { "schema": { "type": "string" } } } })
}

fn redirect(description: &str) -> Value {
    json!({ "description": description, "headers": { "Location": { "schema": { "type": "string" } } } })
}

/// A page route's answers: what the mail client sees is never a JSON error.
fn pages(ok: (&str, Value)) -> Value {
    let mut responses = Map::new();
    responses.insert(ok.0.into(), ok.1);
    responses.insert(
        "404".into(),
        html("the small not-found page: the link is not valid"),
    );
    responses.insert(
        "503".into(),
        html("a try-again page: the store could not answer"),
    );
    Value::Object(responses)
}

/// `recorded`: how many events a webhook delivery stored.
fn recorded() -> Value {
    json_response(
        "the delivery was verified; how many events it recorded",
        json!({ "type": "object", "properties": { "recorded": { "type": "integer" } }, "required": ["recorded"] }),
    )
}

pub(super) fn public_paths(paths: &mut Map<String, Value>) {
    tracking_paths(paths);
    provider_paths(paths);
    stripe_paths(paths);
    workflow_hook_paths(paths);
}

fn tracking_paths(paths: &mut Map<String, Value>) {
    let mut pixel = Map::new();
    pixel.insert(
        "200".into(),
        json!({ "description": "a 1×1 transparent GIF, always — also for an unknown token or when the store is down (the open is spooled)", "content": { "image/gif": { "schema": { "type": "string", "format": "binary" } } } }),
    );
    paths.insert(
        "/t/o/{token}".into(),
        json!({ "get": { "operationId": "track_open", "tags": ["tracking"], "security": [{}], "parameters": token("token"), "responses": pixel } }),
    );
    paths.insert(
        "/t/c/{token}".into(),
        json!({ "get": { "operationId": "track_click", "tags": ["tracking"], "security": [{}],
            "parameters": [{ "name": "token", "in": "path", "required": true, "schema": { "type": "string" },
                "description": "the link's token, or `<token>.<destination>.<signature>` (base64url): a link signed with its destination, which redirects without a read (ADR 28)" }],
            "responses": pages(("302", redirect("to the link's destination (signed into the link, else stored); the click is recorded"))) } }),
    );
    paths.insert(
        "/l/{slug}".into(),
        json!({ "get": { "operationId": "follow_short_link", "tags": ["social"], "security": [{}], "parameters": token("slug"),
            "responses": pages(("302", redirect("to the short link's destination; the visit is recorded"))) } }),
    );
    paths.insert(
        "/u/{token}".into(),
        json!({
            "get": { "operationId": "unsubscribe_page", "tags": ["tracking"], "security": [{}], "parameters": token("token"),
                "responses": pages(("200", html("a confirmation page with the one-click form (a GET never unsubscribes: link scanners follow links)"))) },
            "post": { "operationId": "unsubscribe", "tags": ["tracking"], "security": [{}], "parameters": token("token"),
                "requestBody": { "required": false, "content": { "application/x-www-form-urlencoded": { "schema": {
                    "type": "object", "properties": { "List-Unsubscribe": { "type": "string", "enum": ["One-Click"] } }
                } } } },
                "responses": pages(("200", html("unsubscribed (RFC 8058 one-click, or the page's form)"))) }
        }),
    );
}

fn provider_paths(paths: &mut Map<String, Value>) {
    let mut events = error_responses(&["400", "401", "404", "503"]);
    events.insert("200".into(), recorded());
    paths.insert(
        "/webhooks/sendgrid/{token}".into(),
        json!({ "post": {
            "operationId": "sendgrid_event_webhook",
            "tags": ["provider-webhooks"],
            "security": [{}],
            "description": "SendGrid's signed Event Webhook (X-Twilio-Email-Event-Webhook-Signature, ECDSA over the timestamp and body).",
            "parameters": token("token"),
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } },
            "responses": events.clone()
        } }),
    );
    paths.insert(
        "/webhooks/mailchimp/{token}".into(),
        json!({ "post": {
            "operationId": "mailchimp_event_webhook",
            "tags": ["provider-webhooks"],
            "security": [{}],
            "description": "Mailchimp Transactional (Mandrill) events, signed with X-Mandrill-Signature.",
            "parameters": token("token"),
            "requestBody": { "required": true, "content": { "application/x-www-form-urlencoded": { "schema": {
                "type": "object", "properties": { "mandrill_events": { "type": "string" } }
            } } } },
            "responses": events
        } }),
    );
    let mut inbound = error_responses(&["400", "401", "404", "413", "502", "503"]);
    inbound.insert("200".into(), recorded());
    paths.insert(
        "/webhooks/inbound/sendgrid/{token}".into(),
        json!({ "post": {
            "operationId": "sendgrid_inbound_parse",
            "tags": ["replies"],
            "security": [{}],
            "description": "SendGrid Inbound Parse: a reply posted as multipart/form-data (the raw message in `email`).",
            "parameters": token("token"),
            "requestBody": { "required": true, "content": { "multipart/form-data": { "schema": {
                "type": "object", "properties": { "email": { "type": "string" } }
            } } } },
            "responses": inbound.clone()
        } }),
    );
    paths.insert(
        "/webhooks/inbound/mailchimp/{token}".into(),
        json!({ "post": {
            "operationId": "mailchimp_inbound",
            "tags": ["replies"],
            "security": [{}],
            "description": "Mailchimp Transactional inbound messages, signed with X-Mandrill-Signature.",
            "parameters": token("token"),
            "requestBody": { "required": true, "content": { "application/x-www-form-urlencoded": { "schema": {
                "type": "object", "properties": { "mandrill_events": { "type": "string" } }
            } } } },
            "responses": inbound
        } }),
    );
}

fn stripe_paths(paths: &mut Map<String, Value>) {
    let mut received = error_responses(&["400", "501", "503"]);
    received.insert(
        "200".into(),
        json_response(
            "the event verified; applied once (a redelivery is a duplicate)",
            json!({ "type": "object", "properties": {
                "received": { "type": "boolean" },
                "result": { "type": "string", "enum": ["applied", "duplicate", "ignored"] }
            }, "required": ["received", "result"] }),
        ),
    );
    for (path, id, about) in [
        (
            "/webhooks/stripe",
            "stripe_webhook",
            "Stripe events about subscriptions (Stripe-Signature with STRIPE_WEBHOOK_SECRET).",
        ),
        (
            "/webhooks/stripe-connect",
            "stripe_connect_webhook",
            "Stripe Connect events about invoices to leads (Stripe-Signature with STRIPE_CONNECT_WEBHOOK_SECRET).",
        ),
    ] {
        paths.insert(
            path.into(),
            json!({ "post": {
                "operationId": id,
                "tags": ["billing"],
                "security": [{}],
                "description": about,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
                "responses": received.clone()
            } }),
        );
    }
}

fn workflow_hook_paths(paths: &mut Map<String, Value>) {
    let mut hook = error_responses(&["400", "401", "404", "503"]);
    hook.insert(
        "200".into(),
        json_response(
            "the workflow's inbound hook URL (made on first use)",
            json!({ "type": "object", "properties": {
                "workflow_id": { "type": "string" }, "url": { "type": "string" }
            }, "required": ["workflow_id", "url"] }),
        ),
    );
    paths.insert(
        "/v1/workflows/{id}/hook".into(),
        json!({ "post": { "operationId": "workflow_hook_url", "tags": ["workflows"], "parameters": token("id"), "responses": hook } }),
    );
    let mut received = error_responses(&["400", "404", "413", "415", "503"]);
    received.insert(
        "202".into(),
        json_response(
            "the lead is enrolled by the engine",
            json!({ "type": "object", "properties": { "accepted": { "type": "boolean" } }, "required": ["accepted"] }),
        ),
    );
    paths.insert(
        "/webhooks/workflows/{token}".into(),
        json!({ "post": {
            "operationId": "workflow_hook",
            "tags": ["workflows"],
            "security": [{}],
            "parameters": token("token"),
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "description": "the lead: by id, or by e-mail address",
                "properties": { "lead_id": { "type": "string" }, "email": { "type": "string" } }
            } } } },
            "responses": received
        } }),
    );
}
