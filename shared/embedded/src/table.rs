//! `RedbTable`: the `Table` port on an embedded redb file. Ordered byte keys give the same
//! sort-key order as DynamoDB; every transactional write is one redb write transaction, and
//! the GSIs are maintained inside it, so an index never disagrees with the items.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, Durability, ReadableTable, TableDefinition, WriteTransaction};
use scaliyo_store::table::{
    MAX_BATCH_WRITE_ITEMS, PK, SK, at_caller_index, check_item, check_key, check_transaction,
    coalesce_adds,
};
use scaliyo_store::{
    BatchOp, Clock, Condition, Cursor, Index, Item, Key, Page, Query, SortCondition, StoreError,
    Table, Update, WriteOp,
};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const CACHE_BYTES: usize = 16 * 1024 * 1024;
const GSI1: TableDefinition<&[u8], ()> = TableDefinition::new("gsi1");
const GSI2: TableDefinition<&[u8], ()> = TableDefinition::new("gsi2");
const GSI3: TableDefinition<&[u8], ()> = TableDefinition::new("gsi3");
const GSI4: TableDefinition<&[u8], ()> = TableDefinition::new("gsi4");
const GSI5: TableDefinition<&[u8], ()> = TableDefinition::new("gsi5");

/// Separates key parts; keys are checked to contain no NUL, and NUL sorts before every other
/// byte, so all sort keys of one partition are contiguous and in DynamoDB's order.
const SEP: u8 = 0;

fn gsi_definition(index: Index) -> TableDefinition<'static, &'static [u8], ()> {
    match index {
        Index::Gsi1 | Index::Table => GSI1,
        Index::Gsi2 => GSI2,
        Index::Gsi3 => GSI3,
        Index::Gsi4 => GSI4,
        Index::Gsi5 => GSI5,
    }
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn join(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn split(bytes: &[u8]) -> Result<Vec<String>, StoreError> {
    bytes
        .split(|b| *b == SEP)
        .map(|part| String::from_utf8(part.to_vec()).map_err(unavailable))
        .collect()
}

fn item_key(key: &Key) -> Vec<u8> {
    join(&[&key.pk, &key.sk])
}

/// The first byte of an item stored as postcard (a compact binary serde format: no field
/// names or escaping to write, no text to parse). Items written before it are JSON objects
/// (`{`) and are still read.
const POSTCARD_ITEM: u8 = 1;

fn encode(item: &Item) -> Result<Vec<u8>, StoreError> {
    // Sized once: names and values plus a few bytes of tags and lengths per attribute, so
    // the buffer is not grown (and copied) a dozen times on the writer thread.
    let mut out = Vec::with_capacity(item.approximate_size() + 4 * item.0.len() + 8);
    out.push(POSTCARD_ITEM);
    postcard::to_extend(item, out).map_err(unavailable)
}

fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    match bytes.split_first() {
        Some((&POSTCARD_ITEM, rest)) => postcard::from_bytes(rest).map_err(unavailable),
        _ => serde_json::from_slice(bytes).map_err(unavailable),
    }
}

/// The GSI entries an item appears in (only where it has both key attributes).
fn gsi_entries(item: &Item) -> Vec<(Index, Vec<u8>)> {
    let Ok((item_pk, item_sk)) = item.key_parts() else {
        return Vec::new();
    };
    Index::GSIS
        .iter()
        .filter_map(|index| {
            let (pk, sk) = index.key_attributes();
            match (item.str(pk), item.str(sk)) {
                (Some(gpk), Some(gsk)) => Some((*index, join(&[gpk, gsk, item_pk, item_sk]))),
                _ => None,
            }
        })
        .collect()
}

#[derive(Clone)]
pub struct RedbTable {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
    writer: std::sync::mpsc::Sender<WriteRequest>,
}

impl RedbTable {
    /// Opens (or creates) the store file.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(unavailable)?;
        }
        // redb caches up to 1 GiB by default; the local system is a development server that
        // shares the machine, so its cache is bounded (the OS page cache does the rest).
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(ITEMS).map_err(unavailable)?;
            for index in Index::GSIS {
                txn.open_table(gsi_definition(index)).map_err(unavailable)?;
            }
        }
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        let (writer, requests) = std::sync::mpsc::channel();
        let weak = Arc::downgrade(&db);
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || run_writer(weak, requests))
            .map_err(unavailable)?;
        Ok(Self { db, clock, writer })
    }

    /// Hands a validated transaction to the writer and waits for its commit.
    async fn write(&self, ops: Vec<WriteOp>, return_items: bool) -> WriteResult {
        self.write_with(ops, return_items, true).await
    }

    async fn write_with(
        &self,
        ops: Vec<WriteOp>,
        return_items: bool,
        durable: bool,
    ) -> WriteResult {
        let actions = ops
            .into_iter()
            .map(Action::ready)
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send(WriteRequest {
                actions,
                return_items,
                durable,
                reply,
            })
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))?
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        let now = self.clock.now().timestamp();
        tokio::task::spawn_blocking(move || work(&db, now))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

