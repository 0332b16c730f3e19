//! What a tracking hit costs on DynamoDB, as DynamoDB Local reports it
//! (`ReturnConsumedCapacity: TOTAL` on every request): per human open, human click and machine
//! open, before the hit journal (each hit classified and stored on its request) and after it
//! (the request only enqueues; the consumer applies batches of 100, as `analytics-rollup` gets
//! them from the hit queue). The figures are printed (`--no-capture`) and recorded in
//! docs/BENCHMARKS.md ("Cost of a million hits"); the test holds the request path to no table
//! work and the consumer to no more than the per-hit design.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, TimeZone, Utc};
use scaliyo_app::access::Access;
use scaliyo_app::rows::Rows;
use scaliyo_app::send::{Mailers, SendConfig, SendPipeline};
use scaliyo_app::tracking::Tracking;
use scaliyo_aws::{CapacityMeter, Consumed};
use scaliyo_domain::signed_link::{LinkKey, token_of};
use scaliyo_domain::tracking::Hit;
use scaliyo_embedded::LocalQueue;
use scaliyo_store::{Clock, ManualClock, Queue, QueueJournal, Table};
use scaliyo_tests::{emulators, mailbox};
use serde_json::json;

const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
const BOT: &str = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";
/// Messages per design (each gets one hit of each sort).
const MESSAGES: usize = 40;
/// Records per consumer invocation (the hit queue's batch size in infra/template.yaml).
const BATCH: usize = 100;

/// A sent message's tracked URLs: its open token and its link's segment.
struct Urls {
    open: String,
    link: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sort {
    HumanOpen,
    HumanClick,
    MachineOpen,
}

fn hit(sort: Sort, n: usize) -> Hit<'static> {
    let agent = match sort {
        Sort::MachineOpen => BOT,
        Sort::HumanOpen | Sort::HumanClick => HUMAN,
    };
    Hit {
        kind: None,
        method: "GET",
        user_agent: Some(agent),
        ip: format!("198.51.100.{}", n % 250 + 1).parse().ok(),
        purpose: None,
        seconds_since_sent: None,
    }
}

async fn accept(tracking: &Tracking, sort: Sort, urls: &Urls, n: usize) {
    match sort {
        Sort::HumanClick => {
            let destination = tracking
                .accept_click(&urls.link, hit(sort, n))
                .await
                .expect("accepted");
            assert!(destination.is_some());
        }
        Sort::HumanOpen | Sort::MachineOpen => tracking
            .accept_open(&urls.open, hit(sort, n))
            .await
            .expect("accepted"),
    }
}

/// Units per hit of a measurement over `hits` hits.
fn per_hit(consumed: Consumed, hits: usize) -> (f64, f64, f64) {
    let n = hits as f64;
    (
        consumed.requests as f64 / n,
        consumed.read_units / n,
        consumed.write_units / n,
    )
}

