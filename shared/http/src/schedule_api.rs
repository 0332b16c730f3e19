//! Scheduling: `POST /v1/scheduled-emails` (one e-mail at a time), `POST /v1/sequences`
//! (blocks for one or many leads, with a send window), and their cancels. Listing goes
//! through the data API (`GET /v1/scheduled_emails`, `?lead_id=…`) or
//! `GET /v1/sequences/{sequence_id}` for one lead's blocks in order.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::scheduler::{ScheduleError, Scheduling};
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<ScheduleError> for ApiError {
    fn from(error: ScheduleError) -> Self {
        match error {
            ScheduleError::Access(e) => e.into(),
            ScheduleError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            ScheduleError::NotCancellable { status } => ApiError::new(
                StatusCode::CONFLICT,
                "not_cancellable",
                format!("the e-mail is {status} and cannot be cancelled"),
            )
            .with("status", json!(status)),
            ScheduleError::Queue(e) => ApiError::unavailable("the send queue", &e),
        }
    }
}

#[derive(Clone)]
struct ScheduleState {
    access: Arc<Access>,
    scheduler: Arc<Scheduling>,
}

crate::actor::has_access!(ScheduleState);

async fn schedule_one(
    State(state): State<ScheduleState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let scheduled = state.scheduler.schedule_one(&actor, request).await?;
    Ok((StatusCode::CREATED, Json(scheduled)).into_response())
}

async fn schedule_sequence(
    State(state): State<ScheduleState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let scheduled = state.scheduler.schedule_sequence(&actor, request).await?;
    Ok((StatusCode::CREATED, Json(scheduled)).into_response())
}

async fn cancel_one(
    State(state): State<ScheduleState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = state.scheduler.cancel(&actor, &id).await?;
    Ok(Json(row).into_response())
}

async fn sequence(
    State(state): State<ScheduleState>,
    CurrentActor(actor): CurrentActor,
    Path(sequence_id): Path<String>,
) -> Result<Response, ApiError> {
    let blocks = state.scheduler.sequence(&actor, &sequence_id).await?;
    Ok(Json(json!({ "sequence_id": sequence_id, "data": blocks })).into_response())
}

async fn cancel_sequence(
    State(state): State<ScheduleState>,
    CurrentActor(actor): CurrentActor,
    Path(sequence_id): Path<String>,
) -> Result<Response, ApiError> {
    let report = state
        .scheduler
        .cancel_sequence(&actor, &sequence_id)
        .await?;
    Ok(Json(report).into_response())
}

pub fn router(access: Arc<Access>, scheduler: Arc<Scheduling>) -> Router {
    Router::<ScheduleState>::new()
        .route("/v1/scheduled-emails", post(schedule_one))
        .route("/v1/scheduled-emails/{id}/cancel", post(cancel_one))
        .route("/v1/sequences", post(schedule_sequence))
        .route("/v1/sequences/{sequence_id}", get(sequence))
        .route("/v1/sequences/{sequence_id}/cancel", post(cancel_sequence))
        .with_state(ScheduleState { access, scheduler })
}
