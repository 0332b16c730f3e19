//! The blob port: objects in named buckets (S3 in AWS, a directory locally).

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::AsyncRead;

/// A new object in a bucket, as the blob store reports it (an S3 event notification in AWS,
/// the local store's hook locally): what a worker that reacts to uploads is handed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectCreated {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    pub url: String,
    pub method: &'static str,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object already exists")]
    AlreadyExists,
    #[error("bucket not found: {0}")]
    NoSuchBucket(String),
    #[error("invalid object request: {0}")]
    Invalid(String),
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// A body written as it is produced (reports composed from parts, large exports).
pub type ByteChunks = Pin<Box<dyn futures::Stream<Item = Result<Bytes, BlobError>> + Send>>;

#[async_trait]
pub trait Blobs: Send + Sync {
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError>;

    /// Writes only if no object has the key; `AlreadyExists` otherwise (S3 `If-None-Match: *`).
    async fn create(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError>;

    /// Writes an object from a stream of chunks without holding it whole (S3: a multipart
    /// upload in parts of a few MiB; the object appears only when complete).
    async fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        body: ByteChunks,
        content_type: Option<&str>,
    ) -> Result<(), BlobError>;

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Bytes>, BlobError>;

    /// Streams an object without holding it in memory.
    async fn open(&self, bucket: &str, key: &str) -> Result<Option<BlobReader>, BlobError>;

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<BlobMeta>, BlobError>;

    /// Deleting a missing object is not an error (as in S3).
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), BlobError>;

    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<BlobMeta>, BlobError>;

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedUrl, BlobError>;

    /// A URL to upload exactly one object of this type (and, when given, exactly this many
    /// bytes: the length is part of the signature, which is how upload size limits hold).
    async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUrl, BlobError>;
}

/// Keys that would escape a prefix or a directory are refused by every backend alike.
pub fn check_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.len() > 1024
        || key.starts_with('/')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        || key.chars().any(|c| c.is_control() || c == '\\');
    if bad {
        return Err(BlobError::Invalid(format!(
            "object key {key:?} is not allowed"
        )));
    }
    Ok(())
}
