//! AI over HTTP on the local system, the model played by a local Gemini fake that accepts
//! only the exact request the real API requires: prompt resolution (own, default, system),
//! merge tags from the lead, metering (reserve, settle, refund), 100 concurrent calls against
//! 50 remaining credits, the prompt test, and one tenant unable to use another's prompt or
//! lead.

use std::sync::Arc;
use std::time::Duration;

use scaliyo_ai::Retrying;
use scaliyo_ai::gemini::Gemini;
use scaliyo_app::ai::SharedModel;
use scaliyo_domain::ids::Role;
use scaliyo_domain::schema;
use scaliyo_store::SystemClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use scaliyo_tests::model_fake::{GEMINI_PATH as MODEL_PATH, gemini_answer as answer};

async fn with_gemini() -> (RunningLocal, MockServer) {
    let fake = MockServer::start().await;
    let gemini = Gemini::new(
        format!("{}/v1beta", fake.uri()),
        "test-key",
        "gemini-2.0-flash",
    );
    let model = Retrying::new(Arc::new(gemini)).with_backoff(Duration::from_millis(5));
    let local = RunningLocal::start_configured(Arc::new(SystemClock), move |config| {
        config.ai_model = Some(SharedModel(Arc::new(model)));
    })
    .await;
    (local, fake)
}

async fn signed_up(local: &RunningLocal, email: &str) -> Client {
    let user = Client::user(local, Role::Client, Some(email));
    assert_eq!(user.sign_up().await.status, 201);
    user
}

/// A shared prompt as an operator writes it (system prompts and default user prompts are
/// not the customers' to write).
async fn operator_writes(local: &RunningLocal, table: &'static schema::Table, row: Value) {
    let Value::Object(row) = row else {
        unreachable!()
    };
    local
        .system
        .access
        .rows()
        .create(table, None, row)
        .await
        .expect("the operator's row is written");
}

async fn month_usage(user: &Client) -> (i64, i64) {
    let rows = user.get("/v1/workspace_ai_usage").await.body;
    let row = &rows["data"][0];
    (
        row["credits_used"].as_i64().unwrap_or(0),
        row["tokens_used"].as_i64().unwrap_or(0),
    )
}

async fn no_rows(user: &Client, path: &str) -> bool {
    user.get(path).await.body["data"]
        .as_array()
        .is_some_and(Vec::is_empty)
}

#[tokio::test]
async fn without_a_model_the_ai_routes_answer_501_naming_the_variables() {
    let local = RunningLocal::start().await;
    let ada = signed_up(&local, "ada@example.com").await;
    let reply = ada
        .post("/v1/ai/generate", json!({"prompt_key": "cold_open"}))
        .await;
    assert_eq!(reply.status, 501);
    assert_eq!(reply.code(), "ai_not_configured");
    assert!(
        reply.body["variables"]
            .as_str()
            .unwrap()
            .contains("AI_PROVIDER")
    );
    let test = ada
        .post(
            "/v1/user_prompts/00000000-0000-4000-8000-000000000000/test",
            json!({}),
        )
        .await;
    assert_eq!(test.code(), "ai_not_configured");
}

