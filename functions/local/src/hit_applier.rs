//! The hit journal's consumer, as `analytics-rollup` is the hit queue's in AWS: reads the
//! journal in batches, applies them through [`Tracking::apply_journal`], and records how far
//! it got only after the batch is stored — so a crash, or a store outage, means the batch is
//! read again (and its already-stored hits are recognised, not counted twice).

use std::sync::Arc;
use std::time::{Duration, Instant};

use scaliyo_app::tracking::{ApplyReport, Tracking};
use scaliyo_embedded::FileJournal;
use tokio::sync::watch;

/// Records applied together (one journal read, one checkpoint).
const BATCH: usize = 4096;
/// The least time between the starts of two batches: a hit is applied within about this
/// long (plus the batch's own time) while the applier keeps up.
const GATHER: Duration = Duration::from_millis(200);
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
    /// own at a lower CPU priority (see [`APPLIER_NICENESS`]). When requests and the applier
    /// want the same cores, the requests win and their hits wait, durable, in the journal;
    /// the applier drains it with whatever the requests leave.
    pub fn start(self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("hit-applier")
            .on_thread_start(lower_this_threads_priority)
            .max_blocking_threads(4)
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::warn!(%error, "no runtime of its own for the hit applier: it shares the server's");
                return tokio::spawn(self.run(shutdown));
            }
        };
        let (finished, done) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hit-applier".into())
            .spawn(move || {
                // The future block_on drives runs on this thread: it is the applier's too.
                lower_this_threads_priority();
                runtime.block_on(self.run(shutdown));
                let _ = finished.send(());
            });
        if let Err(error) = thread {
            tracing::error!(%error, "the hit applier could not start: hits stay in the journal until the next start");
        }
        tokio::spawn(async move {
            let _ = done.await;
        })
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut last_batch: Option<Instant> = None;
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

/// The applier's threads' niceness (0 is the server's, 19 the lowest): at 10 the scheduler
/// gives them about a tenth of a contended core's time, and all of an idle one.
#[cfg(target_os = "linux")]
const APPLIER_NICENESS: libc::c_int = 10;

/// Linux keeps a niceness per thread: this lowers only the calling thread's.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take and return plain integers; they touch no memory.
        let outcome = unsafe {
            let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, thread, APPLIER_NICENESS)
        };
        if outcome != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "the hit applier keeps the normal priority");
        }
    }
}
