//! social-run-scheduler over the local system: accounts and posts over HTTP, the tick driven
//! with a controllable clock as EventBridge would drive it, and local fakes of the Graph API
//! and LinkedIn standing in for the networks (their base URLs are configuration).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_social::SocialConfig;
use scaliyo_store::{Clock, ManualClock};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PAGE: &str = "1050";
const IG_USER: &str = "17841400000000001";
const MEMBER: &str = "urn:li:person:ada-8675309";
const ORG: &str = "urn:li:organization:77";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

struct World {
    local: RunningLocal,
    clock: Arc<ManualClock>,
    meta: MockServer,
    linkedin: MockServer,
    ada: Client,
}

async fn world(now: &str, timeout: StdDuration) -> World {
    let clock = Arc::new(ManualClock::new(at(now)));
    let meta = MockServer::start().await;
    let linkedin = MockServer::start().await;
    let social = SocialConfig {
        meta_base_url: meta.uri(),
        linkedin_base_url: linkedin.uri(),
        meta_version: "v25.0".into(),
        linkedin_version: "202605".into(),
        container_wait: StdDuration::from_secs(5),
        container_poll: StdDuration::from_millis(20),
        timeout,
    };
    let local = RunningLocal::start_configured(clock.clone(), |config| {
        config.social = Some(social);
        // The webhook receiver of these tests runs on this machine.
        config.webhooks_allow_private = true;
    })
    .await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    World {
        local,
        clock,
        meta,
        linkedin,
        ada,
    }
}

impl World {
    async fn tick(&self) -> Value {
        serde_json::to_value(self.local.system.social.tick().await.unwrap()).unwrap()
    }

    fn advance(&self, by: Duration) {
        self.clock.set(self.clock.now() + by);
    }

    async fn connect(&self, path: &str, body: Value) -> String {
        let account = self.ada.post(path, body).await;
        assert_eq!(account.status, 201, "{}", account.body);
        let text = account.body.to_string();
        assert!(
            !text.contains("_encrypted") && !text.contains("-token\""),
            "no token in the response: {text}"
        );
        account.body["id"].as_str().unwrap().to_owned()
    }

    async fn upload_image(&self) -> String {
        let ticket = self
            .ada
            .post(
                "/v1/storage/social_media/uploads",
                json!({ "file_name": "launch.png", "content_type": "image/png", "size": 8 }),
            )
            .await;
        assert_eq!(ticket.status, 201, "{}", ticket.body);
        let put = reqwest::Client::new()
            .put(ticket.body["upload_url"].as_str().unwrap())
            .header("content-type", "image/png")
            .body(b"\x89PNG\r\n\x1a\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        ticket.body["key"].as_str().unwrap().to_owned()
    }

    async fn post(&self, id: &str) -> Value {
        let post = self.ada.get(&format!("/v1/social/posts/{id}")).await;
        assert_eq!(post.status, 200, "{}", post.body);
        post.body
    }
}

fn target<'a>(post: &'a Value, channel: &str) -> &'a Value {
    post["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel"] == channel)
        .unwrap()
}

fn events_of(post: &Value, target_id: &Value, kind: &str) -> usize {
    post["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| &e["target_id"] == target_id && e["event_type"] == kind)
        .count()
}

fn form(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn mount_meta(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/photos")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "5551", "post_id": format!("{PAGE}_777") })),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "17890000000000042" })),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/17890000000000042"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "status_code": "FINISHED", "id": "17890000000000042" })),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media_publish")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "17920238422030506" })),
        )
        .mount(server)
        .await;
}

