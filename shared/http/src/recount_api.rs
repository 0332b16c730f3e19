//! `POST /v1/admin/tracking/recount {"owner_id", "since"?}` (admins only): judge a workspace's
//! stored opens and clicks again with the current rules, rewrite the verdicts that changed and
//! rebuild the analytics of those days. Answers what changed, rule by rule.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, Utc};
use scaliyo_app::access::Access;
use scaliyo_app::tracking::Tracking;
use serde::Deserialize;
use serde_json::Value;

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecountRequest {
    owner_id: String,
    since: Option<DateTime<FixedOffset>>,
}

#[derive(Clone)]
struct RecountState {
    access: Arc<Access>,
    tracking: Arc<Tracking>,
}

crate::actor::has_access!(RecountState);

async fn recount(
    State(state): State<RecountState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    if actor.caller.is_none() {
        return Err(ApiError::unauthorized(
            "unauthenticated",
            "sign in to do this",
        ));
    }
    if !actor.is_admin {
        return Err(ApiError::forbidden(
            "only an admin may recount tracking events",
        ));
    }
    let request: RecountRequest = parse(payload)?;
    let Ok(owner) = request.owner_id.parse() else {
        return Err(ApiError::bad_request(
            "invalid",
            "owner_id: must be a user id (UUID)",
        ));
    };
    let report = state
        .tracking
        .recount(owner, request.since.map(|s| s.with_timezone(&Utc)))
        .await
        .map_err(|e| ApiError::from(scaliyo_app::access::AccessError::Row(e)))?;
    Ok(Json(report).into_response())
}

pub fn router(access: Arc<Access>, tracking: Arc<Tracking>) -> Router {
    Router::<RecountState>::new()
        .route("/v1/admin/tracking/recount", post(recount))
        .with_state(RecountState { access, tracking })
}
