//! Logging: JSON lines in Lambda (one object per event, with the request id, owner id and
//! function name as fields), human-readable locally. Neither logs secrets or client IPs.

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// For a Lambda function: JSON, no colours, the function's name on every line.
pub fn init_lambda(function: &'static str) {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .try_init();
    tracing::info!(function, "cold start");
}

/// For the local server: readable lines.
pub fn init_local() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .try_init();
}