async fn mount_linkedin(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/rest/images"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": {
                "uploadUrlExpiresAt": 1_796_000_000_000_i64,
                "uploadUrl": format!("{}/dms-uploads/img-1", server.uri()),
                "image": "urn:li:image:C4E10AQFoyyAjHPMQuQ"
            }
        })))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/dms-uploads/img-1"))
        .respond_with(ResponseTemplate::new(201))
        .mount(server)
        .await;
    // The organisation's token has expired.
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer org-token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "serviceErrorCode": 65600, "code": "EXPIRED_ACCESS_TOKEN", "message": "The token used in the request has expired", "status": 401
        })))
        .mount(server)
        .await;
    // The member is rate limited twice, then the post goes through.
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer member-token"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .set_body_json(json!({ "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.", "status": 429 })),
        )
        .up_to_n_times(2)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer member-token"))
        .and(header("linkedin-version", "202605"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-restli-id", "urn:li:share:6844785523593134080"),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_post_to_all_four_channels_publishes_retries_and_fails_per_target() {
    let w = world("2026-11-27T04:00:00Z", StdDuration::from_secs(5)).await;
    mount_meta(&w.meta).await;
    mount_linkedin(&w.linkedin).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let hook = w
        .ada
        .post(
            "/v1/webhooks",
            json!({ "name": "social", "url": format!("{}/in", receiver.uri()), "trigger_event": "*", "secret": "s" }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let meta = w
        .connect(
            "/v1/social/accounts/meta",
            json!({ "page_id": PAGE, "page_name": "Scaliyo", "page_access_token": "EAAB-page-token",
                    "instagram_user_id": IG_USER, "instagram_username": "scaliyo" }),
        )
        .await;
    let member = w
        .connect(
            "/v1/social/accounts/linkedin",
            json!({ "member_urn": MEMBER, "access_token": "member-token", "token_expires_at": "2027-01-20T00:00:00Z" }),
        )
        .await;
    let org = w
        .connect(
            "/v1/social/accounts/linkedin",
            json!({ "org_urn": ORG, "org_name": "Scaliyo Ltd", "access_token": "org-token", "token_expires_at": "2026-11-30T00:00:00Z" }),
        )
        .await;
    let image = w.upload_image().await;
    // 09:30 in Karachi (UTC+5) is 04:30 UTC.
    let created = w
        .ada
        .post(
            "/v1/social/posts",
            json!({
                "content_text": "Spring launch (50% off) #sale",
                "link_url": "https://scaliyo.example/launch?utm_source=social",
                "media_paths": [image],
                "scheduled_at": "2026-11-27T09:30",
                "targets": [
                    { "account_id": meta, "channel": "facebook_page" },
                    { "account_id": meta, "channel": "instagram" },
                    { "account_id": member, "channel": "linkedin_member" },
                    { "account_id": org, "channel": "linkedin_org" }
                ]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "scheduled");
    assert_eq!(created.body["timezone"], "Asia/Karachi");
    assert!(
        created.body["scheduled_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-27T04:30:00"),
        "{}",
        created.body["scheduled_at"]
    );
    let id = created.body["id"].as_str().unwrap().to_owned();

    // Not due yet.
    let early = w.tick().await;
    assert_eq!(early["claimed"], 0);

    w.advance(Duration::minutes(31));
    let first = w.tick().await;
    assert_eq!(first["claimed"], 1, "{first}");
    let post = w.post(&id).await;
    assert_eq!(post["status"], "processing");
    assert_eq!(target(&post, "facebook_page")["status"], "published");
    assert_eq!(target(&post, "facebook_page")["remote_post_id"], "1050_777");
    assert_eq!(
        target(&post, "instagram")["remote_post_id"],
        "17920238422030506"
    );
    let failed = target(&post, "linkedin_org");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error_code"], "token_expired");
    assert_eq!(
        failed["error_message"],
        "The token used in the request has expired"
    );
    assert_eq!(target(&post, "linkedin_member")["status"], "scheduled");
    assert_eq!(
        target(&post, "linkedin_member")["error_code"],
        "rate_limited"
    );

    // Retry-After 60 s; then 2 minutes (the second back-off step).
    w.advance(Duration::seconds(61));
    w.tick().await;
    assert_eq!(
        target(&w.post(&id).await, "linkedin_member")["status"],
        "scheduled"
    );
    w.advance(Duration::seconds(59));
    let too_soon = w.tick().await;
    assert_eq!(too_soon["resumed"], 0, "{too_soon}");
    w.advance(Duration::seconds(62));
    w.tick().await;

    let post = w.post(&id).await;
    assert_eq!(post["status"], "completed", "{post}");
    assert_eq!(
        post["summary"],
        json!({ "published": 3, "failed": 1, "open": 0 })
    );
    // Every status the post went through moved its owner's tallies (count=exact reads them).
    let rows = w.local.system.access.rows();
    let posts = &scaliyo_domain::schema::SOCIAL_POSTS;
    for status in ["draft", "scheduled", "processing", "completed", "failed"] {
        let tallied = rows
            .tallied_count(posts, w.ada.id(), Some(("status", status)))
            .await
            .unwrap();
        assert_eq!(tallied, Some(u64::from(status == "completed")), "{status}");
    }
    assert_eq!(
        rows.tallied_count(posts, w.ada.id(), None).await.unwrap(),
        Some(1)
    );
    let linkedin = target(&post, "linkedin_member");
    assert_eq!(linkedin["status"], "published");
    assert_eq!(
        linkedin["remote_post_id"],
        "urn:li:share:6844785523593134080"
    );
    assert!(linkedin["published_at"].is_string());
    assert_eq!(linkedin["error_code"], Value::Null);
    assert_eq!(events_of(&post, &linkedin["id"], "started"), 3);
    assert_eq!(events_of(&post, &linkedin["id"], "retry"), 2);
    assert_eq!(events_of(&post, &linkedin["id"], "published"), 1);
    assert_eq!(events_of(&post, &failed["id"], "failed"), 1);
    assert_eq!(
        post["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "scheduled")
            .count(),
        1
    );

    // Every channel's text carries its own short link; each redirects to the destination.
    let fb = target(&post, "facebook_page");
    let fb_short = fb["short_url"].as_str().unwrap();
    let photos: Vec<Request> = w
        .meta
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/photos"))
        .collect();
    let caption = field(&form(&photos[0]), "caption").unwrap().to_owned();
    assert_eq!(
        caption,
        format!("Spring launch (50% off) #sale\n\n{fb_short}")
    );
    let image_url = field(&form(&photos[0]), "url").unwrap().to_owned();
    assert_eq!(
        reqwest::get(&image_url).await.unwrap().status(),
        200,
        "the network can fetch the media by its signed URL"
    );
    let shorts: std::collections::HashSet<&str> = post["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["short_url"].as_str().unwrap())
        .collect();
    assert_eq!(shorts.len(), 4, "one slug per target");
    let no_redirects = scaliyo_tests::http_client::without_redirects();
    let visit = no_redirects
        .get(fb_short)
        .header("referer", "https://www.facebook.com/")
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
        )
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), 302);
    assert_eq!(
        visit.headers()["location"],
        "https://scaliyo.example/launch?utm_source=social"
    );
    let unknown = no_redirects
        .get(w.local.url("/l/AAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let visits = w.ada.get("/v1/tracking_events").await;
    let visits = visits.body["data"].as_array().unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["referrer"], "https://www.facebook.com/");
    let hash = visits[0]["ip_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!visits[0].to_string().contains("203.0.113.9"));

    // The expired organisation is reported; the member's token is fine.
    let health = w.ada.get("/v1/social/accounts/health").await;
    assert_eq!(health.status, 200);
    let accounts = health.body["data"].as_array().unwrap();
    let org_health = accounts.iter().find(|a| a["id"] == org.as_str()).unwrap();
    assert_eq!(org_health["needs_reconnect"], true);
    assert_eq!(org_health["expiring_soon"], true);
    let member_health = accounts
        .iter()
        .find(|a| a["id"] == member.as_str())
        .unwrap();
    assert_eq!(member_health["needs_reconnect"], false);

    // Outgoing webhooks: one event per settled target, and the expiring organisation token.
    let worker = w.local.system.webhook_worker();
    let mut types: Vec<String> = Vec::new();
    for _ in 0..100 {
        worker.drain().await;
        types = scaliyo_tests::http_client::event_types(
            &receiver.received_requests().await.unwrap_or_default(),
        );
        if types.len() >= 5 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(
        types,
        vec![
            "social.failed",
            "social.published",
            "social.published",
            "social.published",
            "social.token_expiring"
        ]
    );

    // Another tick publishes nothing again.
    let calls = w.linkedin.received_requests().await.unwrap().len();
    w.advance(Duration::minutes(30));
    w.tick().await;
    assert_eq!(w.linkedin.received_requests().await.unwrap().len(), calls);
}

#[tokio::test]
async fn a_publish_that_timed_out_is_looked_for_before_publishing_again() {
    let w = world("2026-11-27T04:00:00Z", StdDuration::from_millis(500)).await;
    // The feed post goes through but the answer comes too late.
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/feed")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(StdDuration::from_secs(2))
                .set_body_json(json!({ "id": format!("{PAGE}_4242") })),
        )
        .expect(1)
        .mount(&w.meta)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PAGE}/published_posts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [ { "id": format!("{PAGE}_4242"), "message": "Doors open at nine", "created_time": "2026-11-27T04:00:01+0000" } ]
        })))
        .mount(&w.meta)
        .await;
    let meta = w
        .connect(
            "/v1/social/accounts/meta",
            json!({ "page_id": PAGE, "page_access_token": "EAAB-page-token" }),
        )
        .await;
    let created = w
        .ada
        .post(
            "/v1/social/posts",
            json!({
                "content_text": "Doors open at nine",
                "scheduled_at": "2026-11-27T04:00:00Z",
                "targets": [ { "account_id": meta, "channel": "facebook_page" } ]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    w.tick().await;
    let post = w.post(&id).await;
    let fb = target(&post, "facebook_page");
    assert_eq!(fb["status"], "processing", "{post}");
    assert_eq!(fb["error_code"], "unconfirmed");
    let retry = post["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "retry")
        .unwrap();
    assert_eq!(retry["payload"]["unconfirmed"], true);

    // Within the lease nothing is touched; after it the post is found, not posted again.
    w.advance(Duration::minutes(5));
    w.tick().await;
    assert_eq!(
        target(&w.post(&id).await, "facebook_page")["status"],
        "processing"
    );
    w.advance(Duration::minutes(6));
    w.tick().await;
    let post = w.post(&id).await;
    let fb = target(&post, "facebook_page");
    assert_eq!(fb["status"], "published", "{post}");
    assert_eq!(fb["remote_post_id"], format!("{PAGE}_4242"));
    assert_eq!(post["status"], "completed");
    // wiremock verifies `.expect(1)` on the feed when the server drops.
}

#[tokio::test]
async fn posts_are_checked_before_anything_is_written() {
    let w = world("2026-11-27T04:00:00Z", StdDuration::from_secs(5)).await;
    let meta = w
        .connect(
            "/v1/social/accounts/meta",
            json!({ "page_id": PAGE, "page_access_token": "EAAB-page-token", "instagram_user_id": IG_USER }),
        )
        .await;
    let eve = Client::user(&w.local, Role::Client, Some("eve@example.com"));
    assert_eq!(eve.sign_up().await.status, 201);
    let cases = [
        (
            &w.ada,
            json!({ "content_text": "No picture", "targets": [ { "account_id": meta, "channel": "instagram" } ] }),
            "Instagram needs an image",
        ),
        (
            &w.ada,
            json!({ "content_text": "x".repeat(63_207), "targets": [ { "account_id": meta, "channel": "facebook_page" } ] }),
            "allows 63206",
        ),
        (
            &w.ada,
            json!({ "content_text": "Hi", "targets": [ { "account_id": meta, "channel": "linkedin_org" } ] }),
            "cannot post to linkedin_org",
        ),
        (
            &w.ada,
            json!({ "content_text": "Hi", "link_url": "javascript:alert(1)", "targets": [ { "account_id": meta, "channel": "facebook_page" } ] }),
            "http(s)",
        ),
        (
            &w.ada,
            json!({ "content_text": "Hi", "scheduled_at": "2026-11-26T09:00", "targets": [ { "account_id": meta, "channel": "facebook_page" } ] }),
            "in the past",
        ),
        (
            &w.ada,
            json!({ "content_text": "Hi", "media_paths": ["someone-else/x.png"], "targets": [ { "account_id": meta, "channel": "facebook_page" } ] }),
            "must be a file you uploaded",
        ),
        // Another user's account does not exist for eve.
        (
            &eve,
            json!({ "content_text": "Hi", "targets": [ { "account_id": meta, "channel": "facebook_page" } ] }),
            "no such social account",
        ),
    ];
    for (who, body, reason) in cases {
        let reply = who.post("/v1/social/posts", body).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.body["code"], "invalid");
        assert!(
            reply.body["message"].as_str().unwrap().contains(reason),
            "{reason}: {}",
            reply.body
        );
    }
    assert_eq!(w.ada.get("/v1/social_posts").await.body["data"], json!([]));
    assert_eq!(
        w.ada.get("/v1/social_post_targets").await.body["data"],
        json!([])
    );
    assert_eq!(
        w.ada.get("/v1/tracking_links").await.body["data"],
        json!([])
    );

    // Tokens go in through the connect calls only, and never come out.
    let raw = w
        .ada
        .post(
            "/v1/social_accounts",
            json!({ "provider": "meta", "meta_page_id": "1", "meta_page_access_token_encrypted": "plain" }),
        )
        .await;
    assert_eq!(raw.status, 400, "{}", raw.body);
    let listed = w.ada.get("/v1/social_accounts").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert!(!listed.body.to_string().contains("token_encrypted"));
    assert_eq!(eve.get("/v1/social_accounts").await.body["data"], json!([]));
    let unauthenticated = Client::anonymous(&w.local)
        .post(
            "/v1/social/posts",
            json!({ "content_text": "x", "targets": [] }),
        )
        .await;
    assert_eq!(unauthenticated.status, 401);
}

#[tokio::test]
async fn a_draft_is_scheduled_later_and_reconnecting_keeps_one_account() {
    let w = world("2026-11-27T04:00:00Z", StdDuration::from_secs(5)).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/feed")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": format!("{PAGE}_1") })),
        )
        .expect(1)
        .mount(&w.meta)
        .await;
    let first = w
        .connect(
            "/v1/social/accounts/meta",
            json!({ "page_id": PAGE, "page_access_token": "old-token" }),
        )
        .await;
    let again = w
        .connect(
            "/v1/social/accounts/meta",
            json!({ "page_id": PAGE, "page_access_token": "EAAB-page-token", "page_name": "Scaliyo" }),
        )
        .await;
    assert_eq!(first, again, "reconnecting updates the same account");
    let draft = w
        .ada
        .post(
            "/v1/social/posts",
            json!({ "content_text": "Draft first", "link_url": "https://scaliyo.example/", "targets": [ { "account_id": first, "channel": "facebook_page" } ] }),
        )
        .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    assert_eq!(draft.body["status"], "draft");
    assert_eq!(draft.body["targets"][0]["status"], "pending");
    let id = draft.body["id"].as_str().unwrap().to_owned();
    w.advance(Duration::hours(1));
    assert_eq!(w.tick().await["claimed"], 0, "a draft is never published");
    let scheduled = w
        .ada
        .post(
            &format!("/v1/social/posts/{id}/schedule"),
            json!({ "scheduled_at": "2026-11-27T10:15:00+05:00" }),
        )
        .await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.body);
    assert_eq!(scheduled.body["status"], "scheduled");
    assert_eq!(scheduled.body["targets"][0]["status"], "scheduled");
    let twice = w
        .ada
        .post(&format!("/v1/social/posts/{id}/schedule"), json!({}))
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["code"], "not_draft");
    w.advance(Duration::minutes(20));
    w.tick().await;
    let post = w.post(&id).await;
    assert_eq!(post["status"], "completed");
    let sent = &w.meta.received_requests().await.unwrap()[0];
    let pairs = form(sent);
    assert_eq!(field(&pairs, "message"), Some("Draft first"));
    assert_eq!(
        field(&pairs, "link"),
        post["targets"][0]["short_url"].as_str(),
        "Facebook's link field carries the short link"
    );
    assert_eq!(field(&pairs, "access_token"), Some("EAAB-page-token"));
}

