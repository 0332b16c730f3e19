//! `POST /v1/user_prompts/{id}/restore {version}`: a prompt back to an earlier version (the
//! change itself kept in its history). Other prompt edits go through the data API, which
//! versions them (`docs/security.md`, prompt history).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use serde::Deserialize;
use serde_json::Value;

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Restore {
    version: i64,
}

async fn restore(
    State(access): State<Arc<Access>>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request: Restore = parse(payload)?;
    Ok(Json(access.restore_prompt(&actor, &id, request.version).await?).into_response())
}

pub fn router(access: Arc<Access>) -> Router {
    Router::new()
        .route("/v1/user_prompts/{id}/restore", post(restore))
        .with_state(access)
}
