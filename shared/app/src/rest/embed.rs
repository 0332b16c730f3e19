//! Embedded resources along the schema's foreign keys, one level deep: a row's parent
//! (`lead:leads(name)` from a message's `lead_id`) or its children
//! (`scheduled_emails(count)` from a lead), with filters on the embedded rows and `!inner`.

use scaliyo_domain::postgrest::{
    ColumnPath, Condition, Embed, Operand, Operator, ParseError, Query, SelectItem,
};
use scaliyo_domain::schema::Table;
use serde_json::{Map, Value, json};

use super::read::project;
use super::{RestError, RestQueries};
use crate::access::{AccessError, Actor};
use crate::rows::{Row, RowError};

enum Link {
    /// The row names its parent in `column`.
    ToOne { column: &'static str },
    /// The embedded rows name the row in their `column`.
    ToMany { column: &'static str },
}

struct Planned<'q> {
    embed: &'q Embed,
    target: &'static Table,
    link: Link,
    filters: Vec<Condition>,
}

/// How a read's embeds are resolved.
pub(super) struct EmbedPlan<'q> {
    items: Vec<Planned<'q>>,
}

impl EmbedPlan<'_> {
    /// Whether an embed decides which rows are in the result (`!inner`).
    pub(super) fn narrows(&self) -> bool {
        self.items.iter().any(|p| p.embed.inner)
    }
}

impl RestQueries {
    /// The relationship of each embed of the query, checked against the schema.
    pub(super) fn embedding<'q>(
        &self,
        table: &'static Table,
        query: &'q Query,
    ) -> Result<EmbedPlan<'q>, RestError> {
        let mut items = Vec::new();
        for item in &query.select {
            let SelectItem::Embed(embed) = item else {
                continue;
            };
            let no_relationship = || RestError::NoRelationship {
                from: table.name.to_owned(),
                to: embed.table.clone(),
            };
            let target = Self::table(&embed.table).map_err(|_| no_relationship())?;
            for inner in &embed.select {
                match inner {
                    SelectItem::Embed(_) => {
                        return Err(ParseError::new(
                            "embedding is supported one level deep".to_owned(),
                        )
                        .into());
                    }
                    SelectItem::Column { path, .. } if target.column(&path.column).is_none() => {
                        return Err(RestError::UnknownColumn {
                            table: target.name.to_owned(),
                            column: path.column.clone(),
                        });
                    }
                    _ => {}
                }
            }
            let hinted = |column: &str| embed.hint.as_deref().is_none_or(|h| h == column);
            let mut links: Vec<Link> = table
                .foreign_keys
                .iter()
                .filter(|fk| fk.table == target.name && hinted(fk.column))
                .map(|fk| Link::ToOne { column: fk.column })
                .collect();
            links.extend(
                target
                    .foreign_keys
                    .iter()
                    .filter(|fk| fk.table == table.name && hinted(fk.column))
                    .map(|fk| Link::ToMany { column: fk.column }),
            );
            let link = match links.len() {
                0 => return Err(no_relationship()),
                1 => links.remove(0),
                _ => {
                    return Err(RestError::AmbiguousRelationship {
                        from: table.name.to_owned(),
                        to: target.name.to_owned(),
                    });
                }
            };
            let mut filters = Vec::new();
            for filter in query
                .embedded_filters
                .iter()
                .filter(|f| f.embed == embed.name())
            {
                Self::check_condition(target, &filter.condition)?;
                filters.push(filter.condition.clone());
            }
            items.push(Planned {
                embed,
                target,
                link,
                filters,
            });
        }
        if let Some(stray) = query
            .embedded_filters
            .iter()
            .find(|f| !items.iter().any(|p| p.embed.name() == f.embed))
        {
            return Err(RestError::NoRelationship {
                from: table.name.to_owned(),
                to: stray.embed.clone(),
            });
        }
        Ok(EmbedPlan { items })
    }

    /// Each row with its embeds; rows an `!inner` embed leaves out are dropped.
    pub(super) async fn embed_all(
        &self,
        actor: &Actor,
        plan: &EmbedPlan<'_>,
        rows: Vec<Row>,
    ) -> Result<Vec<(Row, Map<String, Value>)>, RestError> {
        let mut out = Vec::with_capacity(rows.len());
        'rows: for row in rows {
            let mut embedded = Map::new();
            for planned in &plan.items {
                let value = self.embed_one(actor, planned, &row).await?;
                if planned.embed.inner && value.is_none() {
                    continue 'rows;
                }
                embedded.insert(
                    planned.embed.name().to_owned(),
                    value.unwrap_or(Value::Null),
                );
            }
            out.push((row, embedded));
        }
        Ok(out)
    }

    /// One embed of one row: `None` where there is nothing to embed (no parent, or no
    /// child after the embed's filters).
    async fn embed_one(
        &self,
        actor: &Actor,
        planned: &Planned<'_>,
        row: &Row,
    ) -> Result<Option<Value>, RestError> {
        let empty = Map::new();
        match planned.link {
            Link::ToOne { column } => {
                let Some(id) = crate::rows::field(row, column).as_str() else {
                    return Ok(None);
                };
                let parent = match self.access.get(actor, planned.target.name, id).await {
                    Ok(parent) => parent,
                    Err(AccessError::Row(RowError::NotFound)) => return Ok(None),
                    Err(error) => return Err(error.into()),
                };
                if !planned.filters.iter().all(|f| f.matches(&parent)) {
                    return Ok(None);
                }
                Ok(Some(project(&parent, &planned.embed.select, &empty)))
            }
            Link::ToMany { column } => {
                let Some(id) = crate::rows::field(row, "id").as_str() else {
                    return Ok(None);
                };
                let mut filters = vec![Condition::Compare {
                    column: ColumnPath::plain(column),
                    negated: false,
                    op: Operator::Eq,
                    operand: Operand::Text(id.to_owned()),
                }];
                filters.extend(planned.filters.iter().cloned());
                let query = Query {
                    filters,
                    ..Default::default()
                };
                let children = self.matching(actor, planned.target, &query).await?;
                if children.is_empty() && planned.embed.inner {
                    return Ok(None);
                }
                if planned.embed.select == [SelectItem::Count] {
                    return Ok(Some(json!([{ "count": children.len() }])));
                }
                Ok(Some(Value::Array(
                    children
                        .iter()
                        .map(|child| project(child, &planned.embed.select, &empty))
                        .collect(),
                )))
            }
        }
    }
}
