//! AI over HTTP (docs/ai.md), on the `ai` function: `POST /v1/ai/generate` and
//! `POST /v1/user_prompts/{id}/test`. Without a configured provider every route answers
//! `501 ai_not_configured`, naming the variables to set.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::ai::{Ai, AiError};
use scaliyo_domain::email::RenderError;
use scaliyo_store::ModelError;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

fn model_error(error: ModelError) -> ApiError {
    match error {
        ModelError::RateLimited { retry_after } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "model_rate_limited",
            "the model provider is rate limiting this deployment; retry shortly",
        )
        .with(
            "retry_after_seconds",
            json!(retry_after.map(|d| d.as_secs().max(1)).unwrap_or(5)),
        ),
        ModelError::Blocked { reason } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "model_refused",
            format!("the model refused this prompt ({reason}); nothing was charged"),
        )
        .with("reason", json!(reason)),
        ModelError::Rejected { message } => {
            tracing::error!(%message, "the model provider rejected a request");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "model_rejected",
                "the model provider rejected the request; nothing was charged",
            )
        }
        ModelError::Unavailable(message) => {
            tracing::warn!(%message, "the model provider is unavailable");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "model_unavailable",
                "the model provider is unavailable; nothing was charged, retry later",
            )
        }
    }
}

impl From<AiError> for ApiError {
    fn from(error: AiError) -> Self {
        match error {
            AiError::NotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "ai_not_configured",
                error.to_string(),
            )
            .with("variables", json!(scaliyo_app::ai::CONFIG_VARIABLES)),
            AiError::CreditsExhausted {
                remaining,
                needed,
                resets_at,
            } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "credits_exhausted",
                format!(
                    "{remaining} AI credits remain this month and this call needs {needed}; they renew at {}",
                    resets_at.to_rfc3339()
                ),
            )
            .with("remaining", json!(remaining))
            .with("needed", json!(needed))
            .with("resets_at", json!(resets_at.to_rfc3339())),
            AiError::PromptNotFound(which) => ApiError::new(
                StatusCode::NOT_FOUND,
                "prompt_not_found",
                format!("no active prompt {which}"),
            ),
            AiError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            AiError::Render(RenderError::UnknownTags(tags)) => ApiError::bad_request(
                "unknown_merge_tags",
                format!("unknown merge tag(s): {}", tags.join(", ")),
            )
            .with("tags", json!(tags)),
            AiError::Render(RenderError::Unclosed) => ApiError::bad_request(
                "invalid_template",
                "a merge tag of the prompt is not closed (missing `}}`)",
            ),
            AiError::Model(e) => model_error(e),
            AiError::Access(e) => e.into(),
        }
    }
}

fn with_retry_after(error: ApiError) -> Response {
    let seconds = error.details.get("retry_after_seconds").cloned();
    let mut response = error.into_response();
    if let Some(value) = seconds.and_then(|v| v.as_u64())
        && let Ok(header) = HeaderValue::from_str(&value.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, header);
    }
    response
}

#[derive(Clone)]
struct AiState {
    access: Arc<Access>,
    ai: Arc<Ai>,
}

crate::actor::has_access!(AiState);

async fn generate(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    let request = match parse(payload) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    match state.ai.generate(&actor, request).await {
        Ok(generated) => Json(generated).into_response(),
        Err(error) => with_retry_after(error.into()),
    }
}

async fn test_prompt(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    let request = match parse(payload) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    match state.ai.test_prompt(&actor, &id, request).await {
        Ok((generated, prompt)) => {
            Json(json!({"result": generated, "prompt": prompt})).into_response()
        }
        Err(error) => with_retry_after(error.into()),
    }
}

pub fn router(access: Arc<Access>, ai: Arc<Ai>) -> Router {
    Router::new()
        .route("/v1/ai/generate", post(generate))
        .route("/v1/user_prompts/{id}/test", post(test_prompt))
        .with_state(AiState { access, ai })
}
