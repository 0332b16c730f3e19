//! The schema's storage buckets (section 5): uploads through presigned URLs under the
//! caller's own prefix, with per-bucket content-type and size rules; public read for the three
//! public buckets, short-lived signed downloads for the private one.

pub mod objects;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scaliyo_store::{BlobError, Blobs};
use serde::Serialize;

use crate::access::{AccessError, Actor};
use crate::rows::RowError;

const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
const IMAGES_AND_VIDEOS: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/quicktime",
];
const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketRules {
    pub name: &'static str,
    pub public_read: bool,
    /// The seed sets 10 MB for `image-gen-assets`; the others have no seed limit, so a cap a
    /// browser upload of that kind never needs to pass bounds abuse.
    pub max_bytes: u64,
    pub content_types: &'static [&'static str],
}

pub const BUCKETS: [BucketRules; 4] = [
    BucketRules {
        name: "blog-assets",
        public_read: true,
        max_bytes: 20 * MIB,
        content_types: IMAGES,
    },
    BucketRules {
        name: "image-gen-assets",
        public_read: true,
        max_bytes: 10 * MIB,
        content_types: IMAGES,
    },
    BucketRules {
        name: "social_media",
        public_read: false,
        max_bytes: 200 * MIB,
        content_types: IMAGES_AND_VIDEOS,
    },
    BucketRules {
        name: "avatars",
        public_read: true,
        max_bytes: 5 * MIB,
        content_types: IMAGES,
    },
];

pub fn rules(bucket: &str) -> Option<&'static BucketRules> {
    BUCKETS.iter().find(|b| b.name == bucket)
}

pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
pub const DOWNLOAD_URL_LIFETIME: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UploadTicket {
    pub bucket: String,
    pub key: String,
    pub method: &'static str,
    pub upload_url: String,
    /// Headers the upload must carry exactly (they are signed).
    pub headers: HashMap<String, String>,
    pub expires_at: String,
    /// Where the object is readable once uploaded (public buckets only).
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
    /// Public buckets: where anyone reads it.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DownloadTicket {
    pub url: String,
    pub expires_at: String,
}

fn invalid(column: &str, reason: String) -> AccessError {
    AccessError::Row(RowError::Invalid {
        column: column.into(),
        reason,
    })
}

fn blob_error(error: BlobError) -> AccessError {
    match error {
        BlobError::Invalid(reason) => invalid("file_name", reason),
        BlobError::NoSuchBucket(_) => AccessError::Row(RowError::NotFound),
        other => AccessError::Row(RowError::Store(scaliyo_store::StoreError::Unavailable(
            other.to_string(),
        ))),
    }
}

/// A file name made safe for an object key: letters, digits, `.`, `-`, `_` only.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    let short: String = trimmed.chars().take(100).collect();
    if short.is_empty() {
        "file".into()
    } else {
        short
    }
}

#[derive(Clone)]
pub struct Storage {
    blobs: Arc<dyn Blobs>,
    /// Public base URL per public bucket (S3 website/CloudFront in AWS, the local server here).
    public_bases: HashMap<String, String>,
}

impl Storage {
    pub fn new(blobs: Arc<dyn Blobs>, public_bases: HashMap<String, String>) -> Self {
        Self {
            blobs,
            public_bases,
        }
    }

    /// The buckets' blob store (the social service reads its media bucket through it).
    pub fn blobs(&self) -> Arc<dyn Blobs> {
        self.blobs.clone()
    }

    pub fn public_url(&self, bucket: &str, key: &str) -> Option<String> {
        self.public_bases
            .get(bucket)
            .map(|base| format!("{}/{key}", base.trim_end_matches('/')))
    }

