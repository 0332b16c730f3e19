//! The single-table layout, derived from the schema declaration: where each row lives (its
//! key), which GSIs it appears in (each seed index, plus an index per foreign key whose
//! ON DELETE action must find the children), and its uniqueness items. `docs/data-model.md`
//! is generated from this module and checked by a test.

use std::sync::OnceLock;

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema::{
    self, ColumnType, Filter, KeyPart, OnDelete, Scope, TABLES, Table, Unique, Who,
};
use scaliyo_store::{Index, Key};
use serde_json::{Map, Value};

use crate::work_queue;

/// Attribute naming the schema table of a row item.
mod doc;

pub use doc::render_markdown;

pub const TABLE_ATTR: &str = "_t";
/// Attribute holding the owning user of an `OwnerOf` row (its parent's owner).
pub const OWNER_ATTR: &str = "_owner";
/// Attribute holding a surrogate id for tables without a primary key.
pub const ROWID: &str = "_rowid";
/// Shards of the sparse due-indexes (work queues); see data-model.md for the arithmetic.
pub const DUE_SHARDS: u32 = 16;
/// Tables worked by the schedulers: their claimed rows carry a lease in GSI5.
pub const WORK_QUEUE_TABLES: [&str; 2] = ["scheduled_emails", "social_posts"];
/// Internal attributes of claimed work (claim, attempts, window, lease-index keys) that an
/// ordinary update of the row must keep.
pub const WORK_ATTRIBUTES: [&str; 5] = [
    work_queue::CLAIM,
    work_queue::ATTEMPTS,
    work_queue::SEND_WINDOW,
    "GSI5PK",
    "GSI5SK",
];

/// How one GSI entry of a table is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLayout {
    /// The seed's index name, or `fk_<table>_<column>` for a foreign-key access path.
    pub name: String,
    pub gsi: Index,
    /// Columns whose values go into the GSI partition key (equality lookups).
    pub equality: Vec<KeyPart>,
    /// The column whose encoded value leads the GSI sort key (range and order), if any.
    pub range: Option<KeyPart>,
    /// Prefix the partition with the row's owner (owner-scoped tables, non-FK lookups).
    pub owner_prefixed: bool,
    /// Present only for rows matching this filter (a sparse index).
    pub filter: Option<Filter>,
    /// Spread over `DUE_SHARDS` partitions (work queues claimed by the schedulers).
    pub sharded: bool,
    pub from_seed: bool,
    /// A row whose range column is NULL stays in the index, after every value (where
    /// PostgREST puts NULLs: last ascending, first descending), instead of being left out.
    pub null_range_last: bool,
}

/// The frontend's frequent filters (issue 19): each gets an index of the owner's rows by the
/// column's value in `created_at` order, so a filtered page in that order is one indexed read
/// and a count by that value is one counted query.
pub const FILTERED_LISTINGS: [(&str, &str); 4] = [
    ("leads", "status"),
    ("leads", "source"),
    ("scheduled_emails", "status"),
    ("social_posts", "status"),
];

/// The sort-key text of a NULL range value in a [`IndexLayout::null_range_last`] index:
/// after every encoded value (numbers are digits, timestamps start with a digit).
pub const NULL_RANGE: &str = "~";

#[derive(Debug, Clone)]
pub struct TableLayout {
    pub table: &'static Table,
    pub indexes: Vec<IndexLayout>,
    /// Seed indexes served without a GSI, and how.
    pub served_otherwise: Vec<(String, String)>,
}

fn is_orderable(table: &Table, part: KeyPart) -> bool {
    matches!(part, KeyPart::Desc(_))
        || table.column(part.column()).is_some_and(|c| {
            matches!(
                c.ty,
                ColumnType::Int
                    | ColumnType::BigInt
                    | ColumnType::Real
                    | ColumnType::Date
                    | ColumnType::Timestamptz
            )
        })
}

fn owner_column(table: &Table) -> Option<&'static str> {
    match table.scope {
        Scope::Owner(column) => Some(column),
        _ => None,
    }
}

fn parts_of(parts: &[KeyPart]) -> Vec<&'static str> {
    parts.iter().map(|p| p.column()).collect()
}

/// An index a table needs: name, key parts, sparse filter, from the seed, NULL range values
/// kept last.
type WantedIndex = (String, Vec<KeyPart>, Option<Filter>, bool, bool);

