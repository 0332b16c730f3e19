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
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schedule::{self, BlockTiming, SendWindow};
use scaliyo_domain::schema;
use scaliyo_domain::status::ScheduledEmailStatus;
use scaliyo_store::{
    Clock, Cursor, Item, OutgoingMessage, Queue, QueueError, StoreError, Value as StoreValue,
    WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

mod consumer;
mod scheduling;
mod tick;

pub use scheduling::Scheduling;
pub use tick::Scheduler;

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text};
use crate::send::{PreparedSend, SendError, SendPipeline, merge_values, suppression_key};
use crate::work_queue::{ATTEMPTS, CLAIM, Lane, SEND_WINDOW as WINDOW, WorkQueue};

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

crate::errors::through_access!(ScheduleError);
crate::errors::invalid_constructor!(ScheduleError);

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
    /// The sequence's id when a system process keys it (a workflow step: its retry finds
    /// the sequence it made). Never from a client.
    #[serde(skip)]
    pub sequence_id: Option<String>,
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
    pub owner: OwnerId,
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

/// The status a stored row is in (`None` for a value outside the CHECK set).
fn status_of(item: &Item) -> Option<ScheduledEmailStatus> {
    item.str("status").and_then(ScheduledEmailStatus::parse)
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

/// A lead's address: its primary e-mail, else its e-mail (the first that looks like one).
pub(crate) fn lead_address(lead: &Row) -> Option<String> {
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
