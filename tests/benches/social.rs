//! social-run-scheduler on the embedded store: one tick with 1,000 due posts × 3 targets
//! (Facebook Page, LinkedIn member, LinkedIn organisation) against local fakes of the Graph
//! API and LinkedIn that answer every call after 50 ms. Reports targets published per second
//! at the default bound of 32 network calls in flight, and at 8 and 64 for comparison.
//!
//! `cargo bench -p scaliyo-tests --bench social`; figures in docs/BENCHMARKS.md.
//! `SOCIAL_BENCH_POSTS` / `SOCIAL_BENCH_RUNS` narrow it.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use scaliyo_app::access::Actor;
use scaliyo_domain::ids::Role;
use scaliyo_social::SocialConfig;
use scaliyo_store::ManualClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LATENCY: StdDuration = StdDuration::from_millis(50);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fakes() -> (MockServer, MockServer) {
    let meta = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/[0-9]+/feed$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(LATENCY)
                .set_body_json(json!({ "id": "1050_1" })),
        )
        .mount(&meta)
        .await;
    let linkedin = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/rest/posts$"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_delay(LATENCY)
                .insert_header("x-restli-id", "urn:li:share:1"),
        )
        .mount(&linkedin)
        .await;
    (meta, linkedin)
}

/// Seconds of one tick over `posts` due posts with the given bound.
async fn run(posts: usize, concurrency: usize) -> (f64, usize) {
    let start: DateTime<Utc> = "2026-11-27T04:00:00Z".parse().expect("a time");
    let clock = Arc::new(ManualClock::new(start));
    let (meta, linkedin) = fakes().await;
    let config = SocialConfig {
        meta_base_url: meta.uri(),
        linkedin_base_url: linkedin.uri(),
        meta_version: "v25.0".into(),
        ..Default::default()
    };
    let local =
        RunningLocal::start_configured(clock.clone(), |c| c.social = Some(config.clone())).await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let meta_account = ada
        .post(
            "/v1/social/accounts/meta",
            json!({ "page_id": "1050", "page_access_token": "t" }),
        )
        .await;
    let member = ada
        .post(
            "/v1/social/accounts/linkedin",
            json!({ "member_urn": "urn:li:person:1", "access_token": "t" }),
        )
        .await;
    let org = ada
        .post(
            "/v1/social/accounts/linkedin",
            json!({ "org_urn": "urn:li:organization:2", "access_token": "t" }),
        )
        .await;
    let actor = Actor::acting_for(ada.owner());
    let system = &local.system;
    let due = start + Duration::minutes(1);
    for i in 0..posts {
        let request = serde_json::from_value(json!({
            "content_text": format!("Post number {i}"),
            "link_url": "https://scaliyo.example/launch",
            "scheduled_at": due.to_rfc3339(),
            "targets": [
                { "account_id": meta_account.body["id"], "channel": "facebook_page" },
                { "account_id": member.body["id"], "channel": "linkedin_member" },
                { "account_id": org.body["id"], "channel": "linkedin_org" }
            ]
        }))
        .expect("request");
        system
            .social
            .posts()
            .create_post(&actor, request)
            .await
            .expect("post");
    }
    clock.set(due);
    let social = (*system.social)
        .clone()
        .with_publish_concurrency(concurrency);
    let started = Instant::now();
    let report = social.tick().await.expect("tick");
    (started.elapsed().as_secs_f64(), report.published)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let posts = env_usize("SOCIAL_BENCH_POSTS", 1000);
    let runs = env_usize("SOCIAL_BENCH_RUNS", 3);
    println!("social tick: {posts} due posts x 3 targets, fakes answering in {LATENCY:?}");
    for concurrency in [32, 8, 64] {
        let mut rates = Vec::new();
        let mut seconds = Vec::new();
        for _ in 0..runs {
            let (elapsed, published) = run(posts, concurrency).await;
            assert_eq!(published, posts * 3, "every target published");
            rates.push(published as f64 / elapsed);
            seconds.push(elapsed);
        }
        println!(
            "concurrency {concurrency:>2}: tick {:.2} s (median of {runs}), {:.0} targets/s",
            median(&mut seconds),
            median(&mut rates)
        );
    }
}
