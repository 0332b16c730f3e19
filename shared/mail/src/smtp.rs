//! `SmtpMailer`: SMTP with lettre — implicit TLS on 465, STARTTLS required otherwise, AUTH
//! with the account's credentials; plain text only towards a loopback server; public hosts
//! only unless allowed for local development.

use std::net::IpAddr;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials as SmtpCredentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use scaliyo_store::{Credentials, Delivery, MailError, Mailer, OutgoingEmail, SmtpSecurity};

use crate::network::{is_loopback, resolve_mail_host};

/// SMTP delivery. The account's host is resolved once and the connection pinned to that
/// address (the certificate is still checked for the host name), so a name that resolves
/// inside — loopback, private, link-local, the metadata service — is refused before any byte
/// is sent, and a second resolution cannot swap the address.
#[derive(Debug, Clone, Default)]
pub struct SmtpMailer {
    allow_private: bool,
}

/// Upper bound of one SMTP conversation, connection included.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a connection failure tells the user: that it failed, not how (refused, timed out,
/// unreachable would map the network behind the host for a caller probing it).
const UNREACHABLE: &str = "the SMTP server could not be reached on that host and port";

impl SmtpMailer {
    /// Local development and tests: the SMTP server may be on this machine or the private
    /// network (`SMTP_ALLOW_PRIVATE=1`). Never in production (SSRF).
    pub fn allowing_private() -> Self {
        Self {
            allow_private: true,
        }
    }

    /// The one address the conversation goes to.
    async fn resolve(&self, host: &str, port: u16) -> Result<IpAddr, MailError> {
        resolve_mail_host(host, port, self.allow_private, "SMTP").await
    }

    async fn transport(
        &self,
        credentials: &Credentials,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
        let Credentials::Smtp {
            host,
            port,
            username,
            password,
            security,
        } = credentials
        else {
            return Err(MailError::Auth(
                "the account has no SMTP credentials".into(),
            ));
        };
        if matches!(security, SmtpSecurity::None) && !is_loopback(host) {
            return Err(MailError::Rejected(
                "plain-text SMTP is only allowed to a loopback server".into(),
            ));
        }
        let address = self.resolve(host, *port).await?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned())
                .map_err(|_| MailError::Rejected("the SMTP host is not a valid name".into()))
        };
        let tls = match security {
            SmtpSecurity::Implicit => Tls::Wrapper(tls(host)?),
            SmtpSecurity::StartTls => Tls::Required(tls(host)?),
            SmtpSecurity::None => Tls::None,
        };
        Ok(
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.to_string())
                .port(*port)
                .tls(tls)
                .credentials(SmtpCredentials::new(username.clone(), password.clone()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login])
                .timeout(Some(std::time::Duration::from_secs(15)))
                .build(),
        )
    }
}

fn classify(error: lettre::transport::smtp::Error) -> MailError {
    let text = error.to_string();
    let auth_code = error.status().is_some_and(|code| {
        let code = code.to_string();
        code.starts_with("535") || code.starts_with("534") || code.starts_with("530")
    });
    if auth_code || text.to_ascii_lowercase().contains("authentication") {
        MailError::Auth(text)
    } else if error.is_permanent() {
        MailError::Rejected(text)
    } else if error.status().is_some() {
        // The server answered: its reply is the user's to read.
        MailError::Unavailable(text)
    } else {
        tracing::info!(error = %text, "the SMTP conversation failed before a reply");
        MailError::Unavailable(UNREACHABLE.into())
    }
}

impl SmtpMailer {
    /// Connects, says EHLO and authenticates, without sending: used before an account is saved.
    pub async fn check(&self, credentials: &Credentials) -> Result<(), MailError> {
        let transport = self.transport(credentials).await?;
        match tokio::time::timeout(TIMEOUT, transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::Unavailable(
                "the SMTP server did not answer".into(),
            )),
            Ok(Err(e)) => Err(classify(e)),
            Err(_) => Err(MailError::Unavailable(
                "the SMTP server did not answer in time".into(),
            )),
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn verify(&self, credentials: &Credentials) -> Result<(), MailError> {
        self.check(credentials).await
    }

    async fn send(
        &self,
        email: &OutgoingEmail,
        credentials: &Credentials,
    ) -> Result<Delivery, MailError> {
        let message = crate::message::build(email)?;
        let transport = self.transport(credentials).await?;
        let response = tokio::time::timeout(TIMEOUT, transport.send(message))
            .await
            .map_err(|_| MailError::Unavailable("the SMTP server did not answer in time".into()))?
            .map_err(classify)?;
        // "250 2.0.0 Ok: queued as 4Xyz" — the server's queue id is the closest to an id.
        let text: Vec<&str> = response.message().collect();
        let queued = text
            .iter()
            .find_map(|line| line.split("queued as ").nth(1))
            .map(|id| id.trim().to_owned());
        Ok(Delivery {
            provider_message_id: queued.or_else(|| Some(format!("<{}>", email.message_id))),
            refreshed: None,
        })
    }
}
