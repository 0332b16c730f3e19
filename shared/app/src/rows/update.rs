//! Updating rows under optimistic concurrency (the row version every guarded write checks),
//! moving uniqueness items with the values they guard.

use super::*;

/// How an update is written.
pub(super) struct UpdateHow {
    /// The system's own update (a cascade's SET NULL): the owner column may change.
    pub internal: bool,
    /// The row's internal attributes survive (a client's update).
    pub keep_internal: bool,
    /// The caller's actions in the same transaction.
    pub extra: Vec<Extra>,
}

impl Rows {
    /// Applies a partial update. The primary key and the owner column cannot change.
    pub async fn update(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        patch: Row,
    ) -> Result<Row, RowError> {
        self.read_and_update(table, owner, id, patch, false, Vec::new())
            .await
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
        self.read_and_update(table, owner, id, patch, true, Vec::new())
            .await
    }

    /// [`Rows::update_keeping_internal`] with the caller's extra actions (an audit entry) in
    /// the same transaction.
    pub async fn update_keeping_internal_with(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        patch: Row,
        extra: Vec<Extra>,
    ) -> Result<Row, RowError> {
        self.read_and_update(table, owner, id, patch, true, extra)
            .await
    }

    pub(super) async fn read_and_update(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        id: &str,
        patch: Row,
        keep_internal: bool,
        extra: Vec<Extra>,
    ) -> Result<Row, RowError> {
        let item = self
            .get_item(table, owner, id)
            .await?
            .ok_or(RowError::NotFound)?;
        let how = UpdateHow {
            internal: false,
            keep_internal,
            extra,
        };
        self.write_update(table, owner, &item, patch, how).await
    }

    /// The trigger `update_<table>_updated_at` of the seed.
    pub(super) fn stamp_updated_at(&self, table: &Table, row: &mut Row) {
        if table.has_updated_at() {
            row.insert(
                "updated_at".into(),
                Value::String(timestamp_text(self.clock.now())),
            );
        }
    }

    /// A guarded state change of a row already read (from a get or an index query): the put
    /// that replaces `item` only if nobody changed it since (its version), with `patch`
    /// applied and the given internal attributes (leases, claims) set — first — and the adds
    /// that move the row's tallies, to be written in the same transaction. Work queues use it to
    /// claim and settle rows without a second read. The patch must not touch unique or
    /// foreign-key columns (their guard items are not rewritten here).
    pub fn transition_ops(
        &self,
        table: &'static Table,
        item: &Item,
        patch: Row,
        internal: &[(&str, StoreValue)],
    ) -> Result<(Row, Vec<WriteOp>), RowError> {
        let before = from_item(table, item);
        let mut row = before.clone();
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
        let mut ops = vec![WriteOp::Put {
            item: new_item,
            condition: Some(guard),
        }];
        ops.extend(Self::tally_ops(
            table,
            Some((owner.as_deref(), &before)),
            Some((owner.as_deref(), &row)),
        ));
        Ok((row, ops))
    }

    /// [`Rows::transition_ops`] as one action, for rows whose change moves no tally (a
    /// table without tallies, or a patch leaving the tallied columns alone): a change that
    /// would move one is refused as a bug of the caller's, never written uncounted.
    pub fn transition_op(
        &self,
        table: &'static Table,
        item: &Item,
        patch: Row,
        internal: &[(&str, StoreValue)],
    ) -> Result<(Row, WriteOp), RowError> {
        let (row, ops) = self.transition_ops(table, item, patch, internal)?;
        let mut ops = ops.into_iter();
        match (ops.next(), ops.next()) {
            (Some(op), None) => Ok((row, op)),
            _ => Err(RowError::Invariant(format!(
                "a transition of {} moving its tallies needs transition_ops",
                table.name
            ))),
        }
    }

    pub(super) async fn write_update(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        item: &Item,
        patch: Row,
        how: UpdateHow,
    ) -> Result<Row, RowError> {
        let UpdateHow {
            internal,
            keep_internal,
            extra,
        } = how;
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
        let owner_before = item_owner(table, item);
        let tallies = Self::tally_ops(
            table,
            Some((owner_before.as_deref(), &current)),
            Some((owner_of(table, &row, owner.as_deref()), &row)),
        );
        for op in tallies {
            ops.push(op);
            guards.push(Guard::Row);
        }
        for Extra { op, on_failure } in extra {
            ops.push(op);
            guards.push(Guard::Extra(on_failure));
        }
        match self.store.transact_write(ops).await {
            Ok(()) => Ok(row),
            Err(StoreError::ConditionFailed { index: Some(0) }) => Err(RowError::Concurrent),
            Err(e) => Err(explain(table, &guards, e)),
        }
    }
}