/// The tables of one write transaction, opened once for a whole group of requests: redb
/// looks a table up when it is opened and writes its root back when it is closed, which cost
/// more than an item's own insert when done per item.
struct WriteTables<'txn> {
    items: redb::Table<'txn, &'static [u8], &'static [u8]>,
    gsis: Vec<(Index, redb::Table<'txn, &'static [u8], ()>)>,
}

impl<'txn> WriteTables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        let gsis = Index::GSIS
            .iter()
            .map(|index| {
                txn.open_table(gsi_definition(*index))
                    .map(|table| (*index, table))
                    .map_err(unavailable)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { items, gsis })
    }

    fn gsi(
        &mut self,
        index: Index,
    ) -> Result<&mut redb::Table<'txn, &'static [u8], ()>, StoreError> {
        self.gsis
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, table)| table)
            .ok_or_else(|| StoreError::Unavailable(format!("no table for {index:?}")))
    }

    fn read(&self, raw_key: &[u8]) -> Result<Option<Item>, StoreError> {
        let found = self.items.get(raw_key).map_err(unavailable)?;
        found.map(|bytes| decode(bytes.value())).transpose()
    }

    /// Stores `new` (or removes the item) and moves its GSI entries from `old`'s.
    fn write(&mut self, raw_key: &[u8], old: Option<&Item>, new: Stored) -> Result<(), StoreError> {
        let new_entries = match new {
            Stored::Bytes { bytes, entries } => {
                self.items
                    .insert(raw_key, bytes.as_slice())
                    .map_err(unavailable)?;
                entries
            }
            Stored::Removed => {
                self.items.remove(raw_key).map_err(unavailable)?;
                Vec::new()
            }
        };
        let old_entries = old.map(gsi_entries).unwrap_or_default();
        for (index, entry) in &old_entries {
            if !new_entries.iter().any(|(i, e)| i == index && e == entry) {
                self.gsi(*index)?
                    .remove(entry.as_slice())
                    .map_err(unavailable)?;
            }
        }
        for (index, entry) in &new_entries {
            if !old_entries.iter().any(|(i, e)| i == index && e == entry) {
                self.gsi(*index)?
                    .insert(entry.as_slice(), ())
                    .map_err(unavailable)?;
            }
        }
        Ok(())
    }
}

/// What an item becomes in the file.
enum Stored {
    Bytes {
        bytes: Vec<u8>,
        entries: Vec<(Index, Vec<u8>)>,
    },
    Removed,
}

impl Stored {
    fn of(item: &Item) -> Result<Self, StoreError> {
        Ok(Stored::Bytes {
            bytes: encode(item)?,
            entries: gsi_entries(item),
        })
    }
}

