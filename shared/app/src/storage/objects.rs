//! Objects addressed by path, as Supabase Storage addresses them (the `/storage/v1` dialect,
//! docs/supabase-compat.md): `{bucket}/{path}` where the path's first folder is the owner's
//! user id — the row policy Supabase projects put on `storage.objects`
//! (`(storage.foldername(name))[1] = auth.uid()::text`). A caller writes, lists, signs and
//! deletes under its own folder only; anyone reads a public bucket's objects; a signed URL
//! reads one object until it expires.
//!
//! Signed URLs are grants kept in the table under an unguessable token (with the table's TTL
//! attribute), so they need no signing secret of their own, read the same on both backends and
//! are answered by a redirect to the blob store's own short-lived URL.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::RngCore;
use scaliyo_store::table::TTL;
use scaliyo_store::{BatchOp, BlobError, BlobMeta, Clock, Item, Key, StoreError, Table};

use super::{BucketRules, MIB, Storage, rules};
use crate::access::Actor;

/// How long the blob store's URL behind a redirect lives: long enough to follow it.
const REDIRECT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest a signed URL may live (a week, as S3's presigned URLs).
pub const MAX_SIGNED_SECONDS: u64 = 7 * 24 * 3600;
/// The most entries one list answers.
pub const MAX_LIST: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("sign in to do this")]
    Unauthenticated,
    #[error(
        "new row violates row-level security policy: objects live under the caller's own folder ({0}/...)"
    )]
    Forbidden(String),
    #[error("Bucket not found")]
    NoSuchBucket,
    #[error("Object not found")]
    NotFound,
    #[error("The resource already exists")]
    Duplicate,
    #[error("mime type {got} is not supported; {bucket} accepts {accepted}")]
    InvalidMime {
        got: String,
        bucket: &'static str,
        accepted: String,
    },
    #[error("The object exceeded the maximum allowed size ({max_mb} MB in {bucket})")]
    TooLarge { bucket: &'static str, max_mb: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error("the signed URL is invalid or has expired")]
    InvalidSignature,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<BlobError> for ObjectError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::AlreadyExists => ObjectError::Duplicate,
            BlobError::NoSuchBucket(_) => ObjectError::NoSuchBucket,
            BlobError::Invalid(reason) => ObjectError::Invalid(reason),
            BlobError::Unavailable(reason) => ObjectError::Unavailable(reason),
        }
    }
}

impl From<StoreError> for ObjectError {
    fn from(error: StoreError) -> Self {
        ObjectError::Unavailable(error.to_string())
    }
}

/// How an upload treats an object already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST` without `x-upsert`: a 409 if the path is taken.
    Create,
    /// `POST` with `x-upsert: true`.
    Upsert,
    /// `PUT` (storage-js `update`): the object must exist.
    Replace,
}

/// One object as the dialect reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    pub bucket: String,
    /// The full path within the bucket.
    pub path: String,
    pub id: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// One entry of a folder listing: a file, or a folder (no id, no metadata).
#[derive(Debug, Clone, PartialEq)]
pub enum ListEntry {
    Folder { name: String },
    File { name: String, object: ObjectInfo },
}

impl ListEntry {
    pub fn name(&self) -> &str {
        match self {
            ListEntry::Folder { name } | ListEntry::File { name, .. } => name,
        }
    }
}

/// A folder listing as storage-js asks for it.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub prefix: String,
    pub limit: usize,
    pub offset: usize,
    /// `name`, `created_at`, `updated_at` or `last_accessed_at`.
    pub sort_column: String,
    pub descending: bool,
    /// Entries whose name contains this (case-insensitive).
    pub search: String,
}

/// Where a read is answered from: the blob store's short-lived (or public) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub url: String,
}

/// A stable id for an object at a path (S3 has none to give): UUID v5 of `bucket/path`.
fn object_id(bucket: &str, path: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{bucket}/{path}").as_bytes(),
    )
    .to_string()
}

fn info(bucket: &str, meta: BlobMeta) -> ObjectInfo {
    ObjectInfo {
        bucket: bucket.to_owned(),
        id: object_id(bucket, &meta.key),
        path: meta.key,
        size: meta.size,
        content_type: meta.content_type,
        last_modified: meta.last_modified,
    }
}

