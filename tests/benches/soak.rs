//! The soak test (issue 24): the local system under a mixed load for `SOAK_SECONDS` (600 by
//! default) with faults injected — the store refusing one write in 100, the provider
//! answering 500 to one send in 50 and timing out on one in 100, the webhook receiver down
//! for a minute — then the books are checked:
//!
//! - every send the API accepted went out exactly once (200) or failed with a reason (502 and
//!   a `failed` message row); no message went out twice, whatever was retried;
//! - every scheduled e-mail ended `sent` or `failed` with a reason, and the provider saw exactly
//!   as many successful sends as the API and the scheduler account for;
//! - every answered tracking hit (each from its own address) is stored exactly once;
//! - every import row is accounted for (imported + updated + skipped = rows);
//! - every lead created got its `lead.created` webhook delivered, or its delivery is in the
//!   log as failed;
//! - the resident memory is flat (the second half's peak within 10 % of the first half's);
//! - no error-level log line other than the injected faults'.
//!
//! `SOAK_SECONDS=600 cargo bench -p scaliyo-tests --bench soak`; figures in docs/BENCHMARKS.md.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::routing::post;
use scaliyo_domain::ids::Role;
use scaliyo_mail::outbox::OutboxMailer;
use scaliyo_store::{
    Credentials, Delivery, Index, MailError, Mailer, OutgoingEmail, Query, SortCondition, Table,
};
use scaliyo_tests::flaky::{FlakyTable, INJECTED_WRITE_FAILURE};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};
use tokio::sync::watch;
use tracing_subscriber::layer::SubscriberExt;

const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
const INJECTED_PROVIDER_500: &str = "injected fault: the provider answered 500";
const INJECTED_PROVIDER_TIMEOUT: &str = "injected fault: the provider timed out";
const IMPORT_ROWS: usize = 2_000;

/// The provider: the local outbox behind one 500 in 50 sends and one timeout in 100; counts
/// the sends it accepted per message.
struct FaultyProvider {
    outbox: OutboxMailer,
    /// Off once the load ends: the provider has recovered while the retries drain.
    faulty: AtomicBool,
    calls: AtomicU64,
    accepted: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl Mailer for FaultyProvider {
    async fn send(
        &self,
        email: &OutgoingEmail,
        credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let faulty = self.faulty.load(Ordering::Relaxed);
        if faulty && call % 50 == 49 {
            return Err(MailError::Unavailable(INJECTED_PROVIDER_500.into()));
        }
        if faulty && call % 100 == 98 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            return Err(MailError::Unavailable(INJECTED_PROVIDER_TIMEOUT.into()));
        }
        let delivery = self.outbox.send(email, credentials).await?;
        if let Ok(mut accepted) = self.accepted.lock() {
            *accepted
                .entry(email.scaliyo_message_id.to_string())
                .or_default() += 1;
        }
        Ok(delivery)
    }
}

/// Error-level log lines, kept for the end.
#[derive(Clone, Default)]
struct ErrorLines(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ErrorLines {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if *event.metadata().level() != tracing::Level::ERROR {
            return;
        }
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        let mut text = Text(format!("{}: ", event.metadata().target()));
        event.record(&mut text);
        if let Ok(mut lines) = self.0.lock() {
            lines.push(text.0);
        }
    }
}

/// The webhook receiver: every delivery's event id and the lead it names; switchable off.
#[derive(Clone, Default)]
struct Receiver {
    leads: Arc<Mutex<HashSet<uuid::Uuid>>>,
    deliveries: Arc<AtomicUsize>,
}

async fn start_receiver(receiver: Receiver, port: u16) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::Json<Value>| {
            let receiver = receiver.clone();
            async move {
                receiver.deliveries.fetch_add(1, Ordering::Relaxed);
                let id = body["data"]["lead"]["id"]
                    .as_str()
                    .and_then(|id| id.parse().ok());
                if let (Some(id), Ok(mut leads)) = (id, receiver.leads.lock()) {
                    leads.insert(id);
                }
                "ok"
            }
        }),
    );
    let listener = loop {
        // The port may linger a moment after the last run stopped.
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => break listener,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// A line of /proc/self/status in KiB (`VmRSS`, `RssAnon`, `RssFile`).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS")
}

