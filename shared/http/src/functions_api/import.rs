//! `apollo-import`: `{contacts: [...], options?}` — Apollo people (or any contact list in
//! their shape) imported through the file import, answered with the batch to poll.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router, middleware};
use scaliyo_app::access::Access;
use scaliyo_app::import::{ImportOptions, Importer};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FunctionState, Invoker, envelope, succeeded};
use crate::error::ApiError;
use crate::send_api::parse;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApolloImport {
    #[serde(alias = "people")]
    contacts: Vec<Value>,
    #[serde(default)]
    options: ImportOptions,
}

async fn apollo_import(
    State(state): State<FunctionState<Arc<Importer>>>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body: ApolloImport = parse(payload)?;
    let batch = state
        .service
        .import_contacts(&actor, &body.contacts, body.options)
        .await?;
    let batch_id = batch["id"].clone();
    Ok(succeeded(json!({
        "batch_id": batch_id,
        "batch": batch,
        "contacts": body.contacts.len(),
    })))
}

/// `apollo-import` (the `api` function, beside `/v1/imports`).
pub fn router(access: Arc<Access>, importer: Arc<Importer>) -> Router {
    Router::new()
        .route("/functions/v1/apollo-import", post(apollo_import))
        .with_state(FunctionState {
            access,
            service: importer,
        })
        .layer(middleware::map_response(envelope))
}
