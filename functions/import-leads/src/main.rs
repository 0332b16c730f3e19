//! Lambda `import-leads`: S3 ObjectCreated (the imports bucket, suffix `/source`) → SQS →
//! here. Each record names an uploaded file; its batch is processed until done, or paused at
//! a checkpoint shortly before the invocation's deadline — then the record is reported as
//! failed, SQS redelivers it after the visibility timeout, and the next run resumes from the
//! checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::access::Access;
use scaliyo_app::import::{ImportConfig, Importer, Progress};
use scaliyo_app::ops::FailureNotes;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::WorkflowFeed;
use scaliyo_aws::{DynamoTable, S3Blobs};
use scaliyo_store::{Blobs, FailureLog, Queue, SystemClock};

async fn handle(
    importer: &Importer,
    failures: &dyn FailureLog,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    // A context without a deadline (tests, local invoke) runs to the end.
    let deadline = scaliyo_lambda::deadline::deadline_of(&event.context);
    let mut response = SqsBatchResponse::default();
    // Records one after another: each is a whole file, and a paused one stops the batch.
    let mut paused = false;
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = if paused {
            Err(Unfinished::Paused(
                "an earlier record used the invocation's time".to_owned(),
            ))
        } else {
            process(
                importer,
                record.body.as_deref().unwrap_or_default(),
                deadline,
            )
            .await
        };
        if let Err(unfinished) = outcome {
            let reason = match unfinished {
                Unfinished::Paused(reason) => {
                    paused = true;
                    reason
                }
                Unfinished::Failed(reason) => reason,
            };
            tracing::warn!(message_id = %id, %reason, "record not finished; SQS will redeliver it");
            failures.note(&id, &reason).await;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

enum Unfinished {
    /// Stopped at a checkpoint for lack of time: later records of the batch wait too.
    Paused(String),
    Failed(String),
}

async fn process(
    importer: &Importer,
    body: &str,
    deadline: Option<Instant>,
) -> Result<(), Unfinished> {
    let objects =
        scaliyo_lambda::s3::created_objects(body).map_err(|e| Unfinished::Failed(e.to_string()))?;
    for object in objects {
        match importer.process_object(&object, deadline).await {
            Ok(Progress::Paused { next_row, .. }) => {
                return Err(Unfinished::Paused(format!("paused before row {next_row}")));
            }
            Ok(progress) => tracing::info!(?progress, "import record handled"),
            Err(error) => return Err(Unfinished::Failed(error.to_string())),
        }
    }
    Ok(())
}

fn importer(
    table: DynamoTable,
    blobs: Arc<dyn Blobs>,
    bucket: String,
    webhooks: Option<Arc<dyn Queue>>,
    workflows: Option<Arc<dyn Queue>>,
) -> Importer {
    let clock = Arc::new(SystemClock);
    let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
    // New leads reach workflows triggered by `lead.imported`.
    let feed = WorkflowFeed::for_lambda(access.rows().clone(), workflows, clock.clone());
    let webhooks = WebhookEmitter::for_lambda(access.rows().clone(), webhooks, clock.clone())
        .map(|w| w.with_workflow_feed(feed));
    Importer::new(access, blobs, clock, ImportConfig::new(bucket))
        .with_webhooks(webhooks)
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "import-leads",
        )))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("import-leads");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let bucket = scaliyo_lambda::env::required("IMPORTS_BUCKET")?;
    let config = scaliyo_aws::load_config().await;
    // The logical bucket name is the physical one here: S3 events carry the physical name.
    let blobs = S3Blobs::new(
        scaliyo_aws::s3_client(&config),
        HashMap::from([(bucket.clone(), bucket.clone())]),
    );
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let failures = FailureNotes::new(
        Arc::new(table.clone()),
        Arc::new(SystemClock),
        scaliyo_lambda::env::function_name("import-leads"),
    );
    let importer = importer(
        table,
        Arc::new(blobs),
        bucket,
        scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
        scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", &config),
    );
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "import-leads",
        service_fn(|event| handle(&importer, &failures, event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_app::access::Actor;
    use scaliyo_app::import::StartRequest;
    use serde_json::json;

    /// A real-shaped SQS batch carrying an S3 ObjectCreated notification imports the
    /// uploaded file on DynamoDB Local and moto's S3; a notification for another object is
    /// ignored, a malformed record is reported alone.
    #[tokio::test]
    async fn an_s3_notification_imports_the_uploaded_file_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&dynamo);
        let name = scaliyo_tests::emulators::unique_name("import");
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("table");
        let s3 = scaliyo_aws::s3_client(&moto);
        let bucket = scaliyo_tests::emulators::unique_name("imports");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let blobs: Arc<dyn Blobs> = Arc::new(S3Blobs::new(
            s3,
            HashMap::from([(bucket.clone(), bucket.clone())]),
        ));
        let importer = importer(
            DynamoTable::new(client.clone(), name.clone()),
            blobs.clone(),
            bucket.clone(),
            None,
            None,
        );

        const FILE: &[u8] = b"Name,Email\nGrace,grace@navy.mil\nAda,ada@\n";
        let clock = Arc::new(SystemClock);
        let access = Access::over(Arc::new(DynamoTable::new(client, name)), clock);
        let owner = scaliyo_domain::ids::OwnerId::new_random();
        let actor = Actor::acting_for(owner);
        let mut profile = serde_json::Map::new();
        profile.insert("id".into(), json!(owner));
        profile.insert("email".into(), json!("ada@example.com"));
        access
            .create(&actor, "profiles", profile)
            .await
            .expect("profile");
        let started = importer
            .start(
                &actor,
                StartRequest {
                    file_name: "leads.csv".into(),
                    file_type: None,
                    column_mapping: Default::default(),
                    options: Default::default(),
                    content_length: FILE.len() as u64,
                },
            )
            .await
            .expect("started");
        let batch_id = started.batch["id"].as_str().unwrap_or_default().to_owned();
        let key = scaliyo_app::import::source_key(owner, &batch_id);
        blobs
            .put(
                &bucket,
                &key,
                bytes::Bytes::from_static(FILE),
                Some("text/csv"),
            )
            .await
            .expect("upload");

        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/sqs-s3-import-created.json"))
                .expect("event");
        let notification = event["Records"][0]["body"]
            .as_str()
            .unwrap_or_default()
            .replace("scaliyo-prod-imports", &bucket)
            .replace("OWNER/BATCH/source", &key);
        event["Records"][0]["body"] = json!(notification);
        let payload: SqsEvent = serde_json::from_value(event).expect("an SQS event");
        let response = handle(
            &importer,
            &scaliyo_store::NoFailureLog,
            LambdaEvent::new(payload, lambda_runtime::Context::default()),
        )
        .await
        .expect("handled");
        let failures: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failures, vec!["d2c1f1a0-3b1e-4f8e-9a51-7c2b9e0d4f33"]);
        let batch = access
            .get(&actor, "import_batches", &batch_id)
            .await
            .expect("batch");
        assert_eq!(batch["status"], "completed", "{batch:?}");
        assert_eq!(batch["imported_count"], 1);
        assert_eq!(batch["skipped_count"], 1);
        assert_eq!(batch["skipped_rows"][0]["reason"], "invalid_email");
        let report = blobs
            .get(
                &bucket,
                &scaliyo_app::import::rejected_key(owner, &batch_id),
            )
            .await
            .expect("report")
            .expect("a report");
        assert!(String::from_utf8_lossy(&report).contains("3,invalid_email,"));
    }
}
