//! The generic row repository, driven by the schema declaration: create with defaults, type
//! and CHECK validation, uniqueness items and foreign-key checks in one transaction; get;
//! list by owner or by any laid-out index with cursor pagination; update with optimistic
//! concurrency; delete with every ON DELETE action carried out.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use scaliyo_domain::schema::{
    self, Check, Column, ColumnType, DefaultValue, OnDelete, Scope, Table, Unique,
};
use scaliyo_store::{
    Clock, Condition, Cursor, Index, Item, Key, Query, SortCondition, StoreError, Table as Store,
    Update, Value as StoreValue, WriteOp,
};
use serde_json::{Map, Value};

use crate::layout::{self, OWNER_ATTR, ROWID, TABLE_ATTR, TableLayout};

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

/// The canonical text of a timestamp: UTC with microseconds (PostgreSQL's precision), fixed
/// width so that text order is time order.
pub fn timestamp_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Checks and normalises one value for a column (types as PostgreSQL would coerce them).
pub fn coerce(column: &Column, value: Value) -> Result<Value, RowError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let name = column.name;
    let value = match column.ty {
        ColumnType::Uuid => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(name, "must be a UUID string"))?;
            let id = uuid::Uuid::parse_str(text).map_err(|_| invalid(name, "must be a UUID"))?;
            Value::String(id.hyphenated().to_string())
        }
        ColumnType::Text => {
            if !value.is_string() {
                return Err(invalid(name, "must be a string"));
            }
            value
        }
        ColumnType::Int => {
            let n = value
                .as_i64()
                .ok_or_else(|| invalid(name, "must be an integer"))?;
            if i32::try_from(n).is_err() {
                return Err(invalid(name, "is out of range for a 32-bit integer"));
            }
            value
        }
        ColumnType::BigInt => {
            value
                .as_i64()
                .ok_or_else(|| invalid(name, "must be an integer"))?;
            value
        }
        ColumnType::Real => {
            value
                .as_f64()
                .ok_or_else(|| invalid(name, "must be a number"))?;
            value
        }
        ColumnType::Boolean => {
            value
                .as_bool()
                .ok_or_else(|| invalid(name, "must be true or false"))?;
            value
        }
        ColumnType::Jsonb => value,
        ColumnType::TextArray => {
            let items = value
                .as_array()
                .ok_or_else(|| invalid(name, "must be an array of strings"))?;
            if !items.iter().all(Value::is_string) {
                return Err(invalid(name, "must be an array of strings"));
            }
            value
        }
        ColumnType::Date => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(name, "must be a date (YYYY-MM-DD)"))?;
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| invalid(name, "must be a date (YYYY-MM-DD)"))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        ColumnType::Timestamptz => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(name, "must be an RFC 3339 timestamp"))?;
            let at = DateTime::parse_from_rfc3339(text)
                .map_err(|_| invalid(name, "must be an RFC 3339 timestamp with an offset"))?;
            Value::String(timestamp_text(at.with_timezone(&Utc)))
        }
    };
    match column.check {
        Check::None => {}
        Check::OneOf(allowed) => {
            let text = value.as_str().unwrap_or_default();
            if !allowed.contains(&text) {
                return Err(invalid(
                    name,
                    format!("must be one of {}", allowed.join(", ")),
                ));
            }
        }
        Check::Range { min, max } => {
            let n = value.as_i64().unwrap_or(i64::MIN);
            if n < min || n > max {
                return Err(invalid(name, format!("must be between {min} and {max}")));
            }
        }
    }
    Ok(value)
}

