//! What wraps every router at the edge: a handler that panics answers a JSON 500 instead of
//! dropping the connection (no input may take a request down with it), and, on the local
//! server, CORS for the frontend's origins (API Gateway's `CorsConfiguration` does it on AWS).

use std::any::Any;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;

/// The request headers a browser client sends: ours, and those supabase-js adds.
pub const ALLOWED_HEADERS: [&str; 9] = [
    "authorization",
    "content-type",
    "idempotency-key",
    "x-support-session",
    "apikey",
    "x-client-info",
    "prefer",
    "range",
    "accept-profile",
];

/// The origins a local frontend runs on unless `SCALIYO_CORS_ORIGINS` names others (Vite's
/// default port, and the same on 127.0.0.1).
pub const DEFAULT_LOCAL_ORIGINS: [&str; 2] = ["http://localhost:5173", "http://127.0.0.1:5173"];

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::internal("a handler panicked", &detail).into_response()
}

/// Every handler's panic becomes a logged 500 with the usual error body.
pub fn catching_panics(router: Router) -> Router {
    router.layer(CatchPanicLayer::custom(panic_response))
}

/// CORS for browser frontends on `origins` (`*` allows any origin, without credentials).
pub fn with_cors(router: Router, origins: &[String]) -> Router {
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    let cors = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers([
            header::CONTENT_RANGE,
            header::LOCATION,
            HeaderName::from_static("content-profile"),
        ])
        .max_age(std::time::Duration::from_secs(3600));
    router.layer(cors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("unreachable state")
    }

    fn app() -> Router {
        let router = Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "ok" }));
        with_cors(
            catching_panics(router),
            &["http://localhost:5173".to_owned()],
        )
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500() {
        let response = app()
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("unreachable state"));
    }

    #[tokio::test]
    async fn a_preflight_from_an_allowed_origin_is_answered_and_others_get_no_grant() {
        let preflight = |origin: &str| {
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/ok")
                .header("origin", origin)
                .header("access-control-request-method", "PATCH")
                .header("access-control-request-headers", "authorization,apikey")
                .body(Body::empty())
                .unwrap()
        };
        let allowed = app()
            .oneshot(preflight("http://localhost:5173"))
            .await
            .unwrap();
        assert!(allowed.status().is_success());
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "http://localhost:5173"
        );
        let foreign = app()
            .oneshot(preflight("https://evil.example"))
            .await
            .unwrap();
        assert!(
            foreign
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
}
