//! The `ai-worker`: one job (one lead of one run) per queue message, a bounded number at once
//! and no faster than the provider's rate limit. A job that fails for a reason that may pass
//! (the model busy or rate-limited, the site unreachable, an answer that could not be read)
//! is queued again with a delay, up to `MAX_ATTEMPTS`; then, or at once for a reason that
//! will not pass, it is reported failed and its share of the credits handed back.

use std::sync::Arc;
use std::time::Duration;

use scaliyo_domain::ai::{self, AiOperation};
use scaliyo_store::{
    Condition, ModelError, OutgoingMessage, PageError, Queue, StoreError, Update, WriteOp,
};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::*;
use crate::access::AccessError;
use crate::ai::writing::{SequenceSpec, SequenceWritten};

/// The longest an error message kept on a job item.
const MAX_ERROR_CHARS: usize = 300;
/// SQS's longest delay.
const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Copy)]
pub struct AiWorkerConfig {
    /// Jobs worked on at once by one worker.
    pub concurrency: usize,
    /// Model calls one worker starts per minute, at most (the provider's rate limit divided
    /// by the workers that may run at once).
    pub requests_per_minute: u32,
    /// The wait before a job's second attempt when its failure names none (the third waits
    /// twice as long).
    pub retry_delay: Duration,
}

impl Default for AiWorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            requests_per_minute: 60,
            retry_delay: Duration::from_secs(30),
        }
    }
}

impl AiWorkerConfig {
    /// `AI_WORKER_CONCURRENCY`, `AI_REQUESTS_PER_MINUTE` (defaults 4 and 60).
    pub fn from_env() -> Self {
        let read = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
        let default = Self::default();
        Self {
            concurrency: read("AI_WORKER_CONCURRENCY")
                .map(|n| n.max(1) as usize)
                .unwrap_or(default.concurrency),
            requests_per_minute: read("AI_REQUESTS_PER_MINUTE")
                .map(|n| n.max(1))
                .unwrap_or(default.requests_per_minute),
            retry_delay: default.retry_delay,
        }
    }
}

