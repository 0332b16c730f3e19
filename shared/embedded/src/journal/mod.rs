//! `FileJournal`: the journal port on local disk — append-only segment files with group
//! commit (see [`writer`]), read in order by one consumer that records how far it has
//! applied. After a crash, the records past the last applied position are read again: a
//! consumer must make applying a record twice harmless (tracking hits carry their event id).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use scaliyo_store::{Journal, JournalError};
use tokio::sync::{oneshot, watch};

mod frame;
mod writer;

use writer::{Append, Writer};

/// A place in the journal: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// Records read from the journal, and where the next read begins once they are applied.
#[derive(Debug)]
pub struct JournalBatch {
    pub records: Vec<String>,
    pub end: Position,
}

pub struct FileJournal {
    dir: PathBuf,
    requests: std::sync::mpsc::Sender<Append>,
    durable: watch::Receiver<Position>,
    /// Everything before this is applied (and recorded in the `applied` file).
    applied: Mutex<Position>,
    /// Appends are refused while more than this is waiting to be applied.
    max_pending_bytes: u64,
}

/// What the journal holds unapplied by default: about three million hits, some minutes of
/// applying — a burst's worth, not a disk's.
pub const DEFAULT_MAX_PENDING_BYTES: u64 = 1 << 30;

const APPLIED: &str = "applied";
/// Bytes read from a segment at once.
const READ_SLICE: u64 = 8 << 20;

fn unavailable(error: impl std::fmt::Display) -> JournalError {
    JournalError::Unavailable(error.to_string())
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:012}.log"))
}

fn create_segment(dir: &Path, segment: u64) -> Result<File, JournalError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, segment))
        .map_err(unavailable)?;
    sync_dir(dir)?;
    Ok(file)
}

/// A new or renamed file survives a crash only once its directory entry is on disk.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(unavailable)
}

/// The segments in the directory, oldest first.
fn segments(dir: &Path) -> Result<Vec<u64>, JournalError> {
    let mut found: Vec<u64> = std::fs::read_dir(dir)
        .map_err(unavailable)?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name();
            name.to_str()?.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    found.sort_unstable();
    Ok(found)
}

fn read_applied(dir: &Path) -> Option<Position> {
    let text = std::fs::read_to_string(dir.join(APPLIED)).ok()?;
    let (segment, offset) = text.trim().split_once(' ')?;
    Some(Position {
        segment: segment.parse().ok()?,
        offset: offset.parse().ok()?,
    })
}

impl FileJournal {
    /// Opens (or creates) the journal in `dir`. A torn tail — a write a crash cut short,
    /// never acknowledged — is cut off; everything after the applied position will be read.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let existing = segments(dir)?;
        let last = existing.last().copied().unwrap_or(1);
        let file = create_segment(dir, last)?;
        let bytes = std::fs::read(segment_path(dir, last)).map_err(unavailable)?;
        let valid = frame::valid_prefix(&bytes) as u64;
        if valid < bytes.len() as u64 {
            tracing::warn!(
                cut = bytes.len() as u64 - valid,
                "journal: a torn tail from a crash is cut off (it was never acknowledged)"
            );
            file.set_len(valid).map_err(unavailable)?;
            file.sync_all().map_err(unavailable)?;
        }
        let end = Position {
            segment: last,
            offset: valid,
        };
        let first = Position {
            segment: existing.first().copied().unwrap_or(last),
            offset: 0,
        };
        let applied = read_applied(dir).unwrap_or(first).min(end);
        let (durable_tx, durable) = watch::channel(end);
        let (requests, receiver) = std::sync::mpsc::channel();
        let writer = Writer {
            dir: dir.to_path_buf(),
            file,
            end,
            durable: durable_tx,
        };
        std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(unavailable)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            requests,
            durable,
            applied: Mutex::new(applied),
            max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
        })
    }

    /// The most the journal holds unapplied before it refuses appends
    /// ([`JournalError::Full`]).
    pub fn with_max_pending_bytes(mut self, bytes: u64) -> Self {
        self.max_pending_bytes = bytes;
        self
    }

    fn applied(&self) -> Position {
        self.applied.lock().map(|p| *p).unwrap_or_default()
    }

    /// True when every durable record has been applied.
    pub fn is_drained(&self) -> bool {
        self.applied() >= *self.durable.borrow()
    }

    /// How much has been made durable since the journal began, counting each finished segment
    /// at its full size: it only grows, so two readings apart tell the rate hits arrive at.
    pub fn durable_bytes(&self) -> u64 {
        let durable = *self.durable.borrow();
        durable.segment.saturating_sub(1) * writer::SEGMENT_BYTES + durable.offset
    }

    /// How much is journalled and not yet applied (whole segments between counted at their
    /// full size).
    pub fn pending_bytes(&self) -> u64 {
        let applied = self.applied();
        let durable = *self.durable.borrow();
        if applied >= durable {
            return 0;
        }
        let segments_between = durable.segment - applied.segment;
        (segments_between * writer::SEGMENT_BYTES + durable.offset).saturating_sub(applied.offset)
    }

    /// Waits until a record is there to read (at once if one already is).
    pub async fn wait_for_records(&self) {
        let mut durable = self.durable.clone();
        let applied = self.applied();
        let _ = durable.wait_for(|end| *end > applied).await;
    }

    /// Up to `max` records after the applied position, in order (none when drained).
    pub async fn read(&self, max: usize) -> Result<JournalBatch, JournalError> {
        let from = self.applied();
        let durable = *self.durable.borrow();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || read_from(&dir, from, durable, max))
            .await
            .map_err(unavailable)?
    }

    /// Records that everything before `end` is applied, durably, and deletes the segments
    /// it has left behind.
    pub async fn commit(&self, end: Position) -> Result<(), JournalError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let temporary = dir.join("applied.tmp");
            std::fs::write(&temporary, format!("{} {}\n", end.segment, end.offset))
                .and_then(|()| File::open(&temporary)?.sync_all())
                .and_then(|()| std::fs::rename(&temporary, dir.join(APPLIED)))
                .map_err(unavailable)?;
            sync_dir(&dir)?;
            for segment in segments(&dir)? {
                if segment < end.segment {
                    std::fs::remove_file(segment_path(&dir, segment)).map_err(unavailable)?;
                }
            }
            Ok::<(), JournalError>(())
        })
        .await
        .map_err(unavailable)??;
        if let Ok(mut applied) = self.applied.lock() {
            *applied = (*applied).max(end);
        }
        Ok(())
    }
}

