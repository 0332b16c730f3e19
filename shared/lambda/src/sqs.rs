//! SQS-triggered functions: every record of a batch handled (a few at a time), and the ones
//! that failed reported one by one (`ReportBatchItemFailures`), so only they come back — and,
//! after the queue's `maxReceiveCount`, land in its dead-letter queue.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use scaliyo_store::FailureLog;

/// Runs `handle` on each record's body, `concurrency` at a time. `Err` means "deliver this
/// record again"; its reason is logged with the message id (never the body) and noted in
/// `failures`, where `scaliyo-ops dlq list` finds it if the record ends in the dead-letter queue.
pub async fn handle_batch<F, Fut, E>(
    batch: SqsEvent,
    concurrency: usize,
    failures: &dyn FailureLog,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let handle = &handle;
    let failures: Vec<BatchItemFailure> = futures::stream::iter(batch.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            match handle(record.body.unwrap_or_default()).await {
                Ok(()) => None,
                Err(error) => {
                    tracing::warn!(message_id = %id, %error, "record failed; SQS will redeliver it");
                    failures.note(&id, &error.to_string()).await;
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    Some(failure)
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}
