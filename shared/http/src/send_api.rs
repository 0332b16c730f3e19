//! `POST /v1/send-email` (one e-mail to one lead; `Idempotency-Key` honoured) and
//! `POST /v1/sender-accounts/connect` (a sender account with its write-only credentials).

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::send::{SendError, SendPipeline};
use scaliyo_store::MailError;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;

impl From<SendError> for ApiError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Access(e) => e.into(),
            SendError::Crashed => ApiError::internal("send", &"a send stage panicked"),
            SendError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
            }
            SendError::Suppressed => ApiError::new(
                StatusCode::CONFLICT,
                "suppressed",
                "the recipient unsubscribed, bounced or reported spam; nothing was sent",
            ),
            SendError::QuotaExceeded { limit } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                format!("the {limit} limit is reached; nothing was sent"),
            )
            .with("limit", json!(limit)),
            SendError::NoSender(reason) => ApiError::new(StatusCode::CONFLICT, "no_sender", reason),
            SendError::InProgress => ApiError::new(
                StatusCode::CONFLICT,
                "in_progress",
                "a send with this Idempotency-Key is still in progress",
            ),
            SendError::Provider { error, message_id } => {
                let (code, message) = match &error {
                    MailError::Auth(_) => (
                        "provider_auth",
                        "the provider refused the sender's credentials; reconnect the account"
                            .to_owned(),
                    ),
                    MailError::RateLimited { .. } => (
                        "provider_rate_limited",
                        "the provider is rate limiting; retry later".to_owned(),
                    ),
                    MailError::Rejected(reason) => (
                        "provider_rejected",
                        format!("the provider rejected the message: {reason}"),
                    ),
                    MailError::Unavailable(_) => (
                        "provider_unavailable",
                        "the provider could not be reached; retry later".to_owned(),
                    ),
                };
                ApiError::new(StatusCode::BAD_GATEWAY, code, message)
                    .with("message_id", json!(message_id))
                    .with("retryable", json!(error.is_retryable()))
            }
        }
    }
}

#[derive(Clone)]
pub struct SendState {
    pub access: Arc<Access>,
    pub pipeline: Arc<SendPipeline>,
}

crate::actor::has_access!(SendState);

pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<T, ApiError> {
    let Json(value) = payload.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    serde_json::from_value(value).map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))
}

async fn send_email(
    State(state): State<SendState>,
    CurrentActor(actor): CurrentActor,
    headers: HeaderMap,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let outcome = state.pipeline.send(&actor, request, key).await?;
    Ok((StatusCode::OK, Json(outcome)).into_response())
}

async fn connect_sender(
    State(state): State<SendState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = parse(payload)?;
    let account = state.pipeline.senders().connect(&actor, request).await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

pub fn router(access: Arc<Access>, pipeline: Arc<SendPipeline>) -> Router {
    Router::<SendState>::new()
        .route("/v1/send-email", post(send_email))
        .route("/v1/sender-accounts/connect", post(connect_sender))
        .with_state(SendState { access, pipeline })
}
