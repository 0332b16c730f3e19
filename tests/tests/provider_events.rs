//! Provider event webhooks over HTTP against the local system: a sender account's webhook URL,
//! SendGrid's ECDSA-signed batches and Mailchimp Transactional's HMAC-signed form posts,
//! recorded once each, with statuses, events and suppression; bad signatures write nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use p256::pkcs8::EncodePublicKey;
use scaliyo_domain::ids::Role;
use scaliyo_domain::provider_events::mandrill_signature;
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};

async fn send_one(ada: &Client, provider_body: Value, email: &str) -> (String, String) {
    let sender = ada.post("/v1/sender-accounts/connect", provider_body).await;
    assert_eq!(sender.status, 201, "{}", sender.body);
    let lead = ada
        .post(
            "/v1/leads",
            json!({ "name": "Grace", "primary_email": email }),
        )
        .await;
    let sent = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead.body["id"], "sender_account_id": sender.body["id"], "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    (
        sender.body["id"].as_str().unwrap().to_owned(),
        sent.body["message_id"].as_str().unwrap().to_owned(),
    )
}

async fn events_of(ada: &Client, message_id: &str) -> Vec<String> {
    let events = ada
        .get(&format!("/v1/email_events?message_id={message_id}"))
        .await;
    let mut types: Vec<String> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    types
}

#[tokio::test]
async fn signed_sendgrid_events_are_recorded_once_and_suppress_bounced_addresses() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    assert_eq!(ada.sign_up().await.status, 201);
    let (sender_id, message_id) = send_one(
        &ada,
        json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true }),
        "grace@navy.example",
    )
    .await;
    let signing = SigningKey::from_slice(&[11u8; 32]).unwrap();
    let public = STANDARD.encode(
        p256::PublicKey::from(signing.verifying_key())
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    );
    let hook = ada
        .post(
            &format!("/v1/sender-accounts/{sender_id}/event-webhook"),
            json!({ "verification_key": public }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let url = hook.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/webhooks/sendgrid/", local.base_url)));
    assert!(
        !hook.body.to_string().contains(&public),
        "the key is not echoed"
    );

    let body = json!([
        { "email": "grace@navy.example", "event": "delivered", "sg_event_id": "ev-delivered-1", "sg_message_id": "x.1", "scaliyo_message_id": message_id, "timestamp": 1798758000 },
        { "email": "GRACE@navy.example", "event": "bounce", "type": "bounce", "reason": "550 5.1.1 no such user", "sg_event_id": "ev-bounce-1", "scaliyo_message_id": message_id, "timestamp": 1798758060 },
        { "email": "grace@navy.example", "event": "open", "sg_event_id": "ev-open-1", "scaliyo_message_id": message_id }
    ])
    .to_string();
    // SendGrid signs its send time; the server accepts ten minutes either side of now.
    let now = chrono::Utc::now().timestamp().to_string();
    let timestamp = now.as_str();
    let sign = |body: &str, timestamp: &str| {
        let mut signed = timestamp.as_bytes().to_vec();
        signed.extend_from_slice(body.as_bytes());
        let signature: p256::ecdsa::Signature = signing.sign(&signed);
        STANDARD.encode(signature.to_der().as_bytes())
    };
    let http = reqwest::Client::new();
    let post = |signature: String, body: String| {
        http.post(&url)
            .header("content-type", "application/json")
            .header("x-twilio-email-event-webhook-signature", signature)
            .header("x-twilio-email-event-webhook-timestamp", timestamp)
            .body(body)
            .send()
    };

    // A forged batch (signed for another body) is refused and writes nothing.
    let forged = post(sign("[]", timestamp), body.clone()).await.unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        forged.json::<Value>().await.unwrap()["code"],
        "bad_signature"
    );
    assert!(events_of(&ada, &message_id).await.is_empty());

    let accepted = post(sign(&body, timestamp), body.clone()).await.unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.json::<Value>().await.unwrap()["recorded"], 2);
    assert_eq!(events_of(&ada, &message_id).await, ["bounced", "delivered"]);
    let message = ada.get(&format!("/v1/email_messages/{message_id}")).await;
    assert_eq!(message.body["status"], "bounced");

    // The same batch again changes nothing.
    let replay = post(sign(&body, timestamp), body.clone()).await.unwrap();
    assert_eq!(replay.json::<Value>().await.unwrap()["recorded"], 0);
    assert_eq!(events_of(&ada, &message_id).await.len(), 2);

    // A validly signed batch from an hour ago is a replay: refused, nothing recorded.
    let old = (chrono::Utc::now().timestamp() - 3600).to_string();
    let late = json!([{ "email": "grace@navy.example", "event": "spamreport", "sg_event_id": "ev-late-1", "scaliyo_message_id": message_id }]).to_string();
    let stale = http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-twilio-email-event-webhook-signature", sign(&late, &old))
        .header("x-twilio-email-event-webhook-timestamp", old.as_str())
        .body(late.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    assert_eq!(
        stale.json::<Value>().await.unwrap()["code"],
        "stale_timestamp"
    );
    assert_eq!(events_of(&ada, &message_id).await.len(), 2);

    // The hard bounce suppressed the address: send-email refuses it now.
    let lead = ada.get("/v1/leads").await.body["data"][0]["id"].clone();
    let again = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "suppressed");

    // Unknown webhooks are not found; another user cannot create one on ada's sender.
    let unknown = http
        .post(format!(
            "{}/webhooks/sendgrid/AAAAAAAAAAAAAAAAAAAAAAAA",
            local.base_url
        ))
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let eve = Client::user(&local, Role::Client, None);
    assert_eq!(eve.sign_up().await.status, 201);
    let stolen = eve
        .post(
            &format!("/v1/sender-accounts/{sender_id}/event-webhook"),
            json!({ "verification_key": public }),
        )
        .await;
    assert_eq!(stolen.status, 404);
}