#[tokio::test]
async fn a_key_resolves_the_own_prompt_then_the_default_then_the_system_one_rendered_with_the_lead()
{
    let (local, fake) = with_gemini().await;
    let ada = signed_up(&local, "ada@example.com").await;
    let lead = ada
        .post(
            "/v1/leads",
            json!({"name": "Grace Hopper", "first_name": "Grace", "company": "Acme", "email": "grace@acme.test"}),
        )
        .await;
    assert_eq!(lead.status, 201, "{:?}", lead.body);
    let lead_id = lead.body["id"].as_str().unwrap().to_owned();
    operator_writes(
        &local,
        &schema::AI_PROMPTS,
        json!({"name": "cold_open", "template": "Say hi to {{first_name}} at {{company}}."}),
    )
    .await;

    // 1. Only the system prompt exists.
    Mock::given(method("POST"))
        .and(path(MODEL_PATH))
        .and(header("x-goog-api-key", "test-key"))
        .and(body_partial_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "Say hi to Grace at Acme."}]}],
            "generationConfig": {"temperature": 0.7, "topP": 0.9, "maxOutputTokens": 1024}
        })))
        .respond_with(answer("Hi Grace!", 12, 4))
        .expect(1)
        .mount(&fake)
        .await;
    let reply = ada
        .post(
            "/v1/ai/generate",
            json!({"prompt_key": "cold_open", "lead_id": lead_id}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["text"], "Hi Grace!");
    assert_eq!(
        reply.body["tokens"],
        json!({"input": 12, "output": 4, "total": 16})
    );
    assert_eq!(reply.body["prompt"]["source"], "system");
    assert_eq!(reply.body["operation"], "content");
    // 16 tokens cost the content minimum.
    assert_eq!(reply.body["credits_charged"], 2);
    assert_eq!(reply.body["credits_remaining"], 998);

    // 2. A default user prompt for the key takes over.
    operator_writes(
        &local,
        &schema::USER_PROMPTS,
        json!({
        "prompt_key": "cold_open", "category": "email", "display_name": "Cold open",
        "is_default": true, "system_instruction": "Be brief.",
        "prompt_template": "Open to {{first_name}} ({{title|a buyer}})."}),
    )
    .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Open to Grace (a buyer)."}]}]
        })))
        .respond_with(answer("Hello Grace.", 20, 3))
        .expect(1)
        .mount(&fake)
        .await;
    let reply = ada
        .post(
            "/v1/ai/generate",
            json!({"prompt_key": "cold_open", "lead_id": lead_id}),
        )
        .await;
    assert_eq!(
        reply.body["prompt"]["source"], "default",
        "{:?}",
        reply.body
    );
    assert_eq!(reply.body["operation"], "email_sequence");
    assert_eq!(reply.body["credits_charged"], 3);

    // 3. Ada's own prompt wins, with its sampling and her variables over the lead's fields.
    let own = ada
        .post("/v1/user_prompts", json!({
            "prompt_key": "cold_open", "category": "content", "display_name": "Mine",
            "prompt_template": "Write {{tone}} to {{first_name}}.", "temperature": 0.2, "top_p": 0.5}))
        .await;
    assert_eq!(own.status, 201, "{:?}", own.body);
    Mock::given(method("POST"))
        .and(body_partial_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "Write warmly to Grace."}]}],
            "generationConfig": {"temperature": 0.2, "topP": 0.5, "maxOutputTokens": 200}
        })))
        .respond_with(answer("Dear Grace,", 1_500, 200))
        .expect(1)
        .mount(&fake)
        .await;
    let reply = ada
        .post(
            "/v1/ai/generate",
            json!({"prompt_key": "cold_open", "lead_id": lead_id,
            "variables": {"tone": "warmly"}, "max_output_tokens": 200}),
        )
        .await;
    assert_eq!(reply.body["prompt"]["source"], "user", "{:?}", reply.body);
    assert_eq!(reply.body["prompt"]["id"], own.body["id"]);
    // 1,700 tokens: three credits.
    assert_eq!(reply.body["credits_charged"], 3);

    // The month's row, the day's counter and one log row per call.
    assert_eq!(month_usage(&ada).await, (8, 16 + 23 + 1_700));
    let day = ada.get("/v1/workspace_usage_counters").await.body;
    assert_eq!(day["data"][0]["ai_credits_used"], 8);
    let logs = ada.get("/v1/ai_usage_logs").await.body["data"].clone();
    let mut tokens: Vec<i64> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["tokens_used"].as_i64().unwrap())
        .collect();
    tokens.sort();
    assert_eq!(tokens, [16, 23, 1_700]);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_credit_or_model_call() {
    let (local, fake) = with_gemini().await;
    let ada = signed_up(&local, "ada@example.com").await;
    let own = ada
        .post(
            "/v1/user_prompts",
            json!({"prompt_key": "p", "category": "content", "display_name": "P",
            "prompt_template": "Hi {{first_name}} from {{unknown_thing}} and {{other}}"}),
        )
        .await;
    let id = own.body["id"].as_str().unwrap().to_owned();
    let cases = [
        (
            json!({"prompt_key": "p", "variables": {"first_name": "Ann"}}),
            400,
            "unknown_merge_tags",
        ),
        (json!({"prompt_key": "nope"}), 404, "prompt_not_found"),
        (json!({"prompt_key": "p", "prompt_id": id}), 400, "invalid"),
        (json!({}), 400, "invalid"),
        (
            json!({"prompt_id": id, "operation": "telepathy"}),
            400,
            "invalid",
        ),
        (
            json!({"prompt_id": id, "max_output_tokens": 0}),
            400,
            "invalid",
        ),
        (
            json!({"prompt_id": id, "max_output_tokens": 100_000}),
            400,
            "invalid",
        ),
        (
            json!({"prompt_id": id, "variables": {"x": {"nested": 1}}}),
            400,
            "invalid",
        ),
        (
            json!({"prompt_id": id, "lead_id": "00000000-0000-4000-8000-000000000000"}),
            404,
            "not_found",
        ),
        (
            json!({"prompt_key": "p", "surprise": true}),
            400,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let reply = ada.post("/v1/ai/generate", body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "{body} → {:?}",
            reply.body
        );
    }
    let unknown = ada.post("/v1/ai/generate", json!({"prompt_id": id})).await;
    assert_eq!(
        unknown.body["tags"],
        json!(["first_name", "unknown_thing", "other"])
    );
    assert!(fake.received_requests().await.unwrap().is_empty());
    assert!(no_rows(&ada, "/v1/workspace_ai_usage").await);
}

#[tokio::test]
async fn a_failed_model_call_hands_its_credits_back() {
    let (local, fake) = with_gemini().await;
    let ada = signed_up(&local, "ada@example.com").await;
    operator_writes(
        &local,
        &schema::AI_PROMPTS,
        json!({"name": "p", "template": "Hello"}),
    )
    .await;
    let generate = || ada.post("/v1/ai/generate", json!({"prompt_key": "p"}));

    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "status": "INVALID_ARGUMENT", "message": "API key not valid."}})))
        .up_to_n_times(1)
        .mount(&fake)
        .await;
    let rejected = generate().await;
    assert_eq!((rejected.status, rejected.code()), (502, "model_rejected"));
    // The provider's message (it may name keys or quotas) stays in the logs.
    assert!(
        !rejected.body["message"]
            .as_str()
            .unwrap()
            .contains("API key")
    );

    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 1}})))
        .up_to_n_times(1)
        .mount(&fake)
        .await;
    let blocked = generate().await;
    assert_eq!((blocked.status, blocked.code()), (422, "model_refused"));
    assert_eq!(blocked.body["reason"], "SAFETY");

    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {
            "code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"}]}})))
        .mount(&fake)
        .await;
    let throttled = generate().await;
    assert_eq!(
        (throttled.status, throttled.code()),
        (503, "model_rate_limited")
    );
    assert_eq!(
        throttled
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );

    // 1 + 1 + 3 attempts reached the model; not one credit is kept.
    assert_eq!(fake.received_requests().await.unwrap().len(), 5);
    assert_eq!(month_usage(&ada).await, (0, 0));
    assert!(no_rows(&ada, "/v1/ai_usage_logs").await);
}

