//! The data API: every table of the schema over REST, driven by the declaration.
//!
//! - `GET    /v1/{table}?{column}={value}&order={column}[.desc]&limit=&cursor=` — list
//! - `POST   /v1/{table}` — create (JSON object with schema column names)
//! - `GET    /v1/{table}/{id}` — get
//! - `PATCH  /v1/{table}/{id}` — partial update
//! - `DELETE /v1/{table}/{id}` — delete (with the schema's ON DELETE actions)
//! - `DELETE /v1/account` — delete the caller's account and everything it owns
//!
//! A super admin adds `X-Support-Session: <support_sessions.id>` to read a target user's rows.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use scaliyo_app::access::{Access, AccessError, Actor, ListParams};
use scaliyo_app::rows::{Row, RowError};
use scaliyo_app::storage::Storage;
use scaliyo_app::usage::Usage;
use scaliyo_domain::ids::Caller;
use scaliyo_store::StoreError;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::identity::Authenticator;

pub const SUPPORT_HEADER: &str = "x-support-session";

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::Unauthenticated => {
                ApiError::unauthorized("missing_token", "sign in to do this")
            }
            AccessError::Forbidden(message) => ApiError::forbidden(message),
            AccessError::Refused(refusal) => {
                ApiError::new(StatusCode::FORBIDDEN, refusal.code(), refusal.to_string())
            }
            AccessError::BadCursor => ApiError::bad_request(
                "invalid_cursor",
                "the cursor does not belong to this list; start again without one",
            ),
            AccessError::Disabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "account_disabled",
                "this account is disabled; contact support",
            ),
            AccessError::Row(row) => row.into(),
        }
    }
}

impl From<RowError> for ApiError {
    fn from(error: RowError) -> Self {
        match error {
            RowError::NotFound => ApiError::not_found(),
            RowError::Invalid { column, reason } => {
                ApiError::bad_request("invalid", format!("{column}: {reason}"))
            }
            RowError::UnknownField(field) => ApiError::bad_request(
                "unknown_field",
                format!("{field} is not a column of this table"),
            ),
            RowError::Conflict { constraint } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("a row with these values already exists ({constraint})"),
            ),
            RowError::MissingReference { column } => ApiError::bad_request(
                "invalid_reference",
                format!("{column} does not name a row you can see"),
            ),
            RowError::Concurrent => ApiError::new(
                StatusCode::CONFLICT,
                "concurrent_update",
                "the row changed while it was being written; retry",
            ),
            RowError::QuotaExceeded { limit } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                format!("the {limit} quota is exhausted"),
            ),
            RowError::PlanLimit { limit, allowed } => ApiError::new(
                StatusCode::FORBIDDEN,
                "plan_limit",
                format!("your plan allows {allowed} {limit}; upgrade to add more"),
            ),
            RowError::Store(StoreError::Invalid(message)) => {
                ApiError::bad_request("invalid_request", message)
            }
            RowError::Store(
                e @ (StoreError::Throttled
                | StoreError::TransactionConflict
                | StoreError::Unavailable(_)),
            ) => ApiError::unavailable("store", &e),
            RowError::Store(e) => ApiError::internal("store", &e),
            e @ RowError::Invariant(_) => ApiError::internal("invariant", &e),
        }
    }
}

/// The caller if a token was sent (a bad token is a 401), anonymous otherwise.
pub struct MaybeCaller(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let authenticator = parts
            .extensions
            .get::<Arc<Authenticator>>()
            .cloned()
            .ok_or_else(|| {
                ApiError::internal("routing", &"no authenticator is configured on this router")
            })?;
        match authenticator.authenticate(parts) {
            Ok(caller) => Ok(MaybeCaller(Some(caller))),
            Err(error) if error.code == "missing_token" => Ok(MaybeCaller(None)),
            Err(error) => Err(error),
        }
    }
}

/// The acting user with their roles and support session resolved.
pub struct Acting(pub Actor);

impl FromRequestParts<Arc<Access>> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        access: &Arc<Access>,
    ) -> Result<Self, Self::Rejection> {
        let support = parts
            .headers
            .get(SUPPORT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        crate::actor::resolve(parts, access, support.as_deref())
            .await
            .map(Acting)
    }
}

