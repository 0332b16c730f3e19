//! Row tallies: how many rows an owner has in each table the frontend counts, and per value
//! of its frequently filtered columns (`layout::FILTERED_LISTINGS`), kept by every write of
//! the rows in the same transaction, so `count=exact` on them is one item read.
//!
//! One item per (owner, table) and per (owner, table, column, value), in the owner's
//! partition beside the rows it counts. A transaction writing several rows adds to the same
//! tally once (the store merges the adds). Rows without an owner are not tallied.

use std::collections::BTreeMap;

use scaliyo_store::BatchOp;

use super::*;

/// The attribute of a tally item holding the count.
const COUNT_ATTR: &str = "count";

/// Whether `table` has tallies, and which of its columns are tallied by value.
fn tallied_columns(table: &Table) -> Option<Vec<&'static str>> {
    let columns: Vec<&'static str> = layout::FILTERED_LISTINGS
        .iter()
        .filter(|(name, _)| *name == table.name)
        .map(|(_, column)| *column)
        .collect();
    (!columns.is_empty()).then_some(columns)
}

/// The key of an owner's tally of `table`, in total or of the rows whose `column` holds
/// `value`.
fn tally_key(table: &Table, owner: &str, by: Option<(&str, &str)>) -> Key {
    let sk = match by {
        None => format!("counter#rows#{}", table.name),
        Some((column, value)) => format!(
            "counter#rows#{}#{column}#{}",
            table.name,
            layout::segment(value)
        ),
    };
    Key::new(layout::owner_column_partition(owner), sk)
}

/// The tallies a row is in: its owner's total and one per tallied column with a value.
fn tallies_of(table: &Table, columns: &[&str], owner: Option<&str>, row: &Row) -> Vec<Key> {
    let Some(owner) = owner else {
        return Vec::new();
    };
    let mut keys = vec![tally_key(table, owner, None)];
    for column in columns {
        if let Some(value) = row.get(*column).and_then(Value::as_str) {
            keys.push(tally_key(table, owner, Some((column, value))));
        }
    }
    keys
}

impl Rows {
    /// The adds that keep the tallies true when a row of `table` goes from `before` to
    /// `after` (None: absent), each side with its owner; nothing when no tally moves.
    pub(super) fn tally_ops(
        table: &Table,
        before: Option<(Option<&str>, &Row)>,
        after: Option<(Option<&str>, &Row)>,
    ) -> Vec<WriteOp> {
        let Some(columns) = tallied_columns(table) else {
            return Vec::new();
        };
        let mut deltas: Vec<(Key, i64)> = Vec::new();
        let mut add = |key: Key, by: i64| match deltas.iter_mut().find(|(k, _)| *k == key) {
            Some((_, total)) => *total += by,
            None => deltas.push((key, by)),
        };
        if let Some((owner, row)) = before {
            for key in tallies_of(table, &columns, owner, row) {
                add(key, -1);
            }
        }
        if let Some((owner, row)) = after {
            for key in tallies_of(table, &columns, owner, row) {
                add(key, 1);
            }
        }
        deltas
            .into_iter()
            .filter(|(_, by)| *by != 0)
            .map(|(key, by)| WriteOp::update(key, Update::new().add(COUNT_ATTR, by)))
            .collect()
    }

    /// How many of `owner`'s rows `table` holds, in total or with `column` = `value`, from
    /// the tally (one read); None when that count is not tallied.
    pub async fn tallied_count(
        &self,
        table: &Table,
        owner: &str,
        by: Option<(&str, &str)>,
    ) -> Result<Option<u64>, RowError> {
        let Some(columns) = tallied_columns(table) else {
            return Ok(None);
        };
        if let Some((column, _)) = by
            && !columns.contains(&column)
        {
            return Ok(None);
        }
        let item = self.store.get(&tally_key(table, owner, by)).await?;
        let count = item.and_then(|i| i.i64(COUNT_ATTR)).unwrap_or(0);
        Ok(Some(u64::try_from(count).unwrap_or(0)))
    }
}

