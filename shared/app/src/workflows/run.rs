//! One run walking its graph: claimed, then step after step until a wait, the end, an exit
//! or a failure — each step's record written with (or right after) its effect.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use scaliyo_domain::schema;
use scaliyo_domain::status::{ExecutionStatus, LeadStatus, WorkflowStatus};
use scaliyo_domain::workflows::{Graph, Node, NodeKind, Step, StepError, split_branch};
use scaliyo_store::{Item, StoreError, Value as StoreValue, WriteOp};
use serde_json::{Value, json};

use super::*;
use crate::layout;
use crate::rows::{Extra, Row, RowError, from_item, timestamp_text};
use crate::send::suppression_key;
use crate::work_queue::{ATTEMPTS, CLAIM, DUE_INDEX};

/// A walk that takes longer than this renews its claim's lease on the way.
const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Step records kept per run (the oldest are dropped: a run looping through a wait for a
/// year keeps its recent history).
const KEPT_STEPS: usize = 100;

/// A run as read from its item.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The item as last read or written (the guard of the next write).
    pub item: Item,
    pub owner: OwnerId,
    pub id: String,
    pub workflow_id: String,
    pub lead_id: Option<String>,
    pub status: Option<ExecutionStatus>,
    pub current: Option<String>,
    pub version: i64,
    pub entries: BTreeMap<String, u32>,
    pub waiting: Option<Waiting>,
    pub steps: Vec<Step>,
    pub attempts: u32,
    /// Automated actions done since the figures were last added to (not stored).
    pub actions: u64,
}

impl Run {
    pub fn from_item(owner: OwnerId, item: Item) -> Self {
        let row = from_item(&schema::WORKFLOW_EXECUTIONS, &item);
        let text = |column: &str| crate::rows::field(&row, column).as_str().map(str::to_owned);
        fn json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Option<T> {
            item.str(name).and_then(|t| serde_json::from_str(t).ok())
        }
        Run {
            owner,
            id: text("id").unwrap_or_default(),
            workflow_id: text("workflow_id").unwrap_or_default(),
            lead_id: text("lead_id"),
            status: ExecutionStatus::of(crate::rows::field(&row, "status")),
            current: text("current_node"),
            version: item.i64(VERSION).unwrap_or(0),
            entries: json(&item, ENTRIES).unwrap_or_default(),
            waiting: json(&item, WAITING),
            steps: serde_json::from_value(crate::rows::field(&row, "steps").clone())
                .unwrap_or_default(),
            attempts: item
                .i64(ATTEMPTS)
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0),
            actions: 0,
            item,
        }
    }

    pub fn is_live(&self) -> bool {
        self.status == Some(ExecutionStatus::Running)
    }

    /// The effect key of `node`'s current entry.
    pub fn key(&self, node: &str) -> String {
        format!(
            "{}:{node}:{}",
            self.id,
            self.entries.get(node).copied().unwrap_or(0)
        )
    }

    fn record(&mut self, step: Step) {
        self.steps.push(step);
        if self.steps.len() > KEPT_STEPS {
            let drop = self.steps.len() - KEPT_STEPS;
            self.steps.drain(..drop);
        }
    }
}

/// How a node ended.
pub(crate) enum Outcome {
    /// Go on to `next` (None: the end).
    Next {
        next: Option<String>,
        branch: Option<String>,
        result: Option<Value>,
        /// The effect already committed the step (it rode in the effect's transaction).
        committed: bool,
    },
    /// Stop here until `waiting` is due (or an event wakes the run).
    Park(Waiting),
    /// The run ends early, not as a failure (the lead replied, unsubscribed…).
    Exit(String),
    /// The action failed.
    Fail(StepError),
}