/// Builds the layout of one table (pure; cached by [`layout`]).
fn build(table: &'static Table) -> TableLayout {
    let owner = owner_column(table);
    let unique_parts: Vec<Vec<&str>> = table.uniques.iter().map(|u| parts_of(u.parts)).collect();
    let seed_parts: Vec<Vec<&str>> = table.indexes.iter().map(|i| parts_of(i.parts)).collect();
    let mut served_otherwise = Vec::new();
    let mut wanted: Vec<WantedIndex> = Vec::new();

    for (i, index) in table.indexes.iter().enumerate() {
        let parts = parts_of(index.parts);
        if Some(parts.as_slice()) == owner.map(|o| vec![o]).as_deref() {
            served_otherwise.push((
                index.name.to_owned(),
                "the owner partition (base table query)".to_owned(),
            ));
        } else if unique_parts.contains(&parts) {
            served_otherwise.push((
                index.name.to_owned(),
                "its uniqueness item (a strongly consistent get)".to_owned(),
            ));
        } else if index.filter.is_none()
            && seed_parts.iter().enumerate().any(|(j, other)| {
                j != i
                    && other.len() > parts.len()
                    && other.starts_with(&parts)
                    && table.indexes[j].filter.is_none()
            })
        {
            let wider = seed_parts
                .iter()
                .enumerate()
                .find(|(j, other)| {
                    *j != i && other.len() > parts.len() && other.starts_with(&parts)
                })
                .map(|(j, _)| table.indexes[j].name)
                .unwrap_or_default();
            served_otherwise.push((
                index.name.to_owned(),
                format!("{wider} (same leading columns)"),
            ));
        } else {
            wanted.push((
                index.name.to_owned(),
                index.parts.to_vec(),
                index.filter,
                true,
                false,
            ));
        }
    }

    // Foreign keys whose ON DELETE action must find the children need an access path by the
    // parent id, unless the partition or a seed index already gives one.
    for fk in table.foreign_keys {
        if fk.on_delete == OnDelete::NoAction
            || fk.table == schema::AUTH_USERS && Some(fk.column) == owner
        {
            continue;
        }
        if Some(fk.column) == owner {
            continue;
        }
        let covered = wanted.iter().any(|(_, parts, filter, _, _)| {
            filter.is_none()
                && parts.first().map(|p| p.column()) == Some(fk.column)
                && !is_orderable(table, parts[0])
        });
        if !covered {
            wanted.push((
                format!("fk_{}_{}", table.name, fk.column),
                vec![KeyPart::Column(fk.column)],
                None,
                false,
                false,
            ));
        }
    }

    // A row its invitee may read (by the e-mail address on it) is found by that address,
    // whatever its case.
    for rule in table.policy {
        if let Who::Invitee(column) = rule.who
            && !wanted
                .iter()
                .any(|(_, parts, _, _, _)| parts.as_slice() == [KeyPart::Lower(column)])
        {
            wanted.push((
                format!("invitee_{}", table.name),
                vec![KeyPart::Lower(column)],
                None,
                false,
                false,
            ));
        }
    }

    for (_, column) in FILTERED_LISTINGS.iter().filter(|(t, _)| *t == table.name) {
        wanted.push((
            format!("by_{}_{column}", table.name),
            vec![KeyPart::Column(column), KeyPart::Column("created_at")],
            None,
            false,
            true,
        ));
    }

    let mut indexes = Vec::new();
    let mut free = vec![Index::Gsi1, Index::Gsi2, Index::Gsi3, Index::Gsi5];
    free.reverse();
    for (name, parts, filter, from_seed, null_range_last) in wanted {
        let sharded = matches!(filter, Some(Filter::Equals("status", _))) && from_seed;
        let gsi = if sharded {
            Index::Gsi4
        } else {
            free.pop()
                .unwrap_or_else(|| panic!("{} needs more than four GSIs", table.name))
        };
        let mut columns: Vec<KeyPart> = parts
            .into_iter()
            .filter(|p| Some(p.column()) != owner && !(sharded && p.column() == "status"))
            .collect();
        let range = match columns.last() {
            Some(last) if is_orderable(table, *last) => columns.pop(),
            _ => None,
        };
        let equality_is_fk = columns
            .iter()
            .any(|p| table.foreign_key(p.column()).is_some());
        indexes.push(IndexLayout {
            name,
            gsi,
            owner_prefixed: owner.is_some() && !equality_is_fk && !sharded,
            equality: columns,
            range,
            filter,
            sharded,
            from_seed,
            null_range_last,
        });
    }
    // Shared tables get a listing of all their rows (they are small: plans, posts, teams…).
    if table.scope == Scope::Shared {
        indexes.push(listing(table, None));
    }
    // An owned table with public shared rows (owner NULL: default templates and prompts)
    // lists those for anonymous callers.
    if let Scope::Owner(owner_column) = table.scope
        && table
            .column(owner_column)
            .is_some_and(|c| !c.not_null && !c.primary_key)
        && table.policy.iter().any(|r| matches!(r.who, Who::Public(_)))
    {
        indexes.push(listing(table, Some(Filter::IsNull(owner_column))));
    }
    TableLayout {
        table,
        indexes,
        served_otherwise,
    }
}

/// `all_<table>`: every row of the table (matching `filter`), newest last, on GSI4.
fn listing(table: &Table, filter: Option<Filter>) -> IndexLayout {
    IndexLayout {
        name: format!("all_{}", table.name),
        gsi: Index::Gsi4,
        equality: vec![],
        range: table
            .column("created_at")
            .map(|_| KeyPart::Column("created_at")),
        owner_prefixed: false,
        filter,
        sharded: false,
        from_seed: false,
        null_range_last: false,
    }
}

