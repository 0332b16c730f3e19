//! `import-leads`: a CSV (or Apollo export) streamed from the blob store into leads, with a
//! verdict for every row.
//!
//! - **Start** creates the `import_batches` row and a presigned upload URL for
//!   `<owner>/<batch>/source` in the imports bucket; the upload's ObjectCreated notification
//!   (S3 → SQS, or the local blob store's hook) starts processing.
//! - **Processing** streams the object (never whole in memory), decodes and splits it, maps and
//!   normalises each row, and works in chunks: duplicates within the file (64-bit hashes of the
//!   keys, so memory stays flat), duplicates against the workspace (the uniqueness items of the
//!   seed's two partial unique indexes), the plan's contacts limit (one reservation per chunk,
//!   made idempotent by a marker item), the writes, the chunk's rejected rows (a CSV part
//!   beside the upload), then a checkpoint on the batch row with the counts.
//! - **Resumption**: lead ids are derived from `(batch, row number)`, so a chunk re-run after a
//!   crash recognises the rows it already wrote; the rows before the checkpoint are re-read
//!   only to rebuild the in-file duplicate sets. A finished batch ignores redeliveries.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use scaliyo_domain::import::{
    FileProblem, LeadDraft, Mapping, RawRecord, RecordSplitter, RowOutcome, SNIFF_BYTES,
    SkipReason, TextDecoder, map_row, sniff_delimiter, sniff_encoding,
};
use scaliyo_domain::schema::{self, Table};
use scaliyo_store::{
    BlobError, BlobReader, Blobs, Clock, CmpOp, Condition, Item, Key, PresignedUrl, StoreError,
    Update, Value as StoreValue, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text};
use crate::webhooks::WebhookEmitter;

/// Internal attributes of a batch item being processed.
const LEASE_UNTIL: &str = "_lease_until";
const LEASE_OWNER: &str = "_lease_owner";
const NEXT_ROW: &str = "_next_row";
const CHUNK: &str = "_chunk";
/// Entries of `skipped_rows` kept on the batch row (the CSV has all of them).
pub const SKIPPED_ROWS_KEPT: usize = 100;
/// Characters of a raw row kept in a report.
const RAW_KEPT: usize = 300;

#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The private bucket of uploads and reports.
    pub bucket: String,
    /// Rows per chunk (one reservation, one checkpoint).
    pub chunk_rows: usize,
    /// How long a worker's claim on a batch holds without a checkpoint.
    pub lease: Duration,
    /// Write transactions in flight per chunk.
    pub write_concurrency: usize,
    /// The largest file accepted by a direct POST (bigger files use the presigned upload).
    pub max_direct_bytes: usize,
    /// The largest upload (the presigned URL signs the exact length).
    pub max_upload_bytes: u64,
}

impl ImportConfig {
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            chunk_rows: 1_500,
            lease: Duration::minutes(2),
            write_concurrency: 16,
            max_direct_bytes: 5 * 1024 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the batch is {status}; {action}")]
    WrongState {
        status: String,
        action: &'static str,
    },
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// A file of no bytes: there is nothing to import.
    #[error("the file is empty")]
    EmptyFile,
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
}

impl From<RowError> for ImportError {
    fn from(error: RowError) -> Self {
        ImportError::Access(AccessError::Row(error))
    }
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        ImportError::Access(AccessError::Row(RowError::Store(error)))
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Leave the existing lead alone; the row is skipped as `duplicate_existing`.
    #[default]
    Skip,
    /// Update the existing lead (`update_mode`: fill its empty fields, or overwrite).
    Update,
    /// Create another lead anyway: it keeps the address in `email`/`emails` but not in the
    /// uniquely indexed `primary_email`/`linkedin_url`.
    Create,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    #[default]
    FillEmpty,
    Overwrite,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    #[serde(default)]
    pub on_duplicate: OnDuplicate,
    #[serde(default)]
    pub update_mode: UpdateMode,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub file_name: String,
    /// `csv` (default) or `apollo` (an Apollo export; sets `source = apollo`).
    pub file_type: Option<String>,
    #[serde(default)]
    pub column_mapping: Map<String, Value>,
    #[serde(default)]
    pub options: ImportOptions,
    /// The upload's exact size in bytes, signed into the presigned URL (an upload of another
    /// size is refused by the store) and checked on a direct upload.
    pub content_length: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub batch: Row,
    pub upload: Upload,
}

#[derive(Debug, Clone, Serialize)]
pub struct Upload {
    pub url: String,
    pub method: &'static str,
    pub expires_at: String,
    pub headers: Map<String, Value>,
}

/// What one processing call did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Progress {
    Completed {
        batch_id: String,
    },
    Failed {
        batch_id: String,
        code: String,
    },
    /// Stopped before the deadline at a checkpoint; a redelivery resumes.
    Paused {
        batch_id: String,
        next_row: u64,
    },
    /// Already finished, or another worker holds it: nothing to do.
    Nothing {
        batch_id: String,
    },
}

fn batches() -> &'static Table {
    schema::table("import_batches").unwrap_or(&schema::TABLES[0])
}

fn leads() -> &'static Table {
    schema::table("leads").unwrap_or(&schema::TABLES[0])
}

/// `<owner>/<batch>/source`: the upload, under the caller's prefix.
pub fn source_key(owner: &str, batch_id: &str) -> String {
    format!("{owner}/{batch_id}/source")
}

pub fn rejected_key(owner: &str, batch_id: &str) -> String {
    format!("{owner}/{batch_id}/rejected.csv")
}

fn rejected_part_key(owner: &str, batch_id: &str, chunk: i64) -> String {
    format!("{owner}/{batch_id}/rejected-parts/{chunk:08}.csv")
}

/// The owner and batch of an uploaded object's key, if it is an import source.
pub fn parse_source_key(key: &str) -> Option<(String, String)> {
    let mut parts = key.split('/');
    let (owner, batch, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || name != "source" {
        return None;
    }
    uuid::Uuid::parse_str(owner).ok()?;
    uuid::Uuid::parse_str(batch).ok()?;
    Some((owner.to_owned(), batch.to_owned()))
}

/// The `(bucket, key)` of each ObjectCreated record of an S3 event notification (as SQS
/// delivers it); S3's test event and other events give none.
pub fn s3_created_objects(body: &str) -> Result<Vec<(String, String)>, ImportError> {
    let event: Value =
        serde_json::from_str(body).map_err(|e| invalid("message", format!("not JSON: {e}")))?;
    let mut out = Vec::new();
    for record in event["Records"].as_array().into_iter().flatten() {
        if !record["eventName"]
            .as_str()
            .is_some_and(|n| n.starts_with("ObjectCreated"))
        {
            continue;
        }
        let (Some(bucket), Some(key)) = (
            record["s3"]["bucket"]["name"].as_str(),
            record["s3"]["object"]["key"].as_str(),
        ) else {
            continue;
        };
        out.push((bucket.to_owned(), url_decode_key(key)));
    }
    Ok(out)
}

/// S3 event keys are URL-encoded with `+` for spaces.
fn url_decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                // Bytes, not a `str` slice: a stray `%` before a multi-byte character must
                // not split it.
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An S3-shaped ObjectCreated notification, for the local blob store's hook.
pub fn s3_created_event(bucket: &str, key: &str, size: u64) -> String {
    json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": bucket }, "object": { "key": key, "size": size } }
    }] })
    .to_string()
}

