//! Invitations over HTTP (docs/invitations.md), on the api function:
//! `GET /v1/invites` (the signed-in invitee's pending team and flow invitations),
//! `POST /v1/invites/{id}/accept|decline`, `POST /v1/invites/accept|decline {token}` (the
//! e-mailed link), `POST /v1/invites/{id}/resend` (whoever may invite).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::invites::{Answer, Invitations, InviteError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<InviteError> for ApiError {
    fn from(error: InviteError) -> Self {
        match error {
            InviteError::Access(e) => e.into(),
            InviteError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            InviteError::Answered => ApiError::new(
                StatusCode::CONFLICT,
                "invite_answered",
                "this invitation was answered already",
            ),
            InviteError::Expired => ApiError::new(
                StatusCode::GONE,
                "invite_expired",
                "this invitation expired; ask the inviter for a new one",
            ),
            InviteError::Revoked => ApiError::new(
                StatusCode::GONE,
                "invite_revoked",
                "the inviter may no longer invite you here; ask for a new invitation",
            ),
            InviteError::AlreadyMember => ApiError::new(
                StatusCode::CONFLICT,
                "already_member",
                "you are a member already",
            ),
            InviteError::TooSoon { minutes } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "resend_too_soon",
                format!("the invitation was e-mailed less than {minutes} minutes ago"),
            )
            .with("retry_after_minutes", json!(minutes)),
            InviteError::Queue(e) => ApiError::internal("invitation e-mail queue", &e),
            InviteError::Send(e) => e.into(),
        }
    }
}

#[derive(Clone)]
struct InviteState {
    access: Arc<Access>,
    invitations: Arc<Invitations>,
}

crate::actor::has_access!(InviteState);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

async fn pending(
    State(state): State<InviteState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    let invites = state.invitations.pending(&actor).await?;
    Ok(Json(json!({ "data": invites })).into_response())
}

async fn answer_by_id(
    state: InviteState,
    actor: scaliyo_app::access::Actor,
    id: String,
    answer: Answer,
) -> Result<Response, ApiError> {
    let answered = state.invitations.answer(&actor, &id, answer).await?;
    Ok(Json(answered).into_response())
}

async fn accept(
    State(state): State<InviteState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    answer_by_id(state, actor, id, Answer::Accept).await
}

async fn decline(
    State(state): State<InviteState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    answer_by_id(state, actor, id, Answer::Decline).await
}

async fn answer_by_token(
    state: InviteState,
    actor: scaliyo_app::access::Actor,
    payload: Result<Json<Value>, JsonRejection>,
    answer: Answer,
) -> Result<Response, ApiError> {
    let body: TokenBody = parse(payload)?;
    let answered = state
        .invitations
        .answer_token(&actor, &body.token, answer)
        .await?;
    Ok(Json(answered).into_response())
}

async fn accept_token(
    State(state): State<InviteState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    answer_by_token(state, actor, payload, Answer::Accept).await
}

async fn decline_token(
    State(state): State<InviteState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    answer_by_token(state, actor, payload, Answer::Decline).await
}

async fn resend(
    State(state): State<InviteState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invite = state.invitations.resend(&actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(invite)).into_response())
}

pub fn router(access: Arc<Access>, invitations: Arc<Invitations>) -> Router {
    Router::<InviteState>::new()
        .route("/v1/invites", get(pending))
        .route("/v1/invites/accept", post(accept_token))
        .route("/v1/invites/decline", post(decline_token))
        .route("/v1/invites/{id}/accept", post(accept))
        .route("/v1/invites/{id}/decline", post(decline))
        .route("/v1/invites/{id}/resend", post(resend))
        .with_state(InviteState {
            access,
            invitations,
        })
}
