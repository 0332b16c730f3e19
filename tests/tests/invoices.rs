//! Invoices to leads end to end over HTTP, with Stripe Connect played by the local fake:
//! connecting an account, a draft from a package, sending it (each Stripe create keyed by our
//! ids, a lost answer retried without a second invoice), the end states, and Connect events.

use std::sync::Arc;

use scaliyo_domain::ids::Role;
use scaliyo_store::{Clock, ManualClock};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::stripe_fake::{SECRET_KEY, StripeFake, WEBHOOK_SECRET};
use serde_json::{Value, json};

const CONNECT_SECRET: &str = "whsec_scaliyo_connect_fake";

async fn with_stripe() -> (RunningLocal, StripeFake, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("a time")
            .with_timezone(&chrono::Utc),
    ));
    let fake = StripeFake::start(scaliyo_stripe::DEFAULT_API_VERSION).await;
    let base = fake.base_url.clone();
    let local = RunningLocal::start_configured(clock.clone(), move |config| {
        config.stripe = Some(scaliyo_stripe::StripeConfig {
            secret_key: SECRET_KEY.into(),
            base_url: base,
            api_version: scaliyo_stripe::DEFAULT_API_VERSION.into(),
        });
        config.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
        config.stripe_connect_webhook_secret = Some(CONNECT_SECRET.into());
        config.app_url = "https://app.scaliyo.test".into();
    })
    .await;
    (local, fake, clock)
}

/// A lead, and a package of two items (3 × $25.00 and 1 × $9.99).
async fn lead_and_package(ada: &Client) -> (String, String) {
    let lead = ada
        .post("/v1/leads", json!({ "name": "Grace Hopper", "primary_email": "grace@navy.example", "company": "US Navy" }))
        .await;
    assert_eq!(lead.status, 201, "{:?}", lead.body);
    let package = ada
        .post("/v1/invoice_packages", json!({ "name": "Audit package" }))
        .await;
    assert_eq!(package.status, 201, "{:?}", package.body);
    let package_id = package.body["id"].as_str().unwrap_or_default().to_owned();
    for (description, quantity, unit) in [("Audit day", 3, 2_500), ("Report", 1, 999)] {
        let item = ada
            .post(
                "/v1/invoice_package_items",
                json!({ "package_id": package_id, "description": description, "quantity": quantity, "unit_price_cents": unit }),
            )
            .await;
        assert_eq!(item.status, 201, "{:?}", item.body);
    }
    (
        lead.body["id"].as_str().unwrap_or_default().to_owned(),
        package_id,
    )
}

async fn connected(ada: &Client, fake: &StripeFake) -> String {
    let connect = ada.post("/v1/billing/connect", json!({})).await;
    assert_eq!(connect.status, 200, "{:?}", connect.body);
    assert!(
        connect.body["onboarding_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://connect.stripe.test/"))
    );
    assert_eq!(connect.body["charges_enabled"], false);
    let account = fake.accounts().into_iter().next().expect("an account");
    fake.complete_onboarding(&account);
    let status = ada.get("/v1/billing/connect").await;
    assert_eq!(
        (
            status.body["connected"].as_bool(),
            status.body["charges_enabled"].as_bool()
        ),
        (Some(true), Some(true))
    );
    account
}

