//! `ImapInbox`: an SMTP account's mailbox read over IMAP (RFC 9051/3501), read-only:
//! `EXAMINE INBOX` gives UIDVALIDITY and UIDNEXT; when UIDNEXT moved past the cursor, the new
//! messages' header sections and the first [`BODY_PREFIX`] bytes of their text are fetched
//! with `BODY.PEEK` (nothing is marked seen). A changed UIDVALIDITY (the server renumbered
//! the mailbox) is resynchronised with `UID SEARCH SINCE` the day before the last poll; the
//! caller records each message once by its Message-ID, so re-reading is harmless.
//!
//! Connections: implicit TLS (993) with the web PKI roots, or plain text to a loopback server
//! only. A host that resolves inside (private, link-local, metadata) is refused unless
//! allowed for local development. At most [`PER_HOST`] conversations run at once with one
//! host — mailbox providers throttle clients that open many; IMAP authenticates per
//! connection, so connections cannot be shared between mailboxes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_imap::Client;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use scaliyo_store::{
    Credentials, Fetched, FetchedMessage, Inbox, MailError, MailboxCursor, SmtpSecurity,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::network::{is_loopback, resolve_mail_host};

/// How much of a message's text is read: enough for a snippet and a bounce's report.
pub const BODY_PREFIX: u32 = 32 * 1024;
/// Messages read per poll; the rest wait for the next (`Fetched::more`).
pub const MAX_MESSAGES: u32 = 200;
/// Conversations at once with one IMAP host.
pub const PER_HOST: usize = 16;
/// Upper bound of one conversation.
const TIMEOUT: Duration = Duration::from_secs(30);
const UNREACHABLE: &str = "the IMAP server could not be reached on that host and port";

#[derive(Clone)]
pub struct ImapInbox {
    allow_private: bool,
    tls: Arc<rustls::ClientConfig>,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl std::fmt::Debug for ImapInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapInbox")
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

impl Default for ImapInbox {
    fn default() -> Self {
        // The process may link two rustls providers (ring through lettre, aws-lc through the
        // AWS SDK): name one, or building a config would panic. Already installed is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            allow_private: false,
            tls: Arc::new(tls),
            hosts: Arc::default(),
        }
    }
}

impl ImapInbox {
    /// Local development and tests: the IMAP server may be on this machine or the private
    /// network (`IMAP_ALLOW_PRIVATE=1`). Never in production (SSRF).
    pub fn allowing_private() -> Self {
        Self {
            allow_private: true,
            ..Self::default()
        }
    }

    fn gate(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if hosts.len() > 10_000 {
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone()
    }

    async fn resolve(&self, host: &str, port: u16) -> Result<IpAddr, MailError> {
        resolve_mail_host(host, port, self.allow_private, "IMAP").await
    }

    async fn conversation(
        &self,
        credentials: &Credentials,
        cursor: &MailboxCursor,
        now: DateTime<Utc>,
    ) -> Result<Fetched, MailError> {
        let Credentials::Imap {
            host,
            port,
            username,
            password,
            security,
        } = credentials
        else {
            return Err(MailError::Auth(
                "the account has no IMAP credentials".into(),
            ));
        };
        if matches!(security, SmtpSecurity::None) && !is_loopback(host) {
            return Err(MailError::Rejected(
                "plain-text IMAP is only allowed to a loopback server".into(),
            ));
        }
        let address = self.resolve(host, *port).await?;
        let tcp = TcpStream::connect((address, *port))
            .await
            .map_err(|_| MailError::Unavailable(UNREACHABLE.into()))?;
        tcp.set_nodelay(true).ok();
        match security {
            SmtpSecurity::None => read_mailbox(tcp, username, password, cursor, now).await,
            SmtpSecurity::Implicit => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|_| MailError::Rejected("the IMAP host is not a valid name".into()))?;
                let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| {
                        MailError::Unavailable(format!("TLS with the IMAP server: {e}"))
                    })?;
                read_mailbox(tls, username, password, cursor, now).await
            }
            SmtpSecurity::StartTls => Err(MailError::Rejected(
                "IMAP needs implicit TLS (port 993); STARTTLS on 143 is not supported".into(),
            )),
        }
    }
}

