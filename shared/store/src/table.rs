//! The `Table` port: one single-table key-value store with ordered sort keys, sparse global
//! secondary indexes, conditional writes and transactions — the subset of DynamoDB this
//! system needs, as Rust values rather than expression strings.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Attribute names of the primary key and of the overloaded GSIs.
pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// Attribute holding an epoch-seconds expiry; DynamoDB's TTL deletes lazily, so readers
/// of both backends must also treat an expired item as absent.
pub const TTL: &str = "expires_at_epoch";

/// DynamoDB's limits, enforced by both backends alike.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Keys of one `batch_get` (DynamoDB's BatchGetItem limit).
pub const MAX_BATCH_GET: usize = 100;
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// A number as DynamoDB keeps it: integers stay exact, anything else is a float.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            Number::Float(_) => None,
        }
    }

    pub fn checked_add(self, other: Number) -> Option<Number> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a.checked_add(b).map(Number::Int),
            (a, b) => Some(Number::Float(a.as_f64() + b.as_f64())),
        }
    }

    /// The decimal text DynamoDB's wire format uses.
    pub fn to_wire(self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => {
                let text = f.to_string();
                if text.contains(['.', 'e', 'E']) {
                    text
                } else {
                    format!("{text}.0")
                }
            }
        }
    }

    pub fn parse_wire(text: &str) -> Option<Number> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        let f = text.parse::<f64>().ok()?;
        if f.is_finite() {
            Some(Number::Float(f))
        } else {
            None
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        Number::Int(value)
    }
}