/// A path as storage-js sends it (`folder/sub/file.png`, empty folders removed), checked
/// like every object key.
pub fn clean_path(path: &str) -> Result<String, ObjectError> {
    let cleaned: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let joined = cleaned.join("/");
    scaliyo_store::blobs::check_key(&joined)?;
    Ok(joined)
}

fn grant_key(token: &str) -> Key {
    Key::new(format!("storage_grant#{token}"), "grant")
}

pub struct StorageObjects {
    storage: Arc<Storage>,
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

impl StorageObjects {
    pub fn new(storage: Arc<Storage>, table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Self {
            storage,
            table,
            clock,
        }
    }

    /// The object at a path, or `NotFound`.
    async fn existing(&self, bucket: &str, path: &str) -> Result<BlobMeta, ObjectError> {
        self.storage
            .blobs()
            .head(bucket, path)
            .await?
            .ok_or(ObjectError::NotFound)
    }

    fn bucket(name: &str) -> Result<&'static BucketRules, ObjectError> {
        rules(name).ok_or(ObjectError::NoSuchBucket)
    }

    /// The caller's user id, and the path checked to lie in its folder.
    fn own_path(actor: &Actor, path: &str) -> Result<String, ObjectError> {
        let user = actor.user_id().ok_or(ObjectError::Unauthenticated)?;
        let path = clean_path(path)?;
        let folder = user.to_string();
        if path.split('/').next() != Some(folder.as_str()) || path == folder {
            return Err(ObjectError::Forbidden(folder));
        }
        Ok(path)
    }

    /// Uploads an object to the caller's folder under the bucket's type and size rules.
    pub async fn upload(
        &self,
        actor: &Actor,
        bucket: &str,
        path: &str,
        body: Bytes,
        content_type: &str,
        mode: WriteMode,
    ) -> Result<ObjectInfo, ObjectError> {
        let rules = Self::bucket(bucket)?;
        let path = Self::own_path(actor, path)?;
        // `image/png; charset=…` is an image/png.
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !rules.content_types.contains(&mime.as_str()) {
            return Err(ObjectError::InvalidMime {
                got: mime,
                bucket: rules.name,
                accepted: rules.content_types.join(", "),
            });
        }
        if body.is_empty() {
            return Err(ObjectError::Invalid("the file is empty".into()));
        }
        if body.len() as u64 > rules.max_bytes {
            return Err(ObjectError::TooLarge {
                bucket: rules.name,
                max_mb: rules.max_bytes / MIB,
            });
        }
        let blobs = self.storage.blobs();
        let size = body.len() as u64;
        match mode {
            WriteMode::Create => blobs.create(bucket, &path, body, Some(&mime)).await?,
            WriteMode::Upsert => blobs.put(bucket, &path, body, Some(&mime)).await?,
            WriteMode::Replace => {
                self.existing(bucket, &path).await?;
                blobs.put(bucket, &path, body, Some(&mime)).await?
            }
        }
        Ok(ObjectInfo {
            bucket: bucket.to_owned(),
            id: object_id(bucket, &path),
            path,
            size,
            content_type: Some(mime),
            last_modified: Some(self.clock.now()),
        })
    }

    /// An object the caller may read: its own, or any object of a public bucket.
    async fn readable(
        &self,
        actor: &Actor,
        bucket: &str,
        path: &str,
    ) -> Result<(&'static BucketRules, ObjectInfo), ObjectError> {
        let rules = Self::bucket(bucket)?;
        let path = if rules.public_read {
            clean_path(path)?
        } else {
            // Another user's private object does not exist for this caller.
            Self::own_path(actor, path).map_err(|error| match error {
                ObjectError::Forbidden(_) => ObjectError::NotFound,
                other => other,
            })?
        };
        let meta = self.existing(bucket, &path).await?;
        Ok((rules, info(bucket, meta)))
    }

    /// `GET object/info/{bucket}/{path}`.
    pub async fn info(
        &self,
        actor: &Actor,
        bucket: &str,
        path: &str,
    ) -> Result<ObjectInfo, ObjectError> {
        Ok(self.readable(actor, bucket, path).await?.1)
    }