#[async_trait]
impl Inbox for ImapInbox {
    async fn poll(
        &self,
        credentials: &Credentials,
        cursor: &MailboxCursor,
        now: DateTime<Utc>,
    ) -> Result<Fetched, MailError> {
        let host = match credentials {
            Credentials::Imap { host, .. } => host.clone(),
            _ => String::new(),
        };
        let gate = self.gate(&host);
        let _permit = gate
            .acquire()
            .await
            .map_err(|_| MailError::Unavailable("shutting down".into()))?;
        tokio::time::timeout(TIMEOUT, self.conversation(credentials, cursor, now))
            .await
            .map_err(|_| MailError::Unavailable("the IMAP server did not answer in time".into()))?
    }
}

fn io_error(error: async_imap::error::Error) -> MailError {
    MailError::Unavailable(format!("IMAP: {error}"))
}

/// Login, examine, fetch what is new, logout.
async fn read_mailbox<T>(
    stream: T,
    username: &str,
    password: &str,
    cursor: &MailboxCursor,
    now: DateTime<Utc>,
) -> Result<Fetched, MailError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut client = Client::new(stream);
    // The server's greeting comes first.
    client
        .read_response()
        .await
        .map_err(|e| MailError::Unavailable(format!("IMAP greeting: {e}")))?
        .ok_or_else(|| MailError::Unavailable("the IMAP server closed the connection".into()))?;
    let mut session = client
        .login(username, password)
        .await
        .map_err(|(error, _)| match error {
            async_imap::error::Error::No(message) | async_imap::error::Error::Bad(message) => {
                MailError::Auth(format!("IMAP login refused: {message}"))
            }
            other => io_error(other),
        })?;
    let mailbox = session.examine("INBOX").await.map_err(io_error)?;
    let uid_validity = mailbox.uid_validity;
    let uid_next = mailbox.uid_next.unwrap_or(1);
    let mut next = MailboxCursor {
        uid_validity,
        next_uid: Some(uid_next),
        history_id: None,
        polled_at: Some(now),
    };
    let mut fetched = Fetched::default();
    let uids: Vec<u32> = match (cursor.uid_validity, cursor.next_uid) {
        // First poll: start from now.
        (None, _) | (_, None) => Vec::new(),
        (Some(seen), Some(from)) if Some(seen) == uid_validity => {
            if uid_next > from {
                (from..uid_next).collect()
            } else {
                Vec::new()
            }
        }
        // UIDVALIDITY changed: the UIDs mean other messages now. Read what arrived since the
        // day before the last poll.
        _ => {
            let since = cursor.polled_at.unwrap_or(now) - chrono::Duration::days(1);
            let query = format!("SINCE {}", since.format("%d-%b-%Y"));
            let mut found: Vec<u32> = session
                .uid_search(query)
                .await
                .map_err(io_error)?
                .into_iter()
                .collect();
            found.sort_unstable();
            found
        }
    };
    if !uids.is_empty() {
        let first = uids[0];
        let take: Vec<u32> = uids.iter().copied().take(MAX_MESSAGES as usize).collect();
        let last = *take.last().unwrap_or(&first);
        fetched.more = uids.len() > take.len();
        let set = if take.len() == uids.len() && cursor.uid_validity == uid_validity {
            format!("{first}:{last}")
        } else {
            take.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let query = format!("(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{BODY_PREFIX}>)");
        let mut messages: Vec<(u32, Vec<u8>)> = session
            .uid_fetch(set, query)
            .await
            .map_err(io_error)?
            .try_filter_map(|fetch| async move {
                let Some(uid) = fetch.uid else {
                    return Ok(None);
                };
                let mut raw = fetch.header().map(<[u8]>::to_vec).unwrap_or_default();
                if let Some(text) = fetch.text() {
                    raw.extend_from_slice(text);
                }
                Ok(Some((uid, raw)))
            })
            .try_collect()
            .await
            .map_err(io_error)?;
        // `first:last` also answers with the last message when none is in range.
        messages.retain(|(uid, _)| take.contains(uid));
        messages.sort_by_key(|(uid, _)| *uid);
        if fetched.more {
            next.next_uid = Some(last + 1);
        }
        fetched.messages = messages
            .into_iter()
            .map(|(_, raw)| FetchedMessage::Raw(raw))
            .collect();
    }
    session.logout().await.ok();
    fetched.cursor = next;
    Ok(fetched)
}
