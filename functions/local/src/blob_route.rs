//! `/_blobs/{bucket}/{key}`: the local stand-in for S3 presigned URLs. Only requests whose
//! signature, expiry (and, for uploads, content type) match what `LocalBlobs` signed are
//! served; anything else is a 403 as S3 would answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scaliyo_embedded::LocalBlobs;
use scaliyo_embedded::blobs::SignedRequest;
use scaliyo_http::ApiError;
use scaliyo_store::Blobs;
use serde::Deserialize;

/// Uploads through presigned URLs may be large (imports); S3 allows 5 GB per PUT.
const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

#[derive(Deserialize)]
struct Signed {
    expires: i64,
    signature: String,
    #[serde(default)]
    content_type: String,
    content_length: Option<u64>,
}

fn denied() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "signature_mismatch",
        "the URL is not valid for this request or has expired",
    )
}

async fn download(
    State(blobs): State<Arc<LocalBlobs>>,
    Path((bucket, key)): Path<(String, String)>,
    Query(signed): Query<Signed>,
) -> Result<Response, ApiError> {
    let request = SignedRequest {
        method: "GET",
        bucket: &bucket,
        key: &key,
        expires: signed.expires,
        content_type: "",
        content_length: None,
    };
    if !blobs.verify(&request, &signed.signature) {
        return Err(denied());
    }
    let meta = blobs
        .head(&bucket, &key)
        .await
        .map_err(|e| ApiError::internal("blob head", &e))?;
    let body = blobs
        .get(&bucket, &key)
        .await
        .map_err(|e| ApiError::internal("blob get", &e))?;
    match (meta, body) {
        (Some(meta), Some(body)) => {
            let content_type = meta
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut response = body.into_response();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            Ok(response)
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_key",
            "the object does not exist",
        )),
    }
}

async fn upload(
    State(blobs): State<Arc<LocalBlobs>>,
    Path((bucket, key)): Path<(String, String)>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let sent_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let length_ok = signed
        .content_length
        .is_none_or(|length| length == body.len() as u64);
    let request = SignedRequest {
        method: "PUT",
        bucket: &bucket,
        key: &key,
        expires: signed.expires,
        content_type: &signed.content_type,
        content_length: signed.content_length,
    };
    if !blobs.verify(&request, &signed.signature) || sent_type != signed.content_type || !length_ok
    {
        return Err(denied());
    }
    blobs
        .put(&bucket, &key, body, Some(sent_type))
        .await
        .map_err(|e| ApiError::internal("blob put", &e))?;
    Ok(StatusCode::OK)
}

pub fn router(blobs: Arc<LocalBlobs>) -> Router {
    Router::new()
        .route("/_blobs/{bucket}/{*key}", get(download).put(upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(blobs)
}

/// `GET /storage/{bucket}/{key}`: public-read buckets, as their S3 public URLs serve them.
async fn public_object(
    State(blobs): State<Arc<LocalBlobs>>,
    Path((bucket, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let public = scaliyo_app::storage::rules(&bucket).is_some_and(|r| r.public_read);
    if !public {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_key",
            "the object does not exist",
        ));
    }
    let meta = blobs
        .head(&bucket, &key)
        .await
        .map_err(|e| ApiError::bad_request("invalid_key", e.to_string()))?;
    let body = blobs
        .get(&bucket, &key)
        .await
        .map_err(|e| ApiError::internal("blob get", &e))?;
    match (meta, body) {
        (Some(meta), Some(body)) => {
            let mut response = body.into_response();
            if let Some(value) = meta
                .content_type
                .and_then(|t| HeaderValue::from_str(&t).ok())
            {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            // Uploaded files are served as downloads-only content: no sniffing into HTML.
            response.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            Ok(response)
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_key",
            "the object does not exist",
        )),
    }
}

pub fn public_router(blobs: Arc<LocalBlobs>) -> Router {
    Router::new()
        .route("/storage/{bucket}/{*key}", get(public_object))
        .with_state(blobs)
}