    /// `GET object/{bucket}/{path}` (authenticated download): where to read it.
    pub async fn download(
        &self,
        actor: &Actor,
        bucket: &str,
        path: &str,
    ) -> Result<Redirect, ObjectError> {
        let (rules, object) = self.readable(actor, bucket, path).await?;
        self.redirect(rules, &object.path).await
    }

    /// `GET object/public/{bucket}/{path}`: public buckets only, signed in or not.
    pub async fn public(&self, bucket: &str, path: &str) -> Result<Redirect, ObjectError> {
        let rules = Self::bucket(bucket)?;
        if !rules.public_read {
            return Err(ObjectError::NotFound);
        }
        let path = clean_path(path)?;
        self.existing(bucket, &path).await?;
        self.redirect(rules, &path).await
    }

    async fn redirect(&self, rules: &BucketRules, path: &str) -> Result<Redirect, ObjectError> {
        if rules.public_read
            && let Some(url) = self.storage.public_url(rules.name, path)
        {
            return Ok(Redirect { url });
        }
        let signed = self
            .storage
            .blobs()
            .presign_get(rules.name, path, REDIRECT_LIFETIME)
            .await?;
        Ok(Redirect { url: signed.url })
    }

    /// `POST object/sign/{bucket}[/{path}]`: a grant to read each of the caller's objects for
    /// `expires_in` seconds; the answer is the token of each (`None`: not found).
    pub async fn sign(
        &self,
        actor: &Actor,
        bucket: &str,
        paths: &[String],
        expires_in: u64,
    ) -> Result<Vec<Result<(String, String), ObjectError>>, ObjectError> {
        if expires_in == 0 || expires_in > MAX_SIGNED_SECONDS {
            return Err(ObjectError::Invalid(format!(
                "expiresIn must be between 1 and {MAX_SIGNED_SECONDS} seconds"
            )));
        }
        if paths.is_empty() || paths.len() > 100 {
            return Err(ObjectError::Invalid(
                "sign between 1 and 100 paths at once".into(),
            ));
        }
        let expires_at = self.clock.now().timestamp() + expires_in as i64;
        let mut answers = Vec::with_capacity(paths.len());
        let mut grants = Vec::new();
        for path in paths {
            let answer = match self.readable(actor, bucket, path).await {
                Ok((_, object)) => {
                    let token = new_token();
                    grants.push(BatchOp::Put(
                        Item::new(&grant_key(&token))
                            .with("bucket", bucket)
                            .with("path", object.path.clone())
                            .with(TTL, expires_at),
                    ));
                    Ok((object.path, token))
                }
                Err(error) => Err(error),
            };
            answers.push(answer);
        }
        if !grants.is_empty() {
            self.table.batch_write(grants).await?;
        }
        Ok(answers)
    }

