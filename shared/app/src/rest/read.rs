//! Reading: the caller's visible rows narrowed by an index where an equality filter allows,
//! then filtered, ordered, counted, cut to the range and shaped by `select=`.

use std::cmp::Ordering;

use scaliyo_domain::postgrest::{Condition, Operand, Operator, Query, SelectItem, order_values};
use scaliyo_domain::schema::{Scope, Table};
use serde_json::{Map, Value};

use super::{RestError, RestQueries};
use crate::access::{Actor, ListParams};
use crate::layout;
use crate::rows::Row;

/// Rows per page of the internal reads.
const READ_PAGE: u32 = 1000;

/// Which rows of the result to return: `offset` and at most `limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    pub offset: u64,
    pub limit: Option<u64>,
}

/// A read's answer: the rows of the range and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub rows: Vec<Value>,
    pub total: usize,
    pub offset: u64,
}

/// `column = value` filters at the top level: what an index can answer.
fn equalities(filters: &[Condition]) -> Vec<(String, String)> {
    filters
        .iter()
        .filter_map(|f| match f {
            Condition::Compare {
                column,
                negated: false,
                op: Operator::Eq,
                operand: Operand::Text(value),
            } if column.path.is_empty() => Some((column.column.clone(), value.clone())),
            _ => None,
        })
        .collect()
}

/// The index filters for a read: the owner column (the caller's partition) and the
/// equality columns of the index that takes the most of the equality filters.
fn index_filters(table: &Table, filters: &[Condition]) -> Vec<(String, String)> {
    let equal = equalities(filters);
    let value_of = |column: &str| {
        let mut values = equal.iter().filter(|(c, _)| c == column).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value.clone()),
            _ => None,
        }
    };
    let mut chosen: Vec<(String, String)> = Vec::new();
    if let Scope::Owner(column) = table.scope
        && let Some(value) = value_of(column)
    {
        chosen.push((column.to_owned(), value));
    }
    let best = layout::layout(table.name).and_then(|layout| {
        layout
            .indexes
            .iter()
            .filter(|i| !i.sharded && !i.equality.is_empty())
            .filter_map(|i| {
                let pairs: Option<Vec<(String, String)>> = i
                    .equality
                    .iter()
                    .map(|p| value_of(p.column()).map(|v| (p.column().to_owned(), v)))
                    .collect();
                pairs
            })
            .max_by_key(Vec::len)
    });
    chosen.extend(best.unwrap_or_default());
    chosen
}

