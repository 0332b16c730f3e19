//! Lambda `poll-replies`: reply detection's tick. EventBridge `rate(2 minutes)` → the
//! mailboxes whose time has come (or whose claim ran out: a crashed poll) are claimed with a
//! lease, read (IMAP, the Gmail API) with bounded concurrency, and what they hold is recorded
//! and acted on (docs/replies.md). Inbound parse posts arrive through track-click instead.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::access::Access;
use scaliyo_app::replies::{MailboxAccess, Replies};
use scaliyo_app::send::SenderAccounts;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::WorkflowFeed;
use scaliyo_aws::{DynamoTable, KmsSealer};
use scaliyo_store::{Inboxes, Mailers, Queue, Sealer, SystemClock};
use serde_json::Value;

async fn handle(replies: &Replies, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let tick: EventBridgeEvent<Value> = serde_json::from_value(event.payload)?;
    tracing::info!(time = ?tick.time, "tick");
    let report = replies.tick().await?;
    Ok(serde_json::to_value(report)?)
}

/// The queues replies are told on: the owners' webhooks and the workflow engine.
struct Queues {
    webhooks: Option<Arc<dyn Queue>>,
    workflows: Option<Arc<dyn Queue>>,
}

fn replies(
    table: DynamoTable,
    queues: Queues,
    sealer: Arc<dyn Sealer>,
    mailers: Mailers,
    inboxes: Inboxes,
) -> Replies {
    let clock = Arc::new(SystemClock);
    let access = Access::over(Arc::new(table), clock.clone());
    let feed = WorkflowFeed::for_lambda(access.rows().clone(), queues.workflows, clock.clone());
    let webhooks =
        WebhookEmitter::for_lambda(access.rows().clone(), queues.webhooks, clock.clone())
            .map(|w| w.with_workflow_feed(feed));
    let access = Arc::new(access.with_webhooks(webhooks.clone()));
    let senders = SenderAccounts::new(access.clone(), sealer.clone(), mailers);
    // Inbound URLs are made by the api function; the base is not needed here.
    Replies::new(access, clock, webhooks, "")
        .with_mailboxes(MailboxAccess {
            senders,
            sealer,
            inboxes,
        })
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "poll-replies",
        )))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("poll-replies");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let config = scaliyo_aws::load_config().await;
    let replies = replies(
        DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name),
        Queues {
            webhooks: scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
            workflows: scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", &config),
        },
        Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id)),
        scaliyo_mail::mailers_from_env(),
        scaliyo_mail::inboxes_from_env(),
    );
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "poll-replies",
        service_fn(|event| handle(&replies, event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_app::access::Actor;
    use scaliyo_embedded::LocalSealer;
    use serde_json::json;

    /// On DynamoDB Local and a real Dovecot: a sender's mailbox turned on, an e-mail sent, the
    /// lead's reply delivered into the mailbox, and the real-shaped EventBridge event handed
    /// to the function: the reply is recorded and listed.
    #[tokio::test]
    async fn the_tick_reads_a_mailbox_on_the_emulators() {
        let (Some(dynamo), Some((host, port))) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::imap(),
        ) else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&dynamo);
        let name = scaliyo_tests::emulators::unique_name("replies");
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("create table");
        let table = DynamoTable::new(client, name);
        let outbox = tempfile_dir();
        let mailers = Mailers::all(Arc::new(scaliyo_mail::OutboxMailer::new(outbox.clone())));
        let sealer: Arc<dyn Sealer> = Arc::new(LocalSealer::new(&[9u8; 32]).expect("a sealer"));
        let inboxes = Inboxes {
            imap: Arc::new(scaliyo_mail::inbox::ImapInbox::allowing_private()),
            gmail: Arc::new(scaliyo_mail::inbox::GmailInbox::new(
                "http://127.0.0.1:9",
                scaliyo_mail::google_oauth::GoogleOAuth::new(
                    "http://127.0.0.1:9",
                    "",
                    "",
                    scaliyo_mail::http_client(),
                ),
                scaliyo_mail::http_client(),
            )),
        };
        // Read again at every tick (in AWS: two minutes after the last read).
        let replies = replies(
            table.clone(),
            Queues {
                webhooks: None,
                workflows: None,
            },
            sealer.clone(),
            mailers.clone(),
            inboxes,
        )
        .with_config(scaliyo_app::replies::RepliesConfig {
            poll_every: chrono::Duration::zero(),
            ..Default::default()
        });

        let clock = Arc::new(SystemClock);
        let access = Arc::new(Access::over(Arc::new(table.clone()), clock.clone()));
        let owner = scaliyo_domain::ids::OwnerId::new_random();
        let actor = Actor::acting_for(owner);
        let row = |value: Value| value.as_object().cloned().unwrap_or_default();
        access
            .create(
                &actor,
                "profiles",
                row(json!({ "id": owner, "email": "ada@example.com" })),
            )
            .await
            .expect("a profile");
        let user = format!("u{}", uuid_text());
        let pipeline = scaliyo_app::send::SendPipeline::new(
            access.clone(),
            sealer,
            mailers,
            clock,
            scaliyo_app::send::SendConfig::new("https://t.example"),
        );
        let sender = pipeline
            .senders()
            .connect(
                &actor,
                serde_json::from_value(json!({ "provider": "smtp", "from_email": "ada@mail.example", "is_default": true,
                    "smtp": { "host": "127.0.0.1", "port": 2525, "username": user, "password": scaliyo_tests::emulators::IMAP_PASSWORD, "security": "none" } }))
                .expect("a connect request"),
            )
            .await
            .expect("a sender");
        let sender_id = sender["id"].as_str().expect("an id").to_owned();
        replies
            .enable(
                &actor,
                &sender_id,
                serde_json::from_value(
                    json!({ "imap": { "host": host, "port": port, "security": "none" } }),
                )
                .expect("a request"),
            )
            .await
            .expect("reply detection on");
        let lead = access
            .create(
                &actor,
                "leads",
                row(json!({ "name": "Grace", "primary_email": "grace@navy.example" })),
            )
            .await
            .expect("a lead");
        let lead_id = lead["id"].as_str().expect("an id").to_owned();
        let sent = pipeline
            .send(
                &actor,
                serde_json::from_value(
                    json!({ "lead_id": lead_id, "subject": "Hello", "html_body": "<p>Hi</p>" }),
                )
                .expect("a send"),
                None,
            )
            .await
            .expect("sent");
        let raw = format!(
            "From: grace@navy.example\r\nSubject: Re: Hello\r\nMessage-ID: <r-{}@navy.example>\r\nIn-Reply-To: <{}@mail.example>\r\n\r\nYes please.\r\n",
            uuid_text(),
            sent.message_id
        );
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .expect("connect");
        let mut imap = async_imap::Client::new(tcp);
        imap.read_response().await.expect("greeting");
        let mut session = imap
            .login(&user, scaliyo_tests::emulators::IMAP_PASSWORD)
            .await
            .map_err(|e| e.0)
            .expect("login");
        session
            .append("INBOX", None, None, raw.as_bytes())
            .await
            .expect("append");
        session.logout().await.expect("logout");

        let event: Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-poll-replies.json"
        ))
        .expect("event");
        let report = handle(
            &replies,
            LambdaEvent::new(event.clone(), lambda_runtime::Context::default()),
        )
        .await
        .expect("tick");
        assert_eq!(
            (report["claimed"].as_u64(), report["replies"].as_u64()),
            (Some(1), Some(1)),
            "{report}"
        );
        let listed = replies.of_lead(&actor, &lead_id).await.expect("listed");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].snippet, "Yes please.");
        // The next tick finds nothing new.
        let again = handle(
            &replies,
            LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
        .await
        .expect("tick");
        assert_eq!(again["messages"], 0, "{again}");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("poll-replies-{}", uuid_text()));
        std::fs::create_dir_all(&dir).expect("a directory");
        dir
    }

    fn uuid_text() -> String {
        format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        )
    }
}