/// The identities seen in a file, as 64-bit hashes in a sorted vector plus a small hash set
/// of recent ones (merged in every 64k): 8 bytes an identity, ~16 at a merge's peak, so a
/// million-row file needs tens of MiB, not hundreds. Two different identities share a hash
/// with probability ~n²/2⁶⁵ (under 10⁻⁷ for a million rows); such a row would be reported as
/// `duplicate_in_file`.
#[derive(Default)]
struct SeenKeys {
    sorted: Vec<u64>,
    recent: HashSet<u64>,
}

const RECENT_KEYS: usize = 1 << 16;

impl SeenKeys {
    fn hash(kind: u8, value: &str) -> u64 {
        // SipHash-1-3 with fixed keys: the same in every run and process (resumption relies on it).
        let mut hasher =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .build_hasher();
        hasher.write_u8(kind);
        hasher.write(value.as_bytes());
        hasher.finish()
    }

    fn contains(&self, hash: u64) -> bool {
        self.recent.contains(&hash) || self.sorted.binary_search(&hash).is_ok()
    }

    fn insert(&mut self, hash: u64) {
        self.recent.insert(hash);
        if self.recent.len() >= RECENT_KEYS {
            let mut fresh: Vec<u64> = self.recent.drain().collect();
            fresh.sort_unstable();
            let mut merged = Vec::with_capacity(self.sorted.len() + fresh.len());
            let (mut a, mut b) = (self.sorted.iter().peekable(), fresh.iter().peekable());
            while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(x);
                    a.next();
                } else {
                    merged.push(y);
                    b.next();
                }
            }
            merged.extend(a);
            merged.extend(b);
            self.sorted = merged;
            self.recent.shrink_to(RECENT_KEYS);
        }
    }

    /// True if either identity was seen before; records both.
    fn check_and_insert(&mut self, draft: &LeadDraft) -> bool {
        let email = draft.email_key.as_deref().map(|e| Self::hash(b'e', e));
        let linkedin = draft.linkedin_key.as_deref().map(|l| Self::hash(b'l', l));
        let seen =
            email.is_some_and(|h| self.contains(h)) || linkedin.is_some_and(|h| self.contains(h));
        if !seen {
            email
                .into_iter()
                .chain(linkedin)
                .for_each(|h| self.insert(h));
        }
        seen
    }
}

/// Why the file side of an import stopped.
enum ReadError {
    /// The file cannot be imported: the batch fails with this code.
    File { code: &'static str, message: String },
    /// The blob store failed: the import is retried.
    Blob(BlobError),
}

impl From<BlobError> for ReadError {
    fn from(error: BlobError) -> Self {
        ReadError::Blob(error)
    }
}

impl From<FileProblem> for ReadError {
    fn from(problem: FileProblem) -> Self {
        ReadError::File {
            code: problem.code(),
            message: problem.to_string(),
        }
    }
}

/// The object's records in file order: bytes read in 64 KiB pieces, decoded, split.
struct Records {
    reader: BlobReader,
    decoder: TextDecoder,
    splitter: RecordSplitter,
    delimiter: u8,
    ready: VecDeque<RawRecord>,
    split: Vec<RawRecord>,
    text: String,
    buffer: Vec<u8>,
    finished: bool,
}

impl Records {
    /// Sniffs the encoding and the delimiter from the first bytes.
    async fn open(mut reader: BlobReader) -> Result<Self, ReadError> {
        let mut head = vec![0u8; SNIFF_BYTES];
        let mut filled = 0;
        while filled < head.len() {
            let n = reader
                .read(&mut head[filled..])
                .await
                .map_err(|e| BlobError::Unavailable(e.to_string()))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        head.truncate(filled);
        let finished = filled < SNIFF_BYTES;
        let encoding = sniff_encoding(&head, finished)?;
        let mut decoder = TextDecoder::new(encoding);
        let mut text = String::new();
        decoder.decode(&head, finished, &mut text);
        let delimiter = sniff_delimiter(&text);
        let mut records = Self {
            reader,
            decoder,
            splitter: RecordSplitter::new(delimiter),
            delimiter,
            ready: VecDeque::new(),
            split: Vec::new(),
            text,
            buffer: vec![0u8; 64 * 1024],
            finished,
        };
        records.split_text();
        Ok(records)
    }

    async fn next(&mut self) -> Result<Option<RawRecord>, BlobError> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Ok(Some(record));
            }
            if self.finished {
                return Ok(None);
            }
            let n = self
                .reader
                .read(&mut self.buffer)
                .await
                .map_err(|e| BlobError::Unavailable(e.to_string()))?;
            self.finished = n == 0;
            self.decoder
                .decode(&self.buffer[..n], self.finished, &mut self.text);
            self.split_text();
        }
    }

    fn split_text(&mut self) {
        self.splitter.push(self.text.as_bytes(), &mut self.split);
        if self.finished {
            self.splitter.finish(&mut self.split);
        }
        self.text.clear();
        self.ready.extend(self.split.drain(..));
    }
}

/// The file side of an import: records mapped to lead drafts and checked against the file's
/// earlier rows, in chunks of exactly [`chunk_size`] data rows from `next_row` on — so a resumed
/// batch cuts the same chunks as its first run did.
struct RowReader {
    records: Records,
    mapping: Mapping,
    seen: SeenKeys,
    next_row: u64,
    /// The index of the next chunk.
    chunk_index: i64,
    chunk_rows: usize,
}

/// Rows in chunk `index`: the first chunk is a quarter of the others, so that the writes start
/// early and the next chunk's checks overlap them (two chunks are in hand at a time). A pure
/// function of the index: a resumed run cuts its chunks where the first run did.
fn chunk_size(index: i64, chunk_rows: usize) -> usize {
    if index == 0 {
        (chunk_rows / 4).max(1)
    } else {
        chunk_rows.max(1)
    }
}

