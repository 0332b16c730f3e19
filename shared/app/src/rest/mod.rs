//! The PostgREST dialect over the row policies (docs/supabase-compat.md): reads with any
//! filter, order, range and count, embedded resources along the schema's foreign keys, and
//! inserts, upserts, updates and deletes by filter — every row through `Access`, so the
//! policies, defaults, constraints and cascades are the data API's.

mod embed;
mod read;
mod rpc;
mod write;

use std::sync::Arc;

use scaliyo_domain::postgrest::{Condition, Operand, ParseError, Query, SelectItem};
use scaliyo_domain::schema::{self, ColumnType, Table};

use crate::access::{Access, AccessError};

pub use read::{Range, Selected, Wanted};
pub use rpc::FUNCTIONS;
pub use write::Resolution;

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("relation \"public.{0}\" does not exist")]
    UnknownTable(String),
    #[error("column {table}.{column} does not exist")]
    UnknownColumn { table: String, column: String },
    #[error("invalid input syntax for type {ty}: \"{value}\"")]
    InvalidLiteral { ty: &'static str, value: String },
    #[error("Could not find a relationship between '{from}' and '{to}' in the schema cache")]
    NoRelationship { from: String, to: String },
    #[error("Could not embed because more than one relationship was found for '{from}' and '{to}'")]
    AmbiguousRelationship { from: String, to: String },
    /// A read that would go through more rows than the deployment allows.
    #[error("the filter would read more than {limit} rows of {table}")]
    TooBroad { table: String, limit: usize },
    #[error("the request body must be a JSON object or an array of objects")]
    BadBody,
    #[error("Could not find the function public.{0} in the schema cache")]
    UnknownFunction(String),
    #[error("the function's arguments: {0}")]
    BadArguments(String),
    #[error(transparent)]
    Access(#[from] AccessError),
}

crate::errors::through_access!(RestError);

/// The largest number of rows one request reads before filtering in memory.
pub const DEFAULT_SCAN_LIMIT: usize = 50_000;

#[derive(Clone)]
pub struct RestQueries {
    access: Arc<Access>,
    scan_limit: usize,
}

fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Uuid => "uuid",
        ColumnType::Int => "integer",
        ColumnType::BigInt => "bigint",
        ColumnType::Real => "real",
        ColumnType::Boolean => "boolean",
        ColumnType::Date => "date",
        ColumnType::Timestamptz => "timestamp with time zone",
        _ => "text",
    }
}

/// Whether a literal reads as a value of the column's type, as Postgres would cast it.
fn literal_fits(ty: ColumnType, literal: &str) -> bool {
    match ty {
        ColumnType::Uuid => uuid::Uuid::parse_str(literal).is_ok(),
        ColumnType::Int | ColumnType::BigInt => literal.trim().parse::<i64>().is_ok(),
        ColumnType::Real => literal.trim().parse::<f64>().is_ok(),
        ColumnType::Boolean => matches!(
            literal.to_ascii_lowercase().as_str(),
            "true" | "false" | "t" | "f"
        ),
        _ => true,
    }
}

impl RestQueries {
    pub fn new(access: Arc<Access>) -> Self {
        Self {
            access,
            scan_limit: DEFAULT_SCAN_LIMIT,
        }
    }

    pub fn with_scan_limit(mut self, limit: usize) -> Self {
        self.scan_limit = limit;
        self
    }

    pub fn access(&self) -> &Arc<Access> {
        &self.access
    }

    pub(crate) fn table(name: &str) -> Result<&'static Table, RestError> {
        schema::table(name).ok_or_else(|| RestError::UnknownTable(name.to_owned()))
    }

    fn column_exists(table: &Table, column: &str) -> Result<ColumnType, RestError> {
        table
            .column(column)
            .map(|c| c.ty)
            .ok_or_else(|| RestError::UnknownColumn {
                table: table.name.to_owned(),
                column: column.to_owned(),
            })
    }

    /// Every column a filter names exists, and every literal compared with a plain column
    /// reads as the column's type (`22P02` otherwise, as Postgres answers).
    pub(crate) fn check_condition(table: &Table, condition: &Condition) -> Result<(), RestError> {
        for (path, op, operand) in condition.comparisons() {
            let ty = Self::column_exists(table, &path.column)?;
            if !path.path.is_empty() {
                continue;
            }
            let literals: Vec<&String> = match operand {
                Operand::Text(text)
                    if !matches!(
                        op,
                        scaliyo_domain::postgrest::Operator::Like
                            | scaliyo_domain::postgrest::Operator::Ilike
                    ) =>
                {
                    vec![text]
                }
                Operand::List(items) if op == scaliyo_domain::postgrest::Operator::In => {
                    items.iter().collect()
                }
                _ => Vec::new(),
            };
            for literal in literals {
                if !literal_fits(ty, literal) {
                    return Err(RestError::InvalidLiteral {
                        ty: type_name(ty),
                        value: literal.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The query's columns exist: filters, order and plain selected columns.
    pub(crate) fn check_query(table: &Table, query: &Query) -> Result<(), RestError> {
        for condition in &query.filters {
            Self::check_condition(table, condition)?;
        }
        for term in &query.order {
            Self::column_exists(table, &term.column.column)?;
        }
        for item in &query.select {
            if let SelectItem::Column { path, .. } = item {
                Self::column_exists(table, &path.column)?;
            }
        }
        Ok(())
    }
}
