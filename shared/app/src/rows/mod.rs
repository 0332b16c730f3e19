//! The generic row repository, driven by the schema declaration: create with defaults, type
//! and CHECK validation, uniqueness items and foreign-key checks in one transaction; get;
//! list by owner or by any laid-out index with cursor pagination; update with optimistic
//! concurrency; delete with every ON DELETE action carried out.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema::{
    self, Check, Column, ColumnType, DefaultValue, OnDelete, Scope, Table, Unique,
};
use scaliyo_store::{
    Clock, Condition, Cursor, Index, Item, Key, Query, SortCondition, StoreError, Table as Store,
    Update, Value as StoreValue, WriteOp,
};
use serde_json::{Map, Value};

use crate::layout::{self, OWNER_ATTR, ROWID, TABLE_ATTR, TableLayout};

mod counters;
mod delete;
mod read;
mod tallies;
mod update;
mod values;
mod write;

pub use values::{coerce, default_value, prepare_new, timestamp_text};

pub type Row = Map<String, Value>;

/// Optimistic-concurrency version of a row item.
/// The row version every guarded write checks and bumps.
pub const VERSION_ATTR: &str = "_v";

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum RowError {
    #[error("no such row")]
    NotFound,
    #[error("{column}: {reason}")]
    Invalid { column: String, reason: String },
    #[error("unknown field {0}")]
    UnknownField(String),
    #[error("the row conflicts with an existing one ({constraint})")]
    Conflict { constraint: String },
    #[error("{column} references a row that does not exist")]
    MissingReference { column: String },
    #[error("the row changed while it was being written; retry")]
    Concurrent,
    /// A usage quota (daily sends, monthly credits…) would be exceeded.
    #[error("the {limit} quota is exhausted")]
    QuotaExceeded { limit: &'static str },
    /// A plan limit (e.g. contacts) would be exceeded.
    #[error("the {limit} limit of your plan ({allowed}) is reached")]
    PlanLimit { limit: &'static str, allowed: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something the code relies on does not hold (a constraint it names is not declared):
    /// a bug of ours, answered 500 — never a 4xx that would blame the request.
    #[error("broken invariant: {0}")]
    Invariant(String),
}

fn invalid(column: &str, reason: impl Into<String>) -> RowError {
    RowError::Invalid {
        column: column.to_owned(),
        reason: reason.into(),
    }
}

/// A row's value in `column`, `null` when the row has no such field (indexing a `Row` by a
/// missing key panics; a table without the column, or a partial row, must not).
pub fn field<'a>(row: &'a Row, column: &str) -> &'a Value {
    row.get(column).unwrap_or(&Value::Null)
}

/// The owner a stored row names in `column`: its column type is a uuid and the row was
/// written by us, so a missing or malformed value is a broken invariant.
pub fn owner_in(row: &Row, column: &str) -> Result<OwnerId, RowError> {
    row.get(column)
        .and_then(Value::as_str)
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| RowError::Invariant(format!("the row's {column} is not a user id")))
}

/// A row from a typed value: the rows a use case creates are `#[derive(Serialize)]` structs
/// whose field names are the columns, so a misspelt column does not survive review and a
/// value's type is the column's. Anything but an object is a bug of ours.
pub fn to_row<T: serde::Serialize>(value: &T) -> Result<Row, RowError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(row)) => Ok(row),
        Ok(other) => Err(RowError::Invariant(format!(
            "a row must serialise to an object, not {other}"
        ))),
        Err(error) => Err(RowError::Invariant(format!(
            "a row did not serialise: {error}"
        ))),
    }
}

/// The owning user of a row, as its scope defines it.
fn owner_of<'a>(table: &Table, row: &'a Row, parent_owner: Option<&'a str>) -> Option<&'a str> {
    match table.scope {
        Scope::Owner(column) => row.get(column).and_then(Value::as_str),
        Scope::OwnerOf(_) => parent_owner,
        Scope::Shared => None,
    }
}

