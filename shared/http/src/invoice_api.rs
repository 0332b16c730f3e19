//! Invoices to leads over HTTP: `POST|GET /v1/billing/connect` (the user's Stripe account),
//! `POST /v1/invoices/from-package`, `POST /v1/invoices/{id}/send|void|mark-uncollectible|
//! mark-paid`, and `POST /webhooks/stripe-connect` (Connect events, signed).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use scaliyo_app::access::Access;
use scaliyo_app::invoices::{InvoiceError, Invoices};
use scaliyo_store::InvoiceAction;
use serde_json::{Value, json};

use crate::actor::CurrentActor;
use crate::billing_api::{bad_signature, payment_error, stripe_signature};
use crate::error::ApiError;
use crate::send_api::parse;

impl From<InvoiceError> for ApiError {
    fn from(error: InvoiceError) -> Self {
        match error {
            InvoiceError::NotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "billing_not_configured",
                "invoicing through Stripe is not configured in this deployment: set STRIPE_SECRET_KEY (and STRIPE_CONNECT_WEBHOOK_SECRET for its events)",
            ),
            InvoiceError::NotConnected => ApiError::new(
                StatusCode::CONFLICT,
                "stripe_not_connected",
                "connect a Stripe account and finish its onboarding first (POST /v1/billing/connect)",
            ),
            InvoiceError::Invalid { field, reason } => {
                ApiError::bad_request("invalid", format!("{field}: {reason}"))
                    .with("field", json!(field))
            }
            InvoiceError::Rule(rule) => ApiError::bad_request("invalid", rule.to_string()),
            InvoiceError::WrongState { status, action } => ApiError::new(
                StatusCode::CONFLICT,
                "wrong_state",
                format!("the invoice is {status}: {action}"),
            )
            .with("status", json!(status)),
            InvoiceError::Signature(e) => bad_signature(e),
            InvoiceError::Provider(e) => payment_error(e),
            InvoiceError::Send(e) => (*e).into(),
            InvoiceError::Access(e) => e.into(),
        }
    }
}

#[derive(Clone)]
struct InvoiceState {
    access: Arc<Access>,
    invoices: Arc<Invoices>,
}

crate::actor::has_access!(InvoiceState);

async fn connect(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    Ok(Json(state.invoices.connect(&actor).await?).into_response())
}

async fn connect_status(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, ApiError> {
    Ok(Json(state.invoices.connect_status(&actor).await?).into_response())
}

async fn from_package(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let invoice = state.invoices.from_package(&actor, parse(payload)?).await?;
    Ok((StatusCode::CREATED, Json(invoice)).into_response())
}

async fn send(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.invoices.send(&actor, &id).await?).into_response())
}

async fn settle(
    state: InvoiceState,
    actor: scaliyo_app::access::Actor,
    id: String,
    action: InvoiceAction,
) -> Result<Response, ApiError> {
    Ok(Json(state.invoices.settle(&actor, &id, action).await?).into_response())
}

async fn void(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    settle(state, actor, id, InvoiceAction::Void).await
}

async fn mark_uncollectible(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    settle(state, actor, id, InvoiceAction::MarkUncollectible).await
}

async fn mark_paid(
    State(state): State<InvoiceState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    settle(state, actor, id, InvoiceAction::PaidOutOfBand).await
}

async fn connect_webhook(
    State(state): State<InvoiceState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let applied = state
        .invoices
        .apply_connect_event(stripe_signature(&headers), &body)
        .await?;
    Ok(Json(json!({ "received": true, "result": applied })).into_response())
}

pub fn router(access: Arc<Access>, invoices: Arc<Invoices>) -> Router {
    Router::new()
        .route("/v1/billing/connect", post(connect).get(connect_status))
        .route("/v1/invoices/from-package", post(from_package))
        .route("/v1/invoices/{id}/send", post(send))
        .route("/v1/invoices/{id}/void", post(void))
        .route(
            "/v1/invoices/{id}/mark-uncollectible",
            post(mark_uncollectible),
        )
        .route("/v1/invoices/{id}/mark-paid", post(mark_paid))
        .route("/webhooks/stripe-connect", post(connect_webhook))
        .with_state(InvoiceState { access, invoices })
}
