//! Outgoing webhooks over the local system: a webhook row through the data API, events from
//! sends and tracking delivered by the queue consumer to a local HTTP receiver that fails the
//! first attempts, signed, retried, logged, counted, redelivered; private destinations
//! refused unless local development allows them.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_store::{Clock, ManualClock};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::mailbox::{self, urls};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "whsec_5f2c1e";
const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

async fn local_for_development(clock: Arc<ManualClock>) -> RunningLocal {
    RunningLocal::start_configured(clock, |config| {
        config.webhooks_allow_private = true;
        config.webhook_retry_delay = Some(StdDuration::from_millis(20));
    })
    .await
}

/// Runs the webhook consumer until `done` holds (deliveries retry after a short delay).
async fn deliver_until(local: &RunningLocal, mut done: impl AsyncFnMut() -> bool) {
    let worker = local.system.webhook_worker();
    for _ in 0..200 {
        worker.drain().await;
        if done().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    panic!("the webhook deliveries did not finish");
}

async fn received(receiver: &MockServer) -> Vec<Request> {
    receiver.received_requests().await.unwrap_or_default()
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn events_are_signed_retried_logged_counted_and_redelivered() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
    ));
    let local = local_for_development(clock.clone()).await;
    let receiver = MockServer::start().await;
    // Down for the first two attempts, then up.
    Mock::given(method("POST"))
        .and(path("/hooks/scaliyo"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks/scaliyo"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;

    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let webhook = ada
        .post(
            "/v1/webhooks",
            json!({ "name": "CRM sync", "url": format!("{}/hooks/scaliyo", receiver.uri()), "trigger_event": "email.sent", "secret": SECRET }),
        )
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.body);
    assert!(
        !webhook.body.to_string().contains(SECRET),
        "the secret is never returned"
    );
    let webhook_id = webhook.body["id"].as_str().unwrap().to_owned();
    let lead = mailbox::sender_and_lead(&ada).await;
    let message_id = mailbox::send(
        &local,
        &ada,
        &lead,
        json!({ "subject": "Hi", "html_body": "<p>Hello</p>" }),
    )
    .await
    .message_id;

    deliver_until(&local, async || received(&receiver).await.len() >= 3).await;
    let requests = received(&receiver).await;
    assert_eq!(requests.len(), 3, "two failures, then delivered; no more");
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(first["type"], "email.sent");
    assert_eq!(first["data"]["message_id"], message_id.as_str());
    assert_eq!(first["data"]["to_email"], "grace@navy.example");
    assert_eq!(first["webhook_id"], webhook_id.as_str());
    for request in &requests {
        assert_eq!(
            request.body, requests[0].body,
            "the same body every attempt"
        );
        assert_eq!(header(request, "scaliyo-event"), "email.sent");
        assert_eq!(
            header(request, "scaliyo-event-id"),
            first["id"].as_str().unwrap()
        );
        assert_eq!(header(request, "content-type"), "application/json");
        let signature = header(request, "scaliyo-signature");
        let now = clock.now().timestamp();
        assert!(
            scaliyo_domain::webhooks::verify(SECRET.as_bytes(), signature, &request.body, now, 300),
            "{signature}"
        );
    }

    // The log, newest first, with every attempt.
    let log = ada
        .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let deliveries = log.body["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["attempts"], 3);
    let statuses: Vec<Value> = delivery["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(503), json!(503), json!(200)]);
    assert!(delivery["log"][0]["latency_ms"].is_u64());
    let row = ada.get(&format!("/v1/webhooks/{webhook_id}")).await.body;
    assert_eq!(row["fire_count"], 3);
    assert_eq!(row["fail_count"], 2);
    assert_eq!(row["success_rate"], 33.3);
    assert!(row["last_fired"].is_string());

    // Redeliver: the same event, once more.
    let delivery_id = delivery["id"].as_str().unwrap();
    let again = ada
        .post(
            &format!("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    deliver_until(&local, async || received(&receiver).await.len() >= 4).await;
    let requests = received(&receiver).await;
    assert_eq!(requests[3].body, requests[0].body);
    let eve = Client::user(&local, Role::Client, None);
    eve.sign_up().await;
    let hidden = eve
        .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
        .await;
    assert_eq!(hidden.status, 404, "another user learns nothing");

    // Emitting the same event twice delivers it once.
    for _ in 0..2 {
        local
            .system
            .webhooks
            .emit(
                ada.owner(),
                "email.sent",
                "replayed-subject",
                json!({ "n": 1 }),
            )
            .await;
    }
    clock.advance(Duration::seconds(1));
    deliver_until(&local, async || received(&receiver).await.len() >= 5).await;
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    local.system.webhook_worker().drain().await;
    assert_eq!(received(&receiver).await.len(), 5);
}

#[tokio::test]
async fn human_opens_and_clicks_are_sent_and_machine_hits_are_not() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
    ));
    let local = local_for_development(clock.clone()).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let webhook = ada
        .post(
            "/v1/webhooks",
            json!({ "name": "All", "url": format!("{}/in", receiver.uri()), "trigger_event": "*", "secret": SECRET }),
        )
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.body);
    let lead = mailbox::sender_and_lead(&ada).await;
    let html = mailbox::send(
        &local,
        &ada,
        &lead,
        json!({ "subject": "Hi", "html_body": "<p><a href=\"https://scaliyo.example/pricing\">Pricing</a></p>" }),
    )
    .await
    .html;
    let pixel = urls(&html, "/t/o/").pop().unwrap();
    let link = urls(&html, "/t/c/").pop().unwrap();
    let unsubscribe = urls(&html, "/u/").pop().unwrap();
    clock.advance(Duration::minutes(10));
    let http = scaliyo_tests::http_client::without_redirects();
    // Apple's proxy (a machine open), a link scanner's HEAD, then the recipient.
    http.get(&pixel)
        .header("user-agent", "Mozilla/5.0")
        .header("x-forwarded-for", "17.58.101.2")
        .send()
        .await
        .unwrap();
    http.head(&link)
        .header("user-agent", HUMAN)
        .send()
        .await
        .unwrap();
    http.get(&pixel)
        .header("user-agent", HUMAN)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    http.get(&link)
        .header("user-agent", HUMAN)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    http.post(&unsubscribe)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();

    local.apply_hits().await;
    deliver_until(&local, async || received(&receiver).await.len() >= 5).await;
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    local.system.webhook_worker().drain().await;
    let types = scaliyo_tests::http_client::event_types(&received(&receiver).await);
    assert_eq!(
        types,
        vec![
            "email.clicked",
            "email.opened",
            "email.sent",
            "email.unsubscribed",
            // The subscription is `*`: the lead the test created is news too.
            "lead.created",
        ],
        "one of each; the machine hits sent nothing"
    );
    let clicked = received(&receiver)
        .await
        .into_iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|b| b["type"] == "email.clicked")
        .unwrap();
    assert_eq!(clicked["data"]["url"], "https://scaliyo.example/pricing");
    assert_eq!(clicked["data"]["class"], "human");
}

