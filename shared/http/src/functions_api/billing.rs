//! `billing-actions` (the plan's subscription and the invoices' lifecycle, one action per
//! call) and `billing-create-invoice` (an invoice to a lead from a package, sent at once
//! when asked).

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router, middleware};
use scaliyo_app::access::Access;
use scaliyo_app::billing::Billing;
use scaliyo_app::invoices::{FromPackage, Invoices};
use scaliyo_store::InvoiceAction;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FunctionState, Invoker, envelope, succeeded};
use crate::error::ApiError;
use crate::send_api::parse;

/// One billing action: `{"action": "checkout", "plan": "pro"}`, `{"action": "void",
/// "invoice_id": "…"}`, …
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
enum BillingAction {
    /// The plan, its limits and the subscription.
    Summary,
    /// A Stripe Checkout session for a plan (`url` to send the browser to).
    #[serde(alias = "create_checkout_session")]
    Checkout {
        plan: String,
    },
    /// The Checkout session the browser came back from, applied.
    ConfirmCheckout {
        session_id: String,
    },
    /// The Stripe customer portal (`url`).
    #[serde(alias = "create_portal_session")]
    Portal,
    /// The user's own Stripe account for invoicing leads (onboarding `url`).
    ConnectStripe,
    ConnectStatus,
    Void {
        invoice_id: String,
    },
    MarkUncollectible {
        invoice_id: String,
    },
    MarkPaid {
        invoice_id: String,
    },
}

#[derive(Clone)]
struct Billed {
    billing: Arc<Billing>,
    invoices: Arc<Invoices>,
}

async fn billing_actions(
    State(state): State<FunctionState<Billed>>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Billed { billing, invoices } = &state.service;
    let actor = &actor;
    let settle = |invoice_id: String, action| async move {
        invoices.settle(actor, &invoice_id, action).await
    };
    let answer = match parse(payload)? {
        BillingAction::Summary => json!(billing.summary(actor).await?),
        BillingAction::Checkout { plan } => json!(billing.checkout(actor, &plan).await?),
        BillingAction::ConfirmCheckout { session_id } => {
            json!(billing.confirm_checkout(actor, &session_id).await?)
        }
        BillingAction::Portal => json!(billing.portal(actor).await?),
        BillingAction::ConnectStripe => json!(invoices.connect(actor).await?),
        BillingAction::ConnectStatus => json!(invoices.connect_status(actor).await?),
        BillingAction::Void { invoice_id } => {
            json!({ "invoice": settle(invoice_id, InvoiceAction::Void).await? })
        }
        BillingAction::MarkUncollectible { invoice_id } => {
            json!({ "invoice": settle(invoice_id, InvoiceAction::MarkUncollectible).await? })
        }
        BillingAction::MarkPaid { invoice_id } => {
            json!({ "invoice": settle(invoice_id, InvoiceAction::PaidOutOfBand).await? })
        }
    };
    Ok(succeeded(answer))
}

/// `{lead_id, package_id, send?}`: the draft invoice; with `send: true` also sent (through
/// the user's Stripe account, else e-mailed) and answered as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInvoice {
    lead_id: String,
    package_id: String,
    #[serde(default)]
    send: bool,
}

async fn create_invoice(
    State(state): State<FunctionState<Arc<Invoices>>>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body: CreateInvoice = parse(payload)?;
    let invoices = &state.service;
    let draft = invoices
        .from_package(
            &actor,
            FromPackage {
                lead_id: body.lead_id,
                package_id: body.package_id,
            },
        )
        .await?;
    if !body.send {
        return Ok(succeeded(json!({ "invoice": draft })));
    }
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let sent = invoices.send(&actor, &id).await?;
    Ok(succeeded(json!({ "invoice": sent })))
}

/// `billing-actions` (the `api` function, beside `/v1/billing`).
pub fn actions_router(
    access: Arc<Access>,
    billing: Arc<Billing>,
    invoices: Arc<Invoices>,
) -> Router {
    Router::new()
        .route("/functions/v1/billing-actions", post(billing_actions))
        .with_state(FunctionState {
            access,
            service: Billed { billing, invoices },
        })
        .layer(middleware::map_response(envelope))
}

/// `billing-create-invoice` (the `send-email` function, whose invoices can be e-mailed).
pub fn create_invoice_router(access: Arc<Access>, invoices: Arc<Invoices>) -> Router {
    Router::new()
        .route("/functions/v1/billing-create-invoice", post(create_invoice))
        .with_state(FunctionState {
            access,
            service: invoices,
        })
        .layer(middleware::map_response(envelope))
}
