//! Replies against real parts: a real IMAP server (Dovecot on loopback, started by
//! scripts/test; messages delivered with IMAP APPEND), the Gmail API as a local fake that
//! checks each request as Gmail requires it, SendGrid Inbound Parse and Mailchimp inbound
//! posts in their real shapes — and the local system end to end over HTTP: a three-step
//! sequence stopped by the lead's reply, the reply listed and sent to the owner's webhook,
//! an out-of-office that changes nothing, a DSN that bounces and suppresses.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_mail::google_oauth::GoogleOAuth;
use scaliyo_mail::inbox::{GmailInbox, ImapInbox};
use scaliyo_store::{
    Credentials, FetchedMessage, Inbox, MailError, MailboxCursor, ManualClock, SmtpSecurity,
};
use scaliyo_tests::emulators::{self, IMAP_PASSWORD};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A fresh Dovecot mailbox: a user name no other test uses.
fn mailbox_user() -> String {
    format!("u{}", uuid::Uuid::new_v4().simple())
}

fn imap_login(host: &str, port: u16, user: &str, password: &str) -> Credentials {
    Credentials::Imap {
        host: host.to_owned(),
        port,
        username: user.to_owned(),
        password: password.to_owned(),
        security: SmtpSecurity::None,
    }
}

/// Delivers `raw` into the user's INBOX with IMAP APPEND.
async fn deliver(host: &str, port: u16, user: &str, raw: &str) {
    let tcp = tokio::net::TcpStream::connect((host, port)).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    let mut session = client
        .login(user, IMAP_PASSWORD)
        .await
        .map_err(|e| e.0)
        .unwrap();
    session
        .append("INBOX", None, None, raw.replace('\n', "\r\n").as_bytes())
        .await
        .unwrap();
    session.logout().await.unwrap();
}

fn raw_reply(from: &str, in_reply_to: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: sales@mail.scaliyo.example\nSubject: {subject}\nDate: Wed, 02 Dec 2026 10:05:00 +0000\nMessage-ID: <{}@mail.example.com>\nIn-Reply-To: <{in_reply_to}>\nReferences: <{in_reply_to}>\n{extra}Content-Type: text/plain; charset=utf-8\n\n{body}\n",
        uuid::Uuid::new_v4().simple()
    )
}

