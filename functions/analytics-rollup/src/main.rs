//! Lambda `analytics-rollup`: EventBridge `rate(10 minutes)` → recompute today's and
//! yesterday's `email_analytics_summary` of every active workspace from the raw rows.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::ops::FailureNotes;
use scaliyo_app::rows::Rows;
use scaliyo_app::tracking::{HitRecord, Tracking};
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_aws::DynamoTable;
use scaliyo_store::{Clock, FailureLog, SystemClock};
use serde_json::{Value, json};

/// Two triggers: the 10-minute schedule (rebuild) and the hit queue (the opens and clicks
/// `track-open` and `track-click` made durable there before they answered).
async fn handle(
    rows: &Rows,
    clock: &dyn Clock,
    tracking: &Tracking,
    failures: &dyn FailureLog,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    if event.payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        return Ok(serde_json::to_value(
            apply_hits(tracking, failures, batch).await,
        )?);
    }
    let (payload, context) = event.into_parts();
    let scheduled: EventBridgeEvent<Value> = serde_json::from_value(payload)?;
    rebuild(rows, clock, LambdaEvent::new(scheduled, context)).await
}

/// Each record carries its hit's time and event id: the batch is applied as one (per message
/// in order, messages concurrently), and applying it again stores nothing twice.
async fn apply_hits(
    tracking: &Tracking,
    failures: &dyn FailureLog,
    batch: SqsEvent,
) -> SqsBatchResponse {
    let failure = |id: Option<String>| {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id.unwrap_or_default();
        failure
    };
    let mut response = SqsBatchResponse::default();
    let mut hits = Vec::with_capacity(batch.records.len());
    let mut ids = Vec::with_capacity(batch.records.len());
    for record in batch.records {
        match serde_json::from_str::<HitRecord>(record.body.as_deref().unwrap_or_default()) {
            Ok(hit) => {
                hits.push(hit);
                ids.push(record.message_id);
            }
            // Not a hit: back to the queue, and after its retries to the dead-letter queue
            // where an operator can read it (the body is never logged).
            Err(error) => {
                tracing::warn!(message_id = ?record.message_id, %error, "a record that is not a hit");
                let id = record.message_id.as_deref().unwrap_or_default();
                failures.note(id, &format!("not a hit: {error}")).await;
                response
                    .batch_item_failures
                    .push(failure(record.message_id));
            }
        }
    }
    match tracking.apply(&hits).await {
        Ok(report) => tracing::info!(?report, "hits applied"),
        Err(error) => {
            // Every hit comes back; the ones already stored are recognised then.
            tracing::warn!(%error, "applying hits failed; SQS will redeliver them");
            // Noted together: with the table down each note waits out the SDK's retries.
            let reason = format!("applying the batch failed: {error}");
            futures::future::join_all(ids.iter().flatten().map(|id| failures.note(id, &reason)))
                .await;
            response
                .batch_item_failures
                .extend(ids.into_iter().map(failure));
        }
    }
    response
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
    let table = Arc::new(DynamoTable::new(
        scaliyo_aws::dynamodb_client(&config),
        table_name,
    ));
    let failures = FailureNotes::new(
        table.clone(),
        clock.clone(),
        scaliyo_lambda::env::function_name("analytics-rollup"),
    );
    let rows = Rows::new(table, clock.clone());
    // Human opens and clicks are webhook events, and wake workflow runs waiting for them.
    let feed = scaliyo_app::workflows::WorkflowFeed::for_lambda(
        rows.clone(),
        scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", &config),
        clock.clone(),
    );
    let webhooks = WebhookEmitter::for_lambda(
        rows.clone(),
        scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
        clock.clone(),
    )
    .map(|w| w.with_workflow_feed(feed));
    // Built once per container: its cache of resolved tokens serves every batch.
    let tracking = Tracking::new(rows.clone(), clock.clone())
        .with_webhooks(webhooks)
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "analytics-rollup",
        )));
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "analytics-rollup",
        service_fn(|event| handle(&rows, clock.as_ref(), &tracking, &failures, event)),
    ))
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
        let tracking = Tracking::new(rows.clone(), Arc::new(SystemClock));
        let payload: Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-scheduled-analytics.json"
        ))
        .expect("a valid event");
        let event = LambdaEvent::new(payload, lambda_runtime::Context::default());
        let out = handle(
            &rows,
            &clock,
            &tracking,
            &scaliyo_store::NoFailureLog,
            event,
        )
        .await
        .expect("handled");
        assert_eq!(out, json!({ "owners": 0, "date": "2026-11-27" }));

        // The hit queue's batch: an open whose token is unknown is dropped (nothing to
        // write); a record that is not a hit is reported for redelivery.
        let payload: Value =
            serde_json::from_str(include_str!("../../../events/sqs-tracking-hits.json"))
                .expect("a valid event");
        let event = LambdaEvent::new(payload, lambda_runtime::Context::default());
        let out = handle(
            &rows,
            &clock,
            &tracking,
            &scaliyo_store::NoFailureLog,
            event,
        )
        .await
        .expect("handled");
        assert_eq!(
            out,
            json!({ "batchItemFailures": [{ "itemIdentifier": "9b2f6c1e-8d4a-4c3b-a5e7-2f1d0c9b8a77" }] })
        );
    }
}
