//! `process-scheduled-emails`: scheduled sends and multi-step sequences.
//!
//! - **Scheduling** writes one `scheduled_emails` row per block, rendered at scheduling time
//!   (the schema's `to_email`/`subject`/`html_body` are NOT NULL: the row is what the user
//!   previewed; an unknown merge tag fails now, while someone can fix it, not at 3 a.m.).
//!   Tracking and the unsubscribe footer are still added at send time.
//! - **The tick** finds due rows through the sharded sparse due-index (GSI4, only `pending`
//!   rows), claims each with a version-guarded `pending → processing` put carrying a lease,
//!   and fans the claims out through the send queue. Claimed rows sit in a sparse lease index
//!   (GSI5) until they settle, so a tick also recovers rows whose consumer died.
//! - **The consumer** sends a claimed row through the shared [`SendPipeline`], keyed by the
//!   row (Idempotency-Key `scheduled:<id>`), and settles it `sent`, `failed`, `cancelled` or
//!   back to `pending` at a later time (caps, transient provider errors).
//!
//! The one window left: the provider accepted the message and the process died before the
//! message row was written. The next attempt (after the lease) finds no record and sends
//! again — with the same RFC 5322 Message-ID (derived from the row), which mailbox
//! providers use to collapse duplicates. See docs/scheduling.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use scaliyo_domain::email::{self, RenderError};
use scaliyo_domain::schedule::{self, BlockTiming, SendWindow};
use scaliyo_domain::schema::{self, Table};
use scaliyo_store::{
    Clock, Cursor, Item, OutgoingMessage, Queue, QueueError, StoreError, Value as StoreValue,
    WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text};
use crate::send::{PreparedSend, SendError, SendPipeline, merge_values, suppression_key};
use crate::work_queue::{ATTEMPTS, CLAIM, SEND_WINDOW as WINDOW, WorkQueue};

pub const MAX_BLOCKS: usize = 20;
pub const MAX_LEADS: usize = 1000;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How long a claim holds before a later tick may recover the row.
    pub lease: Duration,
    /// Claims per tick, so a tick ends well inside its Lambda timeout; the rest wait a minute.
    pub max_claims_per_tick: usize,
    /// Conditional writes in flight while claiming.
    pub claim_concurrency: usize,
    /// Attempts (transient failures and recoveries) before a row fails for good.
    pub max_attempts: i64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::minutes(5),
            max_claims_per_tick: 20_000,
            claim_concurrency: 32,
            max_attempts: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the e-mail is {status} and cannot be cancelled")]
    NotCancellable { status: String },
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<RowError> for ScheduleError {
    fn from(error: RowError) -> Self {
        ScheduleError::Access(AccessError::Row(error))
    }
}

