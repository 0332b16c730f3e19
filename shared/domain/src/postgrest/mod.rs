//! The query dialect of PostgREST, which supabase-js speaks (docs/supabase-compat.md): a
//! request's query string parsed into what to select, which rows (a filter tree), in which
//! order and how many — pure, so that it is property-tested and fuzzed apart from any store.

mod filter;
mod select;

pub use filter::{Arrow, ColumnPath, Condition, IsValue, Operand, Operator, order_values};
pub use select::{Embed, SelectItem, parse_select};

/// A query string PostgREST would refuse (`PGRST100`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    pub fn new(message: String) -> Self {
        Self { message }
    }
}

/// One `order=` term: `column[.asc|.desc][.nullsfirst|.nullslast]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    pub column: ColumnPath,
    pub descending: bool,
    /// `None`: Postgres' default (NULLs last ascending, first descending).
    pub nulls_first: Option<bool>,
}

impl OrderTerm {
    pub fn nulls_first(&self) -> bool {
        self.nulls_first.unwrap_or(self.descending)
    }

    fn parse(term: &str) -> Result<Self, ParseError> {
        let mut parts = term.split('.');
        let column = ColumnPath::parse(parts.next().unwrap_or_default())?;
        let mut descending = false;
        let mut nulls_first = None;
        for part in parts {
            match part {
                "asc" => descending = false,
                "desc" => descending = true,
                "nullsfirst" => nulls_first = Some(true),
                "nullslast" => nulls_first = Some(false),
                other => {
                    return Err(ParseError::new(format!(
                        "\"{other}\" in order={term}: expected asc, desc, nullsfirst or nullslast"
                    )));
                }
            }
        }
        Ok(Self {
            column,
            descending,
            nulls_first,
        })
    }
}

/// A filter on an embedded resource (`leads.status=eq.Qualified`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedFilter {
    pub embed: String,
    pub condition: Condition,
}

/// Everything a request's query string says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub select: Vec<SelectItem>,
    /// ANDed.
    pub filters: Vec<Condition>,
    pub embedded_filters: Vec<EmbeddedFilter>,
    pub order: Vec<OrderTerm>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// `on_conflict=`: the unique columns an upsert matches on.
    pub on_conflict: Vec<String>,
    /// `columns=`: the columns a bulk insert takes from each object.
    pub columns: Vec<String>,
}

fn number(name: &str, value: &str) -> Result<u64, ParseError> {
    value
        .parse()
        .map_err(|_| ParseError::new(format!("{name}={value}: expected a non-negative integer")))
}

fn column_list(name: &str, value: &str) -> Result<Vec<String>, ParseError> {
    value
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .map(|c| {
            if filter::is_identifier(c) {
                Ok(c.to_owned())
            } else {
                Err(ParseError::new(format!(
                    "{name}={value}: \"{c}\" is not a column"
                )))
            }
        })
        .collect()
}

impl Query {
    /// The query string's pairs, form-decoded, in order (repeated keys are kept: each is
    /// one more ANDed filter).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParseError> {
        let mut query = Query {
            select: vec![SelectItem::Star],
            ..Default::default()
        };
        for (key, value) in pairs {
            match key.as_str() {
                "select" => query.select = parse_select(value)?,
                "order" => {
                    query.order = value
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .map(OrderTerm::parse)
                        .collect::<Result<_, _>>()?;
                }
                "limit" => query.limit = Some(number(key, value)?),
                "offset" => query.offset = Some(number(key, value)?),
                "on_conflict" => query.on_conflict = column_list(key, value)?,
                "columns" => query.columns = column_list(key, value)?,
                "or" | "and" | "not.or" | "not.and" => {
                    query.filters.push(Condition::parse_param(key, value)?);
                }
                other => match other.split_once('.') {
                    // `embed.column` / `embed.or`: a filter on an embedded resource.
                    Some((embed, rest)) if filter::is_identifier(embed) && embed != "not" => {
                        query.embedded_filters.push(EmbeddedFilter {
                            embed: embed.to_owned(),
                            condition: Condition::parse_param(rest, value)?,
                        });
                    }
                    _ => query.filters.push(Condition::parse_param(other, value)?),
                },
            }
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests;