/// One action of a request as the writer applies it. Puts arrive ready — encoded, with their
/// index entries — because that work is done on the caller's thread, off the single writer
/// (the bound of every write path); their items are never needed on the writer.
enum Action {
    Put {
        raw_key: Vec<u8>,
        condition: Option<Condition>,
        stored: Stored,
    },
    Other {
        key: Key,
        raw_key: Vec<u8>,
        op: WriteOp,
    },
}

impl Action {
    fn ready(op: WriteOp) -> Result<Self, StoreError> {
        Ok(match op {
            WriteOp::Put { item, condition } => Action::Put {
                raw_key: item_key(&item.key()?),
                condition,
                stored: Stored::of(&item)?,
            },
            op => {
                let key = op.key()?;
                Action::Other {
                    raw_key: item_key(&key),
                    key,
                    op,
                }
            }
        })
    }
}

/// Applies one request's validated actions inside a write transaction shared with other
/// requests (group commit): every condition is evaluated first, then every new item is
/// computed, and only then is anything written — so a refused request leaves no trace in the
/// shared transaction.
fn apply_in(
    tables: &mut WriteTables<'_>,
    actions: Vec<Action>,
    return_items: bool,
) -> Result<Vec<Option<Item>>, StoreError> {
    let mut current = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        let (raw_key, condition) = match action {
            Action::Put {
                raw_key, condition, ..
            } => (raw_key, condition.as_ref()),
            Action::Other { raw_key, op, .. } => (raw_key, op.condition()),
        };
        let item = tables.read(raw_key)?;
        if let Some(condition) = condition
            && !condition.evaluate(item.as_ref())
        {
            return Err(StoreError::ConditionFailed { index: Some(i) });
        }
        current.push(item);
    }
    // Every new item is computed (an update may still be refused) before anything is written.
    let mut planned = Vec::with_capacity(actions.len());
    for (action, old) in actions.into_iter().zip(current) {
        match action {
            Action::Put {
                raw_key, stored, ..
            } => planned.push((raw_key, old, Some(stored), None)),
            Action::Other { key, raw_key, op } => {
                let new = match op {
                    WriteOp::Put { item, .. } => Some(item),
                    WriteOp::Update { update, .. } => {
                        let item = update.apply(&key, old.clone())?;
                        check_item(&item)?;
                        // An update that changes nothing (a uniqueness pointer set only if
                        // absent, on every counter increment) rewrites no page.
                        if old.as_ref() == Some(&item) {
                            planned.push((raw_key, old, None, Some(item)));
                            continue;
                        }
                        Some(item)
                    }
                    WriteOp::Delete { .. } => None,
                    WriteOp::ConditionCheck { .. } => {
                        let unchanged = old.clone();
                        planned.push((raw_key, old, None, unchanged));
                        continue;
                    }
                };
                let stored = match &new {
                    Some(item) => Stored::of(item)?,
                    None => Stored::Removed,
                };
                planned.push((raw_key, old, Some(stored), new));
            }
        }
    }
    let mut written = Vec::with_capacity(if return_items { planned.len() } else { 0 });
    for (raw_key, old, stored, new) in planned {
        if let Some(stored) = stored {
            tables.write(&raw_key, old.as_ref(), stored)?;
        }
        if return_items {
            written.push(new);
        }
    }
    Ok(written)
}

type WriteResult = Result<Vec<Option<Item>>, StoreError>;

struct WriteRequest {
    actions: Vec<Action>,
    /// Only `update` needs its item back (puts never come back).
    return_items: bool,
    /// False: the caller keeps its input durable until it syncs (see
    /// [`Table::transact_write_unsynced`]); the group is committed without an fsync unless
    /// another request in it needs one.
    durable: bool,
    reply: tokio::sync::oneshot::Sender<WriteResult>,
}