#[tokio::test]
async fn imap_reads_only_what_arrived_since_the_cursor_and_resyncs_a_new_uidvalidity() {
    let Some((host, port)) = emulators::imap() else {
        return;
    };
    let user = mailbox_user();
    let inbox = ImapInbox::allowing_private();
    let login = imap_login(&host, port, &user, IMAP_PASSWORD);
    let now = Utc::now();
    deliver(
        &host,
        port,
        &user,
        &raw_reply("a@example.com", "x@y", "Before", "", "old"),
    )
    .await;

    // The first read only sets the cursor: mail from before is not read.
    let first = inbox
        .poll(&login, &MailboxCursor::default(), now)
        .await
        .unwrap();
    assert!(first.messages.is_empty());
    assert_eq!(first.cursor.next_uid, Some(2));
    assert!(first.cursor.uid_validity.is_some());
    // Nothing new: nothing read.
    let idle = inbox.poll(&login, &first.cursor, now).await.unwrap();
    assert!(idle.messages.is_empty());
    assert_eq!(idle.cursor.next_uid, Some(2));

    deliver(
        &host,
        port,
        &user,
        &raw_reply("b@example.com", "x@y", "Re: One", "", "one"),
    )
    .await;
    deliver(
        &host,
        port,
        &user,
        &raw_reply("c@example.com", "x@y", "Re: Two", "", "two"),
    )
    .await;
    let new = inbox.poll(&login, &idle.cursor, now).await.unwrap();
    let subjects: Vec<String> = new
        .messages
        .iter()
        .map(|m| match m {
            FetchedMessage::Raw(raw) => scaliyo_domain::replies::from_raw(raw).unwrap().subject,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(subjects, ["Re: One", "Re: Two"]);
    assert_eq!(new.cursor.next_uid, Some(4));
    // Read-only: the messages are still unseen for the user.
    let again = inbox.poll(&login, &new.cursor, now).await.unwrap();
    assert!(again.messages.is_empty());

    // The server renumbered the mailbox (a UIDVALIDITY we did not see): everything since the
    // day before the last read comes again (recording is once per Message-ID).
    let renumbered = MailboxCursor {
        uid_validity: new.cursor.uid_validity.map(|v| v.wrapping_add(1)),
        ..new.cursor.clone()
    };
    let resynced = inbox.poll(&login, &renumbered, now).await.unwrap();
    assert_eq!(resynced.messages.len(), 3);
    assert_eq!(resynced.cursor.uid_validity, new.cursor.uid_validity);

    // And the real thing: Dovecot renumbers the mailbox when its UID list and indexes are
    // gone (a restore from backup, a migration) — a new UIDVALIDITY the next read notices.
    if let Some(maildir) = emulators::imap_maildir() {
        let dir = maildir.join(&user);
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "dovecot-uidlist" || name.starts_with("dovecot.index") {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        // Dovecot's UIDVALIDITY is a timestamp: let a second pass.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        deliver(
            &host,
            port,
            &user,
            &raw_reply("d@example.com", "x@y", "Re: Three", "", "three"),
        )
        .await;
        let renumbered = inbox.poll(&login, &new.cursor, now).await.unwrap();
        assert_ne!(renumbered.cursor.uid_validity, new.cursor.uid_validity);
        assert_eq!(
            renumbered.messages.len(),
            4,
            "everything since the day before, read again"
        );
        let after = inbox.poll(&login, &renumbered.cursor, now).await.unwrap();
        assert!(after.messages.is_empty());
    }

    // A wrong password is the account's problem, said as such.
    let refused = inbox
        .poll(&imap_login(&host, port, &user, "wrong"), &new.cursor, now)
        .await;
    assert!(matches!(refused, Err(MailError::Auth(_))), "{refused:?}");
    // Plain text to anything but loopback is refused before connecting.
    let plain = inbox
        .poll(
            &imap_login("imap.example.com", 143, &user, "x"),
            &new.cursor,
            now,
        )
        .await;
    assert!(matches!(plain, Err(MailError::Rejected(_))), "{plain:?}");
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A Gmail fake that answers as the API does and records what it was asked.
async fn gmail_fake() -> MockServer {
    let gmail = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "access_token": "fresh", "expires_in": 3599, "token_type": "Bearer" }),
        ))
        .mount(&gmail)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(bearer_token("fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "emailAddress": "ada@gmail.example", "messagesTotal": 3, "threadsTotal": 3, "historyId": "5000" })))
        .mount(&gmail)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/history"))
        .and(query_param("startHistoryId", "5000"))
        .and(query_param("historyTypes", "messageAdded"))
        .and(query_param("labelId", "INBOX"))
        .and(bearer_token("fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "history": [
                { "id": "5001", "messagesAdded": [{ "message": { "id": "m1", "threadId": "t1", "labelIds": ["INBOX", "UNREAD"] } }] },
                { "id": "5002", "messagesAdded": [{ "message": { "id": "s1", "threadId": "t1", "labelIds": ["SENT"] } }] }
            ],
            "historyId": "5002"
        })))
        .mount(&gmail)
        .await;
    // A history id Gmail no longer keeps.
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/history"))
        .and(query_param("startHistoryId", "1"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({ "error": { "code": 404, "message": "Requested entity was not found." } }),
        ))
        .mount(&gmail)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages"))
        .and(query_param("labelIds", "INBOX"))
        .and(bearer_token("fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "messages": [{ "id": "m1", "threadId": "t1" }], "resultSizeEstimate": 1 }),
        ))
        .mount(&gmail)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages/m1"))
        .and(query_param("format", "metadata"))
        .and(bearer_token("fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "m1", "threadId": "t1", "labelIds": ["INBOX"], "snippet": "Sounds good &amp; thanks",
            "historyId": "5001", "internalDate": "1796205600000",
            "payload": { "mimeType": "text/plain", "headers": [
                { "name": "From", "value": "Grace <grace@navy.example>" },
                { "name": "Subject", "value": "Re: Hello" },
                { "name": "Message-Id", "value": "<g1@mail.gmail.com>" },
                { "name": "In-Reply-To", "value": "<0b8f5a3e-0000-4000-8000-000000000001@gmail.example>" }
            ] }
        })))
        .mount(&gmail)
        .await;
    gmail
}