async fn deliver(local: &RunningLocal, body: &str, signature: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(local.url("/webhooks/stripe-connect"))
        .header("Stripe-Signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .expect("the local server answers");
    let status = response.status().as_u16();
    (
        status,
        response.json::<Value>().await.unwrap_or(Value::Null),
    )
}

fn connect_event(
    id: &str,
    event_type: &str,
    account: &str,
    object: Value,
    at: i64,
) -> (String, String) {
    let body = json!({ "id": id, "object": "event", "type": event_type, "account": account, "created": at, "data": { "object": object } }).to_string();
    let signature = scaliyo_domain::billing::sign(body.as_bytes(), CONNECT_SECRET, at);
    (body, signature)
}

#[tokio::test]
async fn a_package_becomes_a_draft_sent_once_through_connect_and_paid_by_its_event() {
    let (local, fake, clock) = with_stripe().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    let eve = Client::user(&local, Role::Client, Some("eve@example.com"));
    ada.sign_up().await;
    eve.sign_up().await;
    let (lead_id, package_id) = lead_and_package(&ada).await;

    // Another tenant cannot use the lead or the package, even knowing both ids.
    let foreign = eve
        .post(
            "/v1/invoices/from-package",
            json!({ "lead_id": lead_id, "package_id": package_id }),
        )
        .await;
    assert_eq!(foreign.status, 404, "{:?}", foreign.body);

    let draft = ada
        .post(
            "/v1/invoices/from-package",
            json!({ "lead_id": lead_id, "package_id": package_id }),
        )
        .await;
    assert_eq!(draft.status, 201, "{:?}", draft.body);
    assert_eq!(
        (
            draft.body["status"].as_str(),
            draft.body["total_cents"].as_i64()
        ),
        (Some("draft"), Some(8_499))
    );
    let amounts: Vec<i64> = draft.body["line_items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["amount_cents"].as_i64())
        .collect();
    assert_eq!(amounts.iter().sum::<i64>(), 8_499);
    let invoice_id = draft.body["id"].as_str().unwrap_or_default().to_owned();

    // Not connected and no sender: nothing can carry it; the draft stays a draft.
    let early = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert!(
        early.status >= 400 && early.status < 500,
        "{:?}",
        early.body
    );
    assert_eq!(
        ada.get(&format!("/v1/invoices/{invoice_id}")).await.body["status"],
        "draft"
    );
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|(what, _)| what.starts_with("POST /v1/invoices"))
            .count(),
        0
    );
    let account = connected(&ada, &fake).await;

    // The answer to the invoice's creation is lost: Stripe made it, we saw a 500.
    fake.fail_next("POST /v1/invoices", 500);
    let lost = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!(lost.status, 503, "{:?}", lost.body);
    // A lost answer to finalize, then the retry that goes through.
    fake.fail_next("/finalize", 500);
    let lost_again = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!(lost_again.status, 503, "{:?}", lost_again.body);
    let sent = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(sent.body["status"], "open");
    assert_eq!(sent.body["sent_via"], "stripe");
    assert!(
        sent.body["invoice_number"]
            .as_str()
            .is_some_and(|n| n.starts_with("FAKE-"))
    );
    assert!(sent.body["stripe_hosted_url"].as_str().is_some());
    assert!(sent.body["stripe_pdf_url"].as_str().is_some());
    assert!(sent.body["sent_at"].as_str().is_some());

    // One customer and one invoice at Stripe, its lines once, in the user's own account.
    assert_eq!(fake.customers_of(&account), 1);
    let remote = fake.invoices_of(&account);
    assert_eq!(remote.len(), 1, "{remote:?}");
    assert_eq!(remote[0]["lines"]["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(remote[0]["total"], 8_499);
    assert_eq!(remote[0]["metadata"]["invoice_id"], invoice_id.as_str());
    assert_eq!(remote[0]["sent"], 1);
    let requests = fake.requests();
    let (_, form) = requests
        .iter()
        .find(|(what, _)| what == "POST /v1/invoices")
        .expect("an invoice");
    assert!(form.contains(&("collection_method".into(), "send_invoice".into())));
    assert!(form.contains(&("days_until_due".into(), "30".into())));
    let (_, lines) = requests
        .iter()
        .find(|(what, _)| what.ends_with("/add_lines"))
        .expect("lines");
    // Each package item became one line with its quantity and unit price.
    let value = |key: String| {
        lines
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    };
    let audit = (0..2)
        .find(|i| value(format!("lines[{i}][description]")) == Some("Audit day"))
        .expect("the audit line");
    assert_eq!(
        value(format!("lines[{audit}][quantity]")),
        Some("3"),
        "{lines:?}"
    );
    assert_eq!(
        value(format!("lines[{audit}][price_data][unit_amount]")),
        Some("2500")
    );
    assert_eq!(
        value(format!("lines[{audit}][price_data][currency]")),
        Some("usd")
    );

    // Sending again is refused; the state is the invoice's.
    let twice = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!((twice.status, twice.code()), (409, "wrong_state"));

    // The lead pays on Stripe's page; the Connect event marks it paid (once).
    let remote_id = remote[0]["id"].as_str().unwrap_or_default().to_owned();
    let paid = fake.pay(&account, &remote_id, clock.now().timestamp());
    let now = clock.now().timestamp();
    let (foreign_body, foreign_sig) = connect_event(
        "evt_foreign",
        "invoice.paid",
        "acct_someone_else",
        paid.clone(),
        now,
    );
    assert_eq!(
        deliver(&local, &foreign_body, &foreign_sig).await.1["result"],
        "ignored"
    );
    assert_eq!(
        ada.get(&format!("/v1/invoices/{invoice_id}")).await.body["status"],
        "open"
    );
    let (body, signature) = connect_event("evt_paid", "invoice.paid", &account, paid, now);
    let (status, answer) = deliver(&local, &body, &signature).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("applied")),
        "{answer:?}"
    );
    assert_eq!(
        deliver(&local, &body, &signature).await.1["result"],
        "duplicate"
    );
    let stored = ada.get(&format!("/v1/invoices/{invoice_id}")).await;
    assert_eq!(stored.body["status"], "paid");
    assert!(stored.body["paid_at"].as_str().is_some());
    // A forged signature changes nothing.
    let (status, answer) =
        deliver(&local, &body.replace("evt_paid", "evt_other"), &signature).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("bad_signature"))
    );
}

