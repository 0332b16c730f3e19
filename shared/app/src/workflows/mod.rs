//! `run-workflows`: the automation engine for `workflows.nodes` (docs/workflows.md,
//! ADR 0022).
//!
//! - **Versions**: activating a workflow validates its graph and stores an immutable copy
//!   (`access::workflows`); a run follows the version it started on, and publishing a new
//!   version moves waiting runs by node id.
//! - **Enrolment** (`enrol`): a lead event that matches an active trigger (or a manual
//!   enrolment) starts one run per (workflow, lead) — a marker item guards it, by the
//!   trigger's `reentry` rule.
//! - **Runs** (`run`): a run is claimed (a version-guarded write that moves its due entry a
//!   lease ahead, so a crashed run comes back), then walks its nodes until a wait or the end.
//!   Each step's effect is keyed by (execution, node, entry) and written with the step's log
//!   entry in one transaction where the effect is a row, or through a keyed effect (the send
//!   pipeline's idempotency key, a derived webhook event id) — a redelivered message or a
//!   crash mid-step never applies one twice.
//! - **Waits** are due entries on the claimed-with-a-lease work index (ADR 0008): GSI4
//!   `wf_due#<shard>`, sort key `<wake time>#<id>`. The tick (`tick`) claims due runs and
//!   fans them out on the queue; an open, click or reply wakes a run waiting for it at once
//!   (`consumer`).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Clock, Queue, QueueError};
use serde::{Deserialize, Serialize};

mod actions;
mod consumer;
mod enrol;
mod feed;
mod hooks;
mod run;
pub mod stats;
mod tick;
pub mod versions;
mod waits;

pub use consumer::Handled;
pub use feed::WorkflowFeed;
pub use hooks::{Hook, HookRequest};
pub use tick::TickReport;

use crate::access::{Access, AccessError};
use crate::scheduler::Scheduling;
use crate::send::SendPipeline;
use crate::webhooks::WebhookEmitter;
use crate::work_queue::WorkQueue;

/// Waiting runs: due in GSI4 (`wf_due#<shard>`) while they wait or are claimed.
pub(crate) const QUEUE: WorkQueue = WorkQueue::new("workflow_executions", "wf_due");

/// The version of the workflow a run follows (internal attribute).
pub(crate) const VERSION: &str = "_wf_version";
/// How many times the run has entered each node (internal attribute, JSON).
pub(crate) const ENTRIES: &str = "_wf_entries";
/// What the run waits for (internal attribute, JSON [`Waiting`]).
pub(crate) const WAITING: &str = "_wf_wait";

#[derive(Debug, Clone)]
pub struct WorkflowsConfig {
    /// How long a claimed run holds before a tick may take it over.
    pub lease: Duration,
    /// Attempts of a failing action before the run fails.
    pub max_attempts: u32,
    /// Steps one claim may run before it yields (a long chain of instant steps).
    pub max_steps_per_claim: usize,
    /// Claims per tick, so a tick ends well inside its Lambda timeout.
    pub max_claims_per_tick: usize,
    /// Leads enrolled per manual-enrolment message (the next page is a new message).
    pub enrol_page: u32,
    /// Claims, and leads of an enrolment page, in flight at once. The embedded store commits
    /// the writes in flight together (group commit), so the engine is bound by how many
    /// wait on a commit, not by CPU; the enrolment bench with 128 is in docs/BENCHMARKS.md.
    /// On DynamoDB it bounds open requests.
    pub claim_concurrency: usize,
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        Self {
            lease: Duration::minutes(5),
            max_attempts: 3,
            max_steps_per_claim: 50,
            max_claims_per_tick: 20_000,
            enrol_page: 200,
            claim_concurrency: 128,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error(transparent)]
    Queue(#[from] QueueError),
}

crate::errors::through_access!(WorkflowError);
crate::errors::invalid_constructor!(WorkflowError);

/// What the engine's queue carries (SQS in AWS, an in-process queue locally).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkflowMessage {
    /// Something happened to a lead (or to one of its messages).
    Event(LeadEvent),
    /// A workflow was activated, edited, paused or resumed.
    Changed { owner: OwnerId, workflow_id: String },
    /// Enrol the next page of a manual workflow's leads.
    Enrol {
        owner: OwnerId,
        workflow_id: String,
        version: i64,
        #[serde(default)]
        after: Option<String>,
    },
    /// A run claimed by the tick.
    Run {
        owner: OwnerId,
        execution_id: String,
        claim: String,
    },
}

