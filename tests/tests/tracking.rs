//! Tracking over HTTP against the local system, as mail clients, image proxies and link
//! scanners hit it: the pixel always answers, known links redirect to the stored destination,
//! unsubscribe needs a POST, and every hit is stored with its classification.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_store::{Clock, ManualClock};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::mailbox::{self, sent_message, urls};
use serde_json::json;

const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

#[tokio::test]
async fn pixels_links_and_unsubscribes_are_served_and_classified() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let (ada, message_id, html) = sent_message(
        &local,
        "<html><body><p><a href=\"https://scaliyo.example/pricing\">Pricing</a></p></body></html>",
    )
    .await;
    let lead_id = ada.get("/v1/leads").await.body["data"][0]["id"].clone();
    let pixel = urls(&html, "/t/o/").pop().unwrap();
    let link = urls(&html, "/t/c/").pop().unwrap();
    let unsubscribe = urls(&html, "/u/").pop().unwrap();
    clock.advance(Duration::minutes(10));

    let http = scaliyo_tests::http_client::without_redirects();
    // Apple Mail Privacy Protection, then the recipient.
    for (ip, agent) in [("17.58.101.2", "Mozilla/5.0"), ("203.0.113.9", HUMAN)] {
        let response = http
            .get(&pixel)
            .header("x-forwarded-for", ip)
            .header("user-agent", agent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/gif");
        assert_eq!(
            response.headers()["cache-control"],
            "no-store, no-cache, must-revalidate, private"
        );
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(response.bytes().await.unwrap().len(), 43);
    }
    // Unknown and malformed tokens still get the image.
    for bad in ["/t/o/AAAAAAAAAAAAAAAAAAAAAA.gif", "/t/o/%00%ff", "/t/o/x"] {
        let response = http.get(local.url(bad)).send().await.unwrap();
        assert_eq!(
            (
                response.status().as_u16(),
                response.bytes().await.unwrap().len()
            ),
            (200, 43),
            "{bad}"
        );
    }
    // A scanner's HEAD, then the recipient's click: both redirect, only one is human.
    let head = http
        .head(&link)
        .header("user-agent", HUMAN)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 302);
    let click = http
        .get(&link)
        .header("x-forwarded-for", "203.0.113.9")
        .header("user-agent", HUMAN)
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), 302);
    assert_eq!(
        click.headers()["location"],
        "https://scaliyo.example/pricing"
    );
    let unknown = http
        .get(local.url("/t/c/AAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("Link not found"));

    // Unsubscribe: a GET (what scanners do) changes nothing; the one-click POST suppresses.
    let page = http.get(&unsubscribe).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("grace@navy.example"));
    let again = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(again.status, 200, "a GET must not unsubscribe");
    for _ in 0..2 {
        let posted = http
            .post(&unsubscribe)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 200);
    }
    let refused = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(refused.code(), "suppressed");

    local.apply_hits().await;
    let events = ada
        .get(&format!("/v1/email_events?message_id={message_id}"))
        .await;
    let events = events.body["data"].as_array().unwrap().clone();
    let of = |kind: &str| {
        events
            .iter()
            .filter(|e| e["event_type"] == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    let opens = of("open");
    assert_eq!(opens.len(), 2);
    assert!(opens.iter().any(|e| e["is_apple_privacy"] == true
        && e["is_bot"] == true
        && e["metadata"]["reason"] == "apple_privacy_proxy"));
    assert!(
        opens
            .iter()
            .any(|e| e["is_bot"] == false && e["metadata"]["class"] == "human")
    );
    let clicks = of("click");
    assert_eq!(clicks.len(), 2);
    assert!(
        clicks
            .iter()
            .any(|e| e["is_bot"] == true && e["metadata"]["reason"] == "head_request")
    );
    assert!(clicks.iter().any(|e| e["is_bot"] == false));
    assert_eq!(of("unsubscribe").len(), 1, "posting twice records once");
    let links = ada
        .get(&format!("/v1/email_links?message_id={message_id}"))
        .await;
    assert_eq!(links.body["data"][0]["click_count"], 2);

    // The analytics: two messages sent; one human open and one human click (Apple's proxy and
    // the scanner's HEAD are machines); the scheduled rebuild agrees.
    let expected = json!([{ "owner_id": ada.id(), "analytics_date": "2026-11-27", "total_sent": 2, "unique_opens": 1, "unique_clicks": 1, "total_open_events": 1, "total_click_events": 1, "unique_replies": 0, "total_replies": 0, "reply_rate": 0.0 }]);
    let summary = ada
        .get("/v1/analytics/email-summary?from=2026-11-27&to=2026-11-27")
        .await;
    assert_eq!(summary.body["data"], expected);
    let rebuilt = scaliyo_app::analytics::rebuild_recent(
        local.system.access.rows(),
        clock.now().date_naive(),
    )
    .await
    .unwrap();
    assert_eq!(rebuilt, 1);
    assert_eq!(
        ada.get("/v1/analytics/email-summary?from=2026-11-27&to=2026-11-27")
            .await
            .body["data"],
        expected
    );
}

/// A message with a tracked link, sent ten minutes ago (on a manual clock).
struct Sent {
    clock: Arc<ManualClock>,
    local: RunningLocal,
    ada: Client,
    message_id: String,
    pixel: String,
    link: String,
}

async fn message_with_a_link() -> Sent {
    message_with_a_link_on(|_| {}).await
}

/// The same, on a local system configured by `configure` before it opens.
async fn message_with_a_link_on(configure: impl FnOnce(&mut scaliyo_local::LocalConfig)) -> Sent {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
    ));
    let local = RunningLocal::start_configured(clock.clone(), configure).await;
    let (ada, message_id, html) = sent_message(
        &local,
        "<p>Hi <a href=\"https://scaliyo.example/pricing\">pricing</a></p>",
    )
    .await;
    let pixel = urls(&html, "/t/o/").pop().unwrap();
    let link = urls(&html, "/t/c/").pop().unwrap();
    clock.advance(Duration::minutes(10));
    Sent {
        clock,
        local,
        ada,
        message_id,
        pixel,
        link,
    }
}