impl Rows {
    /// Sets `owner`'s tallies of `table` to what its rows hold, and returns how many rows
    /// that is (None: the table has no tallies). For a store written before tallies were
    /// kept: its counts would otherwise start from nothing. Reads every row of the owner's
    /// table. Run with the owner's writes stopped: a write between the reading and the
    /// setting would be left out of the count.
    pub async fn recount_tallies(
        &self,
        table: &'static Table,
        owner: &str,
    ) -> Result<Option<u64>, RowError> {
        let Some(columns) = tallied_columns(table) else {
            return Ok(None);
        };
        let mut counts: BTreeMap<Key, i64> = BTreeMap::new();
        // Every tally kept so far is set: to its recount, or to 0 when no row holds its value.
        let kept = Query::partition(Index::Table, layout::owner_column_partition(owner)).sort(
            SortCondition::BeginsWith(format!("counter#rows#{}#", table.name)),
        );
        for item in self.query_all(kept).await? {
            counts.insert(item.key()?, 0);
        }
        counts.insert(tally_key(table, owner, None), 0);
        let mut request = ListRequest {
            limit: 1000,
            ..ListRequest::default()
        };
        loop {
            let page = self.list(table, Some(owner), request.clone()).await?;
            for row in &page.rows {
                for key in tallies_of(table, &columns, Some(owner), row) {
                    *counts.entry(key).or_default() += 1;
                }
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        let total = counts
            .get(&tally_key(table, owner, None))
            .copied()
            .unwrap_or(0);
        let puts: Vec<BatchOp> = counts
            .into_iter()
            .map(|(key, count)| BatchOp::Put(Item::new(&key).with(COUNT_ATTR, count)))
            .collect();
        self.store.batch_write(puts).await?;
        Ok(Some(u64::try_from(total).unwrap_or(0)))
    }

    /// [`Rows::recount_tallies`] for every tallied table of `owner`: each table's name with
    /// its row count.
    pub async fn recount_all_tallies(
        &self,
        owner: &str,
    ) -> Result<Vec<(&'static str, u64)>, RowError> {
        let mut recounted = Vec::new();
        for table in schema::TABLES.iter() {
            if let Some(count) = self.recount_tallies(table, owner).await? {
                recounted.push((table.name, count));
            }
        }
        Ok(recounted)
    }

    /// Every item `query` selects, page after page.
    async fn query_all(&self, mut query: Query) -> Result<Vec<Item>, RowError> {
        let mut items = Vec::new();
        loop {
            let page = self.store.query(query.clone()).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => query = query.after(Some(next)),
                None => return Ok(items),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(owner: &str, status: &str, source: Option<&str>) -> Row {
        let mut row = Row::new();
        row.insert("client_id".into(), Value::String(owner.into()));
        row.insert("status".into(), Value::String(status.into()));
        if let Some(source) = source {
            row.insert("source".into(), Value::String(source.into()));
        }
        row
    }

    fn deltas(ops: &[WriteOp]) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = ops
            .iter()
            .filter_map(|op| match op {
                WriteOp::Update { key, update, .. } => Some((
                    key.sk.clone(),
                    update
                        .add
                        .first()
                        .and_then(|(_, n)| n.as_i64())
                        .unwrap_or(0),
                )),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn an_insert_counts_the_row_in_its_total_and_by_each_value() {
        let row = lead("u1", "New", Some("csv"));
        let ops = Rows::tally_ops(&schema::LEADS, None, Some((Some("u1"), &row)));
        assert_eq!(
            deltas(&ops),
            vec![
                ("counter#rows#leads".to_owned(), 1),
                ("counter#rows#leads#source#csv".to_owned(), 1),
                ("counter#rows#leads#status#New".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn a_status_change_moves_one_count_and_leaves_the_total() {
        let before = lead("u1", "New", Some("csv"));
        let after = lead("u1", "Qualified", Some("csv"));
        let ops = Rows::tally_ops(
            &schema::LEADS,
            Some((Some("u1"), &before)),
            Some((Some("u1"), &after)),
        );
        assert_eq!(
            deltas(&ops),
            vec![
                ("counter#rows#leads#status#New".to_owned(), -1),
                ("counter#rows#leads#status#Qualified".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn a_delete_uncounts_and_untallied_tables_or_ownerless_rows_write_nothing() {
        let row = lead("u1", "Lost", None);
        let ops = Rows::tally_ops(&schema::LEADS, Some((Some("u1"), &row)), None);
        assert_eq!(
            deltas(&ops),
            vec![
                ("counter#rows#leads".to_owned(), -1),
                ("counter#rows#leads#status#Lost".to_owned(), -1),
            ]
        );
        assert!(Rows::tally_ops(&schema::PROFILES, None, Some((Some("u1"), &row))).is_empty());
        assert!(Rows::tally_ops(&schema::LEADS, None, Some((None, &row))).is_empty());
    }
}