impl RowReader {
    /// Reads up to the header and maps it.
    async fn open(
        reader: BlobReader,
        overrides: &Map<String, Value>,
        next_row: u64,
        chunk_index: i64,
        chunk_rows: usize,
    ) -> Result<Self, ReadError> {
        let mut records = Records::open(reader).await?;
        let Some(header) = records.next().await? else {
            return Err(FileProblem::NoHeader.into());
        };
        let headers: Vec<String> = header.fields.iter().map(|h| h.trim().to_owned()).collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(FileProblem::NoHeader.into());
        }
        let mapping = Mapping::new(&headers, overrides).map_err(|e| ReadError::File {
            code: "bad_mapping",
            message: e.to_string(),
        })?;
        Ok(Self {
            records,
            mapping,
            seen: SeenKeys::default(),
            next_row,
            chunk_index,
            chunk_rows,
        })
    }

    /// The next chunk, or `None` at the end of the file.
    async fn next_chunk(&mut self) -> Result<Option<Vec<Pending>>, BlobError> {
        let size = chunk_size(self.chunk_index, self.chunk_rows);
        let mut chunk = Vec::with_capacity(size);
        while chunk.len() < size {
            let Some(record) = self.records.next().await? else {
                break;
            };
            if record.fields.len() == 1 && record.fields[0].trim().is_empty() {
                // A blank line is not a row.
                continue;
            }
            let outcome = map_row(&self.mapping, &record);
            if record.number < self.next_row {
                // Before the checkpoint: only rebuild the in-file duplicate sets.
                if let RowOutcome::Lead(draft) = &outcome {
                    self.seen.check_and_insert(draft);
                }
                continue;
            }
            let outcome = match outcome {
                RowOutcome::Lead(draft) if self.seen.check_and_insert(&draft) => {
                    RowOutcome::Skipped {
                        reason: SkipReason::DuplicateInFile,
                        detail: "the same e-mail or LinkedIn URL appears earlier in the file"
                            .into(),
                    }
                }
                other => other,
            };
            chunk.push(Pending {
                number: record.number,
                raw: raw_text(&record.fields, self.records.delimiter),
                outcome: Some(outcome),
            });
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        self.chunk_index += 1;
        Ok(Some(chunk))
    }
}

/// The counts of a batch, as kept on its row.
#[derive(Debug, Clone, Default, PartialEq)]
struct Counts {
    total: i64,
    imported: i64,
    updated: i64,
    skipped: i64,
    skipped_rows: Vec<Value>,
    /// The current chunk's lines of `rejected.csv`.
    chunk_report: String,
}

impl Counts {
    fn from_row(row: &Row) -> Self {
        Self {
            total: row["total_rows"].as_i64().unwrap_or(0),
            imported: row["imported_count"].as_i64().unwrap_or(0),
            updated: row["updated_count"].as_i64().unwrap_or(0),
            skipped: row["skipped_count"].as_i64().unwrap_or(0),
            skipped_rows: row["skipped_rows"].as_array().cloned().unwrap_or_default(),
            chunk_report: String::new(),
        }
    }

    /// A skipped row: counted, kept on the batch row while there is room, and written to the
    /// chunk's part of the rejected-rows report.
    fn skip(&mut self, number: u64, reason: &str, detail: &str, raw: &str) {
        report_line(&mut self.chunk_report, number, reason, detail, raw);
        self.skipped += 1;
        if self.skipped_rows.len() < SKIPPED_ROWS_KEPT {
            self.skipped_rows
                .push(json!({ "row": number, "reason": reason, "detail": detail, "raw": raw }));
        }
    }

    /// Adds a chunk's counts (the batch row keeps the first skipped rows of the file).
    fn merge(&mut self, chunk: Counts) {
        self.total += chunk.total;
        self.imported += chunk.imported;
        self.updated += chunk.updated;
        self.skipped += chunk.skipped;
        let room = SKIPPED_ROWS_KEPT.saturating_sub(self.skipped_rows.len());
        self.skipped_rows
            .extend(chunk.skipped_rows.into_iter().take(room));
    }

    fn patch(&self) -> Row {
        let mut patch = Row::new();
        patch.insert("total_rows".into(), json!(self.total));
        patch.insert("imported_count".into(), json!(self.imported));
        patch.insert("updated_count".into(), json!(self.updated));
        patch.insert("skipped_count".into(), json!(self.skipped));
        patch.insert("skipped_rows".into(), json!(self.skipped_rows));
        patch
    }
}

/// One data row on its way through a chunk.
struct Pending {
    number: u64,
    raw: String,
    /// Taken by the duplicate checks.
    outcome: Option<RowOutcome>,
}

/// The batch an import works on (what its chunks need to know of it).
#[derive(Clone)]
struct BatchRef {
    owner: String,
    batch_id: String,
}

/// A chunk after its duplicate checks and reservation: the leads it will create.
struct PreparedChunk {
    index: i64,
    rows: Vec<Pending>,
    creating: Vec<LeadGroup>,
    counts: Counts,
}

/// Each lead is its item plus up to two uniqueness items: 96 of DynamoDB's 100 per transaction.
const LEADS_PER_TRANSACTION: usize = 32;

/// New leads written in one transaction.
struct LeadGroup {
    /// Positions in the chunk's rows, and the rows to insert.
    leads: Vec<(usize, Row)>,
    ops: Vec<WriteOp>,
    /// The position in `leads` each op belongs to.
    op_owner: Vec<usize>,
}

/// A chunk whose writes are done: what its checkpoint records.
struct WrittenChunk {
    index: i64,
    /// The first row of the next chunk.
    next_row: u64,
    counts: Counts,
}

/// What the file gives next.
enum NextChunk {
    Prepared(PreparedChunk),
    /// The deadline is near: stop before the chunk starting at this row.
    Pause(u64),
    End,
}

/// What happens to a draft after the duplicate checks.
enum Verdict {
    AlreadyImported,
    Create(Row),
    Update { key: Key, draft: LeadDraft },
    Skip(SkipReason, String),
}

/// The batch item as this worker last wrote it (the next write is guarded by its version).
struct Held {
    item: Item,
    owner: String,
    batch_id: String,
    lease_owner: String,
}

#[derive(Clone)]
pub struct Importer {
    access: Arc<Access>,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    config: ImportConfig,
    webhooks: Option<WebhookEmitter>,
}

impl Importer {
    pub fn new(
        access: Arc<Access>,
        blobs: Arc<dyn Blobs>,
        clock: Arc<dyn Clock>,
        config: ImportConfig,
    ) -> Self {
        Self {
            access,
            blobs,
            clock,
            config,
            webhooks: None,
        }
    }

