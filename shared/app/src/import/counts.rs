//! The counts of a batch: imported, updated, skipped (with the first skipped rows kept).

use super::*;

/// The counts of a batch, as kept on its row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Counts {
    pub(super) total: i64,
    pub(super) imported: i64,
    pub(super) updated: i64,
    pub(super) skipped: i64,
    pub(super) skipped_rows: Vec<Value>,
    /// The current chunk's lines of `rejected.csv`.
    pub(super) chunk_report: String,
}

/// The counters' columns of `import_batches`.
#[derive(Serialize)]
struct CountsPatch<'a> {
    total_rows: i64,
    imported_count: i64,
    updated_count: i64,
    skipped_count: i64,
    skipped_rows: &'a [Value],
}

impl Counts {
    pub(super) fn from_row(row: &Row) -> Self {
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
    pub(super) fn skip(&mut self, number: u64, reason: &str, detail: &str, raw: &str) {
        report_line(&mut self.chunk_report, number, reason, detail, raw);
        self.skipped += 1;
        if self.skipped_rows.len() < SKIPPED_ROWS_KEPT {
            self.skipped_rows
                .push(json!({ "row": number, "reason": reason, "detail": detail, "raw": raw }));
        }
    }

    /// Adds a chunk's counts (the batch row keeps the first skipped rows of the file).
    pub(super) fn merge(&mut self, chunk: Counts) {
        self.total += chunk.total;
        self.imported += chunk.imported;
        self.updated += chunk.updated;
        self.skipped += chunk.skipped;
        let room = SKIPPED_ROWS_KEPT.saturating_sub(self.skipped_rows.len());
        self.skipped_rows
            .extend(chunk.skipped_rows.into_iter().take(room));
    }

    /// The batch's counters as an `import_batches` patch.
    pub(super) fn patch(&self) -> Result<Row, RowError> {
        crate::rows::to_row(&CountsPatch {
            total_rows: self.total,
            imported_count: self.imported,
            updated_count: self.updated,
            skipped_count: self.skipped,
            skipped_rows: &self.skipped_rows,
        })
    }
}