/// A hit's client address as a number: the worker in the top bits, its count below — every
/// hit of a run has its own (2^22 per worker).
fn hit_code(worker: u32, n: u64) -> u32 {
    (worker << 22) | (n as u32 & 0x3f_ffff)
}

/// The address of a hit's number, in 10.0.0.0/8.
fn hit_address(code: u32) -> String {
    format!(
        "10.{}.{}.{}",
        (code >> 16) & 0xff,
        (code >> 8) & 0xff,
        code & 0xff
    )
}

/// The outcome a send was answered with.
type SendOutcome = Result<String, (String, String)>;

/// What the load saw, for the checks — kept compact (ids as `Uuid`, addresses as numbers):
/// the books live in the measured process, and what they grow by is not the system's.
#[derive(Default)]
struct Books {
    leads_created: Mutex<Vec<uuid::Uuid>>,
    /// Idempotency key → the final answer: `Ok(message id)` sent, `Err((message id, the
    /// answer's error code))` failed.
    sends: Mutex<HashMap<String, SendOutcome>>,
    scheduled: Mutex<Vec<String>>,
    /// Answered hits: the client address's number (each used once; [`hit_address`]) and the
    /// message it was for.
    hits: Mutex<Vec<(u32, uuid::Uuid)>>,
    reads: AtomicUsize,
    writes_refused: AtomicUsize,
    pixels: Mutex<Vec<(String, String)>>,
}