/// The single writer: takes every request waiting, applies them in one redb transaction and
/// commits once, so concurrent writers share one fsync (durability is unchanged: nobody who
/// asked for durability is answered before the commit is on disk; a durable commit also
/// makes every earlier unsynced one durable).
fn run_writer(db: std::sync::Weak<Database>, requests: std::sync::mpsc::Receiver<WriteRequest>) {
    const MAX_GROUP: usize = 128;
    // Whether unsynced commits are waiting for a durable one.
    let mut unsynced = false;
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let Some(db) = db.upgrade() else {
            for request in group {
                let _ = request
                    .reply
                    .send(Err(StoreError::Unavailable("the store is closed".into())));
            }
            return;
        };
        let durable = group.iter().any(|request| request.durable);
        let txn = match db.begin_write() {
            Ok(txn) => txn,
            Err(e) => {
                for request in group {
                    let _ = request.reply.send(Err(unavailable(&e)));
                }
                continue;
            }
        };
        let mut replies = Vec::with_capacity(group.len());
        let mut failed_storage = None;
        let mut wrote = false;
        match WriteTables::open(&txn) {
            Ok(mut tables) => {
                for request in group {
                    let writes = request.actions.iter().any(|action| {
                        !matches!(
                            action,
                            Action::Other {
                                op: WriteOp::ConditionCheck { .. },
                                ..
                            }
                        )
                    });
                    let result = apply_in(&mut tables, request.actions, request.return_items);
                    match &result {
                        Ok(_) => wrote |= writes,
                        Err(StoreError::Unavailable(reason)) => {
                            failed_storage = Some(reason.clone())
                        }
                        Err(_) => {}
                    }
                    replies.push((request.reply, result));
                }
            }
            Err(e) => {
                failed_storage = Some(e.to_string());
                replies.extend(group.into_iter().map(|r| (r.reply, Err(e.clone()))));
            }
        }
        // A storage failure part-way may have left partial writes: abort the whole group.
        let outcome = match failed_storage {
            Some(reason) => {
                let _ = txn.abort();
                Err(StoreError::Unavailable(reason))
            }
            // Nothing written (every request refused, or only checks), and no earlier write
            // to make durable: no commit to wait for.
            None if !(wrote || durable && unsynced) => txn.abort().map_err(unavailable),
            None => {
                let mut txn = txn;
                txn.set_durability(if durable {
                    Durability::Immediate
                } else {
                    Durability::None
                });
                let committed = txn.commit().map_err(unavailable);
                if committed.is_ok() {
                    unsynced = !durable;
                }
                committed
            }
        };
        // Let go of the database before answering: a caller that drops its last handle on
        // the answer must be able to open the file again at once.
        drop(db);
        for (reply, result) in replies {
            let _ = reply.send(match &outcome {
                Ok(()) => result,
                Err(e) => Err(e.clone()),
            });
        }
    }
}

/// Byte bounds of a query's sort-key condition within one partition prefix.
fn bounds(prefix: &[u8], sort: Option<&SortCondition>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let with = |suffix: &str| {
        let mut key = prefix.to_vec();
        key.extend_from_slice(suffix.as_bytes());
        key
    };
    // Everything of the partition sorts before `prefix` with its final SEP replaced by 1.
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last = SEP + 1;
    }
    let partition_end = Bound::Excluded(end);
    let start = Bound::Included(prefix.to_vec());
    // Upper bound just past every key whose sort key is exactly `v` (GSI keys continue
    // with SEP and the item key; SEP + 1 sorts after all of them).
    let through = |v: &str| {
        let mut key = with(v);
        key.push(SEP + 1);
        Bound::Excluded(key)
    };
    match sort {
        None => (start, partition_end),
        Some(SortCondition::Eq(v)) => (Bound::Included(with(v)), through(v)),
        // 0xFF never occurs in UTF-8, so it bounds every extension of the prefix.
        Some(SortCondition::BeginsWith(p)) => {
            let mut end = with(p);
            end.push(0xFF);
            (Bound::Included(with(p)), Bound::Excluded(end))
        }
        Some(SortCondition::Gt(v)) | Some(SortCondition::Ge(v)) => {
            (Bound::Included(with(v)), partition_end)
        }
        Some(SortCondition::Between(low, high)) => (Bound::Included(with(low)), through(high)),
        Some(SortCondition::Lt(v)) => (start, Bound::Excluded(with(v))),
        Some(SortCondition::Le(v)) => (start, through(v)),
    }
}

