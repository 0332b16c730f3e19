//! A store that can be switched off: every call fails as DynamoDB does when it is unreachable,
//! to test what the system does while its store is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use scaliyo_store::{
    BatchOp, Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp,
};

pub struct FlakyTable {
    inner: Arc<dyn Table>,
    down: AtomicBool,
}

impl FlakyTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            down: AtomicBool::new(false),
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
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
        self.check()?;
        self.inner.transact_write(ops).await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.check()?;
        self.inner.update(key, update, condition).await
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        self.check()?;
        self.inner.batch_write(ops).await
    }
}
