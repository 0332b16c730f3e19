//! Lambda `process-scheduled-emails`: two triggers, one function.
//!
//! - EventBridge `rate(1 minute)` → the tick: recover expired leases, claim due rows through
//!   the sharded due-index, enqueue the claims on SQS.
//! - SQS (the same queue, batch size 10, `ReportBatchItemFailures`) → the consumer: send each
//!   claimed row through the shared send pipeline; failed records are reported one by one so
//!   only they come back, and after `maxReceiveCount` they land in the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::access::Access;
use scaliyo_app::email_queue::{EmailQueueConsumer, EmailQueueError};
use scaliyo_app::invites::{Invitations, InviteLetters, InvitesConfig};
use scaliyo_app::ops::FailureNotes;
use scaliyo_app::scheduler::{Scheduler, SchedulerConfig};
use scaliyo_app::send::{SendConfig, SendPipeline, SystemSender};
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_aws::{DynamoTable, KmsSealer, SqsQueue};
use scaliyo_store::{FailureLog, Mailers, Queue, Sealer, SystemClock};
use serde_json::Value;

/// Records of one batch worked on at once (the batch is at most 10).
const RECORD_CONCURRENCY: usize = 10;

async fn handle(
    scheduler: &Scheduler,
    consumer: &EmailQueueConsumer,
    failures: &dyn FailureLog,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let payload = event.payload;
    if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload)?;
        let response = consume(consumer, failures, batch).await;
        return Ok(serde_json::to_value(response)?);
    }
    let tick: EventBridgeEvent<Value> = serde_json::from_value(payload)?;
    tracing::info!(time = ?tick.time, "tick");
    let report = scheduler.tick().await?;
    Ok(serde_json::to_value(report)?)
}

/// A claimed scheduled row to send, or an invitation e-mail to deliver.
async fn consume(
    consumer: &EmailQueueConsumer,
    failures: &dyn FailureLog,
    batch: SqsEvent,
) -> SqsBatchResponse {
    scaliyo_lambda::sqs::handle_batch(batch, RECORD_CONCURRENCY, failures, |body| async move {
        consumer.process(&body).await?;
        tracing::info!("record handled");
        Ok::<(), EmailQueueError>(())
    })
    .await
}