#[tokio::test]
async fn signed_mailchimp_events_are_recorded_and_a_spam_report_suppresses() {
    let local = RunningLocal::start().await;
    let ada = Client::user(&local, Role::Client, None);
    assert_eq!(ada.sign_up().await.status, 201);
    let (sender_id, message_id) = send_one(
        &ada,
        json!({ "provider": "mailchimp", "from_email": "ada@mail.example", "api_key": "md-x", "is_default": true }),
        "alan@bletchley.example",
    )
    .await;
    let hook = ada
        .post(
            &format!("/v1/sender-accounts/{sender_id}/event-webhook"),
            json!({ "verification_key": "mandrill-webhook-key" }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let url = hook.body["url"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    // Mandrill checks the URL with a HEAD request when the webhook is added.
    assert_eq!(http.head(&url).send().await.unwrap().status(), 200);

    let events = json!([
        { "event": "send", "ts": 1798758000, "_id": "md1", "msg": { "_id": "md1", "email": "alan@bletchley.example", "metadata": { "scaliyo_message_id": message_id } } },
        { "event": "spam", "ts": 1798758100, "_id": "md1", "msg": { "_id": "md1", "email": "alan@bletchley.example", "metadata": { "scaliyo_message_id": message_id } } }
    ])
    .to_string();
    let params = vec![("mandrill_events".to_owned(), events.clone())];
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("mandrill_events", &events)
        .finish();
    let post = |signature: String| {
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-mandrill-signature", signature)
            .body(form.clone())
            .send()
    };
    let bad = post(mandrill_signature("wrong-key", &url, &params))
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(events_of(&ada, &message_id).await.is_empty());
    let good = post(mandrill_signature("mandrill-webhook-key", &url, &params))
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(good.json::<Value>().await.unwrap()["recorded"], 2);
    assert_eq!(
        events_of(&ada, &message_id).await,
        ["delivered", "spam_report"]
    );
    let message = ada.get(&format!("/v1/email_messages/{message_id}")).await;
    assert_eq!(message.body["status"], "delivered");
    let again = post(mandrill_signature("mandrill-webhook-key", &url, &params))
        .await
        .unwrap();
    assert_eq!(again.json::<Value>().await.unwrap()["recorded"], 0);
    let lead = ada.get("/v1/leads").await.body["data"][0]["id"].clone();
    let refused = ada
        .post(
            "/v1/send-email",
            json!({ "lead_id": lead, "subject": "Hi", "html_body": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(refused.code(), "suppressed");
}
