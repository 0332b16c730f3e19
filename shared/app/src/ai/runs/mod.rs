//! Runs: AI work on many leads at once — batch research and AI-written sequences — queued
//! one job per lead for the `ai-worker`, with their credits reserved up front and their
//! progress kept on internal items in the owner's partition:
//!
//! - the run (`airun#<run>`): its kind, counts (`total`, `written`, `failed`), credits
//!   (`reserved`, `charged`, `refunded`), the month and limit it reserved from, each job's
//!   share of the reservation, and (sequences) what to write;
//! - one item per lead (`airun#<run>#<lead>`): `pending`, `written` or `failed`, its
//!   attempts and its last error.
//!
//! A job's outcome and its credits are one transaction (the item's `pending` is the
//! condition), so a job delivered twice is charged once.

mod start;
mod worker;

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Item, Key, Query, SortCondition};
use serde::{Deserialize, Serialize};

use super::{Ai, AiError, Reservation};
use crate::access::Actor;
use crate::layout;
use crate::rows::RowError;

pub use start::{AiSequenceRequest, ResearchRunRequest};
pub use worker::{AiWorker, AiWorkerConfig};

/// Attempts a job gets before it is reported failed.
pub const MAX_ATTEMPTS: i64 = 3;

/// What a run does to each of its leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Research,
    Sequence,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Research => "research",
            Self::Sequence => "sequence",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Research, Self::Sequence]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// A job item's states.
pub(crate) const PENDING: &str = "pending";
pub(crate) const WRITTEN: &str = "written";
pub(crate) const FAILED: &str = "failed";

fn run_key(owner: OwnerId, run_id: &str) -> Key {
    Key::new(layout::owner_partition(owner), format!("airun#{run_id}"))
}

fn item_prefix(run_id: &str) -> String {
    format!("airun#{run_id}#")
}

fn item_key(owner: OwnerId, run_id: &str, lead_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("{}{lead_id}", item_prefix(run_id)),
    )
}

/// One queued job: one lead of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Job {
    pub run: String,
    pub owner: OwnerId,
    pub lead: String,
}

/// A run as stored.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub id: String,
    pub owner: OwnerId,
    pub kind: RunKind,
    /// The credits each job holds until it settles.
    pub share: i64,
    pub month: String,
    pub limit: i64,
    /// What to write (sequences).
    pub spec: Option<String>,
}

impl Run {
    fn read(item: &Item, owner: OwnerId, id: &str) -> Option<Self> {
        Some(Self {
            id: id.to_owned(),
            owner,
            kind: RunKind::parse(item.str("kind")?)?,
            share: item.i64("share")?,
            month: item.str("month")?.to_owned(),
            limit: item.i64("limit")?,
            spec: item.str("spec").map(str::to_owned),
        })
    }

    /// One job's share of the run's reservation, as a reservation of its own.
    pub fn job_reservation(&self) -> Reservation {
        Reservation {
            owner: self.owner,
            month: self.month.clone(),
            credits: self.share,
            limit: self.limit,
        }
    }
}

/// `202` to a started run.
#[derive(Debug, Clone, Serialize)]
pub struct RunStarted {
    pub run_id: String,
    pub kind: RunKind,
    /// Leads queued.
    pub total: usize,
    /// Leads left out, and why.
    pub skipped: Vec<SkippedLead>,
    pub credits_reserved: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedLead {
    pub lead_id: String,
    pub reason: &'static str,
}

/// A run's progress.
#[derive(Debug, Clone, Serialize)]
pub struct RunProgress {
    pub run_id: String,
    pub kind: RunKind,
    /// `running` until every job is written or failed, then `completed`.
    pub status: &'static str,
    pub total: i64,
    pub written: i64,
    pub failed: i64,
    pub pending: i64,
    pub credits_reserved: i64,
    pub credits_charged: i64,
    pub credits_refunded: i64,
    pub created_at: String,
    pub items: Vec<JobProgress>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobProgress {
    pub lead_id: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    /// The sequence written (sequences): cancel it as any sequence.
    pub sequence_id: Option<String>,
}

impl Ai {
    /// `GET /v1/sequences/ai/{id}`, `GET /v1/leads/research/{id}`: a run of the caller's
    /// workspace (another workspace's is not found: the key is the caller's partition).
    pub async fn run_progress(
        &self,
        actor: &Actor,
        kind: RunKind,
        run_id: &str,
    ) -> Result<RunProgress, AiError> {
        let owner = actor.owner()?;
        let store = self.access.rows().store();
        let not_found = || AiError::RunNotFound(run_id.to_owned());
        let item = store
            .get(&run_key(owner, run_id))
            .await
            .map_err(RowError::from)?
            .ok_or_else(not_found)?;
        if item.str("kind") != Some(kind.name()) {
            return Err(not_found());
        }
        let count = |name: &str| item.i64(name).unwrap_or(0);
        let (total, written, failed) = (count("total"), count("written"), count("failed"));
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .query(
                    Query::partition(scaliyo_store::Index::Table, layout::owner_partition(owner))
                        .sort(SortCondition::BeginsWith(item_prefix(run_id)))
                        .after(cursor.take()),
                )
                .await
                .map_err(RowError::from)?;
            items.extend(page.items.iter().map(|job| JobProgress {
                lead_id: job.str("lead").unwrap_or_default().to_owned(),
                status: job.str("state").unwrap_or(PENDING).to_owned(),
                attempts: job.i64("attempts").unwrap_or(0),
                error: job.str("error").map(str::to_owned),
                sequence_id: job.str("sequence_id").map(str::to_owned),
            }));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(RunProgress {
            run_id: run_id.to_owned(),
            kind,
            status: if written + failed >= total {
                "completed"
            } else {
                "running"
            },
            total,
            written,
            failed,
            pending: (total - written - failed).max(0),
            credits_reserved: count("reserved"),
            credits_charged: count("charged"),
            credits_refunded: count("refunded"),
            created_at: item.str("created_at").unwrap_or_default().to_owned(),
            items,
        })
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    crate::rows::timestamp_text(at)
}