/// Spaces model calls evenly: each call takes the next free slot, one interval after the
/// previous one's.
struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(requests_per_minute: u32) -> Self {
        Self {
            interval: Duration::from_secs(60) / requests_per_minute.max(1),
            next: Mutex::new(None),
        }
    }

    async fn wait_turn(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// How a job's attempt ended.
enum Outcome {
    Written {
        tokens: u64,
    },
    /// Not now: try again later (after `after`, when the failure named a time).
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Never: report it.
    Failed(String),
}

fn error_text(error: &AiError) -> String {
    error.to_string().chars().take(MAX_ERROR_CHARS).collect()
}

/// Whether a failure may pass if the job is tried again.
fn outcome_of(error: AiError) -> Outcome {
    let reason = error_text(&error);
    let retry = |after| Outcome::Retry {
        reason: reason.clone(),
        after,
    };
    match &error {
        AiError::Model(ModelError::RateLimited { retry_after }) => retry(*retry_after),
        AiError::Model(ModelError::Unavailable(_)) | AiError::Answer(_) | AiError::Queue(_) => {
            retry(None)
        }
        AiError::Website(PageError::Unreachable(_)) => retry(None),
        AiError::Website(PageError::Status(status)) if *status == 429 || *status >= 500 => {
            retry(None)
        }
        AiError::Access(AccessError::Row(RowError::Store(_))) => retry(None),
        _ => Outcome::Failed(reason),
    }
}

#[derive(Clone)]
pub struct AiWorker {
    ai: Arc<Ai>,
    queue: Arc<dyn Queue>,
    permits: Arc<Semaphore>,
    pacer: Arc<Pacer>,
    retry_delay: Duration,
}

impl AiWorker {
    /// `queue`: the run queue, where a job waits again for its next attempt.
    pub fn new(ai: Arc<Ai>, queue: Arc<dyn Queue>, config: AiWorkerConfig) -> Self {
        Self {
            ai,
            queue,
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            pacer: Arc::new(Pacer::new(config.requests_per_minute)),
            retry_delay: config.retry_delay,
        }
    }

    /// Handles one message. `Err` only when the job could not be recorded (the message
    /// comes back); a job that failed is recorded and its message done.
    pub async fn process(&self, body: &str) -> Result<(), AiError> {
        let job: Job = match serde_json::from_str(body) {
            Ok(job) => job,
            Err(error) => {
                // Only the `ai` function writes this queue: a body it did not write is
                // dropped, not retried.
                tracing::error!(%error, "an AI job message could not be read; dropped");
                return Ok(());
            }
        };
        let store = self.ai.access.rows().store();
        let Some(run) = store
            .get(&run_key(job.owner, &job.run))
            .await
            .map_err(RowError::from)?
            .and_then(|item| Run::read(&item, job.owner, &job.run))
        else {
            tracing::warn!(run = %job.run, "an AI job's run is gone; dropped");
            return Ok(());
        };
        // One more attempt, if the job still waits (else a repeated delivery: done).
        let item = match store
            .update(
                &item_key(job.owner, &job.run, &job.lead),
                Update::new().add("attempts", 1),
                Some(Condition::eq("state", PENDING)),
            )
            .await
        {
            Ok(item) => item,
            Err(StoreError::ConditionFailed { .. }) => return Ok(()),
            Err(error) => return Err(RowError::from(error).into()),
        };
        let attempt = item.i64("attempts").unwrap_or(1);
        // Fixed when the run started: a repeated attempt finds the sequence an earlier one
        // scheduled.
        let sequence_id = item.str("sequence_id");
        if attempt > MAX_ATTEMPTS {
            return self
                .ai
                .fail_job(&run, &job.lead, "gave up after repeated attempts")
                .await;
        }
        let outcome = {
            let _permit = self.permits.acquire().await;
            self.pacer.wait_turn().await;
            self.attempt(&run, &job, sequence_id).await
        };
        match outcome {
            Outcome::Written { tokens } => self.ai.settle_job(&run, &job.lead, tokens).await,
            Outcome::Failed(reason) => self.ai.fail_job(&run, &job.lead, &reason).await,
            Outcome::Retry { reason, .. } if attempt >= MAX_ATTEMPTS => {
                self.ai.fail_job(&run, &job.lead, &reason).await
            }
            Outcome::Retry { reason, after } => {
                tracing::info!(run = %run.id, attempt, %reason, "an AI job will be tried again");
                let delay = after
                    .unwrap_or(self.retry_delay * u32::try_from(attempt).unwrap_or(1))
                    .min(MAX_DELAY);
                self.ai.note_error(&run, &job.lead, &reason).await?;
                self.queue
                    .send_batch(vec![OutgoingMessage::new(body).delayed(delay)])
                    .await?;
                Ok(())
            }
        }
    }

    async fn attempt(&self, run: &Run, job: &Job, sequence_id: Option<&str>) -> Outcome {
        let actor = Actor::acting_for(run.owner);
        let ai = &self.ai;
        // The job's share stays reserved across attempts: settled when written, handed
        // back when the job fails for good.
        let result = match run.kind {
            RunKind::Research => research_job(ai, &actor, &job.lead).await,
            RunKind::Sequence => {
                let spec: Option<SequenceSpec> = run
                    .spec
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok());
                let Some(spec) = spec else {
                    return Outcome::Failed("the run's steps could not be read".into());
                };
                let Some(sequence_id) = sequence_id else {
                    return Outcome::Failed("the job has no sequence id".into());
                };
                sequence_job(ai, &actor, &job.lead, &spec, sequence_id).await
            }
        };
        match result {
            Ok(tokens) => Outcome::Written { tokens },
            Err(error) => outcome_of(error),
        }
    }
}

