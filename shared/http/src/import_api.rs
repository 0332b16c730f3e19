//! Lead imports: `POST /v1/imports` (a batch and its presigned upload URL),
//! `POST /v1/imports/{id}/file` (a small file posted directly), and
//! `GET /v1/imports/{id}/rejected` (a download URL of the rejected rows and their reasons).
//! The frontend polls the batch at `GET /v1/import_batches/{id}` (data API).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::import::{ImportError, Importer};
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Access(e) => e.into(),
            ImportError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            ImportError::WrongState { status, action } => ApiError::new(
                StatusCode::CONFLICT,
                "wrong_state",
                format!("the batch is {status}; {action}"),
            )
            .with("status", json!(status)),
            ImportError::TooLarge { limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the file is larger than {limit} bytes; upload it with the presigned URL"),
            )
            .with("limit", json!(limit)),
            ImportError::EmptyFile => ApiError::bad_request(
                "empty_file",
                "the file is empty: there is nothing to import",
            ),
            ImportError::Blob(e) => ApiError::unavailable("the file store", &e),
        }
    }
}

#[derive(Clone)]
struct ImportState {
    access: Arc<Access>,
    importer: Arc<Importer>,
}

crate::actor::has_access!(ImportState);

async fn start(
    State(state): State<ImportState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let started = state.importer.start(&actor, request).await?;
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

async fn upload(
    State(state): State<ImportState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "invalid",
            "the request body is the file; it is empty",
        ));
    }
    let batch = state.importer.upload_direct(&actor, &id, body).await?;
    Ok((StatusCode::ACCEPTED, Json(batch)).into_response())
}

async fn rejected(
    State(state): State<ImportState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let url = state.importer.rejected_download(&actor, &id).await?;
    Ok(Json(json!({
        "url": url.url,
        "method": url.method,
        "expires_at": url.expires_at.to_rfc3339(),
    }))
    .into_response())
}

pub fn router(access: Arc<Access>, importer: Arc<Importer>) -> Router {
    let limit = importer.config().max_direct_bytes + 1;
    Router::<ImportState>::new()
        .route("/v1/imports", post(start))
        .route(
            "/v1/imports/{id}/file",
            post(upload).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/v1/imports/{id}/rejected", get(rejected))
        .with_state(ImportState { access, importer })
}
