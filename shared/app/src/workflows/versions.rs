//! Immutable versions of a workflow's graph: one item per activation (or edit while
//! active), beside the owner's rows. A run names the version it follows; versions are
//! never changed, so they are cached by (workflow, version).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::workflows::Graph;
use scaliyo_store::{Index, Item, Key, Query, SortCondition, StoreError, WriteOp};

use crate::layout;
use crate::rows::{RowError, Rows};

/// Versions kept in memory (each a parsed graph of at most 200 nodes).
const CACHED: usize = 1_000;

fn prefix(workflow_id: &str) -> String {
    format!("wfver#{workflow_id}#")
}

/// The key of version `number` of a workflow.
pub fn version_key(owner: OwnerId, workflow_id: &str, number: i64) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("{}{number:010}", prefix(workflow_id)),
    )
}

/// The write that stores a new version: refused if that number exists (two activations
/// racing: one wins, the other retries).
pub fn publish_op(
    owner: OwnerId,
    workflow_id: &str,
    number: i64,
    nodes: &serde_json::Value,
) -> WriteOp {
    let item = Item::new(&version_key(owner, workflow_id, number))
        .with("version", number)
        .with("nodes", nodes.to_string());
    WriteOp::put_new(item)
}

/// Parsed versions by (workflow id, version).
type GraphCache = Arc<Mutex<HashMap<(String, i64), Arc<Graph>>>>;

#[derive(Clone)]
pub struct Versions {
    rows: Rows,
    cache: GraphCache,
}

impl Versions {
    pub fn new(rows: Rows) -> Self {
        Self {
            rows,
            cache: Arc::default(),
        }
    }

    /// The newest version's number (0: never activated).
    pub async fn latest_number(
        rows: &Rows,
        owner: OwnerId,
        workflow_id: &str,
    ) -> Result<i64, StoreError> {
        let page = rows
            .store()
            .query(
                Query::partition(Index::Table, layout::owner_partition(owner))
                    .sort(SortCondition::BeginsWith(prefix(workflow_id)))
                    .backward()
                    .limit(1),
            )
            .await?;
        Ok(page
            .items
            .first()
            .and_then(|i| i.i64("version"))
            .unwrap_or(0))
    }

    /// The newest version and its graph.
    pub async fn latest(
        &self,
        owner: OwnerId,
        workflow_id: &str,
    ) -> Result<Option<(i64, Arc<Graph>)>, RowError> {
        let number = Self::latest_number(&self.rows, owner, workflow_id).await?;
        if number == 0 {
            return Ok(None);
        }
        Ok(self
            .get(owner, workflow_id, number)
            .await?
            .map(|g| (number, g)))
    }

    /// Version `number` of a workflow, parsed (None: missing, or no longer valid).
    pub async fn get(
        &self,
        owner: OwnerId,
        workflow_id: &str,
        number: i64,
    ) -> Result<Option<Arc<Graph>>, RowError> {
        let cache_key = (workflow_id.to_owned(), number);
        if let Ok(cache) = self.cache.lock()
            && let Some(graph) = cache.get(&cache_key)
        {
            return Ok(Some(graph.clone()));
        }
        let Some(item) = self
            .rows
            .store()
            .get(&version_key(owner, workflow_id, number))
            .await?
        else {
            return Ok(None);
        };
        let nodes: serde_json::Value = item
            .str("nodes")
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        let Ok(graph) = Graph::parse(&nodes) else {
            tracing::error!(%owner, workflow_id, number, "a stored workflow version does not parse");
            return Ok(None);
        };
        let graph = Arc::new(graph);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHED {
                cache.clear();
            }
            cache.insert(cache_key, graph.clone());
        }
        Ok(Some(graph))
    }
}
