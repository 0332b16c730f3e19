//! A store that can be switched off: every call fails as DynamoDB does when it is unreachable,
//! to test what the system does while its store is down — or that refuses one write in N
//! (the soak test's injected fault).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use scaliyo_store::{
    BatchOp, Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp,
};

pub struct FlakyTable {
    inner: Arc<dyn Table>,
    down: AtomicBool,
    /// 0: every write goes through; N: one write in N is refused.
    fail_one_write_in: AtomicU64,
    writes: AtomicU64,
}

/// The text of an injected write failure (the soak test tells these apart in the logs).
pub const INJECTED_WRITE_FAILURE: &str = "injected fault: the store refused this write";

impl FlakyTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            down: AtomicBool::new(false),
            fail_one_write_in: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Refuses one write in `n` from now on (0: none).
    pub fn fail_one_write_in(&self, n: u64) {
        self.fail_one_write_in.store(n, Ordering::SeqCst);
    }

    /// The writes asked of this store so far (refused ones included).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn check_write(&self) -> Result<(), StoreError> {
        self.check()?;
        let n = self.fail_one_write_in.load(Ordering::Relaxed);
        if n > 0 && self.writes.fetch_add(1, Ordering::Relaxed) % n == n - 1 {
            return Err(StoreError::Unavailable(INJECTED_WRITE_FAILURE.into()));
        }
        Ok(())
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the store is down (test)".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Table for FlakyTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.check()?;
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.check()?;
        self.inner.batch_get(keys).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.check()?;
        self.inner.query(query).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.check_write()?;
        self.inner.transact_write(ops).await
    }

    async fn transact_write_unsynced(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.check_write()?;
        self.inner.transact_write_unsynced(ops).await
    }

    async fn sync(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.sync().await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.check_write()?;
        self.inner.update(key, update, condition).await
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        self.check_write()?;
        self.inner.batch_write(ops).await
    }
}
