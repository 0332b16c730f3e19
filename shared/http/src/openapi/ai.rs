//! AI (docs/ai.md): metered model calls, lead research and AI-written sequences. Without a
//! configured provider the routes that call the model answer `501 ai_not_configured`.

use serde_json::{Map, Value, json};

use super::{error_responses, json_response, send_window};

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

fn run_started() -> Value {
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({ "type": "object", "properties": {
        "run_id": { "type": "string", "format": "uuid" },
        "kind": { "type": "string", "enum": ["research", "sequence"] },
        "total": count,
        "skipped": { "type": "array", "items": { "type": "object", "properties": {
            "lead_id": { "type": "string" },
            "reason": { "type": "string", "enum": ["no_website", "no_email"] }
        } } },
        "credits_reserved": count
    }, "required": ["run_id", "kind", "total", "skipped", "credits_reserved"] })
}

fn run_progress() -> Value {
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({ "type": "object", "properties": {
        "run_id": { "type": "string" },
        "kind": { "type": "string", "enum": ["research", "sequence"] },
        "status": { "type": "string", "enum": ["running", "completed"] },
        "total": count, "written": count, "failed": count, "pending": count,
        "credits_reserved": count, "credits_charged": count, "credits_refunded": count,
        "created_at": { "type": "string" },
        "items": { "type": "array", "items": { "type": "object", "properties": {
            "lead_id": { "type": "string" },
            "status": { "type": "string", "enum": ["pending", "written", "failed"] },
            "attempts": count,
            "error": { "type": ["string", "null"] },
            "sequence_id": { "type": ["string", "null"] }
        } } }
    }, "required": ["run_id", "kind", "status", "total", "written", "failed", "items"] })
}

fn lead_ids() -> Value {
    json!({ "type": "array", "minItems": 1, "maxItems": scaliyo_domain::ai::sequence::MAX_LEADS, "items": { "type": "string" } })
}

fn with_research_errors(mut responses: Map<String, Value>) -> Map<String, Value> {
    for (code, description) in [
        (
            "422",
            "the model refused (`model_refused`), the lead has no website (`no_website`) or it may not be read (`website_refused`: a private address)",
        ),
        (
            "502",
            "the model or the website failed (`model_unavailable`, `model_rejected`, `model_answer_unreadable`, `website_unreachable`); nothing was charged",
        ),
    ] {
        responses.insert(
            code.to_owned(),
            json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
        );
    }
    responses
}

fn run_paths(paths: &mut Map<String, Value>) {
    let mut research = with_research_errors(responses());
    research.insert(
        "200".into(),
        json_response(
            "the lead's new `knowledgeBase`, the page read, the tokens and the credits charged",
            json!({ "type": "object", "properties": {
                "lead_id": { "type": "string" },
                "knowledgeBase": { "type": "object", "properties": {
                    "aiResearchBrief": { "type": "string" },
                    "aiResearchedAt": { "type": "string" },
                    "title": { "type": ["string", "null"] },
                    "industry": { "type": ["string", "null"] },
                    "talkingPoints": { "type": "array", "items": { "type": "string" } },
                    "website": { "type": "object" }
                } },
                "website": { "type": "string" },
                "credits_charged": { "type": "integer" },
                "credits_remaining": { "type": "integer" }
            }, "required": ["lead_id", "knowledgeBase", "website", "credits_charged"] }),
        ),
    );
    paths.insert(
        "/v1/leads/{id}/research".into(),
        json!({ "post": {
            "operationId": "research_lead",
            "tags": ["ai"],
            "description": "Reads the lead's company website (`website`, else `custom_fields.website`, else its business e-mail's domain; public addresses only, 5 s, 2 MiB), asks the model for a brief and talking points and writes the lead's `knowledgeBase`. Costs at least 2 credits; nothing when the site or the model fails.",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "website": { "type": "string" } },
                "additionalProperties": false
            } } } },
            "responses": research
        } }),
    );
    let mut started = with_research_errors(responses());
    started.remove("422");
    started.insert(
        "202".into(),
        json_response("the run, queued; its credits reserved", run_started()),
    );
    paths.insert(
        "/v1/leads/research".into(),
        json!({ "post": {
            "operationId": "start_research_run",
            "tags": ["ai"],
            "description": "Researches up to 100 leads through the queue. Every lead's worst case is reserved up front (`402` when the month cannot cover it) and what a lead did not use is handed back; leads without a website are skipped.",
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "lead_ids": lead_ids() },
                "required": ["lead_ids"],
                "additionalProperties": false
            } } } },
            "responses": started.clone()
        } }),
    );
    let step = json!({ "type": "object", "properties": {
        "delay_days": { "type": "integer", "minimum": 0, "maximum": 365 },
        "delay_hours": { "type": "integer", "minimum": 0, "maximum": 8760 },
        "delay_minutes": { "type": "integer", "minimum": 0, "maximum": 525600 },
        "subject": { "type": "string", "maxLength": scaliyo_domain::ai::sequence::MAX_SUBJECT_CHARS },
        "body": { "type": "string", "maxLength": scaliyo_domain::ai::sequence::MAX_BODY_CHARS }
    }, "required": ["subject", "body"], "additionalProperties": false });
    paths.insert(
        "/v1/sequences/ai".into(),
        json!({ "post": {
            "operationId": "start_ai_sequence",
            "tags": ["ai", "sequences"],
            "description": "Writes each lead's e-mails with the model from the step templates (merge tags filled), the lead's fields and its research, then schedules them as a sequence the scheduler sends. Runs through the queue; leads without an e-mail address are skipped; credits reserved up front, refunded for what was not written.",
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    "lead_ids": lead_ids(),
                    "steps": { "type": "array", "minItems": 1, "maxItems": scaliyo_domain::ai::sequence::MAX_STEPS, "items": step },
                    "config": { "type": "object", "properties": {
                        "tone": { "type": "string" }, "goal": { "type": "string" }
                    }, "additionalProperties": false },
                    "start_at": { "type": ["string", "null"], "format": "date-time" },
                    "window": send_window(),
                    "variables": { "type": "object", "additionalProperties": { "type": "string" } }
                },
                "required": ["lead_ids", "steps"],
                "additionalProperties": false
            } } } },
            "responses": started
        } }),
    );
    for (path, id, kind) in [
        (
            "/v1/leads/research/{run_id}",
            "research_run_progress",
            "research",
        ),
        (
            "/v1/sequences/ai/{run_id}",
            "ai_sequence_progress",
            "sequence",
        ),
    ] {
        let mut progress = error_responses(&["401", "404", "503"]);
        progress.insert(
            "200".into(),
            json_response(&format!("the {kind} run's progress"), run_progress()),
        );
        paths.insert(
            path.into(),
            json!({ "get": {
                "operationId": id,
                "tags": ["ai"],
                "parameters": [{ "name": "run_id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": progress
            } }),
        );
    }
}

pub(super) fn ai_paths(paths: &mut Map<String, Value>) {
    run_paths(paths);
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
