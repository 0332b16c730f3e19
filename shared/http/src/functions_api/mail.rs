//! `send-email`, `connect-smtp`, `connect-sendgrid` and `connect-mailchimp-oauth`: the send
//! pipeline and the sender connections, in the frontend's shapes.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router, middleware};
use scaliyo_app::access::Access;
use scaliyo_app::send::{
    ConnectRequest, EdgeSendRequest, MarketingConnect, SendPipeline, SmtpSettings,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{FunctionState, Invoker, envelope, succeeded};
use crate::error::ApiError;
use crate::send_api::parse;

type MailState = FunctionState<Arc<SendPipeline>>;

/// `{to_email, subject, html_body, lead_id, from_email, provider, track_opens,
/// track_clicks}` (or our own `/v1/send-email` body) → `{success, message_id,
/// provider_message_id, …}`; an `Idempotency-Key` header is honoured as on `/v1`.
async fn send_email(
    State(state): State<MailState>,
    Invoker(actor): Invoker,
    headers: HeaderMap,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request: EdgeSendRequest = parse(payload)?;
    let request = state.service.resolve_edge_request(&actor, request).await?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let outcome = state.service.send(&actor, request, key).await?;
    Ok(succeeded(outcome))
}

/// The sender's public fields, shared by both connections.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SenderFields {
    from_email: String,
    #[serde(default)]
    from_name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    is_default: bool,
    use_for_outreach: Option<bool>,
    #[serde(default)]
    warmup_enabled: bool,
    daily_limit: Option<u32>,
}

impl SenderFields {
    fn connect(self, provider: &str) -> ConnectRequest {
        let mut metadata = Map::new();
        if let Some(limit) = self.daily_limit {
            metadata.insert("daily_limit".into(), json!(limit));
        }
        ConnectRequest {
            provider: provider.to_owned(),
            from_email: self.from_email,
            from_name: self.from_name,
            display_name: self.display_name,
            is_default: self.is_default,
            use_for_outreach: self.use_for_outreach,
            warmup_enabled: self.warmup_enabled,
            metadata,
            smtp: None,
            api_key: None,
            oauth: None,
        }
    }
}

/// `connect-smtp`: the server, its login (`username`/`user`, `password`/`pass`) and how it
/// is secured — `security` (`starttls`, `ssl`, `none`) or nodemailer's `secure` boolean.
#[derive(Deserialize)]
struct ConnectSmtp {
    host: String,
    port: Option<u16>,
    #[serde(alias = "user")]
    username: String,
    #[serde(alias = "pass")]
    password: String,
    security: Option<String>,
    secure: Option<bool>,
    #[serde(flatten)]
    sender: SenderFields,
}

async fn connect_smtp(
    State(state): State<MailState>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body: ConnectSmtp = parse(payload)?;
    let security = match (body.security, body.secure) {
        (Some(security), _) => Some(security),
        (None, Some(true)) => Some("ssl".to_owned()),
        (None, Some(false)) => Some("starttls".to_owned()),
        (None, None) => None,
    };
    let port = body.port.unwrap_or(match security.as_deref() {
        Some("ssl") => 465,
        _ => 587,
    });
    let mut request = body.sender.connect("smtp");
    request.smtp = Some(SmtpSettings {
        host: body.host,
        port,
        username: body.username,
        password: body.password,
        security,
    });
    let account = state.service.senders().connect(&actor, request).await?;
    Ok(succeeded(json!({ "account": account })))
}

/// `connect-sendgrid`: an API key with the Mail Send permission and the verified sender.
#[derive(Deserialize)]
struct ConnectSendgrid {
    api_key: String,
    #[serde(flatten)]
    sender: SenderFields,
}

async fn connect_sendgrid(
    State(state): State<MailState>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body: ConnectSendgrid = parse(payload)?;
    let mut request = body.sender.connect("sendgrid");
    request.api_key = Some(body.api_key);
    let account = state.service.senders().connect(&actor, request).await?;
    Ok(succeeded(json!({ "account": account })))
}

/// `connect-mailchimp-oauth`: despite its name, the frontend sends a Mailchimp Marketing
/// API key (`{workspaceId, apiKey}`); the account it opens becomes a marketing-only sender.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectMailchimp {
    #[serde(rename = "apiKey", alias = "api_key")]
    api_key: String,
    /// The frontend's workspace: the caller's own (a member connects for its own account).
    #[serde(rename = "workspaceId", alias = "workspace_id")]
    workspace_id: Option<String>,
    #[serde(default)]
    from_name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    is_default: bool,
}

async fn connect_mailchimp(
    State(state): State<MailState>,
    Invoker(actor): Invoker,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body: ConnectMailchimp = parse(payload)?;
    let owner = actor.owner().map_err(ApiError::from)?;
    if body
        .workspace_id
        .as_deref()
        .is_some_and(|id| !id.eq_ignore_ascii_case(&owner.to_string()))
    {
        return Err(ApiError::forbidden(
            "workspaceId names another workspace: a sender is connected for the caller's own",
        ));
    }
    let request = MarketingConnect {
        api_key: body.api_key,
        from_name: body.from_name,
        display_name: body.display_name,
        is_default: body.is_default,
    };
    let account = state
        .service
        .senders()
        .connect_mailchimp_marketing(&actor, request)
        .await?;
    Ok(succeeded(json!({ "account": account })))
}

/// The `send-email` function's Edge Functions.
pub fn router(access: Arc<Access>, pipeline: Arc<SendPipeline>) -> Router {
    Router::new()
        .route("/functions/v1/send-email", post(send_email))
        .route("/functions/v1/connect-smtp", post(connect_smtp))
        .route("/functions/v1/connect-sendgrid", post(connect_sendgrid))
        .route(
            "/functions/v1/connect-mailchimp-oauth",
            post(connect_mailchimp),
        )
        .with_state(FunctionState {
            access,
            service: pipeline,
        })
        .layer(middleware::map_response(envelope))
}
