//! The recipient-facing endpoints: the open pixel (`/t/o/{token}.gif`), tracked links
//! (`/t/c/{token}`), unsubscribe (`/u/{token}`) and social short links (`/l/{slug}`). A mail
//! client never sees an error from the pixel; a known link always redirects, to the stored
//! destination only.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use scaliyo_app::rows::RowError;
use scaliyo_app::social::ShortLinks;
use scaliyo_app::tracking::Tracking;
use scaliyo_domain::email::escape_html;
use scaliyo_domain::tracking::Hit;

/// A transparent 1×1 GIF, 43 bytes.
pub const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

const NO_STORE: &str = "no-store, no-cache, must-revalidate, private";

fn client_ip(
    headers: &HeaderMap,
    request_context: Option<&lambda_http::request::RequestContext>,
) -> Option<IpAddr> {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok());
    forwarded.or_else(|| match request_context {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        #[allow(unreachable_patterns)]
        _ => None,
    })
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn hit<'a>(method: &'a Method, headers: &'a HeaderMap, ip: Option<IpAddr>) -> Hit<'a> {
    Hit {
        kind: None,
        method: method.as_str(),
        user_agent: header_text(headers, "user-agent"),
        ip,
        purpose: header_text(headers, "sec-purpose")
            .or(header_text(headers, "purpose"))
            .or(header_text(headers, "x-purpose"))
            .or(header_text(headers, "x-moz")),
        seconds_since_sent: None,
    }
}

fn pixel() -> Response {
    let mut response = (StatusCode::OK, PIXEL.to_vec()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
    response
}

async fn open(
    State(tracking): State<Arc<Tracking>>,
    token: Result<Path<String>, PathRejection>,
    method: Method,
    headers: HeaderMap,
    request_context: Option<axum::Extension<lambda_http::request::RequestContext>>,
) -> Response {
    // A malformed token (not even UTF-8) is just an unknown one: the image still comes back.
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let token = token.strip_suffix(".gif").unwrap_or(&token);
    let ip = client_ip(&headers, request_context.as_ref().map(|c| &c.0));
    // Whatever happens to the record, the mail client gets its image; when the store is
    // down the open is spooled to the queue and written later.
    if let Err(error) = tracking
        .record_open_or_spool(token, hit(&method, &headers, ip))
        .await
    {
        tracing::warn!(%error, "an open could not be recorded");
    }
    pixel()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:4rem auto\"><h1>{title}</h1>{body}</body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    response
}

async fn click(
    State(tracking): State<Arc<Tracking>>,
    token: Result<Path<String>, PathRejection>,
    method: Method,
    headers: HeaderMap,
    request_context: Option<axum::Extension<lambda_http::request::RequestContext>>,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let ip = client_ip(&headers, request_context.as_ref().map(|c| &c.0));
    let result = tracking
        .record_click(&token, hit(&method, &headers, ip))
        .await;
    redirect_or_page(result, "a click")
}

/// The 302 to a stored destination; the small not-found page for an unknown link; a "try
/// again" page when the store cannot answer (no destination without it).
fn redirect_or_page(result: Result<Option<String>, RowError>, what: &str) -> Response {
    match result {
        Ok(Some(destination)) => match HeaderValue::from_str(&destination) {
            Ok(location) => {
                let mut response = StatusCode::FOUND.into_response();
                response.headers_mut().insert(header::LOCATION, location);
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
                response
            }
            Err(_) => page(
                StatusCode::NOT_FOUND,
                "Link not found",
                "<p>This link is not valid.</p>",
            ),
        },
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "<p>This link is not valid or has expired.</p>",
        ),
        Err(error) => {
            tracing::warn!(%error, "{what} could not be resolved");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>We could not open this link just now. Please try again in a moment.</p>",
            )
        }
    }
}

/// `GET /u/{token}`: a confirmation page only — link scanners follow links, so a GET must
/// never unsubscribe anyone.
async fn unsubscribe_page(
    State(tracking): State<Arc<Tracking>>,
    Path(token): Path<String>,
) -> Response {
    match tracking.unsubscribe_target(&token).await {
        Ok(Some(target)) => {
            let address = escape_html(target.email.as_deref().unwrap_or("this address"));
            let token = escape_html(&token);
            page(
                StatusCode::OK,
                "Unsubscribe",
                &format!(
                    "<p>Stop e-mails to <strong>{address}</strong>?</p><form method=\"post\" action=\"/u/{token}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>"
                ),
            )
        }
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "<p>This unsubscribe link is not valid.</p>",
        ),
        Err(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            "<p>Please try again in a moment.</p>",
        ),
    }
}

/// `POST /u/{token}`: RFC 8058 one-click (`List-Unsubscribe=One-Click`) or the page's form.
async fn unsubscribe(
    State(tracking): State<Arc<Tracking>>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
    request_context: Option<axum::Extension<lambda_http::request::RequestContext>>,
) -> Response {
    let ip = client_ip(&headers, request_context.as_ref().map(|c| &c.0));
    match tracking
        .unsubscribe(&token, hit(&method, &headers, ip))
        .await
    {
        Ok(true) => page(
            StatusCode::OK,
            "You are unsubscribed",
            "<p>You will not receive these e-mails any more.</p>",
        ),
        Ok(false) => page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "<p>This unsubscribe link is not valid.</p>",
        ),
        Err(error) => {
            tracing::warn!(%error, "an unsubscribe could not be recorded");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>Please try again in a moment.</p>",
            )
        }
    }
}

pub fn router(tracking: Arc<Tracking>) -> Router {
    Router::new()
        .route("/t/o/{token}", get(open).head(open))
        .route("/t/c/{token}", get(click).head(click))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .with_state(tracking)
}

/// `GET /l/{slug}`: a social short link. 302 to the stored destination with a
/// `tracking_events` row (a `HEAD` — link checkers — redirects without one); an unknown slug
/// gets the small not-found page.
async fn short_link(
    State(links): State<Arc<ShortLinks>>,
    slug: Result<Path<String>, PathRejection>,
    method: Method,
    headers: HeaderMap,
    request_context: Option<axum::Extension<lambda_http::request::RequestContext>>,
) -> Response {
    let slug = slug.map(|Path(s)| s).unwrap_or_default();
    let ip = client_ip(&headers, request_context.as_ref().map(|c| &c.0));
    let visit = method == Method::GET;
    let result = links
        .follow(
            &slug,
            header_text(&headers, "referer"),
            header_text(&headers, "user-agent"),
            ip,
            visit,
        )
        .await;
    redirect_or_page(result, "a short link")
}

pub fn short_link_router(links: Arc<ShortLinks>) -> Router {
    Router::new()
        .route("/l/{slug}", get(short_link).head(short_link))
        .with_state(links)
}
