//! Lambda `deliver-webhooks`: wiring only. SQS (the webhook queue, `ReportBatchItemFailures`)
//! → each record is an `emit` (fan out to the owner's subscribed webhooks) or a `deliver` (one
//! signed POST; a failure re-enqueues the delivery with a delay, up to 7 attempts). A record
//! that cannot be handled (the table unavailable) is reported alone and comes back.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::ops::FailureNotes;
use scaliyo_app::rows::Rows;
use scaliyo_app::webhooks::{WebhookDispatcher, WebhookError};
use scaliyo_aws::{DynamoTable, SqsQueue};
use scaliyo_store::{FailureLog, Queue, SystemClock, WebhookTransport};
use scaliyo_webhooks::HttpWebhookTransport;

/// Records of one batch worked on at once (each at most one 10-second POST).
const RECORD_CONCURRENCY: usize = 10;

async fn handle(
    dispatcher: &WebhookDispatcher,
    failures: &dyn FailureLog,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(scaliyo_lambda::sqs::handle_batch(
        event.payload,
        RECORD_CONCURRENCY,
        failures,
        |body| async move {
            match dispatcher.process(&body).await {
                Ok(outcome) => {
                    tracing::info!(?outcome, "webhook record handled");
                    Ok(())
                }
                // A message that is not ours will never parse: drop it (logged), do not let it
                // cycle to the dead-letter queue as if it could succeed.
                Err(WebhookError::Malformed(reason)) => {
                    tracing::warn!(%reason, "not a webhook message; dropped");
                    Ok(())
                }
                Err(error) => Err(error),
            }
        },
    )
    .await)
}

fn dispatcher(
    table: DynamoTable,
    queue: Arc<dyn Queue>,
    transport: Arc<dyn WebhookTransport>,
) -> WebhookDispatcher {
    let clock = Arc::new(SystemClock);
    WebhookDispatcher::new(
        Rows::new(Arc::new(table), clock.clone()),
        queue,
        transport,
        clock,
    )
    .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
        "deliver-webhooks",
    )))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("deliver-webhooks");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    // Retries go back to the queue this function reads.
    let queue_url = scaliyo_lambda::env::required("WEBHOOK_QUEUE_URL")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let failures = FailureNotes::new(
        Arc::new(table.clone()),
        Arc::new(SystemClock),
        scaliyo_lambda::env::function_name("deliver-webhooks"),
    );
    let dispatcher = dispatcher(
        table,
        Arc::new(SqsQueue::new(scaliyo_aws::sqs_client(&config), queue_url)),
        // Production rules: https to public addresses only.
        Arc::new(HttpWebhookTransport::new()),
    );
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "deliver-webhooks",
        service_fn(|event| handle(&dispatcher, &failures, event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_app::access::Access;
    use serde_json::{Value, json};
    use std::time::Duration;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The real-shaped SQS batch: its `emit` record fans out on DynamoDB Local to the owner's
    /// webhook and enqueues the delivery on moto's SQS; the delivery, received back as SQS
    /// would deliver it, reaches the receiver; the stray record is dropped, not retried.
    #[tokio::test]
    async fn an_sqs_batch_fans_out_and_delivers_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "webhooks").await;
        let url = scaliyo_tests::emulators::new_queue(&moto, "webhooks").await;
        let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(scaliyo_aws::sqs_client(&moto), url));
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&receiver)
            .await;
        // The receiver is on this machine: the test's transport allows it.
        let dispatcher = dispatcher(
            table.clone(),
            queue.clone(),
            Arc::new(HttpWebhookTransport::new().allowing_private()),
        );

        let batch: Value =
            serde_json::from_str(include_str!("../../../events/sqs-webhooks.json")).expect("event");
        let owner = batch["Records"][0]["body"]
            .as_str()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .and_then(|b| b["owner"].as_str().and_then(|o| o.parse().ok()))
            .expect("the event's owner");
        let access =
            Access::over(Arc::new(table), Arc::new(SystemClock)).allowing_private_webhooks();
        let actor = scaliyo_tests::emulators::new_user_with_id(&access, owner).await;
        let mut webhook = serde_json::Map::new();
        webhook.insert("name".into(), json!("CRM"));
        webhook.insert("url".into(), json!(format!("{}/in", receiver.uri())));
        webhook.insert("trigger_event".into(), json!("email.sent"));
        webhook.insert("secret".into(), json!("whsec_x"));
        access
            .create(&actor, "webhooks", webhook)
            .await
            .expect("a webhook");

        let event: SqsEvent = serde_json::from_value(batch).expect("an SQS event");
        let response = handle(
            &dispatcher,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
        .await
        .expect("handled");
        assert!(
            response.batch_item_failures.is_empty(),
            "the stray record is dropped"
        );

        let received = queue
            .receive(10, Duration::from_secs(30), Duration::from_secs(2))
            .await
            .expect("the delivery message");
        assert_eq!(received.len(), 1);
        let records: Vec<Value> = received
            .iter()
            .map(|m| json!({ "messageId": m.message_id, "body": m.body, "eventSource": "aws:sqs" }))
            .collect();
        let deliveries: SqsEvent =
            serde_json::from_value(json!({ "Records": records })).expect("an SQS event");
        let response = handle(
            &dispatcher,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(deliveries, lambda_runtime::Context::default()),
        )
        .await
        .expect("handled");
        assert!(response.batch_item_failures.is_empty());
        let sent = receiver.received_requests().await.unwrap_or_default();
        assert_eq!(sent.len(), 1);
        let body: Value = serde_json::from_slice(&sent[0].body).expect("json");
        assert_eq!(body["type"], "email.sent");
        assert_eq!(body["data"]["to_email"], "grace@navy.example");
        assert!(sent[0].headers.contains_key("scaliyo-signature"));
    }
}
