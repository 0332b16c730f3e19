//! The producers' side: lead and e-mail events (the same ones customers' webhooks get) and
//! workflow changes, put on the engine's queue — only for owners with a workflow that is
//! not a draft, asked cheaply first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::status::WorkflowStatus;
use scaliyo_store::{Clock, OutgoingMessage, Queue};
use serde_json::Value;
use tokio::sync::Mutex;

use super::{LeadEvent, WorkflowMessage};
use crate::rows::{RowError, Rows};

/// The events the engine listens to (the rest are customers' only).
const HEARD: &[&str] = &[
    "lead.created",
    "lead.updated",
    "lead.status_changed",
    "lead.deleted",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.unsubscribed",
    "email.replied",
];

#[derive(Clone)]
pub struct WorkflowFeed {
    pub(super) rows: Rows,
    queue: Arc<dyn Queue>,
    pub(super) clock: Arc<dyn Clock>,
    /// Per owner: whether any workflow of theirs runs, and when that was read. A Lambda keeps
    /// it between invocations; zero means "always read".
    cache: Arc<Mutex<HashMap<OwnerId, (Instant, bool)>>>,
    cache_for: StdDuration,
}

impl WorkflowFeed {
    pub fn new(rows: Rows, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            rows,
            queue,
            clock,
            cache: Arc::default(),
            cache_for: StdDuration::ZERO,
        }
    }

    /// A Lambda's feed: on the queue named by its configuration (none: the engine hears
    /// nothing from this function), remembering owners' workflows for a minute.
    pub fn for_lambda(
        rows: Rows,
        queue: Option<Arc<dyn Queue>>,
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        queue.map(|queue| Self::new(rows, queue, clock).caching_for(StdDuration::from_secs(60)))
    }

    /// Remember whether an owner has workflows this long (a new workflow hears events after
    /// at most this delay; its own activation is heard at once).
    pub fn caching_for(mut self, duration: StdDuration) -> Self {
        self.cache_for = duration;
        self
    }

    async fn any_running(&self, owner: OwnerId) -> Result<bool, RowError> {
        Ok(super::workflows_of(&self.rows, owner)
            .await?
            .iter()
            .any(|w| {
                WorkflowStatus::of(crate::rows::field(w, "status"))
                    .is_some_and(|s| s != WorkflowStatus::Draft)
            }))
    }

    /// Whether the owner's events matter to the engine (a hot path asks first).
    pub async fn wants(&self, owner: OwnerId, event_type: &str) -> bool {
        if !HEARD.contains(&event_type) {
            return false;
        }
        if !self.cache_for.is_zero() {
            let cache = self.cache.lock().await;
            if let Some((at, running)) = cache.get(&owner)
                && at.elapsed() < self.cache_for
            {
                return *running;
            }
        }
        let running = match self.any_running(owner).await {
            Ok(running) => running,
            Err(error) => {
                tracing::warn!(%error, "reading workflows failed; the event is not fed to them");
                return false;
            }
        };
        if !self.cache_for.is_zero() {
            let mut cache = self.cache.lock().await;
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(owner, (Instant::now(), running));
        }
        running
    }

    /// Feeds an event (as emitted to webhooks) to the engine, when it listens. Never fails
    /// the caller: a lost event is logged.
    pub async fn offer(&self, owner: OwnerId, event_type: &str, data: &Value) {
        if !self.wants(owner, event_type).await {
            return;
        }
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let lead_id = text(&data["lead_id"]).or_else(|| text(&data["lead"]["id"]));
        let event = |event: &str, to_status: Option<String>| {
            WorkflowMessage::Event(LeadEvent {
                owner,
                event: event.to_owned(),
                lead_id: lead_id.clone(),
                message_id: text(&data["message_id"]),
                to_status,
                workflow_id: None,
                occurred_at: self.clock.now(),
            })
        };
        let mut messages = vec![match event_type {
            "lead.status_changed" => event(event_type, text(&data["to"])),
            other => event(other, None),
        }];
        if event_type == "lead.updated" && data["changes"].get("score").is_some() {
            messages.push(event("lead.score_changed", None));
        }
        self.send(messages).await;
    }

    /// Whether an active workflow of the owner is triggered by `event` (asked before a flood
    /// of events: an import's leads).
    async fn triggered_by(&self, owner: OwnerId, event: &str) -> Result<bool, RowError> {
        Ok(super::workflows_of(&self.rows, owner)
            .await?
            .iter()
            .any(|w| {
                WorkflowStatus::of(crate::rows::field(w, "status")) == Some(WorkflowStatus::Active)
                    && super::triggered_by(w, event)
            }))
    }

    /// Leads an import created: `lead.imported` for each, when a workflow listens to it.
    pub async fn imported(&self, owner: OwnerId, lead_ids: &[String]) {
        if lead_ids.is_empty() {
            return;
        }
        match self.triggered_by(owner, "lead.imported").await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "reading workflows failed; imported leads are not fed to them");
                return;
            }
        }
        let now = self.clock.now();
        let messages = lead_ids
            .iter()
            .map(|id| {
                WorkflowMessage::Event(LeadEvent {
                    owner,
                    event: "lead.imported".into(),
                    lead_id: Some(id.clone()),
                    message_id: None,
                    to_status: None,
                    workflow_id: None,
                    occurred_at: now,
                })
            })
            .collect();
        self.send(messages).await;
    }

    /// A workflow was created, activated, edited, paused or resumed.
    pub async fn changed(&self, owner: OwnerId, workflow_id: &str) {
        self.cache.lock().await.remove(&owner);
        self.send(vec![WorkflowMessage::Changed {
            owner,
            workflow_id: workflow_id.to_owned(),
        }])
        .await;
    }

    pub(super) async fn send(&self, messages: Vec<WorkflowMessage>) {
        let batch: Vec<OutgoingMessage> = messages
            .iter()
            .filter_map(|m| serde_json::to_string(m).ok())
            .map(OutgoingMessage::new)
            .collect();
        if let Err(error) = self.queue.send_batch(batch).await {
            tracing::warn!(%error, "enqueueing a workflow event failed");
        }
    }
}
