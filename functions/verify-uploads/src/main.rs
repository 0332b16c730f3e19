//! Lambda `verify-uploads`: S3 ObjectCreated of the schema's four buckets → SQS → here. Each
//! uploaded object's first bytes are checked against its declared `Content-Type`; one that is
//! not what it says is deleted (docs/storage.md). A record that could not be checked is
//! reported and comes back from the queue.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::ops::FailureNotes;
use scaliyo_app::upload_check::UploadChecker;
use scaliyo_aws::{DynamoTable, S3Blobs};
use scaliyo_store::{FailureLog, NoFailureLog, ObjectCreated, SystemClock};

/// The checker, and the logical bucket of each physical one (S3 events name physical buckets).
struct Verifier {
    checker: UploadChecker,
    logical: HashMap<String, String>,
}

async fn handle(
    verifier: &Verifier,
    failures: &dyn FailureLog,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        if let Err(reason) = check(verifier, record.body.as_deref().unwrap_or_default()).await {
            tracing::warn!(message_id = %id, %reason, "upload not checked; SQS will redeliver it");
            failures.note(&id, &reason).await;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

async fn check(verifier: &Verifier, body: &str) -> Result<(), String> {
    let objects = scaliyo_lambda::s3::created_objects(body).map_err(|e| e.to_string())?;
    for object in objects {
        // A bucket this deployment does not know is not ours to judge.
        let Some(bucket) = verifier.logical.get(&object.bucket) else {
            continue;
        };
        let created = ObjectCreated {
            bucket: bucket.clone(),
            key: object.key,
        };
        let outcome = verifier
            .checker
            .check(&created)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(bucket = %created.bucket, ?outcome, "upload checked");
    }
    Ok(())
}

/// The four buckets: logical name → physical (`BUCKET_<NAME>`, as the api function reads them).
fn buckets() -> Result<HashMap<String, String>, Error> {
    let mut buckets = HashMap::new();
    for rules in scaliyo_app::storage::BUCKETS {
        let variable = format!("BUCKET_{}", rules.name.to_uppercase().replace('-', "_"));
        buckets.insert(
            rules.name.to_owned(),
            scaliyo_lambda::env::required(&variable)?,
        );
    }
    Ok(buckets)
}

fn verifier(blobs: S3Blobs, buckets: &HashMap<String, String>) -> Verifier {
    Verifier {
        checker: UploadChecker::new(Arc::new(blobs)),
        logical: buckets
            .iter()
            .map(|(logical, physical)| (physical.clone(), logical.clone()))
            .collect(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("verify-uploads");
    let config = scaliyo_aws::load_config().await;
    let buckets = buckets()?;
    let blobs = S3Blobs::new(scaliyo_aws::s3_client(&config), buckets.clone());
    let verifier = verifier(blobs, &buckets);
    // The table holds only this function's failure notes; without one, none are written.
    let failures: Box<dyn FailureLog> = match std::env::var("TABLE_NAME") {
        Ok(table) if !table.is_empty() => Box::new(FailureNotes::new(
            Arc::new(DynamoTable::new(
                scaliyo_aws::dynamodb_client(&config),
                table,
            )),
            Arc::new(SystemClock),
            scaliyo_lambda::env::function_name("verify-uploads"),
        )),
        _ => Box::new(NoFailureLog),
    };
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "verify-uploads",
        service_fn(|event| handle(&verifier, failures.as_ref(), event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_store::Blobs;
    use serde_json::json;

    /// A real-shaped SQS batch of S3 notifications on moto: a disguised "image/png" is
    /// deleted, a real one kept, an object of another bucket left alone, a malformed record
    /// reported alone.
    #[tokio::test]
    async fn notifications_of_uploads_check_them_on_moto() {
        let Some(moto) = scaliyo_tests::emulators::moto().await else {
            return;
        };
        let s3 = scaliyo_aws::s3_client(&moto);
        let physical = scaliyo_tests::emulators::unique_name("avatars");
        s3.create_bucket()
            .bucket(&physical)
            .send()
            .await
            .expect("bucket");
        let buckets = HashMap::from([("avatars".to_owned(), physical.clone())]);
        let blobs = S3Blobs::new(s3.clone(), buckets.clone());
        let verifier = verifier(S3Blobs::new(s3, buckets.clone()), &buckets);
        let real = "u1/real.png";
        let disguised = "u1/cat.png";
        blobs
            .put(
                "avatars",
                real,
                bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n\0\0"),
                Some("image/png"),
            )
            .await
            .expect("upload");
        blobs
            .put(
                "avatars",
                disguised,
                bytes::Bytes::from_static(b"<html><script></script>"),
                Some("image/png"),
            )
            .await
            .expect("upload");
        // The S3 notification as SQS carries it (the import function's real-shaped event).
        let sample: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/sqs-s3-import-created.json"))
                .expect("event");
        let notification = |bucket: &str, key: &str| {
            sample["Records"][0]["body"]
                .as_str()
                .unwrap_or_default()
                .replace("scaliyo-prod-imports", bucket)
                .replace("OWNER/BATCH/source", key)
        };
        let record = |id: &str, body: String| {
            json!({ "messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
                    "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:uploads", "awsRegion": "us-east-1" })
        };
        let event = json!({ "Records": [
            record("1", notification(&physical, real)),
            record("2", notification(&physical, disguised)),
            record("3", notification("someone-elses-bucket", "x.png")),
            record("4", "not json".to_owned()),
        ] });
        let payload: SqsEvent = serde_json::from_value(event).expect("an SQS event");
        let response = handle(
            &verifier,
            &NoFailureLog,
            LambdaEvent::new(payload, lambda_runtime::Context::default()),
        )
        .await
        .expect("handled");
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["4"]);
        assert!(blobs.head("avatars", real).await.expect("head").is_some());
        assert!(
            blobs
                .head("avatars", disguised)
                .await
                .expect("head")
                .is_none()
        );
    }
}
