//! `workflows.stats`, kept by the engine: counters added to atomically as runs start, act
//! and end (one counter item per workflow, never contended by a read-modify-write), and the
//! `stats` column rewritten from them by the tick (a counter item that changed is due in
//! GSI4 `wf_stats#<shard>` until then).
//!
//! - `leadsProcessed`: runs started.
//! - `conversionRate`: the share of runs (percent, one decimal) whose lead was `Converted`
//!   when its run ended.
//! - `timeSavedHrs`: 3 minutes per automated action (an e-mail written and sent, a field
//!   updated, a task made by hand) — an estimate, documented in docs/workflows.md.

use chrono::DateTime;
use scaliyo_domain::schema;
use scaliyo_store::{Condition, Key, StoreError, Update, WriteOp};
use serde_json::json;

use super::*;
use crate::layout;
use crate::rows::{Row, RowError};
use crate::work_queue::{DUE_INDEX, lease_sort_key};

/// Minutes one automated action saves (the estimate behind `timeSavedHrs`).
pub const MINUTES_SAVED_PER_ACTION: f64 = 3.0;
const DIRTY: &str = "wf_stats";

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bump {
    pub enrolled: u64,
    pub converted: u64,
    pub actions: u64,
}

fn stats_key(owner: OwnerId, workflow_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("wfstats#{workflow_id}"),
    )
}

/// Adds to a workflow's counters and marks them for the next tick.
pub(crate) fn bump_op(
    owner: OwnerId,
    workflow_id: &str,
    now: DateTime<Utc>,
    bump: Bump,
) -> WriteOp {
    let (pk, sk) = DUE_INDEX.key_attributes();
    let update = Update::new()
        .add("enrolled", bump.enrolled as i64)
        .add("converted", bump.converted as i64)
        .add("actions", bump.actions as i64)
        .add("n", 1)
        .set("workflow_id", workflow_id.to_owned())
        .set("owner", owner.to_string())
        .set(pk, format!("{DIRTY}#{}", layout::shard_of(workflow_id)))
        .set(sk, lease_sort_key(now, workflow_id));
    WriteOp::update(stats_key(owner, workflow_id), update)
}

/// The `stats` value from the counters (`roi` is kept as it was).
pub fn figures(
    enrolled: i64,
    converted: i64,
    actions: i64,
    roi: &serde_json::Value,
) -> serde_json::Value {
    let rate = if enrolled > 0 {
        (converted as f64 * 1000.0 / enrolled as f64).round() / 10.0
    } else {
        0.0
    };
    let hours = (actions as f64 * MINUTES_SAVED_PER_ACTION / 60.0 * 10.0).round() / 10.0;
    json!({
        "leadsProcessed": enrolled,
        "conversionRate": rate,
        "timeSavedHrs": hours,
        "roi": if roi.is_null() { json!(0) } else { roi.clone() },
    })
}

impl Workflows {
    /// Rewrites `stats` of every workflow whose counters changed; how many.
    pub(super) async fn refresh_stats(&self, now: DateTime<Utc>) -> Result<usize, WorkflowError> {
        let rows = self.access.rows();
        let mut refreshed = 0;
        for shard in 0..layout::DUE_SHARDS {
            let partition = format!("{DIRTY}#{shard}");
            let items =
                crate::work_queue::scan(rows, DUE_INDEX, partition, now, 1_000, None).await?;
            for item in items {
                let (Some(workflow_id), Some(owner)) = (
                    item.str("workflow_id"),
                    item.str("owner").and_then(|o| o.parse::<OwnerId>().ok()),
                ) else {
                    continue;
                };
                let Some(current) = rows
                    .get(&schema::WORKFLOWS, Some(&owner.to_string()), workflow_id)
                    .await?
                else {
                    continue;
                };
                let stats = figures(
                    item.i64("enrolled").unwrap_or(0),
                    item.i64("converted").unwrap_or(0),
                    item.i64("actions").unwrap_or(0),
                    &crate::rows::field(&current, "stats")["roi"],
                );
                let mut patch = Row::new();
                patch.insert("stats".into(), stats);
                match rows
                    .update_keeping_internal(
                        &schema::WORKFLOWS,
                        Some(&owner.to_string()),
                        workflow_id,
                        patch,
                    )
                    .await
                {
                    Ok(_) => refreshed += 1,
                    // Changed or deleted meanwhile: the next tick tries again (still due).
                    Err(RowError::Concurrent | RowError::NotFound) => continue,
                    Err(error) => return Err(error.into()),
                }
                let (pk, sk) = DUE_INDEX.key_attributes();
                let clean = Update::new().remove(pk).remove(sk);
                let unchanged = Condition::eq("n", item.i64("n").unwrap_or(0));
                match rows
                    .store()
                    .update(&stats_key(owner, workflow_id), clean, Some(unchanged))
                    .await
                {
                    Ok(_) | Err(StoreError::ConditionFailed { .. }) => {}
                    Err(error) => return Err(RowError::from(error).into()),
                }
            }
        }
        Ok(refreshed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_shares_and_hours() {
        let stats = figures(8, 2, 40, &serde_json::Value::Null);
        assert_eq!(
            stats,
            json!({"leadsProcessed": 8, "conversionRate": 25.0, "timeSavedHrs": 2.0, "roi": 0})
        );
        assert_eq!(figures(0, 0, 0, &json!(3))["conversionRate"], json!(0.0));
    }
}