#[tokio::test]
async fn gmail_history_is_read_with_the_requests_the_api_requires() {
    let gmail = gmail_fake().await;
    let http = scaliyo_mail::http_client();
    let inbox = GmailInbox::new(
        gmail.uri(),
        GoogleOAuth::new(
            format!("{}/token", gmail.uri()),
            "client-1",
            "secret-1",
            http.clone(),
        ),
        http,
    );
    let now = at("2026-12-02T10:00:00Z");
    // An expiring token is refreshed first; the refreshed one is handed back to be sealed.
    let login = Credentials::OAuth {
        access_token: "stale".into(),
        refresh_token: Some("refresh-1".into()),
        expires_at: Some(now + Duration::seconds(30)),
    };
    let first = inbox
        .poll(&login, &MailboxCursor::default(), now)
        .await
        .unwrap();
    assert!(
        first.messages.is_empty(),
        "the first read only sets the history id"
    );
    assert_eq!(first.cursor.history_id.as_deref(), Some("5000"));
    assert_eq!(
        first.refreshed.as_ref().map(|r| r.0.as_str()),
        Some("fresh")
    );

    let fresh = Credentials::OAuth {
        access_token: "fresh".into(),
        refresh_token: Some("refresh-1".into()),
        expires_at: Some(now + Duration::hours(1)),
    };
    let new = inbox.poll(&fresh, &first.cursor, now).await.unwrap();
    assert_eq!(new.cursor.history_id.as_deref(), Some("5002"));
    assert_eq!(new.messages.len(), 1, "our own SENT message is not a reply");
    let FetchedMessage::Headers { headers, snippet } = &new.messages[0] else {
        panic!("{:?}", new.messages[0]);
    };
    assert_eq!(snippet, "Sounds good & thanks");
    let message = scaliyo_domain::replies::from_headers(headers, snippet);
    assert_eq!(
        message.in_reply_to,
        ["0b8f5a3e-0000-4000-8000-000000000001@gmail.example"]
    );

    // The metadata request names every header reply detection reads.
    let requests: Vec<Request> = gmail.received_requests().await.unwrap();
    let get = requests
        .iter()
        .find(|r| r.url.path() == "/gmail/v1/users/me/messages/m1")
        .unwrap();
    let asked: Vec<String> = get
        .url
        .query_pairs()
        .filter(|(k, _)| k == "metadataHeaders")
        .map(|(_, v)| v.into_owned())
        .collect();
    for header in [
        "From",
        "Subject",
        "Message-Id",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
    ] {
        assert!(asked.iter().any(|h| h == header), "{header} in {asked:?}");
    }
    let refresh = requests.iter().find(|r| r.url.path() == "/token").unwrap();
    let form = String::from_utf8_lossy(&refresh.body);
    assert!(
        form.contains("client_id=client-1") && form.contains("client_secret=secret-1"),
        "{form}"
    );

    // An expired history id: a full resync from the day before the last read.
    let lost = MailboxCursor {
        history_id: Some("1".into()),
        polled_at: Some(now),
        ..MailboxCursor::default()
    };
    let resynced = inbox.poll(&fresh, &lost, now).await.unwrap();
    assert_eq!(resynced.messages.len(), 1);
    assert_eq!(resynced.cursor.history_id.as_deref(), Some("5000"));
    let list = gmail
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/gmail/v1/users/me/messages")
        .unwrap();
    let q: String = list
        .url
        .query_pairs()
        .find(|(k, _)| k == "q")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        q,
        format!("after:{}", (now - Duration::days(1)).timestamp())
    );

    // invalid_grant: the account must be re-authorised.
    let revoked = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_grant", "error_description": "Token has been expired or revoked." })))
        .mount(&revoked)
        .await;
    let http = scaliyo_mail::http_client();
    let inbox = GmailInbox::new(
        revoked.uri(),
        GoogleOAuth::new(format!("{}/token", revoked.uri()), "c", "s", http.clone()),
        http,
    );
    let refused = inbox.poll(&login, &first.cursor, now).await;
    assert!(matches!(refused, Err(MailError::Auth(_))), "{refused:?}");
}

/// The local system with a webhook receiver, a workspace with an SMTP sender whose mailbox is
/// a Dovecot user, and the lead Grace.
struct Workspace {
    local: RunningLocal,
    clock: Arc<ManualClock>,
    ada: Client,
    sender_id: String,
    lead_id: String,
    mailbox: String,
    imap: (String, u16),
    receiver: MockServer,
}