async fn research_job(ai: &Ai, actor: &Actor, lead_id: &str) -> Result<u64, AiError> {
    let lead = ai.access.get(actor, "leads", lead_id).await?;
    let website = Ai::website_for(&lead, None)?;
    let site = ai.read_site(&website).await?;
    let written = ai.write_research(actor, lead_id, &lead, &site).await?;
    Ok(written.reply.total_tokens())
}

async fn sequence_job(
    ai: &Ai,
    actor: &Actor,
    lead_id: &str,
    spec: &SequenceSpec,
    sequence_id: &str,
) -> Result<u64, AiError> {
    match ai.write_sequence(actor, lead_id, spec, sequence_id).await? {
        SequenceWritten::Scheduled(reply) => Ok(reply.total_tokens()),
        // Written by an attempt that stopped before settling: charged at the minimum.
        SequenceWritten::AlreadyScheduled => Ok(0),
    }
}

impl Ai {
    /// A job written: its cost charged from its share (the rest handed back), the job and
    /// the run's counts updated — one transaction, once.
    async fn settle_job(&self, run: &Run, lead_id: &str, tokens: u64) -> Result<(), AiError> {
        let operation = match run.kind {
            RunKind::Research => AiOperation::LeadResearch,
            RunKind::Sequence => AiOperation::EmailSequence,
        };
        let reservation = run.job_reservation();
        let cost = ai::cost(operation, tokens);
        let charged = i64::try_from(cost).unwrap_or(i64::MAX);
        let job = Update::new()
            .set("state", WRITTEN)
            .set("updated_at", timestamp(self.clock.now()))
            .remove("error");
        // The counts record what the meter charges: within the limit, never past the share.
        let charged_count = charged.min(run.share);
        let extra = vec![
            WriteOp::Update {
                key: item_key(run.owner, &run.id, lead_id),
                update: job,
                condition: Some(Condition::eq("state", PENDING)),
            },
            WriteOp::update(
                run_key(run.owner, &run.id),
                Update::new()
                    .add("written", 1)
                    .add("charged", charged_count)
                    .add("refunded", run.share - charged_count),
            ),
        ];
        match self
            .meter
            .settle_with(&reservation, cost, tokens, extra)
            .await?
        {
            Some(credits) => tracing::info!(run = %run.id, credits, "AI job written"),
            None => tracing::info!(run = %run.id, "AI job settled already"),
        }
        Ok(())
    }

    /// A job failed for good: its share handed back, the job and the run's counts updated —
    /// one transaction, once.
    pub(super) async fn fail_job(
        &self,
        run: &Run,
        lead_id: &str,
        reason: &str,
    ) -> Result<(), AiError> {
        let extra = vec![
            WriteOp::Update {
                key: item_key(run.owner, &run.id, lead_id),
                update: Update::new()
                    .set("state", FAILED)
                    .set("error", reason.to_owned())
                    .set("updated_at", timestamp(self.clock.now())),
                condition: Some(Condition::eq("state", PENDING)),
            },
            WriteOp::update(
                run_key(run.owner, &run.id),
                Update::new().add("failed", 1).add("refunded", run.share),
            ),
        ];
        if self
            .meter
            .refund_with(&run.job_reservation(), extra)
            .await?
        {
            tracing::warn!(run = %run.id, %reason, "AI job failed");
        }
        Ok(())
    }

    /// The last error of a job that will be tried again.
    async fn note_error(&self, run: &Run, lead_id: &str, reason: &str) -> Result<(), AiError> {
        let noted = self
            .access
            .rows()
            .store()
            .transact_write(vec![WriteOp::Update {
                key: item_key(run.owner, &run.id, lead_id),
                update: Update::new().set("error", reason.to_owned()),
                condition: Some(Condition::eq("state", PENDING)),
            }])
            .await;
        match noted {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(error) => Err(RowError::from(error).into()),
        }
    }
}
