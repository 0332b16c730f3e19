//! Uploads checked against their declared type once they land (docs/storage.md): the bytes
//! go straight from the browser to the bucket through a presigned URL, so the check runs on
//! the bucket's object-created notification — S3 → SQS → `verify-uploads` in AWS, the local
//! blob store's hook locally. An object whose first bytes are not what its `Content-Type`
//! says (an "image/png" that is an HTML page) is deleted before anyone is served it for long.

use std::sync::Arc;

use scaliyo_domain::media;
use scaliyo_store::{BlobError, Blobs, ObjectCreated};
use tokio::io::AsyncReadExt;

use crate::storage;

/// What the check did with an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadCheck {
    /// Its bytes are what it was declared to be.
    Kept,
    /// It was not: deleted.
    Removed {
        declared: Option<String>,
        found: Option<&'static str>,
    },
    /// Not an object of the schema's buckets, or gone already.
    Skipped,
}

#[derive(Clone)]
pub struct UploadChecker {
    blobs: Arc<dyn Blobs>,
}

impl UploadChecker {
    pub fn new(blobs: Arc<dyn Blobs>) -> Self {
        Self { blobs }
    }

    /// Checks one created object. Retried by its caller on an error (the notification stays
    /// on its queue).
    pub async fn check(&self, created: &ObjectCreated) -> Result<UploadCheck, BlobError> {
        let (bucket, key) = (created.bucket.as_str(), created.key.as_str());
        if storage::rules(bucket).is_none() {
            return Ok(UploadCheck::Skipped);
        }
        let Some(meta) = self.blobs.head(bucket, key).await? else {
            return Ok(UploadCheck::Skipped);
        };
        let Some(mut reader) = self.blobs.open(bucket, key).await? else {
            return Ok(UploadCheck::Skipped);
        };
        let mut head = Vec::with_capacity(media::SNIFF_BYTES);
        (&mut reader)
            .take(media::SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .await
            .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        let declared = meta.content_type;
        if declared
            .as_deref()
            .is_some_and(|declared| media::agrees(declared, &head))
        {
            return Ok(UploadCheck::Kept);
        }
        self.blobs.delete(bucket, key).await?;
        let found = media::sniff(&head);
        tracing::warn!(
            bucket,
            declared = declared.as_deref().unwrap_or("none"),
            found = found.unwrap_or("unknown"),
            "an upload is not what its content type says; it was deleted"
        );
        Ok(UploadCheck::Removed { declared, found })
    }
}
