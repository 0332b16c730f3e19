//! `/functions/v1/{name}`: the Edge Functions the frontend calls with
//! `supabase.functions.invoke(name, { body })`, each with the body and answer the frontend
//! already uses, served by the Lambda that has the parts it needs (docs/supabase-compat.md):
//!
//! - `mail` (the `send-email` function: the key service and the mail providers):
//!   `send-email`, `connect-smtp`, `connect-sendgrid`, `connect-mailchimp-oauth`;
//! - `billing`: `billing-create-invoice` (the `send-email` function, which can e-mail the
//!   invoice) and `billing-actions` (the `api` function);
//! - `social`: `social-schedule` (the `api` function) and `social-post-now` (its own
//!   function, which holds the network clients and the key service);
//! - `import` (the `api` function): `apollo-import`.
//!
//! Answers: `{"success": true, …}` with 200, or the error's status with
//! `{"success": false, "error": "<message>", "code": "<code>", "message": "<message>", …}` —
//! functions-js hands a non-2xx answer to the caller as a `FunctionsHttpError` whose
//! `context` is this response.

mod billing;
mod import;
mod mail;
mod social;

pub use billing::{actions_router, create_invoice_router};
pub use import::router as import_router;
pub use mail::router as mail_router;
pub use social::{post_now_router, schedule_router};

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use scaliyo_app::access::Actor;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::actor::HasAccess;
use crate::error::ApiError;

/// The invoking user. A client signed out sends only the anon key: that is the anonymous
/// role, which no function serves (a 401 from the function, not from token parsing).
pub struct Invoker(pub Actor);

impl<S: HasAccess + Send + Sync> FromRequestParts<S> for Invoker {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let actor = crate::actor::resolve_supabase(parts, state.access()).await?;
        if actor.user_id().is_none() {
            return Err(ApiError::unauthorized(
                "unauthenticated",
                "sign in: Edge Functions act for a signed-in user",
            ));
        }
        Ok(Invoker(actor))
    }
}

/// `{"success": true}` and the fields of `fields` (an object).
pub(crate) fn succeeded(fields: impl Serialize) -> Response {
    answered(true, fields)
}

/// A 200 whose `success` says whether what was asked happened (a post published to some of
/// its networks only is answered, with `success: false`).
pub(crate) fn answered(success: bool, fields: impl Serialize) -> Response {
    let mut body = match serde_json::to_value(fields) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    body.insert("success".into(), json!(success));
    (StatusCode::OK, Json(Value::Object(body))).into_response()
}

/// The largest error body rewritten (ours are a few hundred bytes).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Every error answer of a function in the Edge Function shape: the same status, and
/// `success: false` with the message as `error` beside our `code` and `message`.
pub(crate) async fn envelope(response: Response) -> Response {
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    let mut fields = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let message = fields
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    fields.insert("success".into(), json!(false));
    fields.insert("error".into(), json!(message));
    fields.entry("message").or_insert(json!(message));
    let mut rewritten = Response::from_parts(parts, Body::from(Value::Object(fields).to_string()));
    rewritten.headers_mut().remove(header::CONTENT_LENGTH);
    rewritten.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    rewritten
}

/// A router's state: the row layer for the invoker, and the service behind the functions.
#[derive(Clone)]
pub(crate) struct FunctionState<T> {
    pub(crate) access: Arc<scaliyo_app::access::Access>,
    pub(crate) service: T,
}

impl<T> HasAccess for FunctionState<T> {
    fn access(&self) -> &Arc<scaliyo_app::access::Access> {
        &self.access
    }
}
