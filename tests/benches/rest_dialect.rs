//! The PostgREST dialect on the embedded store with 50,000 leads, through the local HTTP
//! server as supabase-js calls it: p50/p99 of `status=eq.Qualified&order=created_at.desc&
//! limit=50`, `name=ilike.*ana*&limit=50`, and a `count=exact` HEAD on a status (one client,
//! 30 requests each, after 3 to warm up). The status page reads the status index in order and
//! stops when full, the HEAD counts index entries, the `ilike` reads the partition until its
//! page is full. Run several times; report the medians.
//!
//! `cargo bench -p scaliyo-tests --bench rest_dialect`; figures in docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use reqwest::Method;
use scaliyo_domain::ids::Role;
use scaliyo_domain::schema;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

const LEADS: usize = 50_000;
const STATUSES: [&str; 5] = ["New", "Contacted", "Qualified", "Converted", "Lost"];
const FIRST_NAMES: [&str; 8] = [
    "Ana", "Ben", "Chidi", "Dana", "Emil", "Fatima", "Goran", "Hana",
];

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// p50 and p99 of `n` requests after a warm-up; every answer is checked by `check`.
async fn measure(
    http: &reqwest::Client,
    client: &Client,
    method: Method,
    path: &str,
    prefer: Option<&str>,
    check: impl Fn(&reqwest::header::HeaderMap, &[u8]),
) -> (Duration, Duration) {
    let mut samples = Vec::new();
    for i in 0..33 {
        let started = Instant::now();
        let mut request = http
            .request(method.clone(), format!("{}{path}", client.base))
            .bearer_auth(client.token.as_deref().unwrap_or_default())
            .header("apikey", "anon");
        if let Some(prefer) = prefer {
            request = request.header("prefer", prefer);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a body");
        let took = started.elapsed();
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        check(&headers, &body);
        if i >= 3 {
            samples.push(took);
        }
    }
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    )
}

fn rows(body: &[u8]) -> usize {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    // The Scale plan allows 50,000 contacts.
    let table = local.system.access.rows();
    table
        .create(
            &schema::SUBSCRIPTIONS,
            None,
            json!({ "user_id": ada.id(), "plan": "Scale", "plan_name": "Scale" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .await
        .expect("subscription");
    let loaded = Instant::now();
    let access = local.system.access.clone();
    for i in 0..LEADS {
        let extra = access
            .contacts_reservation(ada.owner(), 1)
            .await
            .expect("reservation");
        let first = FIRST_NAMES[i % FIRST_NAMES.len()];
        let lead = json!({
            "client_id": ada.id(),
            "name": format!("{first} Lead{i}"),
            "status": STATUSES[(i / 3) % STATUSES.len()],
            "score": (i % 100) as i64,
        });
        let row = table
            .prepare(
                &schema::LEADS,
                lead.as_object().cloned().unwrap_or_default(),
            )
            .expect("valid lead");
        table
            .insert(&schema::LEADS, None, row, vec![extra])
            .await
            .expect("insert");
    }
    println!(
        "loaded {LEADS} leads in {:.1}s",
        loaded.elapsed().as_secs_f64()
    );

    let http = reqwest::Client::new();
    let page = measure(
        &http,
        &ada,
        Method::GET,
        "/rest/v1/leads?select=*&status=eq.Qualified&order=created_at.desc&limit=50",
        None,
        |_, body| assert_eq!(rows(body), 50),
    )
    .await;
    let search = measure(
        &http,
        &ada,
        Method::GET,
        "/rest/v1/leads?select=*&name=ilike.*ana*&limit=50",
        None,
        |_, body| assert_eq!(rows(body), 50),
    )
    .await;
    let count = measure(
        &http,
        &ada,
        Method::HEAD,
        "/rest/v1/leads?select=*&status=eq.Qualified",
        Some("count=exact"),
        |headers, _| {
            let range = headers
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let qualified = (0..LEADS).filter(|i| (i / 3) % STATUSES.len() == 2).count();
            assert!(
                range.ends_with(&format!("/{qualified}")),
                "content-range {range}"
            );
        },
    )
    .await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("| request (50,000 leads) | p50 | p99 | target p50 |");
    println!("|---|---|---|---|");
    println!(
        "| status=eq.Qualified&order=created_at.desc&limit=50 | {:.2} ms | {:.2} ms | 5 ms |",
        ms(page.0),
        ms(page.1)
    );
    println!(
        "| name=ilike.*ana*&limit=50 | {:.2} ms | {:.2} ms | 50 ms |",
        ms(search.0),
        ms(search.1)
    );
    println!(
        "| HEAD count=exact status=eq.Qualified | {:.2} ms | {:.2} ms | 2 ms |",
        ms(count.0),
        ms(count.1)
    );
}
