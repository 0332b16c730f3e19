//! The journal's single writer: takes every append waiting, writes them with one `write` and
//! one `fdatasync`, then answers them all — concurrent requests share one fsync (group
//! commit) and nobody is answered before their record is on disk.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use scaliyo_store::JournalError;
use tokio::sync::{oneshot, watch};

use super::{Position, frame, segment_path};

/// A segment is closed and a new one begun past this size, so applied segments can be
/// deleted whole.
pub(super) const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// At most this many records share one write.
const MAX_GROUP: usize = 4096;

pub(super) struct Append {
    pub(super) record: Vec<u8>,
    pub(super) reply: oneshot::Sender<Result<(), JournalError>>,
}

pub(super) struct Writer {
    pub(super) dir: PathBuf,
    pub(super) file: File,
    pub(super) end: Position,
    pub(super) durable: watch::Sender<Position>,
}

impl Writer {
    pub(super) fn run(mut self, requests: std::sync::mpsc::Receiver<Append>) {
        let mut buffer = Vec::with_capacity(1 << 20);
        while let Ok(first) = requests.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match requests.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            buffer.clear();
            for append in &group {
                frame::encode(&append.record, &mut buffer);
            }
            let outcome = self.write(&buffer);
            for append in group {
                let _ = append.reply.send(outcome.clone());
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        if self.end.offset >= SEGMENT_BYTES {
            self.rotate()?;
        }
        let written = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            // The file may now hold part of this group: cut it back so the next group does
            // not follow torn bytes (which would hide it from the reader).
            let _ = self.file.set_len(self.end.offset);
            return Err(JournalError::Unavailable(error.to_string()));
        }
        self.end.offset += bytes.len() as u64;
        self.durable.send_replace(self.end);
        Ok(())
    }

    /// Begins the next segment; the previous one is complete and durable.
    fn rotate(&mut self) -> Result<(), JournalError> {
        let next = Position {
            segment: self.end.segment + 1,
            offset: 0,
        };
        let file = super::create_segment(&self.dir, next.segment)?;
        tracing::debug!(path = %segment_path(&self.dir, next.segment).display(), "journal segment begun");
        self.file = file;
        self.end = next;
        self.durable.send_replace(self.end);
        Ok(())
    }
}
