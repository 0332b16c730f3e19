//! The pixel and the redirect in process: the local system's router called directly (no
//! sockets), on the embedded store with durable group commits. 500 e-mails are sent, the clock
//! moves an hour on, and every pass over the 500 messages happens a minute after the last (so
//! hits are judged as people's: the message's recent hits are read, the message is read and
//! the live analytics written), then:
//!
//! - latency: 5,000 sequential requests per endpoint, p50 / p99 (the answer: the hit made
//!   durable in the journal; the redirect's token cached after its first resolution);
//! - throughput: 64 concurrent callers, requests per second;
//! - apply rate: the journal of each endpoint's hits classified and stored, hits per second;
//! - burst: 350,000 hits (`TRACKING_BENCH_BURST`) from 64 callers, then the drain time.
//!
//! `cargo bench -p scaliyo-tests --bench tracking`; figures in docs/BENCHMARKS.md.
//! `TRACKING_BENCH_REQUESTS` narrows it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use chrono::{Duration, TimeZone, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_store::ManualClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::mailbox;
use serde_json::json;
use tower::ServiceExt;

const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
const CALLERS: usize = 64;
/// Messages the hits are spread over.
const MESSAGES: usize = 500;

fn request(path: &str, n: usize) -> Request<Body> {
    let mut request = Request::get(path)
        .header("user-agent", HUMAN)
        // Addresses from a documentation range, rotating, forwarded by a proxy on loopback
        // (which the local server trusts, as the TCP peer the server would see).
        .header("x-forwarded-for", format!("198.51.100.{}", n % 250 + 1))
        .body(Body::empty())
        .unwrap_or_default();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))));
    request
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The allocator of `scaliyo serve` (functions/local/src/main.rs, ADR 0031).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    scaliyo_local::allocator::tune_allocator();
    let requests: usize = std::env::var("TRACKING_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let lead = mailbox::sender_and_lead(&ada).await;
    // Hits spread over many messages, as real traffic is (one message hammered is a scanner).
    let mut pixels = Vec::new();
    let mut links = Vec::new();
    for _ in 0..MESSAGES {
        let html = mailbox::send(
            &local,
            &ada,
            &lead,
            json!({ "subject": "Hi", "html_body": "<p><a href=\"https://scaliyo.example/pricing\">Pricing</a></p>" }),
        )
        .await
        .html;
        let path = |url: String| url.trim_start_matches(&local.base_url).to_owned();
        pixels.extend(mailbox::urls(&html, "/t/o/").pop().map(path));
        links.extend(mailbox::urls(&html, "/t/c/").pop().map(path));
    }
    clock.set(clock_now(&clock) + Duration::hours(1));
    let router = local.system.router();

    println!("tracking in process: {requests} requests per endpoint, human hits, durable writes");
    for (name, paths, expected) in [("pixel", &pixels, 200), ("redirect", &links, 302)] {
        let path = |n: usize| paths[n % paths.len()].as_str();
        for n in 0..200 {
            let _ = router.clone().oneshot(request(path(n), n)).await;
        }
        let mut latencies = Vec::with_capacity(requests);
        for n in 0..requests {
            next_pass(&clock, n, paths.len());
            let started = Instant::now();
            let response = router
                .clone()
                .oneshot(request(path(n), n))
                .await
                .expect("a response");
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(response.status().as_u16(), expected);
        }
        latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let started = Instant::now();
        let per_caller = requests / CALLERS;
        let sent = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..CALLERS)
            .map(|c| {
                let router = router.clone();
                let paths = paths.clone();
                let clock = clock.clone();
                let sent = sent.clone();
                tokio::spawn(async move {
                    for n in 0..per_caller {
                        next_pass(&clock, sent.fetch_add(1, Ordering::Relaxed), paths.len());
                        let i = c * per_caller + n;
                        let _ = router
                            .clone()
                            .oneshot(request(&paths[i % paths.len()], i))
                            .await;
                    }
                })
            })
            .collect();
        for caller in callers {
            let _ = caller.await;
        }
        let rate = (per_caller * CALLERS) as f64 / started.elapsed().as_secs_f64();
        println!(
            "{name:>8}: p50 {:.3} ms, p99 {:.3} ms (sequential); {rate:.0} req/s with {CALLERS} callers",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
        );
        let started = Instant::now();
        let report = local.apply_hits().await;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name:>8}: applied {} hits in {seconds:.2} s = {:.0} hits/s ({report:?})",
            report.stored,
            report.stored as f64 / seconds
        );
    }

    // A burst: pixels and links from 64 callers as fast as they answer (journalled only),
    // then the time the applier takes to drain the journal.
    let burst: usize = std::env::var("TRACKING_BENCH_BURST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(350_000);
    let all: Arc<Vec<String>> = Arc::new(pixels.iter().chain(&links).cloned().collect());
    clock.set(clock_now(&clock) + Duration::hours(1));
    let started = Instant::now();
    let per_caller = burst / CALLERS;
    let callers: Vec<_> = (0..CALLERS)
        .map(|c| {
            let router = router.clone();
            let all = all.clone();
            tokio::spawn(async move {
                for n in 0..per_caller {
                    let i = n * CALLERS + c;
                    let _ = router
                        .clone()
                        .oneshot(request(&all[i % all.len()], i))
                        .await;
                }
            })
        })
        .collect();
    for caller in callers {
        let _ = caller.await;
    }
    let answered = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = local.apply_hits().await;
    let drained = started.elapsed().as_secs_f64();
    println!(
        "   burst: {} hits journalled in {answered:.2} s ({:.0} req/s); drained in {drained:.2} s = {:.0} hits/s ({report:?})",
        per_caller * CALLERS,
        (per_caller * CALLERS) as f64 / answered,
        (report.stored + report.duplicates + report.not_tracked) as f64 / drained,
    );
}

/// Each pass over the messages happens a minute after the previous one: one message hit
/// again and again within seconds is a scanner by the history rules, and this benchmark
/// measures people's hits (each message once a minute).
fn next_pass(clock: &ManualClock, n: usize, messages: usize) {
    if n.is_multiple_of(messages) {
        clock.set(clock_now(clock) + Duration::seconds(61));
    }
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<Utc> {
    use scaliyo_store::Clock;
    clock.now()
}
