//! Mailers: one adapter per provider behind the `Mailer` port, and the RFC 5322 rendering they
//! share. HTTP providers take their base URL from configuration, so tests point them at local
//! fakes that check the exact request each real API requires.

pub mod gmail;
pub mod google_connect;
pub mod google_oauth;
pub mod inbox;
pub mod mailchimp;
pub mod mailchimp_marketing;
pub mod message;
mod network;
pub mod outbox;
pub mod sendgrid;
pub mod smtp;

pub use gmail::GmailMailer;
pub use mailchimp::MailchimpMailer;
pub use mailchimp_marketing::MailchimpMarketingApi;
pub use outbox::OutboxMailer;
pub use sendgrid::SendgridMailer;
pub use smtp::SmtpMailer;

use std::sync::Arc;
use std::time::Duration;

use scaliyo_store::{MailError, Mailers};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The real providers as Lambda runs them. Base URLs come from the environment
/// (`SENDGRID_BASE_URL`, `MAILCHIMP_BASE_URL`, `GMAIL_API_BASE_URL`, `GOOGLE_TOKEN_URL`) so
/// tests point them at fakes; Gmail's OAuth client is `GOOGLE_CLIENT_ID`/`_SECRET`.
pub fn mailers_from_env() -> Mailers {
    let http = http_client();
    Mailers {
        smtp: Arc::new(
            if std::env::var("SMTP_ALLOW_PRIVATE").is_ok_and(|v| v == "1" || v == "true") {
                SmtpMailer::allowing_private()
            } else {
                SmtpMailer::default()
            },
        ),
        sendgrid: Arc::new(SendgridMailer::new(
            env_or("SENDGRID_BASE_URL", sendgrid::DEFAULT_BASE_URL),
            http.clone(),
        )),
        mailchimp: Arc::new(MailchimpMailer::new(
            env_or("MAILCHIMP_BASE_URL", mailchimp::DEFAULT_BASE_URL),
            http.clone(),
        )),
        gmail: Arc::new(GmailMailer::new(
            env_or("GMAIL_API_BASE_URL", gmail::DEFAULT_API_BASE),
            env_or("GOOGLE_TOKEN_URL", gmail::DEFAULT_TOKEN_URL),
            env_or("GOOGLE_CLIENT_ID", ""),
            env_or("GOOGLE_CLIENT_SECRET", ""),
            http,
        )),
    }
}

/// Google's OAuth client for connecting mailboxes (`GOOGLE_CLIENT_ID`/`_SECRET`, the callback
/// under `api_base`, endpoints from [`google_connect::GoogleEndpoints::from_env`]); none
/// unconfigured.
pub fn google_connect_from_env(api_base: &str) -> Option<Arc<dyn scaliyo_store::OAuthProvider>> {
    let client = scaliyo_store::OAuthClient::from_env(
        "GOOGLE",
        scaliyo_store::oauth::Provider::Google,
        api_base,
    )?;
    Some(Arc::new(google_connect::GoogleConnect::new(
        client,
        google_connect::GoogleEndpoints::from_env(),
        http_client(),
    )))
}

/// The inboxes reply detection reads, as Lambda runs them: IMAP (private hosts only with
/// `SMTP_ALLOW_PRIVATE`, as for sending) and the Gmail API (`GMAIL_API_BASE_URL`,
/// `GOOGLE_TOKEN_URL`, `GOOGLE_CLIENT_ID`/`_SECRET`).
pub fn inboxes_from_env() -> scaliyo_store::Inboxes {
    inboxes(
        env_or("GMAIL_API_BASE_URL", gmail::DEFAULT_API_BASE),
        env_or("GOOGLE_TOKEN_URL", gmail::DEFAULT_TOKEN_URL),
        std::env::var("SMTP_ALLOW_PRIVATE").is_ok_and(|v| v == "1" || v == "true"),
    )
}

/// The inboxes with the Gmail API and Google's token endpoint at these bases (the OAuth
/// client from `GOOGLE_CLIENT_ID`/`_SECRET`); IMAP hosts inside only with `allow_private`.
pub fn inboxes(
    gmail_api_base: String,
    google_token_url: String,
    allow_private: bool,
) -> scaliyo_store::Inboxes {
    let http = http_client();
    scaliyo_store::Inboxes {
        imap: Arc::new(if allow_private {
            inbox::ImapInbox::allowing_private()
        } else {
            inbox::ImapInbox::default()
        }),
        gmail: Arc::new(inbox::GmailInbox::new(
            gmail_api_base,
            google_oauth::GoogleOAuth::new(
                google_token_url,
                env_or("GOOGLE_CLIENT_ID", ""),
                env_or("GOOGLE_CLIENT_SECRET", ""),
                http.clone(),
            ),
            http,
        )),
    }
}

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
