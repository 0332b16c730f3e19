//! The outgoing webhooks' delivery log: `GET /v1/webhooks/{id}/deliveries` (newest first, each
//! with its attempts: time, HTTP status, latency, error) and
//! `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`. Webhooks themselves are rows of
//! the data API (`/v1/webhooks`); their `secret` is write-only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::webhooks::{WebhookError, WebhookLog};
use serde_json::json;

use crate::actor::CurrentActor;
use crate::error::ApiError;

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Access(e) => e.into(),
            WebhookError::Malformed(e) => ApiError::bad_request("invalid", e),
            WebhookError::Queue(e) => ApiError::unavailable("the webhook queue", &e),
        }
    }
}

#[derive(Clone)]
struct LogState {
    access: Arc<Access>,
    log: Arc<WebhookLog>,
}

crate::actor::has_access!(LogState);

async fn deliveries(
    State(state): State<LogState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let deliveries = state.log.deliveries(&actor, &id).await?;
    Ok(Json(json!({ "webhook_id": id, "data": deliveries })).into_response())
}

async fn redeliver(
    State(state): State<LogState>,
    CurrentActor(actor): CurrentActor,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let delivery = state.log.redeliver(&actor, &id, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}

pub fn router(access: Arc<Access>, log: Arc<WebhookLog>) -> Router {
    Router::<LogState>::new()
        .route("/v1/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
        .with_state(LogState { access, log })
}
