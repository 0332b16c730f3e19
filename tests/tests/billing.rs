//! Billing end to end over HTTP, with Stripe played by a local fake that checks each request
//! the way Stripe does: checkout, signed webhook events in a shuffled order and twice, the
//! success page's sync, the portal, a cancellation, and refused signatures.

use std::sync::Arc;

use scaliyo_domain::ids::Role;
use scaliyo_store::{Clock, ManualClock};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::stripe_fake::{SECRET_KEY, StripeFake, WEBHOOK_SECRET, signed_event};
use serde_json::{Value, json};

async fn with_stripe(clock: Arc<dyn Clock>) -> (RunningLocal, StripeFake) {
    let fake = StripeFake::start(scaliyo_stripe::DEFAULT_API_VERSION).await;
    let base = fake.base_url.clone();
    let local = RunningLocal::start_configured(clock, move |config| {
        config.stripe = Some(scaliyo_stripe::StripeConfig {
            secret_key: SECRET_KEY.into(),
            base_url: base,
            api_version: scaliyo_stripe::DEFAULT_API_VERSION.into(),
        });
        config.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
        config.app_url = "https://app.scaliyo.test".into();
    })
    .await;
    (local, fake)
}

/// Posts a signed event as Stripe would: the raw body and its `Stripe-Signature`.
async fn deliver(local: &RunningLocal, body: &str, signature: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(local.url("/webhooks/stripe"))
        .header("Stripe-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("the local server answers");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn clock_at(at: &str) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339(at)
            .expect("a time")
            .with_timezone(&chrono::Utc),
    ))
}

#[tokio::test]
async fn without_stripe_billing_answers_501_and_events_are_refused() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;
    let checkout = ada
        .post("/v1/billing/checkout", json!({ "plan": "Growth" }))
        .await;
    assert_eq!(
        (checkout.status, checkout.code()),
        (501, "billing_not_configured")
    );
    let summary = ada.get("/v1/billing").await;
    assert_eq!(summary.status, 200, "{:?}", summary.body);
    assert_eq!(summary.body["plan"], "Starter");
    assert_eq!(summary.body["billing_enabled"], false);
    assert_eq!(summary.body["limits"]["contacts"], 1_000);
    // Fail closed: without the endpoint secret no event is believed, however it is signed.
    let (body, signature) = signed_event(
        "evt_1",
        "invoice.paid",
        json!({}),
        chrono::Utc::now().timestamp(),
    );
    let (status, answer) = deliver(&local, &body, &signature).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (501, Some("billing_not_configured"))
    );
}