    /// `GET object/sign/{bucket}/{path}?token=`: where to read the granted object.
    pub async fn signed(
        &self,
        bucket: &str,
        path: &str,
        token: &str,
    ) -> Result<Redirect, ObjectError> {
        let rules = Self::bucket(bucket)?;
        let path = clean_path(path)?;
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ObjectError::InvalidSignature);
        }
        let grant = self
            .table
            .get(&grant_key(token))
            .await?
            .filter(|grant| !grant.is_expired(self.clock.now().timestamp()))
            .ok_or(ObjectError::InvalidSignature)?;
        if grant.str("bucket") != Some(bucket) || grant.str("path") != Some(path.as_str()) {
            return Err(ObjectError::InvalidSignature);
        }
        self.existing(bucket, &path).await?;
        let signed = self
            .storage
            .blobs()
            .presign_get(rules.name, &path, REDIRECT_LIFETIME)
            .await?;
        Ok(Redirect { url: signed.url })
    }

    /// `POST object/list/{bucket}`: the entries of one folder, names relative to it. Only the
    /// caller's own folder has entries (at the top: the folder itself).
    pub async fn list(
        &self,
        actor: &Actor,
        bucket: &str,
        request: ListRequest,
    ) -> Result<Vec<ListEntry>, ObjectError> {
        Self::bucket(bucket)?;
        let user = actor
            .user_id()
            .ok_or(ObjectError::Unauthenticated)?
            .to_string();
        let folder: Vec<&str> = request
            .prefix
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let mut entries = match folder.first() {
            None => vec![ListEntry::Folder { name: user.clone() }],
            Some(first) if *first == user => {
                let prefix = format!("{}/", folder.join("/"));
                scaliyo_store::blobs::check_key(&format!("{prefix}x"))?;
                folder_entries(
                    bucket,
                    &prefix,
                    self.storage.blobs().list(bucket, &prefix).await?,
                )
            }
            // Other users' folders are not visible: nothing, as a row policy answers.
            Some(_) => Vec::new(),
        };
        let search = request.search.to_lowercase();
        if !search.is_empty() {
            entries.retain(|entry| entry.name().to_lowercase().contains(&search));
        }
        sort_entries(&mut entries, &request.sort_column, request.descending);
        let limit = request.limit.clamp(1, MAX_LIST);
        Ok(entries
            .into_iter()
            .skip(request.offset)
            .take(limit)
            .collect())
    }

    /// `DELETE object/{bucket}` with `prefixes`: deletes those of the caller's objects that
    /// exist; the answer lists them (others' paths and missing ones are left out).
    pub async fn remove(
        &self,
        actor: &Actor,
        bucket: &str,
        paths: &[String],
    ) -> Result<Vec<ObjectInfo>, ObjectError> {
        Self::bucket(bucket)?;
        actor.user_id().ok_or(ObjectError::Unauthenticated)?;
        if paths.is_empty() || paths.len() > 1000 {
            return Err(ObjectError::Invalid(
                "prefixes: between 1 and 1000 paths".into(),
            ));
        }
        let blobs = self.storage.blobs();
        let mut removed = Vec::new();
        for path in paths {
            // A malformed path or another user's is not the caller's to delete: left out.
            let Ok(path) = Self::own_path(actor, path) else {
                continue;
            };
            if let Some(meta) = blobs.head(bucket, &path).await? {
                blobs.delete(bucket, &path).await?;
                removed.push(info(bucket, meta));
            }
        }
        Ok(removed)
    }
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The direct children of `prefix`: files, and one folder entry per sub-folder.
fn folder_entries(bucket: &str, prefix: &str, objects: Vec<BlobMeta>) -> Vec<ListEntry> {
    let mut entries = Vec::new();
    let mut folders = std::collections::BTreeSet::new();
    for meta in objects {
        let Some(rest) = meta.key.strip_prefix(prefix) else {
            continue;
        };
        match rest.split_once('/') {
            Some((folder, _)) => {
                folders.insert(folder.to_owned());
            }
            None => entries.push(ListEntry::File {
                name: rest.to_owned(),
                object: info(bucket, meta),
            }),
        }
    }
    entries.extend(folders.into_iter().map(|name| ListEntry::Folder { name }));
    entries
}

fn sort_entries(entries: &mut [ListEntry], column: &str, descending: bool) {
    let modified = |entry: &ListEntry| match entry {
        ListEntry::File { object, .. } => object.last_modified,
        ListEntry::Folder { .. } => None,
    };
    entries.sort_by(|a, b| {
        let order = match column {
            "created_at" | "updated_at" | "last_accessed_at" => modified(a)
                .cmp(&modified(b))
                .then_with(|| a.name().cmp(b.name())),
            _ => a.name().cmp(b.name()),
        };
        if descending { order.reverse() } else { order }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str) -> BlobMeta {
        BlobMeta {
            key: key.into(),
            size: 1,
            content_type: None,
            last_modified: None,
        }
    }

    #[test]
    fn a_folder_lists_its_files_and_subfolders_once() {
        let entries = folder_entries(
            "avatars",
            "u/",
            vec![meta("u/a.png"), meta("u/sub/b.png"), meta("u/sub/c.png")],
        );
        let names: Vec<&str> = entries.iter().map(ListEntry::name).collect();
        assert_eq!(names, ["a.png", "sub"]);
    }

    #[test]
    fn paths_lose_empty_folders_and_cannot_climb() {
        assert_eq!(clean_path("/u//a/b.png/").ok(), Some("u/a/b.png".into()));
        assert!(clean_path("u/../v/b.png").is_err());
        assert!(clean_path("").is_err());
    }

    #[test]
    fn object_ids_are_stable_per_path() {
        assert_eq!(object_id("a", "u/x"), object_id("a", "u/x"));
        assert_ne!(object_id("a", "u/x"), object_id("b", "u/x"));
    }
}
