//! OAuth connections over HTTP (docs/oauth.md), on the `oauth` function:
//!
//! - `GET /v1/oauth/{provider}/start`: the provider's authorize URL for the signed-in user;
//!   the frontend sends the browser there.
//! - `GET /oauth/{provider}/callback`: where the provider sends the browser back (no
//!   sign-in: the sealed `state` says whose connection it is); answers `303` to the
//!   frontend's `<APP_URL>/settings/connections?provider=…&status=connected|choose|error…`.
//! - `GET /v1/oauth/pending/{id}` and `POST /v1/oauth/pending/{id}/connect {choices}`: the
//!   Pages, Instagram accounts, member and organisations a Meta or LinkedIn grant offers.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::oauth::{Callback, Completed, ConnectError, OAuthConnections, parse_provider};
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<ConnectError> for ApiError {
    fn from(error: ConnectError) -> Self {
        let code = error.code();
        match error {
            ConnectError::Access(e) => e.into(),
            ConnectError::Sender(e) => (*e).into(),
            ConnectError::Social(e) => (*e).into(),
            ConnectError::UnknownProvider(_) => {
                ApiError::new(StatusCode::NOT_FOUND, code, error.to_string())
            }
            ConnectError::NotConfigured(provider) => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                code,
                format!(
                    "connecting with {provider} is not configured in this deployment: set {}_CLIENT_ID, {}_CLIENT_SECRET and OAUTH_REDIRECT_BASE",
                    provider.as_str().to_uppercase(),
                    provider.as_str().to_uppercase()
                ),
            ),
            ConnectError::State(_) => ApiError::bad_request(code, error.to_string()),
            ConnectError::Invalid { field, reason } => {
                ApiError::bad_request(code, format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            ConnectError::Refused { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, code, error.to_string())
            }
            ConnectError::Unavailable(detail) => {
                ApiError::unavailable("the OAuth provider", &detail)
            }
            ConnectError::PendingExpired => {
                ApiError::new(StatusCode::GONE, code, error.to_string())
            }
            ConnectError::Seal(e) => ApiError::unavailable("the key service", &e),
        }
    }
}

#[derive(Clone)]
struct OAuthState {
    access: Arc<Access>,
    connections: Arc<OAuthConnections>,
    /// The frontend's base URL the callback sends the browser back to; empty: the callback
    /// answers with JSON instead.
    app_url: String,
}

crate::actor::has_access!(OAuthState);

async fn start(
    State(state): State<OAuthState>,
    CurrentActor(actor): CurrentActor,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    let provider = parse_provider(&provider)?;
    let started = state.connections.start(&actor, provider).await?;
    Ok(Json(started).into_response())
}

async fn callback(
    State(state): State<OAuthState>,
    Path(provider): Path<String>,
    query: Result<Query<Callback>, QueryRejection>,
) -> Result<Response, ApiError> {
    let provider = parse_provider(&provider)?;
    let callback = query.map(|Query(q)| q).unwrap_or_default();
    let outcome = state.connections.complete(provider, callback).await;
    if let Err(error) = &outcome {
        tracing::info!(%provider, code = error.code(), %error, "an OAuth callback failed");
    }
    if state.app_url.is_empty() {
        let completed = outcome?;
        let body = match completed {
            Completed::Connected { account_id } => {
                json!({ "provider": provider, "status": "connected", "account_id": account_id })
            }
            Completed::Pending { pending_id } => {
                json!({ "provider": provider, "status": "choose", "pending_id": pending_id })
            }
        };
        return Ok(Json(body).into_response());
    }
    let location = scaliyo_app::oauth::landing_url(&state.app_url, provider, &outcome);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response())
}

async fn pending(
    State(state): State<OAuthState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = state.connections.pending(&actor, &id).await?;
    Ok(Json(view).into_response())
}

async fn connect_pending(
    State(state): State<OAuthState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let accounts = state
        .connections
        .connect_pending(&actor, &id, parse(payload)?)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": accounts }))).into_response())
}

/// The OAuth routes (the `oauth` function).
pub fn router(access: Arc<Access>, connections: Arc<OAuthConnections>, app_url: String) -> Router {
    Router::<OAuthState>::new()
        .route("/v1/oauth/{provider}/start", get(start))
        .route("/oauth/{provider}/callback", get(callback))
        .route("/v1/oauth/pending/{id}", get(pending))
        .route("/v1/oauth/pending/{id}/connect", post(connect_pending))
        .with_state(OAuthState {
            access,
            connections,
            app_url: app_url.trim_end_matches('/').to_owned(),
        })
}
