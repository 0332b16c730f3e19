//! `S3Blobs`: the blob port on Amazon S3 (and moto). Logical bucket names of the schema
//! (`blog-assets`, `social_media`, …) map to physical bucket names from configuration.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use scaliyo_store::blobs::{BlobReader, check_key};
use scaliyo_store::{BlobError, BlobMeta, Blobs, PresignedUrl};

/// Parts of a streamed upload (S3's minimum is 5 MiB for all but the last).
const PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct S3Blobs {
    client: Client,
    /// Logical bucket name → physical S3 bucket name.
    buckets: HashMap<String, String>,
}

impl S3Blobs {
    pub fn new(client: Client, buckets: HashMap<String, String>) -> Self {
        Self { client, buckets }
    }

    fn bucket(&self, logical: &str) -> Result<&str, BlobError> {
        self.buckets
            .get(logical)
            .map(String::as_str)
            .ok_or_else(|| BlobError::NoSuchBucket(logical.to_owned()))
    }
}

fn code_of<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

fn status_of<E, R: HasStatus>(error: &SdkError<E, R>) -> Option<u16> {
    match error {
        SdkError::ServiceError(service) => Some(service.raw().status_code()),
        _ => None,
    }
}

trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn map_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> BlobError {
    match (code_of(&error), status_of(&error)) {
        (Some("NoSuchBucket"), _) => BlobError::NoSuchBucket(format!("{error:?}")),
        (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) | (_, Some(412)) => {
            BlobError::AlreadyExists
        }
        (Some("InvalidArgument" | "InvalidRequest" | "KeyTooLongError"), _) => {
            BlobError::Invalid(format!("{error:?}"))
        }
        _ => BlobError::Unavailable(format!("{error:?}")),
    }
}

fn is_not_found<E: ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    matches!(code_of(error), Some("NoSuchKey" | "NotFound")) || status_of(error) == Some(404)
}

fn to_chrono(time: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(expires_in).map_err(|e| BlobError::Invalid(e.to_string()))
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .body(ByteStream::from(body))
            .set_content_type(content_type.map(str::to_owned))
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        mut body: scaliyo_store::ByteChunks,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        use futures::StreamExt;
        check_key(key)?;
        let physical = self.bucket(bucket)?.to_owned();
        let mut buffer: Vec<u8> = Vec::with_capacity(PART_BYTES);
        let mut upload_id: Option<String> = None;
        let mut parts: Vec<CompletedPart> = Vec::new();
        let result: Result<(), BlobError> = async {
            loop {
                let next = body.next().await.transpose()?;
                let done = next.is_none();
                if let Some(chunk) = next {
                    buffer.extend_from_slice(&chunk);
                }
                if buffer.len() < PART_BYTES && !done {
                    continue;
                }
                if done && upload_id.is_none() {
                    // Small enough for one request.
                    self.client
                        .put_object()
                        .bucket(&physical)
                        .key(key)
                        .body(ByteStream::from(std::mem::take(&mut buffer)))
                        .set_content_type(content_type.map(str::to_owned))
                        .send()
                        .await
                        .map_err(map_error)?;
                    return Ok(());
                }
                let id = match &upload_id {
                    Some(id) => id.clone(),
                    None => {
                        let created = self
                            .client
                            .create_multipart_upload()
                            .bucket(&physical)
                            .key(key)
                            .set_content_type(content_type.map(str::to_owned))
                            .send()
                            .await
                            .map_err(map_error)?;
                        let id = created.upload_id().unwrap_or_default().to_owned();
                        upload_id = Some(id.clone());
                        id
                    }
                };
                if !buffer.is_empty() {
                    let number = parts.len() as i32 + 1;
                    let uploaded = self
                        .client
                        .upload_part()
                        .bucket(&physical)
                        .key(key)
                        .upload_id(&id)
                        .part_number(number)
                        .body(ByteStream::from(std::mem::take(&mut buffer)))
                        .send()
                        .await
                        .map_err(map_error)?;
                    parts.push(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(uploaded.e_tag().map(str::to_owned))
                            .build(),
                    );
                }
                if done {
                    self.client
                        .complete_multipart_upload()
                        .bucket(&physical)
                        .key(key)
                        .upload_id(&id)
                        .multipart_upload(
                            CompletedMultipartUpload::builder()
                                .set_parts(Some(std::mem::take(&mut parts)))
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(map_error)?;
                    return Ok(());
                }
            }
        }
        .await;
        if let (Err(_), Some(id)) = (&result, &upload_id) {
            // No half object, and no parts left to pay for.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&physical)
                .key(key)
                .upload_id(id)
                .send()
                .await;
        }
        result
    }

    async fn create(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .set_content_type(content_type.map(str::to_owned))
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Bytes>, BlobError> {
        check_key(key)?;
        let output = match self
            .client
            .get_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(map_error(e)),
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        Ok(Some(body.into_bytes()))
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<Option<BlobReader>, BlobError> {
        check_key(key)?;
        match self
            .client
            .get_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(Box::pin(output.body.into_async_read()))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<BlobMeta>, BlobError> {
        check_key(key)?;
        match self
            .client
            .head_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(BlobMeta {
                key: key.to_owned(),
                size: output.content_length().unwrap_or(0).max(0) as u64,
                content_type: output.content_type().map(str::to_owned),
                last_modified: output.last_modified().and_then(to_chrono),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let physical = self.bucket(bucket)?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .client
                .list_objects_v2()
                .bucket(physical)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(map_error)?;
            for object in output.contents() {
                out.push(BlobMeta {
                    key: object.key().unwrap_or_default().to_owned(),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    content_type: None,
                    last_modified: object.last_modified().and_then(to_chrono),
                });
            }
            match output.next_continuation_token() {
                Some(next) if output.is_truncated().unwrap_or(false) => {
                    token = Some(next.to_owned())
                }
                _ => break,
            }
        }
        Ok(out)
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedUrl, BlobError> {
        check_key(key)?;
        let request = self
            .client
            .get_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(map_error)?;
        Ok(PresignedUrl {
            url: request.uri().to_owned(),
            method: "GET",
            expires_at: Utc::now() + chrono::Duration::from_std(expires_in).unwrap_or_default(),
        })
    }

    async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUrl, BlobError> {
        check_key(key)?;
        let request = self
            .client
            .put_object()
            .bucket(self.bucket(bucket)?)
            .key(key)
            .content_type(content_type)
            .set_content_length(content_length.map(|l| l as i64))
            .presigned(presigning(expires_in)?)
            .await
            .map_err(map_error)?;
        Ok(PresignedUrl {
            url: request.uri().to_owned(),
            method: "PUT",
            expires_at: Utc::now() + chrono::Duration::from_std(expires_in).unwrap_or_default(),
        })
    }
}