fn to_item(
    layout: &TableLayout,
    owner: Option<&str>,
    row: &Row,
    version: i64,
) -> Result<(Key, Item), RowError> {
    let table = layout.table;
    let id = layout::row_id(table, row).ok_or_else(|| invalid("id", "is required"))?;
    let key = layout::row_key(table, owner, &id);
    let mut item = Item::new(&key)
        .with(TABLE_ATTR, table.name)
        .with(VERSION_ATTR, version);
    if let (Scope::OwnerOf(_), Some(owner)) = (table.scope, owner) {
        item.set(OWNER_ATTR, owner);
    }
    for (name, value) in row {
        if !value.is_null() {
            item.set(name.clone(), StoreValue::from_json(value));
        }
    }
    for (index, pk, sk) in layout::index_attributes(layout, owner, row) {
        let (pk_name, sk_name) = index.key_attributes();
        item.set(pk_name, pk);
        item.set(sk_name, sk);
    }
    Ok((key, item))
}

/// A row as the API shows it: every declared column, in declared order.
pub fn from_item(table: &Table, item: &Item) -> Row {
    let mut row = Row::new();
    for column in table.columns {
        row.insert(
            column.name.to_owned(),
            item.get(column.name)
                .map(StoreValue::to_json)
                .unwrap_or(Value::Null),
        );
    }
    if table.primary_key().is_none()
        && let Some(id) = item.str(ROWID)
    {
        row.insert(ROWID.to_owned(), Value::String(id.to_owned()));
    }
    row
}

/// The condition that an item is still the version that was read (optimistic concurrency).
fn unchanged_since(item: &Item) -> Condition {
    Condition::item_exists().and(match item.get(VERSION_ATTR) {
        Some(version) => Condition::eq(VERSION_ATTR, version.clone()),
        None => Condition::NotExists(VERSION_ATTR.into()),
    })
}

/// Whether an item is one of `owner`'s rows or a shared one (always, without an owner).
fn owned_by(table: &Table, item: &Item, owner: Option<&str>) -> bool {
    match (owner, item_owner(table, item)) {
        (Some(owner), Some(found)) => found == owner,
        _ => true,
    }
}

fn item_owner(table: &Table, item: &Item) -> Option<String> {
    match table.scope {
        Scope::Owner(column) => item.str(column).map(str::to_owned),
        Scope::OwnerOf(_) => item.str(OWNER_ATTR).map(str::to_owned),
        Scope::Shared => None,
    }
}

/// Which part of a transaction a failed condition belongs to.
enum Guard {
    Row,
    /// An extra action of the caller's: its failure means this error.
    Extra(RowError),
    Unique(&'static str),
    Reference(&'static str),
}

fn explain(table: &Table, guards: &[Guard], error: StoreError) -> RowError {
    match error {
        StoreError::ConditionFailed { index: Some(i) } => match guards.get(i) {
            Some(Guard::Unique(name)) => RowError::Conflict {
                constraint: (*name).to_owned(),
            },
            Some(Guard::Reference(column)) => RowError::MissingReference {
                column: (*column).to_owned(),
            },
            Some(Guard::Extra(error)) => error.clone(),
            Some(Guard::Row) | None => RowError::Conflict {
                constraint: format!("{}_pkey", table.name),
            },
        },
        other => RowError::Store(other),
    }
}

/// An extra action written in the same transaction as a row (a counter, a marker), and the
/// error its failed condition stands for.
#[derive(Debug, Clone)]
pub struct Extra {
    pub op: WriteOp,
    pub on_failure: RowError,
}

impl Extra {
    /// Rows written beside another write (history, audit, memberships): their actions
    /// fail only when something changed concurrently.
    pub fn beside(ops: Vec<WriteOp>) -> Vec<Extra> {
        ops.into_iter()
            .map(|op| Extra {
                op,
                on_failure: RowError::Concurrent,
            })
            .collect()
    }
}

/// A page of rows and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowPage {
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

/// How to list: by the owner partition (or all rows of a shared table), or by an index with
/// values for its equality columns and an optional range condition on its range column.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub index: Option<String>,
    pub equals: Vec<String>,
    pub range: Option<SortCondition>,
    pub descending: bool,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Clone)]
pub struct Rows {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Rows {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(super) fn layout(table: &Table) -> &'static TableLayout {
        // Every declared table has a layout; the lookup cannot miss for a `&'static Table`.
        layout::layout(table.name).unwrap_or_else(|| &layout::layouts()[0])
    }
}

/// Namespace of the derived ids of counter rows.
const COUNTER_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5ca1_1e00_c0de_4000_8000_0000_0000_0001);
