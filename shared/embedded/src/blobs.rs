//! `LocalBlobs`: buckets as directories under the data directory. Presigned URLs point at
//! the local server (`/_blobs/...`), signed with HMAC-SHA256 under a local key, and are
//! checked there by [`LocalBlobs::verify`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use scaliyo_store::blobs::{BlobReader, check_key};
use scaliyo_store::{BlobError, BlobMeta, Blobs, Clock, PresignedUrl};
use sha2::Sha256;

const META_DIR: &str = ".meta";

#[derive(Clone)]
pub struct LocalBlobs {
    root: PathBuf,
    buckets: Vec<String>,
    /// Base URL of the local server, e.g. `http://127.0.0.1:3000`.
    public_base: String,
    signing_key: Arc<Vec<u8>>,
    clock: Arc<dyn Clock>,
    /// What S3 event notifications do in AWS: called with (bucket, key, size) after an
    /// object is written.
    on_created: Arc<std::sync::RwLock<Vec<CreatedHook>>>,
}

pub type CreatedHook = Arc<dyn Fn(&str, &str, u64) + Send + Sync>;

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    content_type: Option<String>,
}

fn io(error: std::io::Error) -> BlobError {
    BlobError::Unavailable(error.to_string())
}

impl LocalBlobs {
    pub fn new(
        root: &Path,
        buckets: &[&str],
        public_base: impl Into<String>,
        signing_key: Vec<u8>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BlobError> {
        for bucket in buckets {
            std::fs::create_dir_all(root.join(bucket)).map_err(io)?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            public_base: public_base.into().trim_end_matches('/').to_owned(),
            signing_key: Arc::new(signing_key),
            clock,
            on_created: Arc::default(),
        })
    }

    /// Registers a hook for every object written (the local stand-in for S3 → SQS
    /// notifications).
    pub fn notify_on_created(&self, hook: CreatedHook) {
        if let Ok(mut hooks) = self.on_created.write() {
            hooks.push(hook);
        }
    }

    /// The object's content type, beside it (what S3 keeps as object metadata).
    async fn write_meta(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        let meta_path = self.meta_path(bucket, key);
        if let Some(meta_parent) = meta_path.parent() {
            tokio::fs::create_dir_all(meta_parent).await.map_err(io)?;
        }
        let meta = serde_json::to_vec(&Meta {
            content_type: content_type.map(str::to_owned),
        })
        .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        tokio::fs::write(meta_path, meta).await.map_err(io)
    }

    fn created(&self, bucket: &str, key: &str, size: u64) {
        let hooks = match self.on_created.read() {
            Ok(hooks) => hooks.clone(),
            Err(_) => return,
        };
        for hook in hooks {
            hook(bucket, key, size);
        }
    }

    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, BlobError> {
        if !self.buckets.iter().any(|b| b == bucket) {
            return Err(BlobError::NoSuchBucket(bucket.to_owned()));
        }
        check_key(key)?;
        if key.split('/').next() == Some(META_DIR) {
            return Err(BlobError::Invalid("reserved key prefix".into()));
        }
        Ok(self.root.join(bucket).join(key))
    }

    fn meta_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root
            .join(bucket)
            .join(META_DIR)
            .join(format!("{key}.json"))
    }

    fn mac(&self, request: &SignedRequest<'_>) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).ok()?;
        mac.update(request.signed_text().as_bytes());
        Some(mac)
    }

    /// Checks a presigned request as the local server receives it (every signed part).
    pub fn verify(&self, request: &SignedRequest<'_>, signature: &str) -> bool {
        if self.clock.now().timestamp() > request.expires {
            return false;
        }
        match (self.mac(request), hex::decode(signature)) {
            (Some(mac), Ok(expected)) => mac.verify_slice(&expected).is_ok(),
            _ => false,
        }
    }

    fn presign(
        &self,
        method: &'static str,
        bucket: &str,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUrl, BlobError> {
        self.path(bucket, key)?;
        let expires_at: DateTime<Utc> = self.clock.now()
            + chrono::Duration::from_std(expires_in)
                .map_err(|e| BlobError::Invalid(e.to_string()))?;
        let expires = expires_at.timestamp();
        let request = SignedRequest {
            method,
            bucket,
            key,
            expires,
            content_type,
            content_length,
        };
        let signature = self
            .mac(&request)
            .map(|mac| hex::encode(mac.finalize().into_bytes()))
            .unwrap_or_default();
        let mut url = format!(
            "{}/_blobs/{bucket}/{}?expires={expires}&signature={signature}",
            self.public_base,
            encode_path(key)
        );
        if !content_type.is_empty() {
            url.push_str("&content_type=");
            url.push_str(&encode_component(content_type));
        }
        if let Some(length) = content_length {
            url.push_str(&format!("&content_length={length}"));
        }
        Ok(PresignedUrl {
            url,
            method,
            expires_at,
        })
    }

    async fn write(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
        exclusive: bool,
    ) -> Result<(), BlobError> {
        let path = self.path(bucket, key)?;
        let parent = path
            .parent()
            .ok_or_else(|| BlobError::Invalid("bad key".into()))?;
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
        // Write beside the target, then move (or link, for create-if-absent) into place so a
        // reader never sees half an object.
        let temp = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&temp, &body).await.map_err(io)?;
        let placed = if exclusive {
            let linked = tokio::fs::hard_link(&temp, &path).await;
            let _ = tokio::fs::remove_file(&temp).await;
            match linked {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(BlobError::AlreadyExists);
                }
                other => other,
            }
        } else {
            tokio::fs::rename(&temp, &path).await
        };
        placed.map_err(io)?;
        self.write_meta(bucket, key, content_type).await?;
        self.created(bucket, key, body.len() as u64);
        Ok(())
    }
}

