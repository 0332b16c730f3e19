//! Each provider adapter against a local stand-in that checks the exact request the real API
//! requires and answers with its real response and error shapes; SMTP against a real SMTP
//! server (aiosmtpd) on loopback.

use std::time::Duration;

use base64::Engine;
use scaliyo_mail::{
    GmailMailer, MailchimpMailer, MailchimpMarketingApi, OutboxMailer, SendgridMailer, SmtpMailer,
    http_client,
};
use scaliyo_store::{
    Credentials, MailError, MailchimpMarketing, Mailer, MarketingAccount, OutgoingEmail,
    SmtpSecurity,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn email() -> OutgoingEmail {
    OutgoingEmail {
        message_id: "0b8f5a3e-0000-4000-8000-000000000001@mail.scaliyo.example".into(),
        from_email: "ada@scaliyo.example".into(),
        from_name: "Ada Lovelace".into(),
        to_email: "grace@navy.example".into(),
        to_name: Some("Grace Hopper".into()),
        subject: "Hello Grace".into(),
        html: "<p>Hi <a href=\"https://t.example/c/tok\">there</a></p><img src=\"https://t.example/o/px.gif\">".into(),
        text: "Hi there (https://t.example/c/tok)".into(),
        headers: vec![
            ("List-Unsubscribe".into(), "<https://t.example/u/utok>, <mailto:unsubscribe@scaliyo.example?subject=utok>".into()),
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
        ],
        scaliyo_message_id: "0b8f5a3e-0000-4000-8000-000000000001".into(),
    }
}

// ---------------------------------------------------------------------------------- SendGrid

#[tokio::test]
async fn sendgrid_gets_the_v3_mail_send_request_and_its_id_comes_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test-key"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "personalizations": [{ "to": [{ "email": "grace@navy.example", "name": "Grace Hopper" }] }],
            "from": { "email": "ada@scaliyo.example", "name": "Ada Lovelace" },
            "subject": "Hello Grace",
            "content": [
                { "type": "text/plain", "value": "Hi there (https://t.example/c/tok)" },
                { "type": "text/html", "value": email().html }
            ],
            "headers": {
                "List-Unsubscribe": "<https://t.example/u/utok>, <mailto:unsubscribe@scaliyo.example?subject=utok>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
            },
            "custom_args": { "scaliyo_message_id": "0b8f5a3e-0000-4000-8000-000000000001" },
            "tracking_settings": { "click_tracking": { "enable": false }, "open_tracking": { "enable": false } }
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-abc123"))
        .expect(1)
        .mount(&server)
        .await;
    let mailer = SendgridMailer::new(server.uri(), http_client());
    let delivery = mailer
        .send(&email(), &Credentials::ApiKey("SG.test-key".into()))
        .await
        .unwrap();
    assert_eq!(delivery.provider_message_id.as_deref(), Some("sg-abc123"));
}

#[tokio::test]
async fn sendgrid_errors_map_to_what_a_caller_can_act_on() {
    let cases = [
        (ResponseTemplate::new(400).set_body_json(json!({ "errors": [{ "message": "The from address does not match a verified Sender Identity.", "field": "from", "help": null }] })), "rejected"),
        (ResponseTemplate::new(401).set_body_json(json!({ "errors": [{ "message": "The provided authorization grant is invalid, expired, or revoked", "field": null, "help": null }] })), "auth"),
        (ResponseTemplate::new(429).insert_header("Retry-After", "30").set_body_json(json!({ "errors": [{ "message": "too many requests" }] })), "rate"),
        (ResponseTemplate::new(503).set_body_string("upstream unavailable"), "unavailable"),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/mail/send"))
            .respond_with(response)
            .mount(&server)
            .await;
        let error = SendgridMailer::new(server.uri(), http_client())
            .send(&email(), &Credentials::ApiKey("k".into()))
            .await
            .unwrap_err();
        match (expected, &error) {
            ("rejected", MailError::Rejected(m)) => assert!(m.contains("verified Sender Identity")),
            ("auth", MailError::Auth(_)) => {}
            ("rate", MailError::RateLimited { retry_after }) => {
                assert_eq!(*retry_after, Some(Duration::from_secs(30)))
            }
            ("unavailable", MailError::Unavailable(_)) => assert!(error.is_retryable()),
            _ => panic!("{expected}: got {error:?}"),
        }
    }
}

