//! The Supabase Storage dialect that storage-js speaks (docs/supabase-compat.md), on the api
//! function and the local server: `/storage/v1/object/...` uploads (raw body or multipart
//! form, `x-upsert`), downloads, public and signed reads, folder listings and deletes, with
//! storage-js's response and error shapes. Reads are answered with a redirect to the blob
//! store's short-lived URL (S3 presigned in AWS), so no object passes through a Lambda
//! response.

mod error;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use scaliyo_app::access::{Access, Actor};
use scaliyo_app::storage::objects::{
    ListEntry, ListRequest, ObjectInfo, Redirect, StorageObjects, WriteMode,
};
use serde::Deserialize;
use serde_json::{Value, json};

pub use error::StorageError;

#[derive(Clone)]
pub struct StorageState {
    access: Arc<Access>,
    objects: Arc<StorageObjects>,
}

/// The caller: a user, or the anonymous role for the anon key alone.
struct Caller(Actor);

impl FromRequestParts<StorageState> for Caller {
    type Rejection = StorageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &StorageState,
    ) -> Result<Self, StorageError> {
        crate::actor::resolve_supabase(parts, &state.access)
            .await
            .map(Caller)
            .map_err(StorageError::from)
    }
}

/// The largest upload a request may carry: the largest bucket's limit, plus the form's own
/// bytes. (A Lambda behind API Gateway takes about 6 MB; docs/supabase-compat.md.)
fn upload_limit() -> usize {
    let largest = scaliyo_app::storage::BUCKETS
        .iter()
        .map(|b| b.max_bytes)
        .max()
        .unwrap_or(0);
    usize::try_from(largest).unwrap_or(usize::MAX) + 64 * 1024
}

fn timestamp(at: Option<DateTime<Utc>>) -> Value {
    at.map(|t| json!(scaliyo_app::rows::timestamp_text(t)))
        .unwrap_or(Value::Null)
}

/// An object as storage-js's `FileObject` (list entries, info and removals).
fn file_object(name: &str, object: &ObjectInfo) -> Value {
    let modified = timestamp(object.last_modified);
    json!({
        "name": name,
        "bucket_id": object.bucket,
        "id": object.id,
        "updated_at": modified,
        "created_at": modified,
        "last_accessed_at": modified,
        "metadata": {
            "size": object.size,
            "mimetype": object.content_type,
            "contentLength": object.size,
            "lastModified": modified,
            "cacheControl": "max-age=3600",
            "httpStatusCode": 200,
        },
    })
}

fn redirect(target: Redirect) -> Response {
    (StatusCode::FOUND, [(LOCATION, target.url)]).into_response()
}

/// The object's bytes and type from a raw body or a multipart form (storage-js sends a
/// `Blob`/`File` as a form: `cacheControl`, then the file in a field named `""`).
async fn file_of(headers: &HeaderMap, body: Bytes) -> Result<(Bytes, String), StorageError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Ok((body, content_type));
    }
    let boundary = multer::parse_boundary(&content_type)
        .map_err(|e| StorageError::invalid(format!("multipart form: {e}")))?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| StorageError::invalid(format!("multipart form: {e}")))?
    {
        if field.file_name().is_none() && field.name().is_some_and(|n| !n.is_empty()) {
            continue;
        }
        let kind = field
            .content_type()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        let bytes = field
            .bytes()
            .await
            .map_err(|e| StorageError::invalid(format!("multipart form: {e}")))?;
        return Ok((bytes, kind));
    }
    Err(StorageError::invalid("the form carries no file"))
}