impl Workspace {
    async fn start() -> Option<Workspace> {
        let imap = emulators::imap()?;
        let clock = Arc::new(ManualClock::new(at("2026-12-02T10:00:00Z")));
        let local = RunningLocal::start_configured(clock.clone(), |config| {
            config.webhooks_allow_private = true;
            config.webhook_retry_delay = Some(StdDuration::from_millis(20));
        })
        .await;
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&receiver)
            .await;
        let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
        assert_eq!(ada.sign_up().await.status, 201);
        let mailbox = mailbox_user();
        let sender = ada
            .post(
                "/v1/sender-accounts/connect",
                json!({ "provider": "smtp", "from_email": "sales@mail.scaliyo.example", "is_default": true,
                        "smtp": { "host": "127.0.0.1", "port": 2525, "username": mailbox, "password": IMAP_PASSWORD, "security": "none" } }),
            )
            .await;
        assert_eq!(sender.status, 201, "{}", sender.body);
        let sender_id = sender.body["id"].as_str().unwrap().to_owned();
        let lead = ada
            .post(
                "/v1/leads",
                json!({ "name": "Grace Hopper", "first_name": "Grace", "primary_email": "Grace@Navy.example", "company": "Navy" }),
            )
            .await;
        assert_eq!(lead.status, 201, "{}", lead.body);
        let webhook = ada
            .post(
                "/v1/webhooks",
                json!({ "name": "CRM", "url": format!("{}/hooks", receiver.uri()), "trigger_event": "email.replied", "secret": "whsec-test" }),
            )
            .await;
        assert_eq!(webhook.status, 201, "{}", webhook.body);
        Some(Workspace {
            local,
            clock,
            ada,
            sender_id,
            lead_id: lead.body["id"].as_str().unwrap().to_owned(),
            mailbox,
            imap,
            receiver,
        })
    }

    async fn enable(&self) -> Value {
        let enabled = self
            .ada
            .call(
                reqwest::Method::PUT,
                &format!("/v1/sender-accounts/{}/reply-detection", self.sender_id),
                Some(json!({ "imap": { "host": self.imap.0, "port": self.imap.1, "security": "none" } })),
            )
            .await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
        enabled.body
    }

    async fn deliver(&self, raw: &str) {
        deliver(&self.imap.0, self.imap.1, &self.mailbox, raw).await;
    }

    /// Two minutes later, the poll tick.
    async fn poll(&self) -> Value {
        self.clock.advance(Duration::minutes(2));
        serde_json::to_value(self.local.system.replies.tick().await.unwrap()).unwrap()
    }

    /// The sequence's rows, in order.
    async fn sequence(&self, sequence_id: &str) -> Vec<Value> {
        let listed = self.ada.get(&format!("/v1/sequences/{sequence_id}")).await;
        listed.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", listed.body))
            .clone()
    }
}

/// The RFC 5322 Message-ID the lead got (from the outbox).
fn rfc_message_id(local: &RunningLocal, message_id: &str) -> String {
    let eml = std::fs::read(local.system.outbox.dir().join(format!("{message_id}.eml"))).unwrap();
    let parsed = mailparse::parse_mail(&eml).unwrap();
    use mailparse::MailHeaderMap;
    let id = parsed.headers.get_first_value("Message-ID").unwrap();
    id.trim().trim_matches(['<', '>']).to_owned()
}