/// Runs a query on the table or a GSI with one read transaction.
fn run_query(db: &Database, query: Query, now_epoch: i64) -> Result<Page, StoreError> {
    if query.partition.is_empty() || query.partition.contains('\0') {
        return Err(StoreError::Invalid(
            "a query needs a non-empty partition key without NUL".into(),
        ));
    }
    if query.limit == Some(0) {
        return Err(StoreError::Invalid("limit must be at least 1".into()));
    }
    let (pk_name, sk_name) = query.index.key_attributes();
    let after = match &query.cursor {
        Some(cursor) => Some(cursor.decode()?),
        None => None,
    };
    let txn = db.begin_read().map_err(unavailable)?;
    let items = txn.open_table(ITEMS).map_err(unavailable)?;
    let mut prefix = query.partition.as_bytes().to_vec();
    prefix.push(SEP);
    let (low, high) = bounds(&prefix, query.sort.as_ref());
    // The position just past the cursor, in the index's own key encoding.
    let cursor_position = |last: &BTreeMap<String, String>| -> Result<Vec<u8>, StoreError> {
        let get = |name: &str| {
            last.get(name)
                .map(String::as_str)
                .ok_or_else(|| StoreError::Invalid("malformed cursor".into()))
        };
        Ok(match query.index {
            Index::Table => join(&[get(PK)?, get(SK)?]),
            _ => join(&[get(pk_name)?, get(sk_name)?, get(PK)?, get(SK)?]),
        })
    };
    let (low, high) = match (&after, query.forward) {
        (Some(last), true) => (Bound::Excluded(cursor_position(last)?), high),
        (Some(last), false) => (low, Bound::Excluded(cursor_position(last)?)),
        (None, _) => (low, high),
    };
    let limit = query.limit.map(|l| l as usize).unwrap_or(usize::MAX);
    let mut page = Vec::new();
    let mut more = false;

    // Visits index entries in order, turning each into (sort key, item key). A table entry
    // carries the item itself; an index entry is followed to the item it points at.
    let mut visit = |raw: &[u8], stored: Option<&[u8]>| -> Result<bool, StoreError> {
        let parts = split(raw)?;
        let (sort_key, key) = match query.index {
            Index::Table if parts.len() == 2 => (parts[1].clone(), Key::new(&parts[0], &parts[1])),
            Index::Table => return Err(unavailable("corrupt item key")),
            _ if parts.len() == 4 => (parts[1].clone(), Key::new(&parts[2], &parts[3])),
            _ => return Err(unavailable("corrupt index key")),
        };
        if let Some(sort) = &query.sort
            && !sort.matches(&sort_key)
        {
            // The bounds are exact but for `Gt`, whose equal keys are skipped here.
            return Ok(true);
        }
        let item = match stored {
            Some(bytes) => decode(bytes)?,
            None => match items.get(item_key(&key).as_slice()).map_err(unavailable)? {
                Some(bytes) => decode(bytes.value())?,
                None => return Ok(true),
            },
        };
        if item.is_expired(now_epoch) {
            return Ok(true);
        }
        if page.len() == limit {
            more = true;
            return Ok(false);
        }
        page.push(item);
        Ok(true)
    };

    let bounds = (bound_ref(&low), bound_ref(&high));
    match query.index {
        Index::Table => {
            let range = items.range::<&[u8]>(bounds).map_err(unavailable)?;
            walk(range, query.forward, |k, v| visit(k, Some(v)))?;
        }
        gsi_index => {
            let gsi = txn
                .open_table(gsi_definition(gsi_index))
                .map_err(unavailable)?;
            let range = gsi.range::<&[u8]>(bounds).map_err(unavailable)?;
            walk(range, query.forward, |k, _| visit(k, None))?;
        }
    }

    let next = match (more, page.last()) {
        (true, Some(last)) => {
            let mut key = BTreeMap::new();
            for name in [PK, SK, pk_name, sk_name] {
                if let Some(value) = last.str(name) {
                    key.insert(name.to_owned(), value.to_owned());
                }
            }
            Some(Cursor::encode(&key))
        }
        _ => None,
    };
    Ok(Page { items: page, next })
}