fn upserts(headers: &HeaderMap) -> bool {
    headers
        .get("x-upsert")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `POST|PUT /storage/v1/object/{bucket}/{path}`: `{Key, Id}`.
async fn upload(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path((bucket, path)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, StorageError> {
    let mode = match (method == Method::PUT, upserts(&headers)) {
        (true, _) => WriteMode::Replace,
        (false, true) => WriteMode::Upsert,
        (false, false) => WriteMode::Create,
    };
    let (bytes, content_type) = file_of(&headers, body).await?;
    let object = state
        .objects
        .upload(&actor, &bucket, &path, bytes, &content_type, mode)
        .await?;
    Ok(Json(json!({
        "Key": format!("{}/{}", object.bucket, object.path),
        "Id": object.id,
    })))
}

/// `GET /storage/v1/object/{bucket}/{path}` (and `object/authenticated/...`).
async fn download(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path((bucket, path)): Path<(String, String)>,
) -> Result<Response, StorageError> {
    Ok(redirect(
        state.objects.download(&actor, &bucket, &path).await?,
    ))
}

/// `GET /storage/v1/object/public/{bucket}/{path}`.
async fn public(
    State(state): State<StorageState>,
    Path((bucket, path)): Path<(String, String)>,
) -> Result<Response, StorageError> {
    Ok(redirect(state.objects.public(&bucket, &path).await?))
}

/// `GET /storage/v1/object/info/{bucket}/{path}`.
async fn info(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path((bucket, path)): Path<(String, String)>,
) -> Result<Json<Value>, StorageError> {
    let object = state.objects.info(&actor, &bucket, &path).await?;
    let mut body = file_object(&object.path, &object);
    if let Some(fields) = body.as_object_mut() {
        fields.insert("size".into(), json!(object.size));
        fields.insert("content_type".into(), json!(object.content_type));
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOne {
    expires_in: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignMany {
    expires_in: u64,
    paths: Vec<String>,
}

fn signed_url(bucket: &str, path: &str, token: &str) -> String {
    format!("/object/sign/{bucket}/{path}?token={token}")
}

fn json_of<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, StorageError> {
    serde_json::from_slice(body).map_err(|e| StorageError::invalid(format!("body: {e}")))
}

/// `POST /storage/v1/object/sign/{bucket}/{path}` `{expiresIn}`: `{signedURL}`, relative to
/// `/storage/v1`.
async fn sign_one(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path((bucket, path)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, StorageError> {
    let request: SignOne = json_of(&body)?;
    let answer = state
        .objects
        .sign(&actor, &bucket, &[path], request.expires_in)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StorageError::invalid("nothing to sign"))?;
    let (path, token) = answer?;
    Ok(Json(
        json!({ "signedURL": signed_url(&bucket, &path, &token) }),
    ))
}

/// `POST /storage/v1/object/sign/{bucket}` `{expiresIn, paths}`: one answer per path.
async fn sign_many(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path(bucket): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, StorageError> {
    let request: SignMany = json_of(&body)?;
    let answers = state
        .objects
        .sign(&actor, &bucket, &request.paths, request.expires_in)
        .await?;
    let body: Vec<Value> = request
        .paths
        .iter()
        .zip(answers)
        .map(|(asked, answer)| match answer {
            Ok((path, token)) => json!({
                "path": asked, "error": null, "signedURL": signed_url(&bucket, &path, &token),
            }),
            Err(error) => json!({ "path": asked, "error": error.to_string(), "signedURL": null }),
        })
        .collect();
    Ok(Json(Value::Array(body)))
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

/// `GET /storage/v1/object/sign/{bucket}/{path}?token=`: the signed URL itself.
async fn signed(
    State(state): State<StorageState>,
    Path((bucket, path)): Path<(String, String)>,
    Query(query): Query<Token>,
) -> Result<Response, StorageError> {
    Ok(redirect(
        state.objects.signed(&bucket, &path, &query.token).await?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListBody {
    #[serde(default)]
    prefix: String,
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    sort_by: Option<SortBy>,
    #[serde(default)]
    search: String,
}

#[derive(Deserialize)]
struct SortBy {
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    order: Option<String>,
}

fn default_limit() -> usize {
    100
}

/// `POST /storage/v1/object/list/{bucket}`: one folder's entries.
async fn list(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path(bucket): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, StorageError> {
    let request: ListBody = json_of(&body)?;
    let (column, order) = request
        .sort_by
        .map(|s| (s.column, s.order))
        .unwrap_or_default();
    let column = column.unwrap_or_else(|| "name".into());
    if !matches!(
        column.as_str(),
        "name" | "created_at" | "updated_at" | "last_accessed_at"
    ) {
        return Err(StorageError::invalid(format!(
            "sortBy.column: {column} is not one of name, created_at, updated_at, last_accessed_at"
        )));
    }
    let entries = state
        .objects
        .list(
            &actor,
            &bucket,
            ListRequest {
                prefix: request.prefix,
                limit: request.limit,
                offset: request.offset,
                sort_column: column,
                descending: order.is_some_and(|o| o.eq_ignore_ascii_case("desc")),
                search: request.search,
            },
        )
        .await?;
    let body: Vec<Value> = entries
        .iter()
        .map(|entry| match entry {
            ListEntry::Folder { name } => json!({
                "name": name, "id": null, "updated_at": null, "created_at": null,
                "last_accessed_at": null, "metadata": null,
            }),
            ListEntry::File { name, object } => file_object(name, object),
        })
        .collect();
    Ok(Json(Value::Array(body)))
}

#[derive(Deserialize)]
struct RemoveBody {
    prefixes: Vec<String>,
}

/// `DELETE /storage/v1/object/{bucket}` `{prefixes}`: the removed objects.
async fn remove(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path(bucket): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, StorageError> {
    let request: RemoveBody = json_of(&body)?;
    let removed = state
        .objects
        .remove(&actor, &bucket, &request.prefixes)
        .await?;
    Ok(Json(Value::Array(
        removed.iter().map(|o| file_object(&o.path, o)).collect(),
    )))
}

/// `DELETE /storage/v1/object/{bucket}/{path}`: one object (404 when there is none).
async fn remove_one(
    State(state): State<StorageState>,
    Caller(actor): Caller,
    Path((bucket, path)): Path<(String, String)>,
) -> Result<Json<Value>, StorageError> {
    let removed = state
        .objects
        .remove(&actor, &bucket, std::slice::from_ref(&path))
        .await?;
    let object = removed.first().ok_or(StorageError::from(
        scaliyo_app::storage::objects::ObjectError::NotFound,
    ))?;
    Ok(Json(
        json!({ "message": "Successfully deleted", "Key": format!("{}/{}", object.bucket, object.path) }),
    ))
}

pub fn router(access: Arc<Access>, objects: Arc<StorageObjects>) -> Router {
    Router::new()
        .route(
            "/storage/v1/object/{bucket}/{*path}",
            get(download)
                .post(upload)
                .put(upload)
                .delete(remove_one)
                .layer(DefaultBodyLimit::max(upload_limit())),
        )
        .route("/storage/v1/object/{bucket}", axum::routing::delete(remove))
        .route(
            "/storage/v1/object/authenticated/{bucket}/{*path}",
            get(download),
        )
        .route("/storage/v1/object/public/{bucket}/{*path}", get(public))
        .route("/storage/v1/object/info/{bucket}/{*path}", get(info))
        .route(
            "/storage/v1/object/sign/{bucket}/{*path}",
            get(signed).post(sign_one),
        )
        .route("/storage/v1/object/sign/{bucket}", post(sign_many))
        .route("/storage/v1/object/list/{bucket}", post(list))
        .with_state(StorageState { access, objects })
}
