//! Enrolment: one live run per (workflow, lead), guarded by a marker item beside the
//! owner's rows, by the trigger's `reentry` rule (never / after_exit / always, with an
//! optional cooldown).

use chrono::DateTime;
use scaliyo_domain::schema;
use scaliyo_domain::status::ExecutionStatus;
use scaliyo_domain::workflows::{Graph, Reentry};
use scaliyo_store::{Condition, Item, Key, StoreError, Update, Value as StoreValue, WriteOp};
use serde_json::json;

use super::run::Run;
use super::*;
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text};
use crate::work_queue::CLAIM;

fn marker_key(owner: OwnerId, workflow_id: &str, lead_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("wfrun#{workflow_id}#{lead_id}"),
    )
}

/// Frees the lead's marker when its run ends (the lead may enter again by the rule).
pub(super) fn release_op(
    owner: OwnerId,
    workflow_id: &str,
    lead_id: &str,
    execution_id: &str,
) -> WriteOp {
    WriteOp::Update {
        key: marker_key(owner, workflow_id, lead_id),
        update: Update::new().set("live", false),
        condition: Some(Condition::eq("execution", execution_id).or(Condition::item_absent())),
    }
}

/// Whether a lead with this marker may start a new run now.
fn may_enter(graph: &Graph, marker: Option<&Item>, now: DateTime<Utc>) -> bool {
    let Some(marker) = marker else {
        return true;
    };
    let trigger = graph.trigger();
    let live = marker
        .get("live")
        .and_then(StoreValue::as_bool)
        .unwrap_or(false);
    if live || trigger.reentry == Reentry::Never {
        return false;
    }
    let started = marker
        .str("started_at")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    match (&trigger.cooldown, started) {
        (Some(cooldown), Some(started)) => {
            cooldown.after(started, scaliyo_domain::workflows::Tz::UTC) <= now
        }
        _ => true,
    }
}

impl Workflows {
    /// Starts a run of version `version` for `lead` when the trigger's filter and reentry
    /// rule admit it, and walks it to its first wait. None: not admitted (or raced).
    pub(super) async fn start(
        &self,
        owner: OwnerId,
        workflow_id: &str,
        version: i64,
        graph: &Graph,
        lead: &Row,
    ) -> Result<bool, WorkflowError> {
        if let Some(filter) = &graph.trigger().filter
            && !filter.matches(lead)
        {
            return Ok(false);
        }
        let Some(lead_id) = crate::rows::field(lead, "id").as_str() else {
            return Ok(false);
        };
        let Some((run, claim)) = self
            .enrol(owner, workflow_id, version, graph, lead_id)
            .await?
        else {
            return Ok(false);
        };
        self.advance(run, &claim).await?;
        Ok(true)
    }

    async fn enrol(
        &self,
        owner: OwnerId,
        workflow_id: &str,
        version: i64,
        graph: &Graph,
        lead_id: &str,
    ) -> Result<Option<(Run, String)>, WorkflowError> {
        let rows = self.access.rows();
        let store = rows.store();
        let now = self.clock.now();
        let key = marker_key(owner, workflow_id, lead_id);
        let marker = store.get(&key).await?;
        if !may_enter(graph, marker.as_ref(), now) {
            return Ok(None);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut input = Row::new();
        input.insert("id".into(), json!(id));
        input.insert("workflow_id".into(), json!(workflow_id));
        input.insert("user_id".into(), json!(owner));
        input.insert("lead_id".into(), json!(lead_id));
        input.insert("status".into(), json!(ExecutionStatus::Running));
        input.insert("current_node".into(), json!(graph.trigger_node().id));
        let row = rows.prepare(&schema::WORKFLOW_EXECUTIONS, input)?;
        let mut ops = rows.insert_ops(
            &schema::WORKFLOW_EXECUTIONS,
            Some(&owner.to_string()),
            &row,
            true,
        )?;
        let claim = uuid::Uuid::new_v4().to_string();
        let Some(WriteOp::Put { item, .. }) = ops.first_mut() else {
            return Ok(None);
        };
        item.set(super::VERSION, version);
        item.set(super::ENTRIES, "{}");
        item.set(CLAIM, claim.clone());
        let (pk, sk) = crate::work_queue::DUE_INDEX.key_attributes();
        item.set(pk, QUEUE.due_partition(layout::shard_of(&id)));
        item.set(
            sk,
            crate::work_queue::lease_sort_key(now + self.config.lease, &id),
        );
        let written = item.clone();
        let generation = marker.as_ref().and_then(|m| m.i64("n")).unwrap_or(0);
        let guard = match &marker {
            None => Condition::item_absent(),
            Some(_) => Condition::eq("n", generation),
        };
        ops.push(WriteOp::Put {
            item: Item::new(&key)
                .with("execution", id.clone())
                .with("live", true)
                .with("started_at", timestamp_text(now))
                .with("n", generation + 1),
            condition: Some(guard),
        });
        ops.push(super::stats::bump_op(
            owner,
            workflow_id,
            now,
            super::stats::Bump {
                enrolled: 1,
                ..Default::default()
            },
        ));
        match store.transact_write(ops).await {
            Ok(()) => {}
            // Enrolled by someone else meanwhile, or the lead or workflow is gone.
            Err(StoreError::ConditionFailed { .. }) => return Ok(None),
            Err(error) => return Err(RowError::from(error).into()),
        }
        self.metrics
            .count("WorkflowRuns", &[("outcome", "started")], 1);
        tracing::info!(%owner, workflow_id, execution_id = %id, "workflow run started");
        Ok(Some((Run::from_item(owner, written), claim)))
    }
}