/// [`Table::count`]: the entries in the query's key range, without reading an item (an
/// index entry names its item; a count needs no more).
fn run_count(db: &Database, query: Query) -> Result<u64, StoreError> {
    if query.partition.is_empty() || query.partition.contains('\0') {
        return Err(StoreError::Invalid(
            "a query needs a non-empty partition key without NUL".into(),
        ));
    }
    let txn = db.begin_read().map_err(unavailable)?;
    let mut prefix = query.partition.as_bytes().to_vec();
    prefix.push(SEP);
    let (low, high) = bounds(&prefix, query.sort.as_ref());
    let bounds = (bound_ref(&low), bound_ref(&high));
    // The bounds are exact but for `Gt`, whose equal keys are left out here.
    let counts = |raw: &[u8]| -> Result<bool, StoreError> {
        match &query.sort {
            Some(sort @ SortCondition::Gt(_)) => Ok(sort.matches(&split(raw)?[1])),
            _ => Ok(true),
        }
    };
    let mut counted = 0;
    match query.index {
        Index::Table => {
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            walk(
                items.range::<&[u8]>(bounds).map_err(unavailable)?,
                true,
                |k, _| {
                    counted += u64::from(counts(k)?);
                    Ok(true)
                },
            )?;
        }
        gsi_index => {
            let gsi = txn
                .open_table(gsi_definition(gsi_index))
                .map_err(unavailable)?;
            walk(
                gsi.range::<&[u8]>(bounds).map_err(unavailable)?,
                true,
                |k, _| {
                    counted += u64::from(counts(k)?);
                    Ok(true)
                },
            )?;
        }
    }
    Ok(counted)
}

