//! Lead research and AI-written sequences over HTTP on the local system: the model played by
//! a local Gemini fake (exact requests), company sites by a local web server. Research reads
//! the site and writes `knowledgeBase`; a private site is refused in production; runs go
//! through the queue and the `ai-worker`, settle per lead and refund what was not written; an
//! AI sequence's e-mails land in the outbox through the scheduler; another tenant sees none
//! of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scaliyo_ai::Retrying;
use scaliyo_ai::gemini::Gemini;
use scaliyo_app::ai::{AiWorkerConfig, SharedModel};
use scaliyo_domain::ids::Role;
use scaliyo_store::SystemClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::mailbox::outbox_messages;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use scaliyo_tests::model_fake::{GEMINI_PATH as MODEL_PATH, gemini_answer as answer};

/// The prompt text of a Gemini request.
fn prompt_of(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Writes each step's e-mail for the lead the prompt names, as a model would.
struct SequenceWriter;

impl Respond for SequenceWriter {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let prompt = prompt_of(request);
        let name = prompt
            .lines()
            .find_map(|l| l.strip_prefix("- Name: "))
            .unwrap_or("there")
            .to_owned();
        let steps: usize = prompt
            .split_once("Steps (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or(0);
        let emails: Vec<Value> = (1..=steps)
            .map(|i| json!({"subject": format!("Step {i} for {name}"), "body": format!("Hello {name},\n\nStep {i}: picking robots <fast>.")}))
            .collect();
        answer(&json!({ "emails": emails }).to_string(), 900, 300)
    }
}

const BRIEF: &str = r#"{"brief": "Acme Robotics builds autonomous picking robots for mid-size warehouses.", "talking_points": ["200 warehouses in Europe", "Picking speed"], "title": "COO", "industry": "Warehouse automation"}"#;

const SITE: &str = r#"<!doctype html><html><head><title>Acme Robotics | Warehouse automation</title>
<meta name="description" content="Robots that pick &amp; pack."></head>
<body><h1>Pick faster.</h1><p>Used by 200 warehouses in Europe.</p>
<a href="mailto:hello@acme-robotics.example">Write</a>
<a href="https://www.linkedin.com/company/acme-robotics">LinkedIn</a></body></html>"#;

struct World {
    local: RunningLocal,
    model: MockServer,
    site: MockServer,
}

async fn world(allow_private_sites: bool) -> World {
    let model = MockServer::start().await;
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string(SITE),
        )
        .mount(&site)
        .await;
    let gemini = Gemini::new(
        format!("{}/v1beta", model.uri()),
        "test-key",
        "gemini-2.0-flash",
    );
    let gemini = Retrying::new(Arc::new(gemini)).with_backoff(Duration::from_millis(5));
    let local = RunningLocal::start_configured(Arc::new(SystemClock), move |config| {
        config.ai_model = Some(SharedModel(Arc::new(gemini)));
        config.research_allow_private = allow_private_sites;
        config.ai_worker = AiWorkerConfig {
            concurrency: 4,
            requests_per_minute: 6_000,
            retry_delay: Duration::ZERO,
        };
    })
    .await;
    World { local, model, site }
}

impl World {
    async fn user(&self, email: &str) -> Client {
        let user = Client::user(&self.local, Role::Client, Some(email));
        assert_eq!(user.sign_up().await.status, 201);
        user
    }

    async fn lead(&self, user: &Client, fields: Value) -> String {
        let lead = user.post("/v1/leads", fields).await;
        assert_eq!(lead.status, 201, "{}", lead.body);
        lead.body["id"].as_str().unwrap().to_owned()
    }

    async fn research_answers(&self) {
        Mock::given(method("POST"))
            .and(path(MODEL_PATH))
            .and(header("x-goog-api-key", "test-key"))
            .and(body_string_contains("sales research assistant"))
            .respond_with(answer(BRIEF, 700, 120))
            .mount(&self.model)
            .await;
    }

    async fn drain(&self) -> usize {
        self.local.system.ai_worker().drain().await
    }

    async fn model_calls(&self) -> usize {
        self.model
            .received_requests()
            .await
            .unwrap_or_default()
            .len()
    }
}

