//! Lambda `run-workflows`: the workflow engine, two triggers, one function.
//!
//! - EventBridge `rate(1 minute)` → the tick: claim runs whose wait is due (or whose claim
//!   ran out) through the sharded due-index, enqueue them on SQS; refresh the figures of
//!   workflows that changed.
//! - SQS (batch size 10, `ReportBatchItemFailures`) → the consumer: lead events (from the api
//!   and tracking functions), workflow changes and claimed runs; failed records come back
//!   one by one and, after `maxReceiveCount`, land in the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::access::Access;
use scaliyo_app::ops::FailureNotes;
use scaliyo_app::send::{SendConfig, SendPipeline};
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::{WorkflowError, WorkflowFeed, Workflows, WorkflowsConfig};
use scaliyo_aws::{DynamoTable, KmsSealer, SqsQueue};
use scaliyo_store::{FailureLog, Mailers, Queue, Sealer, SystemClock};
use serde_json::Value;

/// Records of one batch worked on at once (the batch is at most 10).
const RECORD_CONCURRENCY: usize = 10;

async fn handle(
    workflows: &Workflows,
    failures: &dyn FailureLog,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let payload = event.payload;
    if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload)?;
        let response = consume(workflows, failures, batch).await;
        return Ok(serde_json::to_value(response)?);
    }
    let tick: EventBridgeEvent<Value> = serde_json::from_value(payload)?;
    tracing::info!(time = ?tick.time, "tick");
    let report = workflows.tick().await?;
    Ok(serde_json::to_value(report)?)
}

async fn consume(
    workflows: &Workflows,
    failures: &dyn FailureLog,
    batch: SqsEvent,
) -> SqsBatchResponse {
    scaliyo_lambda::sqs::handle_batch(batch, RECORD_CONCURRENCY, failures, |body| async move {
        let handled = workflows.process(&body).await?;
        tracing::info!(?handled, "record handled");
        Ok::<(), WorkflowError>(())
    })
    .await
}

/// The queues the engine talks to.
struct Queues {
    /// Its own: events in, claimed runs out and in again.
    workflows: Arc<dyn Queue>,
    /// Outgoing webhooks (`workflow.completed`, `action.webhook`, the lead events of its
    /// own updates).
    webhooks: Option<Arc<dyn Queue>>,
}

