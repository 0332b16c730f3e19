//! Blog posts beyond the data API: `POST /v1/blog_posts/{id}/publish` (the author, or an
//! admin for anyone's post) and `GET /v1/blog/{slug}` (a published, public, due post; no
//! token needed).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;

use crate::actor::CurrentActor;
use crate::error::ApiError;

async fn publish(
    State(access): State<Arc<Access>>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(access.publish_post(&actor, &id).await?).into_response())
}

async fn by_slug(
    State(access): State<Arc<Access>>,
    CurrentActor(actor): CurrentActor,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(access.post_by_slug(&actor, &slug).await?).into_response())
}

pub fn router(access: Arc<Access>) -> Router {
    Router::new()
        .route("/v1/blog_posts/{id}/publish", post(publish))
        .route("/v1/blog/{slug}", get(by_slug))
        .with_state(access)
}
