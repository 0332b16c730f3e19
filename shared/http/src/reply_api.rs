//! Replies over HTTP (docs/replies.md):
//! - `router` (the api function): `GET /v1/leads/{id}/replies`, `GET`/`PUT
//!   /v1/replies/settings`, `POST /v1/sender-accounts/{id}/inbound-webhook`;
//! - `mailbox_router` (send-email, which holds the sealing key and the mail adapters):
//!   `PUT`/`GET`/`DELETE /v1/sender-accounts/{id}/reply-detection`;
//! - `inbound_router` (track-click, no user token — the URL's token is the authentication):
//!   `POST /webhooks/inbound/sendgrid/{token}`, `POST`/`HEAD /webhooks/inbound/mailchimp/{token}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::replies::{Replies, ReplyError, inbound::MAX_INBOUND_BYTES};
use serde_json::json;

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<ReplyError> for ApiError {
    fn from(error: ReplyError) -> Self {
        match error {
            ReplyError::Access(e) => e.into(),
            ReplyError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            ReplyError::UnknownHook => ApiError::not_found(),
            ReplyError::BadSignature => ApiError::unauthorized(
                "bad_signature",
                "the webhook signature does not match; nothing was recorded",
            ),
            ReplyError::TooLarge(limit) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is larger than {limit} bytes; nothing was recorded"),
            ),
            ReplyError::Mailbox(e) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "mailbox_unreachable",
                format!("the mailbox could not be read: {e}"),
            ),
            ReplyError::NoMailboxAccess => ApiError::internal("reply routes wired wrongly", &error),
        }
    }
}

#[derive(Clone)]
struct ReplyState {
    access: Arc<Access>,
    replies: Arc<Replies>,
}

crate::actor::has_access!(ReplyState);

async fn lead_replies(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let replies = state.replies.of_lead(&actor, &id).await?;
    Ok(Json(replies).into_response())
}

async fn get_settings(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    Ok(Json(state.replies.get_rules(&actor).await?).into_response())
}

async fn put_settings(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let rules = parse(payload)?;
    Ok(Json(state.replies.put_rules(&actor, rules).await?).into_response())
}

async fn create_inbound(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let created = state.replies.create_inbound(&actor, &id, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn enable(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    Ok(Json(state.replies.enable(&actor, &id, request).await?).into_response())
}

async fn status(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.replies.status(&actor, &id).await?).into_response())
}

async fn disable(
    State(state): State<ReplyState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.replies.disable(&actor, &id).await?).into_response())
}

/// A body over the cap (or unreadable) is refused with the error shape of every route.
fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ReplyError::TooLarge(MAX_INBOUND_BYTES).into()
    } else {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    }
}

async fn sendgrid(
    State(replies): State<Arc<Replies>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let recorded = replies
        .sendgrid_inbound(&token, content_type, &body)
        .await?;
    Ok(Json(json!({ "recorded": recorded })).into_response())
}

async fn mailchimp(
    State(replies): State<Arc<Replies>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let signature = headers
        .get("x-mandrill-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let recorded = replies
        .mailchimp_inbound(&token, signature, &params, body.len())
        .await?;
    Ok(Json(json!({ "recorded": recorded })).into_response())
}

async fn mailchimp_check(
    State(replies): State<Arc<Replies>>,
    Path(token): Path<String>,
) -> StatusCode {
    if replies.inbound_exists("mailchimp", &token).await {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

/// The workspace's replies and inbound URLs (the api function).
pub fn router(access: Arc<Access>, replies: Arc<Replies>) -> Router {
    Router::<ReplyState>::new()
        .route("/v1/leads/{id}/replies", get(lead_replies))
        .route("/v1/replies/settings", get(get_settings).put(put_settings))
        .route(
            "/v1/sender-accounts/{id}/inbound-webhook",
            post(create_inbound),
        )
        .with_state(ReplyState { access, replies })
}

/// Reply detection per sender (send-email: it seals logins and reads mailboxes).
pub fn mailbox_router(access: Arc<Access>, replies: Arc<Replies>) -> Router {
    Router::<ReplyState>::new()
        .route(
            "/v1/sender-accounts/{id}/reply-detection",
            put(enable).get(status).delete(disable),
        )
        .with_state(ReplyState { access, replies })
}

/// The providers' inbound parse (track-click).
pub fn inbound_router(replies: Arc<Replies>) -> Router {
    Router::new()
        .route("/webhooks/inbound/sendgrid/{token}", post(sendgrid))
        .route(
            "/webhooks/inbound/mailchimp/{token}",
            post(mailchimp).head(mailchimp_check),
        )
        .layer(DefaultBodyLimit::max(MAX_INBOUND_BYTES))
        .with_state(replies)
}