/// The layout of every table, computed once.
pub fn layouts() -> &'static [TableLayout] {
    static LAYOUTS: OnceLock<Vec<TableLayout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| TABLES.iter().copied().map(build).collect())
}

pub fn layout(table: &str) -> Option<&'static TableLayout> {
    layouts().iter().find(|l| l.table.name == table)
}

// ---------------------------------------------------------------------------------------
// Key encoding

/// Escapes `#` and `%` so values never break key segments apart.
pub fn segment(value: &str) -> String {
    value.replace('%', "%25").replace('#', "%23")
}

/// A sortable text for an index value: integers offset to unsigned and zero-padded so their
/// text order is numeric order; everything else as stored (timestamps are fixed-width UTC).
pub fn sortable(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(format!("{:020}", (i as i128 + (1i128 << 63)) as u128)),
            None => n.as_f64().map(|f| {
                // IEEE-754 bits made order-preserving.
                let bits = f.to_bits();
                let ordered = if f.is_sign_negative() {
                    !bits
                } else {
                    bits | (1 << 63)
                };
                format!("{ordered:020}")
            }),
        },
        Value::String(s) => Some(segment(s)),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(segment(&other.to_string())),
    }
}

fn part_value(row: &Map<String, Value>, part: KeyPart) -> Option<String> {
    let value = row.get(part.column())?;
    match part {
        KeyPart::Lower(_) => value.as_str().map(|s| segment(&s.to_lowercase())),
        _ => sortable(value),
    }
}

/// The partition holding one owner's rows.
pub fn owner_partition(owner: OwnerId) -> String {
    owner_column_partition(&owner.to_string())
}

/// [`owner_partition`] named by an owner column's text, as the generic row layer reads it
/// from rows (the column's type has already been checked to be a uuid).
pub fn owner_column_partition(owner: &str) -> String {
    format!("U#{owner}")
}

/// The row id (primary key value, or surrogate).
pub fn row_id(table: &Table, row: &Map<String, Value>) -> Option<String> {
    let column = table.primary_key().map(|c| c.name).unwrap_or(ROWID);
    match row.get(column)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The key of a row item. `owner` is the owning user for `Owner` and `OwnerOf` scopes
/// (`None` for shared rows, and for owner-scoped rows whose owner column is NULL).
pub fn row_key(table: &Table, owner: Option<&str>, id: &str) -> Key {
    match (table.scope, owner) {
        (Scope::Owner(_) | Scope::OwnerOf(_), Some(owner)) => Key::new(
            owner_column_partition(owner),
            format!("{}#{}", table.name, segment(id)),
        ),
        _ => Key::new(format!("R#{}#{}", table.name, segment(id)), "R"),
    }
}

/// The GSI attributes of a row (only the indexes it belongs in).
pub fn index_attributes(
    layout: &TableLayout,
    owner: Option<&str>,
    row: &Map<String, Value>,
) -> Vec<(Index, String, String)> {
    let Some(id) = row_id(layout.table, row) else {
        return vec![];
    };
    let mut out = Vec::new();
    'indexes: for index in &layout.indexes {
        if let Some(filter) = index.filter
            && !filter.matches(row)
        {
            continue;
        }
        let mut pk = index.name.clone();
        if index.sharded {
            let shard = shard_of(&id);
            pk.push_str(&format!("#{shard}"));
        }
        if index.owner_prefixed {
            match owner {
                Some(owner) => {
                    pk.push('#');
                    pk.push_str(owner);
                }
                None => continue,
            }
        }
        for part in &index.equality {
            match part_value(row, *part) {
                Some(value) => {
                    pk.push('#');
                    pk.push_str(&value);
                }
                None => continue 'indexes,
            }
        }
        let sk = match index.range {
            Some(part) => match part_value(row, part) {
                Some(value) => format!("{value}#{}", segment(&id)),
                None if index.null_range_last => format!("{NULL_RANGE}#{}", segment(&id)),
                None => continue,
            },
            None => segment(&id),
        };
        out.push((index.gsi, pk, sk));
    }
    out
}

/// The due-index shard of a row id: its last hex digit (ids are random UUIDs).
pub fn shard_of(id: &str) -> u32 {
    id.chars().last().and_then(|c| c.to_digit(16)).unwrap_or(0) % DUE_SHARDS
}

/// The key of a uniqueness item, if the row takes part in the constraint (all values present
/// and the partial filter matching).
pub fn unique_key(unique: &Unique, row: &Map<String, Value>) -> Option<Key> {
    if let Some(filter) = unique.filter
        && !filter.matches(row)
    {
        return None;
    }
    let mut pk = format!("UQ#{}", unique.name);
    for part in unique.parts {
        let value = part_value(row, *part)?;
        pk.push('#');
        pk.push_str(&value);
    }
    Some(Key::new(pk, "UQ"))
}

#[cfg(test)]
mod tests;
