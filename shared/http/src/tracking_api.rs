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

/// The proxies whose `X-Forwarded-For` is believed (CIDRs, `TRUSTED_PROXIES`). By default
/// none on AWS — API Gateway's `sourceIp` is the client — and loopback locally (a dev proxy
/// or a load generator on this machine).
#[derive(Clone)]
pub struct TrustedProxies(Arc<scaliyo_domain::tracking::Networks>);

impl std::fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrustedProxies(..)")
    }
}

impl TrustedProxies {
    /// A comma- or newline-separated list of addresses and CIDRs.
    pub fn parse(list: &str) -> Self {
        let lines: Vec<String> = list
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(
                |entry| match (entry.contains('/'), entry.parse::<IpAddr>()) {
                    (false, Ok(IpAddr::V4(_))) => format!("{entry}/32"),
                    (false, Ok(IpAddr::V6(_))) => format!("{entry}/128"),
                    _ => entry.to_owned(),
                },
            )
            .collect();
        Self(Arc::new(scaliyo_domain::tracking::Networks::parse(
            "trusted proxies",
            &lines.join("\n"),
        )))
    }

    pub fn none() -> Self {
        Self::parse("")
    }

    pub fn loopback() -> Self {
        Self::parse("127.0.0.0/8, ::1/128")
    }

    /// `TRUSTED_PROXIES` if set, else `default`.
    pub fn from_env_or(default: Self) -> Self {
        match std::env::var("TRUSTED_PROXIES") {
            Ok(list) => Self::parse(&list),
            Err(_) => default,
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(ip)
    }
}

/// The client's address: the one the platform saw (API Gateway's `sourceIp`, or the TCP
/// peer locally), unless that is a trusted proxy — then the right-most `X-Forwarded-For`
/// entry that is not one (entries left of it are the client's own claims); a trusted proxy
/// that forwarded no address leaves the client unknown.
pub fn client_ip(
    headers: &HeaderMap,
    platform: Option<IpAddr>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut current = platform?;
    if !trusted.contains(current) {
        return Some(current);
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|entry| !entry.trim().is_empty())
        .collect();
    if forwarded.is_empty() {
        return None;
    }
    for entry in forwarded.iter().rev() {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) => {
                current = ip;
                if !trusted.contains(ip) {
                    return Some(ip);
                }
            }
            Err(_) => return Some(current),
        }
    }
    Some(current)
}

/// Where a tracking request came from, as the platform saw it, and whom to believe about it.
pub struct Origin(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let platform = match parts
            .extensions
            .get::<lambda_http::request::RequestContext>()
        {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context
                .http
                .source_ip
                .as_deref()
                .and_then(|ip| ip.parse().ok()),
            #[allow(unreachable_patterns)]
            Some(_) => None,
            None => parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        };
        let trusted = parts
            .extensions
            .get::<TrustedProxies>()
            .cloned()
            .unwrap_or_else(TrustedProxies::none);
        Ok(Origin(client_ip(&parts.headers, platform, &trusted)))
    }
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
    Origin(ip): Origin,
) -> Response {
    // A malformed token (not even UTF-8) is just an unknown one: the image still comes back.
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let token = token.strip_suffix(".gif").unwrap_or(&token);
    // Whatever happens to the record, the mail client gets its image; the open is journalled
    // (durably) before it, and classified and stored by the journal's consumer.
    if let Err(error) = tracking
        .accept_open(token, hit(&method, &headers, ip))
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
    Origin(ip): Origin,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let result = tracking
        .accept_click(&token, hit(&method, &headers, ip))
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
    Origin(ip): Origin,
) -> Response {
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
    Origin(ip): Origin,
) -> Response {
    let slug = slug.map(|Path(s)| s).unwrap_or_default();
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

#[cfg(test)]
mod client_ip_tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert("x-forwarded-for", value);
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn a_client_cannot_choose_its_address_through_an_untrusted_header() {
        // API Gateway: the source is the client, whatever the header says.
        let none = TrustedProxies::none();
        assert_eq!(
            client_ip(&forwarded("203.0.113.9"), ip("198.51.100.7"), &none),
            ip("198.51.100.7")
        );
        // Behind a trusted proxy: the right-most address it did not add itself.
        let trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1");
        assert_eq!(
            client_ip(
                &forwarded("6.6.6.6, 203.0.113.9, 10.1.2.3"),
                ip("127.0.0.1"),
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(&forwarded("not an address"), ip("127.0.0.1"), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(client_ip(&forwarded("203.0.113.9"), None, &trusted), None);
        assert_eq!(
            client_ip(&HeaderMap::new(), ip("127.0.0.1"), &trusted),
            None
        );
    }
}
