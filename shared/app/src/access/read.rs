//! Reading through the policies: a row the actor may not see does not exist for them.

use super::*;

impl Access {
    /// A row by id as this actor can see it, and the partition it was found in.
    pub(super) async fn find_visible(
        &self,
        actor: &Actor,
        table: &'static Table,
        id: &str,
    ) -> Result<Option<(Row, Option<String>)>, AccessError> {
        for partition in Self::partitions(actor, table) {
            let Some(row) = self.rows.get(table, partition.as_deref(), id).await? else {
                continue;
            };
            if self.allows(actor, table, Op::Select, &row).await? {
                return Ok(Some((row, partition)));
            }
            if let Some(grant) = &actor.support
                && partition.as_deref() == Some(grant.target_user_id.as_str())
            {
                return Ok(Some((row, partition)));
            }
        }
        Ok(None)
    }

    /// Drops write-only secret columns from a row on its way out.
    pub(super) fn redact(table: &Table, mut row: Row) -> Row {
        row.retain(|column, _| !schema::is_secret(table.name, column));
        row
    }

    pub async fn get(&self, actor: &Actor, table_name: &str, id: &str) -> Result<Row, AccessError> {
        let table = Self::table(table_name)?;
        let (row, partition) = self
            .find_visible(actor, table, id)
            .await?
            .ok_or_else(not_found)?;
        if actor
            .support
            .as_ref()
            .is_some_and(|g| partition.as_deref() == Some(g.target_user_id.as_str()))
        {
            self.audit_support_read(actor, table, Some(id)).await?;
        }
        Ok(Self::redact(table, row))
    }

    /// How many rows match `filters` (`column = value`, the owner column's only as the
    /// caller), without reading them — when that count is what the actor may see (its own
    /// partition of a table whose owner sees every row): from the owner's tally when one
    /// keeps it (all rows, or one value of a tallied column), else counted by an index of
    /// exactly those columns. `None`: the rows must be read to be counted.
    pub(crate) async fn count_own(
        &self,
        actor: &Actor,
        table_name: &str,
        filters: &[(String, String)],
    ) -> Result<Option<u64>, AccessError> {
        let table = Self::table(table_name)?;
        let (Scope::Owner(owner_column), Some(user), None) =
            (table.scope, actor.user_id(), &actor.support)
        else {
            return Ok(None);
        };
        let owner_sees_all = table
            .policy
            .iter()
            .any(|rule| rule.ops.contains(&Op::Select) && rule.who == Who::Owner(owner_column));
        if !owner_sees_all {
            return Ok(None);
        }
        let user = user.to_string();
        let mut rest: Vec<&(String, String)> = Vec::new();
        for filter in filters {
            if filter.0 == owner_column {
                if filter.1 != user {
                    return Ok(Some(0));
                }
            } else {
                rest.push(filter);
            }
        }
        // The owner's tallies, kept by every write, answer a count of all rows or of one
        // value of a tallied column with one item read.
        let by = match rest.as_slice() {
            [] => Some(None),
            [(column, value)] => Some(Some((column.as_str(), value.as_str()))),
            _ => None,
        };
        if let Some(by) = by
            && let Some(count) = self.rows.tallied_count(table, &user, by).await?
        {
            return Ok(Some(count));
        }
        let Some(layout) = layout::layout(table.name) else {
            return Ok(None);
        };
        let index = layout.indexes.iter().find(|i| {
            i.owner_prefixed
                && !i.sharded
                && i.filter.is_none()
                && i.equality.len() == rest.len()
                && i.equality.iter().all(|part| {
                    // A filter's text is the key's only for a text column kept verbatim
                    // (numbers are keyed sortable, uuids compare case-insensitively).
                    matches!(part, schema::KeyPart::Column(_))
                        && table
                            .column(part.column())
                            .is_some_and(|c| c.ty == schema::ColumnType::Text)
                        && rest.iter().filter(|(c, _)| c == part.column()).count() == 1
                })
        });
        let Some(index) = index else {
            return Ok(None);
        };
        let equals = index
            .equality
            .iter()
            .filter_map(|part| rest.iter().find(|(c, _)| c == part.column()))
            .map(|(_, v)| v.clone())
            .collect();
        let request = ListRequest {
            index: Some(index.name.clone()),
            equals,
            ..Default::default()
        };
        Ok(Some(self.rows.count(table, &user, &request).await?))
    }

    pub async fn list(
        &self,
        actor: &Actor,
        table_name: &str,
        params: ListParams,
    ) -> Result<RowPage, AccessError> {
        self.list_paged(actor, table_name, params, MAX_PAGE).await
    }

