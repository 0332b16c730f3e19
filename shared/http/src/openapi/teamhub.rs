//! Team Hub templates beyond the row routes (docs/teamhub.md).

use serde_json::{Map, Value, json};

use super::{error_responses, json_response};

fn schema(table: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{table}") })
}

pub(super) fn teamhub_paths(paths: &mut Map<String, Value>) {
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 200 });
    let mut built = error_responses(&["400", "401", "403", "404", "415", "422", "503"]);
    built.insert(
        "201".into(),
        json_response(
            "the board with its lists and cards; the caller is its owner",
            json!({ "type": "object", "properties": {
                "board": schema("teamhub_boards"),
                "lists": { "type": "array", "items": schema("teamhub_lists") },
                "cards": { "type": "array", "items": schema("teamhub_cards") }
            }, "required": ["board", "lists", "cards"] }),
        ),
    );
    paths.insert(
        "/v1/teamhub/boards/from-template".into(),
        json!({ "post": {
            "operationId": "board_from_template",
            "tags": ["teamhub_boards"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "template_id": { "type": "string", "format": "uuid" }, "name": name },
                "required": ["template_id", "name"],
                "additionalProperties": false
            } } } },
            "responses": built
        } }),
    );
    let mut saved = error_responses(&["400", "401", "403", "404", "415", "422", "503"]);
    saved.insert(
        "201".into(),
        json_response(
            "the caller's new `user` template: the board's lists and open cards",
            schema("teamhub_flow_templates"),
        ),
    );
    paths.insert(
        "/v1/teamhub/boards/{id}/save-as-template".into(),
        json!({ "post": {
            "operationId": "save_board_as_template",
            "tags": ["teamhub_flow_templates"],
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "name": name },
                "required": ["name"],
                "additionalProperties": false
            } } } },
            "responses": saved
        } }),
    );
}
