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
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::import::{
    FileProblem, LeadDraft, Mapping, RawRecord, RecordSplitter, RowOutcome, SNIFF_BYTES,
    SkipReason, TextDecoder, map_row, sniff_delimiter, sniff_encoding,
};
use scaliyo_domain::schema;
use scaliyo_domain::status::BatchStatus;
use scaliyo_store::{
    BlobError, BlobReader, Blobs, Clock, CmpOp, Condition, Item, Key, ObjectCreated, PresignedUrl,
    StoreError, Update, Value as StoreValue, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text};
use crate::webhooks::WebhookEmitter;

mod api;
mod chunk;
mod counts;
mod reader;
mod seen;
mod worker;

use counts::Counts;
use reader::{ReadError, RowReader};
use seen::SeenKeys;

/// Internal attributes of a batch item being processed.
pub(crate) const LEASE_UNTIL: &str = "_lease_until";
const LEASE_OWNER: &str = "_lease_owner";
pub(crate) const NEXT_ROW: &str = "_next_row";
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

crate::errors::through_access!(ImportError);

impl ImportError {
    /// A store or blob store that failed for a moment: the run may go on from its checkpoint.
    pub fn is_transient(&self) -> bool {
        match self {
            ImportError::Access(AccessError::Row(RowError::Store(error))) => error.is_retryable(),
            ImportError::Blob(BlobError::Unavailable(_)) => true,
            _ => false,
        }
    }
}
crate::errors::invalid_constructor!(ImportError);

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

/// `<owner>/<batch>/source`: the upload, under the caller's prefix.
pub fn source_key(owner: OwnerId, batch_id: &str) -> String {
    format!("{owner}/{batch_id}/source")
}

pub fn rejected_key(owner: OwnerId, batch_id: &str) -> String {
    format!("{owner}/{batch_id}/rejected.csv")
}

fn rejected_part_key(owner: OwnerId, batch_id: &str, chunk: i64) -> String {
    format!("{owner}/{batch_id}/rejected-parts/{chunk:08}.csv")
}

/// The owner and batch of an uploaded object's key, if it is an import source.
pub fn parse_source_key(key: &str) -> Option<(OwnerId, String)> {
    let mut parts = key.split('/');
    let (owner, batch, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || name != "source" {
        return None;
    }
    let owner = owner.parse().ok()?;
    uuid::Uuid::parse_str(batch).ok()?;
    Some((owner, batch.to_owned()))
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
    owner: OwnerId,
    batch_id: String,
}

/// A chunk after its duplicate checks and reservation: the leads it will create.
struct PreparedChunk {
    index: i64,
    rows: Vec<Pending>,
    creating: Vec<LeadGroup>,
    counts: Counts,
}

/// Each lead is its item plus up to two uniqueness items: 96 of DynamoDB's 100 per
/// transaction, with room for the group's tallies when its leads share a status and source.
const LEADS_PER_TRANSACTION: usize = 32;

/// New leads written in one transaction.
#[derive(Default)]
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
    owner: OwnerId,
    batch_id: String,
    lease_owner: String,
    /// Taken over from a run that stopped (or tried again after a store error): rows past
    /// the checkpoint may already be written.
    resumed: bool,
}

#[derive(Clone)]
pub struct Importer {
    access: Arc<Access>,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    config: ImportConfig,
    webhooks: Option<WebhookEmitter>,
    /// `ImportRows` by outcome.
    metrics: Arc<dyn scaliyo_store::Metrics>,
}

/// The columns the leads' uniqueness items are made of.
fn identity_probe(owner: OwnerId, draft: &LeadDraft) -> Row {
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
    use super::reader::chunk_size;
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
        let owner = OwnerId::new_random();
        let batch = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            parse_source_key(&source_key(owner, &batch)),
            Some((owner, batch.clone()))
        );
        assert_eq!(parse_source_key(&rejected_key(owner, &batch)), None);
        assert_eq!(parse_source_key("x/y/source"), None);
    }

    #[test]
    fn report_fields_are_quoted_and_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
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