/// A request as the tracking function receives it: the platform's client address, no proxy.
fn direct_request(
    local: &RunningLocal,
    url: &str,
    client: [u8; 4],
) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::get(url.trim_start_matches(&local.base_url))
        .header("user-agent", HUMAN)
        .body(axum::body::Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            client, 51000,
        ))));
    request
}

/// The AWS request path: before its answer, the pixel and the redirect make one call each (the
/// queue's send) and no table call — the link carries its destination, signed (ADR 28). The
/// queue's consumer then does the table work, each hit once.
#[tokio::test]
async fn a_hit_costs_one_network_call_before_its_answer() {
    use scaliyo_app::rows::Rows;
    use scaliyo_app::tracking::Tracking;
    use scaliyo_store::Queue;
    use scaliyo_tests::counting_table::CountingTable;
    use tower::ServiceExt;

    let Sent {
        clock,
        local,
        ada,
        message_id,
        pixel,
        link,
    } = message_with_a_link().await;
    let table = Arc::new(CountingTable::new(local.system.table.clone()));
    let queue = Arc::new(scaliyo_embedded::LocalQueue::new("tracking-hits"));
    let tracking = Arc::new(
        Tracking::new(Rows::new(table.clone(), clock.clone()), clock.clone())
            .with_journal(Arc::new(scaliyo_store::QueueJournal::new(queue.clone())))
            .with_link_key(Some(local.system.link_key.clone())),
    );
    let router = scaliyo_http::tracking_api::router(tracking.clone());
    let mut calls = Vec::new();
    for (url, client) in [
        (&pixel, [203, 0, 113, 9]),
        (&link, [203, 0, 113, 9]),
        (&link, [198, 51, 100, 7]),
        (&pixel, [198, 51, 100, 7]),
    ] {
        let (table_before, sent_before) = (table.cost().requests, queue.len());
        let response = router
            .clone()
            .oneshot(direct_request(&local, url, client))
            .await
            .unwrap();
        assert!(matches!(response.status().as_u16(), 200 | 302));
        calls.push((
            table.cost().requests - table_before,
            queue.len() - sent_before,
        ));
    }
    // (table calls, queue sends) per request: no read, cold or warm.
    assert_eq!(calls, [(0, 1), (0, 1), (0, 1), (0, 1)]);

    let bodies: Vec<String> = queue
        .receive(
            10,
            std::time::Duration::from_secs(30),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    let report = tracking.apply_journal(&bodies).await.unwrap();
    assert_eq!(report.stored, 4);
    // A second delivery of the same batch stores nothing.
    let again = tracking.apply_journal(&bodies).await.unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 4));
    let events = ada
        .get(&format!("/v1/email_events?message_id={message_id}"))
        .await;
    assert_eq!(events.body["data"].as_array().map(Vec::len), Some(4));
    let links = ada
        .get(&format!("/v1/email_links?message_id={message_id}"))
        .await;
    assert_eq!(links.body["data"][0]["click_count"], 2);
}