/// A lead event as the engine sees it: `lead_id` for lead events, `message_id` for e-mail
/// events (the lead is the message's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadEvent {
    pub owner: OwnerId,
    pub event: String,
    #[serde(default)]
    pub lead_id: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    /// `lead.status_changed`: the status entered.
    #[serde(default)]
    pub to_status: Option<String>,
    /// Only this workflow hears it (a workflow's own inbound hook).
    #[serde(default)]
    pub workflow_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// What a waiting run waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Waiting {
    /// A wait node's time (`wait.duration`, `wait.until`, a `wait.event` timeout).
    Until {
        node: String,
        entry: u32,
        at: DateTime<Utc>,
        /// `wait.event`: the events that end the wait early, and the message they are about.
        #[serde(default)]
        events: Vec<String>,
        #[serde(default)]
        message_id: Option<String>,
        /// When the wait began.
        since: DateTime<Utc>,
        /// An awaited event was heard (the consumer wakes the run with this set).
        #[serde(default)]
        heard: bool,
    },
    /// An e-mail step outside the send window: runs when the window opens.
    Window { node: String, at: DateTime<Utc> },
    /// A failed action's next attempt.
    Retry { node: String, at: DateTime<Utc> },
    /// The workflow is paused (or back to draft): resumes on reactivation, where it was
    /// (no due entry meanwhile).
    Paused {
        #[serde(default)]
        held: Option<Box<Waiting>>,
    },
}

impl Waiting {
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match self {
            Waiting::Until { at, .. } | Waiting::Window { at, .. } | Waiting::Retry { at, .. } => {
                Some(*at)
            }
            Waiting::Paused { .. } => None,
        }
    }
}

/// The engine: enrolment, runs, waits and the workflow's stats.
#[derive(Clone)]
pub struct Workflows {
    access: Arc<Access>,
    send: Arc<SendPipeline>,
    scheduling: Scheduling,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    webhooks: Option<WebhookEmitter>,
    versions: versions::Versions,
    config: WorkflowsConfig,
    /// `WorkflowSteps`, `WorkflowRuns` (docs/operations.md).
    metrics: Arc<dyn scaliyo_store::Metrics>,
}

impl Workflows {
    pub fn new(
        access: Arc<Access>,
        send: Arc<SendPipeline>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        config: WorkflowsConfig,
    ) -> Self {
        Self {
            scheduling: Scheduling::new(access.clone(), clock.clone()),
            versions: versions::Versions::new(access.rows().clone()),
            access,
            send,
            queue,
            clock,
            webhooks: None,
            config,
            metrics: scaliyo_store::no_metrics(),
        }
    }

    /// Where `workflow.completed` / `workflow.failed` and `action.webhook` events go.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn config(&self) -> &WorkflowsConfig {
        &self.config
    }
}

/// Every workflow row of an owner (a workspace has a handful).
pub(crate) async fn workflows_of(
    rows: &crate::rows::Rows,
    owner: OwnerId,
) -> Result<Vec<crate::rows::Row>, crate::rows::RowError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = rows
            .list(
                &scaliyo_domain::schema::WORKFLOWS,
                Some(&owner.to_string()),
                crate::rows::ListRequest {
                    limit: 100,
                    cursor,
                    ..crate::rows::ListRequest::default()
                },
            )
            .await?;
        all.extend(page.rows);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Whether a workflow row's trigger (as stored, parsed leniently) is a lead event named
/// `event`; an active workflow's nodes are its newest version.
pub(crate) fn triggered_by(workflow: &crate::rows::Row, event: &str) -> bool {
    use scaliyo_domain::workflows::{NodeKind, RawNode, graph::parse_node};
    let Some(nodes) = crate::rows::field(workflow, "nodes").as_array() else {
        return false;
    };
    let triggers = [
        "trigger.lead_event",
        "lead_created",
        "status_change",
        "score_change",
    ];
    nodes.iter().any(|node| {
        if !node["type"].as_str().is_some_and(|t| triggers.contains(&t)) {
            return false;
        }
        match serde_json::from_value::<RawNode>(node.clone()).map(|raw| parse_node(&raw)) {
            Ok(Ok(parsed)) => matches!(
                &parsed.kind,
                NodeKind::LeadEventTrigger(t) if t.event.as_deref() == Some(event)
            ),
            _ => false,
        }
    })
}
