//! process-scheduled-emails on the embedded store with the outbox provider: one tick
//! claiming 10,000 due rows (claim + enqueue), then the queue consumer sending them all.
//!
//! `cargo bench -p scaliyo-tests --bench scheduler`; figures in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use scaliyo_app::access::Actor;
use scaliyo_app::scheduler::SequenceRequest;
use scaliyo_domain::ids::Role;
use scaliyo_store::ManualClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

const LEADS: usize = 500;
const BLOCKS: usize = 20;
const RUNS: usize = 3;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let start: DateTime<Utc> = "2026-06-01T08:00:00Z".parse().expect("a time");
    let clock = Arc::new(ManualClock::new(start));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    local
        .system
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
        .expect("subscription");
    let sender = ada
        .post("/v1/sender-accounts/connect", json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true, "metadata": { "daily_limit": 1000000 } }))
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let mut leads = Vec::new();
    for i in 0..LEADS {
        let lead = ada
            .post("/v1/leads", json!({ "name": format!("Lead {i}"), "first_name": "Lead", "primary_email": format!("lead{i}@example.com") }))
            .await;
        leads.push(lead.body["id"].as_str().unwrap_or_default().to_owned());
    }
    let actor = Actor::acting_for(ada.owner());
    let scheduler = local.system.scheduler.clone();
    let worker = local.system.scheduled_email_worker();

    let mut tick_seconds = Vec::new();
    let mut send_rates = Vec::new();
    for run in 0..RUNS {
        // 500 leads x 20 blocks, every block due at the same minute.
        let due = clock_now(&clock) + Duration::minutes(1);
        let blocks: Vec<_> = (0..BLOCKS)
            .map(|b| json!({ "subject": format!("Step {b} for {{{{first_name}}}}"), "html_body": "<p>Hello {{first_name}}, see <a href=\"https://scaliyo.example/case\">this</a>.</p>", "at": due.to_rfc3339() }))
            .collect();
        let request: SequenceRequest =
            serde_json::from_value(json!({ "lead_ids": leads, "blocks": blocks }))
                .expect("request");
        let scheduled = scheduler
            .scheduling()
            .schedule_sequence(&actor, request)
            .await
            .expect("scheduled");
        assert_eq!(scheduled.sequences.len(), LEADS);
        clock.set(due);

        let started = Instant::now();
        let report = scheduler.tick().await.expect("tick");
        let tick = started.elapsed().as_secs_f64();
        assert_eq!(report.claimed, LEADS * BLOCKS, "run {run}: {report:?}");
        assert_eq!(report.enqueued, LEADS * BLOCKS);

        let started = Instant::now();
        let sent = worker.drain().await;
        let sending = started.elapsed().as_secs_f64();
        assert_eq!(sent, LEADS * BLOCKS);
        println!(
            "run {run}: tick claimed+enqueued {} rows in {:.2} s ({:.0} claims/s); consumer sent them in {:.2} s ({:.0} sends/s)",
            report.claimed,
            tick,
            report.claimed as f64 / tick,
            sending,
            sent as f64 / sending
        );
        tick_seconds.push(tick);
        send_rates.push(sent as f64 / sending);
        clock.set(due + Duration::minutes(1));
    }
    tick_seconds.sort_by(|a, b| a.total_cmp(b));
    send_rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "median of {RUNS}: one tick claims {} due rows in {:.2} s ({:.0} claims/s; target < 10 s); {:.0} sends/s end to end through the queue",
        LEADS * BLOCKS,
        tick_seconds[RUNS / 2],
        (LEADS * BLOCKS) as f64 / tick_seconds[RUNS / 2],
        send_rates[RUNS / 2]
    );
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    scaliyo_store::Clock::now(clock)
}
