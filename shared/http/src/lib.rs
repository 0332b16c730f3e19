//! The HTTP edge, shared by every HTTP Lambda and by the local server: identity, the one
//! mapping of errors to responses, and the routers. A router built here runs unchanged under
//! `lambda_http` and under the local server.

pub mod actor;
pub mod ai_api;
pub mod billing_api;
pub mod blog_api;
pub mod data_api;
pub mod edge;
pub mod error;
pub mod functions_api;
pub mod identity;
pub mod import_api;
pub mod invite_api;
pub mod invoice_api;
pub mod jwks;
pub mod oauth_api;
pub mod openapi;
pub mod prompt_api;
pub mod provider_webhook_api;
pub mod recount_api;
pub mod reply_api;
pub mod rest_api;
pub mod schedule_api;
pub mod send_api;
pub mod social_api;
pub mod storage_api;
pub mod teamhub_api;
pub mod tracking_api;
pub mod webhook_api;
pub mod workflow_api;

pub use error::ApiError;
pub use identity::{Authenticated, Authenticator, LocalJwt};

use axum::Router;
use axum::routing::get;

/// `GET /health`: the process is up and answering.
pub fn health_router() -> Router {
    Router::new().route(
        "/health",
        get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
    )
}
