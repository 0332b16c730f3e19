//! The acting user of a request, resolved once at the edge: the caller's token checked, then
//! their profile read (its role, a disabled account refused). Handlers take a `CurrentActor`
//! instead of resolving it themselves.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use scaliyo_app::access::{Access, Actor};

use crate::data_api::MaybeCaller;
use crate::error::ApiError;

/// A router state that can resolve actors.
pub trait HasAccess {
    fn access(&self) -> &Arc<Access>;
}

impl HasAccess for Arc<Access> {
    fn access(&self) -> &Arc<Access> {
        self
    }
}

/// The acting user (or the anonymous caller). Support sessions are honoured only by the data
/// API's `Acting`, which reads the support header; every other route acts as the caller.
pub struct CurrentActor(pub Actor);

impl<S: HasAccess + Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        resolve(parts, state.access(), None).await.map(CurrentActor)
    }
}

/// The caller's token checked and their actor resolved (with a support session only where
/// the data API names one); the user's id goes on the request's span, so every log line of
/// the request carries it.
pub(crate) async fn resolve(
    parts: &mut Parts,
    access: &Arc<Access>,
    support: Option<&str>,
) -> Result<Actor, ApiError> {
    let MaybeCaller(caller) = MaybeCaller::from_request_parts(parts, access).await?;
    let actor = access.actor(caller, support).await?;
    if let Some(user) = actor.user_id() {
        tracing::Span::current().record("owner_id", user.to_string());
    }
    Ok(actor)
}

/// Whether the bearer token is the project's anon key rather than a user's token: the same
/// value as the `apikey` header, or not a JWT at all. That caller is the anonymous role
/// (public reads), never a 401.
fn anonymous_key(headers: &HeaderMap) -> bool {
    let Some(bearer) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
    else {
        return false;
    };
    let apikey = headers.get("apikey").and_then(|v| v.to_str().ok());
    apikey == Some(bearer) || bearer.split('.').count() != 3
}

/// The caller of a Supabase-dialect request (`/rest/v1`, `/storage/v1`): a client that sends
/// only the anon key is the anonymous role, never a 401.
pub(crate) async fn resolve_supabase(
    parts: &mut Parts,
    access: &Arc<Access>,
) -> Result<Actor, ApiError> {
    if anonymous_key(&parts.headers) {
        parts.headers.remove(AUTHORIZATION);
    }
    resolve(parts, access, None).await
}

/// `HasAccess` for a router state with an `access` field.
macro_rules! has_access {
    ($($state:ty),+ $(,)?) => {
        $(
            impl $crate::actor::HasAccess for $state {
                fn access(&self) -> &std::sync::Arc<scaliyo_app::access::Access> {
                    &self.access
                }
            }
        )+
    };
}
pub(crate) use has_access;
