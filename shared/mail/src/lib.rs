//! Mailers: one adapter per provider behind the `Mailer` port, and the RFC 5322 rendering they
//! share. HTTP providers take their base URL from configuration, so tests point them at local
//! fakes that check the exact request each real API requires.

pub mod gmail;
pub mod mailchimp;
pub mod message;
pub mod outbox;
pub mod sendgrid;
pub mod smtp;

pub use gmail::GmailMailer;
pub use mailchimp::MailchimpMailer;
pub use outbox::OutboxMailer;
pub use sendgrid::SendgridMailer;
pub use smtp::SmtpMailer;

use std::time::Duration;

use scaliyo_store::MailError;

/// One HTTP client per process (connection reuse), with timeouts a provider call must meet.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("scaliyo/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// `Retry-After` in seconds, if the response carries one.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The common mapping of an HTTP provider's failure status.
pub(crate) fn status_error(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    message: String,
) -> MailError {
    match status.as_u16() {
        401 | 403 => MailError::Auth(message),
        429 => MailError::RateLimited {
            retry_after: retry_after(headers),
        },
        400..=499 => MailError::Rejected(message),
        _ => MailError::Unavailable(format!("{status}: {message}")),
    }
}

pub(crate) fn network_error(error: reqwest::Error) -> MailError {
    MailError::Unavailable(format!("network: {error}"))
}
