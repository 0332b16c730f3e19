//! The claimed-with-a-lease work index of ADR 0008, in one copy for every worker that uses it
//! (scheduled e-mails, social posts):
//!
//! - **Due**: a row waiting for its time sits in a sparse, sharded partition of GSI4
//!   (`<due prefix>#<shard>`, sort key `<time>#<id>`); a tick pages through every entry due
//!   at or before now.
//! - **Claim**: a version-guarded transition of the row (e.g. `pending → processing`) that
//!   writes a fresh claim id and a lease into GSI5 (`LEASE#<table>#<shard>`, sort key
//!   `<lease end>#<id>`). Two ticks never both claim a row: the second one's guard fails.
//! - **Expired**: a claim whose lease ran out (its run crashed, or a retry is due) is found by
//!   paging the lease partitions up to now, and taken over.

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::schema::Table;
use scaliyo_store::{Cursor, Index, Item, Query, SortCondition, StoreError, Value, WriteOp};

use crate::layout;
use crate::rows::{Row, RowError, Rows, timestamp_text};

/// The claim id of the run that holds a row (internal attribute).
pub const CLAIM: &str = "_claim";
/// How many attempts a row has had (internal attribute).
pub const ATTEMPTS: &str = "_attempts";
/// A scheduled e-mail's send window, carried from claim to claim (internal attribute).
pub const SEND_WINDOW: &str = "_window";
/// The index of due rows (sparse: a row is in it while its status says it waits).
pub const DUE_INDEX: Index = Index::Gsi4;
/// The sparse index of leases: GSI5, unused by the work-queue tables' own layouts.
pub const LEASE_INDEX: Index = Index::Gsi5;

/// Entries read per page of an index partition.
const PAGE: u32 = 200;

/// The two lanes of a work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Rows waiting for their time (GSI4, sort key `<due time>#<id>`).
    Due,
    /// Claimed rows (GSI5, sort key `<lease end>#<id>`): due again when the lease runs out.
    Leased,
}

/// One table's work queue: its due partitions and its lease partitions.
#[derive(Debug, Clone, Copy)]
pub struct WorkQueue {
    table: &'static str,
    due_prefix: &'static str,
}

impl WorkQueue {
    /// The queue of `table`, whose due index partitions are named `<due_prefix>#<shard>`.
    pub const fn new(table: &'static str, due_prefix: &'static str) -> Self {
        Self { table, due_prefix }
    }

    pub fn due_partition(&self, shard: u32) -> String {
        format!("{}#{shard}", self.due_prefix)
    }

    pub fn lease_partition(&self, shard: u32) -> String {
        lease_partition(self.table, shard)
    }

    /// The internal attributes of a fresh claim of row `id` until `until`: a new claim id and
    /// the lease entry.
    pub fn lease_attributes(&self, id: &str, until: DateTime<Utc>) -> Vec<(&'static str, Value)> {
        self.lease_attributes_with(id, until, uuid::Uuid::new_v4().to_string())
    }

    /// As `lease_attributes`, with the claim id given (a worker that hands it on).
    pub fn lease_attributes_with(
        &self,
        id: &str,
        until: DateTime<Utc>,
        claim: String,
    ) -> Vec<(&'static str, Value)> {
        let (pk, sk) = LEASE_INDEX.key_attributes();
        vec![
            (CLAIM, Value::from(claim)),
            (pk, Value::from(self.lease_partition(layout::shard_of(id)))),
            (sk, Value::from(lease_sort_key(until, id))),
        ]
    }

    /// Where `lane` of this table lives in `shard`: its index and partition.
    fn place(&self, lane: Lane, shard: u32) -> (Index, String) {
        match lane {
            Lane::Due => (DUE_INDEX, self.due_partition(shard)),
            Lane::Leased => (LEASE_INDEX, self.lease_partition(shard)),
        }
    }

