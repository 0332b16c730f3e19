//! Reading rows: by id, by a unique tuple, and lists over the laid-out indexes with cursor
//! pagination.

use super::*;

impl Rows {
    pub(super) async fn get_item(
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

    /// Every row `request` selects, page after page (`request.limit` rows a page).
    pub async fn list_all(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        mut request: ListRequest,
    ) -> Result<Vec<Row>, RowError> {
        let mut all = Vec::new();
        loop {
            let page = self.list(table, owner, request.clone()).await?;
            all.extend(page.rows);
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    pub async fn list(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        request: ListRequest,
    ) -> Result<RowPage, RowError> {
        let query = Self::list_query(table, owner, &request)?
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

    /// How many rows a listing by an owner's index holds, without reading them (one counted
    /// query). Only an index whose partition is the owner's alone can be counted so: a
    /// global one holds every tenant's rows, the owner partition other tables' items.
    pub async fn count(
        &self,
        table: &'static Table,
        owner: &str,
        request: &ListRequest,
    ) -> Result<u64, RowError> {
        let layout = Self::layout(table);
        let counted = request
            .index
            .as_ref()
            .and_then(|name| layout.indexes.iter().find(|i| &i.name == name));
        if !counted.is_some_and(|i| i.owner_prefixed && !i.sharded && request.range.is_none()) {
            return Err(invalid("index", "only an owner's index can be counted"));
        }
        let query = Self::list_query(table, Some(owner), request)?;
        Ok(self.store.count(query).await?)
    }

    /// The store query of a listing, before its page size and cursor.
    fn list_query(
        table: &'static Table,
        owner: Option<&str>,
        request: &ListRequest,
    ) -> Result<Query, RowError> {
        let layout = Self::layout(table);
        let mut query = match &request.index {
            None => match (table.scope, owner) {
                (Scope::Owner(_) | Scope::OwnerOf(_), Some(owner)) => {
                    Query::partition(Index::Table, layout::owner_column_partition(owner))
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
        Ok(query)
    }

    /// The rows of a listing that `keep` accepts, page after page (at most `max_pages`): for
    /// the short tables the server scans itself (system prompts, default prompts).
    pub async fn list_matching(
        &self,
        table: &'static Table,
        owner: Option<&str>,
        max_pages: usize,
        keep: impl Fn(&Row) -> bool,
    ) -> Result<Vec<Row>, RowError> {
        let mut kept = Vec::new();
        let mut cursor = None;
        for _ in 0..max_pages {
            let page = self
                .list(
                    table,
                    owner,
                    ListRequest {
                        limit: 100,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            kept.extend(page.rows.into_iter().filter(|row| keep(row)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(kept)
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

    /// The raw item (internal attributes included) a uniqueness constraint maps the given
    /// row values to.
    pub async fn find_unique_raw(
        &self,
        unique: &Unique,
        values: &Row,
    ) -> Result<Option<Item>, RowError> {
        self.find_unique_item(unique, values).await
    }

    /// The item a uniqueness item points at, if both exist.
    pub(super) async fn find_unique_item(
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
        owner: OwnerId,
    ) -> Result<Option<Row>, RowError> {
        Ok(self
            .find_unique_item(unique, values)
            .await?
            .filter(|item| owned_by(table, item, Some(&owner.to_string())))
            .map(|item| from_item(table, &item)))
    }
}