/// Connecting checks the key: `GET /v3/scopes` with the bearer key; it must hold `mail.send`.
#[tokio::test]
async fn a_sendgrid_key_is_checked_for_the_mail_send_permission_before_it_is_saved() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .and(header("authorization", "Bearer SG.full-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "scopes": ["alerts.read", "mail.batch.read", "mail.send", "user.profile.read"] }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .and(header("authorization", "Bearer SG.read-only"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "scopes": ["stats.read", "user.profile.read"] })),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .and(header("authorization", "Bearer SG.revoked"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({ "errors": [{ "field": null, "message": "authorization required" }] }),
        ))
        .mount(&server)
        .await;
    let mailer = SendgridMailer::new(server.uri(), http_client());
    let key = |key: &str| Credentials::ApiKey(key.into());
    mailer.verify(&key("SG.full-access")).await.unwrap();
    match mailer.verify(&key("SG.read-only")).await {
        Err(MailError::Auth(reason)) => assert!(reason.contains("mail.send"), "{reason}"),
        other => panic!("a key without mail.send: {other:?}"),
    }
    match mailer.verify(&key("SG.revoked")).await {
        Err(MailError::Auth(reason)) => assert_eq!(reason, "authorization required"),
        other => panic!("a revoked key: {other:?}"),
    }
    // SendGrid down is not the key's fault: the caller hears it could not check.
    let down = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .mount(&down)
        .await;
    let error = SendgridMailer::new(down.uri(), http_client())
        .verify(&Credentials::ApiKey("SG.full-access".into()))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
}

// ---------------------------------------------------------------- Mailchimp Transactional