    pub async fn upload(
        &self,
        actor: &Actor,
        bucket: &str,
        file_name: &str,
        content_type: &str,
        size: u64,
    ) -> Result<UploadTicket, AccessError> {
        let user = actor.owner()?;
        let rules = rules(bucket).ok_or(AccessError::Row(RowError::NotFound))?;
        if !rules.content_types.contains(&content_type) {
            return Err(invalid(
                "content_type",
                format!("{bucket} accepts {}", rules.content_types.join(", ")),
            ));
        }
        if size == 0 || size > rules.max_bytes {
            return Err(invalid(
                "size",
                format!(
                    "{bucket} accepts files of 1 byte to {} MB",
                    rules.max_bytes / MIB
                ),
            ));
        }
        let key = format!(
            "{user}/{}-{}",
            uuid::Uuid::new_v4().simple(),
            safe_file_name(file_name)
        );
        let signed = self
            .blobs
            .presign_put(bucket, &key, content_type, Some(size), UPLOAD_URL_LIFETIME)
            .await
            .map_err(blob_error)?;
        let headers = HashMap::from([
            ("content-type".to_owned(), content_type.to_owned()),
            ("content-length".to_owned(), size.to_string()),
        ]);
        Ok(UploadTicket {
            bucket: bucket.to_owned(),
            public_url: if rules.public_read {
                self.public_url(bucket, &key)
            } else {
                None
            },
            key,
            method: signed.method,
            upload_url: signed.url,
            headers,
            expires_at: crate::rows::timestamp_text(signed.expires_at),
        })
    }

    /// A short-lived URL to read an object of the caller's own (private buckets), or the
    /// public URL (public buckets).
    pub async fn download(
        &self,
        actor: &Actor,
        bucket: &str,
        key: &str,
    ) -> Result<DownloadTicket, AccessError> {
        let user = actor.owner()?;
        let rules = rules(bucket).ok_or(AccessError::Row(RowError::NotFound))?;
        // Another user's object does not exist for this caller.
        if !key.starts_with(&format!("{user}/")) && !rules.public_read {
            return Err(AccessError::Row(RowError::NotFound));
        }
        self.ensure_exists(bucket, key).await?;
        if rules.public_read
            && let Some(url) = self.public_url(bucket, key)
        {
            return Ok(DownloadTicket {
                url,
                expires_at: String::new(),
            });
        }
        let signed = self
            .blobs
            .presign_get(bucket, key, DOWNLOAD_URL_LIFETIME)
            .await
            .map_err(blob_error)?;
        Ok(DownloadTicket {
            url: signed.url,
            expires_at: crate::rows::timestamp_text(signed.expires_at),
        })
    }

    /// The caller's objects in a bucket (under their prefix), newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        bucket: &str,
    ) -> Result<Vec<StoredObject>, AccessError> {
        let user = actor.owner()?;
        let rules = rules(bucket).ok_or(AccessError::Row(RowError::NotFound))?;
        let mut objects: Vec<StoredObject> = self
            .blobs
            .list(bucket, &format!("{user}/"))
            .await
            .map_err(blob_error)?
            .into_iter()
            .map(|meta| StoredObject {
                public_url: if rules.public_read {
                    self.public_url(bucket, &meta.key)
                } else {
                    None
                },
                last_modified: meta.last_modified.map(crate::rows::timestamp_text),
                key: meta.key,
                size: meta.size,
                content_type: meta.content_type,
            })
            .collect();
        objects.sort_by(|a, b| {
            b.last_modified
                .cmp(&a.last_modified)
                .then(a.key.cmp(&b.key))
        });
        Ok(objects)
    }

    /// An object that is not there is `NotFound`, as another user's is.
    async fn ensure_exists(&self, bucket: &str, key: &str) -> Result<(), AccessError> {
        match self.blobs.head(bucket, key).await.map_err(blob_error)? {
            Some(_) => Ok(()),
            None => Err(AccessError::Row(RowError::NotFound)),
        }
    }

    /// Deletes one of the caller's objects (another user's does not exist for them).
    pub async fn delete(&self, actor: &Actor, bucket: &str, key: &str) -> Result<(), AccessError> {
        let user = actor.owner()?;
        rules(bucket).ok_or(AccessError::Row(RowError::NotFound))?;
        if !key.starts_with(&format!("{user}/")) {
            return Err(AccessError::Row(RowError::NotFound));
        }
        self.ensure_exists(bucket, key).await?;
        self.blobs.delete(bucket, key).await.map_err(blob_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_escape_or_smuggle() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("My Photo (1).PNG"), "My_Photo__1_.PNG");
        assert_eq!(safe_file_name("..."), "file");
        assert_eq!(safe_file_name("a\\b\\c.jpg"), "c.jpg");
    }

    #[test]
    fn image_gen_assets_keep_the_seeds_10_mb_limit() {
        assert_eq!(
            rules("image-gen-assets").map(|r| r.max_bytes),
            Some(10 * MIB)
        );
        assert!(!rules("social_media").unwrap().public_read);
    }
}