impl From<StoreError> for ScheduleError {
    fn from(error: StoreError) -> Self {
        ScheduleError::Access(AccessError::Row(RowError::Store(error)))
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ScheduleError {
    ScheduleError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Requests

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// `mon` … `sun`.
    pub weekdays: Vec<String>,
    /// `HH:MM`, local to `time_zone`.
    pub start: String,
    pub end: String,
    /// IANA name, e.g. `America/New_York`.
    pub time_zone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    pub subject: String,
    pub html_body: String,
    #[serde(default)]
    pub delay_days: u32,
    #[serde(default)]
    pub delay_hours: u32,
    #[serde(default)]
    pub delay_minutes: u32,
    /// An absolute time instead of a delay (any UTC offset).
    pub at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceRequest {
    pub lead_ids: Vec<String>,
    pub blocks: Vec<BlockSpec>,
    /// When the first block's delay starts counting (default: now).
    pub start_at: Option<DateTime<FixedOffset>>,
    pub window: Option<WindowSpec>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleOneRequest {
    pub lead_id: String,
    pub subject: String,
    pub html_body: String,
    pub scheduled_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScheduledBlock {
    pub id: String,
    pub block_index: i64,
    pub scheduled_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Enrolment {
    pub lead_id: String,
    /// One sequence per lead: cancel it to stop the lead's remaining blocks.
    pub sequence_id: String,
    pub emails: Vec<ScheduledBlock>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SkippedLead {
    pub lead_id: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SequenceScheduled {
    pub sequences: Vec<Enrolment>,
    pub skipped: Vec<SkippedLead>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct CancelReport {
    pub cancelled: usize,
    /// Already sent, failed or cancelled.
    pub already_settled: usize,
    /// Being sent right now: too late to stop.
    pub in_flight: usize,
}

// ---------------------------------------------------------------------------------------
// Queue messages and reports

/// What the tick puts on the send queue: one claimed row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimMessage {
    pub owner: String,
    pub id: String,
    pub claim: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TickReport {
    pub claimed: usize,
    pub enqueued: usize,
    pub recovered: usize,
    pub gave_up: usize,
}

/// How the consumer settled one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Processed {
    Sent {
        message_id: String,
    },
    Rescheduled {
        at: DateTime<Utc>,
        reason: String,
    },
    Failed {
        reason: String,
    },
    Cancelled {
        reason: String,
    },
    /// Nothing to do: the row moved on (another consumer, a recovery, a deletion).
    Stale,
}

fn table() -> &'static Table {
    schema::table("scheduled_emails").unwrap_or(&schema::TABLES[0])
}

/// The row id of block `index` of a sequence: derived, so the rest of a sequence is found
/// without an index (even after the lead is deleted and `lead_id` is cleared).
pub fn block_id(sequence_id: &str, index: i64) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:sequence:{sequence_id}:{index}").as_bytes(),
    )
    .to_string()
}

/// Scheduled e-mails: due in GSI4 while `pending`, leased in GSI5 while `processing`.
const QUEUE: WorkQueue =
    WorkQueue::new("scheduled_emails", "idx_scheduled_emails_status_scheduled");

fn window_of(item: &Item) -> Option<SendWindow> {
    let spec: WindowSpec = serde_json::from_str(item.str(WINDOW)?).ok()?;
    SendWindow::parse(&spec.weekdays, &spec.start, &spec.end, &spec.time_zone).ok()
}

/// The internal attributes a transition keeps (everything else internal is dropped).
fn carried(item: &Item, attempts: i64) -> Vec<(&'static str, StoreValue)> {
    let mut keep = vec![(ATTEMPTS, StoreValue::from(attempts))];
    if let Some(window) = item.str(WINDOW) {
        keep.push((WINDOW, StoreValue::from(window)));
    }
    keep
}
/// The API side: schedule and cancel (what the `api` function serves). Needs only the rows.
#[derive(Clone)]
pub struct Scheduling {
    access: Arc<Access>,
    clock: Arc<dyn Clock>,
}

impl Scheduling {
    pub fn new(access: Arc<Access>, clock: Arc<dyn Clock>) -> Self {
        Self { access, clock }
    }

    // -----------------------------------------------------------------------------------
    // Scheduling

    /// One e-mail to one lead at a time (no sequence).
    pub async fn schedule_one(
        &self,
        actor: &Actor,
        request: ScheduleOneRequest,
    ) -> Result<ScheduledBlock, ScheduleError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let lead = self.access.get(actor, "leads", &request.lead_id).await?;
        let to_email = lead_address(&lead)
            .ok_or_else(|| invalid("lead_id", "the lead has no e-mail address"))?;
        let values = merge_values(&lead, &request.variables);
        let subject = render(&request.subject, &values, false, "subject")?;
        let html_body = render(&request.html_body, &values, true, "html_body")?;
        require_text(&subject, &html_body)?;
        let at = request.scheduled_at.with_timezone(&Utc);
        let id = uuid::Uuid::new_v4().to_string();
        let row = self.new_row(
            &owner,
            &id,
            &request.lead_id,
            &to_email,
            &subject,
            &html_body,
            at,
            0,
            None,
        )?;
        let ops = self.row_ops(&owner, &row, None)?;
        self.access
            .rows()
            .store()
            .transact_write(ops)
            .await
            .map_err(reference_error)?;
        Ok(ScheduledBlock {
            id,
            block_index: 0,
            scheduled_at: timestamp_text(at),
        })
    }

    /// A sequence for one or many leads: every block of a lead is written in one
    /// transaction; a request that cannot be scheduled for some lead writes nothing.
    pub async fn schedule_sequence(
        &self,
        actor: &Actor,
        request: SequenceRequest,
    ) -> Result<SequenceScheduled, ScheduleError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        if request.lead_ids.is_empty() || request.lead_ids.len() > MAX_LEADS {
            return Err(invalid("lead_ids", format!("give 1 to {MAX_LEADS} leads")));
        }
        if request.blocks.is_empty() || request.blocks.len() > MAX_BLOCKS {
            return Err(invalid("blocks", format!("give 1 to {MAX_BLOCKS} blocks")));
        }
        let window = request
            .window
            .as_ref()
            .map(|w| SendWindow::parse(&w.weekdays, &w.start, &w.end, &w.time_zone))
            .transpose()
            .map_err(|e| invalid("window", e.to_string()))?;
        let window_text = request
            .window
            .as_ref()
            .map(|w| serde_json::to_string(w).unwrap_or_default());
        let timings: Vec<BlockTiming> = request
            .blocks
            .iter()
            .map(|b| match b.at {
                Some(at) => BlockTiming::At(at.with_timezone(&Utc)),
                None => BlockTiming::After {
                    days: b.delay_days,
                    hours: b.delay_hours,
                    minutes: b.delay_minutes,
                },
            })
            .collect();
        let start = request
            .start_at
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| self.clock.now());
        let times = schedule::plan(start, &timings, window.as_ref())
            .map_err(|e| invalid("blocks", e.to_string()))?;

        let store = self.access.rows().store().clone();
        let mut planned = Vec::new();
        let mut skipped = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for lead_id in &request.lead_ids {
            if !seen.insert(lead_id.clone()) {
                continue;
            }
            let lead = match self.access.get(actor, "leads", lead_id).await {
                Ok(lead) => lead,
                Err(AccessError::Row(RowError::NotFound)) => {
                    return Err(invalid("lead_ids", format!("lead {lead_id} was not found")));
                }
                Err(e) => return Err(e.into()),
            };
            let Some(to_email) = lead_address(&lead) else {
                skipped.push(SkippedLead {
                    lead_id: lead_id.clone(),
                    reason: "no_email",
                });
                continue;
            };
            if store
                .get(&suppression_key(&owner, &to_email))
                .await?
                .is_some()
            {
                skipped.push(SkippedLead {
                    lead_id: lead_id.clone(),
                    reason: "suppressed",
                });
                continue;
            }
            let values = merge_values(&lead, &request.variables);
            let sequence_id = uuid::Uuid::new_v4().to_string();
            let mut rows = Vec::with_capacity(request.blocks.len());
            for (index, (block, at)) in request.blocks.iter().zip(&times).enumerate() {
                let field = |name: &str| format!("blocks[{index}].{name}");
                let subject = render(&block.subject, &values, false, &field("subject"))?;
                let html_body = render(&block.html_body, &values, true, &field("html_body"))?;
                require_text(&subject, &html_body)?;
                let index = index as i64;
                rows.push(self.new_row(
                    &owner,
                    &block_id(&sequence_id, index),
                    lead_id,
                    &to_email,
                    &subject,
                    &html_body,
                    *at,
                    index,
                    Some(&sequence_id),
                )?);
            }
            planned.push((lead_id.clone(), sequence_id, rows));
        }

        let mut sequences = Vec::with_capacity(planned.len());
        for (lead_id, sequence_id, rows) in planned {
            let mut ops: Vec<WriteOp> = Vec::new();
            for row in &rows {
                for op in self.row_ops(&owner, row, window_text.as_deref())? {
                    // Every block checks the same lead: once per transaction.
                    let repeated = matches!(op, WriteOp::ConditionCheck { .. })
                        && ops.iter().any(|o| o.key().ok() == op.key().ok());
                    if !repeated {
                        ops.push(op);
                    }
                }
            }
            store.transact_write(ops).await.map_err(reference_error)?;
            sequences.push(Enrolment {
                lead_id,
                sequence_id,
                emails: rows
                    .iter()
                    .map(|r| ScheduledBlock {
                        id: r["id"].as_str().unwrap_or_default().to_owned(),
                        block_index: r["block_index"].as_i64().unwrap_or(0),
                        scheduled_at: r["scheduled_at"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            });
        }
        tracing::info!(
            owner,
            sequences = sequences.len(),
            skipped = skipped.len(),
            "sequence scheduled"
        );
        Ok(SequenceScheduled { sequences, skipped })
    }

    #[allow(clippy::too_many_arguments)]
    fn new_row(
        &self,
        owner: &str,
        id: &str,
        lead_id: &str,
        to_email: &str,
        subject: &str,
        html_body: &str,
        at: DateTime<Utc>,
        block_index: i64,
        sequence_id: Option<&str>,
    ) -> Result<Row, ScheduleError> {
        let mut row = Row::new();
        row.insert("id".into(), json!(id));
        row.insert("owner_id".into(), json!(owner));
        row.insert("lead_id".into(), json!(lead_id));
        row.insert("to_email".into(), json!(to_email));
        row.insert("subject".into(), json!(subject));
        row.insert("html_body".into(), json!(html_body));
        row.insert("scheduled_at".into(), json!(timestamp_text(at)));
        row.insert("block_index".into(), json!(block_index));
        row.insert("sequence_id".into(), json!(sequence_id));
        Ok(self.access.rows().prepare(table(), row)?)
    }

    /// The row with its reference check; the window rides along for rescheduling.
    fn row_ops(
        &self,
        owner: &str,
        row: &Row,
        window: Option<&str>,
    ) -> Result<Vec<WriteOp>, ScheduleError> {
        let mut ops = self
            .access
            .rows()
            .insert_ops(table(), Some(owner), row, true)?;
        if let (Some(window), Some(WriteOp::Put { item, .. })) = (window, ops.first_mut()) {
            item.set(WINDOW, window);
        }
        Ok(ops)
    }

    // -----------------------------------------------------------------------------------
    // Cancelling

    /// Cancels one pending e-mail. Cancelling a cancelled one is a no-op; one being sent,
    /// sent or failed cannot be cancelled.
    pub async fn cancel(&self, actor: &Actor, id: &str) -> Result<Row, ScheduleError> {
        // The policy decides visibility: another user's id is simply not found.
        let visible = self.access.get(actor, "scheduled_emails", id).await?;
        let owner = visible["owner_id"].as_str().unwrap_or_default().to_owned();
        for _ in 0..3 {
            let Some(item) = self
                .access
                .rows()
                .get_raw(table(), Some(&owner), id)
                .await?
            else {
                return Err(RowError::NotFound.into());
            };
            let status = item.str("status").unwrap_or_default().to_owned();
            match status.as_str() {
                "cancelled" => return Ok(crate::rows::from_item(table(), &item)),
                "pending" => {}
                _ => return Err(ScheduleError::NotCancellable { status }),
            }
            match self
                .settle(&item, "cancelled", None, Some("cancelled by the user"), 0)
                .await
            {
                Ok(row) => return Ok(row),
                // Claimed or changed meanwhile: look again.
                Err(ScheduleError::Access(AccessError::Row(RowError::Concurrent))) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(RowError::Concurrent.into())
    }

    /// The blocks of a lead's sequence, in order.
    pub async fn sequence(
        &self,
        actor: &Actor,
        sequence_id: &str,
    ) -> Result<Vec<Row>, ScheduleError> {
        let mut blocks = Vec::new();
        for index in 0..MAX_BLOCKS as i64 {
            match self
                .access
                .get(actor, "scheduled_emails", &block_id(sequence_id, index))
                .await
            {
                Ok(row) => blocks.push(row),
                Err(AccessError::Row(RowError::NotFound)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if blocks.is_empty() {
            return Err(RowError::NotFound.into());
        }
        Ok(blocks)
    }

    /// Cancels every pending block of a lead's sequence.
    pub async fn cancel_sequence(
        &self,
        actor: &Actor,
        sequence_id: &str,
    ) -> Result<CancelReport, ScheduleError> {
        let first = block_id(sequence_id, 0);
        let visible = self.access.get(actor, "scheduled_emails", &first).await?;
        let owner = visible["owner_id"].as_str().unwrap_or_default().to_owned();
        self.cancel_blocks(&owner, sequence_id, 0, "cancelled by the user")
            .await
    }

    async fn cancel_blocks(
        &self,
        owner: &str,
        sequence_id: &str,
        from_index: i64,
        reason: &str,
    ) -> Result<CancelReport, ScheduleError> {
        let mut report = CancelReport::default();
        for index in from_index..MAX_BLOCKS as i64 {
            let id = block_id(sequence_id, index);
            let mut settled = false;
            for _ in 0..3 {
                let Some(item) = self
                    .access
                    .rows()
                    .get_raw(table(), Some(owner), &id)
                    .await?
                else {
                    return Ok(report);
                };
                match item.str("status") {
                    Some("pending") => {}
                    Some("processing") => {
                        report.in_flight += 1;
                        settled = true;
                        break;
                    }
                    _ => {
                        report.already_settled += 1;
                        settled = true;
                        break;
                    }
                }
                match self.settle(&item, "cancelled", None, Some(reason), 0).await {
                    Ok(_) => {
                        report.cancelled += 1;
                        settled = true;
                        break;
                    }
                    Err(ScheduleError::Access(AccessError::Row(RowError::Concurrent))) => continue,
                    Err(e) => return Err(e),
                }
            }
            if !settled {
                return Err(RowError::Concurrent.into());
            }
        }
        Ok(report)
    }

    /// Moves a row to `status` (dropping its claim and lease), optionally re-timed; guarded
    /// by the version of `item`.
    async fn settle(
        &self,
        item: &Item,
        status: &str,
        scheduled_at: Option<DateTime<Utc>>,
        error_message: Option<&str>,
        attempts: i64,
    ) -> Result<Row, ScheduleError> {
        let now = self.clock.now();
        let mut patch = Row::new();
        patch.insert("status".into(), json!(status));
        if let Some(at) = scheduled_at {
            patch.insert("scheduled_at".into(), json!(timestamp_text(at)));
        }
        if status == "sent" {
            patch.insert("sent_at".into(), json!(timestamp_text(now)));
        }
        patch.insert("error_message".into(), json!(error_message));
        let (row, op) =
            self.access
                .rows()
                .transition_op(table(), item, patch, &carried(item, attempts))?;
        match self.access.rows().store().transact_write(vec![op]).await {
            Ok(()) => Ok(row),
            Err(StoreError::ConditionFailed { .. }) => Err(RowError::Concurrent.into()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The worker side: the tick and the queue consumer (the `process-scheduled-emails` function).
#[derive(Clone)]
pub struct Scheduler {
    scheduling: Scheduling,
    access: Arc<Access>,
    send: Arc<SendPipeline>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
}

impl Scheduler {
    pub fn new(
        access: Arc<Access>,
        send: Arc<SendPipeline>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
    ) -> Self {
        Self {
            scheduling: Scheduling::new(access.clone(), clock.clone()),
            access,
            send,
            queue,
            clock,
            config,
        }
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Scheduling and cancelling, on the same rows.
    pub fn scheduling(&self) -> &Scheduling {
        &self.scheduling
    }

    // -----------------------------------------------------------------------------------
    // The tick

    /// Recovers expired leases, then claims due rows shard by shard and enqueues the claims.
    pub async fn tick(&self) -> Result<TickReport, ScheduleError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let (recovered, gave_up) = self.recover(now).await?;
        report.recovered = recovered;
        report.gave_up = gave_up;
        let per_shard = self
            .config
            .max_claims_per_tick
            .div_ceil(layout::DUE_SHARDS as usize);
        let shards: Vec<u32> = (0..layout::DUE_SHARDS).collect();
        let results: Vec<(usize, usize)> = stream::iter(shards)
            .map(|shard| self.claim_shard(shard, now, per_shard))
            .buffer_unordered(layout::DUE_SHARDS as usize)
            .try_collect()
            .await?;
        for (claimed, enqueued) in results {
            report.claimed += claimed;
            report.enqueued += enqueued;
        }
        // An idle tick is not worth a log line every minute.
        if report.claimed + report.recovered + report.gave_up > 0 {
            tracing::info!(
                claimed = report.claimed,
                enqueued = report.enqueued,
                recovered = report.recovered,
                gave_up = report.gave_up,
                "scheduled e-mails tick"
            );
        } else {
            tracing::debug!("scheduled e-mails tick: nothing due");
        }
        Ok(report)
    }

    async fn claim_shard(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        budget: usize,
    ) -> Result<(usize, usize), ScheduleError> {
        let mut cursor: Option<Cursor> = None;
        let (mut claimed, mut enqueued) = (0, 0);
        while claimed < budget {
            let limit = 200.min((budget - claimed) as u32);
            let (items, next) = QUEUE
                .due_page(self.access.rows(), shard, now, limit, cursor.take())
                .await?;
            let messages: Vec<OutgoingMessage> = stream::iter(items)
                .map(|item| self.claim(item, now))
                .buffer_unordered(self.config.claim_concurrency)
                .filter_map(|claimed| async move { claimed })
                .map(|message| {
                    OutgoingMessage::new(serde_json::to_string(&message).unwrap_or_default())
                })
                .collect()
                .await;
            claimed += messages.len();
            if !messages.is_empty() {
                let count = messages.len();
                // A failed enqueue leaves the rows claimed: their lease runs out and a later
                // tick recovers them. Nothing is lost.
                match self.queue.send_batch(messages).await {
                    Ok(()) => enqueued += count,
                    Err(error) => {
                        tracing::warn!(%error, count, "enqueueing claimed e-mails failed; the lease will recover them");
                        return Ok((claimed, enqueued));
                    }
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok((claimed, enqueued))
    }

    /// `pending → processing` if nobody changed the row since the index read it.
    async fn claim(&self, item: Item, now: DateTime<Utc>) -> Option<ClaimMessage> {
        if item.str("status") != Some("pending") {
            return None;
        }
        let id = item.str("id")?.to_owned();
        let owner = item.str("owner_id")?.to_owned();
        let claim = uuid::Uuid::new_v4().to_string();
        let lease_until = now + self.config.lease;
        let mut patch = Row::new();
        patch.insert("status".into(), json!("processing"));
        let attempts = item.i64(ATTEMPTS).unwrap_or(0);
        let mut internal = carried(&item, attempts);
        internal.extend(QUEUE.lease_attributes_with(&id, lease_until, claim.clone()));
        match QUEUE
            .claim(self.access.rows(), table(), &item, patch, &internal)
            .await
        {
            Ok(Some(_)) => Some(ClaimMessage { owner, id, claim }),
            // Another tick (or a cancel) got there first.
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, scheduled_id = %id, "claiming a scheduled e-mail failed");
                None
            }
        }
    }

    /// Rows whose claim expired go back to `pending` (now), or fail after too many attempts.
    async fn recover(&self, now: DateTime<Utc>) -> Result<(usize, usize), ScheduleError> {
        let (mut recovered, mut gave_up) = (0, 0);
        for shard in 0..layout::DUE_SHARDS {
            let mut cursor = None;
            loop {
                let (items, next) = QUEUE
                    .expired_page(self.access.rows(), shard, now, 200, cursor.take())
                    .await?;
                for item in items {
                    if item.str("status") != Some("processing") {
                        continue;
                    }
                    let attempts = item.i64(ATTEMPTS).unwrap_or(0) + 1;
                    let result = if attempts >= self.config.max_attempts {
                        gave_up += 1;
                        self.scheduling
                            .settle(
                                &item,
                                "failed",
                                None,
                                Some("gave up: the send did not complete after several attempts"),
                                attempts,
                            )
                            .await
                    } else {
                        recovered += 1;
                        self.scheduling
                            .settle(&item, "pending", Some(now), None, attempts)
                            .await
                    };
                    if let Err(error) = result {
                        tracing::warn!(%error, "recovering an expired claim failed");
                    }
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        if recovered + gave_up > 0 {
            tracing::warn!(
                recovered,
                gave_up,
                "recovered scheduled e-mails whose consumer stopped"
            );
        }
        Ok((recovered, gave_up))
    }

    // -----------------------------------------------------------------------------------
    // The consumer

    /// Sends one claimed row. `Err` means "try this message again later" (the queue
    /// redelivers it, and after too many receives it goes to the dead-letter queue).
    pub async fn process(&self, body: &str) -> Result<Processed, ScheduleError> {
        let message: ClaimMessage = serde_json::from_str(body)
            .map_err(|e| invalid("message", format!("not a claim message: {e}")))?;
        let rows = self.access.rows();
        let Some(item) = rows
            .get_raw(table(), Some(&message.owner), &message.id)
            .await?
        else {
            return Ok(Processed::Stale);
        };
        if item.str("status") != Some("processing")
            || item.str(CLAIM) != Some(message.claim.as_str())
        {
            return Ok(Processed::Stale);
        }
        let owner = message.owner.as_str();
        let attempts = item.i64(ATTEMPTS).unwrap_or(0);
        let Some(lead_id) = item.str("lead_id").map(str::to_owned) else {
            return self.stop_sequence(&item, "the lead was deleted").await;
        };
        let prepared = PreparedSend {
            lead_id,
            to_email: item.str("to_email").unwrap_or_default().to_owned(),
            subject: item.str("subject").unwrap_or_default().to_owned(),
            html_body: item.str("html_body").unwrap_or_default().to_owned(),
        };
        let key = format!("scheduled:{}", message.id);
        let outcome = self
            .send
            .send_prepared(owner, prepared, &key, self.config.lease)
            .await;
        // Settle against the row as it is now; a duplicate delivery racing this one may
        // settle it first (then there is nothing left to do here).
        for _ in 0..3 {
            let Some(current) = rows.get_raw(table(), Some(owner), &message.id).await? else {
                return Ok(Processed::Stale);
            };
            if current.str("status") != Some("processing")
                || current.str(CLAIM) != Some(message.claim.as_str())
            {
                return Ok(Processed::Stale);
            }
            match self.settle_after_send(&current, &outcome, attempts).await {
                Err(ScheduleError::Access(AccessError::Row(RowError::Concurrent))) => continue,
                settled => {
                    if let Ok(processed) = &settled {
                        tracing::info!(owner, scheduled_id = %message.id, ?processed, "scheduled e-mail settled");
                    }
                    return settled;
                }
            }
        }
        Err(RowError::Concurrent.into())
    }

    async fn settle_after_send(
        &self,
        current: &Item,
        outcome: &Result<crate::send::SendOutcome, SendError>,
        attempts: i64,
    ) -> Result<Processed, ScheduleError> {
        let now = self.clock.now();
        match outcome {
            Ok(sent) => {
                self.scheduling
                    .settle(current, "sent", None, None, attempts)
                    .await?;
                Ok(Processed::Sent {
                    message_id: sent.message_id.clone(),
                })
            }
            Err(SendError::Suppressed) => {
                self.stop_sequence(
                    current,
                    "the recipient unsubscribed, bounced or reported spam",
                )
                .await
            }
            Err(SendError::Access(AccessError::Row(RowError::NotFound))) => {
                self.stop_sequence(current, "the lead was deleted").await
            }
            Err(SendError::QuotaExceeded { limit }) => {
                let at = next_allowed(now, limit, window_of(current).as_ref());
                let reason = format!(
                    "the {limit} limit is reached; moved to {}",
                    timestamp_text(at)
                );
                self.scheduling
                    .settle(current, "pending", Some(at), Some(&reason), attempts)
                    .await?;
                Ok(Processed::Rescheduled { at, reason })
            }
            Err(SendError::InProgress) => Ok(Processed::Stale),
            Err(SendError::Provider { error, .. })
                if error.is_retryable() && attempts + 1 < self.config.max_attempts =>
            {
                let at = now + Duration::minutes(2i64.pow(attempts.clamp(0, 10) as u32));
                let reason = format!("provider: {error}; retrying at {}", timestamp_text(at));
                self.scheduling
                    .settle(current, "pending", Some(at), Some(&reason), attempts + 1)
                    .await?;
                Ok(Processed::Rescheduled { at, reason })
            }
            Err(
                error @ (SendError::Provider { .. }
                | SendError::NoSender(_)
                | SendError::Crashed
                | SendError::Invalid { .. }
                | SendError::Access(AccessError::Forbidden(_))),
            ) => {
                let reason = error.to_string();
                self.scheduling
                    .settle(current, "failed", None, Some(&reason), attempts)
                    .await?;
                tracing::warn!(%reason, "scheduled e-mail failed");
                Ok(Processed::Failed { reason })
            }
            // Store trouble and the like: let the queue try again.
            Err(error) => Err(ScheduleError::Invalid {
                field: "send".into(),
                reason: error.to_string(),
            }),
        }
    }

    /// Cancels this row and the rest of its sequence (suppressed recipient, deleted lead).
    async fn stop_sequence(&self, item: &Item, reason: &str) -> Result<Processed, ScheduleError> {
        let attempts = item.i64(ATTEMPTS).unwrap_or(0);
        self.scheduling
            .settle(item, "cancelled", None, Some(reason), attempts)
            .await?;
        if let (Some(owner), Some(sequence_id), Some(index)) = (
            item.str("owner_id"),
            item.str("sequence_id"),
            item.i64("block_index"),
        ) {
            self.scheduling
                .cancel_blocks(owner, sequence_id, index + 1, reason)
                .await?;
        }
        Ok(Processed::Cancelled {
            reason: reason.to_owned(),
        })
    }
}

/// When a send refused by a cap may go: the next day's window for daily caps, the first of
/// next month for the plan's monthly limit.
pub fn next_allowed(now: DateTime<Utc>, limit: &str, window: Option<&SendWindow>) -> DateTime<Utc> {
    if limit == "monthly_emails" {
        let (year, month) = if now.month() == 12 {
            (now.year() + 1, 1)
        } else {
            (now.year(), now.month() + 1)
        };
        let first = NaiveDate::from_ymd_opt(year, month, 1)
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
            .unwrap_or(now + Duration::days(31));
        return window.map(|w| w.next_open(first)).unwrap_or(first);
    }
    match window {
        Some(window) => window.next_day_open(now),
        // Daily counters roll over at 00:00 UTC.
        None => (now.date_naive() + Duration::days(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc(),
    }
}

fn lead_address(lead: &Row) -> Option<String> {
    [lead["primary_email"].as_str(), lead["email"].as_str()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|e| e.contains('@'))
        .map(str::to_owned)
}

fn render(
    template: &str,
    values: &email::MergeValues,
    html: bool,
    field: &str,
) -> Result<String, ScheduleError> {
    let text = email::render(template, values, html).map_err(|e| match e {
        RenderError::UnknownTags(tags) => {
            invalid(field, format!("unknown merge tag(s): {}", tags.join(", ")))
        }
        RenderError::Unclosed => invalid(field, "a merge tag is not closed"),
    })?;
    Ok(if html {
        text
    } else {
        text.replace(['\r', '\n'], " ")
    })
}

fn require_text(subject: &str, html_body: &str) -> Result<(), ScheduleError> {
    if subject.trim().is_empty() || html_body.trim().is_empty() {
        return Err(invalid(
            "subject",
            "the subject and the body must not be empty",
        ));
    }
    Ok(())
}

/// The lead went away between the check and the write.
fn reference_error(error: StoreError) -> ScheduleError {
    match error {
        StoreError::ConditionFailed { .. } => {
            invalid("lead_id", "the lead was deleted while scheduling")
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_are_stable_and_distinct() {
        assert_eq!(block_id("s", 0), block_id("s", 0));
        assert_ne!(block_id("s", 0), block_id("s", 1));
        assert_ne!(block_id("s", 0), block_id("t", 0));
    }

    #[test]
    fn a_daily_cap_moves_to_tomorrow_and_the_monthly_limit_to_next_month() {
        let now = DateTime::parse_from_rfc3339("2026-12-15T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            timestamp_text(next_allowed(now, "sender_daily", None)),
            "2026-12-16T00:00:00.000000Z"
        );
        assert_eq!(
            timestamp_text(next_allowed(now, "monthly_emails", None)),
            "2027-01-01T00:00:00.000000Z"
        );
        let window = SendWindow::parse(&["mon".into()], "09:00", "10:00", "UTC").unwrap();
        assert_eq!(
            timestamp_text(next_allowed(now, "sender_daily", Some(&window))),
            "2026-12-21T09:00:00.000000Z"
        );
    }
}