/// An attribute value. Strings compare by UTF-8 bytes, as DynamoDB compares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    S(String),
    N(Number),
    Bool(bool),
    Null,
    B(Vec<u8>),
    L(Vec<Value>),
    M(BTreeMap<String, Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Ordering between strings, numbers or binaries of the same type; equality for the rest;
    /// `None` otherwise (DynamoDB's comparisons are false across types).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Value::N(a), Value::N(b)) => a.partial_cmp(b),
            (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
            // Booleans, nulls, lists and maps only compare for (in)equality.
            (a, b) if a == b => Some(Ordering::Equal),
            _ => None,
        }
    }

    /// Converts from JSON; numbers keep integer exactness.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::N(Number::Int(i)),
                None => Value::N(Number::Float(n.as_f64().unwrap_or(0.0))),
            },
            serde_json::Value::String(s) => Value::S(s.clone()),
            serde_json::Value::Array(items) => {
                Value::L(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::M(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::S(s) => serde_json::Value::String(s.clone()),
            Value::N(Number::Int(i)) => serde_json::Value::from(*i),
            Value::N(Number::Float(f)) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Null => serde_json::Value::Null,
            Value::B(bytes) => serde_json::Value::String(URL_SAFE_NO_PAD.encode(bytes)),
            Value::L(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
            Value::M(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::S(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::S(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::N(Number::Int(value))
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::N(Number::Float(value))
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

/// The primary key of an item: partition key and sort key, both strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// An item: named attributes, always including `PK` and `SK`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Item(pub BTreeMap<String, Value>);

impl Item {
    pub fn new(key: &Key) -> Self {
        let mut attributes = BTreeMap::new();
        attributes.insert(PK.to_owned(), Value::S(key.pk.clone()));
        attributes.insert(SK.to_owned(), Value::S(key.sk.clone()));
        Item(attributes)
    }

    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// The item's key, if it has well-formed `PK` and `SK` attributes.
    pub fn key(&self) -> Result<Key, StoreError> {
        self.key_parts().map(|(pk, sk)| Key::new(pk, sk))
    }

    /// The key's two parts, borrowed.
    pub fn key_parts(&self) -> Result<(&str, &str), StoreError> {
        match (self.str(PK), self.str(SK)) {
            (Some(pk), Some(sk)) => Ok((pk, sk)),
            _ => Err(StoreError::Invalid(
                "an item needs string PK and SK attributes".into(),
            )),
        }
    }

    /// Whether an item carrying a TTL attribute has expired at `now_epoch`.
    pub fn is_expired(&self, now_epoch: i64) -> bool {
        self.i64(TTL).is_some_and(|expires| expires <= now_epoch)
    }

    /// Size as DynamoDB counts it, closely enough to enforce the 400 KB item limit.
    pub fn approximate_size(&self) -> usize {
        fn value_size(value: &Value) -> usize {
            match value {
                Value::S(s) => s.len(),
                Value::N(n) => n.to_wire().len().div_ceil(2) + 1,
                Value::Bool(_) | Value::Null => 1,
                Value::B(b) => b.len(),
                Value::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
                Value::M(map) => {
                    3 + map
                        .iter()
                        .map(|(k, v)| 1 + k.len() + value_size(v))
                        .sum::<usize>()
                }
            }
        }
        self.0
            .iter()
            .map(|(name, value)| name.len() + value_size(value))
            .sum()
    }
}

/// The indexes a query can read: the table itself, or one of the overloaded GSIs whose key
/// attributes are `GSI<n>PK` / `GSI<n>SK`. An item appears in a GSI only while it has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
    Gsi5,
}

impl Index {
    pub const GSIS: [Index; 5] = [
        Index::Gsi1,
        Index::Gsi2,
        Index::Gsi3,
        Index::Gsi4,
        Index::Gsi5,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Index::Table => "table",
            Index::Gsi1 => "GSI1",
            Index::Gsi2 => "GSI2",
            Index::Gsi3 => "GSI3",
            Index::Gsi4 => "GSI4",
            Index::Gsi5 => "GSI5",
        }
    }

    /// Partition and sort key attribute names of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => (PK, SK),
            Index::Gsi1 => ("GSI1PK", "GSI1SK"),
            Index::Gsi2 => ("GSI2PK", "GSI2SK"),
            Index::Gsi3 => ("GSI3PK", "GSI3SK"),
            Index::Gsi4 => ("GSI4PK", "GSI4SK"),
            Index::Gsi5 => ("GSI5PK", "GSI5SK"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn holds(self, ordering: Option<Ordering>) -> bool {
        match (self, ordering) {
            (CmpOp::Ne, None) => true,
            (_, None) => false,
            (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
            (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
            (CmpOp::Lt, Some(o)) => o == Ordering::Less,
            (CmpOp::Le, Some(o)) => o != Ordering::Greater,
            (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
            (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        }
    }
}

/// A condition on the current state of an item (top-level attributes).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists(String),
    NotExists(String),
    Cmp(String, CmpOp, Value),
    Between(String, Value, Value),
    BeginsWith(String, String),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// The item exists (its partition key is present).
    pub fn item_exists() -> Self {
        Condition::Exists(PK.into())
    }

    /// No item has this key yet.
    pub fn item_absent() -> Self {
        Condition::NotExists(PK.into())
    }

    pub fn eq(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Cmp(attribute.into(), CmpOp::Eq, value.into())
    }

    pub fn cmp(attribute: impl Into<String>, op: CmpOp, value: impl Into<Value>) -> Self {
        Condition::Cmp(attribute.into(), op, value.into())
    }

    pub fn and(self, other: Condition) -> Self {
        match self {
            Condition::And(mut all) => {
                all.push(other);
                Condition::And(all)
            }
            first => Condition::And(vec![first, other]),
        }
    }

    pub fn or(self, other: Condition) -> Self {
        match self {
            Condition::Or(mut any) => {
                any.push(other);
                Condition::Or(any)
            }
            first => Condition::Or(vec![first, other]),
        }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Condition::Not(Box::new(self))
    }

    /// Evaluates the condition against an item (`None` when the item does not exist).
    pub fn evaluate(&self, item: Option<&Item>) -> bool {
        let attribute = |name: &str| item.and_then(|item| item.get(name));
        match self {
            Condition::Exists(name) => attribute(name).is_some(),
            Condition::NotExists(name) => attribute(name).is_none(),
            Condition::Cmp(name, op, value) => {
                op.holds(attribute(name).and_then(|current| current.compare(value)))
            }
            Condition::Between(name, low, high) => attribute(name).is_some_and(|current| {
                CmpOp::Ge.holds(current.compare(low)) && CmpOp::Le.holds(current.compare(high))
            }),
            Condition::BeginsWith(name, prefix) => attribute(name)
                .and_then(Value::as_str)
                .is_some_and(|current| current.starts_with(prefix.as_str())),
            Condition::And(all) => all.iter().all(|c| c.evaluate(item)),
            Condition::Or(any) => any.iter().any(|c| c.evaluate(item)),
            Condition::Not(inner) => !inner.evaluate(item),
        }
    }
}

/// An update expression: `SET`, `SET if_not_exists`, `REMOVE` and numeric `ADD`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    pub set_if_absent: Vec<(String, Value)>,
    pub remove: Vec<String>,
    pub add: Vec<(String, Number)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.push((attribute.into(), value.into()));
        self
    }

    pub fn set_if_absent(mut self, attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_if_absent.push((attribute.into(), value.into()));
        self
    }

    pub fn remove(mut self, attribute: impl Into<String>) -> Self {
        self.remove.push(attribute.into());
        self
    }

    pub fn add(mut self, attribute: impl Into<String>, by: impl Into<Number>) -> Self {
        self.add.push((attribute.into(), by.into()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.set_if_absent.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
    }

    /// Every attribute this update touches, for validation.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.set
            .iter()
            .map(|(a, _)| a.as_str())
            .chain(self.set_if_absent.iter().map(|(a, _)| a.as_str()))
            .chain(self.remove.iter().map(String::as_str))
            .chain(self.add.iter().map(|(a, _)| a.as_str()))
    }

    /// Applies the update to an item (or to a new item with this key), as DynamoDB does.
    pub fn apply(&self, key: &Key, current: Option<Item>) -> Result<Item, StoreError> {
        let mut item = current.unwrap_or_else(|| Item::new(key));
        for (name, value) in &self.set {
            item.set(name.clone(), value.clone());
        }
        for (name, value) in &self.set_if_absent {
            if item.get(name).is_none() {
                item.set(name.clone(), value.clone());
            }
        }
        for name in &self.remove {
            item.remove(name);
        }
        for (name, by) in &self.add {
            let next = match item.get(name) {
                None => *by,
                Some(Value::N(current)) => current.checked_add(*by).ok_or_else(|| {
                    StoreError::Invalid(format!("ADD overflows attribute {name}"))
                })?,
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "ADD needs a number in attribute {name}"
                    )));
                }
            };
            item.set(name.clone(), Value::N(next));
        }
        Ok(item)
    }
}

/// One action of a transactional write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    ConditionCheck {
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn put(item: Item) -> Self {
        WriteOp::Put {
            item,
            condition: None,
        }
    }

    pub fn put_new(item: Item) -> Self {
        WriteOp::Put {
            item,
            condition: Some(Condition::item_absent()),
        }
    }

    pub fn update(key: Key, update: Update) -> Self {
        WriteOp::Update {
            key,
            update,
            condition: None,
        }
    }

    pub fn delete(key: Key) -> Self {
        WriteOp::Delete {
            key,
            condition: None,
        }
    }

    pub fn check(key: Key, condition: Condition) -> Self {
        WriteOp::ConditionCheck { key, condition }
    }

    /// Adds (or tightens, with AND) the condition of this action.
    pub fn when(self, extra: Condition) -> Self {
        let merge = |existing: Option<Condition>| match existing {
            Some(c) => Some(c.and(extra.clone())),
            None => Some(extra.clone()),
        };
        match self {
            WriteOp::Put { item, condition } => WriteOp::Put {
                item,
                condition: merge(condition),
            },
            WriteOp::Update {
                key,
                update,
                condition,
            } => WriteOp::Update {
                key,
                update,
                condition: merge(condition),
            },
            WriteOp::Delete { key, condition } => WriteOp::Delete {
                key,
                condition: merge(condition),
            },
            WriteOp::ConditionCheck { key, condition } => WriteOp::ConditionCheck {
                key,
                condition: condition.and(extra),
            },
        }
    }

    pub fn key(&self) -> Result<Key, StoreError> {
        self.key_parts().map(|(pk, sk)| Key::new(pk, sk))
    }

    /// The key of the item acted on, borrowed.
    pub fn key_parts(&self) -> Result<(&str, &str), StoreError> {
        match self {
            WriteOp::Put { item, .. } => item.key_parts(),
            WriteOp::Update { key, .. }
            | WriteOp::Delete { key, .. }
            | WriteOp::ConditionCheck { key, .. } => Ok((&key.pk, &key.sk)),
        }
    }

    pub fn condition(&self) -> Option<&Condition> {
        match self {
            WriteOp::Put { condition, .. }
            | WriteOp::Update { condition, .. }
            | WriteOp::Delete { condition, .. } => condition.as_ref(),
            WriteOp::ConditionCheck { condition, .. } => Some(condition),
        }
    }
}

/// One action of a (non-atomic) batch write.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOp {
    Put(Item),
    Delete(Key),
}

/// A sort-key condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortCondition {
    Eq(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
    Between(String, String),
    BeginsWith(String),
}

impl SortCondition {
    pub fn matches(&self, sort_key: &str) -> bool {
        let s = sort_key.as_bytes();
        match self {
            SortCondition::Eq(v) => s == v.as_bytes(),
            SortCondition::Lt(v) => s < v.as_bytes(),
            SortCondition::Le(v) => s <= v.as_bytes(),
            SortCondition::Gt(v) => s > v.as_bytes(),
            SortCondition::Ge(v) => s >= v.as_bytes(),
            SortCondition::Between(low, high) => s >= low.as_bytes() && s <= high.as_bytes(),
            SortCondition::BeginsWith(prefix) => s.starts_with(prefix.as_bytes()),
        }
    }
}

/// An opaque continuation token. Both backends encode the last evaluated key the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

impl Cursor {
    pub fn encode(last_key: &BTreeMap<String, String>) -> Cursor {
        let json = serde_json::to_vec(last_key).unwrap_or_default();
        Cursor(URL_SAFE_NO_PAD.encode(json))
    }

    pub fn decode(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.0.as_bytes())
            .map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
        serde_json::from_slice(&bytes).map_err(|_| StoreError::Invalid("malformed cursor".into()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub partition: String,
    pub sort: Option<SortCondition>,
    pub forward: bool,
    pub limit: Option<u32>,
    pub cursor: Option<Cursor>,
}

impl Query {
    pub fn partition(index: Index, partition: impl Into<String>) -> Self {
        Self {
            index,
            partition: partition.into(),
            sort: None,
            forward: true,
            limit: None,
            cursor: None,
        }
    }

    pub fn sort(mut self, condition: SortCondition) -> Self {
        self.sort = Some(condition);
        self
    }

    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow (a page can be empty and still have one).
    pub next: Option<Cursor>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StoreError {
    /// A condition did not hold; `index` names the failing action of a transaction.
    #[error("condition failed{}", .index.map(|i| format!(" on action {i}")).unwrap_or_default())]
    ConditionFailed { index: Option<usize> },
    /// Another transaction touched the same items; retry.
    #[error("transaction conflict")]
    TransactionConflict,
    #[error("request throttled")]
    Throttled,
    /// The table (or index) itself does not exist.
    #[error("table not found: {0}")]
    NotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::TransactionConflict | StoreError::Throttled | StoreError::Unavailable(_)
        )
    }
}

/// A transaction's unconditioned numeric adds to one item merged into one action, as
/// DynamoDB needs each item once per transaction: several rows written together count into
/// the same counter item. Only pure adds are merged (their order does not matter); anything
/// else touching an item twice is left for [`check_transaction`] to refuse. `origin` maps each
/// merged action to the caller's index, so a failed condition names the caller's action.
pub fn coalesce_adds(ops: Vec<WriteOp>) -> (Vec<WriteOp>, Vec<usize>) {
    fn pure_add(op: &WriteOp) -> bool {
        matches!(op, WriteOp::Update { update, condition: None, .. }
            if update.set.is_empty()
                && update.set_if_absent.is_empty()
                && update.remove.is_empty()
                && !update.add.is_empty())
    }
    let mut merged: Vec<WriteOp> = Vec::with_capacity(ops.len());
    let mut origin = Vec::with_capacity(ops.len());
    let mut adds: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    for (index, op) in ops.into_iter().enumerate() {
        if pure_add(&op)
            && let WriteOp::Update { key, update, .. } = &op
            && let Some(&at) = adds.get(key)
            && let Some(WriteOp::Update { update: into, .. }) = merged.get_mut(at)
        {
            let mut sum = into.add.clone();
            let mut fits = true;
            for (attribute, by) in &update.add {
                match sum.iter_mut().find(|(a, _)| a == attribute) {
                    Some((_, total)) => match total.checked_add(*by) {
                        Some(next) => *total = next,
                        None => fits = false,
                    },
                    None => sum.push((attribute.clone(), *by)),
                }
            }
            if fits {
                into.add = sum;
                continue;
            }
        }
        if pure_add(&op)
            && let WriteOp::Update { key, .. } = &op
        {
            adds.entry(key.clone()).or_insert(merged.len());
        }
        merged.push(op);
        origin.push(index);
    }
    (merged, origin)
}

/// A failed condition of a coalesced transaction, reported at the caller's index.
pub fn at_caller_index(error: StoreError, origin: &[usize]) -> StoreError {
    match error {
        StoreError::ConditionFailed { index: Some(i) } => StoreError::ConditionFailed {
            index: Some(origin.get(i).copied().unwrap_or(i)),
        },
        other => other,
    }
}

/// Validates a transaction the way DynamoDB does before touching anything.
pub fn check_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() {
        return Err(StoreError::Invalid(
            "a transaction needs at least one action".into(),
        ));
    }
    if ops.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a transaction holds at most {MAX_TRANSACTION_ITEMS} actions, got {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    for op in ops {
        let (pk, sk) = op.key_parts()?;
        check_key_parts(pk, sk)?;
        if !seen.insert((pk, sk)) {
            return Err(StoreError::Invalid(format!(
                "a transaction cannot touch one item twice ({pk} / {sk})"
            )));
        }
        match op {
            WriteOp::Put { item, .. } => check_item(item)?,
            WriteOp::Update { update, .. } => {
                if update.is_empty() {
                    return Err(StoreError::Invalid(
                        "an update needs at least one clause".into(),
                    ));
                }
                if update.attributes().any(|a| a == PK || a == SK) {
                    return Err(StoreError::Invalid(
                        "an update cannot change the key".into(),
                    ));
                }
                let mut touched = std::collections::BTreeSet::new();
                if let Some(twice) = update.attributes().find(|a| !touched.insert(*a)) {
                    return Err(StoreError::Invalid(format!(
                        "an update names attribute {twice} twice"
                    )));
                }
            }
            WriteOp::Delete { .. } | WriteOp::ConditionCheck { .. } => {}
        }
    }
    Ok(())
}

pub fn check_key(key: &Key) -> Result<(), StoreError> {
    check_key_parts(&key.pk, &key.sk)
}

fn check_key_parts(pk: &str, sk: &str) -> Result<(), StoreError> {
    if pk.is_empty() || sk.is_empty() {
        return Err(StoreError::Invalid("key attributes cannot be empty".into()));
    }
    if pk.contains('\0') || sk.contains('\0') {
        return Err(StoreError::Invalid(
            "key attributes cannot contain NUL".into(),
        ));
    }
    Ok(())
}

pub fn check_item(item: &Item) -> Result<(), StoreError> {
    let (pk, sk) = item.key_parts()?;
    check_key_parts(pk, sk)?;
    for index in Index::GSIS {
        let (pk, sk) = index.key_attributes();
        for attribute in [pk, sk] {
            match item.get(attribute) {
                None | Some(Value::S(_)) => {}
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "index key {attribute} must be a string"
                    )));
                }
            }
        }
    }
    if item.approximate_size() > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid("item exceeds the 400 KB limit".into()));
    }
    Ok(())
}