    /// One page of the rows of this table in `lane` of `shard` whose time has come by `now`.
    pub async fn page(
        &self,
        rows: &Rows,
        lane: Lane,
        shard: u32,
        now: DateTime<Utc>,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<(Vec<Item>, Option<Cursor>), StoreError> {
        let (index, partition) = self.place(lane, shard);
        due_page(rows, index, partition, now, limit, after, Some(self.table)).await
    }

    /// Up to `budget` rows of this table in `lane` of `shard` whose time has come by `now`.
    pub async fn scan(
        &self,
        rows: &Rows,
        lane: Lane,
        shard: u32,
        now: DateTime<Utc>,
        budget: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let (index, partition) = self.place(lane, shard);
        scan(rows, index, partition, now, budget, Some(self.table)).await
    }

    /// Claims `item` (as read from an index): its transition by `patch` with `internal`
    /// attributes (the lease among them), guarded by the version read. The row as written, or
    /// None when someone else changed it first.
    pub async fn claim(
        &self,
        rows: &Rows,
        table: &'static Table,
        item: &Item,
        patch: Row,
        internal: &[(&str, Value)],
    ) -> Result<Option<Item>, RowError> {
        let (_, ops) = rows.transition_ops(table, item, patch, internal)?;
        let written = match ops.first() {
            Some(WriteOp::Put { item, .. }) => item.clone(),
            _ => return Ok(None),
        };
        match rows.store().transact_write(ops).await {
            Ok(()) => Ok(Some(written)),
            Err(StoreError::ConditionFailed { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// The lease partition of `table` (also used by other lease-index users, e.g. reminders).
pub fn lease_partition(table: &str, shard: u32) -> String {
    format!("LEASE#{table}#{shard}")
}

/// The sort key of an entry due (or leased) until `at`.
pub fn lease_sort_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", timestamp_text(at))
}

/// The sort-key bound that selects every entry at or before `now` (keys are
/// `<fixed-width UTC text>#<id>`).
pub fn at_or_before(now: DateTime<Utc>) -> SortCondition {
    SortCondition::Lt(timestamp_text(now + Duration::microseconds(1)))
}

/// One page of the entries of an index partition due at `now`; with `only`, the rows of that
/// table alone.
pub async fn due_page(
    rows: &Rows,
    index: Index,
    partition: String,
    now: DateTime<Utc>,
    limit: u32,
    after: Option<Cursor>,
    only: Option<&str>,
) -> Result<(Vec<Item>, Option<Cursor>), StoreError> {
    let page = rows
        .store()
        .query(
            Query::partition(index, partition)
                .sort(at_or_before(now))
                .limit(limit.max(1))
                .after(after),
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .filter(|i| only.is_none_or(|t| i.str(layout::TABLE_ATTR) == Some(t)))
        .collect();
    Ok((items, page.next))
}

/// Up to `budget` entries of an index partition due at `now`, page by page.
pub async fn scan(
    rows: &Rows,
    index: Index,
    partition: String,
    now: DateTime<Utc>,
    budget: usize,
    only: Option<&str>,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut cursor: Option<Cursor> = None;
    while items.len() < budget {
        let (page, next) = due_page(
            rows,
            index,
            partition.clone(),
            now,
            PAGE,
            cursor.take(),
            only,
        )
        .await?;
        items.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    items.truncate(budget);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_bound_includes_rows_due_exactly_now() {
        let now = Utc::now();
        let key = format!("{}#{}", timestamp_text(now), uuid::Uuid::new_v4());
        assert!(at_or_before(now).matches(&key));
        let later = format!("{}#x", timestamp_text(now + Duration::microseconds(1)));
        assert!(!at_or_before(now).matches(&later));
    }

    #[test]
    fn partitions_are_named_per_table_and_shard() {
        let queue = WorkQueue::new("social_posts", "idx_social_posts_scheduled");
        assert_eq!(queue.due_partition(3), "idx_social_posts_scheduled#3");
        assert_eq!(queue.lease_partition(3), "LEASE#social_posts#3");
    }
}