#[tokio::test]
async fn an_image_post_to_all_four_channels_is_published_everywhere_with_short_links() {
    let w = world("2026-11-27T04:00:00Z", StdDuration::from_secs(5)).await;
    mount_meta(&w.meta).await;
    mount_linkedin(&w.linkedin).await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer org-valid-token"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-restli-id", "urn:li:share:7000000000000000001"),
        )
        .mount(&w.linkedin)
        .await;
    let meta = w
        .connect(
            "/v1/social/accounts/meta",
            json!({ "page_id": PAGE, "page_access_token": "EAAB-page-token", "instagram_user_id": IG_USER }),
        )
        .await;
    let member = w
        .connect(
            "/v1/social/accounts/linkedin",
            json!({ "member_urn": MEMBER, "access_token": "member-token" }),
        )
        .await;
    let org = w
        .connect(
            "/v1/social/accounts/linkedin",
            json!({ "org_urn": ORG, "access_token": "org-valid-token" }),
        )
        .await;
    let image = w.upload_image().await;
    let created = w
        .ada
        .post(
            "/v1/social/posts",
            json!({
                "content_text": "Doors open",
                "link_url": "https://scaliyo.example/open",
                "media_paths": [image],
                "scheduled_at": "2026-11-27T04:05:00Z",
                "targets": [
                    { "account_id": meta, "channel": "facebook_page" },
                    { "account_id": meta, "channel": "instagram" },
                    { "account_id": member, "channel": "linkedin_member" },
                    { "account_id": org, "channel": "linkedin_org" }
                ]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // The member is rate limited twice (Retry-After 60 s): three ticks, minutes apart.
    for minutes in [6, 2, 3] {
        w.advance(Duration::minutes(minutes));
        w.tick().await;
    }
    let post = w.post(&id).await;
    assert_eq!(post["status"], "completed", "{post}");
    assert_eq!(
        post["summary"],
        json!({ "published": 4, "failed": 0, "open": 0 })
    );
    let no_redirects = scaliyo_tests::http_client::without_redirects();
    for target in post["targets"].as_array().unwrap() {
        assert_eq!(target["status"], "published", "{target}");
        assert!(
            target["remote_post_id"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
        assert_eq!(events_of(&post, &target["id"], "published"), 1);
        let visit = no_redirects
            .get(target["short_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(visit.status(), 302);
        assert_eq!(visit.headers()["location"], "https://scaliyo.example/open");
    }
    let visits = w.ada.get("/v1/tracking_events").await;
    assert_eq!(
        visits.body["data"].as_array().unwrap().len(),
        4,
        "one visit per channel"
    );
}

#[tokio::test]
async fn an_account_nobody_uses_still_gets_its_token_expiry_event() {
    let w = world("2026-11-27T04:00:00Z", StdDuration::from_secs(5)).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let hook = w
        .ada
        .post(
            "/v1/webhooks",
            json!({ "name": "tokens", "url": format!("{}/in", receiver.uri()), "trigger_event": "social.token_expiring" }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let account = w
        .connect(
            "/v1/social/accounts/linkedin",
            json!({ "member_urn": MEMBER, "access_token": "member-token", "token_expires_at": "2026-12-10T00:00:00Z" }),
        )
        .await;
    let drain = async || {
        let worker = w.local.system.webhook_worker();
        for _ in 0..5 {
            worker.drain().await;
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    };
    // Thirteen days before expiry: nothing yet.
    w.tick().await;
    drain().await;
    assert_eq!(
        receiver.received_requests().await.unwrap_or_default().len(),
        0
    );
    // Inside the last week, with no post and no health read: the tick reports it, once.
    w.advance(Duration::days(7));
    w.tick().await;
    drain().await;
    let sent = receiver.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 1);
    let event: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(event["type"], "social.token_expiring");
    assert_eq!(event["data"]["account_id"], account.as_str());
    w.advance(Duration::days(1));
    w.tick().await;
    drain().await;
    assert_eq!(
        receiver.received_requests().await.unwrap_or_default().len(),
        1
    );
}
