//! `DynamoTable`: the `Table` port on Amazon DynamoDB (and on DynamoDB Local). Conditions and
//! updates arrive as values and are turned into expressions with placeholder names and
//! values here, so no caller ever writes an expression string.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::capacity::CapacityMeter;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, ConsumedCapacity, Delete,
    DeleteRequest, GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection,
    ProjectionType, Put, PutRequest, ReturnConsumedCapacity, ReturnValue, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update as DynamoUpdate, WriteRequest,
};
use scaliyo_store::table::{
    MAX_BATCH_WRITE_ITEMS, PK, SK, TTL, at_caller_index, check_item, check_key, check_transaction,
    coalesce_adds,
};
use scaliyo_store::{
    BatchOp, CmpOp, Condition, Cursor, Index, Item, Key, Number, Page, Query, SortCondition,
    StoreError, Table, Update, Value, WriteOp,
};

#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table_name: String,
    /// Set: every request asks for its consumed capacity and adds it here.
    capacity: Option<Arc<CapacityMeter>>,
}

impl DynamoTable {
    /// A Query of `query`'s partition and sort condition (strongly consistent on the table,
    /// on its GSI otherwise) — what a page read and a count share.
    fn keyed_query(
        &self,
        query: &Query,
    ) -> Result<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder, StoreError> {
        if query.partition.is_empty() {
            return Err(StoreError::Invalid("a query needs a partition key".into()));
        }
        let (pk_name, sk_name) = query.index.key_attributes();
        let mut expression = Expression::default();
        let pk = expression.name(pk_name);
        let mut key_condition = format!(
            "{pk} = {}",
            expression.value(AttributeValue::S(query.partition.clone()))
        );
        if let Some(sort) = &query.sort {
            let sk = expression.name(sk_name);
            let mut v = |text: &str| expression.value(AttributeValue::S(text.to_owned()));
            let clause = match sort {
                SortCondition::Eq(x) => format!("{sk} = {}", v(x)),
                SortCondition::Lt(x) => format!("{sk} < {}", v(x)),
                SortCondition::Le(x) => format!("{sk} <= {}", v(x)),
                SortCondition::Gt(x) => format!("{sk} > {}", v(x)),
                SortCondition::Ge(x) => format!("{sk} >= {}", v(x)),
                SortCondition::Between(low, high) => {
                    let low = v(low);
                    format!("{sk} BETWEEN {low} AND {}", v(high))
                }
                SortCondition::BeginsWith(prefix) => format!("begins_with({sk}, {})", v(prefix)),
            };
            key_condition.push_str(" AND ");
            key_condition.push_str(&clause);
        }
        let request = self
            .client
            .query()
            .table_name(&self.table_name)
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(expression.names())
            .set_expression_attribute_values(expression.values())
            .set_return_consumed_capacity(self.capacity_request());
        Ok(match query.index {
            Index::Table => request.consistent_read(true),
            index => request.index_name(index.name()),
        })
    }

    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table_name: table_name.into(),
            capacity: None,
        }
    }

    /// Measures the capacity units DynamoDB reports for this adapter's requests.
    pub fn with_capacity_meter(mut self, meter: Arc<CapacityMeter>) -> Self {
        self.capacity = Some(meter);
        self
    }

    fn capacity_request(&self) -> Option<ReturnConsumedCapacity> {
        self.capacity
            .as_ref()
            .and_then(|_| CapacityMeter::request())
    }

    fn record_reads<'a>(&self, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        if let Some(meter) = &self.capacity {
            meter.record(consumed, false);
        }
    }

    fn record_writes<'a>(&self, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        if let Some(meter) = &self.capacity {
            meter.record(consumed, true);
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

// ---------------------------------------------------------------------------------------
// Values

pub fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_wire()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::B(bytes) => AttributeValue::B(Blob::new(bytes.clone())),
        Value::L(items) => AttributeValue::L(items.iter().map(to_attribute).collect()),
        Value::M(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), to_attribute(v)))
                .collect(),
        ),
    }
}

