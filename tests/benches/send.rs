//! The send pipeline on the embedded store with the outbox provider (render, rewrite,
//! reserve, send, record), and link rewriting of a 100 KB body with 200 links.
//!
//! `cargo bench -p scaliyo-tests --bench send`; figures in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scaliyo_app::send::SendRequest;
use scaliyo_domain::email;
use scaliyo_domain::ids::{Caller, Role};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn big_body() -> String {
    let mut html = String::from("<html><body>");
    let mut i = 0;
    while html.len() < 100 * 1024 {
        if i < 200 {
            html.push_str(&format!("<p>Paragraph {i} with <a href=\"https://example.com/page/{i}?utm_source=mail&amp;x={i}\">link number {i}</a> and some filler text to read.</p>"));
        } else {
            html.push_str("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.</p>");
        }
        i += 1;
    }
    html.push_str("</body></html>");
    html
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // 1. Rewriting alone.
    let body = big_body();
    let mut samples = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let mut n = 0u32;
        let (out, links) = email::rewrite_links(
            &body,
            "https://t.example/u/x",
            || {
                n += 1;
                format!("tok{n}")
            },
            |t, _| format!("https://t.example/t/c/{t}"),
        );
        samples.push(started.elapsed());
        assert_eq!(links.len(), 200);
        assert!(out.contains("https://t.example/t/c/tok200"));
    }
    let (p50, p99) = (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    );
    println!(
        "rewrite {} KB with 200 links: p50 {:.3} ms, p99 {:.3} ms",
        body.len() / 1024,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );

    // 2. The whole pipeline.
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let rows = local.system.access.rows();
    rows.create(
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
        .post("/v1/sender-accounts/connect", json!({ "provider": "smtp", "from_email": "ada@mail.example", "smtp": { "host": "127.0.0.1", "username": "u", "password": "p", "security": "none" }, "metadata": { "daily_limit": 100000 } }))
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let lead = ada.post("/v1/leads", json!({ "name": "Grace Hopper", "first_name": "Grace", "primary_email": "grace@navy.example", "company": "Navy" })).await;
    let lead_id = lead.body["id"].as_str().unwrap_or_default().to_owned();
    let actor = local
        .system
        .access
        .actor(
            Some(Caller {
                user_id: ada.id().parse().expect("uuid"),
                role: Role::Client,
                email: None,
            }),
            None,
        )
        .await
        .expect("actor");
    let request = move || -> SendRequest {
        serde_json::from_value(json!({
            "lead_id": lead_id,
            "subject": "Hi {{first_name}}",
            "html_body": "<html><body><p>Hello {{first_name}} at {{company}},</p><p>Here is <a href=\"https://scaliyo.example/case\">our case study</a>.</p></body></html>"
        }))
        .expect("request")
    };
    let pipeline = local.system.send.clone();
    let mut latencies = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        pipeline.send(&actor, request(), None).await.expect("send");
        latencies.push(started.elapsed());
    }
    let (p50, p99) = (
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
    let mut rates = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let pipeline = pipeline.clone();
            let actor = actor.clone();
            let request = request.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    pipeline.send(&actor, request(), None).await.expect("send");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        rates.push(800.0 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "send pipeline (outbox, 1 tracked link): p50 {:.2} ms, p99 {:.2} ms sequential; {:.0} sends/s with 16 concurrent (median of 3)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        rates[1]
    );
    let _ = Arc::new(());
}
