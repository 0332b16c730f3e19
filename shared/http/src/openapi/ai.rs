//! AI (docs/ai.md): metered model calls. Without a configured provider the routes answer
//! `501 ai_not_configured`.

use serde_json::{Map, Value, json};

use super::{error_responses, json_response};

fn generated() -> Value {
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({ "type": "object", "properties": {
        "text": { "type": "string" },
        "tokens": { "type": "object", "properties": { "input": count, "output": count, "total": count } },
        "credits_charged": count,
        "credits_remaining": count,
        "operation": { "type": "string" },
        "provider": { "type": "string", "enum": ["gemini", "bedrock", "openai"] },
        "model": { "type": "string" },
        "prompt": { "type": "object", "properties": {
            "source": { "type": "string", "enum": ["user", "default", "system"] },
            "id": { "type": "string" },
            "version": { "type": "integer" }
        } }
    }, "required": ["text", "tokens", "credits_charged", "credits_remaining"] })
}

fn variables() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean", "null"] } })
}

fn responses() -> Map<String, Value> {
    let mut responses = error_responses(&["400", "401", "404", "415", "503"]);
    for (code, description) in [
        (
            "402",
            "the month's AI credits are exhausted (`credits_exhausted`: `remaining`, `needed`, `resets_at`)",
        ),
        (
            "422",
            "the model refused the prompt (`model_refused`); nothing was charged",
        ),
        (
            "501",
            "no model provider is configured (`ai_not_configured`, `variables` names what to set)",
        ),
        (
            "502",
            "the model provider failed or rejected the call (`model_unavailable`, `model_rejected`); nothing was charged",
        ),
    ] {
        responses.insert(
            code.to_owned(),
            json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
        );
    }
    responses
}

pub(super) fn ai_paths(paths: &mut Map<String, Value>) {
    let mut generate = responses();
    generate.insert(
        "200".into(),
        json_response(
            "the model's answer, its tokens and the credits charged",
            generated(),
        ),
    );
    paths.insert(
        "/v1/ai/generate".into(),
        json!({ "post": {
            "operationId": "ai_generate",
            "tags": ["ai"],
            "description": "Runs the caller's active prompt for `prompt_key` (else the default user prompt, else the active system prompt), or the prompt `prompt_id`, rendered with `variables` and the lead's fields. Credits are reserved before the call and settled to the tokens used (1 credit = 800 tokens, at least the operation's minimum).",
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    "prompt_key": { "type": "string", "minLength": 1 },
                    "prompt_id": { "type": "string" },
                    "variables": variables(),
                    "lead_id": { "type": "string" },
                    "operation": { "type": "string", "enum": ["email_sequence", "content", "lead_research", "scoring", "insights", "blog", "image", "batch"] },
                    "max_output_tokens": { "type": "integer", "minimum": 1, "maximum": scaliyo_domain::ai::MAX_OUTPUT_TOKENS }
                },
                "additionalProperties": false
            } } } },
            "responses": generate
        } }),
    );
    let mut tested = responses();
    tested.insert(
        "200".into(),
        json_response(
            "the answer, and the prompt with `last_tested_at` and `test_result`",
            json!({ "type": "object", "properties": {
                "result": generated(),
                "prompt": { "$ref": "#/components/schemas/user_prompts" }
            }, "required": ["result", "prompt"] }),
        ),
    );
    paths.insert(
        "/v1/user_prompts/{id}/test".into(),
        json!({ "post": {
            "operationId": "test_user_prompt",
            "tags": ["user_prompts"],
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    "variables": variables(),
                    "lead_id": { "type": "string" },
                    "max_output_tokens": { "type": "integer", "minimum": 1, "maximum": scaliyo_domain::ai::MAX_OUTPUT_TOKENS }
                },
                "additionalProperties": false
            } } } },
            "responses": tested
        } }),
    );
}
