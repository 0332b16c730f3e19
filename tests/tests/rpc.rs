//! The usage RPCs of the seed's section 6 over HTTP: atomic counters, day and month rollover
//! with a controlled clock, limits enforced without read-then-write.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_store::ManualClock;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::json;

async fn setup() -> (RunningLocal, Arc<ManualClock>, Client) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap(),
    ));
    let local = RunningLocal::start_with_clock(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, None);
    assert_eq!(ada.sign_up().await.status, 201);
    (local, clock, ada)
}

#[tokio::test]
async fn sender_daily_sends_count_cap_and_roll_over_at_midnight() {
    let (_local, clock, ada) = setup().await;
    let sender = ada
        .post(
            "/v1/sender_accounts",
            json!({ "provider": "smtp", "from_email": "ada@example.com" }),
        )
        .await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let id = sender.body["id"].as_str().unwrap();
    for expected in 1..=3 {
        let reply = ada
            .post(
                "/v1/rpc/increment_sender_daily_sent",
                json!({ "sender_account_id": id, "daily_limit": 3 }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["daily_sent_today"], expected);
    }
    let capped = ada
        .post(
            "/v1/rpc/increment_sender_daily_sent",
            json!({ "sender_account_id": id, "daily_limit": 3 }),
        )
        .await;
    assert_eq!((capped.status, capped.code()), (429, "quota_exceeded"));
    clock.advance(Duration::hours(2));
    let today = ada
        .post(
            "/v1/rpc/get_sender_daily_sent",
            json!({ "sender_account_id": id }),
        )
        .await;
    assert_eq!(today.body["daily_sent"], 0, "a new day starts at zero");
    let next_day = ada
        .post(
            "/v1/rpc/increment_sender_daily_sent",
            json!({ "sender_account_id": id, "daily_limit": 3 }),
        )
        .await;
    assert_eq!(next_day.body["daily_sent_today"], 1);
    assert_eq!(next_day.body["daily_sent_date"], "2026-12-01");
    let other = Client::user(&_local, Role::Client, None);
    let foreign = other
        .post(
            "/v1/rpc/increment_sender_daily_sent",
            json!({ "sender_account_id": id }),
        )
        .await;
    assert_eq!(foreign.status, 404);
}

#[tokio::test]
async fn fifty_concurrent_increments_stop_exactly_at_the_daily_limit() {
    let (_local, _clock, ada) = setup().await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let ada = ada.clone();
        tasks.push(tokio::spawn(async move {
            ada.post(
                "/v1/rpc/increment_workspace_usage",
                json!({ "field": "emails_sent", "daily_limit": 30 }),
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 30);
    let month = ada
        .post("/v1/rpc/get_workspace_monthly_usage", json!({}))
        .await;
    assert_eq!(month.body["emails_sent"], 30, "{}", month.body);
}

#[tokio::test]
async fn monthly_usage_sums_the_days_of_the_month_only() {
    let (_local, clock, ada) = setup().await;
    ada.post(
        "/v1/rpc/increment_workspace_usage",
        json!({ "field": "linkedin_actions", "amount": 4 }),
    )
    .await;
    clock.advance(Duration::hours(2)); // 2026-12-01
    ada.post(
        "/v1/rpc/increment_workspace_usage",
        json!({ "field": "linkedin_actions", "amount": 5 }),
    )
    .await;
    clock.advance(Duration::days(1));
    ada.post(
        "/v1/rpc/increment_workspace_usage",
        json!({ "field": "linkedin_actions", "amount": 6 }),
    )
    .await;
    let december = ada
        .post(
            "/v1/rpc/get_workspace_monthly_usage",
            json!({ "month": "2026-12" }),
        )
        .await;
    assert_eq!(december.body["linkedin_actions"], 11, "{}", december.body);
    let november = ada
        .post(
            "/v1/rpc/get_workspace_monthly_usage",
            json!({ "month": "2026-11" }),
        )
        .await;
    assert_eq!(november.body["linkedin_actions"], 4);
    let bad = ada
        .post(
            "/v1/rpc/increment_workspace_usage",
            json!({ "field": "bitcoins" }),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, "invalid"));
}

#[tokio::test]
async fn ai_credits_and_outbound_email_stop_at_the_plan_limits() {
    let (_local, _clock, ada) = setup().await;
    let used = ada
        .post(
            "/v1/rpc/increment_ai_usage",
            json!({ "credits": 999, "tokens": 120000 }),
        )
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
    assert_eq!(used.body["credits_limit"], 1000);
    assert_eq!(
        ada.post("/v1/rpc/increment_ai_usage", json!({ "credits": 1 }))
            .await
            .status,
        200
    );
    let over = ada
        .post("/v1/rpc/increment_ai_usage", json!({ "credits": 1 }))
        .await;
    assert_eq!((over.status, over.code()), (429, "quota_exceeded"));

    let month = ada
        .post(
            "/v1/rpc/increment_outbound_usage",
            json!({ "channel": "email", "amount": 2000 }),
        )
        .await;
    assert_eq!(month.status, 200, "{}", month.body);
    assert_eq!(month.body["monthly"]["count"], 2000);
    let refused = ada
        .post(
            "/v1/rpc/increment_outbound_usage",
            json!({ "channel": "email" }),
        )
        .await;
    assert_eq!(refused.status, 429);
    let linkedin = ada
        .post(
            "/v1/rpc/increment_outbound_usage",
            json!({ "channel": "linkedin", "inbox_id": "li-1", "daily_limit": 1 }),
        )
        .await;
    assert_eq!(linkedin.status, 200);
    let linkedin_again = ada
        .post(
            "/v1/rpc/increment_outbound_usage",
            json!({ "channel": "linkedin", "inbox_id": "li-1", "daily_limit": 1 }),
        )
        .await;
    assert_eq!(linkedin_again.status, 429);
    // The refused daily increment gave its month back.
    let rows = ada.get("/v1/outbound_usage").await;
    let monthly = rows.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["channel"] == "linkedin" && r["period_type"] == "monthly")
        .unwrap()
        .clone();
    assert_eq!(monthly["count"], 1);
    assert_eq!(
        ada.post("/v1/rpc/no_such_rpc", json!({})).await.code(),
        "unknown_rpc"
    );
    assert_eq!(
        ada.post("/v1/rpc/increment_ai_usage", json!({ "credits": "many" }))
            .await
            .code(),
        "invalid_arguments"
    );
}
