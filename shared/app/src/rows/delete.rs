//! Deleting rows and carrying out every ON DELETE action of the rows that reference them.

use super::*;

impl Rows {
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

    pub(super) fn delete_item<'a>(
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
            let owner = item_owner(table, &item);
            ops.extend(Self::tally_ops(table, Some((owner.as_deref(), &row)), None));
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
    pub(super) async fn apply_on_delete_within(
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
                            .write_update(
                                child,
                                owner.as_deref(),
                                &item,
                                patch,
                                super::update::UpdateHow {
                                    internal: true,
                                    keep_internal: true,
                                    extra: Vec::new(),
                                },
                            )
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
    pub(super) async fn children(
        &self,
        table: &'static Table,
        column: &str,
        parent_id: &str,
        owner: Option<&str>,
    ) -> Result<Vec<Item>, RowError> {
        const PAGE: u32 = 100;
        let query = match table.scope {
            Scope::Owner(owner_column) if owner_column == column => {
                Query::partition(Index::Table, layout::owner_column_partition(parent_id))
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
}
