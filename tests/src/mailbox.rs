//! A workspace that sends e-mail through the local outbox, and the tracked URLs in what the
//! recipient got — the set-up of every tracking and webhook test.

use serde_json::{Value, json};

use crate::http_client::Client;
use crate::local_server::RunningLocal;

/// The quoted URLs of `html` that contain `marker` (`/t/o/`, `/t/c/`, `/u/`), in order.
pub fn urls(html: &str, marker: &str) -> Vec<String> {
    html.match_indices(marker)
        .map(|(at, _)| {
            let start = html[..at].rfind('"').map(|q| q + 1).unwrap_or(at);
            let end = html[at..].find('"').map(|q| at + q).unwrap_or(html.len());
            html[start..end].to_owned()
        })
        .collect()
}

/// Connects a SendGrid sender (the outbox locally) and creates the lead Grace; the lead's id.
pub async fn sender_and_lead(client: &Client) -> String {
    client
        .post(
            "/v1/sender-accounts/connect",
            json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "k", "metadata": { "daily_limit": 1000000 } }),
        )
        .await;
    let lead = client
        .post(
            "/v1/leads",
            json!({ "name": "Grace", "primary_email": "grace@navy.example" }),
        )
        .await;
    lead.body["id"].as_str().unwrap_or_default().to_owned()
}

/// What the recipient got.
pub struct Received {
    pub message_id: String,
    pub html: String,
    pub text: String,
}

/// Sends to the lead with `fields` (`subject`, `html_body`, options) and reads the message
/// back from the outbox.
pub async fn send(local: &RunningLocal, client: &Client, lead_id: &str, fields: Value) -> Received {
    let mut body = json!({ "lead_id": lead_id });
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
        body.extend(fields);
    }
    let sent = client.post("/v1/send-email", body).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let message_id = sent.body["message_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let eml = std::fs::read(local.system.outbox.dir().join(format!("{message_id}.eml")))
        .expect("the sent message in the outbox");
    let parsed = mailparse::parse_mail(&eml).expect("a MIME message");
    let text = parsed.subparts[0].get_body().expect("the text part");
    let html = parsed.subparts[1].get_body().expect("the HTML part");
    Received {
        message_id,
        html,
        text,
    }
}

/// A signed-up workspace with a sender and a lead, and one e-mail sent to the lead: the
/// client, the message id and the HTML as the recipient got it.
pub async fn sent_message(local: &RunningLocal, html_body: &str) -> (Client, String, String) {
    let ada = Client::user(local, scaliyo_domain::ids::Role::Client, None);
    ada.sign_up().await;
    let lead = sender_and_lead(&ada).await;
    let received = send(
        local,
        &ada,
        &lead,
        json!({ "subject": "Hi", "html_body": html_body }),
    )
    .await;
    (ada, received.message_id, received.html)
}

/// Every message in the local outbox as (subject, HTML part), in no particular order.
pub fn outbox_messages(local: &RunningLocal) -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir(local.system.outbox.dir()) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter_map(|eml| {
            let parsed = mailparse::parse_mail(&eml).ok()?;
            let subject = parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case("subject"))?
                .get_value();
            let html = parsed.subparts.get(1)?.get_body().ok()?;
            Some((subject, html))
        })
        .collect()
}