#[tokio::test]
async fn an_open_invoice_is_voided_or_marked_paid_by_hand_and_totals_are_never_the_clients() {
    let (local, fake, _clock) = with_stripe().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;
    let (lead_id, _) = lead_and_package(&ada).await;
    let account = connected(&ada, &fake).await;
    // A draft written by the client with a wrong amount and total.
    let invoice = ada
        .post(
            "/v1/invoices",
            json!({ "lead_id": lead_id, "total_cents": 1, "subtotal_cents": 1 }),
        )
        .await;
    assert_eq!(invoice.status, 201, "{:?}", invoice.body);
    let invoice_id = invoice.body["id"].as_str().unwrap_or_default().to_owned();
    let line = ada
        .post("/v1/invoice_line_items", json!({ "invoice_id": invoice_id, "description": "Consulting", "quantity": 2, "unit_price_cents": 10_000, "amount_cents": 5 }))
        .await;
    assert_eq!(line.status, 201, "{:?}", line.body);
    // Void before sending: only an open invoice can be voided.
    let early = ada
        .post(&format!("/v1/invoices/{invoice_id}/void"), json!({}))
        .await;
    assert_eq!((early.status, early.code()), (409, "wrong_state"));
    let sent = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(
        (
            sent.body["subtotal_cents"].as_i64(),
            sent.body["total_cents"].as_i64()
        ),
        (Some(20_000), Some(20_000))
    );
    let lines = ada
        .get(&format!("/v1/invoice_line_items?invoice_id={invoice_id}"))
        .await;
    assert_eq!(
        lines.body["data"][0]["amount_cents"], 20_000,
        "{:?}",
        lines.body
    );
    assert_eq!(fake.invoices_of(&account)[0]["total"], 20_000);

    let voided = ada
        .post(&format!("/v1/invoices/{invoice_id}/void"), json!({}))
        .await;
    assert_eq!(
        (voided.status, voided.body["status"].as_str()),
        (200, Some("void")),
        "{:?}",
        voided.body
    );
    assert_eq!(fake.invoices_of(&account)[0]["status"], "void");
    let paid = ada
        .post(&format!("/v1/invoices/{invoice_id}/mark-paid"), json!({}))
        .await;
    assert_eq!((paid.status, paid.code()), (409, "wrong_state"));
}

#[tokio::test]
async fn without_stripe_invoicing_answers_501() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    ada.sign_up().await;
    let connect = ada.post("/v1/billing/connect", json!({})).await;
    assert_eq!(
        (connect.status, connect.code()),
        (501, "billing_not_configured")
    );
    let status = ada.get("/v1/billing/connect").await;
    assert_eq!(
        (status.status, status.body["connected"].as_bool()),
        (200, Some(false))
    );
}

#[tokio::test]
async fn without_a_connected_account_the_invoice_is_emailed_once_through_the_users_sender() {
    let (local, fake, _clock) = with_stripe().await;
    let ada = Client::user(&local, Role::Client, Some("ada@example.com"));
    ada.sign_up().await;
    let sender = ada
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.k", "is_default": true }),
        )
        .await;
    assert_eq!(sender.status, 201, "{:?}", sender.body);
    let (lead_id, package_id) = lead_and_package(&ada).await;
    let draft = ada
        .post(
            "/v1/invoices/from-package",
            json!({ "lead_id": lead_id, "package_id": package_id }),
        )
        .await;
    let invoice_id = draft.body["id"].as_str().unwrap_or_default().to_owned();
    let sent = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(
        (sent.body["status"].as_str(), sent.body["sent_via"].as_str()),
        (Some("open"), Some("email"))
    );
    assert!(sent.body["stripe_invoice_id"].is_null());
    let outbox: Vec<_> = std::fs::read_dir(local.system.outbox.dir())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let eml = std::fs::read(&outbox[0]).expect("the e-mail");
    let message = mailparse::parse_mail(&eml).expect("a MIME message");
    assert!(
        message
            .headers
            .iter()
            .any(|h| h.get_key() == "Subject" && h.get_value().contains("84.99 USD"))
    );
    assert!(
        message
            .headers
            .iter()
            .any(|h| h.get_key() == "To" && h.get_value().contains("grace@navy.example"))
    );
    let html = message
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/html")
        .and_then(|p| p.get_body().ok())
        .unwrap_or_default();
    assert!(
        html.contains("Audit day") && html.contains("25.00 USD") && html.contains("84.99 USD"),
        "{html}"
    );
    // Once only: a second send is refused and mails nothing.
    let twice = ada
        .post(&format!("/v1/invoices/{invoice_id}/send"), json!({}))
        .await;
    assert_eq!((twice.status, twice.code()), (409, "wrong_state"));
    assert_eq!(
        std::fs::read_dir(local.system.outbox.dir())
            .map(|d| d.count())
            .unwrap_or(0),
        1
    );
    assert!(fake.invoices_of("acct_test_1").is_empty());
}
