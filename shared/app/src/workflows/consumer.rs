//! The engine's queue consumer: lead events (triggers, exits, wakes), workflow changes
//! (resume, move to a new version, manual enrolment) and runs claimed by the tick.

use futures::{StreamExt, TryStreamExt, stream};
use scaliyo_domain::schema;
use scaliyo_domain::status::WorkflowStatus;
use scaliyo_domain::workflows::NodeKind;
use scaliyo_store::OutgoingMessage;

use super::run::{Ending, Run};
use super::*;
use crate::rows::{ListRequest, Row, RowError};
use crate::work_queue::CLAIM;

/// The events that may end a run (`exit_on`, a status reached, a deleted lead) or wake one
/// (`wait.event`); the others only trigger.
const ENDS_OR_WAKES: &[&str] = &[
    "lead.status_changed",
    "lead.deleted",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.unsubscribed",
    "email.replied",
];

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Handled {
    pub started: usize,
    pub woken: usize,
    pub exited: usize,
    pub moved: usize,
}

impl Workflows {
    /// Handles one queue message. `Err` means "try this message again later" (the queue
    /// redelivers it; after too many receives it goes to the dead-letter queue).
    pub async fn process(&self, body: &str) -> Result<Handled, WorkflowError> {
        let message: WorkflowMessage = serde_json::from_str(body)
            .map_err(|e| invalid("message", format!("not a workflow message: {e}")))?;
        match message {
            WorkflowMessage::Event(event) => self.on_event(&event).await,
            WorkflowMessage::Changed { owner, workflow_id } => {
                self.on_changed(owner, &workflow_id).await
            }
            WorkflowMessage::Enrol {
                owner,
                workflow_id,
                version,
                after,
            } => self.enrol_page(owner, &workflow_id, version, after).await,
            WorkflowMessage::Run {
                owner,
                execution_id,
                claim,
            } => {
                let mut handled = Handled::default();
                if let Some(run) = self.read_run(owner, &execution_id).await?
                    && run.is_live()
                    && run.item.str(CLAIM) == Some(claim.as_str())
                {
                    self.advance(run, &claim).await?;
                    handled.woken = 1;
                }
                Ok(handled)
            }
        }
    }

    async fn lead(&self, owner: OwnerId, lead_id: &str) -> Result<Option<Row>, RowError> {
        self.access
            .rows()
            .get(&schema::LEADS, Some(&owner.to_string()), lead_id)
            .await
    }

    /// The live runs of a lead.
    async fn runs_of_lead(&self, owner: OwnerId, lead_id: &str) -> Result<Vec<Run>, RowError> {
        self.live_runs(owner, "idx_workflow_executions_lead_id", lead_id)
            .await
    }

