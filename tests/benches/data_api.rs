//! The data API through the local HTTP server on the embedded store: create lead, get lead,
//! and a 100-row page out of 50,000 leads — p50/p99 latency (one client) and requests/s
//! (16 concurrent clients, median of 3 rounds).
//!
//! `cargo bench -p scaliyo-tests --bench data_api`; figures in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scaliyo_domain::ids::Role;
use scaliyo_domain::schema;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

const LEADS: usize = 50_000;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

async fn latency<F, Fut>(n: usize, mut call: F) -> (Duration, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let status = call(i).await;
        samples.push(started.elapsed());
        assert!(status < 300, "status {status}");
    }
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    )
}

async fn throughput<F, Fut>(clients: usize, per_client: usize, call: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let mut rounds = Vec::new();
    for round in 0..3 {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let call = call.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_client {
                    let status = call(round * 1_000_000 + c * per_client + i).await;
                    assert!(status < 300, "status {status}");
                }
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        rounds.push((clients * per_client) as f64 / started.elapsed().as_secs_f64());
    }
    rounds.sort_by(|a, b| a.total_cmp(b));
    rounds[1]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    // The Scale plan allows 50,000 contacts.
    let rows = local.system.access.rows();
    rows.create(
        &schema::SUBSCRIPTIONS,
        None,
        json!({ "user_id": ada.id(), "plan": "Scale", "plan_name": "Scale" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .await
    .expect("subscription");

    // Load 49,000 leads through the repository (not measured), the rest through HTTP below.
    let loaded = Instant::now();
    let leads = &schema::LEADS;
    let access = local.system.access.clone();
    for i in 0..(LEADS - 1_000) {
        let extra = access
            .contacts_reservation(ada.owner(), 1)
            .await
            .expect("reservation");
        let row = rows
            .prepare(leads, json!({ "client_id": ada.id(), "name": format!("Lead {i}"), "score": (i % 100) as i64 }).as_object().cloned().unwrap_or_default())
            .expect("valid lead");
        rows.insert(leads, None, row, vec![extra])
            .await
            .expect("insert");
    }
    println!(
        "loaded {} leads in {:.1}s",
        LEADS - 1_000,
        loaded.elapsed().as_secs_f64()
    );

    let ada = Arc::new(ada);
    let (create_p50, create_p99) = latency(500, |i| {
        let ada = ada.clone();
        async move { ada.post("/v1/leads", json!({ "name": format!("Timed {i}"), "primary_email": format!("t{i}@example.com") })).await.status }
    })
    .await;
    let created = ada.get("/v1/leads?limit=1").await;
    let id = created.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!("/v1/leads/{id}");
    let (get_p50, get_p99) = latency(2_000, |_| {
        let ada = ada.clone();
        let path = path.clone();
        async move { ada.get(&path).await.status }
    })
    .await;
    let (page_p50, page_p99) = latency(300, |_| {
        let ada = ada.clone();
        async move {
            let reply = ada.get("/v1/leads?order=created_at.desc&limit=100").await;
            assert_eq!(reply.body["data"].as_array().map(Vec::len), Some(100));
            reply.status
        }
    })
    .await;

    let a = ada.clone();
    let create_rps = throughput(16, 10, move |i| {
        let ada = a.clone();
        async move {
            ada.post("/v1/leads", json!({ "name": format!("Concurrent {i}") }))
                .await
                .status
        }
    })
    .await;
    let (a, p) = (ada.clone(), path.clone());
    let get_rps = throughput(16, 200, move |_| {
        let ada = a.clone();
        let path = p.clone();
        async move { ada.get(&path).await.status }
    })
    .await;
    let a = ada.clone();
    let page_rps = throughput(16, 20, move |_| {
        let ada = a.clone();
        async move {
            ada.get("/v1/leads?order=created_at.desc&limit=100")
                .await
                .status
        }
    })
    .await;
    let total = local
        .system
        .access
        .contacts_used(ada.owner())
        .await
        .unwrap_or_default();
    println!("leads in the workspace: {total}");
    println!("| operation | p50 | p99 | req/s (16 clients) |");
    println!("|---|---|---|---|");
    println!(
        "| create lead | {:.2} ms | {:.2} ms | {create_rps:.0} |",
        create_p50.as_secs_f64() * 1e3,
        create_p99.as_secs_f64() * 1e3
    );
    println!(
        "| get lead | {:.2} ms | {:.2} ms | {get_rps:.0} |",
        get_p50.as_secs_f64() * 1e3,
        get_p99.as_secs_f64() * 1e3
    );
    println!(
        "| list 100 of 50,000 | {:.2} ms | {:.2} ms | {page_rps:.0} |",
        page_p50.as_secs_f64() * 1e3,
        page_p99.as_secs_f64() * 1e3
    );
}
