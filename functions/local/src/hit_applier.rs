//! The hit journal's consumer, as `analytics-rollup` is the hit queue's in AWS: reads the
//! journal in batches, applies them through [`Tracking::apply_journal`], and records how far
//! it got only after the batch is stored — so a crash, or a store outage, means the batch is
//! read again (and its already-stored hits are recognised, not counted twice).

use std::sync::Arc;
use std::time::{Duration, Instant};

use scaliyo_app::tracking::{ApplyReport, Tracking};
use scaliyo_embedded::FileJournal;
use tokio::sync::watch;

use crate::background_threads::BackgroundThreads;

/// Records applied together (one journal read, one checkpoint).
const BATCH: usize = 4096;
/// The least time between the starts of two batches: a hit is applied within about this
/// long (plus the batch's own time) while the applier keeps up.
const GATHER: Duration = Duration::from_millis(200);
/// A backlog past this (about 800,000 hits; a minute of the heaviest load measured) raises the
/// applier to normal priority, so a load that never pauses cannot defer it for ever...
const RAISE_ABOVE_BYTES: u64 = 256 * 1024 * 1024;
/// ...until it is worked down to this.
const LOWER_BELOW_BYTES: u64 = 16 * 1024 * 1024;
/// Hits arriving faster than this (about 10,000 a second, at some 330 bytes each) are a burst:
/// applying waits for it to pass (see `run`).
const BURST_BYTES_PER_SECOND: f64 = 10_000.0 * 330.0;
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

    /// Runs until shutdown: each batch as soon as its records are durable, on threads of its
    /// own at background priority ([`BackgroundThreads`]). When requests and the applier want
    /// the same cores, the requests win and their hits wait, durable, in the journal; the
    /// applier drains it with whatever the requests leave, and is raised to normal priority
    /// while the backlog is long.
    pub fn start(self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let priority = Arc::new(BackgroundThreads::default());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("hit-applier")
            .on_thread_start({
                let priority = priority.clone();
                move || priority.enter()
            })
            .on_thread_stop({
                let priority = priority.clone();
                move || priority.leave()
            })
            .max_blocking_threads(4)
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::warn!(%error, "no runtime of its own for the hit applier: it shares the server's");
                return tokio::spawn(self.run(shutdown, priority));
            }
        };
        let (finished, done) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hit-applier".into())
            .spawn(move || {
                // The future block_on drives runs on this thread: it is the applier's too.
                priority.enter();
                runtime.block_on(self.run(shutdown, priority.clone()));
                priority.leave();
                let _ = finished.send(());
            });
        if let Err(error) = thread {
            tracing::error!(%error, "the hit applier could not start: hits stay in the journal until the next start");
        }
        tokio::spawn(async move {
            let _ = done.await;
        })
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>, priority: Arc<BackgroundThreads>) {
        let mut last_batch: Option<Instant> = None;
        let mut arrived_before = (self.journal.durable_bytes(), Instant::now());
        loop {
            tokio::select! {
                () = self.journal.wait_for_records() => {}
                _ = shutdown.changed() => break,
            }
            // Under a steady load, hits gather for a moment so a batch is one store commit
            // for hundreds of them rather than one for each handful.
            let waited = last_batch.map_or(GATHER, |at| at.elapsed());
            if waited < GATHER {
                tokio::select! {
                    () = tokio::time::sleep(GATHER - waited) => {}
                    _ = shutdown.changed() => break,
                }
            }
            last_batch = Some(Instant::now());
            let backlog = self.journal.pending_bytes();
            if backlog > RAISE_ABOVE_BYTES {
                priority.raise(true);
            } else if backlog < LOWER_BELOW_BYTES {
                priority.raise(false);
            }
            // During a burst the store's writer (which serves requests too, at their priority)
            // would spend on this batch the cycles the requests need: the burst waits in the
            // journal and is applied once it eases — unless the backlog has grown long.
            let arrived = (self.journal.durable_bytes(), Instant::now());
            let seconds = arrived.1.duration_since(arrived_before.1).as_secs_f64();
            let arriving = arrived.0.saturating_sub(arrived_before.0) as f64 / seconds.max(0.001);
            arrived_before = arrived;
            if arriving > BURST_BYTES_PER_SECOND && !priority.is_raised() {
                continue;
            }
            if let Err(error) = self.apply_next().await {
                tracing::warn!(%error, "applying tracking hits failed; the batch is retried");
                tokio::select! {
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                    _ = shutdown.changed() => break,
                }
            }
        }
    }
}