    async fn live_runs(
        &self,
        owner: OwnerId,
        index: &str,
        value: &str,
    ) -> Result<Vec<Run>, RowError> {
        let rows = self.access.rows();
        let mut runs = Vec::new();
        let mut cursor = None;
        loop {
            let page = rows
                .list(
                    &schema::WORKFLOW_EXECUTIONS,
                    Some(&owner.to_string()),
                    ListRequest {
                        index: Some(index.to_owned()),
                        equals: vec![value.to_owned()],
                        limit: 200,
                        cursor,
                        ..ListRequest::default()
                    },
                )
                .await?;
            for row in &page.rows {
                // Rows of this owner only (the index partition is by value alone).
                if crate::rows::field(row, "user_id").as_str() != Some(owner.to_string().as_str()) {
                    continue;
                }
                let id = crate::rows::field(row, "id").as_str().unwrap_or_default();
                if let Some(run) = self.read_run(owner, id).await?
                    && run.is_live()
                {
                    runs.push(run);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(runs),
            }
        }
    }

    async fn on_event(&self, event: &LeadEvent) -> Result<Handled, WorkflowError> {
        let owner = event.owner;
        let mut handled = Handled::default();
        let lead_id = match (&event.lead_id, &event.message_id) {
            (Some(lead), _) => Some(lead.clone()),
            (None, Some(message)) => self
                .access
                .rows()
                .get(&schema::EMAIL_MESSAGES, Some(&owner.to_string()), message)
                .await?
                .and_then(|m| {
                    crate::rows::field(&m, "lead_id")
                        .as_str()
                        .map(str::to_owned)
                }),
            (None, None) => None,
        };
        let Some(lead_id) = lead_id else {
            return Ok(handled);
        };
        // The lead's runs: exits first, then wakes (only events that can end or wake a run
        // read them).
        let runs = if ENDS_OR_WAKES.contains(&event.event.as_str()) {
            self.runs_of_lead(owner, &lead_id).await?
        } else {
            Vec::new()
        };
        for mut run in runs {
            let Some(graph) = self
                .versions
                .get(owner, &run.workflow_id, run.version)
                .await?
            else {
                continue;
            };
            let exits = event.event == "lead.deleted"
                || graph.exits_on(&event.event)
                || event
                    .to_status
                    .as_deref()
                    .is_some_and(|s| graph.exits_in_status(s));
            if exits {
                let reason = match &event.to_status {
                    Some(status) if graph.exits_in_status(status) => {
                        format!("exited_status:{status}")
                    }
                    _ => format!("exited_{}", event.event),
                };
                if let Some((run, claim)) = self.claim(run).await? {
                    let lead = self.lead(owner, &lead_id).await?;
                    self.end(run, &claim, Ending::Exited, &reason, lead.as_ref())
                        .await?;
                    handled.exited += 1;
                }
                continue;
            }
            let awaited = match &mut run.waiting {
                Some(Waiting::Until {
                    events,
                    message_id,
                    heard,
                    ..
                }) if events.contains(&event.event)
                    && (message_id.is_none() || *message_id == event.message_id) =>
                {
                    *heard = true;
                    true
                }
                _ => false,
            };
            if awaited && let Some((run, claim)) = self.claim(run).await? {
                self.advance(run, &claim).await?;
                handled.woken += 1;
            }
        }
        if event.event == "lead.deleted" {
            return Ok(handled);
        }
        // Triggers: the owner's active workflows listening to this event.
        let mut lead = None;
        for workflow in workflows_of(self.access.rows(), owner).await? {
            if WorkflowStatus::of(crate::rows::field(&workflow, "status"))
                != Some(WorkflowStatus::Active)
            {
                continue;
            }
            let workflow_id = crate::rows::field(&workflow, "id")
                .as_str()
                .unwrap_or_default();
            if event
                .workflow_id
                .as_deref()
                .is_some_and(|only| only != workflow_id)
            {
                continue;
            }
            // An active workflow's nodes are its newest version: most workflows are passed
            // over without reading a version.
            if !triggered_by(&workflow, &event.event) {
                continue;
            }
            let Some((version, graph)) = self.versions.latest(owner, workflow_id).await? else {
                continue;
            };
            let NodeKind::LeadEventTrigger(trigger) = &graph.trigger_node().kind else {
                continue;
            };
            let wanted = trigger.event.as_deref() == Some(event.event.as_str());
            let status_ok = trigger.to_status.is_none() || trigger.to_status == event.to_status;
            if !wanted || !status_ok {
                continue;
            }
            if lead.is_none() {
                lead = self.lead(owner, &lead_id).await?;
            }
            let Some(lead) = &lead else {
                break;
            };
            if self
                .start(owner, workflow_id, version, &graph, lead)
                .await?
            {
                handled.started += 1;
            }
        }
        Ok(handled)
    }

    /// A workflow changed: held runs resume, waiting runs move to the newest version by node
    /// id (or exit when their node is gone), and a manual trigger enrols its leads.
    async fn on_changed(
        &self,
        owner: OwnerId,
        workflow_id: &str,
    ) -> Result<Handled, WorkflowError> {
        let mut handled = Handled::default();
        let Some(workflow) = self
            .access
            .rows()
            .get(&schema::WORKFLOWS, Some(&owner.to_string()), workflow_id)
            .await?
        else {
            return Ok(handled);
        };
        if WorkflowStatus::of(crate::rows::field(&workflow, "status"))
            != Some(WorkflowStatus::Active)
        {
            return Ok(handled);
        }
        let Some((version, graph)) = self.versions.latest(owner, workflow_id).await? else {
            return Ok(handled);
        };
        for mut run in self
            .live_runs(owner, "idx_workflow_executions_workflow_id", workflow_id)
            .await?
        {
            let held = matches!(run.waiting, Some(Waiting::Paused { .. }));
            // A run mid-step (claimed, not waiting) keeps its version.
            if run.waiting.is_none() {
                continue;
            }
            if run.version != version {
                let node_kept = run
                    .current
                    .as_deref()
                    .is_some_and(|n| graph.node(n).is_some());
                if !node_kept {
                    if let Some((run, claim)) = self.claim(run).await? {
                        let lead = match &run.lead_id {
                            Some(id) => self.lead(owner, id).await?,
                            None => None,
                        };
                        self.end(
                            run,
                            &claim,
                            Ending::Exited,
                            "exited_workflow_changed",
                            lead.as_ref(),
                        )
                        .await?;
                        handled.exited += 1;
                    }
                    continue;
                }
                run.version = version;
                handled.moved += 1;
                if !held {
                    // Moved in place: same wait, same due time, the new version's graph.
                    let due = run.waiting.as_ref().and_then(Waiting::due);
                    let (_, op) = self.state_op(&run, Row::new(), due, None)?;
                    match self.access.rows().store().transact_write(vec![op]).await {
                        Ok(()) | Err(scaliyo_store::StoreError::ConditionFailed { .. }) => {}
                        Err(error) => return Err(RowError::from(error).into()),
                    }
                    continue;
                }
            }
            if held && let Some((run, claim)) = self.claim(run).await? {
                self.advance(run, &claim).await?;
                handled.woken += 1;
            }
        }
        if graph.is_manual() {
            let message = WorkflowMessage::Enrol {
                owner,
                workflow_id: workflow_id.to_owned(),
                version,
                after: None,
            };
            self.enqueue(&[message]).await?;
        }
        Ok(handled)
    }

    /// One page of a manual workflow's leads: its chosen leads, else every lead of the
    /// owner matching the filter. The next page is a new message.
    async fn enrol_page(
        &self,
        owner: OwnerId,
        workflow_id: &str,
        version: i64,
        after: Option<String>,
    ) -> Result<Handled, WorkflowError> {
        let mut handled = Handled::default();
        let Some(graph) = self.versions.get(owner, workflow_id, version).await? else {
            return Ok(handled);
        };
        let page_size = self.config.enrol_page as usize;
        let chosen = &graph.trigger().lead_ids;
        let (leads, next) = if chosen.is_empty() {
            let page = self
                .access
                .rows()
                .list(
                    &schema::LEADS,
                    Some(&owner.to_string()),
                    ListRequest {
                        limit: self.config.enrol_page,
                        cursor: after,
                        ..ListRequest::default()
                    },
                )
                .await?;
            (page.rows, page.next)
        } else {
            let from: usize = after.and_then(|a| a.parse().ok()).unwrap_or(0);
            let mut leads = Vec::new();
            for id in chosen.iter().skip(from).take(page_size) {
                if let Some(lead) = self.lead(owner, id).await? {
                    leads.push(lead);
                }
            }
            let upto = from + page_size;
            (leads, (upto < chosen.len()).then(|| upto.to_string()))
        };
        // The next page first: another consumer works on it while this one enrols.
        if let Some(after) = next {
            let message = WorkflowMessage::Enrol {
                owner,
                workflow_id: workflow_id.to_owned(),
                version,
                after: Some(after),
            };
            self.enqueue(&[message]).await?;
        }
        let started: Vec<bool> = stream::iter(leads)
            .map(|lead| {
                let graph = graph.clone();
                async move { self.start(owner, workflow_id, version, &graph, &lead).await }
            })
            .buffer_unordered(self.config.claim_concurrency)
            .try_collect()
            .await?;
        handled.started = started.into_iter().filter(|s| *s).count();
        Ok(handled)
    }

    pub(super) async fn enqueue(&self, messages: &[WorkflowMessage]) -> Result<(), WorkflowError> {
        let batch: Vec<OutgoingMessage> = messages
            .iter()
            .filter_map(|m| serde_json::to_string(m).ok())
            .map(OutgoingMessage::new)
            .collect();
        if !batch.is_empty() {
            self.queue.send_batch(batch).await?;
        }
        Ok(())
    }
}