fn body(payload: Result<Json<Value>, JsonRejection>) -> Result<Row, ApiError> {
    match payload {
        Ok(Json(Value::Object(map))) => Ok(map),
        Ok(Json(_)) => Err(ApiError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        )),
        Err(rejection) => Err(ApiError::new(
            rejection.status(),
            "invalid_body",
            rejection.body_text(),
        )),
    }
}

fn list_params(query: HashMap<String, String>) -> Result<ListParams, ApiError> {
    let mut params = ListParams::default();
    for (name, value) in query {
        match name.as_str() {
            "limit" => {
                params.limit = Some(value.parse().map_err(|_| {
                    ApiError::bad_request("invalid", "limit must be a positive integer")
                })?);
            }
            "cursor" => params.cursor = Some(value),
            "order" => {
                let (column, descending) = match value.strip_suffix(".desc") {
                    Some(column) => (column.to_owned(), true),
                    None => (
                        value.strip_suffix(".asc").unwrap_or(&value).to_owned(),
                        false,
                    ),
                };
                params.order = Some((column, descending));
            }
            _ => params.filters.push((name, value)),
        }
    }
    params.filters.sort();
    Ok(params)
}

async fn list(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
    Path(table): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let params = list_params(query)?;
    let page = access.list(&actor, &table, params).await?;
    Ok(Json(json!({ "data": page.rows, "next_cursor": page.next })).into_response())
}

async fn create(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
    Path(table): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = body(payload)?;
    let row = access.create(&actor, &table, input).await?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}

async fn read(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
    Path((table, id)): Path<(String, String)>,
) -> Result<Json<Row>, ApiError> {
    Ok(Json(access.get(&actor, &table, &id).await?))
}

