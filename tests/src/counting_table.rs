//! A `Table` that counts what it is asked, priced by DynamoDB's capacity rules, over any other
//! table (the embedded store in benchmarks): how many items and capacity units a use case
//! costs on DynamoDB on-demand, without a network.
//!
//! The rules (DynamoDB developer guide, "read/write capacity units"):
//! - A strongly consistent read: 1 RCU per 4 KB of the item (1 for a missing one); a query:
//!   1 RCU per 4 KB of all items returned, half on a GSI (eventually consistent).
//! - A write: 1 WCU per 1 KB of the item; in a transaction 2 per 1 KB; a condition check in a
//!   transaction 2; an update's size is taken as the item's size before it (read here first,
//!   not counted). Each GSI whose key the written item carries (or carried) costs 1 WCU per
//!   1 KB more (the index is written too).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use scaliyo_store::{
    BatchOp, Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp,
};

/// Counts in tenths of a unit (half RCUs are common).
#[derive(Debug, Default)]
pub struct Tally {
    pub requests: AtomicU64,
    pub items_read: AtomicU64,
    pub items_written: AtomicU64,
    rcu_tenths: AtomicU64,
    wcu_tenths: AtomicU64,
}

/// A snapshot of a tally.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub requests: u64,
    pub items_read: u64,
    pub items_written: u64,
    pub rcu: f64,
    pub wcu: f64,
}

impl std::ops::Sub for Cost {
    type Output = Cost;
    fn sub(self, before: Cost) -> Cost {
        Cost {
            requests: self.requests - before.requests,
            items_read: self.items_read - before.items_read,
            items_written: self.items_written - before.items_written,
            rcu: self.rcu - before.rcu,
            wcu: self.wcu - before.wcu,
        }
    }
}

const GSI_KEYS: [&str; 5] = ["GSI1PK", "GSI2PK", "GSI3PK", "GSI4PK", "GSI5PK"];

fn kilobytes(item: Option<&Item>) -> u64 {
    let bytes = item.map(Item::approximate_size).unwrap_or(0) as u64;
    bytes.div_ceil(1024).max(1)
}

fn gsis(item: Option<&Item>) -> u64 {
    item.map(|i| GSI_KEYS.iter().filter(|k| i.get(k).is_some()).count() as u64)
        .unwrap_or(0)
}