/// The deployment's own sender for notices of workspaces without one (`SYSTEM_MAIL_FROM`
/// through SendGrid with `SYSTEM_SENDGRID_API_KEY`); none when either is unset.
fn system_sender(mailers: &Mailers) -> Option<SystemSender> {
    let from = std::env::var("SYSTEM_MAIL_FROM")
        .ok()
        .filter(|f| f.contains('@'))?;
    let key = std::env::var("SYSTEM_SENDGRID_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())?;
    Some(SystemSender {
        mailer: mailers.sendgrid.clone(),
        credentials: scaliyo_store::Credentials::ApiKey(key),
        from_email: from,
        from_name: "Scaliyo".to_owned(),
    })
}

/// What the function is made of: the scheduler (the tick) and the queue's consumer.
struct Wired {
    scheduler: Arc<Scheduler>,
    consumer: EmailQueueConsumer,
}

fn wire(
    table: DynamoTable,
    queue: Arc<dyn Queue>,
    sealer: Arc<dyn Sealer>,
    // The providers, and the deployment's own sender for notices of workspaces without one.
    (mailers, system): (Mailers, Option<SystemSender>),
    tracking_base_url: String,
    webhooks: Option<Arc<dyn Queue>>,
    app_url: &str,
) -> Wired {
    let clock = Arc::new(SystemClock);
    let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
    let webhooks = WebhookEmitter::for_lambda(access.rows().clone(), webhooks, clock.clone());
    let metrics: Arc<dyn scaliyo_store::Metrics> = Arc::new(
        scaliyo_lambda::metrics::EmfMetrics::new("process-scheduled-emails"),
    );
    let send = Arc::new(
        SendPipeline::new(
            access.clone(),
            sealer,
            mailers,
            clock.clone(),
            // Links signed as track-click opens them (LINK_SIGNING_KEY).
            SendConfig::new(tracking_base_url).with_link_key(scaliyo_lambda::env::link_key()),
        )
        .with_webhooks(webhooks)
        .with_metrics(metrics.clone())
        .with_system_sender(system),
    );
    let letters = InviteLetters::new(access.rows().store().clone(), queue.clone(), clock.clone());
    let invitations = Arc::new(
        Invitations::new(
            access.clone(),
            clock.clone(),
            letters,
            InvitesConfig {
                accept_url: format!("{}/invites", app_url.trim_end_matches('/')),
            },
        )
        .with_send(send.clone()),
    );
    let scheduler = Arc::new(
        Scheduler::new(access, send, queue, clock, SchedulerConfig::default())
            .with_metrics(metrics),
    );
    Wired {
        consumer: EmailQueueConsumer::new(scheduler.clone(), invitations),
        scheduler,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("process-scheduled-emails");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let queue_url = scaliyo_lambda::env::required("SCHEDULED_EMAIL_QUEUE_URL")?;
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let tracking = scaliyo_lambda::env::required("TRACKING_BASE_URL")?;
    let config = scaliyo_aws::load_config().await;
    let app_url = std::env::var("APP_URL").unwrap_or_default();
    let mailers = scaliyo_mail::mailers_from_env();
    let system = system_sender(&mailers);
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let failures = FailureNotes::new(
        Arc::new(table.clone()),
        Arc::new(SystemClock),
        scaliyo_lambda::env::function_name("process-scheduled-emails"),
    );
    let wired = wire(
        table,
        Arc::new(SqsQueue::new(scaliyo_aws::sqs_client(&config), queue_url)),
        Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id)),
        (mailers, system),
        tracking,
        scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
        &app_url,
    );
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "process-scheduled-emails",
        service_fn(|event| handle(&wired.scheduler, &wired.consumer, &failures, event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_app::access::Actor;
    use scaliyo_app::scheduler::ScheduleOneRequest;
    use scaliyo_embedded::LocalSealer;
    use serde_json::json;
    use std::time::Duration;

    /// The real-shaped EventBridge event ticks on DynamoDB Local and enqueues on moto's SQS;
    /// the SQS batch built from what arrived sends the row; a poison record is reported alone.
    #[tokio::test]
    async fn a_tick_and_an_sqs_batch_send_a_due_row_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "sched").await;
        let url = scaliyo_tests::emulators::new_queue(&moto, "scheduled-emails").await;
        let queue = Arc::new(SqsQueue::new(scaliyo_aws::sqs_client(&moto), url));
        let outbox = tempfile::tempdir().expect("outbox");
        let mailer = Arc::new(scaliyo_mail::OutboxMailer::new(outbox.path().to_path_buf()));
        let sealer: Arc<dyn Sealer> = Arc::new(LocalSealer::new(&[7u8; 32]).expect("a sealer"));
        let wired = wire(
            table.clone(),
            queue.clone(),
            sealer.clone(),
            (Mailers::all(mailer), None),
            "https://t.example".into(),
            None,
            "https://app.example",
        );

        // A workspace with a sender, a lead and one e-mail due a minute ago.
        let clock = Arc::new(SystemClock);
        let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
        let owner = uuid_v4();
        let actor = Actor::acting_for(owner.parse().expect("a user id"));
        let pipeline = SendPipeline::new(
            access.clone(),
            sealer,
            Mailers::all(Arc::new(scaliyo_mail::OutboxMailer::new(
                outbox.path().to_path_buf(),
            ))),
            clock,
            SendConfig::new("https://t.example"),
        );
        let mut profile = serde_json::Map::new();
        profile.insert("id".into(), json!(owner));
        profile.insert("email".into(), json!("ada@example.com"));
        access
            .create(&actor, "profiles", profile)
            .await
            .expect("a profile");
        pipeline
            .senders()
            .connect(
                &actor,
                serde_json::from_value(json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true }))
                    .expect("a connect request"),
            )
            .await
            .expect("a sender");
        let mut lead = serde_json::Map::new();
        lead.insert("name".into(), json!("Grace"));
        lead.insert("primary_email".into(), json!("grace@navy.example"));
        let lead = access.create(&actor, "leads", lead).await.expect("a lead");
        let due = chrono::Utc::now() - chrono::Duration::minutes(1);
        let scheduled = wired
            .scheduler
            .scheduling()
            .schedule_one(
                &actor,
                ScheduleOneRequest {
                    lead_id: lead["id"].as_str().unwrap_or_default().to_owned(),
                    subject: "Hi".into(),
                    html_body: "<p>Hi</p>".into(),
                    scheduled_at: due.fixed_offset(),
                    variables: Default::default(),
                },
            )
            .await
            .expect("scheduled");

        let tick: Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-scheduled-emails.json"
        ))
        .expect("event");
        let report = handle(
            &wired.scheduler,
            &wired.consumer,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(tick, lambda_runtime::Context::default()),
        )
        .await
        .expect("tick");
        assert_eq!(report["claimed"], 1, "{report}");
        assert_eq!(report["enqueued"], 1, "{report}");

        // What SQS delivers, in the shape Lambda hands it over, plus a poison record.
        let received = queue
            .receive(10, Duration::from_secs(60), Duration::from_secs(1))
            .await
            .expect("receive");
        assert_eq!(received.len(), 1);
        let mut batch: Value =
            serde_json::from_str(include_str!("../../../events/sqs-scheduled-emails.json"))
                .expect("event");
        batch["Records"][0]["body"] = json!(received[0].body);
        let response = handle(
            &wired.scheduler,
            &wired.consumer,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(batch, lambda_runtime::Context::default()),
        )
        .await
        .expect("batch");
        assert_eq!(
            response,
            json!({ "batchItemFailures": [{ "itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da" }] })
        );
        let row = access
            .get(&actor, "scheduled_emails", &scheduled.id)
            .await
            .expect("row");
        assert_eq!(row["status"], "sent");
        assert_eq!(
            std::fs::read_dir(outbox.path())
                .map(|d| d.count())
                .unwrap_or(0),
            1
        );
    }

    /// An invitation written through a row layer that issues letters (as the api function's)
    /// puts its letter on moto's SQS; the batch Lambda hands over delivers it with the
    /// deployment's system sender (the workspace has none) to the invitee, with the link.
    #[tokio::test]
    async fn an_invitation_letter_on_the_queue_is_delivered_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "letters").await;
        let url = scaliyo_tests::emulators::new_queue(&moto, "emails").await;
        let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(scaliyo_aws::sqs_client(&moto), url));
        let outbox = tempfile::tempdir().expect("outbox");
        let mailer = Arc::new(scaliyo_mail::OutboxMailer::new(outbox.path().to_path_buf()));
        let sealer: Arc<dyn Sealer> = Arc::new(LocalSealer::new(&[7u8; 32]).expect("a sealer"));
        // The deployment's sender, as SYSTEM_MAIL_FROM / SYSTEM_SENDGRID_API_KEY give it: the
        // workspace has none of its own.
        let system = SystemSender {
            mailer: mailer.clone(),
            credentials: scaliyo_store::Credentials::ApiKey("SG.system".into()),
            from_email: "no-reply@scaliyo.example".into(),
            from_name: "Scaliyo".into(),
        };
        let wired = wire(
            table.clone(),
            queue.clone(),
            sealer,
            (Mailers::all(mailer), Some(system)),
            "https://t.example".into(),
            None,
            "https://app.example",
        );

        // Ada's team invites Bob through a row layer that issues letters (the api function's).
        let clock = Arc::new(SystemClock);
        let letters = InviteLetters::new(Arc::new(table.clone()), queue.clone(), clock.clone());
        let access = Access::over(Arc::new(table), clock).with_invite_letters(Some(letters));
        let actor = scaliyo_tests::emulators::new_user(&access).await;
        let mut team = serde_json::Map::new();
        team.insert("name".into(), json!("Sales"));
        let team = access.create(&actor, "teams", team).await.expect("a team");
        let mut invite = serde_json::Map::new();
        invite.insert("team_id".into(), team["id"].clone());
        invite.insert("email".into(), json!("bob@example.com"));
        invite.insert("role".into(), json!("member"));
        access
            .create(&actor, "team_invites", invite)
            .await
            .expect("an invitation");

        let received = queue
            .receive(10, Duration::from_secs(60), Duration::from_secs(1))
            .await
            .expect("receive");
        assert_eq!(received.len(), 1, "one letter on the queue");
        let mut batch: Value =
            serde_json::from_str(include_str!("../../../events/sqs-scheduled-emails.json"))
                .expect("event");
        batch["Records"][0]["body"] = json!(received[0].body);
        let records = batch["Records"].as_array_mut().expect("records");
        records.truncate(1);
        let response = handle(
            &wired.scheduler,
            &wired.consumer,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(batch, lambda_runtime::Context::default()),
        )
        .await
        .expect("batch");
        assert_eq!(response, json!({ "batchItemFailures": [] }));
        let letters: Vec<String> = std::fs::read_dir(outbox.path())
            .expect("outbox")
            .flatten()
            .filter_map(|f| std::fs::read_to_string(f.path()).ok())
            // The HTML part is quoted-printable: soft line breaks and `=3D` undone.
            .map(|text| {
                text.replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=")
            })
            .collect();
        assert_eq!(letters.len(), 1);
        assert!(letters[0].contains("bob@example.com"), "{}", letters[0]);
        assert!(
            letters[0].contains("no-reply@scaliyo.example"),
            "{}",
            letters[0]
        );
        assert!(
            letters[0].contains("https://app.example/invites?token="),
            "{}",
            letters[0]
        );
    }

    fn uuid_v4() -> String {
        scaliyo_domain::ids::OwnerId::new_random().to_string()
    }
}
