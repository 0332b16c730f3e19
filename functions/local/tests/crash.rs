//! Killing `scaliyo serve` in the middle of a tracking load: every hit a client got an answer
//! for is stored after the restart, and none is stored twice. Each request carries its own
//! client address (`X-Forwarded-For`, believed from loopback), so each stored event names the
//! request it came from.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;

use support::{BIN, free_port, serve, wait_healthy};

const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
/// The load is cut once this many hits were answered (the server is killed mid-stream).
const ANSWERED_BEFORE_THE_KILL: usize = 600;
const CLIENTS: usize = 16;

/// The first URL in `text` containing `marker` (the text part's: no HTML quoting).
fn url_in(text: &str, marker: &str) -> String {
    let at = text.find(marker).expect("a tracking URL");
    let start = text[..at].rfind("http://").expect("the URL's start");
    let end = at
        + text[at..]
            .find(|c: char| c == '"' || c == ')' || c.is_whitespace())
            .expect("the URL's end");
    text[start..end].to_owned()
}

/// A distinct client address for request `n`.
fn address(n: usize) -> String {
    format!("198.18.{}.{}", (n / 250) % 250, n % 250 + 1)
}

/// How far the applier had got when the server died, against what was journalled.
fn journal_state(dir: &std::path::Path) -> String {
    let applied = std::fs::read_to_string(dir.join("applied")).unwrap_or_default();
    let journalled: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .map(|e| {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    format!("{} {size} bytes", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "applied up to {:?}, segments {journalled:?}",
        applied.trim()
    )
}

struct Workspace {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Workspace {
    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("an answer");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    /// Every event of `message`, following the cursor.
    async fn events(&self, message: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/v1/email_events?message_id={message}&limit=500",
                self.base
            );
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page: Value = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("an answer")
                .json()
                .await
                .expect("json");
            events.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return events,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_hit_is_stored_once_after_a_kill_mid_load() {
    let dir = tempfile::tempdir().expect("a data directory");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve(dir.path(), port);
    wait_healthy(port).await;
    let user = uuid::Uuid::new_v4().to_string();
    let token = Command::new(BIN)
        .args(["token", "--user", &user, "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("a token");
    let w = Workspace {
        base: base.clone(),
        token: String::from_utf8_lossy(&token.stdout).trim().to_owned(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
    };
    w.post(
        "/v1/profiles",
        json!({ "id": user, "email": "ada@example.com" }),
    )
    .await;
    w.post(
        "/v1/sender-accounts/connect",
        json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "k" }),
    )
    .await;
    let mut urls = Vec::new();
    let mut messages = Vec::new();
    for n in 0..4 {
        let lead = w
            .post(
                "/v1/leads",
                json!({ "name": format!("Lead {n}"), "primary_email": format!("lead{n}@example.com") }),
            )
            .await;
        let sent = w
            .post(
                "/v1/send-email",
                json!({ "lead_id": lead["id"], "subject": "Hi", "html_body": "<p><a href=\"https://scaliyo.example/pricing\">Pricing</a></p>" }),
            )
            .await;
        let message = sent["message_id"]
            .as_str()
            .expect("a message id")
            .to_owned();
        let eml = std::fs::read_to_string(dir.path().join(format!("outbox/{message}.eml")))
            .expect("the sent message in the outbox");
        urls.push((url_in(&eml, "/t/o/"), 200));
        urls.push((url_in(&eml, "/t/c/"), 302));
        messages.push(message);
    }

    // The load: each request a fresh address; the answered ones remembered.
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let urls = Arc::new(urls);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (next, answered, stop, urls) =
                (next.clone(), answered.clone(), stop.clone(), urls.clone());
            let http = w.http.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let (url, expected) = &urls[n % urls.len()];
                    let sent = http
                        .get(url)
                        .header("user-agent", SAFARI)
                        .header("x-forwarded-for", address(n))
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().as_u16() == *expected => {
                            if let Ok(mut answered) = answered.lock() {
                                answered.insert(address(n));
                            }
                        }
                        Ok(response) => panic!("{url}: {}", response.status()),
                        // The server is gone: this request was never answered.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.lock().map(|a| a.len()).unwrap_or(0) < ANSWERED_BEFORE_THE_KILL {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("SIGKILL");
    let _ = server.wait();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client task");
    }
    let answered = answered.lock().map(|a| a.clone()).unwrap_or_default();
    let attempted = next.load(Ordering::Relaxed);
    eprintln!(
        "{} answered of {attempted} sent; journal at the kill: {}",
        answered.len(),
        journal_state(&dir.path().join("journal"))
    );

    // With the server down, the operator applies what the journal holds
    // (`scaliyo hits replay`); afterwards nothing waits.
    let hits = |action: &str| {
        let output = Command::new(BIN)
            .args(["hits", action, "--data-dir"])
            .arg(dir.path())
            .output()
            .expect("scaliyo hits");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let replayed = hits("replay");
    assert!(replayed.starts_with("applied the journal"), "{replayed}");
    assert_eq!(
        hits("status").trim(),
        "0 byte(s) of tracking hits wait in the journal"
    );

    // Restarted on the same data: nothing is applied twice.
    let mut server = serve(dir.path(), port);
    wait_healthy(port).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let stored = loop {
        let mut stored: HashMap<String, usize> = HashMap::new();
        for message in &messages {
            for event in w.events(message).await {
                let ip = event["ip_address"].as_str().unwrap_or_default().to_owned();
                *stored.entry(ip).or_default() += 1;
            }
        }
        if answered.iter().all(|ip| stored.contains_key(ip)) || Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = server.kill();
    let _ = server.wait();

    let missing: Vec<_> = answered
        .iter()
        .filter(|ip| !stored.contains_key(*ip))
        .collect();
    assert!(missing.is_empty(), "answered but not stored: {missing:?}");
    let twice: Vec<_> = stored.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert!(
        stored.len() <= attempted,
        "{} stored of {attempted} sent",
        stored.len()
    );
    assert!(answered.len() >= ANSWERED_BEFORE_THE_KILL);
}