#[tokio::test]
async fn private_destinations_and_unknown_events_are_refused() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    for (url, trigger) in [
        ("http://127.0.0.1:9000/in", "email.sent"),
        ("https://127.0.0.1/in", "email.sent"),
        ("https://169.254.169.254/latest/meta-data", "email.sent"),
        ("https://[::1]/in", "email.sent"),
        ("https://localhost/in", "email.sent"),
        ("https://hooks.example.com/in", "email.nope"),
    ] {
        let refused = ada
            .post(
                "/v1/webhooks",
                json!({ "name": "x", "url": url, "trigger_event": trigger }),
            )
            .await;
        assert_eq!(refused.status, 400, "{url}: {}", refused.body);
    }
    let fine = ada
        .post(
            "/v1/webhooks",
            json!({ "name": "x", "url": "https://hooks.example.com/in", "trigger_event": "social.published" }),
        )
        .await;
    assert_eq!(fine.status, 201, "{}", fine.body);
    let id = fine.body["id"].as_str().unwrap();
    let moved = ada
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({ "url": "https://10.0.0.8/in" }),
        )
        .await;
    assert_eq!(moved.status, 400, "{}", moved.body);
    assert_eq!(
        ada.get("/v1/webhooks").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn lead_changes_reach_a_crm_webhook_as_created_updated_status_changed_and_deleted() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
    ));
    let local = local_for_development(clock.clone()).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let eve = Client::user(&local, Role::Client, None);
    eve.sign_up().await;
    let webhook = ada
        .post(
            "/v1/webhooks",
            json!({ "name": "CRM", "url": format!("{}/crm", receiver.uri()), "trigger_event": "*", "secret": SECRET }),
        )
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.body);
    // Another tenant's lead changes never reach Ada's webhook.
    eve.post("/v1/leads", json!({ "name": "Eve's lead" })).await;

    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Grace Hopper", "status": "New" }),
        )
        .await;
    let lead_id = lead.body["id"].as_str().unwrap_or_default().to_owned();
    clock.advance(Duration::seconds(1));
    let moved = ada
        .patch(
            &format!("/v1/leads/{lead_id}"),
            json!({ "status": "Contacted" }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    clock.advance(Duration::seconds(1));
    ada.patch(
        &format!("/v1/leads/{lead_id}"),
        json!({ "company": "US Navy" }),
    )
    .await;
    assert_eq!(
        ada.delete(&format!("/v1/leads/{lead_id}")).await.status,
        204
    );
    // A new member of Ada's team.
    let team = ada.post("/v1/teams", json!({ "name": "Sales" })).await;
    assert_eq!(team.status, 201, "{}", team.body);
    let member = ada
        .post(
            "/v1/team_members",
            json!({ "team_id": team.body["id"], "user_id": eve.id(), "role": "member" }),
        )
        .await;
    assert_eq!(member.status, 201, "{}", member.body);

    deliver_until(&local, async || received(&receiver).await.len() >= 6).await;
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    local.system.webhook_worker().drain().await;
    let mut events: Vec<Value> = received(&receiver)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
        .collect();
    events.sort_by_key(|e| e["occurred_at"].as_str().unwrap_or_default().to_owned());
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let count = |t: &str| types.iter().filter(|x| **x == t).count();
    assert_eq!(
        (
            count("lead.created"),
            count("lead.status_changed"),
            count("lead.updated"),
            count("lead.deleted")
        ),
        (1, 1, 2, 1),
        "{types:?}"
    );
    let created = events.iter().find(|e| e["type"] == "lead.created").unwrap();
    assert_eq!(created["data"]["lead"]["name"], "Grace Hopper");
    let status = events
        .iter()
        .find(|e| e["type"] == "lead.status_changed")
        .unwrap();
    assert_eq!(
        (
            status["data"]["from"].as_str(),
            status["data"]["to"].as_str()
        ),
        (Some("New"), Some("Contacted"))
    );
    let company = events
        .iter()
        .find(|e| e["type"] == "lead.updated" && e["data"]["changes"].get("company").is_some())
        .unwrap();
    assert_eq!(company["data"]["changes"]["company"]["to"], "US Navy");
    assert!(company["data"]["changes"].get("status").is_none());
    let deleted = events.iter().find(|e| e["type"] == "lead.deleted").unwrap();
    assert_eq!(deleted["data"]["lead_id"], lead_id.as_str());
    let joined = events
        .iter()
        .find(|e| e["type"] == "team.member_added")
        .expect("the member event");
    assert_eq!(
        (
            joined["data"]["user_id"].as_str(),
            joined["data"]["role"].as_str()
        ),
        (Some(eve.id()), Some("member"))
    );
    assert_eq!(joined["data"]["team_id"], team.body["id"]);
    assert!(
        events
            .iter()
            .filter(|e| e["type"] != "team.member_added")
            .all(|e| e.to_string().contains(&lead_id)),
        "only Ada's lead"
    );
}