#[tokio::test]
async fn a_reply_stops_the_sequence_reaches_the_webhook_and_is_listed_while_an_out_of_office_changes_nothing()
 {
    let Some(w) = Workspace::start().await else {
        return;
    };
    let status = w.enable().await;
    assert_eq!(status["enabled"], true);
    assert!(
        !status.to_string().contains(IMAP_PASSWORD),
        "no login in any answer"
    );

    let scheduled = w
        .ada
        .post(
            "/v1/sequences",
            json!({ "lead_ids": [w.lead_id], "blocks": [
                { "subject": "Quick question", "html_body": "<p>Hi {{first_name}}</p>" },
                { "subject": "Following up", "html_body": "<p>Two</p>", "delay_days": 2 },
                { "subject": "Last one", "html_body": "<p>Three</p>", "delay_days": 2 }
            ]}),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    let sequence_id = scheduled.body["sequences"][0]["sequence_id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.local.system.scheduler.tick().await.unwrap();
    assert_eq!(w.local.system.scheduled_email_worker().drain().await, 1);
    let messages = w
        .ada
        .get(&format!("/v1/email_messages?lead_id={}", w.lead_id))
        .await;
    let message_id = messages.body["data"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", messages.body))
        .to_owned();
    let ours = rfc_message_id(&w.local, &message_id);

    // An out-of-office note: recorded, stops nothing.
    w.deliver(&raw_reply(
        "grace@navy.example",
        &ours,
        "Automatic reply: Quick question",
        "Auto-Submitted: auto-replied\n",
        "I am out of the office until Monday.",
    ))
    .await;
    // A message about something else entirely.
    w.deliver(&raw_reply(
        "someone@else.example",
        "unrelated@else.example",
        "Lunch?",
        "",
        "Lunch?",
    ))
    .await;
    let report = w.poll().await;
    assert_eq!(
        (
            report["auto_replies"].as_u64(),
            report["unmatched"].as_u64(),
            report["replies"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{report}"
    );
    let statuses: Vec<Value> = w
        .sequence(&sequence_id)
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("sent"), json!("pending"), json!("pending")]
    );

    // Grace answers (from her mail client: the quoted history is not the snippet).
    w.deliver(&raw_reply(
        "Grace Hopper <grace@navy.example>",
        &ours,
        "Re: Quick question",
        "",
        "Yes, let's talk Thursday.\n\nOn Wed, Dec 2, 2026, Sales wrote:\n> Hi Grace",
    ))
    .await;
    let report = w.poll().await;
    assert_eq!(report["replies"], 1, "{report}");
    let rows = w.sequence(&sequence_id).await;
    let statuses: Vec<(Value, Value)> = rows
        .iter()
        .map(|r| (r["status"].clone(), r["error_message"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("sent"), Value::Null),
            (json!("cancelled"), json!("reply")),
            (json!("cancelled"), json!("reply"))
        ]
    );
    // Nothing more goes out, however long we wait.
    w.clock.advance(Duration::days(5));
    w.local.system.scheduler.tick().await.unwrap();
    assert_eq!(w.local.system.scheduled_email_worker().drain().await, 0);

    let replies = w.ada.get(&format!("/v1/leads/{}/replies", w.lead_id)).await;
    assert_eq!(replies.status, 200, "{}", replies.body);
    let kinds: Vec<&str> = replies
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reply", "auto_reply"], "newest first");
    let reply = &replies.body[0];
    assert_eq!(reply["snippet"], "Yes, let's talk Thursday.");
    assert_eq!(reply["message_id"], message_id.as_str());
    assert_eq!(reply["matched_by"], "message_id");
    assert_eq!(reply["from_email"], "grace@navy.example");
    let lead = w.ada.get(&format!("/v1/leads/{}", w.lead_id)).await;
    assert_eq!(lead.body["lastActivity"], reply["received_at"]);
    let summary = w
        .ada
        .get("/v1/analytics/email-summary?from=2026-12-01&to=2026-12-31")
        .await;
    let day = &summary.body["data"][0];
    assert_eq!(
        (day["unique_replies"].as_i64(), day["total_sent"].as_i64()),
        (Some(1), Some(1)),
        "{}",
        summary.body
    );

    // The owner's webhook got email.replied.
    let worker = w.local.system.webhook_worker();
    let mut delivered = Vec::new();
    for _ in 0..100 {
        worker.drain().await;
        delivered = w.receiver.received_requests().await.unwrap_or_default();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    let event: Value =
        serde_json::from_slice(&delivered.first().expect("a delivery").body).unwrap();
    assert_eq!(event["type"], "email.replied", "{event}");
    assert_eq!(event["data"]["lead_id"], w.lead_id.as_str());

    // Reading the same messages again records nothing twice.
    let again = w.poll().await;
    assert_eq!(again["messages"], 0);
    let replies = w.ada.get(&format!("/v1/leads/{}/replies", w.lead_id)).await;
    assert_eq!(replies.body.as_array().unwrap().len(), 2);

    // Another workspace sees none of it.
    let eve = Client::user(&w.local, Role::Client, None);
    eve.sign_up().await;
    assert_eq!(
        eve.get(&format!("/v1/leads/{}/replies", w.lead_id))
            .await
            .status,
        404
    );
    let foreign = eve
        .call(
            reqwest::Method::GET,
            &format!("/v1/sender-accounts/{}/reply-detection", w.sender_id),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404);
}

#[tokio::test]
async fn a_delivery_status_notification_bounces_the_message_and_suppresses_the_address() {
    let Some(w) = Workspace::start().await else {
        return;
    };
    w.enable().await;
    let sent = w
        .ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": w.lead_id, "subject": "Hello", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let message_id = sent.body["message_id"].as_str().unwrap().to_owned();
    let ours = rfc_message_id(&w.local, &message_id);
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.navy.example>\nTo: sales@mail.scaliyo.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-{}@mx.navy.example>\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.navy.example\n\nFinal-Recipient: rfc822; grace@navy.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--b1\nContent-Type: text/rfc822-headers\n\nFrom: sales@mail.scaliyo.example\nTo: grace@navy.example\nMessage-ID: <{ours}>\nSubject: Hello\n\n--b1--\n",
        uuid::Uuid::new_v4().simple()
    );
    w.deliver(&dsn).await;
    let report = w.poll().await;
    assert_eq!(report["bounces"], 1, "{report}");
    let message = w.ada.get(&format!("/v1/email_messages/{message_id}")).await;
    assert_eq!(message.body["status"], "bounced");
    let again = w
        .ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": w.lead_id, "subject": "Hello again", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!((again.status, again.code()), (409, "suppressed"));
    let replies = w.ada.get(&format!("/v1/leads/{}/replies", w.lead_id)).await;
    assert_eq!(replies.body[0]["kind"], "bounce");
    assert_eq!(replies.body[0]["bounce_status"], "5.1.1");
}

#[tokio::test]
async fn a_refused_mailbox_login_is_a_clear_error_and_nothing_is_enabled() {
    let Some(w) = Workspace::start().await else {
        return;
    };
    let refused = w
        .ada
        .call(
            reqwest::Method::PUT,
            &format!("/v1/sender-accounts/{}/reply-detection", w.sender_id),
            Some(json!({ "imap": { "host": w.imap.0, "port": w.imap.1, "security": "none", "username": w.mailbox, "password": "wrong" } })),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "invalid"),
        "{}",
        refused.body
    );
    let status = w
        .ada
        .get(&format!(
            "/v1/sender-accounts/{}/reply-detection",
            w.sender_id
        ))
        .await;
    assert_eq!(status.body["enabled"], false);
    let bad = w
        .ada
        .call(
            reqwest::Method::PUT,
            &format!("/v1/sender-accounts/{}/reply-detection", w.sender_id),
            Some(json!({ "imap": { "host": w.imap.0, "security": "starttls" } })),
        )
        .await;
    assert_eq!(bad.status, 400);
}

/// A SendGrid Inbound Parse post as SendGrid sends it (not raw: parsed fields).
fn sendgrid_form(boundary: &str, headers: &str, text: &str) -> String {
    let field = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    [
        field("headers", headers),
        field("dkim", "{@navy.example : pass}"),
        field("to", "sales@mail.scaliyo.example"),
        field("from", "Grace <grace@navy.example>"),
        field("text", text),
        field("sender_ip", "203.0.113.7"),
        field(
            "envelope",
            "{\"to\":[\"sales@mail.scaliyo.example\"],\"from\":\"grace@navy.example\"}",
        ),
        field("subject", "Re: Hello"),
        field(
            "charsets",
            "{\"to\":\"UTF-8\",\"subject\":\"UTF-8\",\"from\":\"UTF-8\",\"text\":\"UTF-8\"}",
        ),
        field("SPF", "pass"),
        format!("--{boundary}--\r\n"),
    ]
    .concat()
}

#[tokio::test]
async fn provider_inbound_parse_records_replies_behind_unguessable_urls() {
    let clock = Arc::new(ManualClock::new(at("2026-12-02T10:00:00Z")));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let lead_id = scaliyo_tests::mailbox::sender_and_lead(&ada).await;
    let senders = ada.get("/v1/sender_accounts").await;
    let sendgrid_id = senders.body["data"][0]["id"].as_str().unwrap().to_owned();
    let sent = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead_id, "subject": "Hello", "html_body": "<p>Hi</p>" }),
        )
        .await;
    let message_id = sent.body["message_id"].as_str().unwrap().to_owned();
    let ours = rfc_message_id(&local, &message_id);
    let http = reqwest::Client::new();

    // SendGrid: no key (it does not sign inbound posts); the URL is the secret.
    let hook = ada
        .post(
            &format!("/v1/sender-accounts/{sendgrid_id}/inbound-webhook"),
            json!({}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let url = hook.body["url"].as_str().unwrap().to_owned();
    let boundary = "xYzZY";
    let headers = format!(
        "From: Grace <grace@navy.example>\nTo: sales@mail.scaliyo.example\nSubject: Re: Hello\nMessage-ID: <sg-1@navy.example>\nIn-Reply-To: <{ours}>\nReferences: <{ours}>\n"
    );
    let form = sendgrid_form(boundary, &headers, "Sure, call me.\n\n> Hi");
    let posted = http
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let body: Value = posted.json().await.unwrap();
    assert_eq!(body["recorded"], "reply");
    // SendGrid retries a post it did not see answered: recorded once.
    let replay = http
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["recorded"], "duplicate");
    let replies = ada.get(&format!("/v1/leads/{lead_id}/replies")).await;
    assert_eq!(replies.body.as_array().unwrap().len(), 1);
    assert_eq!(replies.body[0]["snippet"], "Sure, call me.");
    assert_eq!(replies.body[0]["via"], "sendgrid_inbound");

    // Unknown tokens and oversized bodies change nothing and say nothing.
    let unknown = http
        .post(format!(
            "{}/webhooks/inbound/sendgrid/{}",
            local.base_url,
            "A".repeat(24)
        ))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let huge = http
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(vec![
            b'a';
            scaliyo_app::replies::inbound::MAX_INBOUND_BYTES + 1
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let huge: Value = huge.json().await.unwrap();
    assert_eq!(huge["code"], "too_large");
    let garbage = http
        .post(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);

    // Mailchimp Transactional: a mailchimp sender, its route's key, a signed post.
    let mc = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "mailchimp", "from_email": "ada@mc.example", "api_key": "md-key" }),
        )
        .await;
    let mc_id = mc.body["id"].as_str().unwrap().to_owned();
    let no_key = ada
        .post(
            &format!("/v1/sender-accounts/{mc_id}/inbound-webhook"),
            json!({}),
        )
        .await;
    assert_eq!(no_key.status, 400);
    let hook = ada
        .post(
            &format!("/v1/sender-accounts/{mc_id}/inbound-webhook"),
            json!({ "verification_key": "route-key" }),
        )
        .await;
    let url = hook.body["url"].as_str().unwrap().to_owned();
    assert_eq!(
        http.head(&url).send().await.unwrap().status(),
        200,
        "Mandrill checks the URL with HEAD"
    );
    let raw = format!(
        "From: Grace <grace@navy.example>\r\nTo: ada@mc.example\r\nSubject: Re: Hello\r\nMessage-ID: <mc-1@navy.example>\r\nIn-Reply-To: <{ours}>\r\n\r\nGreat, see you then.\r\n"
    );
    let events = json!([{ "event": "inbound", "ts": 1796205600, "msg": { "raw_msg": raw, "from_email": "grace@navy.example", "subject": "Re: Hello", "text": "Great, see you then.", "headers": {} } }]).to_string();
    let params = vec![("mandrill_events".to_owned(), events.clone())];
    let signature = scaliyo_domain::provider_events::mandrill_signature("route-key", &url, &params);
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("mandrill_events", &events)
        .finish();
    let forged = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-mandrill-signature", "bm9wZQ==")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let posted = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-mandrill-signature", signature)
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let body: Value = posted.json().await.unwrap();
    assert_eq!(body["recorded"], json!(["reply"]));

    // Another workspace cannot make an inbound URL for this sender.
    let eve = Client::user(&local, Role::Client, None);
    eve.sign_up().await;
    let foreign = eve
        .post(
            &format!("/v1/sender-accounts/{sendgrid_id}/inbound-webhook"),
            json!({}),
        )
        .await;
    assert_eq!(foreign.status, 404);
}

