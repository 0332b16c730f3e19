//! Writing: inserts (one object or an array, `columns=`), upserts on the schema's unique
//! constraints (`Prefer: resolution=…` with `on_conflict=`), and updates and deletes of the
//! rows a filter matches — each row through `Access`, so a row the caller may not change is
//! simply not matched, as with PostgreSQL's row-level security.

use std::collections::BTreeSet;

use scaliyo_domain::postgrest::Query;
use scaliyo_domain::schema::{Scope, Table};
use serde_json::{Map, Value, json};

use super::read::project;
use super::{RestError, RestQueries};
use crate::access::{AccessError, Actor};
use crate::rows::{Row, RowError};

/// `Prefer: resolution=merge-duplicates|ignore-duplicates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

/// An error that means "this row is not yours to change": the row is not matched.
fn not_matched(error: &AccessError) -> bool {
    matches!(
        error,
        AccessError::Forbidden(_) | AccessError::Row(RowError::NotFound)
    )
}

fn id_of(row: &Row) -> String {
    crate::rows::field(row, "id")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

impl RestQueries {
    fn objects(table: &Table, body: Value, query: &Query) -> Result<Vec<Row>, RestError> {
        let objects = match body {
            Value::Object(object) => vec![object],
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => Ok(object),
                    _ => Err(RestError::BadBody),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(RestError::BadBody),
        };
        if query.columns.is_empty() {
            return Ok(objects);
        }
        for column in &query.columns {
            Self::column_exists(table, column)?;
        }
        Ok(objects
            .into_iter()
            .map(|mut object| {
                object.retain(|k, _| query.columns.contains(k));
                object
            })
            .collect())
    }

    fn shaped(rows: &[Row], query: &Query) -> Vec<Value> {
        let empty = Map::new();
        rows.iter()
            .map(|row| project(row, &query.select, &empty))
            .collect()
    }

    /// `POST /rest/v1/{table}`: the rows written (an `ignore-duplicates` upsert leaves the
    /// existing ones out). A failure part-way removes the rows this request created, so a
    /// bulk insert is all or nothing for the caller.
    pub async fn insert(
        &self,
        actor: &Actor,
        table_name: &str,
        body: Value,
        query: &Query,
        resolution: Option<Resolution>,
    ) -> Result<Vec<Value>, RestError> {
        let table = Self::table(table_name)?;
        Self::check_query(table, query)?;
        let objects = Self::objects(table, body, query)?;
        let mut written = Vec::new();
        let mut created_ids = Vec::new();
        for object in objects {
            let result = match resolution {
                Some(resolution) => {
                    self.upsert_one(actor, table, object, query, resolution)
                        .await
                }
                None => self
                    .access
                    .create(actor, table.name, object)
                    .await
                    .map(|row| Some((row, true)))
                    .map_err(RestError::from),
            };
            match result {
                Ok(Some((row, created))) => {
                    if created {
                        created_ids.push(id_of(&row));
                    }
                    written.push(row);
                }
                Ok(None) => {}
                Err(error) => {
                    for id in created_ids.iter().rev() {
                        if let Err(undo) = self.access.delete(actor, table.name, id).await {
                            tracing::warn!(error = %undo, table = table.name, "a row of a failed bulk insert could not be removed");
                        }
                    }
                    return Err(error);
                }
            }
        }
        Ok(Self::shaped(&written, query))
    }

    /// The unique constraint an upsert matches on: `on_conflict=` columns, else the key.
    fn conflict_target(
        table: &'static Table,
        query: &Query,
    ) -> Result<Option<&'static scaliyo_domain::schema::Unique>, RestError> {
        let wanted: BTreeSet<&str> = query.on_conflict.iter().map(String::as_str).collect();
        if wanted.is_empty() || wanted == BTreeSet::from(["id"]) {
            return Ok(None);
        }
        table
            .uniques
            .iter()
            .find(|u| u.parts.iter().map(|p| p.column()).collect::<BTreeSet<_>>() == wanted)
            .map(Some)
            .ok_or_else(|| {
                RestError::Parse(scaliyo_domain::postgrest::ParseError::new(format!(
                    "there is no unique constraint on {} matching on_conflict={}",
                    table.name,
                    query.on_conflict.join(",")
                )))
            })
    }

    /// One object of an upsert: the row written and whether it is new, or `None` for a
    /// duplicate that is ignored.
    async fn upsert_one(
        &self,
        actor: &Actor,
        table: &'static Table,
        object: Row,
        query: &Query,
        resolution: Resolution,
    ) -> Result<Option<(Row, bool)>, RestError> {
        let target = Self::conflict_target(table, query)?;
        let existing_id = match target {
            None => crate::rows::field(&object, "id")
                .as_str()
                .map(str::to_owned),
            Some(unique) => {
                let mut probe = object.clone();
                // The owner column defaults to the caller, as the insert would set it.
                if let (Scope::Owner(column), Some(user)) = (table.scope, actor.user_id())
                    && !probe.contains_key(column)
                {
                    probe.insert(column.to_owned(), json!(user.to_string()));
                }
                self.access
                    .rows()
                    .find_unique(table, unique, &probe)
                    .await?
                    .map(|row| id_of(&row))
            }
        };
        let existing = match &existing_id {
            Some(id) => match self.access.get(actor, table.name, id).await {
                Ok(row) => Some(row),
                Err(AccessError::Row(RowError::NotFound)) if target.is_some() => {
                    // Someone else's row holds these values: a conflict, never a write to it.
                    return Err(RowError::Conflict {
                        constraint: target.map(|u| u.name).unwrap_or("id").to_owned(),
                    }
                    .into());
                }
                Err(AccessError::Row(RowError::NotFound)) => None,
                Err(error) => return Err(error.into()),
            },
            None => None,
        };
        let Some(existing) = existing else {
            let row = self.access.create(actor, table.name, object).await?;
            return Ok(Some((row, true)));
        };
        if resolution == Resolution::IgnoreDuplicates {
            return Ok(None);
        }
        let keys: BTreeSet<&str> = target
            .map(|u| u.parts.iter().map(|p| p.column()).collect())
            .unwrap_or_default();
        let mut patch = object;
        patch.retain(|column, value| {
            column != "id" && !keys.contains(column.as_str()) && existing.get(column) != Some(value)
        });
        if patch.is_empty() {
            return Ok(Some((existing, false)));
        }
        let row = self
            .access
            .update(actor, table.name, &id_of(&existing), patch)
            .await?;
        Ok(Some((row, false)))
    }

    /// `PATCH /rest/v1/{table}?filters`: the rows changed (none is a success).
    pub async fn update(
        &self,
        actor: &Actor,
        table_name: &str,
        query: &Query,
        patch: Row,
    ) -> Result<Vec<Value>, RestError> {
        let table = Self::table(table_name)?;
        Self::check_query(table, query)?;
        for column in patch.keys() {
            if table.column(column).is_none() {
                return Err(RowError::UnknownField(column.clone()).into());
            }
        }
        let matched = self.matching(actor, table, query).await?;
        let mut changed = Vec::new();
        for row in matched {
            match self
                .access
                .update(actor, table.name, &id_of(&row), patch.clone())
                .await
            {
                Ok(row) => changed.push(row),
                Err(error) if not_matched(&error) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Self::shaped(&changed, query))
    }

    /// `DELETE /rest/v1/{table}?filters`: the rows deleted, as they were.
    pub async fn delete(
        &self,
        actor: &Actor,
        table_name: &str,
        query: &Query,
    ) -> Result<Vec<Value>, RestError> {
        let table = Self::table(table_name)?;
        Self::check_query(table, query)?;
        let matched = self.matching(actor, table, query).await?;
        let mut deleted = Vec::new();
        for row in matched {
            match self.access.delete(actor, table.name, &id_of(&row)).await {
                Ok(()) => deleted.push(row),
                Err(error) if not_matched(&error) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Self::shaped(&deleted, query))
    }
}