#[tokio::test]
async fn capacity_units_per_hit_before_and_after_the_journal() {
    let Some(config) = emulators::dynamodb().await else {
        return;
    };
    let meter = Arc::new(CapacityMeter::default());
    let table: Arc<dyn Table> = Arc::new(
        emulators::new_table(&config, "capacity")
            .await
            .with_capacity_meter(meter.clone()),
    );
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    let access = Arc::new(Access::over(table.clone(), clock.clone()));
    let actor = emulators::new_user(&access).await;
    let outbox = tempfile::tempdir().expect("a directory");
    let link_key = LinkKey::new(b"capacity test key");
    let pipeline = SendPipeline::new(
        access.clone(),
        Arc::new(scaliyo_embedded::LocalSealer::new(&[7; 32]).expect("a sealer")),
        Mailers::all(Arc::new(scaliyo_mail::OutboxMailer::new(
            outbox.path().to_path_buf(),
        ))),
        clock.clone(),
        SendConfig::new("https://t.example").with_link_key(Some(link_key.clone())),
    );
    pipeline
        .senders()
        .connect(
            &actor,
            serde_json::from_value(
                json!({ "provider": "sendgrid", "from_email": "ada@mail.example",
                "api_key": "k", "metadata": { "daily_limit": 1000000 } }),
            )
            .expect("a connect request"),
        )
        .await
        .expect("a sender");
    let lead = access
        .create(
            &actor,
            "leads",
            json!({ "name": "Grace", "primary_email": "grace@navy.example" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .await
        .expect("a lead");
    let mut messages = Vec::new();
    for _ in 0..2 * MESSAGES {
        let sent = pipeline
            .send(
                &actor,
                serde_json::from_value(json!({ "lead_id": lead["id"], "subject": "Hi",
                    "html_body": "<p><a href=\"https://scaliyo.example/pricing\">Pricing</a></p>" }))
                .expect("a send"),
                None,
            )
            .await
            .expect("sent");
        let eml = std::fs::read(outbox.path().join(format!("{}.eml", sent.message_id)))
            .expect("in the outbox");
        let parsed = mailparse::parse_mail(&eml).expect("a MIME message");
        let html = parsed.subparts[1].get_body().expect("the HTML part");
        let after = |marker: &str| {
            let url = mailbox::urls(&html, marker).pop().unwrap_or_default();
            url.rsplit('/').next().unwrap_or_default().to_owned()
        };
        messages.push(Urls {
            open: after("/t/o/").trim_end_matches(".gif").to_owned(),
            link: after("/t/c/"),
        });
    }
    assert_ne!(
        token_of(&messages[0].link),
        messages[0].link,
        "links are signed"
    );
    clock.advance(Duration::hours(1));
    let (before_messages, after_messages) = messages.split_at(MESSAGES);

    // Before: every hit classified and stored on its request.
    let direct = Tracking::new(Rows::new(table.clone(), clock.clone()), clock.clone())
        .with_link_key(Some(link_key.clone()));
    let mut before = Vec::new();
    for sort in [Sort::HumanOpen, Sort::HumanClick, Sort::MachineOpen] {
        let start = meter.consumed();
        let started = Instant::now();
        for (n, urls) in before_messages.iter().enumerate() {
            accept(&direct, sort, urls, n).await;
        }
        before.push((sort, meter.consumed() - start, started.elapsed()));
        clock.advance(Duration::minutes(2));
    }

    // After: the request enqueues the hit; the consumer applies batches of 100.
    let queue = Arc::new(LocalQueue::new("tracking-hits"));
    let journalled = Tracking::new(Rows::new(table.clone(), clock.clone()), clock.clone())
        .with_journal(Arc::new(QueueJournal::new(queue.clone())))
        .with_link_key(Some(link_key));
    let mut after = Vec::new();
    for sort in [Sort::HumanOpen, Sort::HumanClick, Sort::MachineOpen] {
        let start = meter.consumed();
        let started = Instant::now();
        for (n, urls) in after_messages.iter().enumerate() {
            accept(&journalled, sort, urls, n).await;
        }
        let request = meter.consumed() - start;
        let request_time = started.elapsed();
        assert_eq!(
            (request.requests, queue.len()),
            (0, MESSAGES),
            "{sort:?}: no table work before the answer, one enqueue per hit"
        );
        let start = meter.consumed();
        let started = Instant::now();
        let mut stored = 0;
        while !queue.is_empty() {
            // The event source's batch: SQS hands out ten at a time.
            let mut batch = Vec::new();
            while batch.len() < BATCH {
                let received = queue
                    .receive(10, StdDuration::from_secs(30), StdDuration::ZERO)
                    .await
                    .expect("received");
                if received.is_empty() {
                    break;
                }
                batch.extend(received);
            }
            let bodies: Vec<String> = batch.iter().map(|m| m.body.clone()).collect();
            stored += journalled
                .apply_journal(&bodies)
                .await
                .expect("applied")
                .stored;
            for message in &batch {
                queue.delete(&message.receipt).await.expect("deleted");
            }
        }
        assert_eq!(stored, MESSAGES, "{sort:?}");
        after.push((
            sort,
            meter.consumed() - start,
            started.elapsed(),
            request_time,
        ));
        clock.advance(Duration::minutes(2));
    }

    println!("capacity per hit on DynamoDB Local ({MESSAGES} hits of each sort, one per message)");
    println!(
        "| hit | before: requests / RCU / WCU | after (consumer, batches of {BATCH}): requests / RCU / WCU |"
    );
    for ((sort, old, old_time), (_, new, new_time, request_time)) in before.iter().zip(&after) {
        let (old_requests, old_rcu, old_wcu) = per_hit(*old, MESSAGES);
        let (new_requests, new_rcu, new_wcu) = per_hit(*new, MESSAGES);
        println!(
            "| {sort:?} | {old_requests:.2} / {old_rcu:.2} / {old_wcu:.2} ({:.2} ms) | {new_requests:.2} / {new_rcu:.2} / {new_wcu:.2} ({:.2} ms; request {:.2} ms) |",
            old_time.as_secs_f64() * 1000.0 / MESSAGES as f64,
            new_time.as_secs_f64() * 1000.0 / MESSAGES as f64,
            request_time.as_secs_f64() * 1000.0 / MESSAGES as f64,
        );
        assert!(
            old.requests > 0,
            "{sort:?}: DynamoDB Local reports capacity"
        );
        assert!(
            new_rcu <= old_rcu && new_wcu <= old_wcu,
            "{sort:?}: the consumer costs no more than the per-hit design"
        );
    }
    assert!(clock.now() > Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap());
}
