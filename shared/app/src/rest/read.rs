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

/// What a read must answer: its rows (not for `HEAD`) and how many matched in all
/// (`Prefer: count=exact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub rows: bool,
    pub count: bool,
}

/// A read's answer: the rows of the range and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub rows: Vec<Value>,
    /// How many rows the range holds (`rows` is empty when they were not wanted).
    pub shown: usize,
    pub total: usize,
    pub offset: u64,
}

/// A read in an index's order: the index's filters and the order it gives.
struct IndexedOrder {
    filters: Vec<(String, String)>,
    order: (String, bool),
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

/// The owner column's `=` filter, when the read has exactly one.
fn owner_filter(table: &Table, equal: &[(String, String)]) -> Option<(String, String)> {
    let Scope::Owner(column) = table.scope else {
        return None;
    };
    let mut values = equal.iter().filter(|(c, _)| c == column);
    match (values.next(), values.next()) {
        (Some(filter), None) => Some(filter.clone()),
        _ => None,
    }
}

/// An index that gives the query's one order term as PostgREST orders it (NULLs where the
/// term puts them by default) under the query's `=` filters, if the layout has one.
fn indexed_order(table: &Table, query: &Query) -> Option<IndexedOrder> {
    let [term] = query.order.as_slice() else {
        return None;
    };
    if !term.column.path.is_empty() || term.nulls_first() != term.descending {
        return None;
    }
    let column = term.column.column.as_str();
    let equal = equalities(&query.filters);
    let single = |wanted: &str| {
        let mut values = equal.iter().filter(|(c, _)| c == wanted);
        match (values.next(), values.next()) {
            (Some(filter), None) => Some(filter.clone()),
            _ => None,
        }
    };
    let layout = layout::layout(table.name)?;
    layout
        .indexes
        .iter()
        .filter(|i| i.null_range_last && i.range.is_some_and(|r| r.column() == column))
        .find_map(|index| {
            let mut filters: Vec<(String, String)> =
                owner_filter(table, &equal).into_iter().collect();
            for part in &index.equality {
                filters.push(single(part.column())?);
            }
            Some(IndexedOrder {
                filters,
                order: (column.to_owned(), term.descending),
            })
        })
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
    /// The rows of `table` the actor sees that match every filter, read page by page —
    /// in `ordered`'s index order when given, else through an index filter of `filters` when
    /// the layout has one (the whole partition without), in the store's order. With
    /// `enough`, the read stops once that many matched (a page in the read's order needs no
    /// more); without, it reads everything, at most the scan limit.
    async fn scan(
        &self,
        actor: &Actor,
        table: &Table,
        filters: &[Condition],
        ordered: Option<&IndexedOrder>,
        enough: Option<usize>,
    ) -> Result<Vec<Row>, RestError> {
        let (mut index, order) = match ordered {
            Some(ordered) => (ordered.filters.clone(), Some(ordered.order.clone())),
            None => (index_filters(table, filters), None),
        };
        let mut matched = Vec::new();
        let mut read = 0;
        let mut cursor = None;
        // A page that needs `enough` rows asks for no more at first (DynamoDB charges for
        // what a read returns, up to 1 MB: a page of 50 leads cost 110-219 read units when
        // it asked for 1,000); each further read, when filters the index could not apply
        // discarded rows, asks for twice as many, up to READ_PAGE.
        let mut page_size = enough.map_or(READ_PAGE, |enough| {
            u32::try_from(enough)
                .unwrap_or(READ_PAGE)
                .clamp(1, READ_PAGE)
        });
        loop {
            let params = ListParams {
                filters: index.clone(),
                limit: Some(page_size),
                cursor: cursor.clone(),
                order: order.clone(),
            };
            let asked = page_size;
            page_size = page_size.saturating_mul(2).min(READ_PAGE);
            let page = match self
                .access
                .list_paged(actor, table.name, params, asked)
                .await
            {
                Ok(page) => page,
                // The layout could not take these filters together: read the partition.
                Err(crate::access::AccessError::Row(crate::rows::RowError::Invalid {
                    column,
                    ..
                })) if column == "filter"
                    && !index.is_empty()
                    && cursor.is_none()
                    && order.is_none() =>
                {
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
        if let Some(ordered) = indexed_order(table, query) {
            return self
                .scan(actor, table, &query.filters, Some(&ordered), None)
                .await;
        }
        let mut rows = self.scan(actor, table, &query.filters, None, None).await?;
        sort(&mut rows, query);
        Ok(rows)
    }

    /// The total of a read counted by an index without reading the rows, when every filter
    /// is an `=` the index answers and the count is what the actor may see.
    async fn indexed_count(
        &self,
        actor: &Actor,
        table: &Table,
        query: &Query,
    ) -> Result<Option<u64>, RestError> {
        let equal = equalities(&query.filters);
        if equal.len() != query.filters.len() {
            return Ok(None);
        }
        Ok(self.access.count_own(actor, table.name, &equal).await?)
    }

    /// `GET /rest/v1/{table}` (and `HEAD`: `wanted.rows` false).
    ///
    /// A page is read no further than it needs when nothing but the read's order decides
    /// it: unordered (the store's order) or ordered by an index that gives that order. The
    /// total, when wanted, is counted by an index where the filters allow; otherwise every
    /// match is read.
    pub async fn select(
        &self,
        actor: &Actor,
        table_name: &str,
        query: &Query,
        range: Range,
        wanted: Wanted,
    ) -> Result<Selected, RestError> {
        let table = Self::table(table_name)?;
        Self::check_query(table, query)?;
        let plan = self.embedding(table, query)?;
        let counted = match wanted.count && !plan.narrows() {
            true => self.indexed_count(actor, table, query).await?,
            false => None,
        };
        if let (Some(total), false) = (counted, wanted.rows) {
            let start = range.offset.min(total);
            let shown = range.limit.map_or(total - start, |l| l.min(total - start));
            return Ok(Selected {
                rows: Vec::new(),
                shown: usize::try_from(shown).unwrap_or(usize::MAX),
                total: usize::try_from(total).unwrap_or(usize::MAX),
                offset: range.offset,
            });
        }
        let ordered = indexed_order(table, query);
        let in_read_order = query.order.is_empty() || ordered.is_some();
        // The first `offset + limit` matches in the read's order are the page when nothing
        // narrows the rows (`!inner`) and the total is known or not wanted.
        let enough = match range.limit {
            Some(limit)
                if (!wanted.count || counted.is_some()) && in_read_order && !plan.narrows() =>
            {
                usize::try_from(range.offset.saturating_add(limit)).ok()
            }
            _ => None,
        };
        let rows = match enough {
            Some(enough) => {
                self.scan(actor, table, &query.filters, ordered.as_ref(), Some(enough))
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
        let total = match counted {
            Some(total) => usize::try_from(total).unwrap_or(usize::MAX),
            None => rows.len(),
        };
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
            shown: page.len(),
            rows: if wanted.rows { rows } else { Vec::new() },
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

    const ROWS: Wanted = Wanted {
        rows: true,
        count: false,
    };
    const COUNTED: Wanted = Wanted {
        rows: true,
        count: true,
    };

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
            .select(&actor, "leads", &ana, page, ROWS)
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
        let counted = rest.select(&actor, "leads", &ana, page, COUNTED).await;
        assert!(
            matches!(counted, Err(RestError::TooBroad { .. })),
            "{counted:?}"
        );
        let ordered = query(&[("name", "ilike.ana*"), ("order", "name.desc")]);
        let sorted = rest.select(&actor, "leads", &ordered, page, ROWS).await;
        assert!(
            matches!(sorted, Err(RestError::TooBroad { .. })),
            "{sorted:?}"
        );
    }

    /// 300 leads over three statuses (every tenth without a `created_at`) read with a scan
    /// bound of 50: an ordered page and a count by status are answered by their index.
    #[tokio::test]
    async fn a_page_by_status_in_created_at_order_and_its_count_come_from_the_index() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(SystemClock);
        let table = RedbTable::open(&dir.path().join("store.redb"), clock.clone())
            .expect("the embedded store opens");
        let access = Arc::new(Access::over(Arc::new(table), clock));
        let actor = Actor::acting_for(OwnerId::new_random());
        let other = Actor::acting_for(OwnerId::new_random());
        let mut qualified: Vec<(Option<String>, String)> = Vec::new();
        for i in 0..300 {
            let status = ["New", "Qualified", "Lost"][i % 3];
            let created_at =
                (i % 10 != 4).then(|| format!("2026-01-01T{:02}:{:02}:00.000000Z", i / 60, i % 60));
            let row =
                json!({ "name": format!("Lead {i}"), "status": status, "created_at": created_at });
            let created = access
                .create(
                    &actor,
                    "leads",
                    row.as_object().cloned().unwrap_or_default(),
                )
                .await
                .expect("a lead");
            if status == "Qualified" {
                qualified.push((
                    created_at,
                    created["id"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            if i < 20 {
                // Another tenant's leads never count.
                access
                    .create(
                        &other,
                        "leads",
                        row.as_object().cloned().unwrap_or_default(),
                    )
                    .await
                    .expect("another tenant's lead");
            }
        }
        let rest = RestQueries::new(access.clone()).with_scan_limit(50);
        let page = Range {
            offset: 5,
            limit: Some(10),
        };
        let created = |rows: &[Value]| -> Vec<Option<String>> {
            rows.iter()
                .map(|r| r["created_at"].as_str().map(|t| t[..16].to_owned()))
                .collect()
        };
        // Descending: the ten without a created_at first (as PostgREST orders NULLs), then
        // newest first.
        let mut expected: Vec<Option<String>> = qualified
            .iter()
            .map(|(at, _)| at.as_ref().map(|t| t[..16].to_owned()))
            .collect();
        expected.sort_by(|a, b| match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => b.cmp(a),
        });
        let newest = query(&[("status", "eq.Qualified"), ("order", "created_at.desc")]);
        let selected = rest
            .select(&actor, "leads", &newest, page, COUNTED)
            .await
            .expect("answered by the index, within the bound");
        assert_eq!(selected.total, 100);
        assert_eq!(selected.shown, 10);
        assert_eq!(created(&selected.rows), expected[5..15].to_vec());
        assert!(selected.rows.iter().all(|r| r["status"] == "Qualified"));
        // Ascending: oldest first, NULLs last.
        let oldest = query(&[("status", "eq.Qualified"), ("order", "created_at.asc")]);
        let first = rest
            .select(&actor, "leads", &oldest, page, ROWS)
            .await
            .expect("the first pages, within the bound");
        let ascending: Vec<Option<String>> = expected.iter().rev().cloned().collect();
        assert_eq!(created(&first.rows), ascending[5..15].to_vec());
        // The last page lies past the bound of 50 rows read; a wider bound reaches it.
        let wide = RestQueries::new(access).with_scan_limit(200);
        let last = wide
            .select(
                &actor,
                "leads",
                &oldest,
                Range {
                    offset: 95,
                    limit: Some(10),
                },
                ROWS,
            )
            .await
            .expect("the last page");
        assert_eq!(created(&last.rows), vec![None; 5]);
        // A further filter is applied on the way; the page still stops once full.
        let named = query(&[
            ("status", "eq.Qualified"),
            ("name", "like.Lead 1*"),
            ("order", "created_at.desc"),
            ("limit", "3"),
        ]);
        let few = rest
            .select(
                &actor,
                "leads",
                &named,
                Range {
                    offset: 0,
                    limit: Some(3),
                },
                ROWS,
            )
            .await
            .expect("a filtered page");
        assert_eq!(few.rows.len(), 3);
        assert!(
            few.rows
                .iter()
                .all(|r| r["name"].as_str().is_some_and(|n| n.starts_with("Lead 1")))
        );
        // HEAD with a count: no rows read, the range from the count.
        let head = rest
            .select(
                &actor,
                "leads",
                &query(&[("status", "eq.Qualified")]),
                Range {
                    offset: 90,
                    limit: Some(50),
                },
                Wanted {
                    rows: false,
                    count: true,
                },
            )
            .await
            .expect("a counted HEAD");
        assert_eq!((head.total, head.shown, head.rows.len()), (100, 10, 0));
        // The other tenant counts its own 7 only; an owner filter naming someone else, 0.
        let theirs = rest
            .select(
                &other,
                "leads",
                &query(&[("status", "eq.Qualified")]),
                Range::default(),
                COUNTED,
            )
            .await
            .expect("the other tenant's count");
        assert_eq!(theirs.total, 7);
        let foreign = format!(
            "eq.{}",
            other.user_id().map(|u| u.to_string()).unwrap_or_default()
        );
        let none = rest
            .select(
                &actor,
                "leads",
                &query(&[("status", "eq.Qualified"), ("client_id", &foreign)]),
                Range::default(),
                Wanted {
                    rows: false,
                    count: true,
                },
            )
            .await
            .expect("a count of rows the caller cannot see");
        assert_eq!(none.total, 0);
        // An order with NULLs placed otherwise is not the index's: it reads all, past the bound.
        let nulls_last = query(&[
            ("status", "eq.Qualified"),
            ("order", "created_at.desc.nullslast"),
        ]);
        let refused = rest.select(&actor, "leads", &nulls_last, page, ROWS).await;
        assert!(
            matches!(refused, Err(RestError::TooBroad { .. })),
            "{refused:?}"
        );
    }
}