/// Reads whole records from `from` up to the durable end; at the end of a finished segment,
/// moves on to the next one.
fn read_from(
    dir: &Path,
    mut from: Position,
    durable: Position,
    max: usize,
) -> Result<JournalBatch, JournalError> {
    let mut records = Vec::new();
    while records.len() < max && from < durable {
        let mut file = File::open(segment_path(dir, from.segment)).map_err(unavailable)?;
        let stop = if from.segment == durable.segment {
            durable.offset
        } else {
            file.metadata().map_err(unavailable)?.len()
        };
        if from.offset >= stop {
            from = Position {
                segment: from.segment + 1,
                offset: 0,
            };
            continue;
        }
        file.seek(SeekFrom::Start(from.offset))
            .map_err(unavailable)?;
        let mut bytes = Vec::new();
        // A long backlog is read a slice at a time (a slice holds at least one whole record).
        let limit = (stop - from.offset).min(READ_SLICE);
        file.take(limit)
            .read_to_end(&mut bytes)
            .map_err(unavailable)?;
        let mut at = 0;
        while records.len() < max {
            let Some((record, len)) = frame::decode(&bytes[at..]) else {
                break;
            };
            records.push(String::from_utf8_lossy(record).into_owned());
            at += len;
        }
        if at == 0 {
            // Below the durable end every frame is whole: this is damage, not a torn tail.
            return Err(JournalError::Unavailable(format!(
                "journal segment {} is damaged at byte {}",
                from.segment, from.offset
            )));
        }
        from.offset += at as u64;
    }
    Ok(JournalBatch { records, end: from })
}

#[async_trait]
impl Journal for FileJournal {
    async fn append(&self, record: String) -> Result<(), JournalError> {
        if record.len() > frame::MAX_RECORD {
            return Err(JournalError::Invalid(format!(
                "a record of {} bytes is over the {} byte limit",
                record.len(),
                frame::MAX_RECORD
            )));
        }
        let pending = self.pending_bytes();
        if pending >= self.max_pending_bytes {
            return Err(JournalError::Full(format!(
                "{pending} bytes wait to be applied (at most {})",
                self.max_pending_bytes
            )));
        }
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Append {
                record: record.into_bytes(),
                reply,
            })
            .map_err(|_| JournalError::Unavailable("the journal writer stopped".into()))?;
        answer
            .await
            .map_err(|_| JournalError::Unavailable("the journal writer stopped".into()))?
    }
}

#[cfg(test)]
mod tests;