#[tokio::test]
async fn a_hundred_concurrent_calls_against_fifty_remaining_credits_never_pass_the_limit() {
    let (local, fake) = with_gemini().await;
    let ada = signed_up(&local, "ada@example.com").await;
    // An analytics prompt: an insight, one credit at least.
    let prompt = ada
        .post(
            "/v1/user_prompts",
            json!({"prompt_key": "score", "category": "analytics", "display_name": "Score",
                   "prompt_template": "Score this lead."}),
        )
        .await;
    assert_eq!(prompt.status, 201, "{:?}", prompt.body);
    Mock::given(method("POST"))
        .respond_with(answer("72", 10, 1).set_delay(Duration::from_millis(20)))
        .mount(&fake)
        .await;
    // The Starter plan's 1,000 credits, 950 of them used.
    let used = ada
        .post("/v1/rpc/increment_ai_usage", json!({"credits": 950}))
        .await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    let calls = (0..100).map(|_| {
        ada.post(
            "/v1/ai/generate",
            json!({"prompt_key": "score", "max_output_tokens": 16}),
        )
    });
    let replies = futures::future::join_all(calls).await;
    let served = replies.iter().filter(|r| r.status == 200).count();
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 402).collect();
    assert_eq!(served, 50);
    assert_eq!(refused.len(), 50);
    for reply in &refused {
        assert_eq!(reply.code(), "credits_exhausted");
        assert_eq!(reply.body["needed"], 1);
        assert!(reply.body["remaining"].as_i64().unwrap() <= 1);
        assert!(
            reply.body["resets_at"]
                .as_str()
                .unwrap()
                .ends_with("-01T00:00:00+00:00")
        );
    }
    // Refused calls never reached the model.
    assert_eq!(fake.received_requests().await.unwrap().len(), 50);
    assert_eq!(month_usage(&ada).await.0, 1_000);
    let last = ada
        .post("/v1/ai/generate", json!({"prompt_key": "score"}))
        .await;
    assert_eq!(
        (last.status, last.body["remaining"].clone()),
        (402, json!(0))
    );
}

