//! A workflow's inbound hook (`webhook.received` triggers): `POST /v1/workflows/{id}/hook`
//! gives the owner the hook's URL (made on first use), and `POST /webhooks/workflows/{token}`
//! `{"lead_id"}` or `{"email"}` enrols that lead. No user token on the hook: the unguessable
//! token is the authentication; an unknown one is a plain 404.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::workflows::{HookRequest, WorkflowError, WorkflowFeed};
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

/// A hook's body names one lead: a few hundred bytes.
const MAX_HOOK_BODY: usize = 16 * 1024;

impl From<WorkflowError> for ApiError {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::Access(e) => e.into(),
            WorkflowError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            WorkflowError::Queue(e) => ApiError::unavailable("the workflow queue", &e),
        }
    }
}

#[derive(Clone)]
struct HookState {
    access: Arc<Access>,
    feed: WorkflowFeed,
    /// Where the hook routes are reached (the tracking host).
    base_url: String,
}

crate::actor::has_access!(HookState);

async fn hook(
    State(state): State<HookState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let hook = state.feed.hook(&state.access, &actor, &id).await?;
    let url = format!("{}{}", state.base_url.trim_end_matches('/'), hook.path);
    Ok(Json(json!({ "workflow_id": hook.workflow_id, "url": url })).into_response())
}

async fn receive(
    State(state): State<HookState>,
    Path(token): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request: HookRequest = parse(payload)?;
    if !state.feed.receive_hook(&token, request).await? {
        return Err(ApiError::not_found());
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response())
}

pub fn router(access: Arc<Access>, feed: WorkflowFeed, base_url: String) -> Router {
    Router::<HookState>::new()
        .route("/v1/workflows/{id}/hook", post(hook))
        .route(
            "/webhooks/workflows/{token}",
            post(receive).layer(DefaultBodyLimit::max(MAX_HOOK_BODY)),
        )
        .with_state(HookState {
            access,
            feed,
            base_url,
        })
}