/// The value a column's default produces now.
pub fn default_value(column: &Column, now: DateTime<Utc>) -> Value {
    match column.default {
        DefaultValue::None | DefaultValue::Null => Value::Null,
        DefaultValue::RandomUuid => Value::String(uuid::Uuid::new_v4().to_string()),
        DefaultValue::Now => Value::String(timestamp_text(now)),
        DefaultValue::NowPlusSeconds(seconds) => {
            Value::String(timestamp_text(now + chrono::Duration::seconds(seconds)))
        }
        DefaultValue::CurrentDate => Value::String(now.format("%Y-%m-%d").to_string()),
        DefaultValue::Text(text) => Value::String(text.to_owned()),
        DefaultValue::Int(n) => Value::from(n),
        DefaultValue::Real(f) => Value::from(f),
        DefaultValue::Bool(b) => Value::Bool(b),
        DefaultValue::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        DefaultValue::EmptyArray => Value::Array(vec![]),
    }
}

/// Applies defaults and validates a new row; unknown fields are refused.
pub fn prepare_new(table: &Table, input: Row, now: DateTime<Utc>) -> Result<Row, RowError> {
    if let Some(unknown) = input.keys().find(|k| table.column(k).is_none()) {
        return Err(RowError::UnknownField(unknown.clone()));
    }
    let mut input = input;
    let mut row = Row::with_capacity(table.columns.len() + 1);
    for column in table.columns {
        let value = match input.remove(column.name) {
            Some(value) => coerce(column, value)?,
            None => default_value(column, now),
        };
        if value.is_null() && (column.not_null || column.primary_key) {
            return Err(invalid(column.name, "is required"));
        }
        row.insert(column.name.to_owned(), value);
    }
    if table.primary_key().is_none() {
        row.insert(
            ROWID.to_owned(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
    }
    Ok(row)
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

    fn layout(table: &Table) -> &'static TableLayout {
        // Every declared table has a layout; the lookup cannot miss for a `&'static Table`.
        layout::layout(table.name).unwrap_or_else(|| &layout::layouts()[0])
    }

    /// Guards for the uniqueness items and references of a row being written.
    #[allow(clippy::too_many_arguments)]
    fn constraint_ops(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        key: &Key,
        row: &Row,
        previous: Option<&Row>,
        ops: &mut Vec<WriteOp>,
        guards: &mut Vec<Guard>,
    ) {
        for unique in table.uniques {
            let new = layout::unique_key(unique, row);
            let old = previous.and_then(|p| layout::unique_key(unique, p));
            if new == old {
                continue;
            }
            if let Some(old) = old {
                ops.push(WriteOp::delete(old));
                guards.push(Guard::Row);
            }
            if let Some(new) = new {
                let item = Item::new(&new)
                    .with("row_pk", key.pk.as_str())
                    .with("row_sk", key.sk.as_str())
                    .with(TABLE_ATTR, table.name);
                ops.push(WriteOp::put_new(item));
                guards.push(Guard::Unique(unique.name));
            }
        }
        for fk in table.foreign_keys {
            if fk.table == schema::AUTH_USERS {
                continue;
            }
            let Some(value) = row.get(fk.column).and_then(Value::as_str) else {
                continue;
            };
            if previous
                .and_then(|p| p.get(fk.column))
                .and_then(Value::as_str)
                == Some(value)
            {
                continue;
            }
            let Some(parent) = schema::table(fk.table) else {
                continue;
            };
            let parent_key = match parent.scope {
                Scope::Shared => layout::row_key(parent, None, value),
                // A row that owns itself (a profile) lives in its own partition.
                Scope::Owner(column) if Some(column) == parent.primary_key().map(|c| c.name) => {
                    layout::row_key(parent, Some(value), value)
                }
                // An owned parent must be in the same owner's partition: rows never point
                // across tenants.
                _ => match owner {
                    Some(owner) => layout::row_key(parent, Some(owner), value),
                    None => continue,
                },
            };
            if ops
                .iter()
                .any(|op| op.key().ok().as_ref() == Some(&parent_key))
            {
                continue;
            }
            ops.push(WriteOp::check(parent_key, Condition::item_exists()));
            guards.push(Guard::Reference(fk.column));
        }
    }

    /// Creates a row. `parent_owner` is the owning user for `OwnerOf` tables (the owner of the
    /// referenced parent); other scopes take the owner from the row.
    pub async fn create(
        &self,
        table: &'static Table,
        parent_owner: Option<&str>,
        input: Row,
    ) -> Result<Row, RowError> {
        let row = prepare_new(table, input, self.clock.now())?;
        self.insert(table, parent_owner, row, Vec::new()).await
    }

    /// Applies defaults and validates, without writing (policies look at the result first).
    pub fn prepare(&self, table: &'static Table, input: Row) -> Result<Row, RowError> {
        prepare_new(table, input, self.clock.now())
    }

    /// Writes a prepared row with its uniqueness items, reference checks and the caller's
    /// extra actions (counters), all in one transaction.
    pub async fn insert(
        &self,
        table: &'static Table,
        parent_owner: Option<&str>,
        row: Row,
        extra: Vec<Extra>,
    ) -> Result<Row, RowError> {
        self.insert_checked(table, parent_owner, row, extra, true)
            .await
    }

    /// The actions that write a prepared row with its uniqueness items (and, when asked, the
    /// checks that its references exist), to compose several rows into one transaction.
    pub fn insert_ops(
        &self,
        table: &'static Table,
        parent_owner: Option<&str>,
        row: &Row,
        check_references: bool,
    ) -> Result<Vec<WriteOp>, RowError> {
        Ok(self.row_ops(table, parent_owner, row, check_references)?.0)
    }

    fn row_ops(
        &self,
        table: &'static Table,
        parent_owner: Option<&str>,
        row: &Row,
        check_references: bool,
    ) -> Result<(Vec<WriteOp>, Vec<Guard>), RowError> {
        let owner = owner_of(table, row, parent_owner);
        if matches!(table.scope, Scope::OwnerOf(_)) && owner.is_none() {
            return Err(invalid("owner", "the parent's owner is required"));
        }
        let layout = Self::layout(table);
        let (key, item) = to_item(layout, owner, row, 1)?;
        let mut ops = vec![WriteOp::put_new(item)];
        let mut guards = vec![Guard::Row];
        self.constraint_ops(table, owner, &key, row, None, &mut ops, &mut guards);
        if !check_references {
            let keep: Vec<bool> = guards
                .iter()
                .map(|g| !matches!(g, Guard::Reference(_)))
                .collect();
            let mut index = 0;
            ops.retain(|_| {
                index += 1;
                keep[index - 1]
            });
            guards.retain(|g| !matches!(g, Guard::Reference(_)));
        }
        Ok((ops, guards))
    }

    async fn insert_checked(
        &self,
        table: &'static Table,
        parent_owner: Option<&str>,
        row: Row,
        extra: Vec<Extra>,
        check_references: bool,
    ) -> Result<Row, RowError> {
        let (mut ops, mut guards) = self.row_ops(table, parent_owner, &row, check_references)?;
        for Extra { op, on_failure } in extra {
            ops.push(op);
            guards.push(Guard::Extra(on_failure));
        }
        self.store
            .transact_write(ops)
            .await
            .map_err(|e| explain(table, &guards, e))?;
        Ok(row)
    }

    async fn get_item(
        &self,
        table: &Table,
        owner: Option<&str>,
        id: &str,
    ) -> Result<Option<Item>, RowError> {
        let key = layout::row_key(table, owner, id);
        let item = self.store.get(&key).await?;
        Ok(item.filter(|item| item.str(TABLE_ATTR) == Some(table.name)))
    }

    /// Reads a row by id from the owner's partition (or the shared one when `owner` is None).
    pub async fn get(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
    ) -> Result<Option<Row>, RowError> {
        Ok(self
            .get_item(table, owner, id)
            .await?
            .map(|item| from_item(table, &item)))
    }

    pub async fn list(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        request: ListRequest,
    ) -> Result<RowPage, RowError> {
        let layout = Self::layout(table);
        let mut query = match &request.index {
            None => match (table.scope, owner) {
                (Scope::Owner(_) | Scope::OwnerOf(_), Some(owner)) => {
                    Query::partition(Index::Table, layout::owner_partition(owner))
                        .sort(SortCondition::BeginsWith(format!("{}#", table.name)))
                }
                _ => {
                    let all = layout
                        .indexes
                        .iter()
                        .find(|i| i.name == format!("all_{}", table.name))
                        .ok_or_else(|| invalid("owner", "listing this table needs an owner"))?;
                    Query::partition(all.gsi, all.name.clone())
                }
            },
            Some(name) => {
                let index = layout
                    .indexes
                    .iter()
                    .find(|i| &i.name == name)
                    .ok_or_else(|| {
                        invalid("index", format!("{name} is not an index of {}", table.name))
                    })?;
                if request.equals.len() != index.equality.len() {
                    return Err(invalid(
                        "index",
                        format!("{name} needs {} value(s)", index.equality.len()),
                    ));
                }
                let mut pk = index.name.clone();
                if index.owner_prefixed {
                    let owner = owner.ok_or_else(|| invalid("owner", "this index is per owner"))?;
                    pk.push('#');
                    pk.push_str(owner);
                }
                for (part, value) in index.equality.iter().zip(&request.equals) {
                    pk.push('#');
                    let text = match part {
                        schema::KeyPart::Lower(_) => value.to_lowercase(),
                        _ => value.clone(),
                    };
                    pk.push_str(&layout::segment(&text));
                }
                let mut query = Query::partition(index.gsi, pk);
                if let Some(range) = request.range.clone() {
                    query = query.sort(range);
                }
                query
            }
        };
        if request.descending {
            query = query.backward();
        }
        query = query
            .limit(request.limit.max(1))
            .after(request.cursor.clone().map(Cursor));
        let page = self.store.query(query).await?;
        Ok(RowPage {
            rows: page
                .items
                .iter()
                .filter(|item| item.str(TABLE_ATTR) == Some(table.name))
                // A global index (a foreign key's) lists every tenant's rows: keep the owner's.
                .filter(|item| owned_by(table, item, owner))
                .map(|item| from_item(table, item))
                .collect(),
            next: page.next.map(|c| c.0),
        })
    }

    /// Applies a partial update. The primary key and the owner column cannot change.
    pub async fn update(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        patch: Row,
    ) -> Result<Row, RowError> {
        self.read_and_update(table, owner, id, patch, false).await
    }

    /// A client's partial update (the data API): like [`Rows::update`], and the row's internal
    /// attributes (checkpoints, leases, attempt counts, first-event flags) survive it, since
    /// the client neither sees nor means to change them.
    pub async fn update_keeping_internal(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        patch: Row,
    ) -> Result<Row, RowError> {
        self.read_and_update(table, owner, id, patch, true).await
    }

    async fn read_and_update(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        patch: Row,
        keep_internal: bool,
    ) -> Result<Row, RowError> {
        let item = self
            .get_item(table, owner, id)
            .await?
            .ok_or(RowError::NotFound)?;
        self.write_update(table, owner, &item, patch, false, keep_internal)
            .await
    }

    /// The trigger `update_<table>_updated_at` of the seed.
    fn stamp_updated_at(&self, table: &Table, row: &mut Row) {
        if table.has_updated_at() {
            row.insert(
                "updated_at".into(),
                Value::String(timestamp_text(self.clock.now())),
            );
        }
    }

    /// A guarded state change of a row already read (from a get or an index query): the put
    /// that replaces `item` only if nobody changed it since (its version), with `patch`
    /// applied and the given internal attributes (leases, claims) set. Work queues use it to
    /// claim and settle rows without a second read. The patch must not touch unique or
    /// foreign-key columns (their guard items are not rewritten here).
    pub fn transition_op(
        &self,
        table: &'static Table,
        item: &Item,
        patch: Row,
        internal: &[(&str, StoreValue)],
    ) -> Result<(Row, WriteOp), RowError> {
        let mut row = from_item(table, item);
        for (name, value) in patch {
            let column = table
                .column(&name)
                .ok_or_else(|| RowError::UnknownField(name.clone()))?;
            let guarded = column.primary_key
                || table.foreign_keys.iter().any(|fk| fk.column == name)
                || table
                    .uniques
                    .iter()
                    .any(|u| u.parts.iter().any(|p| p.column() == name));
            if guarded {
                return Err(invalid(&name, "cannot change in a transition"));
            }
            let value = coerce(column, value)?;
            if value.is_null() && column.not_null {
                return Err(invalid(&name, "is required"));
            }
            row.insert(name, value);
        }
        self.stamp_updated_at(table, &mut row);
        let version = item.i64(VERSION_ATTR).unwrap_or(0);
        let owner = item_owner(table, item);
        let (_, mut new_item) = to_item(Self::layout(table), owner.as_deref(), &row, version + 1)?;
        for (name, value) in internal {
            new_item.set(*name, value.clone());
        }
        let guard = unchanged_since(item);
        Ok((
            row,
            WriteOp::Put {
                item: new_item,
                condition: Some(guard),
            },
        ))
    }

    /// The raw item of a row (with its internal attributes), for [`Rows::transition_op`].
    pub async fn get_raw(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
    ) -> Result<Option<Item>, RowError> {
        self.get_item(table, owner, id).await
    }

    async fn write_update(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        item: &Item,
        patch: Row,
        internal: bool,
        keep_internal: bool,
    ) -> Result<Row, RowError> {
        let current = from_item(table, item);
        let version = item.i64(VERSION_ATTR).unwrap_or(0);
        let mut row = current.clone();
        for (name, value) in patch {
            let column = table
                .column(&name)
                .ok_or_else(|| RowError::UnknownField(name.clone()))?;
            let immutable = column.primary_key
                || matches!(table.scope, Scope::Owner(c) | Scope::OwnerOf(c) if c == name);
            if immutable && !internal && current.get(&name) != Some(&value) {
                return Err(invalid(&name, "cannot be changed"));
            }
            let value = coerce(column, value)?;
            if value.is_null() && (column.not_null || column.primary_key) {
                return Err(invalid(&name, "is required"));
            }
            row.insert(name, value);
        }
        self.stamp_updated_at(table, &mut row);
        let owner = item_owner(table, item).or(owner.map(str::to_owned));
        let layout = Self::layout(table);
        let (key, mut new_item) = to_item(layout, owner.as_deref(), &row, version + 1)?;
        if layout::WORK_QUEUE_TABLES.contains(&table.name) {
            for name in layout::WORK_ATTRIBUTES {
                if let Some(value) = item.get(name) {
                    new_item.set(name, value.clone());
                }
            }
        }
        if keep_internal {
            for (name, value) in &item.0 {
                let written_here = [VERSION_ATTR, TABLE_ATTR, OWNER_ATTR, ROWID];
                if name.starts_with('_') && !written_here.contains(&name.as_str()) {
                    new_item.set(name.clone(), value.clone());
                }
            }
        }
        let guard = unchanged_since(item);
        let mut ops = vec![WriteOp::Put {
            item: new_item,
            condition: Some(guard),
        }];
        let mut guards = vec![Guard::Row];
        self.constraint_ops(
            table,
            owner.as_deref(),
            &key,
            &row,
            Some(&current),
            &mut ops,
            &mut guards,
        );
        match self.store.transact_write(ops).await {
            Ok(()) => Ok(row),
            Err(StoreError::ConditionFailed { index: Some(0) }) => Err(RowError::Concurrent),
            Err(e) => Err(explain(table, &guards, e)),
        }
    }

    /// Deletes a row after carrying out every ON DELETE action of the rows that reference
    /// it, children first: a crash part-way leaves the parent in place, and deleting again
    /// finishes the work.
    pub async fn delete(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
    ) -> Result<(), RowError> {
        self.delete_with(table, owner, id, Vec::new()).await
    }

    /// Deletes a row; `extra` actions are written with the row's own deletion.
    pub async fn delete_with(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        extra: Vec<Extra>,
    ) -> Result<(), RowError> {
        let item = self
            .get_item(table, owner, id)
            .await?
            .ok_or(RowError::NotFound)?;
        self.delete_item(table, item, extra).await
    }

    fn delete_item<'a>(
        &'a self,
        table: &'static Table,
        item: Item,
        extra: Vec<Extra>,
    ) -> futures::future::BoxFuture<'a, Result<(), RowError>> {
        Box::pin(async move {
            let row = from_item(table, &item);
            let pk_column = table.primary_key().map(|c| c.name);
            // Children of an owned row are the same owner's (rows never point across
            // tenants): only those are touched, even if a global index lists others.
            let parent_owner = match table.name {
                "profiles" => None,
                _ => item_owner(table, &item),
            };
            if let Some(id) = pk_column.and_then(|c| row.get(c)).and_then(Value::as_str) {
                for (child, fk) in schema::referencing(table.name) {
                    self.apply_on_delete_within(child, fk, id, parent_owner.as_deref())
                        .await?;
                }
                if table.name == "profiles" {
                    // profiles.id is the user: rows keyed to auth.users go with it too.
                    for (child, fk) in schema::referencing(schema::AUTH_USERS) {
                        if child.name != "profiles" {
                            self.apply_on_delete(child, fk, id).await?;
                        }
                    }
                }
            }
            let key = item.key()?;
            let mut ops = vec![WriteOp::delete(key)];
            for unique in table.uniques {
                if let Some(unique_key) = layout::unique_key(unique, &row) {
                    ops.push(WriteOp::delete(unique_key));
                }
            }
            let mut guards: Vec<Guard> = ops.iter().map(|_| Guard::Row).collect();
            for Extra { op, on_failure } in extra {
                ops.push(op);
                guards.push(Guard::Extra(on_failure));
            }
            self.store
                .transact_write(ops)
                .await
                .map_err(|e| explain(table, &guards, e))?;
            Ok(())
        })
    }

    /// Carries out the ON DELETE action of `child.fk` for a deleted user (`auth.users` or a
    /// profile), whose rows may be anyone's.
    pub async fn apply_on_delete(
        &self,
        child: &'static Table,
        fk: &schema::ForeignKey,
        parent_id: &str,
    ) -> Result<(), RowError> {
        self.apply_on_delete_within(child, fk, parent_id, None)
            .await
    }

    /// Carries out the ON DELETE action of `child.fk` for a deleted parent; with
    /// `parent_owner`, only on children kept for that owner (and shared ones).
    async fn apply_on_delete_within(
        &self,
        child: &'static Table,
        fk: &schema::ForeignKey,
        parent_id: &str,
        parent_owner: Option<&str>,
    ) -> Result<(), RowError> {
        if fk.on_delete == OnDelete::NoAction {
            return Ok(());
        }
        loop {
            let children = self
                .children(child, fk.column, parent_id, parent_owner)
                .await?;
            if children.is_empty() {
                return Ok(());
            }
            let mut progressed = false;
            for item in children {
                match fk.on_delete {
                    OnDelete::Cascade => {
                        self.delete_item(child, item, Vec::new()).await?;
                        progressed = true;
                    }
                    OnDelete::SetNull => {
                        let owner = item_owner(child, &item);
                        let mut patch = Row::new();
                        patch.insert(fk.column.to_owned(), Value::Null);
                        match self
                            .write_update(child, owner.as_deref(), &item, patch, true, true)
                            .await
                        {
                            Ok(_) | Err(RowError::Concurrent) => progressed = true,
                            Err(e) => return Err(e),
                        }
                    }
                    OnDelete::NoAction => return Ok(()),
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    /// One page of the rows of `table` whose `column` holds `parent_id` (of `owner`'s rows
    /// and shared ones only, when an owner is given).
    async fn children(
        &self,
        table: &'static Table,
        column: &str,
        parent_id: &str,
        owner: Option<&str>,
    ) -> Result<Vec<Item>, RowError> {
        const PAGE: u32 = 100;
        let query = match table.scope {
            Scope::Owner(owner_column) if owner_column == column => {
                Query::partition(Index::Table, layout::owner_partition(parent_id))
                    .sort(SortCondition::BeginsWith(format!("{}#", table.name)))
            }
            _ => {
                let layout = Self::layout(table);
                let index = layout
                    .indexes
                    .iter()
                    .find(|i| {
                        i.filter.is_none()
                            && !i.owner_prefixed
                            && i.equality.first().map(|p| p.column()) == Some(column)
                    })
                    .ok_or_else(|| {
                        StoreError::Invalid(format!("{}.{column} has no access path", table.name))
                    })?;
                Query::partition(
                    index.gsi,
                    format!("{}#{}", index.name, layout::segment(parent_id)),
                )
            }
        };
        let page = self.store.query(query.limit(PAGE)).await?;
        let mut items: Vec<Item> = page
            .items
            .into_iter()
            .filter(|i| i.str(TABLE_ATTR) == Some(table.name))
            .filter(|i| owned_by(table, i, owner))
            .collect();
        // A SET NULL child keeps matching a stale (eventually consistent) index entry: re-read
        // each one from the table and keep only those still pointing at the parent.
        let mut fresh = Vec::with_capacity(items.len());
        for item in items.drain(..) {
            let key = item.key()?;
            if let Some(current) = self.store.get(&key).await?
                && current.str(column) == Some(parent_id)
            {
                fresh.push(current);
            }
        }
        Ok(fresh)
    }

    /// Finds the row a uniqueness constraint maps the given row values to.
    pub async fn find_unique(
        &self,
        table: &'static Table,
        unique: &Unique,
        values: &Row,
    ) -> Result<Option<Row>, RowError> {
        Ok(self
            .find_unique_item(unique, values)
            .await?
            .map(|item| from_item(table, &item)))
    }

    /// The item a uniqueness item points at, if both exist.
    async fn find_unique_item(
        &self,
        unique: &Unique,
        values: &Row,
    ) -> Result<Option<Item>, RowError> {
        let Some(key) = layout::unique_key(unique, values) else {
            return Ok(None);
        };
        let Some(pointer) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let (Some(pk), Some(sk)) = (pointer.str("row_pk"), pointer.str("row_sk")) else {
            return Ok(None);
        };
        Ok(self.store.get(&Key::new(pk, sk)).await?)
    }

    /// Like [`Rows::find_unique`], for a row that must be `owner`'s: a uniqueness item keyed by
    /// a foreign key is global, the row it points at may not be.
    pub async fn find_unique_of(
        &self,
        table: &'static Table,
        unique: &Unique,
        values: &Row,
        owner: &str,
    ) -> Result<Option<Row>, RowError> {
        Ok(self
            .find_unique_item(unique, values)
            .await?
            .filter(|item| owned_by(table, item, Some(owner)))
            .map(|item| from_item(table, &item)))
    }

    /// The actions that add to counter columns of the row a unique tuple identifies, creating
    /// the row (with its defaults and its uniqueness item) when it does not exist yet. The row
    /// id is derived from the tuple (UUID v5), so concurrent first increments land on the same
    /// item. `limit` guards the add: the column may not pass the maximum. The first action is
    /// the row's; compose the rest into a larger transaction as needed.
    pub fn counter_ops(
        &self,
        table: &'static Table,
        unique: &Unique,
        identity: Row,
        add: &[(&str, i64)],
        limit: Option<(&str, i64)>,
    ) -> Result<(Key, Vec<WriteOp>), RowError> {
        let mut name = table.name.to_owned();
        for part in unique.parts {
            name.push('\0');
            name.push_str(
                &identity
                    .get(part.column())
                    .map(Value::to_string)
                    .unwrap_or_default(),
            );
        }
        let id = uuid::Uuid::new_v5(&COUNTER_NAMESPACE, name.as_bytes());
        let mut seed = identity;
        seed.insert("id".into(), Value::String(id.to_string()));
        let now = self.clock.now();
        let row = prepare_new(table, seed, now)?;
        let owner = owner_of(table, &row, None).map(str::to_owned);
        let layout = Self::layout(table);
        let (key, item) = to_item(layout, owner.as_deref(), &row, 1)?;
        let counters: Vec<&str> = add.iter().map(|(c, _)| *c).collect();
        let mut update = Update::new();
        for (attribute, value) in &item.0 {
            let skip = attribute == scaliyo_store::table::PK
                || attribute == scaliyo_store::table::SK
                || attribute == VERSION_ATTR
                || attribute == "updated_at"
                || counters.contains(&attribute.as_str());
            if !skip {
                update = update.set_if_absent(attribute.clone(), value.clone());
            }
        }
        for (column, amount) in add {
            update = update.add(*column, *amount);
        }
        // Bumping the version makes a concurrent full-row update retry instead of overwriting.
        update = update.add(VERSION_ATTR, 1);
        if table.has_updated_at() {
            update = update.set("updated_at", timestamp_text(now));
        }
        let condition = limit.map(|(column, max)| {
            let amount = add
                .iter()
                .find(|(c, _)| *c == column)
                .map(|(_, a)| *a)
                .unwrap_or(0);
            Condition::NotExists(column.into()).or(Condition::cmp(
                column,
                scaliyo_store::CmpOp::Le,
                max - amount,
            ))
        });
        let mut ops = vec![WriteOp::Update {
            key: key.clone(),
            update,
            condition,
        }];
        if let Some(unique_key) = layout::unique_key(unique, &row) {
            let pointer = Update::new()
                .set_if_absent("row_pk", key.pk.clone())
                .set_if_absent("row_sk", key.sk.clone())
                .set_if_absent(TABLE_ATTR, table.name);
            let ours =
                Condition::NotExists("row_pk".into()).or(Condition::eq("row_pk", key.pk.as_str())
                    .and(Condition::eq("row_sk", key.sk.as_str())));
            ops.push(WriteOp::Update {
                key: unique_key,
                update: pointer,
                condition: Some(ours),
            });
        }
        Ok((key, ops))
    }

    /// Adds to counters of one row (see [`Rows::counter_ops`]) and returns the row after.
    pub async fn upsert_counter(
        &self,
        table: &'static Table,
        unique: &Unique,
        identity: Row,
        add: &[(&'static str, i64)],
        limit: Option<(&'static str, i64, RowError)>,
    ) -> Result<Row, RowError> {
        let (key, ops) = self.counter_ops(
            table,
            unique,
            identity,
            add,
            limit.as_ref().map(|(c, m, _)| (*c, *m)),
        )?;
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { index: Some(0) }) => {
                return Err(limit.map(|(_, _, e)| e).unwrap_or(RowError::Concurrent));
            }
            Err(StoreError::ConditionFailed { index: Some(1) }) => {
                // A row with this tuple was created through the REST API with its own id.
                return Err(RowError::Conflict {
                    constraint: unique.name.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        let item = self.store.get(&key).await?.ok_or(RowError::Concurrent)?;
        Ok(from_item(table, &item))
    }
}

/// Namespace of the derived ids of counter rows.
const COUNTER_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5ca1_1e00_c0de_4000_8000_0000_0000_0001);
