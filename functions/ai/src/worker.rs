//! Lambda `ai-worker`: the run queue's consumer (SQS, `ReportBatchItemFailures`). Each record
//! is one lead of a batch research or an AI-written sequence; the worker bounds the model
//! calls in flight (`AI_WORKER_CONCURRENCY`) and their pace (`AI_REQUESTS_PER_MINUTE`, per
//! instance: the template's `MaximumConcurrency` bounds the instances), records each job's
//! outcome with its credits, and queues a job's next attempt itself.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::ai::{AiError, AiWorker, AiWorkerConfig};
use std::sync::Arc;

use scaliyo_app::ops::FailureNotes;
use scaliyo_aws::DynamoTable;
use scaliyo_fn_ai::Queues;
use scaliyo_store::{FailureLog, SystemClock};

async fn handle(
    worker: &AiWorker,
    failures: &dyn FailureLog,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    // The worker's own permits bound the model calls; the records are all taken at once.
    scaliyo_lambda::sqs::handle_batch(event.payload, 10, failures, |body| async move {
        worker.process(&body).await?;
        Ok::<(), AiError>(())
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("ai-worker");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let config = scaliyo_aws::load_config().await;
    let queues = Queues::from_env(&config);
    let runs = queues
        .runs
        .clone()
        .ok_or("AI_QUEUE_URL is required: a job's next attempt is queued there")?;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let failures = FailureNotes::new(
        Arc::new(table.clone()),
        Arc::new(SystemClock),
        scaliyo_lambda::env::function_name("ai-worker"),
    );
    let model = scaliyo_fn_ai::model(&config).await?;
    let (_, ai) = scaliyo_fn_ai::ai(table, model, queues);
    let worker = AiWorker::new(ai, runs, AiWorkerConfig::from_env());
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "ai-worker",
        service_fn(|event: LambdaEvent<SqsEvent>| {
            let (worker, failures) = (&worker, &failures);
            async move { Ok::<_, Error>(handle(worker, failures, event).await) }
        }),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use scaliyo_ai::openai::OpenAiCompatible;
    use scaliyo_app::access::{Access, Actor};
    use scaliyo_app::ai::RunKind;
    use scaliyo_aws::SqsQueue;
    use scaliyo_store::{LanguageModel, Queue, ReceivedMessage};
    use serde_json::{Value, json};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// The received messages as Lambda hands them over (the example's records with their
    /// bodies), the example's poison record last.
    fn event(received: &[ReceivedMessage]) -> LambdaEvent<SqsEvent> {
        let example: Value =
            serde_json::from_str(include_str!("../../../events/sqs-ai-worker.json"))
                .expect("the example event");
        let mut records: Vec<Value> = received
            .iter()
            .map(|message| {
                let mut record = example["Records"][0].clone();
                record["body"] = json!(message.body);
                record
            })
            .collect();
        records.push(example["Records"][1].clone());
        let batch = serde_json::from_value(json!({ "Records": records })).expect("an SQS event");
        LambdaEvent::new(batch, lambda_runtime::Context::default())
    }

    /// On DynamoDB Local and moto's SQS, with an OpenAI-compatible fake model: an AI sequence
    /// run queues its job; the batch writes and schedules the lead's e-mails, settles the job
    /// and drops the poison record without failing the batch.
    #[tokio::test]
    async fn a_sequence_job_is_written_and_scheduled_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "ai-worker").await;
        let sqs = scaliyo_aws::sqs_client(&moto);
        let url = sqs
            .create_queue()
            .queue_name(scaliyo_tests::emulators::unique_name("ai-jobs"))
            .send()
            .await
            .expect("a queue")
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(sqs, url));
        let fake = MockServer::start().await;
        let written = json!({"emails": [{"subject": "Robots for Navy", "body": "Hello Grace,\n\nA short note."}]});
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama3.1:8b",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": written.to_string()}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 400, "completion_tokens": 60, "total_tokens": 460}})))
            .expect(1)
            .mount(&fake)
            .await;
        let model: Arc<dyn LanguageModel> = Arc::new(OpenAiCompatible::new(
            format!("{}/v1", fake.uri()),
            None,
            "llama3.1:8b",
        ));
        let (access, ai) = scaliyo_fn_ai::ai(
            table,
            Some(model),
            Queues {
                runs: Some(queue.clone()),
                ..Queues::default()
            },
        );
        let owner = scaliyo_domain::ids::OwnerId::new_random();
        let actor = Actor::acting_for(owner);
        let lead = create(&access, &actor, "leads", json!({"name": "Grace", "first_name": "Grace", "company": "Navy", "primary_email": "grace@navy.example"})).await;
        let request = serde_json::from_value(json!({
            "lead_ids": [lead],
            "steps": [{"subject": "Intro for {{first_name}}", "body": "Introduce our robots"}]
        }))
        .expect("a request");
        let started = ai.start_sequence_run(&actor, request).await.expect("a run");
        let received = queue
            .receive(10, Duration::from_secs(60), Duration::from_secs(1))
            .await
            .expect("receive");
        assert_eq!(received.len(), 1);

        let worker = AiWorker::new(ai.clone(), queue.clone(), AiWorkerConfig::default());
        let response = handle(&worker, &scaliyo_store::NoFailureLog, event(&received)).await;
        assert!(response.batch_item_failures.is_empty());
        let progress = ai
            .run_progress(&actor, RunKind::Sequence, &started.run_id)
            .await
            .expect("the run");
        assert_eq!((progress.written, progress.failed), (1, 0));
        assert_eq!(progress.credits_charged, 3);
        let sequence = progress.items[0].sequence_id.clone().expect("a sequence");
        let first = access
            .get(
                &actor,
                "scheduled_emails",
                &scaliyo_app::scheduler::block_id(&sequence, 0),
            )
            .await
            .expect("the e-mail scheduled");
        assert_eq!(first["subject"], "Robots for Navy");
        assert_eq!(first["status"], "pending");

        // The same job again (SQS delivers at least once): nothing more is written or charged.
        let again = handle(&worker, &scaliyo_store::NoFailureLog, event(&received)).await;
        assert!(again.batch_item_failures.is_empty());
        let progress = ai
            .run_progress(&actor, RunKind::Sequence, &started.run_id)
            .await
            .expect("the run");
        assert_eq!((progress.written, progress.credits_charged), (1, 3));
    }

    async fn create(access: &Access, actor: &Actor, table: &str, row: Value) -> String {
        let row = row.as_object().cloned().unwrap_or_default();
        let created = access.create(actor, table, row).await.expect("a row");
        created["id"].as_str().unwrap_or_default().to_owned()
    }
}
