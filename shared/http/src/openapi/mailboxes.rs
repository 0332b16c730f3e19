//! Reply detection per sender account: where its mailbox is read (Gmail through its grant,
//! an SMTP account's IMAP server), its state, and switching it off. The login is never shown.

use serde_json::{Map, Value, json};

use super::{error_responses, json_response};

pub(super) fn mailbox_paths(paths: &mut Map<String, Value>) {
    let id =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let nullable = json!({ "type": ["string", "null"] });
    let state = json!({ "type": "object", "properties": {
        "sender_account_id": nullable,
        "enabled": { "type": "boolean" },
        "provider": nullable,
        "imap_host": nullable,
        "imap_port": { "type": ["integer", "null"] },
        "imap_security": nullable,
        "last_polled_at": nullable,
        "last_error": nullable
    }, "required": ["enabled"] });
    let mut enabled = error_responses(&["400", "401", "403", "404", "415", "502", "503"]);
    enabled.insert(
        "200".into(),
        json_response(
            "reply detection is on (the IMAP login checked first)",
            state.clone(),
        ),
    );
    let mut shown = error_responses(&["401", "404", "503"]);
    shown.insert(
        "200".into(),
        json_response(
            "whether replies are detected, and the last poll",
            state.clone(),
        ),
    );
    let mut disabled = error_responses(&["401", "403", "404", "503"]);
    disabled.insert("200".into(), json_response("reply detection is off", state));
    paths.insert(
        "/v1/sender-accounts/{id}/reply-detection".into(),
        json!({
            "put": {
                "operationId": "enable_reply_detection",
                "tags": ["replies"],
                "parameters": id,
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": { "imap": { "type": ["object", "null"], "properties": {
                        "host": { "type": "string" },
                        "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
                        "security": { "type": ["string", "null"], "enum": ["ssl", "none", null] },
                        "username": { "type": ["string", "null"] },
                        "password": { "type": ["string", "null"], "writeOnly": true }
                    }, "required": ["host"] } }
                } } } },
                "responses": enabled
            },
            "get": { "operationId": "reply_detection_status", "tags": ["replies"], "parameters": id, "responses": shown },
            "delete": { "operationId": "disable_reply_detection", "tags": ["replies"], "parameters": id, "responses": disabled }
        }),
    );
}