pub struct CountingTable {
    inner: Arc<dyn Table>,
    tally: Arc<Tally>,
}

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            tally: Arc::default(),
        }
    }

    pub fn cost(&self) -> Cost {
        let t = &self.tally;
        Cost {
            requests: t.requests.load(Ordering::Relaxed),
            items_read: t.items_read.load(Ordering::Relaxed),
            items_written: t.items_written.load(Ordering::Relaxed),
            rcu: t.rcu_tenths.load(Ordering::Relaxed) as f64 / 10.0,
            wcu: t.wcu_tenths.load(Ordering::Relaxed) as f64 / 10.0,
        }
    }

    fn read(&self, items: u64, rcu_tenths: u64) {
        self.tally.items_read.fetch_add(items, Ordering::Relaxed);
        self.tally
            .rcu_tenths
            .fetch_add(rcu_tenths, Ordering::Relaxed);
    }

    fn wrote(&self, items: u64, wcu: u64) {
        self.tally.items_written.fetch_add(items, Ordering::Relaxed);
        self.tally.wcu_tenths.fetch_add(wcu * 10, Ordering::Relaxed);
    }

    /// The WCUs of writing `after` over `before` (`factor` 2 in a transaction).
    fn write_cost(before: Option<&Item>, after: Option<&Item>, factor: u64) -> u64 {
        let size = kilobytes(after).max(kilobytes(before));
        let indexes = gsis(before).max(gsis(after));
        factor * size + indexes * size
    }

    async fn current(&self, key: &Key) -> Option<Item> {
        self.inner.get(key).await.ok().flatten()
    }

    async fn op_cost(&self, op: &WriteOp) -> u64 {
        match op {
            WriteOp::Put { item, .. } => {
                let before = match item.key() {
                    Ok(key) => self.current(&key).await,
                    Err(_) => None,
                };
                Self::write_cost(before.as_ref(), Some(item), 2)
            }
            WriteOp::Update { key, update, .. } => {
                let before = self.current(key).await;
                let after = update.apply(key, before.clone()).ok();
                Self::write_cost(before.as_ref(), after.as_ref(), 2)
            }
            WriteOp::Delete { key, .. } => {
                let before = self.current(key).await;
                Self::write_cost(before.as_ref(), None, 2)
            }
            WriteOp::ConditionCheck { .. } => 2,
        }
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let item = self.inner.get(key).await?;
        let units = (item.as_ref().map(Item::approximate_size).unwrap_or(0) as u64)
            .div_ceil(4096)
            .max(1);
        self.read(u64::from(item.is_some()), units * 10);
        Ok(item)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let items = self.inner.batch_get(keys).await?;
        for item in &items {
            let units = (item.as_ref().map(Item::approximate_size).unwrap_or(0) as u64)
                .div_ceil(4096)
                .max(1);
            self.read(u64::from(item.is_some()), units * 10);
        }
        Ok(items)
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let on_gsi = query.index != scaliyo_store::Index::Table;
        let page = self.inner.query(query).await?;
        let bytes: u64 = page.items.iter().map(|i| i.approximate_size() as u64).sum();
        let units = bytes.div_ceil(4096).max(1) * 10;
        self.read(
            page.items.len() as u64,
            if on_gsi { units / 2 } else { units },
        );
        Ok(page)
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let mut units = 0;
        let mut written = 0;
        for op in &ops {
            units += self.op_cost(op).await;
            written += u64::from(!matches!(op, WriteOp::ConditionCheck { .. }));
        }
        // A refused transaction is charged too.
        let result = self.inner.transact_write(ops).await;
        self.wrote(written, units);
        result
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let before = self.current(key).await;
        let result = self.inner.update(key, update, condition).await;
        let after = result.as_ref().ok();
        self.wrote(1, Self::write_cost(before.as_ref(), after, 1));
        result
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let mut units = 0;
        for op in &ops {
            units += match op {
                BatchOp::Put(item) => {
                    let before = match item.key() {
                        Ok(key) => self.current(&key).await,
                        Err(_) => None,
                    };
                    Self::write_cost(before.as_ref(), Some(item), 1)
                }
                BatchOp::Delete(key) => {
                    let before = self.current(key).await;
                    Self::write_cost(before.as_ref(), None, 1)
                }
            };
        }
        let count = ops.len() as u64;
        let result = self.inner.batch_write(ops).await;
        self.wrote(count, units);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_store::{Clock, SystemClock};

    #[tokio::test]
    async fn reads_and_writes_are_priced_by_dynamodbs_rules() {
        let dir = tempfile::tempdir().expect("a directory");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let redb =
            scaliyo_embedded::RedbTable::open(&dir.path().join("t.redb"), clock).expect("a table");
        let table = CountingTable::new(Arc::new(redb));
        let key = Key::new("P", "S");
        let item = Item::new(&key).with("GSI1PK", "x").with("GSI1SK", "y");
        table
            .transact_write(vec![WriteOp::put_new(item)])
            .await
            .expect("written");
        // 2 WCU (transactional, under 1 KB) + 1 for the index.
        assert_eq!(table.cost().wcu, 3.0);
        table.get(&key).await.expect("read");
        table.get(&Key::new("P", "missing")).await.expect("read");
        assert_eq!(table.cost().rcu, 2.0);
        table
            .query(Query::partition(scaliyo_store::Index::Gsi1, "x"))
            .await
            .expect("queried");
        let cost = table.cost();
        assert_eq!((cost.rcu, cost.requests, cost.items_read), (2.5, 4, 2));
    }
}