    /// [`Access::list`] with pages of up to `max_page` rows, for a use case that reads a
    /// whole result in the server (the PostgREST dialect's filters), not for clients.
    pub(crate) async fn list_paged(
        &self,
        actor: &Actor,
        table_name: &str,
        params: ListParams,
        max_page: u32,
    ) -> Result<RowPage, AccessError> {
        let table = Self::table(table_name)?;
        let layout = layout::layout(table.name).ok_or_else(not_found)?;
        let limit = params.limit.unwrap_or(DEFAULT_PAGE).clamp(1, max_page);
        let owner_column = match table.scope {
            Scope::Owner(c) => Some(c),
            _ => None,
        };
        // Whose partition: the caller's, or a support session's target.
        let mut filters: Vec<(String, String)> = params.filters.clone();
        let mut partition_owner = actor.user_id().map(|u| u.to_string());
        let mut support_read = false;
        if let Some(column) = owner_column
            && let Some(position) = filters.iter().position(|(c, _)| c == column)
        {
            let (_, wanted) = filters.remove(position);
            if partition_owner.as_deref() != Some(wanted.as_str()) {
                match &actor.support {
                    Some(grant) if grant.target_user_id == wanted => {
                        partition_owner = Some(wanted);
                        support_read = true;
                    }
                    _ => return Ok(RowPage::default()),
                }
            }
        }
        let request = if filters.is_empty() && params.order.is_none() {
            if matches!(table.scope, Scope::Owner(_) | Scope::OwnerOf(_))
                && partition_owner.is_none()
            {
                // Anonymous listing of an owned table: only its shared (public) rows.
                if !table.policy.iter().any(|r| matches!(r.who, Who::Public(_))) {
                    return Err(AccessError::Unauthenticated);
                }
            }
            // A shared table whose rows belong to users lists the caller's own by default.
            let own_index = match (table.scope, actor.user_id()) {
                (Scope::Shared, Some(user)) => table
                    .policy
                    .iter()
                    .filter(|r| r.ops.contains(&Op::Select))
                    .find_map(|r| match r.who {
                        Who::Owner(column) | Who::SuperAdmin(column) => layout
                            .indexes
                            .iter()
                            .find(|i| i.equality.len() == 1 && i.equality[0].column() == column)
                            .map(|i| (i.name.clone(), user.to_string())),
                        _ => None,
                    }),
                _ => None,
            };
            match own_index {
                Some((index, user)) => ListRequest {
                    index: Some(index),
                    equals: vec![user],
                    limit,
                    cursor: params.cursor.clone(),
                    ..Default::default()
                },
                None => ListRequest {
                    limit,
                    cursor: params.cursor.clone(),
                    ..Default::default()
                },
            }
        } else {
            let wanted: Vec<&str> = filters.iter().map(|(c, _)| c.as_str()).collect();
            // In an order, an index that keeps NULLs where PostgREST puts them comes first.
            let mut candidates: Vec<&layout::IndexLayout> = layout.indexes.iter().collect();
            if params.order.is_some() {
                candidates.sort_by_key(|i| !i.null_range_last);
            }
            let index = candidates
                .into_iter()
                .find(|i| {
                    let equality: Vec<&str> = i.equality.iter().map(|p| p.column()).collect();
                    let order_ok = match &params.order {
                        Some((column, _)) => i.range.is_some_and(|r| r.column() == column),
                        None => true,
                    };
                    equality.len() == wanted.len()
                        && equality.iter().all(|c| wanted.contains(c))
                        && order_ok
                        && !i.sharded
                })
                .ok_or_else(|| {
                    let options: Vec<String> = layout
                        .indexes
                        .iter()
                        .filter(|i| !i.sharded)
                        .map(|i| {
                            let mut text: Vec<String> =
                                i.equality.iter().map(|p| p.column().to_owned()).collect();
                            if let Some(range) = i.range {
                                text.push(format!("order={}", range.column()));
                            }
                            text.join("+")
                        })
                        .collect();
                    AccessError::Row(RowError::Invalid {
                        column: "filter".into(),
                        reason: format!("{} can be listed by: {}", table.name, options.join("; ")),
                    })
                })?;
            let equals = index
                .equality
                .iter()
                .map(|p| {
                    filters
                        .iter()
                        .find(|(c, _)| c == p.column())
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect();
            ListRequest {
                index: Some(index.name.clone()),
                equals,
                range: None,
                descending: params.order.as_ref().is_some_and(|(_, desc)| *desc),
                limit,
                cursor: params.cursor.clone(),
            }
        };
        let owner = match table.scope {
            Scope::Owner(_) | Scope::OwnerOf(_) => partition_owner.clone(),
            Scope::Shared => None,
        };
        let caller = actor.user_id().map(|u| u.to_string());
        let binding = ListBinding {
            table: table.name,
            index: request.index.as_deref(),
            equals: &request.equals,
            partition: owner.as_deref(),
            caller: caller.as_deref(),
            descending: request.descending,
        };
        let mut request = request.clone();
        request.cursor = match &params.cursor {
            Some(sealed) => Some(
                self.cursors
                    .open(sealed, &binding)
                    .map_err(|_| AccessError::BadCursor)?,
            ),
            None => None,
        };
        let page = self
            .rows
            .list(table, owner.as_deref(), request.clone())
            .await?;
        let next = page
            .next
            .as_deref()
            .map(|store_cursor| self.cursors.seal(store_cursor, &binding));
        let mut rows = Vec::with_capacity(page.rows.len());
        for row in page.rows {
            if support_read || self.allows(actor, table, Op::Select, &row).await? {
                rows.push(row);
            }
        }
        // Owned tables with public rows (default templates, prompts): the anonymous or
        // first page also shows the shared ones.
        if request.index.is_none()
            && matches!(table.scope, Scope::Owner(_))
            && params.cursor.is_none()
            && table
                .policy
                .iter()
                .any(|r| matches!(r.who, Who::Public(Some(_))))
            && let Ok(shared) = self
                .rows
                .list(
                    table,
                    None,
                    ListRequest {
                        limit,
                        ..Default::default()
                    },
                )
                .await
        {
            for row in shared.rows {
                if self.allows(actor, table, Op::Select, &row).await? && !rows.contains(&row) {
                    rows.push(row);
                }
            }
        }
        if support_read {
            self.audit_support_read(actor, table, None).await?;
        }
        Ok(RowPage {
            rows: rows
                .into_iter()
                .map(|row| Self::redact(table, row))
                .collect(),
            next,
        })
    }
}