/// The allocator of `scaliyo serve` (functions/local/src/main.rs, ADR 0031).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    scaliyo_local::allocator::tune_allocator();
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let errors = ErrorLines::default();
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("warn"))
            .with(errors.clone()),
    );

    let flaky: Arc<Mutex<Option<Arc<FlakyTable>>>> = Arc::default();
    let provider_dir = tempfile::tempdir().expect("a provider outbox");
    let provider = Arc::new(FaultyProvider {
        outbox: OutboxMailer::new(provider_dir.path().to_path_buf()),
        faulty: AtomicBool::new(true),
        calls: AtomicU64::new(0),
        accepted: Mutex::default(),
    });
    let local = {
        let (flaky, provider) = (flaky.clone(), provider.clone());
        RunningLocal::start_configured(Arc::new(scaliyo_store::SystemClock), move |config| {
            config.webhooks_allow_private = true;
            config.webhook_retry_delay = Some(Duration::from_secs(10));
            config.injected.mailer = Some(provider);
            config.injected.store = Some(Arc::new(move |inner: Arc<dyn Table>| {
                let table = Arc::new(FlakyTable::new(inner));
                if let Ok(mut slot) = flaky.lock() {
                    *slot = Some(table.clone());
                }
                table as Arc<dyn Table>
            }));
        })
        .await
    };
    let flaky = flaky
        .lock()
        .ok()
        .and_then(|f| f.clone())
        .expect("the store wrapped");
    let (stop_workers, shutdown) = watch::channel(false);
    let system = &local.system;
    let mut background: Vec<_> = system
        .workers()
        .into_iter()
        .map(|worker| worker.start(shutdown.clone()))
        .chain([system.hit_applier().start(shutdown.clone())])
        .collect();
    background.extend(system.schedules().start(shutdown.clone()));

    // One workspace on the Scale plan, a warmed-up sender, a webhook for new leads.
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    ada.sign_up().await;
    system
        .access
        .rows()
        .create(
            &scaliyo_domain::schema::SUBSCRIPTIONS,
            None,
            json!({ "user_id": ada.id(), "plan": "Scale" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .await
        .expect("a subscription");
    let sender = ada
        .post("/v1/sender-accounts/connect", json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true, "metadata": { "daily_limit": 10_000_000 } }))
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let sender_id = sender.body["id"].as_str().unwrap_or_default().to_owned();
    ada.patch(
        &format!("/v1/sender_accounts/{sender_id}"),
        json!({ "warmup_enabled": false }),
    )
    .await;
    let receiver_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a port");
    let receiver = Receiver::default();
    let mut receiver_task = start_receiver(receiver.clone(), receiver_port).await;
    let webhook = ada
        .post("/v1/webhooks", json!({ "name": "CRM", "url": format!("http://127.0.0.1:{receiver_port}/hook"), "trigger_event": "lead.created", "secret": "whsec_soak" }))
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.body);
    let webhook_id = webhook.body["id"].as_str().unwrap_or_default().to_owned();

    // The faults start with the load.
    flaky.fail_one_write_in(100);
    let books = Arc::new(Books::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let running = Arc::new(AtomicBool::new(true));
    let http = scaliyo_tests::http_client::without_redirects();
    let token = ada.token.clone().unwrap_or_default();
    let base = local.base_url.clone();

    let mut load = Vec::new();
    // Data API: leads created, read, updated; each new lead is e-mailed (four writers).
    for worker in 0..4 {
        let (books, running, http, token, base) = (
            books.clone(),
            running.clone(),
            http.clone(),
            token.clone(),
            base.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let created = http
                    .post(format!("{base}/v1/leads"))
                    .bearer_auth(&token)
                    .json(&json!({ "name": format!("Lead {worker}-{n}"), "first_name": "Sam", "primary_email": format!("lead{worker}x{n}@example.com") }))
                    .send()
                    .await;
                let Ok(created) = created else { continue };
                if created.status().as_u16() != 201 {
                    books.writes_refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let lead: Value = created.json().await.unwrap_or_default();
                let lead_id = lead["id"].as_str().unwrap_or_default().to_owned();
                if let (Ok(id), Ok(mut leads)) = (lead_id.parse(), books.leads_created.lock()) {
                    leads.push(id);
                }
                let read = http
                    .get(format!("{base}/v1/leads?limit=20"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                if read.is_ok_and(|r| r.status().is_success()) {
                    books.reads.fetch_add(1, Ordering::Relaxed);
                }
                let _ = http
                    .patch(format!("{base}/v1/leads/{lead_id}"))
                    .bearer_auth(&token)
                    .json(&json!({ "score": (n % 100) as i64 }))
                    .send()
                    .await;
                if n.is_multiple_of(2) {
                    send_until_answered(&http, &base, &token, &books, &lead_id, &format!("soak-{worker}-{n}")).await;
                } else if n % 5 == 1 {
                    let at = chrono::Utc::now() + chrono::Duration::seconds(5);
                    let scheduled = http
                        .post(format!("{base}/v1/scheduled-emails"))
                        .bearer_auth(&token)
                        .json(&json!({ "lead_id": lead_id, "subject": "Later", "html_body": "<p>Later</p>", "scheduled_at": at.to_rfc3339() }))
                        .send()
                        .await;
                    if let Ok(scheduled) = scheduled
                        && scheduled.status().is_success()
                    {
                        let body: Value = scheduled.json().await.unwrap_or_default();
                        if let (Some(id), Ok(mut all)) = (body["id"].as_str().or(body["blocks"][0]["id"].as_str()), books.scheduled.lock()) {
                            all.push(id.to_owned());
                        }
                    }
                }
            }
        }));
    }
    // Tracking hits on the pixels of sent messages, a fresh address each.
    for worker in 0..2 {
        let (books, running, http) = (books.clone(), running.clone(), http.clone());
        let outbox = provider_dir.path().to_path_buf();
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                let pixel = books
                    .pixels
                    .lock()
                    .ok()
                    .and_then(|pixels| pixels.get((n as usize) % pixels.len().max(1)).cloned());
                let Some((message, url)) = pixel.or_else(|| refresh_pixels(&books, &outbox)) else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                n += 1;
                if n.is_multiple_of(500) {
                    refresh_pixels(&books, &outbox);
                }
                let code = hit_code(worker, n);
                let address = hit_address(code);
                let answered = http
                    .get(&url)
                    .header("user-agent", SAFARI)
                    .header("x-forwarded-for", &address)
                    .send()
                    .await;
                if answered.is_ok_and(|r| r.status().as_u16() == 200)
                    && let Ok(message) = message.parse()
                    && let Ok(mut hits) = books.hits.lock()
                {
                    hits.push((code, message));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }

    // Two imports, at the start and halfway; the receiver down for a minute at a third.
    let mut imports = vec![start_import(&http, &base, &token, "first.csv").await];
    let mut rss = Vec::new();
    // The resident memory's anonymous and file-backed parts, to tell heap from mapped files.
    let mut anon_file = Vec::new();
    let (mut receiver_down, mut halfway_done) = (false, false);
    let down_for = Duration::from_secs(60.min(seconds / 5).max(5));
    let mut down_since = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
        rss.push((started.elapsed().as_secs(), rss_kib()));
        anon_file.push((status_kib("RssAnon"), status_kib("RssFile")));
        let elapsed = started.elapsed();
        if !receiver_down && elapsed > Duration::from_secs(seconds / 3) {
            receiver_task.abort();
            receiver_down = true;
            down_since = Some(Instant::now());
            eprintln!("{:>4} s: the webhook receiver is down", elapsed.as_secs());
        }
        if let Some(since) = down_since
            && since.elapsed() >= down_for
        {
            receiver_task = start_receiver(receiver.clone(), receiver_port).await;
            down_since = None;
            eprintln!("{:>4} s: the webhook receiver is back", elapsed.as_secs());
        }
        if !halfway_done && elapsed > Duration::from_secs(seconds / 2) {
            imports.push(start_import(&http, &base, &token, "second.csv").await);
            halfway_done = true;
        }
    }
    running.store(false, Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    if down_since.is_some() {
        receiver_task = start_receiver(receiver.clone(), receiver_port).await;
    }
    let _receiver = receiver_task;
    // The faults stop; the queues and the journal drain (retries included: a scheduled
    // e-mail's provider retries back off 1, 2, 4, 8 minutes, hence the 15-minute cap).
    flaky.fail_one_write_in(0);
    provider.faulty.store(false, Ordering::Relaxed);
    let load_seconds = started.elapsed().as_secs_f64();
    let settle = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let scheduled_open = {
            let ids = books
                .scheduled
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default();
            let mut open = 0;
            for id in ids {
                let row = ada.get(&format!("/v1/scheduled_emails/{id}")).await;
                open += usize::from(!matches!(
                    row.body["status"].as_str(),
                    Some("sent" | "failed")
                ));
            }
            open
        };
        let idle = scheduled_open == 0
            && system.webhook_queue.is_empty()
            && system.scheduled_email_queue.is_empty()
            && system.import_queue.is_empty()
            && system.hit_journal.pending_bytes() == 0
            && deliveries_by_status(system.table.as_ref(), &webhook_id, &["pending", "retrying"])
                .await
                .is_empty();
        if (idle && settle.elapsed() > Duration::from_secs(20))
            || settle.elapsed() > Duration::from_secs(900)
        {
            break;
        }
    }
    let drained = system.hit_applier().drain().await;

    // The checks.
    let mut failures: Vec<String> = Vec::new();
    let accepted = provider
        .accepted
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    let twice: Vec<_> = accepted.iter().filter(|(_, n)| **n > 1).collect();
    if !twice.is_empty() {
        failures.push(format!("sent more than once: {twice:?}"));
    }
    let sends = books.sends.lock().map(|s| s.clone()).unwrap_or_default();
    let (mut sent, mut failed) = (0usize, 0usize);
    let mut failed_because: HashMap<String, usize> = HashMap::new();
    for outcome in sends.values() {
        match outcome {
            Ok(message) => {
                sent += 1;
                if accepted.get(message) != Some(&1) {
                    failures.push(format!(
                        "answered sent, not at the provider once: {message}"
                    ));
                }
            }
            Err((message, code)) => {
                failed += 1;
                *failed_because.entry(code.clone()).or_default() += 1;
                // The reason is the answer's code; the message's row says `failed` (the
                // table has no error column), or is absent if the store refused it for good.
                let row = ada.get(&format!("/v1/email_messages/{message}")).await;
                if code.is_empty() || (row.status != 404 && row.body["status"] != "failed") {
                    failures.push(format!(
                        "answered failed ({code:?}), but the message says {} {}",
                        row.status, row.body
                    ));
                }
                if accepted.contains_key(message) {
                    failures.push(format!("answered failed, yet sent: {message}"));
                }
            }
        }
    }
    let scheduled = books
        .scheduled
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let (mut scheduled_sent, mut scheduled_failed) = (0usize, 0usize);
    for id in &scheduled {
        let row = ada.get(&format!("/v1/scheduled_emails/{id}")).await;
        match row.body["status"].as_str() {
            Some("sent") => scheduled_sent += 1,
            Some("failed")
                if row.body["error_message"]
                    .as_str()
                    .is_some_and(|e| !e.is_empty()) =>
            {
                scheduled_failed += 1
            }
            other => failures.push(format!(
                "scheduled e-mail {id} ended {other:?}: {}",
                row.body
            )),
        }
    }
    let provider_sent: usize = accepted.values().sum();
    if provider_sent != sent + scheduled_sent {
        failures.push(format!(
            "the provider sent {provider_sent}, the books account for {} ({sent} direct + {scheduled_sent} scheduled)",
            sent + scheduled_sent
        ));
    }
    let hits: HashMap<String, String> = books
        .hits
        .lock()
        .map(|h| {
            h.iter()
                .map(|(code, message)| (hit_address(*code), message.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut stored: HashMap<String, usize> = HashMap::new();
    let messages: HashSet<&String> = hits.values().collect();
    for message in &messages {
        for event in events(&ada, message).await {
            if let Some(ip) = event["ip_address"].as_str() {
                *stored.entry(ip.to_owned()).or_default() += 1;
            }
        }
    }
    let missing: HashSet<&String> = hits
        .iter()
        .filter(|(ip, _)| !stored.contains_key(*ip))
        .map(|(_, message)| message)
        .collect();
    let missing_hits = hits.keys().filter(|ip| !stored.contains_key(*ip)).count();
    let doubled_hits = stored.values().filter(|n| **n > 1).count();
    if missing_hits > 0 || doubled_hits > 0 {
        let mut without_row = 0;
        for message in &missing {
            if ada
                .get(&format!("/v1/email_messages/{message}"))
                .await
                .status
                == 404
            {
                without_row += 1;
            }
        }
        failures.push(format!(
            "hits: {missing_hits} answered but not stored (on {} messages, {without_row} of them without a row; the last drain: {drained:?}), {doubled_hits} stored twice",
            missing.len()
        ));
    }
    let mut import_rows = Vec::new();
    for id in &imports {
        let batch = ada.get(&format!("/v1/import_batches/{id}")).await;
        let counted = ["imported_count", "updated_count", "skipped_count"]
            .iter()
            .map(|c| batch.body[c].as_i64().unwrap_or(0))
            .sum::<i64>();
        import_rows.push(format!(
            "{} {counted}/{}",
            batch.body["status"], batch.body["total_rows"]
        ));
        if batch.body["status"] != "completed"
            || counted != IMPORT_ROWS as i64
            || batch.body["total_rows"] != IMPORT_ROWS as i64
        {
            failures.push(format!("import {id}: {}", batch.body));
        }
    }
    let leads = books
        .leads_created
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    let delivered = receiver.leads.lock().map(|l| l.clone()).unwrap_or_default();
    let logged_failed = deliveries_by_status(system.table.as_ref(), &webhook_id, &["failed"]).await;
    let unaccounted: Vec<_> = leads
        .iter()
        .filter(|l| !delivered.contains(*l) && !logged_failed.contains(&l.to_string()))
        .collect();
    if !unaccounted.is_empty() {
        failures.push(format!(
            "{} lead.created events neither delivered nor logged failed (e.g. {:?})",
            unaccounted.len(),
            unaccounted.first()
        ));
    }
    let half = rss.len() / 2;
    let first_peak = rss[..half.max(1)].iter().map(|r| r.1).max().unwrap_or(0);
    let second_peak = rss[half..].iter().map(|r| r.1).max().unwrap_or(0);
    if second_peak as f64 > first_peak as f64 * 1.10 {
        failures.push(format!(
            "memory grew: peak {first_peak} KiB in the first half, {second_peak} KiB in the second"
        ));
    }
    let error_lines = errors.0.lock().map(|e| e.clone()).unwrap_or_default();
    let unexpected: Vec<_> = error_lines
        .iter()
        .filter(|line| {
            ![
                INJECTED_WRITE_FAILURE,
                INJECTED_PROVIDER_500,
                INJECTED_PROVIDER_TIMEOUT,
            ]
            .iter()
            .any(|f| line.contains(f))
        })
        .collect();
    if !unexpected.is_empty() {
        failures.push(format!(
            "{} unexpected error lines, e.g. {:?}",
            unexpected.len(),
            &unexpected[..unexpected.len().min(3)]
        ));
    }

    println!(
        "soak: {load_seconds:.0} s of load, then {:.0} s to drain",
        settle.elapsed().as_secs_f64()
    );
    println!(
        "  data API: {} leads created, {} list reads, {} writes refused (injected store faults)",
        leads.len(),
        books.reads.load(Ordering::Relaxed),
        books.writes_refused.load(Ordering::Relaxed)
    );
    println!(
        "  sends: {sent} sent once, {failed} failed with a reason {failed_because:?} ({} provider calls); scheduled: {scheduled_sent} sent, {scheduled_failed} failed of {}",
        provider.calls.load(Ordering::Relaxed),
        scheduled.len()
    );
    println!(
        "  hits: {} answered, each stored once: {}",
        hits.len(),
        missing_hits == 0 && doubled_hits == 0
    );
    println!("  imports: {import_rows:?}");
    println!(
        "  webhooks: {} leads, {} delivered, {} logged failed, {} deliveries received",
        leads.len(),
        delivered.len(),
        logged_failed.len(),
        receiver.deliveries.load(Ordering::Relaxed)
    );
    println!(
        "  RSS: first-half peak {first_peak} KiB, second-half peak {second_peak} KiB; samples {:?}",
        rss.iter()
            .step_by((rss.len() / 12).max(1))
            .collect::<Vec<_>>()
    );
    println!(
        "  RssAnon / RssFile KiB: {:?}",
        anon_file
            .iter()
            .step_by((anon_file.len() / 12).max(1))
            .collect::<Vec<_>>()
    );
    println!(
        "  error lines: {} (all injected: {})",
        error_lines.len(),
        unexpected.is_empty()
    );
    let _ = stop_workers.send(true);
    for task in background {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if failures.is_empty() {
        println!("soak: every check passed");
    } else {
        for failure in &failures {
            println!("FAILED: {failure}");
        }
        std::process::exit(1);
    }
}

/// POST /v1/send-email under an Idempotency-Key until the answer is final: 200 (sent) or 502
/// with its message (failed); a refused write (5xx without a message) is retried, as a client
/// would, with the same key.
async fn send_until_answered(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    books: &Books,
    lead_id: &str,
    key: &str,
) {
    for _ in 0..20 {
        let answer = http
            .post(format!("{base}/v1/send-email"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&json!({ "lead_id": lead_id, "subject": "Hello {{first_name}}", "html_body": "<p>Hi <a href=\"https://scaliyo.example/pricing\">pricing</a></p>" }))
            .send()
            .await;
        let Ok(answer) = answer else { continue };
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or_default();
        let message = body["message_id"]
            .as_str()
            .or(body["details"]["message_id"].as_str())
            .unwrap_or_default()
            .to_owned();
        let outcome = match status {
            200 | 201 => Ok(message),
            502 if !message.is_empty() => Err((
                message,
                body["code"].as_str().unwrap_or_default().to_owned(),
            )),
            // In progress elsewhere, or a refused write: ask again.
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if let Ok(mut sends) = books.sends.lock() {
            sends.insert(key.to_owned(), outcome);
        }
        return;
    }
}

/// Pixels of the newest sent messages (from the provider's outbox).
fn refresh_pixels(books: &Books, outbox: &std::path::Path) -> Option<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(outbox).ok()?.flatten().take(50) {
        let Ok(eml) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(parsed) = mailparse::parse_mail(eml.as_bytes()) else {
            continue;
        };
        let html = parsed
            .subparts
            .get(1)
            .and_then(|p| p.get_body().ok())
            .unwrap_or_default();
        if let Some(pixel) = scaliyo_tests::mailbox::urls(&html, "/t/o/").pop() {
            let message = entry
                .path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push((message, pixel));
        }
    }
    let first = found.first().cloned();
    if let Ok(mut pixels) = books.pixels.lock()
        && !found.is_empty()
    {
        *pixels = found;
    }
    first
}

async fn start_import(http: &reqwest::Client, base: &str, token: &str, name: &str) -> String {
    let mut file = String::from("Name,Email,Company\n");
    for i in 0..IMPORT_ROWS {
        // Every 40th row a duplicate e-mail, every 97th one without any: skipped with a reason.
        let email = if i % 97 == 0 {
            String::new()
        } else {
            format!("import{}@{name}.example", i - (i % 40 == 39) as usize)
        };
        file.push_str(&format!("Person {i},{email},Acme\n"));
    }
    let started: Value = http
        .post(format!("{base}/v1/imports"))
        .bearer_auth(token)
        .json(&json!({ "file_name": name, "content_length": file.len() }))
        .send()
        .await
        .expect("an import")
        .json()
        .await
        .expect("json");
    let id = started["batch"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The upload is retried while the store refuses its write.
    for _ in 0..20 {
        let uploaded = http
            .post(format!("{base}/v1/imports/{id}/file"))
            .bearer_auth(token)
            .body(file.clone())
            .send()
            .await;
        if uploaded.is_ok_and(|r| r.status().as_u16() == 202) {
            break;
        }
    }
    id
}

async fn events(ada: &Client, message: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/email_events?message_id={message}&limit=500");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = ada.get(&path).await;
        all.extend(page.body["data"].as_array().cloned().unwrap_or_default());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// The leads whose `lead.created` delivery is in the webhook's log with one of `statuses`.
async fn deliveries_by_status(
    table: &dyn Table,
    webhook_id: &str,
    statuses: &[&str],
) -> HashSet<String> {
    let mut failed = HashSet::new();
    let mut query = Query::partition(Index::Table, format!("WH#{webhook_id}"))
        .sort(SortCondition::BeginsWith("D#".into()));
    loop {
        let Ok(page) = table.query(query.clone()).await else {
            return failed;
        };
        for item in &page.items {
            if item.str("status").is_some_and(|s| statuses.contains(&s))
                && let Some(payload) = item
                    .str("payload")
                    .and_then(|p| serde_json::from_str::<Value>(p).ok())
                && let Some(lead) = payload["data"]["lead"]["id"].as_str()
            {
                failed.insert(lead.to_owned());
            }
        }
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return failed,
        }
    }
}