#[tokio::test]
async fn mailchimp_transactional_gets_messages_send_with_the_key_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/messages/send"))
        .and(body_json(json!({
            "key": "md-test-key",
            "message": {
                "html": email().html,
                "text": "Hi there (https://t.example/c/tok)",
                "subject": "Hello Grace",
                "from_email": "ada@scaliyo.example",
                "from_name": "Ada Lovelace",
                "to": [{ "email": "grace@navy.example", "name": "Grace Hopper", "type": "to" }],
                "headers": {
                    "List-Unsubscribe": "<https://t.example/u/utok>, <mailto:unsubscribe@scaliyo.example?subject=utok>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
                },
                "track_opens": false,
                "track_clicks": false,
                "metadata": { "scaliyo_message_id": "0b8f5a3e-0000-4000-8000-000000000001" }
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "email": "grace@navy.example", "status": "sent", "reject_reason": null, "_id": "abc123abc123abc123abc123abc123" }
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let delivery = MailchimpMailer::new(server.uri(), http_client())
        .send(&email(), &Credentials::ApiKey("md-test-key".into()))
        .await
        .unwrap();
    assert_eq!(
        delivery.provider_message_id.as_deref(),
        Some("abc123abc123abc123abc123abc123")
    );
}

/// Connecting checks a Transactional key with `POST /api/1.0/users/ping2` (the key in the body).
#[tokio::test]
async fn a_mailchimp_transactional_key_is_pinged_before_it_is_saved() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/users/ping2"))
        .and(body_json(json!({ "key": "md-good" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "PING": "PONG!" })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/users/ping2"))
        .and(body_json(json!({ "key": "md-wrong" })))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({ "status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key" }),
        ))
        .mount(&server)
        .await;
    let mailer = MailchimpMailer::new(server.uri(), http_client());
    let key = |key: &str| Credentials::ApiKey(key.into());
    mailer.verify(&key("md-good")).await.unwrap();
    match mailer.verify(&key("md-wrong")).await {
        Err(MailError::Auth(reason)) => assert_eq!(reason, "Invalid API key"),
        other => panic!("an unknown key: {other:?}"),
    }
}

#[tokio::test]
async fn mailchimp_rejections_and_errors_are_typed() {
    let cases = [
        (ResponseTemplate::new(200).set_body_json(json!([{ "email": "grace@navy.example", "status": "rejected", "reject_reason": "hard-bounce", "_id": "x" }])), "rejected"),
        (ResponseTemplate::new(500).set_body_json(json!({ "status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key" })), "auth"),
        (ResponseTemplate::new(500).set_body_json(json!({ "status": "error", "code": -2, "name": "ValidationError", "message": "You must specify a key value" })), "rejected"),
        (ResponseTemplate::new(429).insert_header("Retry-After", "5").set_body_json(json!({ "status": "error", "name": "Too_Many_Requests", "message": "slow down" })), "rate"),
        (ResponseTemplate::new(502).set_body_string("bad gateway"), "unavailable"),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/1.0/messages/send"))
            .respond_with(response)
            .mount(&server)
            .await;
        let error = MailchimpMailer::new(server.uri(), http_client())
            .send(&email(), &Credentials::ApiKey("k".into()))
            .await
            .unwrap_err();
        let ok = matches!(
            (expected, &error),
            ("rejected", MailError::Rejected(_))
                | ("auth", MailError::Auth(_))
                | ("rate", MailError::RateLimited { .. })
                | ("unavailable", MailError::Unavailable(_))
        );
        assert!(ok, "{expected}: got {error:?}");
    }
}

// ------------------------------------------------------------------ Mailchimp Marketing

const MARKETING_KEY: &str = "0123456789abcdef0123456789abcdef-us21";

#[tokio::test]
async fn a_mailchimp_marketing_key_opens_its_account_at_its_data_centre() {
    let server = MockServer::start().await;
    // Basic auth with any user name and the key as the password, as the API documents.
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("scaliyo:{MARKETING_KEY}"));
    Mock::given(method("GET"))
        .and(path("/dc-us21/3.0/"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "account_id": "8d3a3db4d97663a9074efcc16", "login_id": "44302713",
            "account_name": "Scaliyo Ltd", "email": "ada@scaliyo.example",
            "first_name": "Ada", "last_name": "Lovelace", "role": "owner", "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    // `{dc}` in the configured URL is where the key's data centre goes (the real host is
    // `https://{dc}.api.mailchimp.com`); the stand-in takes it in its path.
    let api = MailchimpMarketingApi::new(format!("{}/dc-{{dc}}", server.uri()), http_client());
    let account = api.account(MARKETING_KEY).await.unwrap();
    assert_eq!(
        account,
        MarketingAccount {
            datacenter: "us21".into(),
            account_id: "8d3a3db4d97663a9074efcc16".into(),
            account_name: "Scaliyo Ltd".into(),
            email: "ada@scaliyo.example".into(),
        }
    );
    // A key that is not one never reaches the network (its data centre would be a host).
    for bad in [
        "md-abcdefghijklmnop",
        "0123456789abcdef0123456789abcdef-us21.evil.example",
    ] {
        assert!(
            matches!(api.account(bad).await, Err(MailError::Auth(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn mailchimp_marketing_problems_are_typed() {
    let problem = |status: u16, title: &str| {
        ResponseTemplate::new(status)
            .insert_header("content-type", "application/problem+json")
            .set_body_json(json!({
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": title, "status": status,
                "detail": format!("{title}: see the documentation"),
                "instance": "0d1c9ffd-4b2b-4c41-9f2c-1f8f0b3b1c3e"
            }))
    };
    let cases = [
        (problem(401, "API Key Invalid"), "auth"),
        (problem(403, "User Disabled"), "auth"),
        (problem(429, "Too Many Requests"), "rate"),
        (problem(503, "Service Unavailable"), "unavailable"),
        (
            ResponseTemplate::new(200).set_body_json(json!({ "unexpected": true })),
            "unavailable",
        ),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/3.0/"))
            .respond_with(response)
            .mount(&server)
            .await;
        let error = MailchimpMarketingApi::new(server.uri(), http_client())
            .account(MARKETING_KEY)
            .await
            .unwrap_err();
        let ok = matches!(
            (expected, &error),
            ("auth", MailError::Auth(_))
                | ("rate", MailError::RateLimited { .. })
                | ("unavailable", MailError::Unavailable(_))
        );
        assert!(ok, "{expected}: got {error:?}");
        if expected == "auth" {
            assert!(
                error.to_string().contains("see the documentation"),
                "{error}"
            );
        }
    }
}

// -------------------------------------------------------------------------------- Gmail

fn decoded_raw(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let raw = body["raw"].as_str().unwrap();
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn gmail_sends_the_raw_message_and_refreshes_an_expired_token_once() {
    let server = MockServer::start().await;
    // The stale token is refused, as Google does.
    Mock::given(method("POST"))
        .and(path("/gmail/v1/users/me/messages/send"))
        .and(header("authorization", "Bearer stale"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "error": { "code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED" } })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .and(body_string_contains("client_id=client-id"))
        .and(body_string_contains("client_secret=client-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "access_token": "fresh", "expires_in": 3599, "scope": "https://www.googleapis.com/auth/gmail.send", "token_type": "Bearer" })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/gmail/v1/users/me/messages/send"))
        .and(header("authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "18c2f0a1b2c3d4e5", "threadId": "18c2f0a1b2c3d4e5", "labelIds": ["SENT"] })))
        .expect(1)
        .mount(&server)
        .await;
    let mailer = GmailMailer::new(
        server.uri(),
        format!("{}/token", server.uri()),
        "client-id",
        "client-secret",
        http_client(),
    );
    let credentials = Credentials::OAuth {
        access_token: "stale".into(),
        refresh_token: Some("refresh-1".into()),
        expires_at: None,
    };
    let delivery = mailer.send(&email(), &credentials).await.unwrap();
    assert_eq!(
        delivery.provider_message_id.as_deref(),
        Some("18c2f0a1b2c3d4e5")
    );
    assert_eq!(
        delivery.refreshed.as_ref().map(|(t, _)| t.as_str()),
        Some("fresh")
    );

    let requests = server.received_requests().await.unwrap();
    let sent = requests
        .iter()
        .rfind(|r| r.url.path() == "/gmail/v1/users/me/messages/send")
        .unwrap();
    let raw = decoded_raw(sent);
    assert!(
        raw.contains("Message-ID: <0b8f5a3e-0000-4000-8000-000000000001@mail.scaliyo.example>"),
        "{raw}"
    );
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(raw.contains("multipart/alternative"));
}

#[tokio::test]
async fn a_revoked_google_grant_asks_for_reauthorisation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_grant", "error_description": "Token has been expired or revoked." })))
        .mount(&server)
        .await;
    let mailer = GmailMailer::new(
        server.uri(),
        format!("{}/token", server.uri()),
        "id",
        "secret",
        http_client(),
    );
    let expired = chrono::Utc::now() - chrono::Duration::minutes(5);
    let credentials = Credentials::OAuth {
        access_token: "old".into(),
        refresh_token: Some("revoked".into()),
        expires_at: Some(expired),
    };
    let error = mailer.send(&email(), &credentials).await.unwrap_err();
    assert!(
        matches!(error, MailError::Auth(ref m) if m.contains("revoked")),
        "{error:?}"
    );
}

// -------------------------------------------------------------------------------- Outbox

#[tokio::test]
async fn the_outbox_writes_the_message_as_an_eml_file() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(dir.path().to_path_buf());
    mailer.send(&email(), &Credentials::None).await.unwrap();
    let eml = std::fs::read(dir.path().join("0b8f5a3e-0000-4000-8000-000000000001.eml")).unwrap();
    let parsed = mailparse::parse_mail(&eml).unwrap();
    assert_eq!(parsed.subparts.len(), 2);
    assert_eq!(parsed.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(parsed.subparts[1].ctype.mimetype, "text/html");
}

// ---------------------------------------------------------------------------------- SMTP

/// A real SMTP server (aiosmtpd) on loopback with AUTH, saving each message to a directory.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERVER: &str = r#"
import asyncio, os, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out = int(sys.argv[1]), sys.argv[2]

class Save:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(out, "%d.eml" % len(os.listdir(out)))
        with open(name, "wb") as f:
            f.write(envelope.original_content)
        return "250 2.0.0 Ok: queued as Q%d" % len(os.listdir(out))

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"ada" and auth_data.password == b"s3cret"
    # aiosmtpd answers a failed AUTH only when given the message to send.
    return AuthResult(success=ok, handled=False, message=None if ok else "535 5.7.8 Authentication credentials invalid")

controller = Controller(Save(), hostname="127.0.0.1", port=port, authenticator=authenticate, auth_required=True, auth_require_tls=False)
controller.start()
print("ready", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
"#;

fn start_smtp() -> Option<SmtpServer> {
    let Ok(python) = std::env::var("SCALIYO_TEST_PYTHON") else {
        assert_ne!(
            std::env::var("SCALIYO_REQUIRE_EMULATORS").as_deref(),
            Ok("1"),
            "the SMTP test server is required"
        );
        eprintln!(
            "SKIPPED: no Python with aiosmtpd (SCALIYO_TEST_PYTHON unset); scripts/test provides it"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("server.py");
    std::fs::write(&script, SERVER).unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .arg(&inbox)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start aiosmtpd");
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Some(SmtpServer { child, port, dir })
}

fn smtp_credentials(port: u16, password: &str) -> Credentials {
    Credentials::Smtp {
        host: "127.0.0.1".into(),
        port,
        username: "ada".into(),
        password: password.into(),
        security: SmtpSecurity::None,
    }
}

#[tokio::test]
async fn smtp_delivers_both_parts_and_every_header_to_a_real_server() {
    let Some(server) = start_smtp() else { return };
    let mailer = SmtpMailer::allowing_private();
    mailer
        .check(&smtp_credentials(server.port, "s3cret"))
        .await
        .unwrap();
    let delivery = mailer
        .send(&email(), &smtp_credentials(server.port, "s3cret"))
        .await
        .unwrap();
    assert!(delivery.provider_message_id.unwrap().starts_with('Q'));
    let received = std::fs::read(server.dir.path().join("inbox/0.eml")).unwrap();
    let parsed = mailparse::parse_mail(&received).unwrap();
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
    };
    assert_eq!(header("Subject").as_deref(), Some("Hello Grace"));
    assert_eq!(
        header("Message-ID").as_deref(),
        Some("<0b8f5a3e-0000-4000-8000-000000000001@mail.scaliyo.example>")
    );
    assert_eq!(
        header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        header("List-Unsubscribe")
            .unwrap()
            .contains("https://t.example/u/utok")
    );
    assert_eq!(
        parsed.subparts[0].get_body().unwrap().trim(),
        "Hi there (https://t.example/c/tok)"
    );
    let html = parsed.subparts[1].get_body().unwrap();
    assert!(
        html.contains("https://t.example/c/tok") && html.contains("https://t.example/o/px.gif")
    );
}

#[tokio::test]
async fn smtp_with_a_wrong_password_is_an_auth_error_and_plain_text_is_loopback_only() {
    let Some(server) = start_smtp() else { return };
    let error = SmtpMailer::allowing_private()
        .check(&smtp_credentials(server.port, "wrong"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Auth(_)), "{error:?}");
    let remote = Credentials::Smtp {
        host: "smtp.example.com".into(),
        port: 25,
        username: "a".into(),
        password: "b".into(),
        security: SmtpSecurity::None,
    };
    assert!(matches!(
        SmtpMailer::allowing_private().send(&email(), &remote).await,
        Err(MailError::Rejected(_))
    ));
}

#[tokio::test]
async fn smtp_refuses_hosts_inside_and_names_no_address_in_its_errors() {
    // The real server is on loopback: a production mailer refuses it before connecting,
    // and so it does for a name that resolves there.
    let Some(server) = start_smtp() else { return };
    for host in ["127.0.0.1", "localhost", "169.254.169.254", "10.0.0.5"] {
        let credentials = Credentials::Smtp {
            host: host.into(),
            port: server.port,
            username: "ada".into(),
            password: "s3cret".into(),
            security: SmtpSecurity::StartTls,
        };
        let error = SmtpMailer::default().check(&credentials).await.unwrap_err();
        assert!(matches!(error, MailError::Rejected(_)), "{host}: {error:?}");
        assert!(!error.to_string().contains(host), "{host}: {error}");
    }
    assert!(
        std::fs::read_dir(server.dir.path().join("inbox"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
    // A closed port answers as an unreachable server, without the how.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = SmtpMailer::allowing_private()
        .check(&Credentials::Smtp {
            host: "127.0.0.1".into(),
            port,
            username: "a".into(),
            password: "b".into(),
            security: SmtpSecurity::None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        MailError::Unavailable("the SMTP server could not be reached on that host and port".into())
            .to_string()
    );
}