    /// `import.completed` goes to the owner's webhooks.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn config(&self) -> &ImportConfig {
        &self.config
    }

    // -----------------------------------------------------------------------------------
    // The API side

    pub async fn start(
        &self,
        actor: &Actor,
        request: StartRequest,
    ) -> Result<Started, ImportError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let file_name = request.file_name.trim();
        if file_name.is_empty() || file_name.len() > 255 {
            return Err(invalid(
                "file_name",
                "give the file's name (1 to 255 characters)",
            ));
        }
        let file_type = request.file_type.as_deref().unwrap_or("csv");
        if !matches!(file_type, "csv" | "apollo") {
            return Err(invalid("file_type", "must be csv or apollo"));
        }
        if request.content_length == 0 {
            return Err(ImportError::EmptyFile);
        }
        if request.content_length > self.config.max_upload_bytes {
            return Err(ImportError::TooLarge {
                limit: self.config.max_upload_bytes,
            });
        }
        for (header, target) in &request.column_mapping {
            let Some(name) = target.as_str() else {
                return Err(invalid(
                    "column_mapping",
                    format!("{header:?} must map to a field name"),
                ));
            };
            let probe = Mapping::new(
                std::slice::from_ref(header),
                &[(header.clone(), Value::from(name))].into_iter().collect(),
            );
            if let Err(e) = probe {
                return Err(invalid("column_mapping", e.to_string()));
            }
        }
        let mut row = Row::new();
        row.insert("workspace_id".into(), json!(owner));
        row.insert("file_name".into(), json!(file_name));
        row.insert("file_type".into(), json!(file_type));
        row.insert(
            "column_mapping".into(),
            Value::Object(request.column_mapping),
        );
        row.insert(
            "options".into(),
            serde_json::to_value(&request.options).unwrap_or_default(),
        );
        row.insert("status".into(), json!("pending"));
        let batch = self.access.create(actor, "import_batches", row).await?;
        let batch_id = batch["id"].as_str().unwrap_or_default().to_owned();
        let url = self
            .blobs
            .presign_put(
                &self.config.bucket,
                &source_key(&owner, &batch_id),
                "text/csv",
                Some(request.content_length),
                std::time::Duration::from_secs(3600),
            )
            .await?;
        Ok(Started {
            batch,
            upload: upload(url, "text/csv", Some(request.content_length)),
        })
    }

    /// A small file posted directly: stored as the batch's upload (which starts processing).
    pub async fn upload_direct(
        &self,
        actor: &Actor,
        batch_id: &str,
        body: Bytes,
    ) -> Result<Row, ImportError> {
        if body.is_empty() {
            return Err(ImportError::EmptyFile);
        }
        if body.len() > self.config.max_direct_bytes {
            return Err(ImportError::TooLarge {
                limit: self.config.max_direct_bytes as u64,
            });
        }
        let batch = self.access.get(actor, "import_batches", batch_id).await?;
        if batch["status"] != "pending" {
            return Err(ImportError::WrongState {
                status: batch["status"].as_str().unwrap_or_default().to_owned(),
                action: "a file was already uploaded",
            });
        }
        let owner = batch["workspace_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match self
            .blobs
            .create(
                &self.config.bucket,
                &source_key(&owner, batch_id),
                body,
                Some("text/csv"),
            )
            .await
        {
            Ok(()) => Ok(batch),
            Err(BlobError::AlreadyExists) => Err(ImportError::WrongState {
                status: "pending".into(),
                action: "a file was already uploaded",
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// A short-lived download URL of the rejected rows with their reasons.
    pub async fn rejected_download(
        &self,
        actor: &Actor,
        batch_id: &str,
    ) -> Result<PresignedUrl, ImportError> {
        let batch = self.access.get(actor, "import_batches", batch_id).await?;
        let owner = batch["workspace_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !matches!(batch["status"].as_str(), Some("completed" | "failed")) {
            return Err(ImportError::WrongState {
                status: batch["status"].as_str().unwrap_or_default().to_owned(),
                action: "the report exists once the import has finished",
            });
        }
        let key = rejected_key(&owner, batch_id);
        if self.blobs.head(&self.config.bucket, &key).await?.is_none() {
            return Err(RowError::NotFound.into());
        }
        Ok(self
            .blobs
            .presign_get(
                &self.config.bucket,
                &key,
                std::time::Duration::from_secs(300),
            )
            .await?)
    }

    // -----------------------------------------------------------------------------------
    // The worker side

    /// Processes the batch an uploaded object belongs to, stopping at a checkpoint when
    /// `deadline` comes near (a Lambda's remaining time).
    pub async fn process_object(
        &self,
        bucket: &str,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<Progress, ImportError> {
        if bucket != self.config.bucket {
            return Err(invalid(
                "bucket",
                format!("{bucket} is not the imports bucket"),
            ));
        }
        let Some((owner, batch_id)) = parse_source_key(key) else {
            // Reports and parts land in the same bucket; only sources are imports.
            return Ok(Progress::Nothing {
                batch_id: String::new(),
            });
        };
        let Some(held) = self.claim(&owner, &batch_id).await? else {
            return Ok(Progress::Nothing { batch_id });
        };
        self.run(held, deadline).await
    }

    /// Takes the batch for this worker: `pending`, or `processing` with an expired lease.
    async fn claim(&self, owner: &str, batch_id: &str) -> Result<Option<Held>, ImportError> {
        let rows = self.access.rows();
        let Some(item) = rows.get_raw(batches(), Some(owner), batch_id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        match item.str("status") {
            Some("pending") => {}
            Some("processing") if item.i64(LEASE_UNTIL).unwrap_or(0) <= now.timestamp() => {
                tracing::warn!(owner, batch_id, "resuming an import whose worker stopped");
            }
            _ => return Ok(None),
        }
        let lease_owner = uuid::Uuid::new_v4().to_string();
        let mut patch = Row::new();
        patch.insert("status".into(), json!("processing"));
        let held = Held {
            item,
            owner: owner.to_owned(),
            batch_id: batch_id.to_owned(),
            lease_owner,
        };
        match self.write_batch(&held, patch, &[]).await {
            Ok(item) => Ok(Some(Held { item, ..held })),
            Err(ImportError::Access(AccessError::Row(RowError::Concurrent))) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A version-guarded write of the batch row that renews this worker's lease.
    async fn write_batch(
        &self,
        held: &Held,
        patch: Row,
        internal: &[(&str, StoreValue)],
    ) -> Result<Item, ImportError> {
        let lease_until = (self.clock.now() + self.config.lease).timestamp();
        let mut attributes: Vec<(&str, StoreValue)> = vec![
            (LEASE_UNTIL, StoreValue::from(lease_until)),
            (LEASE_OWNER, StoreValue::from(held.lease_owner.as_str())),
        ];
        for name in [NEXT_ROW, CHUNK] {
            if !internal.iter().any(|(n, _)| *n == name)
                && let Some(value) = held.item.get(name)
            {
                attributes.push((name, value.clone()));
            }
        }
        attributes.extend(internal.iter().cloned());
        let (_, op) =
            self.access
                .rows()
                .transition_op(batches(), &held.item, patch, &attributes)?;
        let WriteOp::Put { item, .. } = &op else {
            return Err(RowError::Concurrent.into());
        };
        let written = item.clone();
        match self.access.rows().store().transact_write(vec![op]).await {
            Ok(()) => Ok(written),
            Err(StoreError::ConditionFailed { .. }) => Err(RowError::Concurrent.into()),
            Err(e) => Err(e.into()),
        }
    }

    async fn fail(&self, held: Held, code: &str, message: &str) -> Result<Progress, ImportError> {
        let mut counts = Counts::from_row(&crate::rows::from_item(batches(), &held.item));
        counts
            .skipped_rows
            .insert(0, json!({ "row": 0, "reason": code, "detail": message }));
        counts.skipped_rows.truncate(SKIPPED_ROWS_KEPT);
        let mut patch = counts.patch();
        patch.insert("status".into(), json!("failed"));
        patch.insert(
            "completed_at".into(),
            json!(timestamp_text(self.clock.now())),
        );
        let report = format!("row,reason,detail,raw\n0,{code},{},\n", csv_field(message));
        self.blobs
            .put(
                &self.config.bucket,
                &rejected_key(&held.owner, &held.batch_id),
                Bytes::from(report),
                Some("text/csv"),
            )
            .await?;
        self.write_batch(&held, patch, &[]).await?;
        tracing::warn!(owner = %held.owner, batch_id = %held.batch_id, code, "import failed");
        Ok(Progress::Failed {
            batch_id: held.batch_id,
            code: code.to_owned(),
        })
    }

    async fn run(
        &self,
        mut held: Held,
        deadline: Option<Instant>,
    ) -> Result<Progress, ImportError> {
        let batch = crate::rows::from_item(batches(), &held.item);
        let options: ImportOptions =
            serde_json::from_value(batch["options"].clone()).unwrap_or_default();
        let overrides = batch["column_mapping"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let source = if batch["file_type"] == "apollo" {
            "apollo"
        } else {
            "csv"
        };
        let next_row = held.item.i64(NEXT_ROW).map(|n| n as u64).unwrap_or(2);
        let mut chunk_index = held.item.i64(CHUNK).unwrap_or(0);
        let mut counts = Counts::from_row(&batch);
        // A resumed run may find rows past the checkpoint already written (by the run that
        // stopped); each of its chunks then also looks for its own leads.
        let maybe_written = held.item.get(NEXT_ROW).is_some();

        let key = source_key(&held.owner, &held.batch_id);
        let Some(reader) = self.blobs.open(&self.config.bucket, &key).await? else {
            return self
                .fail(held, "missing_file", "the uploaded file is gone")
                .await;
        };
        let mut rows = match RowReader::open(
            reader,
            &overrides,
            next_row,
            chunk_index,
            self.config.chunk_rows,
        )
        .await
        {
            Ok(rows) => rows,
            Err(ReadError::File { code, message }) => {
                return self.fail(held, code, &message).await;
            }
            Err(ReadError::Blob(e)) => return Err(e.into()),
        };
        let mapping = rows.mapping.describe();
        let batch_ref = BatchRef {
            owner: held.owner.clone(),
            batch_id: held.batch_id.clone(),
        };
        // Two chunks at a time: while one chunk's leads are written, the next is parsed, checked
        // for duplicates and reserved against the plan. Counts and checkpoints still advance
        // one whole chunk at a time, in file order.
        let mut writing: Option<BoxFuture<'_, Result<WrittenChunk, ImportError>>> = None;
        loop {
            let next = async {
                let Some(rows) = rows.next_chunk().await? else {
                    return Ok(NextChunk::End);
                };
                let first = rows.first().map(|p| p.number).unwrap_or(0);
                if let Some(deadline) = deadline
                    && deadline.saturating_duration_since(Instant::now())
                        < std::time::Duration::from_secs(20)
                {
                    return Ok(NextChunk::Pause(first));
                }
                let prepared = self
                    .prepare_chunk(
                        &batch_ref,
                        chunk_index,
                        rows,
                        &options,
                        source,
                        maybe_written,
                    )
                    .await?;
                Ok::<_, ImportError>(NextChunk::Prepared(prepared))
            };
            let (next, written) = match writing.take() {
                Some(writes) => {
                    let (next, written) = futures::future::join(next, writes).await;
                    (next, Some(written?))
                }
                None => (next.await, None),
            };
            if let Some(written) = written {
                counts.merge(written.counts);
                held.item = self
                    .write_batch(
                        &held,
                        counts.patch(),
                        &[
                            (NEXT_ROW, StoreValue::from(written.next_row as i64)),
                            (CHUNK, StoreValue::from(written.index + 1)),
                        ],
                    )
                    .await?;
            }
            match next? {
                NextChunk::End => break,
                NextChunk::Pause(next_row) => {
                    tracing::info!(batch_id = %held.batch_id, next_row, "pausing before the deadline");
                    return Ok(Progress::Paused {
                        batch_id: held.batch_id,
                        next_row,
                    });
                }
                NextChunk::Prepared(prepared) => {
                    chunk_index += 1;
                    writing = Some(self.write_chunk(&batch_ref, prepared).boxed());
                }
            }
        }
        if counts.total == 0 {
            return self
                .fail(
                    held,
                    FileProblem::NoRows.code(),
                    &FileProblem::NoRows.to_string(),
                )
                .await;
        }
        self.compose_report(&held, chunk_index).await?;
        let mut patch = counts.patch();
        patch.insert("status".into(), json!("completed"));
        patch.insert(
            "completed_at".into(),
            json!(timestamp_text(self.clock.now())),
        );
        patch.insert("column_mapping".into(), Value::Object(mapping));
        self.write_batch(&held, patch, &[]).await?;
        tracing::info!(owner = %held.owner, batch_id = %held.batch_id, total = counts.total, imported = counts.imported, updated = counts.updated, skipped = counts.skipped, "import completed");
        if let Some(webhooks) = &self.webhooks {
            let data = json!({
                "batch_id": held.batch_id,
                "total_rows": counts.total,
                "imported_count": counts.imported,
                "updated_count": counts.updated,
                "skipped_count": counts.skipped,
            });
            webhooks
                .emit(&held.owner, "import.completed", &held.batch_id, data)
                .await;
        }
        Ok(Progress::Completed {
            batch_id: held.batch_id,
        })
    }

    /// A chunk's first stage: the duplicate checks, the contacts reservation and the updates
    /// of existing leads; what is left to create is returned for [`Self::write_chunk`].
    async fn prepare_chunk(
        &self,
        batch: &BatchRef,
        index: i64,
        mut rows: Vec<Pending>,
        options: &ImportOptions,
        source: &'static str,
        maybe_written: bool,
    ) -> Result<PreparedChunk, ImportError> {
        let now = self.clock.now();
        let mut counts = Counts {
            total: rows.len() as i64,
            ..Counts::default()
        };
        let verdicts = self
            .verdicts(batch, &mut rows, options, source, now, maybe_written)
            .await?;
        // The contacts this chunk creates, reserved once (idempotently) against the plan.
        let wanted = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Create(_)))
            .count() as i64;
        let allowed = self.reserve_contacts(batch, index, wanted).await?;
        let mut creating: Vec<(usize, Row)> = Vec::new();
        for (position, (pending, verdict)) in rows.iter().zip(verdicts).enumerate() {
            match verdict {
                Verdict::AlreadyImported => counts.imported += 1,
                Verdict::Create(row) if (creating.len() as i64) < allowed => {
                    creating.push((position, row));
                }
                Verdict::Create(_) => {
                    let detail = "the plan's contacts limit is reached";
                    counts.skip(
                        pending.number,
                        SkipReason::PlanLimit.code(),
                        detail,
                        &pending.raw,
                    );
                }
                Verdict::Update { key, draft } => match self
                    .update_existing(&batch.owner, &key, &draft, options.update_mode)
                    .await
                {
                    Ok(()) => counts.updated += 1,
                    Err(ImportError::Access(AccessError::Row(RowError::NotFound))) => {
                        let detail = "the matching lead was deleted during the import";
                        counts.skip(
                            pending.number,
                            SkipReason::DuplicateExisting.code(),
                            detail,
                            &pending.raw,
                        );
                    }
                    Err(e) => return Err(e),
                },
                Verdict::Skip(reason, detail) => {
                    counts.skip(pending.number, reason.code(), &detail, &pending.raw);
                }
            }
        }
        // The transactions are built off the task too (see `verdicts`).
        let (importer, owner) = (self.clone(), batch.owner.clone());
        let creating = tokio::task::spawn_blocking(move || importer.lead_groups(&owner, creating))
            .await
            .map_err(|e| StoreError::Unavailable(format!("an import task failed: {e}")))??;
        Ok(PreparedChunk {
            index,
            rows,
            creating,
            counts,
        })
    }

    /// A chunk's second stage: the new leads written, and the chunk's part of the rejected-rows
    /// report (rewritten identically if the chunk runs again).
    async fn write_chunk(
        &self,
        batch: &BatchRef,
        chunk: PreparedChunk,
    ) -> Result<WrittenChunk, ImportError> {
        let PreparedChunk {
            index,
            rows,
            creating,
            mut counts,
        } = chunk;
        for (position, outcome) in self.write_leads(&batch.owner, creating).await? {
            let pending = &rows[position];
            match outcome {
                Ok(()) => counts.imported += 1,
                Err(detail) => {
                    counts.skip(
                        pending.number,
                        SkipReason::DuplicateExisting.code(),
                        &detail,
                        &pending.raw,
                    );
                }
            }
        }
        self.blobs
            .put(
                &self.config.bucket,
                &rejected_part_key(&batch.owner, &batch.batch_id, index),
                Bytes::from(std::mem::take(&mut counts.chunk_report)),
                Some("text/csv"),
            )
            .await?;
        let next_row = rows.last().map(|p| p.number + 1).unwrap_or(0);
        Ok(WrittenChunk {
            index,
            next_row,
            counts,
        })
    }

    /// The duplicate checks of a chunk: every key it needs read in batches of 100 (one
    /// request each on DynamoDB, one read transaction on redb), then a verdict per row.
    async fn verdicts(
        &self,
        batch: &BatchRef,
        rows: &mut [Pending],
        options: &ImportOptions,
        source: &'static str,
        now: DateTime<Utc>,
        maybe_written: bool,
    ) -> Result<Vec<Verdict>, ImportError> {
        let owner = batch.owner.as_str();
        let mut keys: Vec<Key> = Vec::new();
        // Per row: the position of its own lead's key (on a re-run), and of its uniqueness keys.
        let mut wanted: Vec<(Option<usize>, Vec<usize>)> = Vec::with_capacity(rows.len());
        for pending in rows.iter() {
            let Some(RowOutcome::Lead(draft)) = &pending.outcome else {
                wanted.push((None, Vec::new()));
                continue;
            };
            let own = maybe_written.then(|| {
                keys.push(layout::row_key(
                    leads(),
                    Some(owner),
                    &lead_id(&batch.batch_id, pending.number),
                ));
                keys.len() - 1
            });
            let probe = identity_probe(owner, draft);
            let mut uniques = Vec::new();
            for unique in leads().uniques {
                if let Some(key) = layout::unique_key(unique, &probe) {
                    keys.push(key);
                    uniques.push(keys.len() - 1);
                }
            }
            wanted.push((own, uniques));
        }
        let store = self.access.rows().store();
        // A few batches at once (in order): their reads are independent.
        let batches: Vec<Vec<Key>> = keys
            .chunks(scaliyo_store::table::MAX_BATCH_GET)
            .map(<[Key]>::to_vec)
            .collect();
        let pages: Vec<Vec<Option<Item>>> = stream::iter(batches)
            .map(|batch| {
                let store = store.clone();
                async move { store.batch_get(&batch).await }
            })
            .buffered(4)
            .try_collect()
            .await?;
        let found: Vec<Option<Item>> = pages.into_iter().flatten().collect();
        // Building the new rows is the chunk's heaviest computing: it runs off the task that
        // drives the previous chunk's writes.
        let outcomes: Vec<(u64, Option<RowOutcome>)> = rows
            .iter_mut()
            .map(|pending| (pending.number, pending.outcome.take()))
            .collect();
        let (importer, batch, options) = (self.clone(), batch.clone(), options.clone());
        let decided = tokio::task::spawn_blocking(move || {
            outcomes
                .into_iter()
                .zip(wanted)
                .map(|((number, outcome), (own, uniques))| {
                    let draft = match outcome {
                        Some(RowOutcome::Lead(draft)) => draft,
                        Some(RowOutcome::Skipped { reason, detail }) => {
                            return Verdict::Skip(reason, detail);
                        }
                        None => {
                            return Verdict::Skip(
                                SkipReason::MalformedRow,
                                "the row was checked twice".into(),
                            );
                        }
                    };
                    if own.and_then(|i| found[i].as_ref()).is_some() {
                        return Verdict::AlreadyImported;
                    }
                    let existing = uniques.iter().find_map(|&i| {
                        let item = found[i].as_ref()?;
                        Some(Key::new(item.str("row_pk")?, item.str("row_sk")?))
                    });
                    importer.decide(&batch, number, draft, existing, &options, source, now)
                })
                .collect()
        })
        .await;
        decided.map_err(|e| StoreError::Unavailable(format!("an import task failed: {e}")).into())
    }

    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        batch: &BatchRef,
        number: u64,
        draft: LeadDraft,
        existing: Option<Key>,
        options: &ImportOptions,
        source: &str,
        now: DateTime<Utc>,
    ) -> Verdict {
        let owner = batch.owner.as_str();
        let lead_id = lead_id(&batch.batch_id, number);
        match (existing, options.on_duplicate) {
            (Some(_), OnDuplicate::Skip) => Verdict::Skip(
                SkipReason::DuplicateExisting,
                "a lead with this e-mail or LinkedIn URL already exists".into(),
            ),
            (Some(key), OnDuplicate::Update) => Verdict::Update { key, draft },
            (existing, mode) => {
                let mut fields = draft.fields;
                if existing.is_some() && mode == OnDuplicate::Create {
                    fields.insert("primary_email".into(), Value::Null);
                    fields.insert("linkedin_url".into(), Value::Null);
                }
                fields.insert("id".into(), json!(lead_id));
                fields.insert("client_id".into(), json!(owner));
                fields.insert("source".into(), json!(source));
                fields.insert("import_batch_id".into(), json!(batch.batch_id));
                fields.insert("imported_at".into(), json!(timestamp_text(now)));
                match self.access.rows().prepare(leads(), fields) {
                    Ok(row) => Verdict::Create(row),
                    Err(e) => Verdict::Skip(SkipReason::MalformedRow, e.to_string()),
                }
            }
        }
    }

    /// Reserves up to `wanted` contacts for a chunk; the marker makes a re-run of the chunk
    /// reuse the first reservation instead of adding again.
    async fn reserve_contacts(
        &self,
        batch: &BatchRef,
        chunk_index: i64,
        wanted: i64,
    ) -> Result<i64, ImportError> {
        let store = self.access.rows().store();
        let owner = batch.owner.as_str();
        let marker = Key::new(
            layout::owner_partition(owner),
            format!("import#{}#chunk#{chunk_index}", batch.batch_id),
        );
        if let Some(item) = store.get(&marker).await? {
            return Ok(item.i64("count").unwrap_or(0));
        }
        let limit = i64::from(self.access.plan_of(owner).await?.limits().contacts);
        let counter = Key::new(layout::owner_partition(owner), "counter#contacts");
        let expires = (self.clock.now() + Duration::days(30)).timestamp();
        let mut want = wanted;
        for _ in 0..3 {
            let mut ops = vec![WriteOp::put_new(
                Item::new(&marker)
                    .with("count", want)
                    .with(scaliyo_store::table::TTL, expires),
            )];
            if want > 0 {
                ops.push(WriteOp::Update {
                    key: counter.clone(),
                    update: Update::new().add("count", want),
                    condition: Some(Condition::NotExists("count".into()).or(Condition::cmp(
                        "count",
                        CmpOp::Le,
                        limit - want,
                    ))),
                });
            }
            match store.transact_write(ops).await {
                Ok(()) => return Ok(want),
                Err(StoreError::ConditionFailed { index: Some(0) }) => {
                    // Another run of this chunk reserved first.
                    return Ok(store
                        .get(&marker)
                        .await?
                        .and_then(|i| i.i64("count"))
                        .unwrap_or(0));
                }
                Err(StoreError::ConditionFailed { .. }) => {
                    let used = self.access.contacts_used(owner).await?;
                    want = (limit - used).clamp(0, wanted);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RowError::Concurrent.into())
    }

    /// New leads in groups of [`LEADS_PER_TRANSACTION`], each group's transaction built.
    fn lead_groups(
        &self,
        owner: &str,
        creating: Vec<(usize, Row)>,
    ) -> Result<Vec<LeadGroup>, ImportError> {
        let mut groups = Vec::with_capacity(creating.len().div_ceil(LEADS_PER_TRANSACTION));
        let mut creating = creating.into_iter().peekable();
        while creating.peek().is_some() {
            let leads: Vec<(usize, Row)> = creating.by_ref().take(LEADS_PER_TRANSACTION).collect();
            groups.push(self.lead_group(owner, leads)?);
        }
        Ok(groups)
    }

    fn lead_group(&self, owner: &str, group: Vec<(usize, Row)>) -> Result<LeadGroup, ImportError> {
        let rows = self.access.rows();
        let mut ops = Vec::with_capacity(group.len() * 3);
        let mut op_owner = Vec::with_capacity(group.len() * 3);
        for (position, (_, row)) in group.iter().enumerate() {
            for op in rows.insert_ops(leads(), Some(owner), row, false)? {
                ops.push(op);
                op_owner.push(position);
            }
        }
        Ok(LeadGroup {
            leads: group,
            ops,
            op_owner,
        })
    }

    /// Writes new leads, several transactions at once (their transactions were built while
    /// the previous chunk was written, so the writes go out back to back). A lead whose e-mail
    /// or LinkedIn URL was taken meanwhile is reported, its contact given back.
    async fn write_leads(
        &self,
        owner: &str,
        groups: Vec<LeadGroup>,
    ) -> Result<Vec<(usize, Result<(), String>)>, ImportError> {
        let results: Vec<Vec<(usize, Result<(), String>)>> = stream::iter(groups)
            .map(|group| self.write_group(owner, group))
            .buffer_unordered(self.config.write_concurrency)
            .try_collect()
            .await?;
        Ok(results.into_iter().flatten().collect())
    }

    async fn write_group(
        &self,
        owner: &str,
        mut group: LeadGroup,
    ) -> Result<Vec<(usize, Result<(), String>)>, ImportError> {
        let store = self.access.rows().store();
        let mut out = Vec::with_capacity(group.leads.len());
        while !group.leads.is_empty() {
            match store.transact_write(std::mem::take(&mut group.ops)).await {
                Ok(()) => {
                    out.extend(group.leads.drain(..).map(|(index, _)| (index, Ok(()))));
                }
                Err(StoreError::ConditionFailed {
                    index: Some(failed),
                }) => {
                    let position = group.op_owner.get(failed).copied().unwrap_or(0);
                    let mut leads = std::mem::take(&mut group.leads);
                    let (index, _) = leads.remove(position);
                    out.push((
                        index,
                        Err(
                            "a lead with this e-mail or LinkedIn URL was created meanwhile"
                                .to_owned(),
                        ),
                    ));
                    let refund = WriteOp::update(
                        Key::new(layout::owner_partition(owner), "counter#contacts"),
                        Update::new().add("count", -1),
                    );
                    store.transact_write(vec![refund]).await?;
                    group = self.lead_group(owner, leads)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    async fn update_existing(
        &self,
        owner: &str,
        key: &Key,
        draft: &LeadDraft,
        mode: UpdateMode,
    ) -> Result<(), ImportError> {
        let rows = self.access.rows();
        let Some(item) = rows.store().get(key).await? else {
            return Err(RowError::NotFound.into());
        };
        let current = crate::rows::from_item(leads(), &item);
        let id = current["id"].as_str().unwrap_or_default().to_owned();
        let mut patch = Row::new();
        for (column, value) in &draft.fields {
            // Identity columns stay as they are: they are what matched.
            if matches!(
                column.as_str(),
                "primary_email" | "linkedin_url" | "id" | "client_id"
            ) {
                continue;
            }
            let empty = |v: &Value| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            if empty(value) {
                continue;
            }
            let new = match (column.as_str(), &current[column.as_str()], mode) {
                ("custom_fields", Value::Object(existing), _) => {
                    let mut merged = existing.clone();
                    for (k, v) in value.as_object().into_iter().flatten() {
                        if mode == UpdateMode::Overwrite || !merged.contains_key(k) {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                    Value::Object(merged)
                }
                ("emails" | "phones", Value::Array(existing), _) => {
                    let mut merged = existing.clone();
                    for v in value.as_array().into_iter().flatten() {
                        if !merged.contains(v) {
                            merged.push(v.clone());
                        }
                    }
                    Value::Array(merged)
                }
                (_, existing, UpdateMode::FillEmpty) if !empty(existing) => continue,
                _ => value.clone(),
            };
            if new != current[column.as_str()] {
                patch.insert(column.clone(), new);
            }
        }
        if patch.is_empty() {
            return Ok(());
        }
        for _ in 0..3 {
            match rows.update(leads(), Some(owner), &id, patch.clone()).await {
                Ok(_) => return Ok(()),
                Err(RowError::Concurrent) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RowError::Concurrent.into())
    }

    /// Joins the chunks' parts into `rejected.csv`, streaming (never the whole report in memory).
    async fn compose_report(&self, held: &Held, chunks: i64) -> Result<(), ImportError> {
        let bucket = self.config.bucket.clone();
        let blobs = self.blobs.clone();
        let owner = held.owner.clone();
        let batch_id = held.batch_id.clone();
        let header = stream::once(async { Ok(Bytes::from_static(b"row,reason,detail,raw\n")) });
        let parts = stream::iter(0..chunks).then(move |chunk| {
            let blobs = blobs.clone();
            let bucket = bucket.clone();
            let key = rejected_part_key(&owner, &batch_id, chunk);
            async move { Ok(blobs.get(&bucket, &key).await?.unwrap_or_default()) }
        });
        self.blobs
            .put_stream(
                &self.config.bucket,
                &rejected_key(&held.owner, &held.batch_id),
                Box::pin(header.chain(parts)),
                Some("text/csv"),
            )
            .await?;
        for chunk in 0..chunks {
            self.blobs
                .delete(
                    &self.config.bucket,
                    &rejected_part_key(&held.owner, &held.batch_id, chunk),
                )
                .await?;
        }
        Ok(())
    }
}

/// The columns the leads' uniqueness items are made of.
fn identity_probe(owner: &str, draft: &LeadDraft) -> Row {
    let mut probe = Row::new();
    probe.insert("client_id".into(), json!(owner));
    let text = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
    probe.insert("primary_email".into(), text(&draft.email_key));
    probe.insert("linkedin_url".into(), text(&draft.linkedin_key));
    probe
}

/// Lead ids derived from the batch and the row: a re-run of a chunk finds its own rows. The
/// id (UUID v8) is the batch's 60-bit fingerprint followed by the row number, so one import's
/// leads sort in file order: the store appends them side by side instead of scattering them
/// over the owner's partition and its indexes (far fewer pages written per commit).
pub fn lead_id(batch_id: &str, row_number: u64) -> String {
    let batch = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:import:{batch_id}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&batch.as_bytes()[..8]);
    // The variant takes the top two bits of byte 8: 62 bits of row number remain.
    bytes[8..].copy_from_slice(&(row_number & (u64::MAX >> 2)).to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn upload(url: PresignedUrl, content_type: &str, length: Option<u64>) -> Upload {
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!(content_type));
    if let Some(length) = length {
        headers.insert("content-length".into(), json!(length.to_string()));
    }
    Upload {
        url: url.url,
        method: url.method,
        expires_at: timestamp_text(url.expires_at),
        headers,
    }
}

fn raw_text(fields: &[String], delimiter: u8) -> String {
    let joined = fields.join(&char::from(delimiter).to_string());
    match joined.char_indices().nth(RAW_KEPT) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// One CSV field, quoted when needed and neutralised against formula execution.
fn csv_field(value: &str) -> String {
    let value = scaliyo_domain::import::leads::neutralise(value);
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn report_line(report: &mut String, number: u64, reason: &str, detail: &str, raw: &str) {
    report.push_str(&format!(
        "{number},{reason},{},{}\n",
        csv_field(detail),
        csv_field(raw)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_ids_are_stable_distinct_and_in_row_order() {
        let a = lead_id("batch-1", 2);
        assert_eq!(a, lead_id("batch-1", 2));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
        assert_ne!(a, lead_id("batch-2", 2));
        let ids: Vec<String> = (1..=300).map(|row| lead_id("batch-1", row)).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "file order is key order"
        );
    }

    #[test]
    fn source_keys_round_trip_and_other_keys_are_not_imports() {
        let owner = uuid::Uuid::new_v4().to_string();
        let batch = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            parse_source_key(&source_key(&owner, &batch)),
            Some((owner.clone(), batch.clone()))
        );
        assert_eq!(parse_source_key(&rejected_key(&owner, &batch)), None);
        assert_eq!(parse_source_key("x/y/source"), None);
    }

    #[test]
    fn odd_keys_decode_without_panicking() {
        assert_eq!(url_decode_key("a%2Fb+c"), "a/b c");
        assert_eq!(url_decode_key("%aé"), "%aé");
        assert_eq!(url_decode_key("50%"), "50%");
        assert_eq!(url_decode_key("%zz"), "%zz");
    }

    #[test]
    fn s3_notifications_give_their_created_objects() {
        let body = s3_created_event("imports", "a b/c%d", 10).replace("a b/c%d", "a+b/c%25d");
        assert_eq!(
            s3_created_objects(&body).unwrap(),
            vec![("imports".to_owned(), "a b/c%d".to_owned())]
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"imports"}"#;
        assert_eq!(s3_created_objects(test_event).unwrap(), vec![]);
    }

    #[test]
    fn report_fields_are_quoted_and_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn seen_keys_survive_merges() {
        let mut seen = SeenKeys::default();
        let draft = |i: usize| LeadDraft {
            fields: Map::new(),
            email_key: Some(format!("p{i}@x.com")),
            linkedin_key: None,
        };
        for i in 0..(RECENT_KEYS * 3 + 7) {
            assert!(!seen.check_and_insert(&draft(i)), "{i}");
        }
        assert!(seen.sorted.windows(2).all(|w| w[0] <= w[1]));
        for i in (0..(RECENT_KEYS * 3 + 7)).step_by(997) {
            assert!(seen.check_and_insert(&draft(i)), "{i}");
        }
    }

    #[test]
    fn seen_keys_catch_either_identity() {
        let mut seen = SeenKeys::default();
        let draft = |email: Option<&str>, linkedin: Option<&str>| LeadDraft {
            fields: Map::new(),
            email_key: email.map(str::to_owned),
            linkedin_key: linkedin.map(str::to_owned),
        };
        assert!(!seen.check_and_insert(&draft(Some("a@x.com"), None)));
        assert!(seen.check_and_insert(&draft(
            Some("a@x.com"),
            Some("https://www.linkedin.com/in/a")
        )));
        assert!(!seen.check_and_insert(&draft(
            Some("b@x.com"),
            Some("https://www.linkedin.com/in/b")
        )));
        assert!(seen.check_and_insert(&draft(None, Some("https://www.linkedin.com/in/b"))));
    }

    #[test]
    fn chunks_are_cut_by_their_index_alone() {
        assert_eq!(chunk_size(0, 1_500), 375);
        assert_eq!(chunk_size(1, 1_500), 1_500);
        assert_eq!(chunk_size(7, 1_500), 1_500);
        // Tiny configurations still make progress.
        assert_eq!(chunk_size(0, 1), 1);
        assert_eq!(chunk_size(0, 0), 1);
        assert_eq!(chunk_size(2, 0), 1);
    }

    #[test]
    fn merged_counts_add_up_and_keep_the_first_skipped_rows() {
        let mut batch = Counts::default();
        for chunk in 0..3u64 {
            let mut counts = Counts {
                total: 80,
                imported: 10,
                updated: 5,
                ..Counts::default()
            };
            for row in 0..65 {
                counts.skip(chunk * 100 + row, "duplicate_in_file", "seen", "raw");
            }
            batch.merge(counts);
        }
        assert_eq!(
            (batch.total, batch.imported, batch.updated, batch.skipped),
            (240, 30, 15, 195)
        );
        assert_eq!(batch.skipped_rows.len(), SKIPPED_ROWS_KEPT);
        assert_eq!(batch.skipped_rows[0]["row"], 0);
        assert_eq!(batch.skipped_rows[65]["row"], 100);
        // The report lines stay with each chunk's part, not with the batch.
        assert!(batch.chunk_report.is_empty());
    }
}