fn engine(
    table: DynamoTable,
    queues: Queues,
    sealer: Arc<dyn Sealer>,
    mailers: Mailers,
    tracking_base_url: String,
) -> Workflows {
    let clock = Arc::new(SystemClock);
    let access = Access::over(Arc::new(table), clock.clone());
    // The lead updates the engine makes are lead events too: they may trigger workflows.
    let feed = WorkflowFeed::for_lambda(
        access.rows().clone(),
        Some(queues.workflows.clone()),
        clock.clone(),
    );
    let webhooks =
        WebhookEmitter::for_lambda(access.rows().clone(), queues.webhooks, clock.clone())
            .map(|w| w.with_workflow_feed(feed));
    let access = Arc::new(access.with_webhooks(webhooks.clone()));
    let metrics: Arc<dyn scaliyo_store::Metrics> =
        Arc::new(scaliyo_lambda::metrics::EmfMetrics::new("run-workflows"));
    let send = Arc::new(
        SendPipeline::new(
            access.clone(),
            sealer,
            mailers,
            clock.clone(),
            // Links signed as track-click opens them (LINK_SIGNING_KEY).
            SendConfig::new(tracking_base_url).with_link_key(scaliyo_lambda::env::link_key()),
        )
        .with_webhooks(webhooks.clone())
        .with_metrics(metrics.clone()),
    );
    Workflows::new(
        access,
        send,
        queues.workflows,
        clock,
        WorkflowsConfig::default(),
    )
    .with_webhooks(webhooks)
    .with_metrics(metrics)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("run-workflows");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let queue_url = scaliyo_lambda::env::required("WORKFLOW_QUEUE_URL")?;
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let tracking = scaliyo_lambda::env::required("TRACKING_BASE_URL")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let failures = FailureNotes::new(
        Arc::new(table.clone()),
        Arc::new(SystemClock),
        scaliyo_lambda::env::function_name("run-workflows"),
    );
    let workflows = engine(
        table,
        Queues {
            workflows: Arc::new(SqsQueue::new(scaliyo_aws::sqs_client(&config), queue_url)),
            webhooks: scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
        },
        Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id)),
        scaliyo_mail::mailers_from_env(),
        tracking,
    );
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "run-workflows",
        service_fn(|event| handle(&workflows, &failures, event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_app::access::Actor;
    use scaliyo_embedded::LocalSealer;
    use scaliyo_store::{Table, WriteOp};
    use serde_json::json;
    use std::time::Duration;

    /// What SQS holds now, handed to the function as Lambda would (one batch of up to 10),
    /// with the example's poison record last; the batch response.
    async fn deliver(workflows: &Workflows, queue: &SqsQueue) -> (usize, Value) {
        let received = queue
            .receive(10, Duration::from_secs(60), Duration::from_secs(1))
            .await
            .expect("receive");
        let template: Value =
            serde_json::from_str(include_str!("../../../events/sqs-run-workflows.json"))
                .expect("event");
        let mut records = Vec::new();
        for message in &received {
            let mut record = template["Records"][0].clone();
            record["body"] = json!(message.body);
            record["messageId"] = json!(uuid::Uuid::new_v4().to_string());
            records.push(record);
            queue.delete(&message.receipt).await.expect("delete");
        }
        records.push(template["Records"][1].clone());
        let batch = json!({ "Records": records });
        let response = handle(
            workflows,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(batch, lambda_runtime::Context::default()),
        )
        .await
        .expect("batch");
        (received.len(), response)
    }

    /// On DynamoDB Local and moto's SQS: activating a workflow and creating a lead (through
    /// the same access layer the api function uses) put their events on the queue; the SQS
    /// batch starts the run and sends the first e-mail; the real-shaped EventBridge tick
    /// claims the run once its wait is due, and the next batch finishes it.
    #[tokio::test]
    async fn events_start_runs_and_the_tick_wakes_them_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&dynamo);
        let name = scaliyo_tests::emulators::unique_name("wf");
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("create table");
        let sqs = scaliyo_aws::sqs_client(&moto);
        let url = sqs
            .create_queue()
            .queue_name(scaliyo_tests::emulators::unique_name("workflows"))
            .send()
            .await
            .expect("queue")
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        let queue = Arc::new(SqsQueue::new(sqs, url));
        let outbox = tempfile::tempdir().expect("outbox");
        let mailers = Mailers::all(Arc::new(scaliyo_mail::OutboxMailer::new(
            outbox.path().to_path_buf(),
        )));
        let table = DynamoTable::new(client, name);
        let sealer: Arc<dyn Sealer> = Arc::new(LocalSealer::new(&[7u8; 32]).expect("a sealer"));
        let workflows = engine(
            table.clone(),
            Queues {
                workflows: queue.clone(),
                webhooks: None,
            },
            sealer.clone(),
            mailers.clone(),
            "https://t.example".into(),
        );

        // The api function's side: its access layer feeds the same queue.
        let clock = Arc::new(SystemClock);
        let feed = WorkflowFeed::new(
            scaliyo_app::rows::Rows::new(Arc::new(table.clone()), clock.clone()),
            queue.clone(),
            clock.clone(),
        );
        let webhook_sink = Arc::new(scaliyo_embedded::LocalQueue::new("webhooks"));
        let emitter = WebhookEmitter::new(
            scaliyo_app::rows::Rows::new(Arc::new(table.clone()), clock.clone()),
            webhook_sink,
            clock.clone(),
        )
        .with_workflow_feed(Some(feed));
        let access = Arc::new(
            Access::over(Arc::new(table.clone()), clock.clone()).with_webhooks(Some(emitter)),
        );
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
        SendPipeline::new(
            access.clone(),
            sealer,
            mailers,
            clock.clone(),
            SendConfig::new("https://t.example"),
        )
        .senders()
        .connect(
            &actor,
            serde_json::from_value(json!({ "provider": "sendgrid", "from_email": "ada@mail.example", "api_key": "SG.x", "is_default": true }))
                .expect("a connect request"),
        )
        .await
        .expect("a sender");
        let nodes = json!([
            {"id": "t", "type": "trigger.lead_event", "config": {"event": "lead.created"}, "next": "e"},
            {"id": "e", "type": "action.send_email", "config": {"subject": "Hi {{first_name}}", "html_body": "<p>Hi</p>"}, "next": "w"},
            {"id": "w", "type": "wait.duration", "config": {"amount": 1, "unit": "days"}, "next": "u"},
            {"id": "u", "type": "action.update_lead", "config": {"score_add": 5}, "next": null}
        ]);
        let workflow = access
            .create(
                &actor,
                "workflows",
                row(json!({ "name": "Welcome", "status": "active", "nodes": nodes })),
            )
            .await
            .expect("an active workflow");
        let lead = access
            .create(&actor, "leads", row(json!({ "name": "Grace", "first_name": "Grace", "primary_email": "grace@navy.example" })))
            .await
            .expect("a lead");

        // The workflow's change and the lead event, then the poison record, alone reported.
        let (received, response) = deliver(&workflows, &queue).await;
        assert_eq!(received, 2);
        assert_eq!(
            response,
            json!({ "batchItemFailures": [{ "itemIdentifier": "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d" }] })
        );
        assert_eq!(
            std::fs::read_dir(outbox.path())
                .map(|d| d.count())
                .unwrap_or(0),
            1
        );
        let lead_id = lead["id"].as_str().unwrap_or_default();
        let runs = access
            .list(
                &actor,
                "workflow_executions",
                scaliyo_app::access::ListParams::default(),
            )
            .await
            .expect("runs");
        assert_eq!(runs.rows.len(), 1);
        let run = &runs.rows[0];
        assert_eq!(
            (run["status"].as_str(), run["current_node"].as_str()),
            (Some("running"), Some("w"))
        );
        assert_eq!(run["workflow_id"], workflow["id"]);

        // A day later (the wait's due entry moved to now): the tick claims it.
        let run_id = run["id"].as_str().unwrap_or_default();
        let rows = access.rows();
        let mut item = rows
            .get_raw(
                &scaliyo_domain::schema::WORKFLOW_EXECUTIONS,
                Some(&owner.to_string()),
                run_id,
            )
            .await
            .expect("read")
            .expect("the run");
        let now = chrono::Utc::now() - chrono::Duration::seconds(1);
        let due = scaliyo_app::rows::timestamp_text(now);
        item.set("GSI4SK", format!("{due}#{run_id}"));
        let mut waiting: Value =
            serde_json::from_str(item.str("_wf_wait").unwrap_or("{}")).expect("the wait");
        waiting["at"] = json!(now);
        item.set("_wf_wait", waiting.to_string());
        table
            .transact_write(vec![WriteOp::Put {
                item,
                condition: None,
            }])
            .await
            .expect("moved");
        let tick: Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-run-workflows.json"
        ))
        .expect("event");
        let report = handle(
            &workflows,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(tick, lambda_runtime::Context::default()),
        )
        .await
        .expect("tick");
        assert_eq!(report["claimed"], 1, "{report}");
        let (received, _) = deliver(&workflows, &queue).await;
        assert!(received >= 1);
        let lead = access
            .get(&actor, "leads", lead_id)
            .await
            .expect("the lead");
        assert_eq!(lead["score"], 5);
        let run = access
            .get(&actor, "workflow_executions", run_id)
            .await
            .expect("the run");
        assert_eq!(run["status"], "success", "{run:?}");
    }
}
