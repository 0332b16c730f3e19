//! `social-schedule` and `social-post-now`: a post (an existing draft by `post_id`, or a new
//! one in the body of `POST /v1/social/posts`) scheduled for later, or published now.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router, middleware};
use scaliyo_app::access::Access;
use scaliyo_app::social::{CreatePost, PostNow, SchedulePost, SocialPosts, SocialPublisher};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FunctionState, Invoker, answered, envelope, succeeded};
use crate::error::ApiError;
use crate::send_api::parse;

/// A post named by id (with an optional new time), or a whole new post.
enum PostBody {
    Existing(ExistingPost),
    New(Box<CreatePost>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExistingPost {
    post_id: String,
    scheduled_at: Option<String>,
}

/// The body as one of the two shapes; when it is neither, the new post's own complaint
/// (the more telling one: a missing `targets`, an unknown field) is the answer.
fn post_body(payload: Result<Json<Value>, JsonRejection>) -> Result<PostBody, ApiError> {
    let value: Value = parse(payload)?;
    if value.get("post_id").is_some() {
        return parse::<ExistingPost>(Ok(Json(value))).map(PostBody::Existing);
    }
    parse::<CreatePost>(Ok(Json(value))).map(|post| PostBody::New(Box::new(post)))
}

/// `{post_id, scheduled_at?}` schedules a draft; a new post must carry its `scheduled_at`.
async fn schedule(
    State(state): State<FunctionState<Arc<SocialPosts>>>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let posts = &state.service;
    let post = match post_body(payload)? {
        PostBody::Existing(ExistingPost {
            post_id,
            scheduled_at,
        }) => {
            posts
                .schedule_post(&actor, &post_id, SchedulePost { scheduled_at })
                .await?
        }
        PostBody::New(post) => {
            if post.scheduled_at.is_none() {
                return Err(ApiError::bad_request(
                    "invalid",
                    "scheduled_at: is required to schedule a post (social-post-now publishes one now)",
                )
                .with("field", json!("scheduled_at")));
            }
            posts.create_post(&actor, *post).await?
        }
    };
    Ok(succeeded(json!({ "post": post })))
}

/// Publishes within the request; `success` is false when a target failed for good (the
/// post's `summary` and `targets` say which and why).
async fn post_now(
    State(state): State<FunctionState<Arc<SocialPublisher>>>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let what = match post_body(payload)? {
        PostBody::Existing(ExistingPost {
            post_id,
            scheduled_at: None,
        }) => PostNow::Existing { post_id },
        PostBody::Existing(_) => {
            return Err(ApiError::bad_request(
                "invalid",
                "scheduled_at: a post published now has no time; use social-schedule",
            )
            .with("field", json!("scheduled_at")));
        }
        PostBody::New(post) => PostNow::New(post),
    };
    let post = state.service.publish_now(&actor, what).await?;
    Ok(answered(post.summary.failed == 0, json!({ "post": post })))
}

/// `social-schedule` (the `api` function, beside `/v1/social/posts`).
pub fn schedule_router(access: Arc<Access>, posts: Arc<SocialPosts>) -> Router {
    Router::new()
        .route("/functions/v1/social-schedule", post(schedule))
        .with_state(FunctionState {
            access,
            service: posts,
        })
        .layer(middleware::map_response(envelope))
}

/// `social-post-now` (the `social-post-now` function: the networks' clients and the key).
pub fn post_now_router(access: Arc<Access>, publisher: Arc<SocialPublisher>) -> Router {
    Router::new()
        .route("/functions/v1/social-post-now", post(post_now))
        .with_state(FunctionState {
            access,
            service: publisher,
        })
        .layer(middleware::map_response(envelope))
}
