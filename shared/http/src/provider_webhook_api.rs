//! Provider event webhooks: `POST /webhooks/sendgrid/{token}` (SendGrid's signed Event
//! Webhook), `POST`/`HEAD /webhooks/mailchimp/{token}` (Mailchimp Transactional), and
//! `POST /v1/sender-accounts/{id}/event-webhook` to create a sender account's webhook URL.
//! No user token on the webhooks: the signature is the authentication.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::provider_events::{HookError, ProviderHooks};
use serde_json::json;

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<HookError> for ApiError {
    fn from(error: HookError) -> Self {
        match error {
            HookError::UnknownHook => ApiError::not_found(),
            HookError::BadSignature => ApiError::unauthorized(
                "bad_signature",
                "the webhook signature does not match; nothing was recorded",
            ),
            HookError::Malformed(message) => ApiError::bad_request("invalid", message),
            HookError::Stale => ApiError::unauthorized(
                "stale_timestamp",
                "the signed timestamp is more than ten minutes from now",
            ),
            HookError::Access(e) => e.into(),
        }
    }
}

#[derive(Clone)]
struct HookState {
    access: Arc<Access>,
    hooks: Arc<ProviderHooks>,
}

crate::actor::has_access!(HookState);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn sendgrid(
    State(state): State<HookState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let recorded = state
        .hooks
        .sendgrid(
            &token,
            header(&headers, "x-twilio-email-event-webhook-signature"),
            header(&headers, "x-twilio-email-event-webhook-timestamp"),
            &body,
        )
        .await?;
    Ok(Json(json!({ "recorded": recorded })).into_response())
}

async fn mailchimp(
    State(state): State<HookState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let recorded = state
        .hooks
        .mandrill(&token, header(&headers, "x-mandrill-signature"), &params)
        .await?;
    Ok(Json(json!({ "recorded": recorded })).into_response())
}

async fn mailchimp_check(State(state): State<HookState>, Path(token): Path<String>) -> StatusCode {
    if state.hooks.exists("mailchimp", &token).await {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn create(
    State(state): State<HookState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let created = state
        .hooks
        .create(&state.access, &actor, &id, request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub fn router(access: Arc<Access>, hooks: Arc<ProviderHooks>) -> Router {
    Router::<HookState>::new()
        .route("/webhooks/sendgrid/{token}", post(sendgrid))
        .route(
            "/webhooks/mailchimp/{token}",
            post(mailchimp).head(mailchimp_check),
        )
        .route("/v1/sender-accounts/{id}/event-webhook", post(create))
        .with_state(HookState { access, hooks })
}
