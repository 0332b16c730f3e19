//! `SqsQueue`: the queue port on Amazon SQS (and moto). Redrive to a DLQ is the queue's own
//! `RedrivePolicy`, configured in infra (and by tests), not by this adapter.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use scaliyo_store::queue::{MAX_BATCH, check_messages};
use scaliyo_store::{OutgoingMessage, Queue, QueueError, ReceivedMessage};

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

fn map_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> QueueError {
    match &error {
        SdkError::ServiceError(service) => {
            let message = service.err().message().unwrap_or_default().to_owned();
            match service.err().code() {
                Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist") => {
                    QueueError::NotFound(message)
                }
                Some("ThrottlingException" | "RequestThrottled" | "OverLimit") => {
                    QueueError::Throttled
                }
                Some(
                    "ReceiptHandleIsInvalid"
                    | "InvalidParameterValue"
                    | "InvalidAttributeValue"
                    | "BatchRequestTooLong"
                    | "TooManyEntriesInBatchRequest"
                    | "ValidationError",
                ) => QueueError::Invalid(message),
                Some(code) => QueueError::Unavailable(format!("{code}: {message}")),
                None => QueueError::Unavailable(format!("{error:?}")),
            }
        }
        _ => QueueError::Unavailable(format!("{error:?}")),
    }
}

fn whole_seconds(duration: Duration) -> i32 {
    duration.as_secs_f64().ceil() as i32
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        check_messages(&messages)?;
        for chunk in messages.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&message.body)
                        .delay_seconds(whole_seconds(message.delay))
                        .build()
                        .map_err(|e| QueueError::Invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(map_error)?;
            if let Some(failed) = output.failed().first() {
                return Err(QueueError::Unavailable(format!(
                    "{} of the batch were not accepted: {}",
                    output.failed().len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 || max > MAX_BATCH {
            return Err(QueueError::Invalid(format!(
                "receive between 1 and {MAX_BATCH} messages"
            )));
        }
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(whole_seconds(visibility))
            .wait_time_seconds(whole_seconds(wait).min(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(map_error)?;
        Ok(output
            .messages()
            .iter()
            .map(|message| ReceivedMessage {
                message_id: message.message_id().unwrap_or_default().to_owned(),
                body: message.body().unwrap_or_default().to_owned(),
                receipt: message.receipt_handle().unwrap_or_default().to_owned(),
                receive_count: message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1),
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn release(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }
}
