//! Applying journalled hits in batches: tokens resolved once per batch (and cached), the
//! hits of one message applied in the order they arrived (each sees its predecessors in the
//! history rules), different messages concurrently (on every core) so their commits share the
//! store's group commits.

use std::collections::HashMap;

use futures::{StreamExt, stream};

use super::*;

/// Messages whose hits are applied at the same time.
const MESSAGES_IN_FLIGHT: usize = 64;
/// Tokens resolved at the same time.
const TOKENS_IN_FLIGHT: usize = 32;

/// A token of the batch and what it stands for, if it is known.
type Resolved<'r> = Result<Option<(&'r str, Arc<Token>)>, RowError>;

/// What a batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    pub stored: usize,
    /// Already applied (a replay after a crash, a queue's second delivery).
    pub duplicates: usize,
    /// Unknown tokens, or tokens not of the hit's kind.
    pub not_tracked: usize,
    /// Records that are not hits at all (logged and dropped).
    pub unreadable: usize,
}

impl std::ops::AddAssign for ApplyReport {
    fn add_assign(&mut self, other: Self) {
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.not_tracked += other.not_tracked;
        self.unreadable += other.unreadable;
    }
}

impl ApplyReport {
    fn add(&mut self, outcome: &HitOutcome) {
        match outcome {
            HitOutcome::Stored(_) => self.stored += 1,
            HitOutcome::Duplicate => self.duplicates += 1,
            HitOutcome::NotTracked => self.not_tracked += 1,
        }
    }
}

impl Tracking {
    /// Applies journal records (JSON [`HitRecord`]s), in order per message. An error (the
    /// store unavailable) means the batch must be applied again: what was stored of it is
    /// recognised then and not counted twice.
    pub async fn apply_journal(&self, bodies: &[String]) -> Result<ApplyReport, RowError> {
        let mut report = ApplyReport::default();
        let mut records = Vec::with_capacity(bodies.len());
        for body in bodies {
            match serde_json::from_str::<HitRecord>(body) {
                Ok(record) => records.push(record),
                Err(error) => {
                    tracing::warn!(%error, "a journal record is not a hit: dropped");
                    report.unreadable += 1;
                }
            }
        }
        report += self.apply(&records).await?;
        Ok(report)
    }

    /// Applies hits, in order per message; once it returns, what it stored is durable.
    pub async fn apply(&self, records: &[HitRecord]) -> Result<ApplyReport, RowError> {
        let mut report = ApplyReport::default();
        let tokens = self.resolve_all(records).await?;
        // Hits grouped by message, each group in arrival order. The owner is part of the
        // group's key: a group's commits count in one owner's figures, whatever ids say.
        let mut groups: Vec<Vec<(Arc<Token>, HitRecord)>> = Vec::new();
        let mut group_of: HashMap<(OwnerId, &str), usize> = HashMap::new();
        for record in records {
            let Some(token) = tokens.get(record.token.as_str()) else {
                report.not_tracked += 1;
                continue;
            };
            let index = *group_of
                .entry((token.owner, token.message_id.as_str()))
                .or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
            groups[index].push((token.clone(), record.clone()));
        }
        // Each group its own task, so the work spreads over every core; a bounded number at
        // once.
        let in_flight = Arc::new(tokio::sync::Semaphore::new(MESSAGES_IN_FLIGHT));
        let mut tasks = tokio::task::JoinSet::new();
        for group in groups {
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                break;
            };
            let tracking = self.clone();
            tasks.spawn(async move {
                let outcomes = tracking.apply_message(&group).await;
                drop(permit);
                outcomes
            });
        }
        let mut failure = None;
        while let Some(group) = tasks.join_next().await {
            match group {
                Ok(Ok(group)) => group.iter().for_each(|outcome| report.add(outcome)),
                // The other groups still finish: less to redo when the batch is applied again.
                Ok(Err(error)) => failure = Some(error),
                Err(error) => {
                    failure = Some(RowError::Store(StoreError::Unavailable(format!(
                        "applying a message's hits stopped: {error}"
                    ))))
                }
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }
        // The batch's commits were unsynced: durable before the journal moves past them.
        self.rows.store().sync().await?;
        Ok(report)
    }

    async fn resolve_pair<'r>(&self, token: &'r str) -> Resolved<'r> {
        Ok(self.resolve(token).await?.map(|found| (token, found)))
    }

    /// Every distinct token of the batch, resolved once (unknown ones are absent).
    async fn resolve_all<'r>(
        &self,
        records: &'r [HitRecord],
    ) -> Result<HashMap<&'r str, Arc<Token>>, RowError> {
        let mut distinct: Vec<&str> = records.iter().map(|r| r.token.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let lookups: Vec<_> = distinct
            .into_iter()
            .map(|token| self.resolve_pair(token))
            .collect();
        let resolved: Vec<Resolved<'r>> = stream::iter(lookups)
            .buffer_unordered(TOKENS_IN_FLIGHT)
            .collect()
            .await;
        let mut tokens = HashMap::with_capacity(resolved.len());
        for entry in resolved {
            if let Some((token, found)) = entry? {
                tokens.insert(token, found);
            }
        }
        Ok(tokens)
    }
}