/// Visits a redb range forwards or backwards until `visit` answers false.
fn walk<'a, V: redb::Value + 'static>(
    range: redb::Range<'a, &'static [u8], V>,
    forward: bool,
    mut visit: impl FnMut(&[u8], V::SelfType<'_>) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut step = |entry: Result<
        (
            redb::AccessGuard<'a, &'static [u8]>,
            redb::AccessGuard<'a, V>,
        ),
        redb::StorageError,
    >| {
        let (k, v) = entry.map_err(unavailable)?;
        visit(k.value(), v.value())
    };
    if forward {
        for entry in range {
            if !step(entry)? {
                break;
            }
        }
    } else {
        for entry in range.rev() {
            if !step(entry)? {
                break;
            }
        }
    }
    Ok(())
}

fn bound_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[async_trait]
impl Table for RedbTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        // A point read is one B-tree descent (microseconds, a few page reads at worst), so
        // it runs on the calling task: handing it to a blocking thread and back cost more
        // than the read. Queries, whose size the caller chooses, still go to one.
        let now = self.clock.now().timestamp();
        let txn = self.db.begin_read().map_err(unavailable)?;
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        let found = items.get(item_key(key).as_slice()).map_err(unavailable)?;
        let item = found.map(|bytes| decode(bytes.value())).transpose()?;
        Ok(item.filter(|item| !item.is_expired(now)))
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.len() > scaliyo_store::table::MAX_BATCH_GET {
            return Err(StoreError::Invalid(format!(
                "a batch get reads at most {} keys",
                scaliyo_store::table::MAX_BATCH_GET
            )));
        }
        let mut raw_keys = Vec::with_capacity(keys.len());
        for key in keys {
            check_key(key)?;
            raw_keys.push(item_key(key));
        }
        // One read transaction for the whole batch.
        self.blocking(move |db, now| {
            let txn = db.begin_read().map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            raw_keys
                .iter()
                .map(|raw| {
                    let found = items.get(raw.as_slice()).map_err(unavailable)?;
                    let item = found.map(|bytes| decode(bytes.value())).transpose()?;
                    Ok(item.filter(|item| !item.is_expired(now)))
                })
                .collect()
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.blocking(move |db, now| run_query(db, query, now))
            .await
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        self.blocking(move |db, _| run_count(db, query)).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let (ops, origin) = coalesce_adds(ops);
        check_transaction(&ops)?;
        self.write(ops, false)
            .await
            .map(|_| ())
            .map_err(|e| at_caller_index(e, &origin))
    }

    async fn transact_write_unsynced(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let (ops, origin) = coalesce_adds(ops);
        check_transaction(&ops)?;
        self.write_with(ops, false, false)
            .await
            .map(|_| ())
            .map_err(|e| at_caller_index(e, &origin))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        // An empty durable request: its commit carries every unsynced one before it.
        self.write_with(Vec::new(), false, true).await.map(|_| ())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let op = WriteOp::Update {
            key: key.clone(),
            update,
            condition,
        };
        check_transaction(std::slice::from_ref(&op))?;
        let written = self.write(vec![op], true).await?;
        written
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| StoreError::Unavailable("update wrote no item".into()))
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        for chunk in ops.chunks(MAX_BATCH_WRITE_ITEMS) {
            let mut seen = std::collections::BTreeSet::new();
            let mut writes = Vec::with_capacity(chunk.len());
            for op in chunk {
                let write = match op {
                    BatchOp::Put(item) => {
                        check_item(item)?;
                        WriteOp::put(item.clone())
                    }
                    BatchOp::Delete(key) => {
                        check_key(key)?;
                        WriteOp::delete(key.clone())
                    }
                };
                if !seen.insert(write.key()?) {
                    return Err(StoreError::Invalid(
                        "a batch cannot contain one key twice".into(),
                    ));
                }
                writes.push(write);
            }
            self.write(writes, false).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use scaliyo_store::table::Number;
    use scaliyo_store::{Item, Key, Value};

    use super::{decode, encode};

    fn every_kind() -> Item {
        let mut item = Item::new(&Key::new("U#owner", "leads#1"));
        item.set("name", "Ada \"Countess\" Lovelace\n");
        item.set("score", Value::N(Number::Int(-42)));
        item.set("ratio", Value::N(Number::Float(0.125)));
        item.set("active", Value::Bool(true));
        item.set("nothing", Value::Null);
        item.set("raw", Value::B(vec![0, 1, 254, 255]));
        item.set(
            "tags",
            Value::L(vec![Value::S("a".into()), Value::N(Number::Int(1))]),
        );
        item.set(
            "custom",
            Value::M(BTreeMap::from([("k".to_owned(), Value::S("v".into()))])),
        );
        item
    }

    #[test]
    fn items_round_trip_through_the_stored_encoding() {
        let item = every_kind();
        let bytes = encode(&item).expect("encoded");
        assert_eq!(bytes[0], super::POSTCARD_ITEM);
        assert_eq!(decode(&bytes).expect("decoded"), item);
    }

    #[test]
    fn items_stored_as_json_by_earlier_versions_still_read() {
        let item = every_kind();
        let json = serde_json::to_vec(&item).expect("json");
        assert_eq!(json[0], b'{');
        assert_eq!(decode(&json).expect("decoded"), item);
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        for bytes in [
            &[][..],
            &[super::POSTCARD_ITEM][..],
            &[super::POSTCARD_ITEM, 0xFF, 0xFF][..],
            b"{not json",
        ] {
            let _ = decode(bytes);
        }
        assert!(decode(&[super::POSTCARD_ITEM, 5, 1]).is_err());
    }
}