/// A signed link leads where it was signed to lead; a link whose destination or signature was
/// altered is answered from its token's stored destination (never the altered one); a bare
/// token — a link sent before links were signed, or after the key was rotated — still works.
/// Each of these clicks counts once.
#[tokio::test]
async fn an_altered_link_leads_to_the_stored_destination_and_a_bare_token_still_works() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let Sent {
        local,
        ada,
        message_id,
        link,
        ..
    } = message_with_a_link().await;
    let (prefix, segment) = link.rsplit_once('/').unwrap();
    let parts: Vec<&str> = segment.split('.').collect();
    assert_eq!(parts.len(), 3, "a signed link: token.destination.signature");
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[1]).unwrap(),
        b"https://scaliyo.example/pricing"
    );
    let evil = URL_SAFE_NO_PAD.encode("https://evil.example/");
    let http = scaliyo_tests::http_client::without_redirects();
    for (n, url) in [
        link.clone(),
        format!("{prefix}/{}.{evil}.{}", parts[0], parts[2]),
        format!("{prefix}/{}.{}.AAAAAAAAAAAAAAAAAAAAAA", parts[0], parts[1]),
        format!("{prefix}/{}", parts[0]),
    ]
    .iter()
    .enumerate()
    {
        let response = http
            .get(url)
            .header("x-forwarded-for", format!("203.0.113.{}", n + 1))
            .header("user-agent", HUMAN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{url}");
        assert_eq!(
            response.headers()["location"],
            "https://scaliyo.example/pricing",
            "{url}"
        );
    }
    // A forged token under a valid-looking shape: not a tracked link.
    let forged = http
        .get(format!(
            "{prefix}/AAAAAAAAAAAAAAAAAAAAAA.{evil}.{}",
            parts[2]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    local.system.hit_applier().drain().await.unwrap();
    let links = ada
        .get(&format!("/v1/email_links?message_id={message_id}"))
        .await;
    assert_eq!(links.body["data"][0]["click_count"], 4);
}

/// With the store down, the pixel and the link still answer: their hits wait in the journal
/// (applying them fails and is retried); once the store is back, they are written with the
/// time they happened — once each, however often the batch was tried.
#[tokio::test]
async fn hits_wait_in_the_journal_while_the_store_is_down_and_are_written_later() {
    use scaliyo_app::rows::Rows;
    use scaliyo_app::tracking::Tracking;
    use tower::ServiceExt;

    let Sent {
        clock,
        local,
        ada,
        message_id,
        pixel,
        link,
    } = message_with_a_link().await;
    let opened_at = clock.now();

    // The system's tracking on a store that goes down, journalling to the system's journal.
    let flaky = Arc::new(scaliyo_tests::flaky::FlakyTable::new(
        local.system.table.clone(),
    ));
    let tracking = Arc::new(
        Tracking::new(Rows::new(flaky.clone(), clock.clone()), clock.clone())
            .with_journal(local.system.hit_journal.clone()),
    );
    // Resolve the link's token while the store is up (as a recently followed link is cached).
    let router = scaliyo_http::tracking_api::router(tracking.clone());
    let request = |url: &str| direct_request(&local, url, [203, 0, 113, 9]);
    let response = router.clone().oneshot(request(&link)).await.unwrap();
    assert_eq!(response.status(), 302);
    flaky.set_down(true);
    let response = router.clone().oneshot(request(&pixel)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/gif");
    let response = router.clone().oneshot(request(&link)).await.unwrap();
    assert_eq!(
        response.status(),
        302,
        "a known link redirects while the store is down"
    );
    let applier = scaliyo_local::hit_applier::HitApplier::new(
        local.system.hit_journal.clone(),
        tracking.clone(),
    );
    assert!(
        applier.drain().await.is_err(),
        "the store refuses the batch"
    );
    assert!(!local.system.hit_journal.is_drained(), "the hits wait");
    let events = ada
        .get(&format!("/v1/email_events?message_id={message_id}"))
        .await;
    assert_eq!(events.body["data"], json!([]));

    // Back up an hour later: the hits are written as they happened, each once.
    flaky.set_down(false);
    clock.advance(Duration::hours(1));
    let report = applier.drain().await.expect("applied");
    assert_eq!(report.stored + report.duplicates, 3);
    assert!(local.system.hit_journal.is_drained());
    let events = ada
        .get(&format!("/v1/email_events?message_id={message_id}"))
        .await;
    let rows = events.body["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let open = rows
        .iter()
        .find(|r| r["event_type"] == "open")
        .expect("the open");
    assert_eq!(open["ip_address"], "203.0.113.9");
    assert_eq!(
        open["created_at"],
        scaliyo_app::rows::timestamp_text(opened_at)
    );
    assert_eq!(
        rows.iter().filter(|r| r["event_type"] == "click").count(),
        2
    );
}

/// The message's recent hits: two links within seconds, several addresses within half a
/// minute; and the hidden honeypot link.
#[tokio::test]
async fn history_rules_and_the_honeypot_catch_what_a_single_request_does_not() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let lead = mailbox::sender_and_lead(&ada).await;
    let received = mailbox::send(
        &local,
        &ada,
        &lead,
        json!({ "subject": "Hi", "honeypot_link": true,
                "html_body": "<html><body><a href=\"https://scaliyo.example/a\">A</a> <a href=\"https://scaliyo.example/b\">B</a></body></html>" }),
    )
    .await;
    let (message_id, html, text) = (received.message_id, received.html, received.text);
    let links = urls(&html, "/t/c/");
    assert_eq!(links.len(), 3, "two links and the honeypot");
    assert!(html.contains("aria-hidden=\"true\""));
    assert_eq!(
        urls(&text, "/t/c/").len(),
        2,
        "the honeypot is not in the text part"
    );
    let (link_a, link_b, honeypot) = (&links[0], &links[1], &links[2]);
    let pixel = urls(&html, "/t/o/").pop().unwrap();
    clock.advance(Duration::minutes(30));
    let http = scaliyo_tests::http_client::without_redirects();
    let get = |url: String, ip: &'static str| {
        let http = http.clone();
        async move {
            http.get(url)
                .header("user-agent", HUMAN)
                .header("x-forwarded-for", ip)
                .send()
                .await
                .unwrap()
        }
    };
    // A person clicks A; two seconds later "they" click B: a scanner following every link.
    assert_eq!(get(link_a.clone(), "203.0.113.9").await.status(), 302);
    clock.advance(Duration::seconds(2));
    assert_eq!(get(link_b.clone(), "203.0.113.9").await.status(), 302);
    // Three addresses open it within half a minute.
    clock.advance(Duration::minutes(10));
    for (ip, after) in [("198.51.100.7", 0), ("192.0.2.44", 5), ("203.0.113.80", 5)] {
        clock.advance(Duration::seconds(after));
        assert_eq!(get(pixel.clone(), ip).await.status(), 200);
    }
    // The honeypot still redirects (a known link always does), and betrays its visitor.
    clock.advance(Duration::minutes(10));
    let trap = get(honeypot.clone(), "203.0.113.9").await;
    assert_eq!(trap.status(), 302);

    local.apply_hits().await;
    let events = ada
        .get(&format!(
            "/v1/email_events?message_id={message_id}&limit=100"
        ))
        .await;
    let mut reasons: Vec<String> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["metadata"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            "honeypot_link",
            "human",
            "human",
            "human",
            "multi_ip_burst",
            "multi_link_burst"
        ]
    );
    let honeypot_event = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metadata"]["reason"] == "honeypot_link")
        .unwrap();
    assert_eq!(honeypot_event["is_bot"], true);
    assert_eq!(honeypot_event["metadata"]["honeypot"], true);
    // The links' own counts know nothing of the honeypot.
    let counts: i64 = ada
        .get(&format!("/v1/email_links?message_id={message_id}"))
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["click_count"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(counts, 2);
}

/// A verdict made under older rules is judged again from the raw hit it kept, and the
/// analytics follow.
#[tokio::test]
async fn a_recount_applies_todays_rules_to_stored_hits() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let (ada, message_id, _) = sent_message(&local, "<p>Hi</p>").await;
    // An open stored as human by rules that did not know this agent yet.
    let events = &scaliyo_domain::schema::EMAIL_EVENTS;
    local
        .system
        .access
        .rows()
        .create(
            events,
            Some(ada.id()),
            json!({
                "message_id": message_id,
                "event_type": "open",
                "user_agent": "python-requests/2.31.0",
                "ip_address": "203.0.113.9",
                "is_bot": false,
                "is_apple_privacy": false,
                "created_at": "2026-11-27T10:00:00Z",
                "metadata": { "class": "human", "reason": "human", "evidence": "", "method": "GET" }
            })
            .as_object()
            .cloned()
            .unwrap(),
        )
        .await
        .unwrap();
    clock.advance(Duration::hours(2));
    scaliyo_app::analytics::rebuild_recent(local.system.access.rows(), clock.now().date_naive())
        .await
        .unwrap();
    let summary = |ada: Client| async move {
        ada.get("/v1/analytics/email-summary?from=2026-11-27&to=2026-11-27")
            .await
            .body["data"][0]["unique_opens"]
            .clone()
    };
    assert_eq!(summary(ada.clone()).await, 1);

    let forbidden = ada
        .post(
            "/v1/admin/tracking/recount",
            json!({ "owner_id": ada.id() }),
        )
        .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    let admin = Client::user(&local, Role::Admin, None);
    admin.sign_up().await;
    let report = admin
        .post(
            "/v1/admin/tracking/recount",
            json!({ "owner_id": ada.id() }),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["examined"], 1);
    assert_eq!(report.body["changed"], 1);
    assert_eq!(
        report.body["changes"],
        json!({ "human -> bot_user_agent": 1 })
    );
    assert_eq!(report.body["dates_rebuilt"], json!(["2026-11-27"]));
    let stored = ada
        .get(&format!("/v1/email_events?message_id={message_id}"))
        .await;
    let open = &stored.body["data"][0];
    assert_eq!(open["is_bot"], true);
    assert_eq!(open["metadata"]["recounted_from"], "human");
    assert_eq!(summary(ada.clone()).await, 0);
    // Nothing changes twice.
    let again = admin
        .post(
            "/v1/admin/tracking/recount",
            json!({ "owner_id": ada.id() }),
        )
        .await;
    assert_eq!(again.body["changed"], 0);
}

/// A journal at its bound (a flood faster than the applier for long enough) takes no more:
/// the pixel and the redirect still answer, each further hit is applied as it arrives, and
/// none is lost or counted twice once the journal drains.
#[tokio::test]
async fn a_full_hit_journal_has_hits_applied_as_they_arrive() {
    use tower::ServiceExt;
    let Sent {
        clock,
        local,
        ada,
        message_id,
        pixel,
        link,
    } = message_with_a_link_on(|config| config.hit_journal_max_bytes = 1).await;
    let router = local.system.router();
    let events = || async {
        let listed = ada
            .get(&format!("/v1/email_events?message_id={message_id}"))
            .await;
        let rows = listed.body["data"].as_array().cloned().unwrap_or_default();
        let mut types: Vec<String> = rows
            .iter()
            .map(|row| row["event_type"].as_str().unwrap_or_default().to_owned())
            .collect();
        types.sort();
        types
    };

    // The first hit fits: journalled, not yet applied.
    let response = router
        .clone()
        .oneshot(direct_request(&local, &pixel, [203, 0, 113, 9]))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(!local.system.hit_journal.is_drained());
    assert_eq!(events().await, Vec::<String>::new());

    // The journal is at its bound: the click is stored before the redirect answers.
    clock.advance(Duration::minutes(2));
    let response = router
        .clone()
        .oneshot(direct_request(&local, &link, [203, 0, 113, 9]))
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "https://scaliyo.example/pricing"
    );
    assert_eq!(events().await, vec!["click"]);

    // The journalled open is applied afterwards, once.
    let report = local.apply_hits().await;
    assert_eq!(report.stored, 1, "{report:?}");
    assert_eq!(events().await, vec!["click", "open"]);
    assert_eq!(local.apply_hits().await.stored, 0);
    assert_eq!(events().await, vec!["click", "open"]);
}
