//! Creating rows: defaults and validation, then the row with its uniqueness items and
//! reference guards in one transaction.

use super::*;

impl Rows {
    /// Guards for the uniqueness items and references of a row being written.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn constraint_ops(
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

    pub(super) fn row_ops(
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
        for op in Self::tally_ops(table, None, Some((owner, row))) {
            ops.push(op);
            guards.push(Guard::Row);
        }
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

    pub(super) async fn insert_checked(
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
}
