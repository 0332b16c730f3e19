//! The PostgREST dialect that supabase-js speaks (docs/supabase-compat.md), on the api
//! function and the local server: `GET|HEAD|POST|PATCH|DELETE /rest/v1/{table}` with
//! PostgREST's query string, `Prefer`, `Range` and single-object `Accept`, its error shape,
//! and the anonymous role for a client that sends only the anon key.

mod error;
mod prefer;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scaliyo_app::access::{Access, Actor};
use scaliyo_app::rest::{RestQueries, Wanted};
use scaliyo_app::usage::Usage;
use scaliyo_domain::postgrest::Query;
use serde_json::Value;

pub use error::{PgError, from_rest};
use prefer::{OBJECT_TYPE, Prefer, Return, content_range, wants_object};

#[derive(Clone)]
pub struct RestState {
    access: Arc<Access>,
    rest: Arc<RestQueries>,
    usage: Arc<Usage>,
}

crate::actor::has_access!(RestState);

/// The caller of a dialect request.
pub struct RestActor(pub Actor);

impl FromRequestParts<RestState> for RestActor {
    type Rejection = PgError;

    async fn from_request_parts(parts: &mut Parts, state: &RestState) -> Result<Self, PgError> {
        crate::actor::resolve_supabase(parts, &state.access)
            .await
            .map(RestActor)
            .map_err(PgError::from)
    }
}

/// The query string's pairs, form-decoded, in order and with repeats.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn parse_query(table: &str, uri: &Uri) -> Result<Query, PgError> {
    Query::parse(&query_pairs(uri)).map_err(|e| from_rest(Some(table), e.into()))
}

fn json_body(body: &Bytes) -> Result<Value, PgError> {
    serde_json::from_slice(body).map_err(|e| {
        PgError::new(StatusCode::BAD_REQUEST, "PGRST102", "Empty or invalid json")
            .details(e.to_string())
    })
}

/// The rows as the client asked for them: an array, or one bare object.
fn rows_response(
    status: StatusCode,
    rows: Vec<Value>,
    headers: &HeaderMap,
) -> Result<Response, PgError> {
    let (body, content_type) = if wants_object(headers) {
        if rows.len() != 1 {
            return Err(PgError::not_single(rows.len()));
        }
        let row = rows.into_iter().next().unwrap_or(Value::Null);
        (row, OBJECT_TYPE)
    } else {
        (Value::Array(rows), "application/json; charset=utf-8")
    };
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

fn with_range(mut response: Response, range: String) -> Response {
    if let Ok(value) = HeaderValue::from_str(&range) {
        response.headers_mut().insert("content-range", value);
    }
    response
}

/// A write's answer: the rows (`return=representation`) or none.
fn written(
    rows: Vec<Value>,
    created: bool,
    prefer: Prefer,
    headers: &HeaderMap,
) -> Result<Response, PgError> {
    let count = rows.len();
    let response = match prefer.return_ {
        Return::Representation => rows_response(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            rows,
            headers,
        )?,
        Return::Minimal | Return::HeadersOnly => if created {
            StatusCode::CREATED
        } else {
            StatusCode::NO_CONTENT
        }
        .into_response(),
    };
    Ok(with_range(
        response,
        content_range(0, count, prefer.count.then_some(count)),
    ))
}

/// `GET` (and `HEAD`) `/rest/v1/{table}`.
async fn read(
    State(state): State<RestState>,
    RestActor(actor): RestActor,
    Path(table): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PgError> {
    let query = parse_query(&table, &uri)?;
    let prefer = Prefer::from_headers(&headers);
    let range = prefer::range(&headers, query.limit, query.offset);
    // A HEAD answers the range and the count only: its rows need not be read.
    let wanted = Wanted {
        rows: method != Method::HEAD,
        count: prefer.count,
    };
    let selected = state
        .rest
        .select(&actor, &table, &query, range, wanted)
        .await
        .map_err(|e| from_rest(Some(&table), e))?;
    let range = content_range(
        selected.offset,
        selected.shown,
        prefer.count.then_some(selected.total),
    );
    let response = rows_response(StatusCode::OK, selected.rows, &headers)?;
    Ok(with_range(response, range))
}

/// `POST /rest/v1/{table}`: insert one object or an array; an upsert with `Prefer:
/// resolution=…`.
async fn insert(
    State(state): State<RestState>,
    RestActor(actor): RestActor,
    Path(table): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PgError> {
    let query = parse_query(&table, &uri)?;
    let prefer = Prefer::from_headers(&headers);
    let rows = state
        .rest
        .insert(&actor, &table, json_body(&body)?, &query, prefer.resolution)
        .await
        .map_err(|e| from_rest(Some(&table), e))?;
    written(rows, true, prefer, &headers)
}

/// `PATCH /rest/v1/{table}?filters`.
async fn update(
    State(state): State<RestState>,
    RestActor(actor): RestActor,
    Path(table): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PgError> {
    let query = parse_query(&table, &uri)?;
    let prefer = Prefer::from_headers(&headers);
    let Value::Object(patch) = json_body(&body)? else {
        return Err(PgError::new(
            StatusCode::BAD_REQUEST,
            "PGRST102",
            "the body of an update must be a JSON object",
        ));
    };
    let rows = state
        .rest
        .update(&actor, &table, &query, patch)
        .await
        .map_err(|e| from_rest(Some(&table), e))?;
    written(rows, false, prefer, &headers)
}

/// `DELETE /rest/v1/{table}?filters`.
async fn remove(
    State(state): State<RestState>,
    RestActor(actor): RestActor,
    Path(table): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PgError> {
    let query = parse_query(&table, &uri)?;
    let prefer = Prefer::from_headers(&headers);
    let rows = state
        .rest
        .delete(&actor, &table, &query)
        .await
        .map_err(|e| from_rest(Some(&table), e))?;
    written(rows, false, prefer, &headers)
}

/// `POST /rest/v1/rpc/{name}` with a JSON object of arguments, or `GET` with them as query
/// parameters (text).
async fn rpc(
    State(state): State<RestState>,
    RestActor(actor): RestActor,
    Path(name): Path<String>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PgError> {
    let args = if method == axum::http::Method::POST && !body.is_empty() {
        match json_body(&body)? {
            Value::Object(args) => args,
            _ => {
                return Err(PgError::new(
                    StatusCode::BAD_REQUEST,
                    "PGRST102",
                    "the arguments must be a JSON object",
                ));
            }
        }
    } else {
        query_pairs(&uri)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let result = state
        .rest
        .call(&actor, &state.usage, &name, args)
        .await
        .map_err(|e| from_rest(None, e))?;
    let rows = match result {
        Value::Array(rows) => rows,
        one if wants_object(&headers) => vec![one],
        one => {
            let mut response = (StatusCode::OK, one.to_string()).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            return Ok(response);
        }
    };
    rows_response(StatusCode::OK, rows, &headers)
}

pub fn router(access: Arc<Access>, usage: Arc<Usage>) -> Router {
    let rest = Arc::new(RestQueries::new(access.clone()));
    Router::new()
        .route(
            "/rest/v1/{table}",
            get(read).post(insert).patch(update).delete(remove),
        )
        .route("/rest/v1/rpc/{name}", get(rpc).post(rpc))
        .with_state(RestState {
            access,
            rest,
            usage,
        })
}