async fn update(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
    Path((table, id)): Path<(String, String)>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Row>, ApiError> {
    let patch = body(payload)?;
    Ok(Json(access.update(&actor, &table, &id, patch).await?))
}

async fn remove(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
    Path((table, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    access.delete(&actor, &table, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_account(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
) -> Result<StatusCode, ApiError> {
    access.delete_account(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct DateRange {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /v1/analytics/email-summary?from=YYYY-MM-DD&to=YYYY-MM-DD`: the caller's
/// `email_analytics_summary` rows (default: the last 30 days).
async fn email_summary(
    State(access): State<Arc<Access>>,
    Acting(actor): Acting,
    range: Result<Query<DateRange>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(range) = range.map_err(query_error)?;
    let user = actor
        .user_id()
        .ok_or_else(|| ApiError::unauthorized("missing_token", "sign in to do this"))?;
    let today = chrono::Utc::now().date_naive();
    let parse = |text: Option<String>, default: chrono::NaiveDate| match text {
        Some(t) => chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("invalid", "from and to must be YYYY-MM-DD")),
        None => Ok(default),
    };
    let to = parse(range.to, today)?;
    let from = parse(range.from, to - chrono::Duration::days(30))?;
    if from > to || (to - from).num_days() > 366 {
        return Err(ApiError::bad_request(
            "invalid",
            "from must not be after to, and the range at most a year",
        ));
    }
    let days =
        scaliyo_app::analytics::summary(access.rows(), user, &from.to_string(), &to.to_string())
            .await?;
    Ok(Json(json!({ "data": days })))
}

/// `GET /v1/openapi.json`: the document generated from the schema declaration.
async fn openapi() -> Json<Value> {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(crate::openapi::document).clone())
}

/// State of the RPC routes.
#[derive(Clone)]
pub struct RpcState {
    pub access: Arc<Access>,
    pub usage: Arc<Usage>,
}

fn args<T: serde::de::DeserializeOwned>(
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<T, ApiError> {
    let value = match payload {
        Ok(Json(value)) => value,
        Err(rejection) => {
            return Err(ApiError::new(
                rejection.status(),
                "invalid_body",
                rejection.body_text(),
            ));
        }
    };
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_arguments", e.to_string()))
}

/// `POST /v1/rpc/{name}`: the usage RPCs of the seed's section 6.
async fn rpc(
    State(state): State<RpcState>,
    CurrentActor(actor): CurrentActor,
    Path(name): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let usage = &state.usage;
    let result = match name.as_str() {
        "increment_ai_usage" => {
            Value::Object(usage.increment_ai_usage(&actor, args(payload)?).await?)
        }
        "increment_sender_daily_sent" => Value::Object(
            usage
                .increment_sender_daily_sent(&actor, args(payload)?)
                .await?,
        ),
        "get_sender_daily_sent" => usage.get_sender_daily_sent(&actor, args(payload)?).await?,
        "increment_workspace_usage" => Value::Object(
            usage
                .increment_workspace_usage(&actor, args(payload)?)
                .await?,
        ),
        "get_workspace_monthly_usage" => {
            usage
                .get_workspace_monthly_usage(&actor, args(payload)?)
                .await?
        }
        "increment_outbound_usage" => {
            usage
                .increment_outbound_usage(&actor, args(payload)?)
                .await?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_rpc",
                format!("no RPC named {name}"),
            ));
        }
    };
    Ok(Json(result))
}

/// State of the storage routes.
#[derive(Clone)]
pub struct StorageState {
    pub access: Arc<Access>,
    pub storage: Arc<Storage>,
}

crate::actor::has_access!(RpcState, StorageState);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadRequest {
    file_name: String,
    content_type: String,
    size: u64,
}

/// A missing, repeated or malformed query parameter is the API's JSON 400, not axum's
/// plain-text one.
fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(
        "invalid",
        format!("the query string: {}", rejection.body_text()),
    )
}

/// `POST /v1/storage/{bucket}/uploads`: a presigned upload under the caller's prefix.
async fn upload(
    State(state): State<StorageState>,
    CurrentActor(actor): CurrentActor,
    Path(bucket): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request: UploadRequest = args(payload)?;
    let ticket = state
        .storage
        .upload(
            &actor,
            &bucket,
            &request.file_name,
            &request.content_type,
            request.size,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ticket)).into_response())
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    key: String,
}

/// `GET /v1/storage/{bucket}/download?key=`: a short-lived URL for one of the caller's objects.
async fn download(
    State(state): State<StorageState>,
    CurrentActor(actor): CurrentActor,
    Path(bucket): Path<String>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let ticket = state.storage.download(&actor, &bucket, &query.key).await?;
    Ok(Json(json!(ticket)))
}

#[derive(serde::Deserialize)]
struct ObjectQuery {
    key: String,
}

/// `GET /v1/storage/{bucket}/objects`: the caller's objects in a bucket.
async fn list_objects(
    State(state): State<StorageState>,
    CurrentActor(actor): CurrentActor,
    Path(bucket): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let objects = state.storage.list(&actor, &bucket).await?;
    Ok(Json(json!({ "data": objects })))
}

/// `DELETE /v1/storage/{bucket}/objects?key=`: one of the caller's objects.
async fn delete_object(
    State(state): State<StorageState>,
    CurrentActor(actor): CurrentActor,
    Path(bucket): Path<String>,
    query: Result<Query<ObjectQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    state.storage.delete(&actor, &bucket, &query.key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The data API router (mounted at `/v1` paths by both Lambda and the local server).
pub fn router(access: Arc<Access>, usage: Arc<Usage>, storage: Arc<Storage>) -> Router {
    let storage_routes: Router = Router::<StorageState>::new()
        .route("/v1/storage/{bucket}/uploads", post(upload))
        .route("/v1/storage/{bucket}/download", get(download))
        .route(
            "/v1/storage/{bucket}/objects",
            get(list_objects).delete(delete_object),
        )
        .with_state(StorageState {
            access: access.clone(),
            storage,
        });
    let rpc_routes: Router = Router::<RpcState>::new()
        .route("/v1/rpc/{name}", post(rpc))
        .with_state(RpcState {
            access: access.clone(),
            usage,
        });
    Router::new()
        .route("/v1/account", delete(delete_account))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/analytics/email-summary", get(email_summary))
        .route("/v1/{table}", get(list).post(create))
        .route("/v1/{table}/{id}", get(read).patch(update).delete(remove))
        .with_state(access)
        .merge(rpc_routes)
        .merge(storage_routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_invariant_is_our_500_not_the_callers_400() {
        let error = ApiError::from(RowError::Invariant("outbound_usage has no key".into()));
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code, "internal");
        // The detail is logged, never shown.
        assert!(!error.message.contains("outbound_usage"));
    }

    #[test]
    fn a_store_error_keeps_its_class() {
        let busy = ApiError::from(RowError::Store(StoreError::Throttled));
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        let bad = ApiError::from(RowError::Store(StoreError::Invalid("limit".into())));
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
}
