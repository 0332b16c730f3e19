//! The mailer port: one provider-neutral outgoing e-mail, the sender's credentials, and the
//! errors a caller can act on (re-authorise, retry later, give up).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// RFC 5322 Message-ID without angle brackets, on the sending domain.
    pub message_id: String,
    pub from_email: String,
    pub from_name: String,
    pub to_email: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers (List-Unsubscribe, List-Unsubscribe-Post, …).
    pub headers: Vec<(String, String)>,
    /// Our id of the message, carried as provider metadata so provider events map back.
    pub scaliyo_message_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS required (587 and others).
    StartTls,
    /// Plain text; only ever for a server on loopback (local development and tests).
    None,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Smtp {
        host: String,
        port: u16,
        username: String,
        password: String,
        security: SmtpSecurity,
    },
    /// A mailbox read over IMAP (reply detection of an SMTP account).
    Imap {
        host: String,
        port: u16,
        username: String,
        password: String,
        security: SmtpSecurity,
    },
    ApiKey(String),
    OAuth {
        access_token: String,
        refresh_token: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    },
    /// The local outbox needs none.
    None,
}

impl std::fmt::Debug for Credentials {
    // Credentials never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Smtp {
                host,
                port,
                security,
                ..
            } => {
                write!(
                    f,
                    "Smtp {{ host: {host:?}, port: {port}, security: {security:?}, .. }}"
                )
            }
            Credentials::Imap {
                host,
                port,
                security,
                ..
            } => {
                write!(
                    f,
                    "Imap {{ host: {host:?}, port: {port}, security: {security:?}, .. }}"
                )
            }
            Credentials::ApiKey(_) => f.write_str("ApiKey(..)"),
            Credentials::OAuth { expires_at, .. } => {
                write!(f, "OAuth {{ expires_at: {expires_at:?}, .. }}")
            }
            Credentials::None => f.write_str("None"),
        }
    }
}

/// What the provider said when it accepted the message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    pub provider_message_id: Option<String>,
    /// A new OAuth access token obtained on the way (to store, sealed).
    pub refreshed: Option<(String, DateTime<Utc>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The credentials were refused: the account needs re-authorisation.
    #[error("the provider refused the credentials: {0}")]
    Auth(String),
    #[error("the provider is rate limiting")]
    RateLimited { retry_after: Option<Duration> },
    /// The provider refused this message for good (bad address, content, …).
    #[error("the provider rejected the message: {0}")]
    Rejected(String),
    /// The provider could not be reached or failed; retrying later may work.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

impl MailError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            MailError::RateLimited { .. } | MailError::Unavailable(_)
        )
    }
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(
        &self,
        email: &OutgoingEmail,
        credentials: &Credentials,
    ) -> Result<Delivery, MailError>;

    /// Checks credentials without sending (SMTP: EHLO and AUTH) before an account is saved.
    async fn verify(&self, _credentials: &Credentials) -> Result<(), MailError> {
        Ok(())
    }
}

/// The mailers by provider; locally every provider may be routed to the outbox.
#[derive(Clone)]
pub struct Mailers {
    pub smtp: Arc<dyn Mailer>,
    pub sendgrid: Arc<dyn Mailer>,
    pub mailchimp: Arc<dyn Mailer>,
    pub gmail: Arc<dyn Mailer>,
}

impl Mailers {
    /// Every provider through one mailer (the local outbox).
    pub fn all(mailer: Arc<dyn Mailer>) -> Self {
        Self {
            smtp: mailer.clone(),
            sendgrid: mailer.clone(),
            mailchimp: mailer.clone(),
            gmail: mailer,
        }
    }

    pub fn for_provider(&self, provider: &str) -> Option<&Arc<dyn Mailer>> {
        match provider {
            "smtp" => Some(&self.smtp),
            "sendgrid" => Some(&self.sendgrid),
            "mailchimp" => Some(&self.mailchimp),
            "gmail" => Some(&self.gmail),
            _ => None,
        }
    }
}

/// The Mailchimp (Marketing) account an API key belongs to, as its API root describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketingAccount {
    /// The data centre the key names (`us21` in `…-us21`): the API's host.
    pub datacenter: String,
    pub account_id: String,
    pub account_name: String,
    /// The account's login e-mail: the connected sender's address.
    pub email: String,
}

/// Looks up the Mailchimp Marketing account of an API key (`GET /3.0/`), which also proves the
/// key works before it is saved.
#[async_trait]
pub trait MailchimpMarketing: Send + Sync {
    async fn account(&self, api_key: &str) -> Result<MarketingAccount, MailError>;
}

/// The data centre of a Mailchimp Marketing API key (`<32 hex>-us21` → `us21`), or None when
/// the key is not shaped like one (a Transactional `md-…` key is not). The data centre becomes part of a host name, so only
/// letters followed by digits are accepted.
pub fn mailchimp_datacenter(api_key: &str) -> Option<&str> {
    let (secret, datacenter) = api_key.trim().rsplit_once('-')?;
    let letters = datacenter
        .bytes()
        .take_while(u8::is_ascii_lowercase)
        .count();
    let digits = &datacenter[letters..];
    let well_formed = secret.len() >= 16
        && secret.bytes().all(|b| b.is_ascii_hexdigit())
        && (2..=4).contains(&letters)
        && (1..=3).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed.then_some(datacenter)
}

#[cfg(test)]
mod mailchimp_key_tests {
    use super::mailchimp_datacenter;

    #[test]
    fn a_key_names_its_data_centre_and_nothing_else_passes_as_one() {
        assert_eq!(
            mailchimp_datacenter("0123456789abcdef0123456789abcdef-us21"),
            Some("us21")
        );
        assert_eq!(
            mailchimp_datacenter(" 0123456789abcdef0123456789abcdef-us1 "),
            Some("us1")
        );
        for bad in [
            "",
            "abc",
            "-us21",
            "abc-",
            "abc-us",
            "abc-21",
            "abc-us21.evil.example",
            "abc-us21/x",
            "abc-US21",
            "ab c-us21",
            "abc-us2100",
            "md-abcdef",
            "md-ab12",
            "0123456789abcdef0123456789abcdef-us21-x",
        ] {
            assert_eq!(mailchimp_datacenter(bad), None, "{bad:?}");
        }
    }
}
