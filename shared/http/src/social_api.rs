//! Social publishing over HTTP:
//!
//! - `POST /v1/social/accounts/meta` and `POST /v1/social/accounts/linkedin` connect (or
//!   reconnect) an account; the token is sealed and never returned.
//! - `GET /v1/social/accounts/health`: token expiry and reconnect marks per account.
//! - `POST /v1/social/posts` creates a post with its targets (scheduled when `scheduled_at`
//!   is given, else a draft); `POST /v1/social/posts/{id}/schedule` schedules a draft;
//!   `GET /v1/social/posts/{id}` shows the post with its targets, short links and events.
//!
//! Listing and deleting go through the data API (`/v1/social_posts`, …).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::social::{SchedulePost, SocialAccounts, SocialError, SocialPosts};
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<SocialError> for ApiError {
    fn from(error: SocialError) -> Self {
        match error {
            SocialError::Access(e) => e.into(),
            SocialError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            SocialError::NotDraft { status } => ApiError::new(
                StatusCode::CONFLICT,
                "not_draft",
                format!("the post is {status}; only a draft can be scheduled"),
            )
            .with("status", json!(status)),
            SocialError::NotPublishable { status } => ApiError::new(
                StatusCode::CONFLICT,
                "not_publishable",
                format!(
                    "the post is {status}; only a draft or a scheduled post can be published now"
                ),
            )
            .with("status", json!(status)),
            SocialError::Seal(e) => ApiError::unavailable("sealing a social token", &e),
            SocialError::Blob(e) => ApiError::unavailable("the media bucket", &e),
        }
    }
}

#[derive(Clone)]
struct SocialState {
    access: Arc<Access>,
    social: Arc<SocialPosts>,
}

#[derive(Clone)]
struct AccountsState {
    access: Arc<Access>,
    accounts: Arc<SocialAccounts>,
}

crate::actor::has_access!(SocialState, AccountsState);

async fn connect_meta(
    State(state): State<AccountsState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = state.accounts.connect_meta(&actor, parse(payload)?).await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

async fn connect_linkedin(
    State(state): State<AccountsState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = state
        .accounts
        .connect_linkedin(&actor, parse(payload)?)
        .await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

async fn health(
    State(state): State<SocialState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    let accounts = state.social.account_health(&actor).await?;
    Ok(Json(json!({ "data": accounts })).into_response())
}

async fn create_post(
    State(state): State<SocialState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let post = state.social.create_post(&actor, parse(payload)?).await?;
    Ok((StatusCode::CREATED, Json(post)).into_response())
}

async fn schedule_post(
    State(state): State<SocialState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    // An empty body schedules the draft at the time it already has.
    let request: SchedulePost = match payload {
        Err(JsonRejection::MissingJsonContentType(_)) => SchedulePost::default(),
        other => parse(other)?,
    };
    let post = state.social.schedule_post(&actor, &id, request).await?;
    Ok(Json(post).into_response())
}

async fn show_post(
    State(state): State<SocialState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let post = state.social.post(&actor, &id).await?;
    Ok(Json(post).into_response())
}

/// Posts and account health (the `api` function).
pub fn router(access: Arc<Access>, social: Arc<SocialPosts>) -> Router {
    Router::<SocialState>::new()
        .route("/v1/social/accounts/health", get(health))
        .route("/v1/social/posts", post(create_post))
        .route("/v1/social/posts/{id}", get(show_post))
        .route("/v1/social/posts/{id}/schedule", post(schedule_post))
        .with_state(SocialState { access, social })
}

/// Connecting accounts, which seals their tokens (the `send-email` function, beside the
/// sender connection, where the key service is).
pub fn accounts_router(access: Arc<Access>, accounts: Arc<SocialAccounts>) -> Router {
    Router::<AccountsState>::new()
        .route("/v1/social/accounts/meta", post(connect_meta))
        .route("/v1/social/accounts/linkedin", post(connect_linkedin))
        .with_state(AccountsState { access, accounts })
}
