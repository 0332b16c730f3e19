//! Billing over HTTP: `POST /v1/billing/checkout {plan}`, `POST /v1/billing/portal`,
//! `GET /v1/billing`, `GET /v1/billing/checkout/{session_id}` (signed-in users), and
//! `POST /webhooks/stripe` (no user token: the `Stripe-Signature` is the authentication).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::billing::{Billing, BillingError};
use scaliyo_domain::billing::SignatureError;
use scaliyo_store::PaymentError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::error::ApiError;
use crate::send_api::parse;

impl From<BillingError> for ApiError {
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::NotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "billing_not_configured",
                "billing is not configured in this deployment: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
            ),
            BillingError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            BillingError::NoCustomer => ApiError::new(
                StatusCode::CONFLICT,
                "no_subscription",
                "there is no subscription to manage yet: choose a plan first",
            ),
            BillingError::Signature(e) => bad_signature(e),
            BillingError::Provider(e) => payment_error(e),
            BillingError::Access(e) => e.into(),
        }
    }
}

/// A Stripe event whose signature does not verify (both webhook endpoints).
pub(crate) fn bad_signature(error: SignatureError) -> ApiError {
    ApiError::bad_request(
        "bad_signature",
        format!("the Stripe-Signature does not verify ({error}); nothing was applied"),
    )
}

/// Stripe's answer to a call we made, as our caller sees it.
pub(crate) fn payment_error(error: PaymentError) -> ApiError {
    match error {
        PaymentError::Refused { code, message } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "payment_provider_refused",
            format!("Stripe refused the request: {message}"),
        )
        .with("provider_code", json!(code)),
        PaymentError::NotFound => ApiError::not_found(),
        e @ PaymentError::Unavailable(_) => ApiError::unavailable("the payment provider", &e),
    }
}

/// The `Stripe-Signature` header (empty when absent: the check then refuses the event).
pub(crate) fn stripe_signature(headers: &HeaderMap) -> &str {
    headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[derive(Clone)]
struct BillingState {
    access: Arc<Access>,
    billing: Arc<Billing>,
}

crate::actor::has_access!(BillingState);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutBody {
    plan: String,
}

async fn checkout(
    State(state): State<BillingState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body: CheckoutBody = parse(payload)?;
    let link = state.billing.checkout(&actor, &body.plan).await?;
    Ok(Json(link).into_response())
}

async fn portal(
    State(state): State<BillingState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    Ok(Json(state.billing.portal(&actor).await?).into_response())
}

async fn summary(
    State(state): State<BillingState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    Ok(Json(state.billing.summary(&actor).await?).into_response())
}

async fn confirm_checkout(
    State(state): State<BillingState>,
    CurrentActor(actor): CurrentActor,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.billing.confirm_checkout(&actor, &session_id).await?).into_response())
}

async fn set_plan(
    State(state): State<BillingState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    Ok(Json(state.billing.set_plan(&actor, parse(payload)?).await?).into_response())
}

async fn stripe_webhook(
    State(state): State<BillingState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let applied = state
        .billing
        .apply_event(stripe_signature(&headers), &body)
        .await?;
    Ok(Json(json!({ "received": true, "result": applied })).into_response())
}

pub fn router(access: Arc<Access>, billing: Arc<Billing>) -> Router {
    Router::new()
        .route("/v1/billing", get(summary))
        .route("/v1/billing/checkout", post(checkout))
        .route("/v1/billing/checkout/{session_id}", get(confirm_checkout))
        .route("/v1/billing/portal", post(portal))
        .route("/v1/billing/plan", post(set_plan))
        .route("/webhooks/stripe", post(stripe_webhook))
        .with_state(BillingState { access, billing })
}