#[tokio::test]
async fn checkout_and_shuffled_repeated_events_make_the_user_growth_then_cancel_returns_starter() {
    let clock = clock_at("2026-12-01T10:00:00Z");
    let (local, fake) = with_stripe(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;

    // Checkout: Stripe gets the plan's price by lookup key and the user on every object.
    let link = ada
        .post("/v1/billing/checkout", json!({ "plan": "Growth" }))
        .await;
    assert_eq!(link.status, 200, "{:?}", link.body);
    assert_eq!(link.body["kind"], "checkout");
    let session_id = link.body["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let requests = fake.requests();
    let (_, lookup) = &requests[0];
    assert!(
        lookup.contains(&("lookup_keys[]".into(), "scaliyo_growth".into())),
        "{lookup:?}"
    );
    let (_, form) = requests
        .iter()
        .find(|(what, _)| what == "POST /v1/checkout/sessions")
        .expect("a session");
    let value = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(value("mode").as_deref(), Some("subscription"));
    assert_eq!(
        value("line_items[0][price]").as_deref(),
        Some("price_growth")
    );
    assert_eq!(value("line_items[0][quantity]").as_deref(), Some("1"));
    for key in [
        "client_reference_id",
        "metadata[user_id]",
        "subscription_data[metadata][user_id]",
    ] {
        assert_eq!(value(key).as_deref(), Some(ada.id()), "{key}");
    }
    assert_eq!(value("customer_email").as_deref(), Some("ada@example.com"));
    assert_eq!(
        value("success_url").as_deref(),
        Some("https://app.scaliyo.test/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}")
    );

    // The customer pays; Stripe's events arrive out of order and twice.
    let period_end = clock.now().timestamp() + 30 * 86_400;
    let subscription = fake.complete_checkout(&session_id, period_end);
    let now = clock.now().timestamp();
    let session_object = fake.session(&session_id);
    let subscription_object = fake.subscription_object(&subscription.id);
    let invoice = json!({
        "id": "in_test_1", "object": "invoice", "customer": subscription.customer,
        "parent": { "subscription_details": { "subscription": subscription.id } },
        "lines": { "data": [{ "period": { "start": now, "end": period_end } }] },
    });
    // Credits used last period, to be reset by the paid invoice of the new one.
    let set_credits_used = |used: i64| {
        let rows = local.system.access.rows().clone();
        let id = ada.id().to_owned();
        async move {
            let mut patch = serde_json::Map::new();
            patch.insert("credits_used".into(), json!(used));
            rows.update(&scaliyo_domain::schema::PROFILES, Some(&id), &id, patch)
                .await
                .expect("the profile");
        }
    };
    set_credits_used(50).await;
    let events = [
        signed_event(
            "evt_updated",
            "customer.subscription.updated",
            subscription_object.clone(),
            now,
        ),
        signed_event("evt_paid", "invoice.paid", invoice.clone(), now),
        signed_event(
            "evt_completed",
            "checkout.session.completed",
            session_object.clone(),
            now,
        ),
        signed_event(
            "evt_created",
            "customer.subscription.created",
            subscription_object.clone(),
            now,
        ),
    ];
    for (body, signature) in events.iter().chain(events.iter().rev()) {
        let (status, answer) = deliver(&local, body, signature).await;
        assert_eq!(status, 200, "{answer:?}");
    }
    let (_, again) = deliver(&local, &events[1].0, &events[1].1).await;
    assert_eq!(again["result"], "duplicate");

    let summary = ada.get("/v1/billing").await;
    assert_eq!(summary.body["plan"], "Growth", "{:?}", summary.body);
    assert_eq!(summary.body["status"], "active");
    assert_eq!(summary.body["limits"]["contacts"], 10_000);
    assert!(
        summary.body["expires_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-12-31"))
    );
    let profile = ada.get(&format!("/v1/profiles/{}", ada.id())).await;
    assert_eq!(profile.body["plan"], "Growth");
    assert_eq!(
        profile.body["credits_used"], 0,
        "the paid period reset the credits"
    );
    // Another event of the same period (a retried payment's) resets nothing again.
    set_credits_used(30).await;
    let (body, signature) = signed_event("evt_paid_again", "invoice.paid", invoice.clone(), now);
    assert_eq!(deliver(&local, &body, &signature).await.0, 200);
    let profile = ada.get(&format!("/v1/profiles/{}", ada.id())).await;
    assert_eq!(profile.body["credits_used"], 30);
    // The client still cannot write its own subscription.
    let forged = ada
        .post(
            "/v1/subscriptions",
            json!({ "plan": "Scale", "status": "active" }),
        )
        .await;
    assert!(
        forged.status == 403 || forged.status == 409,
        "{:?}",
        forged.body
    );

    // With a live subscription, checkout sends the user to the portal instead of a second one.
    let again = ada
        .post("/v1/billing/checkout", json!({ "plan": "Scale" }))
        .await;
    assert_eq!(again.body["kind"], "portal", "{:?}", again.body);
    assert!(
        again.body["url"]
            .as_str()
            .is_some_and(|u| u.contains(&subscription.customer))
    );

    // A failed renewal keeps the plan while Stripe retries; the cancellation ends it.
    clock.advance(chrono::Duration::seconds(60));
    let past_due = fake.update_subscription(&subscription.id, |s| s.status = "past_due".into());
    let (body, signature) = signed_event(
        "evt_failed",
        "invoice.payment_failed",
        json!({ "subscription": past_due.id }),
        clock.now().timestamp(),
    );
    assert_eq!(deliver(&local, &body, &signature).await.0, 200);
    let summary = ada.get("/v1/billing").await;
    assert_eq!(
        (
            summary.body["status"].as_str(),
            summary.body["plan"].as_str()
        ),
        (Some("past_due"), Some("Growth"))
    );
    assert_eq!(
        ada.get(&format!("/v1/profiles/{}", ada.id())).await.body["plan"],
        "Growth"
    );
    clock.advance(chrono::Duration::seconds(60));
    fake.update_subscription(&subscription.id, |s| s.status = "canceled".into());
    let (body, signature) = signed_event(
        "evt_deleted",
        "customer.subscription.deleted",
        fake.subscription_object(&subscription.id),
        clock.now().timestamp(),
    );
    assert_eq!(deliver(&local, &body, &signature).await.0, 200);
    let summary = ada.get("/v1/billing").await;
    assert_eq!(
        (
            summary.body["status"].as_str(),
            summary.body["plan"].as_str()
        ),
        (Some("canceled"), Some("Starter"))
    );
    assert_eq!(
        ada.get(&format!("/v1/profiles/{}", ada.id())).await.body["plan"],
        "Starter"
    );
}

#[tokio::test]
async fn the_success_page_applies_the_checkout_and_only_for_its_user() {
    let clock = clock_at("2026-12-01T10:00:00Z");
    let (local, fake) = with_stripe(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    let eve = Client::user(&local, Role::Client, Some("eve@example.com"));
    ada.sign_up().await;
    eve.sign_up().await;
    let link = ada
        .post("/v1/billing/checkout", json!({ "plan": "Scale" }))
        .await;
    let session_id = link.body["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    fake.complete_checkout(&session_id, clock.now().timestamp() + 86_400);
    // Another user cannot claim the session.
    let stolen = eve.get(&format!("/v1/billing/checkout/{session_id}")).await;
    assert_eq!(stolen.status, 404, "{:?}", stolen.body);
    assert_eq!(eve.get("/v1/billing").await.body["plan"], "Starter");
    let confirmed = ada.get(&format!("/v1/billing/checkout/{session_id}")).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["plan"], "Scale");
    assert_eq!(confirmed.body["limits"]["ai_credits_per_month"], 20_000);
    // An unknown session is not found; a portal needs a customer.
    assert_eq!(
        ada.get("/v1/billing/checkout/cs_test_unknown").await.status,
        404
    );
    let portal = eve.post("/v1/billing/portal", json!({})).await;
    assert_eq!((portal.status, portal.code()), (409, "no_subscription"));
    let starter = ada
        .post("/v1/billing/checkout", json!({ "plan": "Starter" }))
        .await;
    assert_eq!((starter.status, starter.code()), (400, "invalid"));
}

#[tokio::test]
async fn a_bad_stale_or_unsigned_event_changes_nothing() {
    let clock = clock_at("2026-12-01T10:00:00Z");
    let (local, fake) = with_stripe(clock.clone()).await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;
    let link = ada
        .post("/v1/billing/checkout", json!({ "plan": "Growth" }))
        .await;
    let session_id = link.body["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let subscription = fake.complete_checkout(&session_id, clock.now().timestamp() + 86_400);
    let object = fake.subscription_object(&subscription.id);
    let now = clock.now().timestamp();
    let (body, good) = signed_event(
        "evt_x",
        "customer.subscription.updated",
        object.clone(),
        now,
    );
    let mutated = body.replace("evt_x", "evt_y");
    let (_, stale) = signed_event(
        "evt_x",
        "customer.subscription.updated",
        object.clone(),
        now - 301,
    );
    let v0_only = good.replace("v1=", "v0=");
    for (body, signature, why) in [
        (mutated.as_str(), good.as_str(), "a mutated body"),
        (body.as_str(), stale.as_str(), "a stale timestamp"),
        (body.as_str(), v0_only.as_str(), "v0 only"),
        (body.as_str(), "", "no signature"),
    ] {
        let (status, answer) = deliver(&local, body, signature).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("bad_signature")),
            "{why}: {answer:?}"
        );
    }
    assert_eq!(ada.get("/v1/billing").await.body["plan"], "Starter");
    // Two v1 signatures while the secret rolls: one valid is enough.
    let rolled = format!("{},v1={}", good, "0".repeat(64));
    let (status, _) = deliver(&local, &body, &rolled).await;
    assert_eq!(status, 200);
    assert_eq!(ada.get("/v1/billing").await.body["plan"], "Growth");
}

#[tokio::test]
async fn an_admin_sets_a_plan_by_hand_and_the_change_is_audited() {
    let local = RunningLocal::start().await;
    let admin = Client::user(&local, Role::Admin, Some("root@scaliyo.example"));
    admin.sign_up().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;
    // The user cannot; the admin can, and the limits follow.
    let own = ada
        .patch(
            &format!("/v1/profiles/{}", ada.id()),
            json!({ "plan": "Scale" }),
        )
        .await;
    assert_eq!(own.status, 403, "{:?}", own.body);
    let set = admin
        .post(
            "/v1/billing/plan",
            json!({ "user_id": ada.id(), "plan": "Growth" }),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let summary = ada.get("/v1/billing").await;
    assert_eq!(
        (
            summary.body["plan"].as_str(),
            summary.body["limits"]["contacts"].as_i64()
        ),
        (Some("Growth"), Some(10_000))
    );
    // One entry, naming the server-owned column only, with both values.
    let audit = admin.get("/v1/audit_logs").await;
    let entries: Vec<&Value> = audit.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "admin_update")
        .collect();
    assert_eq!(entries.len(), 1, "{:?}", audit.body);
    let details: Value =
        serde_json::from_str(entries[0]["details"].as_str().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(details["table"], "profiles");
    assert_eq!(details["row_id"], ada.id());
    assert_eq!(
        details["changes"],
        json!({ "plan": { "from": "Starter", "to": "Growth" } })
    );
    // The plan's AI credits come from its `plans` row once an admin sets them there.
    let plan_row = admin
        .post(
            "/v1/plans",
            json!({ "name": "Growth", "price": "$99", "credits": 7_500 }),
        )
        .await;
    assert_eq!(plan_row.status, 201, "{:?}", plan_row.body);
    let summary = ada.get("/v1/billing").await;
    assert_eq!(summary.body["limits"]["ai_credits_per_month"], 7_500);
    assert_eq!(summary.body["limits"]["contacts"], 10_000);
    // Only admins; a user cannot give themselves a plan this way either.
    let forged = ada
        .post(
            "/v1/billing/plan",
            json!({ "user_id": ada.id(), "plan": "Scale" }),
        )
        .await;
    assert_eq!(forged.status, 403, "{:?}", forged.body);
    let unknown = admin
        .post(
            "/v1/billing/plan",
            json!({ "user_id": ada.id(), "plan": "Platinum" }),
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (400, "invalid"));
    assert_eq!(
        admin.get("/v1/audit_logs").await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
