//! Reading an uploaded file: encoding and delimiter sniffed, records split with a bound,
//! rows mapped and cut into chunks by their index.

use super::*;

/// Why the file side of an import stopped.
pub(super) enum ReadError {
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
pub(super) struct Records {
    pub(super) reader: BlobReader,
    pub(super) decoder: TextDecoder,
    pub(super) splitter: RecordSplitter,
    pub(super) delimiter: u8,
    pub(super) ready: VecDeque<RawRecord>,
    pub(super) split: Vec<RawRecord>,
    pub(super) text: String,
    pub(super) buffer: Vec<u8>,
    pub(super) finished: bool,
}

impl Records {
    /// Sniffs the encoding and the delimiter from the first bytes.
    pub(super) async fn open(mut reader: BlobReader) -> Result<Self, ReadError> {
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

    pub(super) async fn next(&mut self) -> Result<Option<RawRecord>, BlobError> {
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

    pub(super) fn split_text(&mut self) {
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
pub(super) struct RowReader {
    pub(super) records: Records,
    pub(super) mapping: Mapping,
    pub(super) seen: SeenKeys,
    pub(super) next_row: u64,
    /// The index of the next chunk.
    pub(super) chunk_index: i64,
    pub(super) chunk_rows: usize,
}

/// Rows in chunk `index`: the first chunk is a quarter of the others, so that the writes start
/// early and the next chunk's checks overlap them (two chunks are in hand at a time). A pure
/// function of the index: a resumed run cuts its chunks where the first run did.
pub(super) fn chunk_size(index: i64, chunk_rows: usize) -> usize {
    if index == 0 {
        (chunk_rows / 4).max(1)
    } else {
        chunk_rows.max(1)
    }
}

impl RowReader {
    /// Reads up to the header and maps it.
    pub(super) async fn open(
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
    pub(super) async fn next_chunk(&mut self) -> Result<Option<Vec<Pending>>, BlobError> {
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