async fn credits_used(user: &Client) -> i64 {
    let rows = user.get("/v1/workspace_ai_usage").await.body;
    rows["data"][0]["credits_used"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn research_reads_the_company_site_and_writes_the_knowledge_base() {
    let w = world(true).await;
    w.research_answers().await;
    let ada = w.user("ada@example.com").await;
    let lead = w
        .lead(
            &ada,
            json!({"name": "Grace Hopper", "company": "Acme Robotics", "title": "Operations",
                   "custom_fields": {"website": w.site.uri()}}),
        )
        .await;
    let reply = ada
        .post(&format!("/v1/leads/{lead}/research"), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let kb = &reply.body["knowledgeBase"];
    assert_eq!(
        kb["aiResearchBrief"],
        "Acme Robotics builds autonomous picking robots for mid-size warehouses."
    );
    assert_eq!(
        kb["talkingPoints"],
        json!(["200 warehouses in Europe", "Picking speed"])
    );
    assert_eq!(kb["title"], "COO");
    assert_eq!(kb["industry"], "Warehouse automation");
    assert!(kb["aiResearchedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        kb["website"]["emails"],
        json!(["hello@acme-robotics.example"])
    );
    // 820 tokens: 2 credits, the operation's minimum.
    assert_eq!(reply.body["credits_charged"], 2);
    assert_eq!(credits_used(&ada).await, 2);
    // The model was given the lead and the page's facts.
    let requests = w.model.received_requests().await.unwrap();
    let prompt = prompt_of(&requests[0]);
    assert!(prompt.contains("- Name: Grace Hopper"), "{prompt}");
    assert!(
        prompt.contains("- Page title: Acme Robotics | Warehouse automation"),
        "{prompt}"
    );
    assert!(
        prompt.contains("- Description: Robots that pick & pack."),
        "{prompt}"
    );
    assert!(
        prompt.contains("- Social profiles: https://www.linkedin.com/company/acme-robotics"),
        "{prompt}"
    );
    assert!(
        prompt.contains("Used by 200 warehouses in Europe."),
        "{prompt}"
    );
    // The lead keeps it.
    let stored = ada.get(&format!("/v1/leads/{lead}")).await;
    assert_eq!(stored.body["knowledgeBase"], *kb);
}

#[tokio::test]
async fn a_site_that_cannot_be_read_costs_nothing() {
    let w = world(false).await;
    w.research_answers().await;
    let ada = w.user("ada@example.com").await;
    // Production rules: the site on this machine is a private address.
    let private = w
        .lead(
            &ada,
            json!({"name": "P", "custom_fields": {"website": w.site.uri()}}),
        )
        .await;
    let reply = ada
        .post(&format!("/v1/leads/{private}/research"), json!({}))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.code(), "website_refused");
    let metadata = ada
        .post(
            &format!("/v1/leads/{private}/research"),
            json!({"website": "http://169.254.169.254/latest/meta-data/"}),
        )
        .await;
    assert_eq!(metadata.code(), "website_refused");
    // No website at all: a free-mail address says nothing of a company.
    let none = w
        .lead(&ada, json!({"name": "N", "email": "n@gmail.com"}))
        .await;
    let reply = ada
        .post(&format!("/v1/leads/{none}/research"), json!({}))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.code(), "no_website");
    let bad = ada
        .post(
            &format!("/v1/leads/{none}/research"),
            json!({"website": "ftp://acme.com"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(w.model_calls().await, 0);
    assert_eq!(credits_used(&ada).await, 0);
}

#[tokio::test]
async fn a_research_run_goes_through_the_queue_and_hands_back_what_it_did_not_use() {
    let w = world(true).await;
    w.research_answers().await;
    let ada = w.user("ada@example.com").await;
    let site = w.site.uri();
    let first = w
        .lead(
            &ada,
            json!({"name": "A", "custom_fields": {"website": site}}),
        )
        .await;
    let second = w
        .lead(
            &ada,
            json!({"name": "B", "custom_fields": {"website": site}}),
        )
        .await;
    let no_site = w
        .lead(&ada, json!({"name": "C", "email": "c@gmail.com"}))
        .await;
    let started = ada
        .post(
            "/v1/leads/research",
            json!({"lead_ids": [first, second, no_site, first]}),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.body["total"], 2);
    assert_eq!(
        started.body["skipped"],
        json!([{"lead_id": no_site, "reason": "no_website"}])
    );
    let reserved = started.body["credits_reserved"].as_i64().unwrap();
    assert_eq!(reserved, 2 * 13);
    assert_eq!(credits_used(&ada).await, reserved);
    let run = started.body["run_id"].as_str().unwrap();
    let progress = ada.get(&format!("/v1/leads/research/{run}")).await;
    assert_eq!(progress.body["status"], "running");
    assert_eq!(progress.body["pending"], 2);

    assert_eq!(w.drain().await, 2);
    let progress = ada.get(&format!("/v1/leads/research/{run}")).await;
    assert_eq!(progress.status, 200, "{}", progress.body);
    assert_eq!(progress.body["status"], "completed");
    assert_eq!(progress.body["written"], 2);
    assert_eq!(progress.body["failed"], 0);
    assert_eq!(progress.body["credits_charged"], 4);
    assert_eq!(progress.body["credits_refunded"], reserved - 4);
    assert_eq!(credits_used(&ada).await, 4);
    for lead in [&first, &second] {
        let stored = ada.get(&format!("/v1/leads/{lead}")).await;
        assert_eq!(stored.body["knowledgeBase"]["title"], "COO");
    }
    // A repeated delivery of a finished job changes nothing.
    let job = json!({"run": run, "owner": ada.id(), "lead": first}).to_string();
    let worker = scaliyo_app::ai::AiWorker::new(
        w.local.system.ai.clone(),
        w.local.system.ai_queue.clone(),
        AiWorkerConfig::default(),
    );
    worker.process(&job).await.unwrap();
    assert_eq!(credits_used(&ada).await, 4);
    assert_eq!(w.model_calls().await, 2);
}

#[tokio::test]
async fn an_ai_sequence_is_written_per_lead_and_sent_by_the_scheduler() {
    let w = world(true).await;
    Mock::given(method("POST"))
        .and(path(MODEL_PATH))
        .and(body_string_contains("You write B2B sales e-mails"))
        .respond_with(SequenceWriter)
        .mount(&w.model)
        .await;
    let ada = w.user("ada@example.com").await;
    let connected = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "k", "metadata": { "daily_limit": 1000 } }),
        )
        .await;
    assert_eq!(connected.status, 201, "{}", connected.body);
    let grace = w
        .lead(
            &ada,
            json!({"name": "Grace", "first_name": "Grace", "company": "Navy", "primary_email": "grace@navy.example",
                   "knowledgeBase": {"aiResearchBrief": "Navy runs logistics.", "talkingPoints": ["Fleet scale"]}}),
        )
        .await;
    let alan = w
        .lead(
            &ada,
            json!({"name": "Alan", "first_name": "Alan", "primary_email": "alan@bletchley.example"}),
        )
        .await;
    let no_email = w.lead(&ada, json!({"name": "Nobody"})).await;
    let started = ada
        .post(
            "/v1/sequences/ai",
            json!({
                "lead_ids": [grace, alan, no_email],
                "steps": [
                    {"delay_days": 0, "subject": "Intro for {{first_name}}", "body": "Introduce our picking robots"},
                    {"delay_days": 3, "subject": "Follow-up", "body": "Ask for a 15-minute call"}
                ],
                "config": {"tone": "friendly", "goal": "book a demo"}
            }),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.body["total"], 2);
    assert_eq!(started.body["skipped"][0]["reason"], "no_email");
    let run = started.body["run_id"].as_str().unwrap().to_owned();

    assert_eq!(w.drain().await, 2);
    let progress = ada.get(&format!("/v1/sequences/ai/{run}")).await;
    assert_eq!(progress.status, 200, "{}", progress.body);
    assert_eq!(progress.body["status"], "completed");
    assert_eq!(progress.body["written"], 2);
    // 1,200 tokens: 2 credits by the tokens, 3 by the operation's minimum.
    assert_eq!(progress.body["credits_charged"], 6);
    assert_eq!(credits_used(&ada).await, 6);
    // The model got the filled templates, the tone, the goal and Grace's research.
    let prompts: Vec<String> = w
        .model
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(prompt_of)
        .collect();
    let to_grace = prompts
        .iter()
        .find(|p| p.contains("- Name: Grace"))
        .expect("Grace's prompt");
    assert!(to_grace.contains("Subject template: Intro for Grace"));
    assert!(to_grace.contains("Tone: friendly\nGoal: book a demo"));
    assert!(to_grace.contains("Research: Navy runs logistics.\n- Fleet scale"));

    // Each lead's sequence is scheduled: the first e-mail now, the second in 3 days.
    let items = progress.body["items"].as_array().unwrap();
    let graces = items.iter().find(|i| i["lead_id"] == grace).unwrap();
    let sequence = ada
        .get(&format!(
            "/v1/sequences/{}",
            graces["sequence_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sequence.status, 200, "{}", sequence.body);
    let emails = sequence.body["data"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{}", sequence.body);
    assert_eq!(emails[0]["subject"], "Step 1 for Grace");
    assert_eq!(emails[1]["subject"], "Step 2 for Grace");
    let three_days =
        chrono::DateTime::parse_from_rfc3339(emails[1]["scheduled_at"].as_str().unwrap()).unwrap()
            - chrono::DateTime::parse_from_rfc3339(emails[0]["scheduled_at"].as_str().unwrap())
                .unwrap();
    assert_eq!(three_days, chrono::Duration::days(3));
    w.local.system.scheduler.tick().await.unwrap();
    assert_eq!(w.local.system.scheduled_email_worker().drain().await, 2);
    let mut subjects = outbox_subjects(&w.local);
    subjects.sort();
    assert_eq!(subjects, vec!["Step 1 for Alan", "Step 1 for Grace"]);
    let html = outbox_html(&w.local, "Step 1 for Grace");
    assert!(html.contains("<p>Hello Grace,</p>"), "{html}");
    assert!(html.contains("picking robots &lt;fast&gt;."), "{html}");
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_tried_three_times_then_reported_and_refunded() {
    let w = world(true).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    Mock::given(method("POST"))
        .and(path(MODEL_PATH))
        .respond_with(move |_: &Request| {
            counted.fetch_add(1, Ordering::SeqCst);
            answer("Sorry, I can only chat.", 100, 10)
        })
        .mount(&w.model)
        .await;
    let ada = w.user("ada@example.com").await;
    let lead = w
        .lead(
            &ada,
            json!({"name": "Grace", "primary_email": "grace@navy.example"}),
        )
        .await;
    let started = ada
        .post(
            "/v1/sequences/ai",
            json!({"lead_ids": [lead], "steps": [{"subject": "Hi", "body": "Say hello"}]}),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let run = started.body["run_id"].as_str().unwrap();
    // The retries wait no time here: one drain sees all three attempts.
    w.drain().await;
    let progress = ada.get(&format!("/v1/sequences/ai/{run}")).await;
    assert_eq!(progress.body["status"], "completed", "{}", progress.body);
    assert_eq!(progress.body["failed"], 1);
    assert_eq!(progress.body["items"][0]["attempts"], 3);
    assert!(
        progress.body["items"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not the JSON asked for")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        progress.body["credits_refunded"],
        started.body["credits_reserved"]
    );
    assert_eq!(credits_used(&ada).await, 0);
    assert!(w.local.system.ai_dlq.is_empty());
    assert!(w.local.system.ai_queue.is_empty());
}

#[tokio::test]
async fn a_run_the_month_cannot_cover_is_refused_before_anything_is_queued() {
    let w = world(true).await;
    let ada = w.user("ada@example.com").await;
    let lead = w
        .lead(
            &ada,
            json!({"name": "Grace", "primary_email": "grace@navy.example"}),
        )
        .await;
    // The Starter plan's 1,000 credits, 995 of them used.
    let used = ada
        .post("/v1/rpc/increment_ai_usage", json!({"credits": 995}))
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
    let refused = ada
        .post(
            "/v1/sequences/ai",
            json!({"lead_ids": [lead], "steps": [{"subject": "Hi", "body": "Say hello"}]}),
        )
        .await;
    assert_eq!(refused.status, 402, "{}", refused.body);
    assert_eq!(refused.code(), "credits_exhausted");
    assert_eq!(refused.body["remaining"], 5);
    assert_eq!(w.drain().await, 0);
    assert_eq!(credits_used(&ada).await, 995);
    // Bad requests change nothing either.
    for body in [
        json!({"lead_ids": [], "steps": [{"subject": "Hi", "body": "x"}]}),
        json!({"lead_ids": [lead], "steps": []}),
        json!({"lead_ids": [lead], "steps": [{"subject": "{{nope}}", "body": "x"}]}),
        json!({"lead_ids": [lead], "steps": [{"subject": "Hi", "body": "x"}], "window": {"weekdays": ["mon"], "start": "25:00", "end": "17:00", "time_zone": "Europe/Berlin"}}),
        json!({"lead_ids": [lead], "steps": [{"subject": "Hi", "body": "x"}], "extra": 1}),
    ] {
        let reply = ada.post("/v1/sequences/ai", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    assert_eq!(credits_used(&ada).await, 995);
}

#[tokio::test]
async fn another_tenant_can_neither_run_on_nor_see_a_workspace_s_leads_and_runs() {
    let w = world(true).await;
    w.research_answers().await;
    let ada = w.user("ada@example.com").await;
    let eve = w.user("eve@example.com").await;
    let lead = w
        .lead(
            &ada,
            json!({"name": "Grace", "primary_email": "grace@navy.example", "custom_fields": {"website": w.site.uri()}}),
        )
        .await;
    let started = ada
        .post("/v1/leads/research", json!({"lead_ids": [lead]}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let run = started.body["run_id"].as_str().unwrap();
    assert_eq!(
        eve.get(&format!("/v1/leads/research/{run}")).await.status,
        404
    );
    // The same run id under the other kind is not found either.
    assert_eq!(
        ada.get(&format!("/v1/sequences/ai/{run}")).await.status,
        404
    );
    assert_eq!(
        eve.post(&format!("/v1/leads/{lead}/research"), json!({}))
            .await
            .status,
        404
    );
    for (path, body) in [
        ("/v1/leads/research", json!({"lead_ids": [lead]})),
        (
            "/v1/sequences/ai",
            json!({"lead_ids": [lead], "steps": [{"subject": "Hi", "body": "x"}]}),
        ),
    ] {
        let reply = eve.post(path, body).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("not found")
        );
    }
    assert_eq!(credits_used(&eve).await, 0);
    w.drain().await;
    let stored = ada.get(&format!("/v1/leads/{lead}")).await;
    assert_eq!(stored.body["knowledgeBase"]["title"], "COO");
}

fn outbox_subjects(local: &RunningLocal) -> Vec<String> {
    outbox_messages(local).into_iter().map(|(s, _)| s).collect()
}

fn outbox_html(local: &RunningLocal, subject: &str) -> String {
    outbox_messages(local)
        .into_iter()
        .find(|(s, _)| s == subject)
        .map(|(_, html)| html)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_model_that_stays_down_fails_the_job_and_hands_its_share_back_once() {
    let w = world(true).await;
    Mock::given(method("POST"))
        .and(path(MODEL_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}),
        ))
        .mount(&w.model)
        .await;
    let ada = w.user("ada@example.com").await;
    let lead = w
        .lead(
            &ada,
            json!({"name": "Grace", "custom_fields": {"website": w.site.uri()}}),
        )
        .await;
    // One direct call first: refused, refunded.
    let direct = ada
        .post(&format!("/v1/leads/{lead}/research"), json!({}))
        .await;
    assert_eq!(direct.status, 502, "{}", direct.body);
    assert_eq!(direct.code(), "model_unavailable");
    assert_eq!(credits_used(&ada).await, 0);
    let started = ada
        .post("/v1/leads/research", json!({"lead_ids": [lead]}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let run = started.body["run_id"].as_str().unwrap();
    w.drain().await;
    let progress = ada.get(&format!("/v1/leads/research/{run}")).await;
    assert_eq!(progress.body["failed"], 1, "{}", progress.body);
    assert_eq!(progress.body["items"][0]["attempts"], 3);
    assert_eq!(
        progress.body["credits_refunded"],
        started.body["credits_reserved"]
    );
    // Handed back once: not a credit more than was taken.
    assert_eq!(credits_used(&ada).await, 0);
}
