//! Errors in PostgREST's shape, which supabase-js reads: `{code, message, details, hint}`
//! with PostgreSQL's SQLSTATE or PostgREST's `PGRST…` code and PostgREST's status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scaliyo_app::access::AccessError;
use scaliyo_app::rest::RestError;
use scaliyo_app::rows::RowError;
use scaliyo_store::StoreError;
use serde_json::json;

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub struct PgError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
}

impl PgError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            details: None,
            hint: None,
        }
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `406 PGRST116`: one object was asked for (`Accept: application/vnd.pgrst.object+json`).
    pub fn not_single(rows: usize) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST116",
            "JSON object requested, multiple (or no) rows returned",
        )
        .details(format!("The result contains {rows} rows"))
    }
}

impl IntoResponse for PgError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        });
        (self.status, Json(body)).into_response()
    }
}

/// A token problem: 401 as PostgREST answers it.
impl From<ApiError> for PgError {
    fn from(error: ApiError) -> Self {
        let code = match error.status {
            StatusCode::UNAUTHORIZED => "PGRST301",
            StatusCode::FORBIDDEN => "42501",
            StatusCode::BAD_REQUEST => "PGRST100",
            StatusCode::SERVICE_UNAVAILABLE => "PGRST000",
            _ => "PGRST000",
        };
        PgError::new(error.status, code, error.message).details(error.code)
    }
}

fn from_row(table: Option<&str>, error: RowError) -> PgError {
    let table = table.unwrap_or("the table");
    match error {
        RowError::NotFound => PgError::new(StatusCode::NOT_FOUND, "PGRST116", "no such row"),
        RowError::Invalid { column, reason } => {
            let code = if reason == "is required" {
                "23502"
            } else if reason.starts_with("must be one of") || reason.starts_with("must be between")
            {
                "23514"
            } else {
                "22P02"
            };
            let message = if code == "23502" {
                format!("null value in column \"{column}\" of relation \"{table}\" violates not-null constraint")
            } else {
                format!("{column}: {reason}")
            };
            PgError::new(StatusCode::BAD_REQUEST, code, message)
        }
        RowError::UnknownField(column) => PgError::new(
            StatusCode::BAD_REQUEST,
            "PGRST204",
            format!("Could not find the '{column}' column of '{table}' in the schema cache"),
        ),
        RowError::Conflict { constraint } => PgError::new(
            StatusCode::CONFLICT,
            "23505",
            format!("duplicate key value violates unique constraint \"{constraint}\""),
        ),
        RowError::MissingReference { column } => PgError::new(
            StatusCode::CONFLICT,
            "23503",
            format!("insert or update on table \"{table}\" violates foreign key constraint on \"{column}\""),
        )
        .details(format!("{column} does not name a row you can see")),
        RowError::Concurrent => PgError::new(
            StatusCode::CONFLICT,
            "40001",
            "the row changed while it was being written; retry",
        ),
        RowError::QuotaExceeded { limit } => PgError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "P0001",
            format!("the {limit} quota is exhausted"),
        ),
        RowError::PlanLimit { limit, allowed } => PgError::new(
            StatusCode::FORBIDDEN,
            "P0001",
            format!("your plan allows {allowed} {limit}; upgrade to add more"),
        ),
        RowError::Store(StoreError::Invalid(message)) => {
            PgError::new(StatusCode::BAD_REQUEST, "PGRST100", message)
        }
        RowError::Store(
            e @ (StoreError::Throttled | StoreError::TransactionConflict | StoreError::Unavailable(_)),
        ) => {
            tracing::warn!(error = %e, "the store could not answer a PostgREST request");
            PgError::new(StatusCode::SERVICE_UNAVAILABLE, "PGRST000", "the store is unavailable; retry")
        }
        e @ (RowError::Store(_) | RowError::Invariant(_)) => {
            tracing::error!(error = %e, "a PostgREST request failed");
            PgError::new(StatusCode::INTERNAL_SERVER_ERROR, "XX000", "internal error")
        }
    }
}

/// Maps a use-case error, naming the table it was about.
pub fn from_rest(table: Option<&str>, error: RestError) -> PgError {
    let permission = |status: StatusCode, detail: String| {
        PgError::new(
            status,
            "42501",
            format!(
                "permission denied for table {}",
                table.unwrap_or("this table")
            ),
        )
        .details(detail)
    };
    match error {
        RestError::Parse(e) => PgError::new(StatusCode::BAD_REQUEST, "PGRST100", e.message),
        RestError::UnknownTable(name) => PgError::new(
            StatusCode::NOT_FOUND,
            "PGRST205",
            format!("Could not find the table 'public.{name}' in the schema cache"),
        ),
        e @ RestError::UnknownColumn { .. } => {
            PgError::new(StatusCode::BAD_REQUEST, "42703", e.to_string())
        }
        e @ RestError::InvalidLiteral { .. } => {
            PgError::new(StatusCode::BAD_REQUEST, "22P02", e.to_string())
        }
        e @ RestError::NoRelationship { .. } => {
            PgError::new(StatusCode::BAD_REQUEST, "PGRST200", e.to_string())
        }
        e @ RestError::AmbiguousRelationship { .. } => {
            PgError::new(StatusCode::MULTIPLE_CHOICES, "PGRST201", e.to_string())
                .hint("name the foreign key column: table!column(…)")
        }
        e @ RestError::TooBroad { .. } => {
            PgError::new(StatusCode::BAD_REQUEST, "54000", e.to_string())
                .hint("add an equality filter on an indexed column (see docs/supabase-compat.md)")
        }
        e @ RestError::BadBody => PgError::new(StatusCode::BAD_REQUEST, "PGRST102", e.to_string()),
        e @ RestError::UnknownFunction(_) => {
            PgError::new(StatusCode::NOT_FOUND, "PGRST202", e.to_string())
        }
        e @ RestError::BadArguments(_) => {
            PgError::new(StatusCode::BAD_REQUEST, "22023", e.to_string())
        }
        RestError::Access(AccessError::Unauthenticated) => {
            permission(StatusCode::UNAUTHORIZED, "sign in to do this".into())
        }
        RestError::Access(AccessError::Forbidden(message)) => {
            permission(StatusCode::FORBIDDEN, message)
        }
        RestError::Access(AccessError::Refused(refusal)) => {
            permission(StatusCode::FORBIDDEN, refusal.to_string()).hint(refusal.code())
        }
        RestError::Access(AccessError::Disabled) => {
            permission(StatusCode::FORBIDDEN, "this account is disabled".into())
        }
        RestError::Access(AccessError::BadCursor) => {
            PgError::new(StatusCode::BAD_REQUEST, "PGRST100", "a bad cursor")
        }
        RestError::Access(AccessError::Row(row)) => from_row(table, row),
    }
}