#[tokio::test]
async fn a_prompt_test_keeps_its_answer_on_the_prompt_and_tenants_cannot_use_each_others_prompts_or_leads()
 {
    let (local, fake) = with_gemini().await;
    let ada = signed_up(&local, "ada@example.com").await;
    let bob = signed_up(&local, "bob@example.com").await;
    Mock::given(method("POST"))
        .respond_with(answer("Tested answer.", 30, 3))
        .mount(&fake)
        .await;
    let prompt = ada
        .post(
            "/v1/user_prompts",
            json!({"prompt_key": "research", "category": "lead_research",
            "display_name": "Research", "prompt_template": "About {{company}}"}),
        )
        .await;
    let id = prompt.body["id"].as_str().unwrap().to_owned();
    let lead = ada
        .post(
            "/v1/leads",
            json!({"name": "Grace Hopper", "first_name": "Grace", "company": "Acme"}),
        )
        .await;
    let lead_id = lead.body["id"].as_str().unwrap().to_owned();

    let tested = ada
        .post(
            &format!("/v1/user_prompts/{id}/test"),
            json!({"lead_id": lead_id}),
        )
        .await;
    assert_eq!(tested.status, 200, "{:?}", tested.body);
    assert_eq!(tested.body["result"]["text"], "Tested answer.");
    assert_eq!(tested.body["result"]["operation"], "lead_research");
    assert_eq!(tested.body["prompt"]["test_result"], "Tested answer.");
    assert!(tested.body["prompt"]["last_tested_at"].is_string());
    let stored = ada.get(&format!("/v1/user_prompts/{id}")).await;
    assert_eq!(stored.body["test_result"], "Tested answer.");
    // A test changes no version of the prompt.
    assert_eq!(stored.body["version"], 1);

    // A caller may name a dearer operation, never a cheaper one than the prompt's.
    let cheaper = ada
        .post(
            "/v1/ai/generate",
            json!({"prompt_id": id, "lead_id": lead_id, "operation": "scoring"}),
        )
        .await;
    assert_eq!(
        cheaper.body["operation"], "lead_research",
        "{:?}",
        cheaper.body
    );
    assert_eq!(cheaper.body["credits_charged"], 2);
    let dearer = ada
        .post(
            "/v1/ai/generate",
            json!({"prompt_id": id, "lead_id": lead_id, "operation": "batch"}),
        )
        .await;
    assert_eq!(dearer.body["operation"], "batch");
    assert_eq!(dearer.body["credits_charged"], 5);

    // Bob knows every id and gets nothing, and pays nothing.
    let by_id = bob.post("/v1/ai/generate", json!({"prompt_id": id})).await;
    assert_eq!((by_id.status, by_id.code()), (404, "prompt_not_found"));
    let by_key = bob
        .post("/v1/ai/generate", json!({"prompt_key": "research"}))
        .await;
    assert_eq!((by_key.status, by_key.code()), (404, "prompt_not_found"));
    let test = bob
        .post(&format!("/v1/user_prompts/{id}/test"), json!({}))
        .await;
    assert_eq!((test.status, test.code()), (404, "prompt_not_found"));
    operator_writes(
        &local,
        &schema::AI_PROMPTS,
        json!({"name": "open", "template": "Hi {{first_name}}"}),
    )
    .await;
    let lead = bob
        .post(
            "/v1/ai/generate",
            json!({"prompt_key": "open", "lead_id": lead_id}),
        )
        .await;
    assert_eq!((lead.status, lead.code()), (404, "not_found"));
    assert!(no_rows(&bob, "/v1/workspace_ai_usage").await);
    assert_eq!(fake.received_requests().await.unwrap().len(), 3);
    let _ = &local;
}

#[tokio::test]
async fn a_first_call_larger_than_the_whole_month_is_refused_and_creates_no_usage() {
    let (local, fake) = with_gemini().await;
    Mock::given(method("POST"))
        .respond_with(answer("72", 10, 1))
        .mount(&fake)
        .await;
    let bob = signed_up(&local, "bob@example.com").await;
    bob.post(
        "/v1/user_prompts",
        json!({"prompt_key": "big", "category": "content", "display_name": "Big",
               "prompt_template": "{{blob}}"}),
    )
    .await;
    // ~900 KB of prompt: its reservation alone (1,127 credits) is past the plan's 1,000, on a
    // month with no usage row yet.
    let huge = bob
        .post(
            "/v1/ai/generate",
            json!({"prompt_key": "big", "variables": {"blob": "x".repeat(900_000)}}),
        )
        .await;
    assert_eq!(
        (huge.status, huge.code()),
        (402, "credits_exhausted"),
        "{:?}",
        huge.body
    );
    assert_eq!(
        (huge.body["remaining"].clone(), huge.body["needed"].clone()),
        (json!(1000), json!(1127))
    );
    // The RPC's add is held to the same rule.
    let rpc = bob
        .post("/v1/rpc/increment_ai_usage", json!({"credits": 5_000}))
        .await;
    assert_eq!(
        (rpc.status, rpc.code()),
        (429, "quota_exceeded"),
        "{:?}",
        rpc.body
    );
    assert!(fake.received_requests().await.unwrap().is_empty());
    assert!(no_rows(&bob, "/v1/workspace_ai_usage").await);
}
