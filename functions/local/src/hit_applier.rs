//! The hit journal's consumer, as `analytics-rollup` is the hit queue's in AWS: reads the
//! journal in batches, applies them through [`Tracking::apply_journal`], and records how far
//! it got only after the batch is stored — so a crash, or a store outage, means the batch is
//! read again (and its already-stored hits are recognised, not counted twice).

use std::sync::Arc;
use std::time::Duration;

use scaliyo_app::tracking::{ApplyReport, Tracking};
use scaliyo_embedded::FileJournal;
use tokio::sync::watch;

/// Records applied together (one journal read, one checkpoint).
const BATCH: usize = 4096;
/// How long to wait before trying a batch again after the store refused it.
const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct HitApplier {
    journal: Arc<FileJournal>,
    tracking: Arc<Tracking>,
}

impl HitApplier {
    pub fn new(journal: Arc<FileJournal>, tracking: Arc<Tracking>) -> Self {
        Self { journal, tracking }
    }

    /// Applies one batch, if there is one; `None` when the journal is drained.
    async fn apply_next(&self) -> Result<Option<ApplyReport>, String> {
        let batch = self.journal.read(BATCH).await.map_err(|e| e.to_string())?;
        if batch.records.is_empty() {
            return Ok(None);
        }
        let report = self
            .tracking
            .apply_journal(&batch.records)
            .await
            .map_err(|e| e.to_string())?;
        self.journal
            .commit(batch.end)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(report))
    }

    /// Applies everything journalled so far (tests, and `scaliyo` commands).
    pub async fn drain(&self) -> Result<ApplyReport, String> {
        let mut total = ApplyReport::default();
        while let Some(report) = self.apply_next().await? {
            total += report;
        }
        Ok(total)
    }

    /// Runs until shutdown: each batch as soon as its records are durable.
    pub fn start(self, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = self.journal.wait_for_records() => {}
                    _ = shutdown.changed() => break,
                }
                if let Err(error) = self.apply_next().await {
                    tracing::warn!(%error, "applying tracking hits failed; the batch is retried");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY_AFTER) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
        })
    }
}
