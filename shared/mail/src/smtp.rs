//! `SmtpMailer`: SMTP with lettre — implicit TLS on 465, STARTTLS required otherwise, AUTH
//! with the account's credentials; plain text only towards a loopback server.

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials as SmtpCredentials, Mechanism};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use scaliyo_store::{Credentials, Delivery, MailError, Mailer, OutgoingEmail, SmtpSecurity};

#[derive(Debug, Clone, Default)]
pub struct SmtpMailer;

/// Upper bound of one SMTP conversation, connection included.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn transport(credentials: &Credentials) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
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
    let builder = match security {
        SmtpSecurity::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpSecurity::None if is_loopback(host) => Ok(
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        ),
        SmtpSecurity::None => {
            return Err(MailError::Rejected(
                "plain-text SMTP is only allowed to a loopback server".into(),
            ));
        }
    }
    .map_err(|e| MailError::Unavailable(format!("smtp setup: {e}")))?;
    Ok(builder
        .port(*port)
        .credentials(SmtpCredentials::new(username.clone(), password.clone()))
        .authentication(vec![Mechanism::Plain, Mechanism::Login])
        .timeout(Some(std::time::Duration::from_secs(15)))
        .build())
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
    } else {
        MailError::Unavailable(text)
    }
}

impl SmtpMailer {
    /// Connects, says EHLO and authenticates, without sending: used before an account is saved.
    pub async fn check(&self, credentials: &Credentials) -> Result<(), MailError> {
        let transport = transport(credentials)?;
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
        let response = tokio::time::timeout(TIMEOUT, transport(credentials)?.send(message))
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
