//! poll-replies against a real Dovecot on loopback: 1,000 SMTP senders with reply detection
//! on, each its own IMAP mailbox with nothing new, and one tick reading all of them (a login,
//! `EXAMINE INBOX`, `LOGOUT` each; 32 mailboxes at once, 16 conversations with the one host) —
//! the target is under 60 s. Then the same tick with one new reply in each of 100 mailboxes.
//!
//! `scripts/bench replies` (it starts Dovecot); figures in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, stream};
use scaliyo_app::access::Actor;
use scaliyo_app::replies::RepliesConfig;
use scaliyo_tests::emulators::{self, IMAP_PASSWORD};
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

const MAILBOXES: usize = 1_000;
const WITH_MAIL: usize = 100;
const RUNS: usize = 3;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let Some((host, port)) = emulators::imap() else {
        eprintln!("Dovecot is not running: run `scripts/bench replies`");
        return;
    };
    let local = RunningLocal::start().await;
    // Every mailbox due at every tick (in AWS: two minutes after its last read).
    let replies = Arc::new((*local.system.replies).clone().with_config(RepliesConfig {
        poll_every: chrono::Duration::zero(),
        ..RepliesConfig::default()
    }));
    let owner = scaliyo_domain::ids::OwnerId::new_random();
    let actor = Actor::acting_for(owner);
    let row = |value: Value| value.as_object().cloned().unwrap_or_default();
    local
        .system
        .access
        .create(
            &actor,
            "profiles",
            row(json!({ "id": owner, "email": "bench@example.com" })),
        )
        .await
        .expect("a profile");
    let started = Instant::now();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let users: Vec<String> = (0..MAILBOXES)
        .map(|i| format!("b{}x{i}", &run[..8]))
        .collect();
    let senders: Vec<String> = stream::iter(users.iter().cloned())
        .map(|user| {
            let (local, replies, actor, host) = (&local, replies.clone(), actor.clone(), host.clone());
            async move {
                let sender = local
                    .system
                    .send
                    .senders()
                    .connect(
                        &actor,
                        serde_json::from_value(json!({ "provider": "smtp", "from_email": format!("{user}@mail.example"),
                            "smtp": { "host": "127.0.0.1", "port": 2525, "username": user, "password": IMAP_PASSWORD, "security": "none" } }))
                        .expect("a connect request"),
                    )
                    .await
                    .expect("a sender");
                let id = sender["id"].as_str().expect("an id").to_owned();
                replies
                    .enable(
                        &actor,
                        &id,
                        serde_json::from_value(json!({ "imap": { "host": host, "port": port, "security": "none" } }))
                            .expect("a request"),
                    )
                    .await
                    .expect("reply detection on");
                id
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    println!(
        "{} senders connected with reply detection on in {:.1} s",
        senders.len(),
        started.elapsed().as_secs_f64()
    );

    let mut quiet = Vec::new();
    for i in 0..RUNS {
        let started = Instant::now();
        let report = replies.tick().await.expect("a tick");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.polled, MAILBOXES, "{report:?}");
        println!(
            "run {i}: one tick read {} quiet mailboxes in {seconds:.2} s ({} failed)",
            report.polled, report.failed
        );
        quiet.push(seconds);
    }
    // One unrelated new message in each of 100 mailboxes: fetched, parsed, matched to nothing.
    for user in users.iter().take(WITH_MAIL) {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .expect("connect");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("greeting");
        let mut session = client
            .login(user, IMAP_PASSWORD)
            .await
            .map_err(|e| e.0)
            .expect("login");
        let raw = format!(
            "From: someone@example.com\r\nSubject: Hello\r\nMessage-ID: <{user}@example.com>\r\n\r\nHi\r\n"
        );
        session
            .append("INBOX", None, None, raw.as_bytes())
            .await
            .expect("append");
        session.logout().await.expect("logout");
    }
    let started = Instant::now();
    let report = replies.tick().await.expect("a tick");
    let with_mail = started.elapsed().as_secs_f64();
    println!(
        "one tick read {} mailboxes ({} new messages) in {with_mail:.2} s",
        report.polled, report.messages
    );
    quiet.sort_by(|a, b| a.total_cmp(b));
    println!(
        "median of {RUNS}: one tick reading {MAILBOXES} quiet IMAP mailboxes {:.2} s (target < 60 s)",
        quiet[RUNS / 2]
    );
}
