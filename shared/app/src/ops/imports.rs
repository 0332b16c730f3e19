//! An import that stopped — its upload notification dead-lettered, or lost — set going again
//! from its checkpoint: the notification the imports bucket would send is queued for the
//! `import-leads` worker, which claims the batch (`pending`, or `processing` with an expired
//! lease) and carries on at the row after its last checkpoint. Rows already written are
//! recognised, not imported twice.

use chrono::{DateTime, SecondsFormat, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_domain::status::BatchStatus;
use scaliyo_store::{OutgoingMessage, Queue, QueueError};
use serde_json::json;

use crate::import::{LEASE_UNTIL, NEXT_ROW, source_key};
use crate::rows::{RowError, Rows};

/// What was found and done.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportResume {
    pub batch_id: String,
    /// The batch's status when it was queued (`pending` or `processing`).
    pub status: String,
    /// The first row the worker will read (1 when no chunk was checkpointed yet).
    pub next_row: i64,
    /// A worker holds the batch now (its lease has not run out): the queued notification finds
    /// it taken and does nothing; run the command again once the lease has expired if the
    /// worker is known to be gone.
    pub held_until: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("no import batch {0} for this owner")]
    NotFound(String),
    #[error("import batch {batch_id} is {status}: nothing to resume")]
    Finished { batch_id: String, status: String },
    #[error("the table: {0}")]
    Rows(#[from] RowError),
    #[error("the imports queue: {0}")]
    Queue(#[from] QueueError),
}

/// Queues the upload notification of `owner`'s batch `batch_id` again; `notification` writes
/// it for the source object's key in the deployment's form (S3's event notification on AWS,
/// [`s3_notification`]; the local queue's `ObjectCreated`).
pub async fn resume_import(
    rows: &Rows,
    imports: &dyn Queue,
    notification: impl FnOnce(&str) -> String,
    owner: OwnerId,
    batch_id: &str,
    now_epoch: i64,
) -> Result<ImportResume, ResumeError> {
    let item = rows
        .get_raw(&schema::IMPORT_BATCHES, Some(&owner.to_string()), batch_id)
        .await?
        .ok_or_else(|| ResumeError::NotFound(batch_id.to_owned()))?;
    let status = item.str("status").and_then(BatchStatus::parse);
    if !matches!(status, Some(BatchStatus::Pending | BatchStatus::Processing)) {
        return Err(ResumeError::Finished {
            batch_id: batch_id.to_owned(),
            status: item.str("status").unwrap_or("unknown").to_owned(),
        });
    }
    let held_until = item
        .i64(LEASE_UNTIL)
        .filter(|until| status == Some(BatchStatus::Processing) && *until > now_epoch);
    imports
        .send_batch(vec![OutgoingMessage::new(notification(&source_key(
            owner, batch_id,
        )))])
        .await?;
    Ok(ImportResume {
        batch_id: batch_id.to_owned(),
        status: item.str("status").unwrap_or_default().to_owned(),
        next_row: item.i64(NEXT_ROW).unwrap_or(1),
        held_until,
    })
}

/// The S3 event notification `bucket` sends for a created object (the fields the worker
/// reads; keys of imports are UUIDs and `/`, which S3 does not encode).
pub fn s3_notification(bucket: &str, key: &str, at: DateTime<Utc>) -> String {
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventTime": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "scaliyo-ops" },
            "requestParameters": {},
            "responseElements": {},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "scaliyo-ops-resume",
                "bucket": { "name": bucket, "arn": format!("arn:aws:s3:::{bucket}") },
                "object": { "key": key }
            }
        }]
    })
    .to_string()
}
