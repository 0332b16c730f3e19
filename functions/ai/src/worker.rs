//! Lambda `ai-worker`: the run queue's consumer (SQS, `ReportBatchItemFailures`). Each record
//! is one lead of a batch research or an AI-written sequence; the worker bounds the model
//! calls in flight (`AI_WORKER_CONCURRENCY`) and their pace (`AI_REQUESTS_PER_MINUTE`, per
//! instance: the template's `MaximumConcurrency` bounds the instances), records each job's
//! outcome with its credits, and queues a job's next attempt itself.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::ai::{AiError, AiWorker, AiWorkerConfig};
use scaliyo_aws::DynamoTable;
use scaliyo_fn_ai::Queues;

async fn handle(worker: &AiWorker, event: LambdaEvent<SqsEvent>) -> SqsBatchResponse {
    // The worker's own permits bound the model calls; the records are all taken at once.
    scaliyo_lambda::sqs::handle_batch(event.payload, 10, |body| async move {
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
    let model = scaliyo_fn_ai::model(&config).await?;
    let (_, ai) = scaliyo_fn_ai::ai(table, model, queues);
    let worker = AiWorker::new(ai, runs, AiWorkerConfig::from_env());
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let worker = &worker;
        async move { Ok::<_, Error>(handle(worker, event).await) }
    }))
    .await
}