/// Orders rows by the query's terms (NULLs where the term puts them).
pub(super) fn sort(rows: &mut [Row], query: &Query) {
    if query.order.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        for term in &query.order {
            let (x, y) = (term.column.value_in(a), term.column.value_in(b));
            let ordering = match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => {
                    if term.nulls_first() {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (Some(_), None) => {
                    if term.nulls_first() {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (Some(x), Some(y)) => {
                    let ordering = order_values(&x, &y);
                    if term.descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                }
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
}

/// A row shaped by `select=` (its embeds already resolved into `embedded`).
pub(super) fn project(row: &Row, items: &[SelectItem], embedded: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for item in items {
        match item {
            SelectItem::Star => {
                for (column, value) in row {
                    out.insert(column.clone(), value.clone());
                }
            }
            SelectItem::Column { alias, path } => {
                let name = alias.as_deref().unwrap_or(path.output_name());
                out.insert(name.to_owned(), path.value_in(row).unwrap_or(Value::Null));
            }
            SelectItem::Embed(embed) => {
                out.insert(
                    embed.name().to_owned(),
                    embedded.get(embed.name()).cloned().unwrap_or(Value::Null),
                );
            }
            SelectItem::Count => {}
        }
    }
    Value::Object(out)
}

impl RestQueries {
    /// The rows of `table` the actor sees that match every filter, in the store's order,
    /// read page by page through an index filter of `filters` when the layout has one (the
    /// whole partition without). With `enough`, the read stops once that many matched — an
    /// unordered page needs no more; without, it reads everything, at most the scan limit.
    async fn scan(
        &self,
        actor: &Actor,
        table: &Table,
        filters: &[Condition],
        enough: Option<usize>,
    ) -> Result<Vec<Row>, RestError> {
        let mut index = index_filters(table, filters);
        let mut matched = Vec::new();
        let mut read = 0;
        let mut cursor = None;
        loop {
            let params = ListParams {
                filters: index.clone(),
                limit: Some(READ_PAGE),
                cursor: cursor.clone(),
                order: None,
            };
            let page = match self
                .access
                .list_paged(actor, table.name, params, READ_PAGE)
                .await
            {
                Ok(page) => page,
                // The layout could not take these filters together: read the partition.
                Err(crate::access::AccessError::Row(crate::rows::RowError::Invalid {
                    column,
                    ..
                })) if column == "filter" && !index.is_empty() && cursor.is_none() => {
                    index.clear();
                    continue;
                }
                // The anonymous role reads no rows of a table without public ones, as
                // row-level security answers: an empty result, not an error.
                Err(crate::access::AccessError::Unauthenticated) if actor.user_id().is_none() => {
                    return Ok(Vec::new());
                }
                Err(error) => return Err(error.into()),
            };
            read += page.rows.len();
            matched.extend(
                page.rows
                    .into_iter()
                    .filter(|row| filters.iter().all(|f| f.matches(row))),
            );
            if enough.is_some_and(|enough| matched.len() >= enough) {
                return Ok(matched);
            }
            if read > self.scan_limit {
                return Err(RestError::TooBroad {
                    table: table.name.to_owned(),
                    limit: self.scan_limit,
                });
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(matched),
            }
        }
    }

    /// The visible rows matching every filter, in the query's order.
    pub(super) async fn matching(
        &self,
        actor: &Actor,
        table: &Table,
        query: &Query,
    ) -> Result<Vec<Row>, RestError> {
        let mut rows = self.scan(actor, table, &query.filters, None).await?;
        sort(&mut rows, query);
        Ok(rows)
    }

    /// `GET /rest/v1/{table}`.
    /// `counted`: the caller wants the total (`Prefer: count=exact`); without it, an
    /// unordered page stops reading once it is full.
    pub async fn select(
        &self,
        actor: &Actor,
        table_name: &str,
        query: &Query,
        range: Range,
        counted: bool,
    ) -> Result<Selected, RestError> {
        let table = Self::table(table_name)?;
        Self::check_query(table, query)?;
        let plan = self.embedding(table, query)?;
        // The first `offset + limit` matches in the store's order are the page when nothing
        // reorders the rows, narrows them (`!inner`) or counts them all.
        let enough = match range.limit {
            Some(limit) if !counted && query.order.is_empty() && !plan.narrows() => {
                usize::try_from(range.offset.saturating_add(limit)).ok()
            }
            _ => None,
        };
        let rows = match enough {
            Some(enough) => {
                self.scan(actor, table, &query.filters, Some(enough))
                    .await?
            }
            None => self.matching(actor, table, query).await?,
        };
        // `!inner` embeds decide which parents exist, so they are resolved before counting.
        let (rows, mut embedded) = if plan.narrows() {
            let resolved = self.embed_all(actor, &plan, rows).await?;
            let (rows, embedded): (Vec<Row>, Vec<Map<String, Value>>) =
                resolved.into_iter().unzip();
            (rows, Some(embedded))
        } else {
            (rows, None)
        };
        let total = rows.len();
        let start = usize::try_from(range.offset).unwrap_or(usize::MAX);
        let take = range
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let page: Vec<Row> = rows.into_iter().skip(start).take(take).collect();
        let embedded: Vec<Map<String, Value>> = match embedded.take() {
            Some(all) => all.into_iter().skip(start).take(take).collect(),
            None => self
                .embed_all(actor, &plan, page.clone())
                .await?
                .into_iter()
                .map(|(_, e)| e)
                .collect(),
        };
        let rows = page
            .iter()
            .zip(embedded.iter())
            .map(|(row, embedded)| project(row, &query.select, embedded))
            .collect();
        Ok(Selected {
            rows,
            total,
            offset: range.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scaliyo_domain::ids::OwnerId;
    use scaliyo_embedded::RedbTable;
    use scaliyo_store::SystemClock;
    use serde_json::json;

    use super::*;
    use crate::access::Access;
    use crate::rest::RestQueries;

    /// 300 leads, a scan bound of 100: only a read that stops early can answer.
    async fn workspace() -> (RestQueries, Actor, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(SystemClock);
        let table = RedbTable::open(&dir.path().join("store.redb"), clock.clone())
            .expect("the embedded store opens");
        let access = Arc::new(Access::over(Arc::new(table), clock));
        let actor = Actor::acting_for(OwnerId::new_random());
        for i in 0..300 {
            let name = if i % 3 == 0 { "Ana" } else { "Ben" };
            let row = json!({ "name": format!("{name} {i}") });
            access
                .create(
                    &actor,
                    "leads",
                    row.as_object().cloned().unwrap_or_default(),
                )
                .await
                .expect("a lead");
        }
        let rest = RestQueries::new(access).with_scan_limit(100);
        (rest, actor, dir)
    }

    fn query(pairs: &[(&str, &str)]) -> Query {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Query::parse(&pairs).expect("a query")
    }

    #[tokio::test]
    async fn an_unordered_page_stops_reading_once_full_and_a_count_or_order_reads_all() {
        let (rest, actor, _dir) = workspace().await;
        let ana = query(&[("name", "ilike.ana*")]);
        let page = Range {
            offset: 5,
            limit: Some(10),
        };
        let selected = rest
            .select(&actor, "leads", &ana, page, false)
            .await
            .expect("the first page, read no further than needed");
        assert_eq!(selected.rows.len(), 10);
        assert!(
            selected
                .rows
                .iter()
                .all(|row| row["name"].as_str().unwrap_or_default().starts_with("Ana"))
        );
        // A count needs every match, and an order every row: past the bound, both refuse.
        let counted = rest.select(&actor, "leads", &ana, page, true).await;
        assert!(
            matches!(counted, Err(RestError::TooBroad { .. })),
            "{counted:?}"
        );
        let ordered = query(&[("name", "ilike.ana*"), ("order", "name.desc")]);
        let sorted = rest.select(&actor, "leads", &ordered, page, false).await;
        assert!(
            matches!(sorted, Err(RestError::TooBroad { .. })),
            "{sorted:?}"
        );
    }
}