pub fn from_attribute(attribute: &AttributeValue) -> Result<Value, StoreError> {
    Ok(match attribute {
        AttributeValue::S(s) => Value::S(s.clone()),
        AttributeValue::N(n) => Value::N(
            Number::parse_wire(n)
                .ok_or_else(|| StoreError::Unavailable(format!("bad number {n:?}")))?,
        ),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(blob) => Value::B(blob.as_ref().to_vec()),
        AttributeValue::L(items) => {
            Value::L(items.iter().map(from_attribute).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(map) => Value::M(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_attribute(v)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        AttributeValue::Ss(strings) => Value::L(strings.iter().cloned().map(Value::S).collect()),
        AttributeValue::Ns(numbers) => Value::L(
            numbers
                .iter()
                .filter_map(|n| Number::parse_wire(n))
                .map(Value::N)
                .collect(),
        ),
        other => {
            return Err(StoreError::Unavailable(format!(
                "unsupported attribute type {other:?}"
            )));
        }
    })
}

fn to_attributes(item: &Item) -> HashMap<String, AttributeValue> {
    item.0
        .iter()
        .map(|(k, v)| (k.clone(), to_attribute(v)))
        .collect()
}

fn from_attributes(map: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let mut attributes = BTreeMap::new();
    for (name, value) in map {
        attributes.insert(name.clone(), from_attribute(value)?);
    }
    Ok(Item(attributes))
}

fn key_attributes(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

// ---------------------------------------------------------------------------------------
// Expressions

/// Collects placeholder names (`#n0`) and values (`:v0`) while rendering an expression.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, attribute: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| a.as_str() == attribute) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn condition(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::Exists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::NotExists(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::Cmp(a, op, v) => {
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "<>",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                let name = self.name(a);
                format!("{name} {op} {}", self.value(to_attribute(v)))
            }
            Condition::Between(a, low, high) => {
                let name = self.name(a);
                let low = self.value(to_attribute(low));
                format!(
                    "{name} BETWEEN {low} AND {}",
                    self.value(to_attribute(high))
                )
            }
            Condition::BeginsWith(a, prefix) => {
                let name = self.name(a);
                format!(
                    "begins_with({name}, {})",
                    self.value(AttributeValue::S(prefix.clone()))
                )
            }
            Condition::And(all) if all.is_empty() => {
                self.condition(&Condition::item_exists().or(Condition::item_absent()))
            }
            Condition::Or(any) if any.is_empty() => {
                self.condition(&Condition::item_exists().and(Condition::item_absent()))
            }
            Condition::And(all) => all
                .iter()
                .map(|c| format!("({})", self.condition(c)))
                .collect::<Vec<_>>()
                .join(" AND "),
            Condition::Or(any) => any
                .iter()
                .map(|c| format!("({})", self.condition(c)))
                .collect::<Vec<_>>()
                .join(" OR "),
            Condition::Not(inner) => format!("NOT ({})", self.condition(inner)),
        }
    }

    fn update(&mut self, update: &Update) -> String {
        let mut sets = Vec::new();
        for (a, v) in &update.set {
            let name = self.name(a);
            sets.push(format!("{name} = {}", self.value(to_attribute(v))));
        }
        for (a, v) in &update.set_if_absent {
            let name = self.name(a);
            sets.push(format!(
                "{name} = if_not_exists({name}, {})",
                self.value(to_attribute(v))
            ));
        }
        let mut clauses = Vec::new();
        if !sets.is_empty() {
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !update.remove.is_empty() {
            let names: Vec<String> = update.remove.iter().map(|a| self.name(a)).collect();
            clauses.push(format!("REMOVE {}", names.join(", ")));
        }
        if !update.add.is_empty() {
            let adds: Vec<String> = update
                .add
                .iter()
                .map(|(a, by)| {
                    let name = self.name(a);
                    format!("{name} {}", self.value(AttributeValue::N(by.to_wire())))
                })
                .collect();
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

// ---------------------------------------------------------------------------------------
// Errors

/// Maps an SDK error by the service's error code into the port's typed errors.
fn map_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> StoreError {
    match &error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let message = err.message().unwrap_or_default().to_owned();
            match err.code() {
                Some("ConditionalCheckFailedException") => {
                    StoreError::ConditionFailed { index: Some(0) }
                }
                Some("TransactionConflictException") => StoreError::TransactionConflict,
                Some(
                    "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded",
                ) => StoreError::Throttled,
                Some("ResourceNotFoundException") => StoreError::NotFound(message),
                Some("ValidationException" | "ItemCollectionSizeLimitExceededException") => {
                    StoreError::Invalid(message)
                }
                Some(code) => StoreError::Unavailable(format!("{code}: {message}")),
                None => StoreError::Unavailable(format!("{error:?}")),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{error:?}"))
        }
        _ => StoreError::Invalid(format!("{error:?}")),
    }
}

fn map_transaction_error(
    error: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError {
    if let SdkError::ServiceError(service) = &error
        && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
    {
        for (index, reason) in cancelled.cancellation_reasons().iter().enumerate() {
            match reason.code() {
                Some("ConditionalCheckFailed") => {
                    return StoreError::ConditionFailed { index: Some(index) };
                }
                Some("TransactionConflict") => return StoreError::TransactionConflict,
                Some("ThrottlingError" | "ProvisionedThroughputExceeded") => {
                    return StoreError::Throttled;
                }
                Some("ValidationError") => {
                    return StoreError::Invalid(
                        reason.message().unwrap_or("validation error").to_owned(),
                    );
                }
                _ => {}
            }
        }
        return StoreError::TransactionConflict;
    }
    map_error(error)
}

fn build_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(error.to_string())
}

// ---------------------------------------------------------------------------------------
// Writes

/// The pauses before each new attempt of a transaction refused for a conflict: exponential
/// with full jitter (AWS's advice for contended items): 8 attempts with at most 1.27 s of
/// pauses in all, after which the conflict goes to the caller, whose own retry policy applies.
#[derive(Default)]
struct ConflictPauses {
    attempts: u32,
}

impl ConflictPauses {
    const RETRIES: u32 = 7;
    const BASE: Duration = Duration::from_millis(10);
    const CAP: Duration = Duration::from_millis(640);
}

impl Iterator for ConflictPauses {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.attempts >= Self::RETRIES {
            return None;
        }
        let ceiling = Self::BASE.saturating_mul(1 << self.attempts).min(Self::CAP);
        self.attempts += 1;
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(rand::random_range(0..=ceiling_ms)))
    }
}

/// Sends a write until DynamoDB stops refusing it for a conflict, pausing between attempts
/// ([`ConflictPauses`]); any other outcome is returned at once. Conflicts are expected, not
/// exceptional: every write of an owner's rows adds to that owner's tallies and contacts
/// counter, and DynamoDB refuses concurrent transactions on one item (and single writes to an
/// item in one) rather than queueing them. A refused write was not made, so sending it again
/// is safe.
async fn sent_until_no_conflict<T, F, Fut>(mut send: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut pauses = ConflictPauses::default();
    loop {
        match send().await {
            Err(StoreError::TransactionConflict) => match pauses.next() {
                Some(pause) => tokio::time::sleep(pause).await,
                None => return Err(StoreError::TransactionConflict),
            },
            done => return done,
        }
    }
}

impl DynamoTable {
    fn transact_item(&self, op: &WriteOp) -> Result<TransactWriteItem, StoreError> {
        let mut expression = Expression::default();
        let condition = op.condition().map(|c| expression.condition(c));
        Ok(match op {
            WriteOp::Put { item, .. } => TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table_name)
                        .set_item(Some(to_attributes(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expression.names())
                        .set_expression_attribute_values(expression.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
            WriteOp::Update { key, update, .. } => {
                let update_expression = expression.update(update);
                TransactWriteItem::builder()
                    .update(
                        DynamoUpdate::builder()
                            .table_name(&self.table_name)
                            .set_key(Some(key_attributes(key)))
                            .update_expression(update_expression)
                            .set_condition_expression(condition)
                            .set_expression_attribute_names(expression.names())
                            .set_expression_attribute_values(expression.values())
                            .build()
                            .map_err(build_error)?,
                    )
                    .build()
            }
            WriteOp::Delete { key, .. } => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table_name)
                        .set_key(Some(key_attributes(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expression.names())
                        .set_expression_attribute_values(expression.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
            WriteOp::ConditionCheck { key, .. } => TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table_name)
                        .set_key(Some(key_attributes(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expression.names())
                        .set_expression_attribute_values(expression.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        })
    }

    /// A single action without the transaction API (half the write cost).
    async fn write_one(&self, op: WriteOp) -> Result<(), StoreError> {
        let mut expression = Expression::default();
        let condition = op.condition().map(|c| expression.condition(c));
        match op {
            WriteOp::Put { item, .. } => {
                let output = self
                    .client
                    .put_item()
                    .table_name(&self.table_name)
                    .set_item(Some(to_attributes(&item)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expression.names())
                    .set_expression_attribute_values(expression.values())
                    .set_return_consumed_capacity(self.capacity_request())
                    .send()
                    .await
                    .map_err(map_error)?;
                self.record_writes(output.consumed_capacity());
            }
            WriteOp::Update {
                key,
                update,
                condition: c,
            } => {
                self.update(&key, update, c).await?;
            }
            WriteOp::Delete { key, .. } => {
                let output = self
                    .client
                    .delete_item()
                    .table_name(&self.table_name)
                    .set_key(Some(key_attributes(&key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expression.names())
                    .set_expression_attribute_values(expression.values())
                    .set_return_consumed_capacity(self.capacity_request())
                    .send()
                    .await
                    .map_err(map_error)?;
                self.record_writes(output.consumed_capacity());
            }
            WriteOp::ConditionCheck { .. } => {
                // A lone condition check is a transaction of one: there is no single-item API.
                let item = self.transact_item(&op)?;
                let output = self
                    .client
                    .transact_write_items()
                    .transact_items(item)
                    .set_return_consumed_capacity(self.capacity_request())
                    .send()
                    .await
                    .map_err(map_transaction_error)?;
                self.record_writes(output.consumed_capacity());
            }
        }
        Ok(())
    }
}

fn now_epoch() -> i64 {
    chrono::Utc::now().timestamp()
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .set_return_consumed_capacity(self.capacity_request())
            .send()
            .await
            .map_err(map_error)?;
        self.record_reads(output.consumed_capacity());
        match output.item() {
            Some(map) => {
                let item = from_attributes(map)?;
                // TTL deletion is lazy: an expired item may still be returned.
                Ok((!item.is_expired(now_epoch())).then_some(item))
            }
            None => Ok(None),
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.len() > scaliyo_store::table::MAX_BATCH_GET {
            return Err(StoreError::Invalid(format!(
                "a batch get reads at most {} keys",
                scaliyo_store::table::MAX_BATCH_GET
            )));
        }
        for key in keys {
            check_key(key)?;
        }
        // BatchGetItem refuses repeated keys: ask for each once, answer every position.
        let mut unique: Vec<&Key> = Vec::new();
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        let mut found: std::collections::HashMap<(String, String), Item> =
            std::collections::HashMap::new();
        let mut pending: Vec<HashMap<String, AttributeValue>> =
            unique.iter().map(|k| key_attributes(k)).collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table_name, request)
                .set_return_consumed_capacity(self.capacity_request())
                .send()
                .await
                .map_err(map_error)?;
            self.record_reads(output.consumed_capacity());
            let now = now_epoch();
            for map in output
                .responses()
                .and_then(|r| r.get(&self.table_name))
                .into_iter()
                .flatten()
            {
                let item = from_attributes(map)?;
                if item.is_expired(now) {
                    continue;
                }
                let key = item.key()?;
                found.insert((key.pk, key.sk), item);
            }
            // Throttled keys come back unprocessed: retry them with backoff.
            if let Some(left) = output
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table_name))
                .map(|k| k.keys().to_vec())
                .filter(|k| !k.is_empty())
            {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Throttled);
                }
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6))).await;
                pending = left;
            }
        }
        Ok(keys
            .iter()
            .map(|k| found.get(&(k.pk.clone(), k.sk.clone())).cloned())
            .collect())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let start = match &query.cursor {
            Some(cursor) => Some(
                cursor
                    .decode()?
                    .into_iter()
                    .map(|(k, v)| (k, AttributeValue::S(v)))
                    .collect::<HashMap<_, _>>(),
            ),
            None => None,
        };
        let output = self
            .keyed_query(&query)?
            .scan_index_forward(query.forward)
            .set_limit(query.limit.map(|l| l as i32))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(map_error)?;
        self.record_reads(output.consumed_capacity());
        let now = now_epoch();
        let mut items = Vec::with_capacity(output.items().len());
        for map in output.items() {
            let item = from_attributes(map)?;
            if !item.is_expired(now) {
                items.push(item);
            }
        }
        let next = match output.last_evaluated_key() {
            Some(last) => {
                let mut key = BTreeMap::new();
                for (name, value) in last {
                    if let AttributeValue::S(s) = value {
                        key.insert(name.clone(), s.clone());
                    }
                }
                Some(Cursor::encode(&key))
            }
            None => None,
        };
        Ok(Page { items, next })
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        let mut counted = 0u64;
        let mut start = None;
        loop {
            let output = self
                .keyed_query(&query)?
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_error)?;
            self.record_reads(output.consumed_capacity());
            counted += u64::try_from(output.count()).unwrap_or(0);
            match output.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => return Ok(counted),
            }
        }
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let (ops, origin) = coalesce_adds(ops);
        check_transaction(&ops)?;
        if ops.len() == 1 {
            let op = ops
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::Invalid("empty transaction".into()))?;
            return sent_until_no_conflict(|| self.write_one(op.clone()))
                .await
                .map_err(|e| at_caller_index(e, &origin));
        }
        let items = ops
            .iter()
            .map(|op| self.transact_item(op))
            .collect::<Result<Vec<_>, _>>()?;
        let output = sent_until_no_conflict(|| async {
            self.client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .set_return_consumed_capacity(self.capacity_request())
                .send()
                .await
                .map_err(|e| at_caller_index(map_transaction_error(e), &origin))
        })
        .await?;
        self.record_writes(output.consumed_capacity());
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        check_transaction(&[WriteOp::Update {
            key: key.clone(),
            update: update.clone(),
            condition: None,
        }])?;
        let mut expression = Expression::default();
        let update_expression = expression.update(&update);
        let condition = condition.map(|c| expression.condition(&c));
        let output = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(key_attributes(key)))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expression.names())
            .set_expression_attribute_values(expression.values())
            .return_values(ReturnValue::AllNew)
            .set_return_consumed_capacity(self.capacity_request())
            .send()
            .await
            .map_err(map_error)?;
        self.record_writes(output.consumed_capacity());
        let attributes = output
            .attributes()
            .ok_or_else(|| StoreError::Unavailable("update returned no item".into()))?;
        from_attributes(attributes)
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        for chunk in ops.chunks(MAX_BATCH_WRITE_ITEMS) {
            let mut requests = Vec::with_capacity(chunk.len());
            for op in chunk {
                requests.push(match op {
                    BatchOp::Put(item) => {
                        check_item(item)?;
                        WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(to_attributes(item)))
                                    .build()
                                    .map_err(build_error)?,
                            )
                            .build()
                    }
                    BatchOp::Delete(key) => {
                        check_key(key)?;
                        WriteRequest::builder()
                            .delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(key_attributes(key)))
                                    .build()
                                    .map_err(build_error)?,
                            )
                            .build()
                    }
                });
            }
            // BatchWriteItem is not atomic: whatever comes back unprocessed is retried with
            // exponential backoff until it is written or the attempts run out.
            let mut pending = HashMap::from([(self.table_name.clone(), requests)]);
            let mut delay = Duration::from_millis(25);
            for attempt in 0.. {
                let output = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .set_return_consumed_capacity(self.capacity_request())
                    .send()
                    .await
                    .map_err(map_error)?;
                self.record_writes(output.consumed_capacity());
                match output.unprocessed_items() {
                    Some(left) if left.values().any(|r| !r.is_empty()) => {
                        if attempt >= 8 {
                            return Err(StoreError::Throttled);
                        }
                        pending = left.clone();
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }
}

/// Creates the single table with its key schema, the four overloaded GSIs and TTL, as
/// `infra/template.yaml` declares it; used for DynamoDB Local and tests. Idempotent.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let string_attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(build_error)
    };
    let mut attributes = vec![string_attribute(PK)?, string_attribute(SK)?];
    let mut indexes = Vec::new();
    for index in Index::GSIS {
        let (pk, sk) = index.key_attributes();
        attributes.push(string_attribute(pk)?);
        attributes.push(string_attribute(sk)?);
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name())
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        );
    }
    let created = client
        .create_table()
        .table_name(table_name)
        .set_attribute_definitions(Some(attributes))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
        Err(e) => return Err(map_error(e)),
    }
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(map_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_pauses_stay_under_their_growing_ceiling_and_run_out() {
        let pauses: Vec<Duration> = ConflictPauses::default().collect();
        assert_eq!(pauses.len(), 7);
        for (attempt, pause) in pauses.iter().enumerate() {
            let ceiling = Duration::from_millis(10 << attempt).min(ConflictPauses::CAP);
            assert!(*pause <= ceiling, "pause {attempt} was {pause:?}");
        }
    }
}
