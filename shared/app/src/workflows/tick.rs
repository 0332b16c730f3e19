//! The tick (EventBridge every minute): runs whose wait is due — or whose claim ran out
//! (a crashed run) — claimed shard by shard and fanned out on the queue; then the figures
//! of workflows that changed.

use futures::{StreamExt, stream};

use super::run::Run;
use super::*;
use crate::layout;
use crate::rows::Row;
use crate::work_queue::Lane;

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TickReport {
    pub claimed: usize,
    pub stats_refreshed: usize,
}

impl Workflows {
    pub async fn tick(&self) -> Result<TickReport, WorkflowError> {
        let now = self.clock.now();
        let per_shard = self
            .config
            .max_claims_per_tick
            .div_ceil(layout::DUE_SHARDS as usize);
        let mut report = TickReport::default();
        for shard in 0..layout::DUE_SHARDS {
            let items = QUEUE
                .scan(self.access.rows(), Lane::Due, shard, now, per_shard)
                .await?;
            let claims: Vec<WorkflowMessage> = stream::iter(items)
                .map(|item| async move {
                    let row: Row =
                        crate::rows::from_item(&scaliyo_domain::schema::WORKFLOW_EXECUTIONS, &item);
                    let owner = crate::rows::owner_in(&row, "user_id").ok()?;
                    let run = Run::from_item(owner, item);
                    let execution_id = run.id.clone();
                    match self.claim(run).await {
                        Ok(Some((_, claim))) => Some(WorkflowMessage::Run {
                            owner,
                            execution_id,
                            claim,
                        }),
                        Ok(None) => None,
                        Err(error) => {
                            tracing::warn!(%error, "claiming a due workflow run failed");
                            None
                        }
                    }
                })
                .buffer_unordered(self.config.claim_concurrency)
                .filter_map(|m| async move { m })
                .collect()
                .await;
            report.claimed += claims.len();
            self.enqueue(&claims).await?;
        }
        report.stats_refreshed = self.refresh_stats(now).await?;
        self.metrics.count("WorkflowTicks", &[], 1);
        self.metrics
            .count("WorkflowClaims", &[], report.claimed as u64);
        if report.claimed > 0 {
            tracing::info!(
                claimed = report.claimed,
                stats = report.stats_refreshed,
                "workflow tick"
            );
        }
        Ok(report)
    }
}