pub(crate) fn next(next: &Option<String>) -> Outcome {
    Outcome::Next {
        next: next.clone(),
        branch: None,
        result: None,
        committed: false,
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Completed,
    Exited,
    Failed,
}

impl Workflows {
    pub(crate) fn actor(owner: OwnerId) -> crate::access::Actor {
        crate::access::Actor::acting_for(owner)
    }

    /// The due-index attributes of a run due at `at`.
    fn due_attributes(id: &str, at: DateTime<Utc>) -> Vec<(&'static str, StoreValue)> {
        let (pk, sk) = DUE_INDEX.key_attributes();
        vec![
            (
                pk,
                StoreValue::from(QUEUE.due_partition(layout::shard_of(id))),
            ),
            (
                sk,
                StoreValue::from(crate::work_queue::lease_sort_key(at, id)),
            ),
        ]
    }

    /// The guarded write of a run's new state: `patch` on its columns; its internal state
    /// (version, entries, waiting, attempts) from `run`; due at `due` (None: off the index);
    /// held by `claim`.
    pub(crate) fn state_op(
        &self,
        run: &Run,
        mut patch: Row,
        due: Option<DateTime<Utc>>,
        claim: Option<&str>,
    ) -> Result<(Item, WriteOp), RowError> {
        patch.insert(
            "steps".into(),
            serde_json::to_value(&run.steps).unwrap_or(json!([])),
        );
        patch.insert("current_node".into(), json!(run.current));
        let mut internal: Vec<(&str, StoreValue)> = vec![
            (VERSION, StoreValue::from(run.version)),
            (
                ENTRIES,
                StoreValue::from(serde_json::to_string(&run.entries).unwrap_or_default()),
            ),
            (ATTEMPTS, StoreValue::from(i64::from(run.attempts))),
        ];
        if let Some(waiting) = &run.waiting {
            internal.push((
                WAITING,
                StoreValue::from(serde_json::to_string(waiting).unwrap_or_default()),
            ));
        }
        if let Some(claim) = claim {
            internal.push((CLAIM, StoreValue::from(claim)));
        }
        if let Some(at) = due {
            internal.extend(Self::due_attributes(&run.id, at));
        }
        let (_, op) = self.access.rows().transition_op(
            &schema::WORKFLOW_EXECUTIONS,
            &run.item,
            patch,
            &internal,
        )?;
        let item = match &op {
            WriteOp::Put { item, .. } => item.clone(),
            _ => run.item.clone(),
        };
        Ok((item, op))
    }

    /// Claims a run read from the store: a guarded write that moves its due entry a lease
    /// ahead under a fresh claim id. None when someone else moved it first.
    pub(crate) async fn claim(&self, mut run: Run) -> Result<Option<(Run, String)>, RowError> {
        if !run.is_live() {
            return Ok(None);
        }
        let claim = uuid::Uuid::new_v4().to_string();
        let until = self.clock.now() + self.config.lease;
        let (item, op) = self.state_op(&run, Row::new(), Some(until), Some(&claim))?;
        match self.access.rows().store().transact_write(vec![op]).await {
            Ok(()) => {
                run.item = item;
                Ok(Some((run, claim)))
            }
            Err(StoreError::ConditionFailed { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Reads a run by id (None: gone).
    pub(crate) async fn read_run(&self, owner: OwnerId, id: &str) -> Result<Option<Run>, RowError> {
        Ok(self
            .access
            .rows()
            .get_raw(&schema::WORKFLOW_EXECUTIONS, Some(&owner.to_string()), id)
            .await?
            .map(|item| Run::from_item(owner, item)))
    }

    /// Commits a state write, with the actions done since the last one added to the
    /// workflow's figures; false when the run moved on meanwhile (another claim).
    async fn commit(
        &self,
        run: &mut Run,
        patch: Row,
        due: Option<DateTime<Utc>>,
        claim: &str,
    ) -> Result<bool, RowError> {
        let (item, op) = self.state_op(run, patch, due, Some(claim))?;
        let mut ops = vec![op];
        if run.actions > 0 {
            let bump = stats::Bump {
                actions: run.actions,
                ..Default::default()
            };
            ops.push(stats::bump_op(
                run.owner,
                &run.workflow_id,
                self.clock.now(),
                bump,
            ));
        }
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => {
                run.item = item;
                run.actions = 0;
                Ok(true)
            }
            Err(StoreError::ConditionFailed { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Walks a claimed run until it waits or ends.
    pub(crate) async fn advance(&self, mut run: Run, claim: &str) -> Result<(), WorkflowError> {
        let owner = run.owner;
        let rows = self.access.rows();
        let now = self.clock.now();
        let workflow = rows
            .get(
                &schema::WORKFLOWS,
                Some(&owner.to_string()),
                &run.workflow_id,
            )
            .await?;
        let Some(workflow) = workflow else {
            return self
                .end(run, claim, Ending::Exited, "exited_workflow_deleted", None)
                .await;
        };
        if WorkflowStatus::of(crate::rows::field(&workflow, "status"))
            != Some(WorkflowStatus::Active)
        {
            // Paused (or back to draft): hold, with what it waited for, until reactivated.
            if !matches!(run.waiting, Some(Waiting::Paused { .. })) {
                let held = run.waiting.take().map(Box::new);
                run.waiting = Some(Waiting::Paused { held });
                self.commit(&mut run, Row::new(), None, claim).await?;
            }
            return Ok(());
        }
        let Some(graph) = self
            .versions
            .get(owner, &run.workflow_id, run.version)
            .await?
        else {
            return self
                .end(
                    run,
                    claim,
                    Ending::Failed,
                    "the workflow version is missing",
                    None,
                )
                .await;
        };
        let lead = match &run.lead_id {
            Some(id) => {
                rows.get(&schema::LEADS, Some(&owner.to_string()), id)
                    .await?
            }
            None => None,
        };
        let Some(lead) = lead else {
            return self
                .end(run, claim, Ending::Exited, "exited_lead_deleted", None)
                .await;
        };
        if let Some(reason) = self.exit_reason(&graph, owner, &lead).await? {
            return self
                .end(run, claim, Ending::Exited, &reason, Some(&lead))
                .await;
        }
        // A wait being resumed: its node decides where to go now.
        let mut resuming = match run.waiting.take() {
            Some(Waiting::Paused { held }) => held.map(|h| *h),
            other => other,
        };
        let mut last_commit = std::time::Instant::now();
        for _ in 0..self.config.max_steps_per_claim {
            let Some(node_id) = run.current.clone() else {
                return self
                    .end(run, claim, Ending::Completed, "", Some(&lead))
                    .await;
            };
            let Some(node) = graph.node(&node_id) else {
                return self
                    .end(
                        run,
                        claim,
                        Ending::Exited,
                        "exited_workflow_changed",
                        Some(&lead),
                    )
                    .await;
            };
            let resumed = resuming.take();
            if resumed.is_none() {
                *run.entries.entry(node_id.clone()).or_insert(0) += 1;
                run.attempts = 0;
            }
            let started = self.clock.now();
            let outcome = self
                .step(&run, &graph, node, &lead, resumed, claim, started)
                .await;
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(WorkflowError::Access(AccessError::Row(RowError::Concurrent))) => {
                    // The run moved on under us (another claim): theirs now.
                    return Ok(());
                }
                Err(error) => return Err(error),
            };
            match outcome {
                Outcome::Next {
                    next,
                    branch,
                    result,
                    committed,
                } => {
                    run.record(step_record(
                        &run,
                        node,
                        "done",
                        started,
                        self.clock.now(),
                        branch,
                        result,
                        None,
                    ));
                    run.current = next;
                    run.waiting = None;
                    run.attempts = 0;
                    if committed {
                        // The effect's transaction wrote this state; refresh the guard.
                        match self.read_run(owner, &run.id).await? {
                            Some(fresh) => run.item = fresh.item,
                            None => return Ok(()),
                        }
                    }
                    if node.kind.is_action() {
                        run.actions += 1;
                    }
                    self.metrics
                        .count("WorkflowSteps", &[("outcome", "done")], 1);
                }
                Outcome::Park(waiting) => {
                    let due = waiting.due();
                    if !matches!(waiting, Waiting::Retry { .. }) {
                        let waiting_step =
                            step_record(&run, node, "waiting", started, None, None, None, None);
                        if run.steps.last().map(|s| (&s.key, &s.status))
                            != Some((&waiting_step.key, &waiting_step.status))
                        {
                            run.record(waiting_step);
                        }
                    }
                    run.waiting = Some(waiting);
                    self.commit(&mut run, Row::new(), due, claim).await?;
                    return Ok(());
                }
                Outcome::Exit(reason) => {
                    return self
                        .end(run, claim, Ending::Exited, &reason, Some(&lead))
                        .await;
                }
                Outcome::Fail(error) => {
                    run.attempts += 1;
                    let retry = error.retryable && run.attempts < self.config.max_attempts;
                    let status = if retry { "retrying" } else { "failed" };
                    run.record(step_record(
                        &run,
                        node,
                        status,
                        started,
                        Some(self.clock.now()),
                        None,
                        None,
                        Some(error.clone()),
                    ));
                    self.metrics
                        .count("WorkflowSteps", &[("outcome", status)], 1);
                    if retry {
                        // 1, 4, 16 minutes.
                        let backoff = Duration::minutes(4_i64.pow(run.attempts - 1));
                        let at = now + backoff;
                        run.waiting = Some(Waiting::Retry { node: node_id, at });
                        self.commit(&mut run, Row::new(), Some(at), claim).await?;
                        return Ok(());
                    }
                    let message = format!("{}: {}", error.code, error.message);
                    return self
                        .end(run, claim, Ending::Failed, &message, Some(&lead))
                        .await;
                }
            }
            // Steps are written when the run parks or ends (every effect is keyed by its
            // step, so replaying uncommitted steps after a crash repeats none); a long walk
            // renews its lease on the way.
            if last_commit.elapsed() > LEASE_RENEWAL {
                let renewed = Some(self.clock.now() + self.config.lease);
                if !self.commit(&mut run, Row::new(), renewed, claim).await? {
                    return Ok(());
                }
                last_commit = std::time::Instant::now();
            }
        }
        // A long chain of instant steps: yield, due now (the next tick goes on).
        let now = self.clock.now();
        self.commit(&mut run, Row::new(), Some(now), claim).await?;
        Ok(())
    }

    /// Why the lead leaves the run before its next step, if it does: a status in
    /// `exit_on`, or an address that may no longer be mailed.
    async fn exit_reason(
        &self,
        graph: &Graph,
        owner: OwnerId,
        lead: &Row,
    ) -> Result<Option<String>, RowError> {
        if let Some(status) = crate::rows::field(lead, "status").as_str()
            && graph.exits_in_status(status)
        {
            return Ok(Some(format!("exited_status:{status}")));
        }
        if let Some(address) = crate::scheduler::lead_address(lead)
            && self
                .access
                .rows()
                .store()
                .get(&suppression_key(owner, &address))
                .await?
                .is_some()
        {
            return Ok(Some("exited_lead_unsubscribed_or_bounced".into()));
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        run: &Run,
        graph: &Graph,
        node: &Node,
        lead: &Row,
        resumed: Option<Waiting>,
        claim: &str,
        started: DateTime<Utc>,
    ) -> Result<Outcome, WorkflowError> {
        let now = started;
        Ok(match &node.kind {
            NodeKind::LeadEventTrigger(_) | NodeKind::ManualTrigger(_) => next(&node.next),
            NodeKind::Condition => {
                let chosen = node
                    .branches
                    .iter()
                    .find(|b| b.when.as_ref().is_none_or(|f| f.matches(lead)));
                match chosen {
                    Some(branch) => Outcome::Next {
                        next: branch.next.clone(),
                        branch: Some(branch.key.clone()),
                        result: None,
                        committed: false,
                    },
                    // No branch matched and there is no else: the run ends here.
                    None => next(&None),
                }
            }
            NodeKind::SplitRandom(split) => {
                let index = split_branch(&split.percentages, &run.key(&node.id));
                let branch = &node.branches[index.min(node.branches.len() - 1)];
                Outcome::Next {
                    next: branch.next.clone(),
                    branch: Some(branch.key.clone()),
                    result: None,
                    committed: false,
                }
            }
            NodeKind::WaitDuration(_) | NodeKind::WaitUntil(_) | NodeKind::WaitEvent(_) => {
                self.wait(run, graph, node, lead, resumed, now).await?
            }
            _ => {
                // An e-mail waits for the send window; every action may be a retry.
                if let NodeKind::SendEmail(_) = node.kind
                    && let Some(window) = self.window_for(graph, lead)
                {
                    let open = window.next_open(now);
                    if open > now {
                        return Ok(Outcome::Park(Waiting::Window {
                            node: node.id.clone(),
                            at: open,
                        }));
                    }
                }
                self.act(run, graph, node, lead, claim).await?
            }
        })
    }

    pub(crate) fn window_for(
        &self,
        graph: &Graph,
        lead: &Row,
    ) -> Option<scaliyo_domain::schedule::SendWindow> {
        let zone = crate::rows::field(lead, "custom_fields")
            .get("timezone")
            .and_then(Value::as_str);
        graph.trigger().send_window.as_ref()?.for_lead(zone)
    }

    /// Ends a run: its status, the run marker freed (the lead may enter again by the
    /// trigger's rule), the figures counted, and `workflow.completed` / `workflow.failed`.
    pub(crate) async fn end(
        &self,
        mut run: Run,
        claim: &str,
        ending: Ending,
        reason: &str,
        lead: Option<&Row>,
    ) -> Result<(), WorkflowError> {
        let now = self.clock.now();
        let status = match ending {
            Ending::Completed => ExecutionStatus::Success,
            Ending::Exited => ExecutionStatus::Skipped,
            Ending::Failed => ExecutionStatus::Failed,
        };
        if ending == Ending::Exited {
            let node = run.current.clone().unwrap_or_default();
            run.record(Step {
                node_id: node.clone(),
                status: "exited".into(),
                attempt: run.attempts,
                started_at: timestamp_text(now),
                ended_at: Some(timestamp_text(now)),
                branch: None,
                key: run.key(&node),
                error: None,
                result: Some(json!({ "reason": reason })),
            });
        }
        run.waiting = None;
        let mut patch = Row::new();
        patch.insert("status".into(), json!(status));
        patch.insert("completed_at".into(), json!(timestamp_text(now)));
        if !reason.is_empty() {
            patch.insert("error_message".into(), json!(reason));
        }
        let (_, op) = self.state_op(&run, patch, None, Some(claim))?;
        let converted = lead.and_then(|l| LeadStatus::of(crate::rows::field(l, "status")))
            == Some(LeadStatus::Converted);
        let mut ops = vec![op];
        if let Some(lead_id) = &run.lead_id {
            ops.push(enrol::release_op(
                run.owner,
                &run.workflow_id,
                lead_id,
                &run.id,
            ));
        }
        ops.push(stats::bump_op(
            run.owner,
            &run.workflow_id,
            now,
            stats::Bump {
                converted: u64::from(converted),
                actions: run.actions,
                ..Default::default()
            },
        ));
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => {}
            // Moved on meanwhile (another claim ended it), or the marker moved to a newer
            // run: nothing of ours to end.
            Err(StoreError::ConditionFailed { .. }) => return Ok(()),
            Err(error) => return Err(RowError::from(error).into()),
        }
        let outcome = match ending {
            Ending::Completed => "completed",
            Ending::Exited => "exited",
            Ending::Failed => "failed",
        };
        self.metrics
            .count("WorkflowRuns", &[("outcome", outcome)], 1);
        tracing::info!(owner = %run.owner, execution_id = %run.id, outcome, reason, "workflow run ended");
        let event = match ending {
            Ending::Failed => Some("workflow.failed"),
            Ending::Completed => Some("workflow.completed"),
            Ending::Exited => None,
        };
        if let (Some(event), Some(webhooks)) = (event, &self.webhooks) {
            let data = json!({
                "workflow_id": run.workflow_id,
                "execution_id": run.id,
                "lead_id": run.lead_id,
                "error_message": if reason.is_empty() { Value::Null } else { json!(reason) },
            });
            webhooks.emit(run.owner, event, &run.id, data).await;
        }
        Ok(())
    }

    /// The step record of a run's state written as an extra action of an effect's
    /// transaction (the lead update, the task): the effect and its record commit together.
    pub(crate) fn step_extra(
        &self,
        run: &Run,
        node: &Node,
        claim: &str,
        result: Option<Value>,
        started: DateTime<Utc>,
    ) -> Result<Extra, RowError> {
        let mut after = run.clone();
        after.record(step_record(
            run,
            node,
            "done",
            started,
            self.clock.now(),
            None,
            result,
            None,
        ));
        after.current = node.next.clone();
        after.waiting = None;
        after.attempts = 0;
        let (_, op) = self.state_op(
            &after,
            Row::new(),
            Some(self.clock.now() + self.config.lease),
            Some(claim),
        )?;
        Ok(Extra {
            op,
            on_failure: RowError::Concurrent,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn step_record(
    run: &Run,
    node: &Node,
    status: &str,
    started: DateTime<Utc>,
    ended: impl Into<Option<DateTime<Utc>>>,
    branch: Option<String>,
    result: Option<Value>,
    error: Option<StepError>,
) -> Step {
    Step {
        node_id: node.id.clone(),
        status: status.into(),
        attempt: run.attempts + 1,
        started_at: timestamp_text(started),
        ended_at: ended.into().map(timestamp_text),
        branch,
        key: run.key(&node.id),
        error,
        result,
    }
}
