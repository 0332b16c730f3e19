//! Team Hub templates over HTTP (docs/teamhub.md), on the api function:
//! `POST /v1/teamhub/boards/from-template {template_id, name}` (a board with its lists,
//! cards and the creator's owner membership, in one go) and
//! `POST /v1/teamhub/boards/{id}/save-as-template {name}` (the board as the caller's own
//! `user` template). Everything else about boards goes through the data API.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::board_templates::{BoardTemplateError, BoardTemplates};
use scaliyo_domain::teamhub::TemplateError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<BoardTemplateError> for ApiError {
    fn from(error: BoardTemplateError) -> Self {
        match error {
            BoardTemplateError::Access(e) => e.into(),
            BoardTemplateError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            BoardTemplateError::Template(e @ TemplateError::TooLarge { .. }) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "template_too_large",
                e.to_string(),
            ),
            BoardTemplateError::Template(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_template",
                e.to_string(),
            ),
        }
    }
}

#[derive(Clone)]
struct TeamHubState {
    access: Arc<Access>,
    templates: Arc<BoardTemplates>,
}

crate::actor::has_access!(TeamHubState);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromTemplate {
    template_id: uuid::Uuid,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveAsTemplate {
    name: String,
}

async fn from_template(
    State(state): State<TeamHubState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request: FromTemplate = parse(payload)?;
    let built = state
        .templates
        .board_from_template(&actor, &request.template_id.to_string(), &request.name)
        .await?;
    Ok((StatusCode::CREATED, Json(built)).into_response())
}

async fn save_as_template(
    State(state): State<TeamHubState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request: SaveAsTemplate = parse(payload)?;
    let template = state
        .templates
        .save_as_template(&actor, &id, &request.name)
        .await?;
    Ok((StatusCode::CREATED, Json(template)).into_response())
}

pub fn router(access: Arc<Access>) -> Router {
    let templates = Arc::new(BoardTemplates::new(access.clone()));
    Router::<TeamHubState>::new()
        .route("/v1/teamhub/boards/from-template", post(from_template))
        .route(
            "/v1/teamhub/boards/{id}/save-as-template",
            post(save_as_template),
        )
        .with_state(TeamHubState { access, templates })
}
