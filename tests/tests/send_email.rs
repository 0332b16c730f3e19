//! send-email over HTTP against the local system (every provider writes to the outbox
//! locally): rendering, tracking, unsubscribe headers, caps, suppression, idempotency,
//! rotation, and the give-back when a provider fails.

use std::sync::Arc;

use scaliyo_app::send::{
    Mailers, SendConfig, SendError, SendPipeline, SendRequest, suppression_key,
};
use scaliyo_domain::ids::Role;
use scaliyo_embedded::LocalSealer;
use scaliyo_store::{Credentials, Delivery, Item, MailError, Mailer, OutgoingEmail, WriteOp};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

async fn workspace(local: &RunningLocal) -> (Client, String, String) {
    let ada = Client::user(local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    let sender = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.scaliyo.example", "from_name": "Ada Lovelace", "api_key": "SG.secret-key", "is_default": true }),
        )
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Grace Hopper", "first_name": "Grace", "primary_email": "grace@navy.example", "company": "Navy & Co", "custom_fields": { "ship": "USS <Hopper>" } }),
        )
        .await;
    assert_eq!(lead.status, 201);
    (
        ada,
        sender.body["id"].as_str().unwrap().to_owned(),
        lead.body["id"].as_str().unwrap().to_owned(),
    )
}

fn outbox_files(local: &RunningLocal) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(local.system.outbox.dir()) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => vec![],
    }
}

#[tokio::test]
async fn a_sent_email_has_rendered_tags_tracked_links_a_pixel_and_one_click_unsubscribe() {
    let local = RunningLocal::start().await;
    let (ada, sender_id, lead_id) = workspace(&local).await;
    let template = ada
        .post(
            "/v1/email_templates",
            json!({
                "name": "Intro", "category": "follow_up",
                "subject_template": "Hi {{first_name}} at {{company}}",
                "body_template": "<html><body><p>Hello {{first_name|there}} of {{custom_fields.ship}},</p><p>See <a href=\"https://scaliyo.example/case?x=1&amp;y=2\">our case study</a> or <a href=\"mailto:ada@scaliyo.example\">write</a>.</p></body></html>"
            }),
        )
        .await;
    assert_eq!(template.status, 201, "{}", template.body);
    let sent = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "template_id": template.body["id"] }),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.body["status"], "sent");
    assert_eq!(sent.body["sender_account_id"], sender_id.as_str());
    assert_eq!(sent.body["tracked_links"], 1);
    let message_id = sent.body["message_id"].as_str().unwrap();

    let eml = std::fs::read(local.system.outbox.dir().join(format!("{message_id}.eml"))).unwrap();
    let parsed = mailparse::parse_mail(&eml).unwrap();
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .unwrap_or_default()
    };
    assert_eq!(header("Subject"), "Hi Grace at Navy & Co");
    assert_eq!(
        header("Message-ID"),
        format!("<{message_id}@mail.scaliyo.example>")
    );
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(header("List-Unsubscribe").starts_with(&format!("<{}/u/", local.base_url)));
    let text = parsed.subparts[0].get_body().unwrap();
    let html = parsed.subparts[1].get_body().unwrap();
    assert!(html.contains("Hello Grace of USS &lt;Hopper&gt;"), "{html}");
    assert!(
        html.contains(&format!("href=\"{}/t/c/", local.base_url)),
        "{html}"
    );
    assert!(
        !html.contains("https://scaliyo.example/case"),
        "the destination is only behind the token"
    );
    assert!(html.contains("mailto:ada@scaliyo.example"));
    assert!(html.contains(&format!("src=\"{}/t/o/", local.base_url)));
    assert!(html.contains(">Unsubscribe</a>"));
    assert!(text.contains("Hello Grace of USS <Hopper>"), "{text}");

    let message = ada.get(&format!("/v1/email_messages/{message_id}")).await;
    assert_eq!(message.body["status"], "sent");
    assert_eq!(message.body["provider"], "sendgrid");
    assert_eq!(message.body["to_email"], "grace@navy.example");
    let links = ada
        .get(&format!("/v1/email_links?message_id={message_id}"))
        .await;
    assert_eq!(
        links.body["data"][0]["destination_url"],
        "https://scaliyo.example/case?x=1&y=2"
    );
    assert_eq!(links.body["data"][0]["link_label"], "our case study");
    let usage = ada
        .post("/v1/rpc/get_workspace_monthly_usage", json!({}))
        .await;
    assert_eq!(usage.body["emails_sent"], 1);
    // The credentials stay sealed and unseen.
    let account = ada.get(&format!("/v1/sender_accounts/{sender_id}")).await;
    assert_eq!(account.body["daily_sent_today"], 1);
    assert!(!account.body.to_string().contains("SG.secret-key"));
    assert_eq!(
        ada.get("/v1/sender_account_secrets").await.body["data"],
        json!([])
    );
}