/// What a presigned URL's signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub expires: i64,
    /// Empty for downloads.
    pub content_type: &'a str,
    pub content_length: Option<u64>,
}

impl SignedRequest<'_> {
    fn signed_text(&self) -> String {
        let length = self
            .content_length
            .map(|l| l.to_string())
            .unwrap_or_default();
        format!(
            "{}\n{}\n{}\n{}\n{}\n{length}",
            self.method, self.bucket, self.key, self.expires, self.content_type
        )
    }
}

fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn encode_path(key: &str) -> String {
    key.split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/")
}

#[async_trait]
impl Blobs for LocalBlobs {
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        self.write(bucket, key, body, content_type, false).await
    }

    async fn create(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        self.write(bucket, key, body, content_type, true).await
    }

    async fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        mut body: scaliyo_store::ByteChunks,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let path = self.path(bucket, key)?;
        let parent = path
            .parent()
            .ok_or_else(|| BlobError::Invalid("bad key".into()))?;
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
        let temp = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let mut file = tokio::fs::File::create(&temp).await.map_err(io)?;
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(&temp).await;
                    return Err(e);
                }
            };
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        drop(file);
        tokio::fs::rename(&temp, &path).await.map_err(io)?;
        self.write_meta(bucket, key, content_type).await?;
        self.created(bucket, key, size);
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(bucket, key)?;
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<Option<BlobReader>, BlobError> {
        let path = self.path(bucket, key)?;
        match tokio::fs::File::open(path).await {
            Ok(file) => Ok(Some(Box::pin(tokio::io::BufReader::new(file)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<BlobMeta>, BlobError> {
        let path = self.path(bucket, key)?;
        let metadata = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let content_type = match tokio::fs::read(self.meta_path(bucket, key)).await {
            Ok(bytes) => serde_json::from_slice::<Meta>(&bytes)
                .ok()
                .and_then(|m| m.content_type),
            Err(_) => None,
        };
        Ok(Some(BlobMeta {
            key: key.to_owned(),
            size: metadata.len(),
            content_type,
            last_modified: metadata.modified().ok().map(DateTime::<Utc>::from),
        }))
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), BlobError> {
        let path = self.path(bucket, key)?;
        for target in [path, self.meta_path(bucket, key)] {
            match tokio::fs::remove_file(target).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<BlobMeta>, BlobError> {
        if !self.buckets.iter().any(|b| b == bucket) {
            return Err(BlobError::NoSuchBucket(bucket.to_owned()));
        }
        let bucket_root = self.root.join(bucket);
        let mut keys = Vec::new();
        let mut pending = vec![bucket_root.clone()];
        while let Some(dir) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(io)? {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name == META_DIR && dir == bucket_root || name.starts_with(".tmp-") {
                    continue;
                }
                if entry.file_type().await.map_err(io)?.is_dir() {
                    pending.push(path);
                } else if let Ok(relative) = path.strip_prefix(&bucket_root) {
                    let key = relative.to_string_lossy().replace('\\', "/");
                    if key.starts_with(prefix) {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(meta) = self.head(bucket, &key).await? {
                out.push(meta);
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
        self.presign("GET", bucket, key, "", None, expires_in)
    }

    async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUrl, BlobError> {
        self.presign("PUT", bucket, key, content_type, content_length, expires_in)
    }
}