#[tokio::test]
async fn the_company_rule_stops_colleagues_sequences_only_when_turned_on() {
    let Some(w) = Workspace::start().await else {
        return;
    };
    w.enable().await;
    assert_eq!(
        w.ada.get("/v1/replies/settings").await.body,
        json!({ "stop_company_on_reply": false })
    );
    let colleague = w
        .ada
        .post(
            "/v1/leads",
            json!({ "name": "Alan", "primary_email": "alan@navy.example", "company": "navy " }),
        )
        .await;
    let colleague_id = colleague.body["id"].as_str().unwrap().to_owned();
    let outsider = w
        .ada
        .post("/v1/leads", json!({ "name": "Linus", "primary_email": "linus@kernel.example", "company": "Kernel" }))
        .await;
    let outsider_id = outsider.body["id"].as_str().unwrap().to_owned();
    let scheduled = w
        .ada
        .post(
            "/v1/sequences",
            json!({ "lead_ids": [w.lead_id, colleague_id, outsider_id], "blocks": [
                { "subject": "Quick question", "html_body": "<p>Hi</p>" },
                { "subject": "Following up", "html_body": "<p>Two</p>", "delay_days": 2 }
            ]}),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    let sequences: Vec<String> = scheduled.body["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sequence_id"].as_str().unwrap().to_owned())
        .collect();
    let on = w
        .ada
        .call(
            reqwest::Method::PUT,
            "/v1/replies/settings",
            Some(json!({ "stop_company_on_reply": true })),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    w.local.system.scheduler.tick().await.unwrap();
    assert_eq!(w.local.system.scheduled_email_worker().drain().await, 3);
    let messages = w
        .ada
        .get(&format!("/v1/email_messages?lead_id={}", w.lead_id))
        .await;
    let ours = rfc_message_id(&w.local, messages.body["data"][0]["id"].as_str().unwrap());
    w.deliver(&raw_reply(
        "grace@navy.example",
        &ours,
        "Re: Quick question",
        "",
        "Talk soon",
    ))
    .await;
    assert_eq!(w.poll().await["replies"], 1);
    let second: Vec<Value> = futures::future::join_all(sequences.iter().map(|s| w.sequence(s)))
        .await
        .into_iter()
        .map(|rows| json!([rows[1]["status"], rows[1]["error_message"]]))
        .collect();
    assert_eq!(
        second,
        [
            json!(["cancelled", "reply"]),
            json!(["cancelled", "reply_from_company"]),
            json!(["pending", null])
        ]
    );
}

#[tokio::test]
async fn a_reply_wakes_a_workflow_waiting_for_it_and_ends_one_that_exits_on_it() {
    let clock = Arc::new(ManualClock::new(at("2026-12-02T10:00:00Z")));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let sender = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "k", "is_default": true }),
        )
        .await;
    let sender_id = sender.body["id"].as_str().unwrap().to_owned();
    // One workflow waits for the reply to its e-mail; the other ends when the lead replies.
    let waiting = json!([
        {"id":"t","type":"trigger.lead_event","config":{"event":"lead.created"},"next":"e"},
        {"id":"e","type":"action.send_email","config":{"subject":"Hello {{first_name}}","html_body":"<p>Hi</p>"},"next":"w"},
        {"id":"w","type":"wait.event","config":{"events":["email.replied"],"message_of":"e","timeout":{"amount":7,"unit":"days"}},
          "branches":[{"key":"matched","next":"u"},{"key":"timeout","next":null}]},
        {"id":"u","type":"action.update_lead","config":{"status":"Qualified"},"next":null}
    ]);
    let exiting = json!([
        {"id":"t","type":"trigger.lead_event","config":{"event":"lead.created","exit_on":["email.replied"]},"next":"d"},
        {"id":"d","type":"wait.duration","config":{"amount":3,"unit":"days"},"next":"u"},
        {"id":"u","type":"action.update_lead","config":{"score_add":50},"next":null}
    ]);
    for (name, nodes) in [("Waits", waiting), ("Exits", exiting)] {
        let created = ada
            .post(
                "/v1/workflows",
                json!({ "name": name, "status": "active", "nodes": nodes }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let worker = local.system.workflow_worker();
    worker.drain().await;
    let lead = ada
        .post("/v1/leads", json!({ "name": "Grace", "first_name": "Grace", "primary_email": "grace@navy.example" }))
        .await;
    let lead_id = lead.body["id"].as_str().unwrap().to_owned();
    worker.drain().await;
    let messages = ada
        .get(&format!("/v1/email_messages?lead_id={lead_id}"))
        .await;
    let message_id = messages.body["data"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", messages.body))
        .to_owned();
    let ours = rfc_message_id(&local, &message_id);

    let hook = ada
        .post(
            &format!("/v1/sender-accounts/{sender_id}/inbound-webhook"),
            json!({}),
        )
        .await;
    let url = hook.body["url"].as_str().unwrap().to_owned();
    let headers = format!(
        "From: grace@navy.example\nSubject: Re: Hello Grace\nMessage-ID: <wf-1@navy.example>\nIn-Reply-To: <{ours}>\n"
    );
    let posted = reqwest::Client::new()
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=b")
        .body(sendgrid_form("b", &headers, "Interested!"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    worker.drain().await;

    let lead = ada.get(&format!("/v1/leads/{lead_id}")).await;
    assert_eq!(
        lead.body["status"], "Qualified",
        "the waiting run woke on the reply"
    );
    clock.advance(Duration::days(4));
    local.system.workflows.tick().await.unwrap();
    worker.drain().await;
    let lead = ada.get(&format!("/v1/leads/{lead_id}")).await;
    assert_eq!(
        lead.body["score"], 0,
        "the run that exits on a reply never reached its update"
    );
    let runs = ada
        .get(&format!("/v1/workflow_executions?lead_id={lead_id}"))
        .await;
    let statuses: Vec<&str> = runs.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", runs.body))
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(statuses.len(), 2, "{}", runs.body);
    let mut statuses = statuses;
    statuses.sort_unstable();
    // The waiting run finished; the one that exits on a reply ended early ("skipped").
    assert_eq!(statuses, ["skipped", "success"]);
}
