//! Lambda `analytics-rollup`: EventBridge `rate(10 minutes)` → recompute today's and
//! yesterday's `email_analytics_summary` of every active workspace from the raw rows.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::rows::Rows;
use scaliyo_app::tracking::Tracking;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_aws::DynamoTable;
use scaliyo_store::{Clock, SystemClock};
use serde_json::{Value, json};

/// Two triggers: the 10-minute schedule (rebuild) and the tracking spool queue (opens the
/// store could not take when they happened).
async fn handle(
    rows: &Rows,
    clock: &dyn Clock,
    webhooks: Option<&WebhookEmitter>,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    if event.payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        return Ok(serde_json::to_value(replay(rows, webhooks, batch).await)?);
    }
    let (payload, context) = event.into_parts();
    let scheduled: EventBridgeEvent<Value> = serde_json::from_value(payload)?;
    rebuild(rows, clock, LambdaEvent::new(scheduled, context)).await
}

async fn replay(
    rows: &Rows,
    webhooks: Option<&WebhookEmitter>,
    batch: SqsEvent,
) -> SqsBatchResponse {
    // Spooled opens carry the time they happened; one at a time (the store was just struggling).
    let tracking = Tracking::new(rows.clone(), Arc::new(SystemClock))
        .with_webhooks(webhooks.cloned())
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "analytics-rollup",
        )));
    let tracking = &tracking;
    scaliyo_lambda::sqs::handle_batch(batch, 1, |body| async move {
        tracking.replay(&body).await.map(|_| ())
    })
    .await
}

async fn rebuild(
    rows: &Rows,
    clock: &dyn Clock,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Value, Error> {
    let today = event
        .payload
        .time
        .map(|t| t.date_naive())
        .unwrap_or_else(|| clock.now().date_naive());
    let owners = scaliyo_app::analytics::rebuild_recent(rows, today).await?;
    tracing::info!(owners, %today, "analytics rebuilt");
    Ok(json!({ "owners": owners, "date": today.to_string() }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("analytics-rollup");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let config = scaliyo_aws::load_config().await;
    let clock = Arc::new(SystemClock);
    let rows = Rows::new(
        Arc::new(DynamoTable::new(
            scaliyo_aws::dynamodb_client(&config),
            table_name,
        )),
        clock.clone(),
    );
    // Replayed human opens are webhook events too.
    let webhooks = WebhookEmitter::for_lambda(
        rows.clone(),
        scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
        clock.clone(),
    );
    lambda_runtime::run(service_fn(|event| {
        handle(&rows, clock.as_ref(), webhooks.as_ref(), event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real-shaped scheduled event goes through lambda_runtime's types to the handler.
    #[tokio::test]
    async fn a_scheduled_event_rebuilds_on_dynamodb_local() {
        // Skips loudly without DynamoDB Local, fails when scripts/test requires it.
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&config);
        let name = format!("rollup-{}", std::process::id());
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("table");
        let clock = SystemClock;
        let rows = Rows::new(
            Arc::new(DynamoTable::new(client, name)),
            Arc::new(SystemClock),
        );
        let payload: Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-scheduled-analytics.json"
        ))
        .expect("a valid event");
        let event = LambdaEvent::new(payload, lambda_runtime::Context::default());
        let out = handle(&rows, &clock, None, event).await.expect("handled");
        assert_eq!(out, json!({ "owners": 0, "date": "2026-11-27" }));

        // The spool queue's batch: an open whose token is unknown is dropped (nothing to
        // write); a record that is not a spooled open is reported for redelivery.
        let payload: Value =
            serde_json::from_str(include_str!("../../../events/sqs-tracking-spool.json"))
                .expect("a valid event");
        let event = LambdaEvent::new(payload, lambda_runtime::Context::default());
        let out = handle(&rows, &clock, None, event).await.expect("handled");
        assert_eq!(
            out,
            json!({ "batchItemFailures": [{ "itemIdentifier": "9b2f6c1e-8d4a-4c3b-a5e7-2f1d0c9b8a77" }] })
        );
    }
}
