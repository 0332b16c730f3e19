//! AI over HTTP (docs/ai.md), on the `ai` function: `POST /v1/ai/generate`,
//! `POST /v1/user_prompts/{id}/test`, lead research (`POST /v1/leads/{id}/research`, and
//! runs of it: `POST /v1/leads/research`, `GET /v1/leads/research/{run_id}`) and AI-written
//! sequences (`POST /v1/sequences/ai`, `GET /v1/sequences/ai/{run_id}`). Without a
//! configured provider every route that calls the model answers `501 ai_not_configured`,
//! naming the variables to set.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::ai::{Ai, AiError, RunKind};
use scaliyo_domain::email::RenderError;
use scaliyo_store::{ModelError, PageError};
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
            AiError::Answer(e) => {
                tracing::warn!(%e, "a model answer could not be read");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "model_answer_unreadable",
                    "the model's answer was not in the form asked for; nothing was charged, retry",
                )
            }
            AiError::NoWebsite => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_website",
                error.to_string(),
            ),
            AiError::Website(PageError::Refused(reason)) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "website_refused",
                format!("the website may not be read: {reason}"),
            ),
            AiError::Website(e) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "website_unreachable",
                format!("the website could not be read ({e}); nothing was charged"),
            ),
            AiError::RunNotFound(run) => ApiError::new(
                StatusCode::NOT_FOUND,
                "run_not_found",
                format!("no AI run {run}"),
            ),
            AiError::Queue(e) => {
                tracing::error!(%e, "the AI work queue failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_unavailable",
                    "the AI work queue is unavailable; nothing was charged, retry shortly",
                )
            }
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

/// A JSON request read (`400`/`415` when it is not one), the use case run on it, its answer
/// as JSON with `status` or its error mapped once.
async fn answer<R, T, Fut>(
    payload: Result<Json<Value>, JsonRejection>,
    status: StatusCode,
    call: impl FnOnce(R) -> Fut,
) -> Response
where
    R: serde::de::DeserializeOwned,
    T: serde::Serialize,
    Fut: std::future::Future<Output = Result<T, AiError>>,
{
    let request = match parse(payload) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    match call(request).await {
        Ok(answer) => (status, Json(answer)).into_response(),
        Err(error) => with_retry_after(error.into()),
    }
}

async fn generate(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    answer(payload, StatusCode::OK, |request| {
        state.ai.generate(&actor, request)
    })
    .await
}

async fn test_prompt(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    answer(payload, StatusCode::OK, |request| async {
        let (generated, prompt) = state.ai.test_prompt(&actor, &id, request).await?;
        Ok(json!({"result": generated, "prompt": prompt}))
    })
    .await
}

async fn research_lead(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    answer(payload, StatusCode::OK, |request| {
        state.ai.research_lead(&actor, &id, request)
    })
    .await
}

async fn start_research_run(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    answer(payload, StatusCode::ACCEPTED, |request| {
        state.ai.start_research_run(&actor, request)
    })
    .await
}

async fn start_sequence_run(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    answer(payload, StatusCode::ACCEPTED, |request| {
        state.ai.start_sequence_run(&actor, request)
    })
    .await
}

async fn progress(
    state: &AiState,
    actor: &scaliyo_app::access::Actor,
    kind: RunKind,
    run_id: &str,
) -> Response {
    match state.ai.run_progress(actor, kind, run_id).await {
        Ok(progress) => Json(progress).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

async fn research_progress(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    Path(run_id): Path<String>,
) -> Response {
    progress(&state, &actor, RunKind::Research, &run_id).await
}

async fn sequence_progress(
    State(state): State<AiState>,
    CurrentActor(actor): CurrentActor,
    Path(run_id): Path<String>,
) -> Response {
    progress(&state, &actor, RunKind::Sequence, &run_id).await
}

pub fn router(access: Arc<Access>, ai: Arc<Ai>) -> Router {
    Router::new()
        .route("/v1/ai/generate", post(generate))
        .route("/v1/user_prompts/{id}/test", post(test_prompt))
        .route("/v1/leads/{id}/research", post(research_lead))
        .route("/v1/leads/research", post(start_research_run))
        .route("/v1/leads/research/{run_id}", get(research_progress))
        .route("/v1/sequences/ai", post(start_sequence_run))
        .route("/v1/sequences/ai/{run_id}", get(sequence_progress))
        .with_state(AiState { access, ai })
}
