//! The metering overhead of an AI call on the embedded store: the store work around a model
//! call (prompt resolution, the credit reservation, the settlement with the day counter and
//! the usage log) with a model that answers at once, so that only that work is timed. Target
//! (issue 23): p50 < 2 ms. On a real disk (fsync included), not tmpfs.
//!
//! `cargo bench -p scaliyo-tests --bench ai_metering`; figures in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use scaliyo_app::access::Actor;
use scaliyo_app::ai::{GenerateRequest, SharedModel};
use scaliyo_domain::ids::Role;
use scaliyo_store::{LanguageModel, ModelError, ModelReply, ModelRequest, SystemClock};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

const RUNS: usize = 5;
// Two credits a call and a reservation each: within the Starter plan's 1,000.
const CALLS: usize = 200;

/// Answers at once: the bench times the store work around a call, not a model.
struct InstantModel;

#[async_trait]
impl LanguageModel for InstantModel {
    fn provider(&self) -> &'static str {
        "instant"
    }

    async fn generate(&self, _request: &ModelRequest) -> Result<ModelReply, ModelError> {
        Ok(ModelReply {
            text: "ok".into(),
            input_tokens: 40,
            output_tokens: 60,
            model: "instant".into(),
        })
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn one_run() -> (f64, f64, f64, f64) {
    let local = RunningLocal::start_configured(Arc::new(SystemClock), |config| {
        config.ai_model = Some(SharedModel(Arc::new(InstantModel)));
    })
    .await;
    let user = Client::user(&local, Role::Client, Some("bench@example.com"));
    user.sign_up().await;
    let lead = user
        .post(
            "/v1/leads",
            json!({"name": "Grace Hopper", "first_name": "Grace", "company": "Acme"}),
        )
        .await;
    let lead_id = lead.body["id"].as_str().map(str::to_owned);
    user.post(
        "/v1/user_prompts",
        json!({"prompt_key": "bench", "category": "content", "display_name": "Bench",
               "prompt_template": "Write to {{first_name}} at {{company}}."}),
    )
    .await;
    let actor = Actor::acting_for(user.owner());
    let ai = local.system.ai.clone();
    // Whole calls: the prompt resolved by key, the lead merged, reserved, settled.
    let mut calls = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let request = GenerateRequest {
            prompt_key: Some("bench".into()),
            prompt_id: None,
            variables: Default::default(),
            lead_id: lead_id.clone(),
            operation: None,
            max_output_tokens: Some(200),
        };
        let started = Instant::now();
        ai.generate(&actor, request).await.expect("a metered call");
        calls.push(started.elapsed().as_secs_f64() * 1e3);
    }
    // The meter alone: one reservation and its settlement.
    let mut meter = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let reservation = ai.meter().reserve(user.owner(), 2).await.expect("credits");
        ai.meter()
            .settle(&reservation, 2, 100)
            .await
            .expect("settled");
        meter.push(started.elapsed().as_secs_f64() * 1e3);
    }
    calls.sort_by(f64::total_cmp);
    meter.sort_by(f64::total_cmp);
    (
        percentile(&calls, 0.5),
        percentile(&calls, 0.9),
        percentile(&meter, 0.5),
        percentile(&meter, 0.9),
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut runs = Vec::new();
    for run in 0..RUNS {
        let figures = one_run().await;
        println!(
            "run {run}: a whole metered call p50 {:.2} ms, p90 {:.2} ms; reserve + settle p50 {:.2} ms, p90 {:.2} ms ({CALLS} each)",
            figures.0, figures.1, figures.2, figures.3
        );
        runs.push(figures);
    }
    let median = |pick: fn(&(f64, f64, f64, f64)) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "median of {RUNS} runs: a whole metered call p50 {:.2} ms (target < 2 ms), p90 {:.2} ms; reserve + settle p50 {:.2} ms, p90 {:.2} ms",
        median(|r| r.0),
        median(|r| r.1),
        median(|r| r.2),
        median(|r| r.3)
    );
}