/// The store port. Reads are strongly consistent on the table; GSI reads are eventually
/// consistent on DynamoDB (immediately consistent on the embedded store).
#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Strongly consistent reads of up to [`MAX_BATCH_GET`] keys in one request (DynamoDB
    /// `BatchGetItem`), answered in the order asked; repeated keys are allowed.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError>;

    async fn query(&self, query: Query) -> Result<Page, StoreError>;

    /// How many items `query` would return over all its pages (its `limit` and `cursor` are
    /// ignored) without returning them: DynamoDB's `Select=COUNT`, billed like the query.
    /// Like DynamoDB, a store may count items past their `ttl` that it has not removed yet.
    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        let mut query = Query {
            limit: None,
            cursor: None,
            ..query
        };
        let mut counted = 0;
        loop {
            let page = self.query(query.clone()).await?;
            counted += page.items.len() as u64;
            match page.next {
                Some(next) => query.cursor = Some(next),
                None => return Ok(counted),
            }
        }
    }

    /// All actions succeed together or none does.
    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// [`Table::transact_write`] for a writer whose inputs stay durable elsewhere until it
    /// calls [`Table::sync`] (a journal's consumer, which moves its position only after the
    /// sync): the store may answer before the write is on disk. Readers see it at once. A
    /// store whose every answered write is durable (DynamoDB) needs nothing more.
    async fn transact_write_unsynced(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.transact_write(ops).await
    }

    /// Returns once every write answered so far is durable.
    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// One conditional update that returns the item as it is afterwards (counters).
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError>;

    /// Puts and deletes of any number of items; not atomic, but every action is applied
    /// (unprocessed items are retried) or an error is returned.
    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError>;
}