#[tokio::test]
async fn bad_input_suppression_and_missing_senders_send_nothing() {
    let local = RunningLocal::start().await;
    let (ada, _sender, lead_id) = workspace(&local).await;
    let unknown = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "<p>{{nickname}}</p>" }),
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (400, "invalid"));
    assert!(
        unknown.body["message"]
            .as_str()
            .unwrap()
            .contains("nickname")
    );
    let neither = ada
        .post("/v1/send-email", json!({ "lead_id": lead_id }))
        .await;
    assert_eq!(neither.status, 400);

    let store = local.system.access.rows().store().clone();
    store
        .transact_write(vec![WriteOp::put(
            Item::new(&suppression_key(ada.owner(), "Grace@Navy.example"))
                .with("reason", "unsubscribe"),
        )])
        .await
        .unwrap();
    let suppressed = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!((suppressed.status, suppressed.code()), (409, "suppressed"));

    let bob = Client::user(&local, Role::Client, None);
    bob.sign_up().await;
    let lead = bob
        .post(
            "/v1/leads",
            json!({ "name": "X", "primary_email": "x@example.com" }),
        )
        .await;
    let no_sender = bob
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead.body["id"], "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!((no_sender.status, no_sender.code()), (409, "no_sender"));
    assert_eq!(
        bob.post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "x" })
        )
        .await
        .status,
        404
    );
    assert!(outbox_files(&local).is_empty(), "nothing was sent");
    assert_eq!(
        ada.post("/v1/rpc/get_workspace_monthly_usage", json!({}))
            .await
            .body["emails_sent"],
        0
    );
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_sends_once() {
    let local = RunningLocal::start().await;
    let (ada, _sender, lead_id) = workspace(&local).await;
    let body = json!({ "lead_id": lead_id, "subject": "Once", "html_body": "<p>Only once</p>" });
    let send = |key: &'static str| {
        let ada = ada.clone();
        let body = body.clone();
        async move {
            let mut request = reqwest::Client::new()
                .post(format!("{}/v1/send-email", ada.base))
                .json(&body)
                .header("Idempotency-Key", key);
            request = request.bearer_auth(ada.token.clone().unwrap());
            request.send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let first = send("order-42").await;
    let second = send("order-42").await;
    assert_eq!(first["message_id"], second["message_id"]);
    assert_eq!(outbox_files(&local).len(), 1);
    let other = send("order-43").await;
    assert_ne!(other["message_id"], first["message_id"]);
    assert_eq!(outbox_files(&local).len(), 2);
}

#[tokio::test]
async fn a_hundred_concurrent_sends_against_fifty_remaining_send_exactly_fifty() {
    let local = RunningLocal::start().await;
    let (ada, _sender, lead_id) = workspace(&local).await;
    // Starter: 2,000 e-mails a month; 1,950 already used.
    let used = ada
        .post(
            "/v1/rpc/increment_outbound_usage",
            json!({ "channel": "email", "amount": 1950 }),
        )
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let ada = ada.clone();
        let lead_id = lead_id.clone();
        tasks.push(tokio::spawn(async move {
            ada.post(
                "/v1/send-email",
                json!({ "lead_id": lead_id, "subject": format!("#{i}"), "html_body": "<p>Hi</p>" }),
            )
            .await
        }));
    }
    let (mut sent, mut refused) = (0, 0);
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            200 => sent += 1,
            429 => {
                assert_eq!(reply.code(), "quota_exceeded");
                assert_eq!(reply.body["limit"], "monthly_emails");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!((sent, refused), (50, 50));
    assert_eq!(outbox_files(&local).len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_at_the_start_of_a_new_day_all_go_out() {
    let clock = Arc::new(scaliyo_store::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-01T23:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let (ada, _sender, lead_id) = workspace(&local).await;
    let first = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Yesterday", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The sender's day counter still names yesterday; a hundred sends race to roll it over.
    clock.advance(chrono::Duration::hours(2));
    let actor = scaliyo_app::access::Actor::acting_for(ada.owner());
    let sends = (0..100).map(|i| {
        let send = local.system.send.clone();
        let actor = actor.clone();
        let request: SendRequest = serde_json::from_value(
            json!({ "lead_id": lead_id, "subject": format!("#{i}"), "html_body": "<p>Hi</p>" }),
        )
        .unwrap();
        tokio::spawn(async move { send.send(&actor, request, None).await })
    });
    for send in futures::future::join_all(sends).await {
        let sent = send.unwrap();
        assert!(sent.is_ok(), "no send is mistaken for a cap: {sent:?}");
    }
    assert_eq!(outbox_files(&local).len(), 101);
}

#[tokio::test]
async fn a_sender_at_its_daily_cap_hands_over_to_the_next() {
    let local = RunningLocal::start().await;
    let (ada, first, lead_id) = workspace(&local).await;
    ada.patch(
        &format!("/v1/sender_accounts/{first}"),
        json!({ "metadata": { "daily_limit": 1 } }),
    )
    .await;
    let second = ada
        .post("/v1/sender-accounts/connect", json!({ "provider": "mailchimp", "from_email": "ada@other.example", "api_key": "md-key", "metadata": { "daily_limit": 1 } }))
        .await;
    let send = || {
        ada.post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
    };
    assert_eq!(
        send().await.body["sender_account_id"],
        first.as_str(),
        "the default account first"
    );
    assert_eq!(send().await.body["sender_account_id"], second.body["id"]);
    let capped = send().await;
    assert_eq!(
        (capped.status, capped.body["limit"].as_str()),
        (429, Some("sender_daily"))
    );
    // A disabled account is never used, even when named.
    ada.patch(
        &format!("/v1/sender_accounts/{first}"),
        json!({ "status": "disabled", "metadata": {} }),
    )
    .await;
    let named = ada.post("/v1/send-email", json!({ "lead_id": lead_id, "sender_account_id": first, "subject": "Hi", "html_body": "<p>Hi</p>" })).await;
    assert_eq!(named.code(), "no_sender");
}

/// A mailer that always fails the way the test says.
struct Failing(MailError);

#[async_trait::async_trait]
impl Mailer for Failing {
    async fn send(
        &self,
        _email: &OutgoingEmail,
        _credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        Err(self.0.clone())
    }
}

#[tokio::test]
async fn a_provider_failure_is_recorded_and_gives_back_what_it_reserved() {
    let local = RunningLocal::start().await;
    let (ada, sender_id, lead_id) = workspace(&local).await;
    for (error, needs_reauth) in [
        (MailError::Unavailable("503".into()), false),
        (MailError::Auth("revoked".into()), true),
    ] {
        let pipeline = SendPipeline::new(
            local.system.access.clone(),
            Arc::new(
                LocalSealer::from_key_text(
                    &std::fs::read_to_string(local.data_dir.path().join("secrets/master.key"))
                        .unwrap(),
                )
                .unwrap(),
            ),
            Mailers::all(Arc::new(Failing(error))),
            local.system.clock.clone(),
            SendConfig::new(local.base_url.clone()),
        );
        let actor = local
            .system
            .access
            .actor(
                Some(scaliyo_domain::ids::Caller {
                    user_id: ada.id().parse().unwrap(),
                    role: Role::Client,
                    email: None,
                }),
                None,
            )
            .await
            .unwrap();
        let request: SendRequest = serde_json::from_value(
            json!({ "lead_id": lead_id, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .unwrap();
        let failure = pipeline.send(&actor, request, None).await.unwrap_err();
        let SendError::Provider { message_id, .. } = failure else {
            panic!("{failure:?}")
        };
        assert_eq!(
            ada.get(&format!("/v1/email_messages/{message_id}"))
                .await
                .body["status"],
            "failed"
        );
        let account = ada.get(&format!("/v1/sender_accounts/{sender_id}")).await;
        assert_eq!(
            account.body["daily_sent_today"], 0,
            "the reservation was given back"
        );
        assert_eq!(account.body["status"] == "needs_reauth", needs_reauth);
        assert_eq!(
            ada.post("/v1/rpc/get_workspace_monthly_usage", json!({}))
                .await
                .body["emails_sent"],
            0
        );
    }
}

#[tokio::test]
async fn sends_and_hits_are_counted_at_the_local_metrics_endpoint() {
    let local = RunningLocal::start().await;
    let (ada, _, lead_id) = workspace(&local).await;
    let received = scaliyo_tests::mailbox::send(
        &local,
        &ada,
        &lead_id,
        json!({ "subject": "Hi", "html_body": "<p>Hello</p>" }),
    )
    .await;
    let pixel = scaliyo_tests::mailbox::urls(&received.html, "/t/o/")
        .into_iter()
        .next()
        .expect("a pixel");
    let http = reqwest::Client::new();
    let opened = http
        .get(&pixel)
        .header("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15")
        .send()
        .await
        .expect("the pixel answers");
    assert_eq!(opened.status(), 200);
    local.apply_hits().await;
    let response = http
        .get(local.url("/_local/metrics"))
        .send()
        .await
        .expect("the metrics answer");
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4"))
    );
    let text = response.text().await.unwrap_or_default();
    assert!(
        text.contains("scaliyo_emails_sent_total{provider=\"sendgrid\"} 1\n"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("scaliyo_tracking_hits_total{")
                && l.contains("kind=\"open\"")
                && l.ends_with(" 1")),
        "{text}"
    );
}

/// Mailchimp's Marketing API as its root answers for a key it accepts.
fn mailchimp_root() -> Value {
    json!({
        "account_id": "8d3a3db4d97663a9074efcc16",
        "login_id": "44302713",
        "account_name": "Scaliyo Ltd",
        "email": "ada@scaliyo.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "username": "ada",
        "role": "owner",
        "pro_enabled": false,
        "total_subscribers": 1200,
        "_links": []
    })
}

#[tokio::test]
async fn connect_mailchimp_oauth_checks_the_marketing_key_and_the_account_never_sends_outreach() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const KEY: &str = "0123456789abcdef0123456789abcdef-us21";
    let mailchimp = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/3.0/"))
        .and(header(
            "authorization",
            scaliyo_mail::mailchimp_marketing::authorization(KEY).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(mailchimp_root()))
        .with_priority(1)
        .mount(&mailchimp)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("content-type", "application/problem+json")
                .set_body_json(json!({
                    "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                    "title": "API Key Invalid",
                    "status": 401,
                    "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
                    "instance": "4a7b4c8e-6b39-4c0c-8b32-4c3b0b8b7c1e"
                })),
        )
        .with_priority(2)
        .mount(&mailchimp)
        .await;
    let uri = mailchimp.uri();
    let local = RunningLocal::start_configured(Arc::new(scaliyo_store::SystemClock), |config| {
        config.mailchimp_marketing_url = uri;
    })
    .await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    let connect = |body: Value| ada.post("/functions/v1/connect-mailchimp-oauth", body);

    // The frontend's body: its workspace (the caller) and the key.
    let connected = connect(json!({ "workspaceId": ada.id(), "apiKey": KEY })).await;
    assert_eq!(connected.status, 200, "{}", connected.body);
    assert_eq!(connected.body["success"], true);
    let account = &connected.body["account"];
    assert_eq!(account["provider"], "mailchimp");
    assert_eq!(account["from_email"], "ada@scaliyo.example");
    assert_eq!(account["display_name"], "ada@scaliyo.example (Mailchimp)");
    assert_eq!(account["use_for_outreach"], false);
    assert_eq!(account["metadata"]["mailchimp_api"], "marketing");
    assert_eq!(account["metadata"]["datacenter"], "us21");
    assert_eq!(
        account["metadata"]["mailchimp_account_id"],
        "8d3a3db4d97663a9074efcc16"
    );
    assert!(
        !connected.body.to_string().contains(KEY),
        "no secret answered"
    );
    let listed = ada.get("/v1/sender_accounts").await;
    assert!(!listed.body.to_string().contains(KEY), "no secret listed");

    // The same account again (a new key after a rotation, say): the sender is reconnected.
    let again = connect(json!({ "api_key": KEY })).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["account"]["id"], account["id"]);

    // A refused key, a key that is not one, another workspace: nothing is created.
    let refused = connect(json!({ "apiKey": "fedcba9876543210fedcba9876543210-us21" })).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["success"], false);
    assert!(
        refused.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("API Key Invalid") || m.contains("may be invalid")),
        "{}",
        refused.body
    );
    let asked = mailchimp
        .received_requests()
        .await
        .unwrap_or_default()
        .len();
    let malformed = connect(json!({ "apiKey": "md-not-a-marketing-key" })).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(
        mailchimp
            .received_requests()
            .await
            .unwrap_or_default()
            .len(),
        asked,
        "a key that is not one is refused before Mailchimp is asked"
    );
    let elsewhere = connect(json!({ "workspaceId": scaliyo_domain::ids::OwnerId::new_random().to_string(), "apiKey": KEY })).await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);
    let missing = connect(json!({ "workspaceId": ada.id() })).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    let senders = ada.get("/v1/sender_accounts").await;
    assert_eq!(
        senders.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        senders.body
    );

    // Marketing only: the send pipeline never chooses it, even when told to use it.
    let id = account["id"].as_str().unwrap();
    let patched = ada
        .patch(
            &format!("/v1/sender_accounts/{id}"),
            json!({ "use_for_outreach": true }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Grace Hopper", "primary_email": "grace@navy.example" }),
        )
        .await;
    let send = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead.body["id"], "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(
        (send.status, send.code()),
        (409, "no_sender"),
        "{}",
        send.body
    );
    assert!(outbox_files(&local).is_empty());
}

/// `connect-sendgrid` with a key SendGrid refuses, or one that may not send, is answered 400
/// naming the key and saves nothing; a key with `mail.send` connects. The SendGrid adapter
/// against a stand-in of `GET /v3/scopes`, through the local server as the frontend calls it.
#[tokio::test]
async fn connect_sendgrid_refuses_a_key_that_cannot_send_and_saves_nothing() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let sendgrid = MockServer::start().await;
    for (key, scope) in [
        ("SG.can-send", "mail.send"),
        ("SG.stats-only", "stats.read"),
    ] {
        Mock::given(method("GET"))
            .and(path("/v3/scopes"))
            .and(header("authorization", format!("Bearer {key}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "scopes": [scope] })))
            .with_priority(1)
            .mount(&sendgrid)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({ "errors": [{ "field": null, "message": "authorization required" }] }),
        ))
        .with_priority(2)
        .mount(&sendgrid)
        .await;
    let mailer: Arc<dyn Mailer> = Arc::new(scaliyo_mail::SendgridMailer::new(
        sendgrid.uri(),
        scaliyo_mail::http_client(),
    ));
    let local = RunningLocal::start_configured(Arc::new(scaliyo_store::SystemClock), |config| {
        config.injected.mailer = Some(mailer);
    })
    .await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    let connect = |key: &str| {
        ada.post(
            "/functions/v1/connect-sendgrid",
            json!({ "api_key": key, "from_email": "ada@mail.scaliyo.example", "from_name": "Ada" }),
        )
    };
    for (key, reason) in [
        ("SG.revoked", "authorization required"),
        ("SG.stats-only", "mail.send"),
    ] {
        let refused = connect(key).await;
        assert_eq!(refused.status, 400, "{key}: {}", refused.body);
        let text = refused.body.to_string();
        assert!(
            text.contains("api_key") && text.contains(reason),
            "{key}: {text}"
        );
        assert!(!text.contains(key), "the key is not echoed: {text}");
    }
    let listed = ada.get("/v1/sender_accounts").await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "nothing saved: {}",
        listed.body
    );
    let connected = connect("SG.can-send").await;
    assert_eq!(connected.status, 200, "{}", connected.body);
    assert_eq!(connected.body["account"]["provider"], "sendgrid");
}

/// A Mailchimp Transactional key is pinged when its sender connects (`Invalid_Key`: 400,
/// nothing saved); a Marketing key, checked against the Marketing API instead, is not sent to
/// Transactional's ping, where it would be unknown.
#[tokio::test]
async fn mailchimp_keys_are_checked_against_the_api_they_belong_to() {
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const MARKETING_KEY: &str = "0123456789abcdef0123456789abcdef-us21";
    let mailchimp = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/3.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mailchimp_root()))
        .mount(&mailchimp)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/users/ping2"))
        .and(body_json(json!({ "key": "md-good" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "PING": "PONG!" })))
        .with_priority(1)
        .mount(&mailchimp)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/users/ping2"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({ "status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key" }),
        ))
        .with_priority(2)
        .mount(&mailchimp)
        .await;
    let uri = mailchimp.uri();
    let mailer: Arc<dyn Mailer> = Arc::new(scaliyo_mail::MailchimpMailer::new(
        uri.clone(),
        scaliyo_mail::http_client(),
    ));
    let local = RunningLocal::start_configured(Arc::new(scaliyo_store::SystemClock), |config| {
        config.mailchimp_marketing_url = uri;
        config.injected.mailer = Some(mailer);
    })
    .await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    let transactional = |key: &str| {
        ada.post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "mailchimp", "from_email": "ada@mail.scaliyo.example", "api_key": key }),
        )
    };
    let refused = transactional("md-wrong").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("Invalid API key"),
        "{}",
        refused.body
    );
    let listed = ada.get("/v1/sender_accounts").await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "nothing saved: {}",
        listed.body
    );
    assert_eq!(transactional("md-good").await.status, 201);
    let marketing = ada
        .post(
            "/functions/v1/connect-mailchimp-oauth",
            json!({ "apiKey": MARKETING_KEY }),
        )
        .await;
    assert_eq!(marketing.status, 200, "{}", marketing.body);
    let pinged: Vec<String> = mailchimp
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/1.0/users/ping2")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(pinged.len(), 2, "{pinged:?}");
    assert!(pinged.iter().all(|body| !body.contains(MARKETING_KEY)));
}
