//! Reply detection per sender account (`PUT`/`GET`/`DELETE
//! /v1/sender-accounts/{id}/reply-detection`): one mailbox item beside the workspace's rows
//! with where to read (Gmail: the account's own authorisation; SMTP: an IMAP host and port,
//! the SMTP login unless an IMAP login of its own is given, sealed), the cursor of the last
//! read, and its place in the poll's due index (GSI4 `reply_poll#<shard>`, ADR 0023).

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Credentials, Item, Key, MailboxCursor, SmtpSecurity, WriteOp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::access::Actor;
use crate::layout;
use crate::rows::{Row, timestamp_text};
use crate::work_queue::{DUE_INDEX, lease_sort_key};

/// Internal attributes of a mailbox item.
pub(super) const CURSOR: &str = "cursor";
pub(super) const VERSION: &str = "v";
pub(super) const LAST_ERROR: &str = "last_error";
pub(super) const POLLED_AT: &str = "polled_at";
const DUE_PREFIX: &str = "reply_poll";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    #[serde(default = "default_imap_port")]
    pub port: u16,
    /// `ssl` (implicit TLS, default) or `none` (a loopback server only).
    pub security: Option<String>,
    /// When the mailbox's login differs from the SMTP login.
    pub username: Option<String>,
    pub password: Option<String>,
}

fn default_imap_port() -> u16 {
    993
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableRequest {
    /// SMTP accounts: where their mailbox is read. Gmail accounts need nothing.
    pub imap: Option<ImapSettings>,
}

pub(super) fn mailbox_key(owner: OwnerId, sender_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("mailbox#{sender_id}"),
    )
}

/// The due partition of one shard (GSI4).
pub(super) fn shard_partition(shard: u32) -> String {
    format!("{DUE_PREFIX}#{shard}")
}

fn due_partition(sender_id: &str) -> String {
    shard_partition(layout::shard_of(sender_id))
}

/// Puts a mailbox item's due entry at `at`.
pub(super) fn set_due(item: &mut Item, sender_id: &str, at: DateTime<Utc>) {
    let (pk, sk) = DUE_INDEX.key_attributes();
    item.set(pk, due_partition(sender_id));
    item.set(sk, lease_sort_key(at, sender_id));
}

pub(super) fn cursor_of(item: &Item) -> MailboxCursor {
    item.str(CURSOR)
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default()
}

impl Replies {
    /// Turns reply detection on for one of the caller's sender accounts: the mailbox is read
    /// once at once (the login is checked and the cursor set: mail from before is not read),
    /// then every two minutes.
    pub async fn enable(
        &self,
        actor: &Actor,
        sender_id: &str,
        request: EnableRequest,
    ) -> Result<Value, ReplyError> {
        let sender = self.access.get(actor, "sender_accounts", sender_id).await?;
        let owner = crate::rows::owner_in(&sender, "workspace_id")?;
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        let mut item = Item::new(&mailbox_key(owner, sender_id))
            .with("owner", owner.to_string())
            .with("sender_account_id", sender_id)
            .with("provider", provider.as_str())
            .with(VERSION, 0)
            .with("created_at", timestamp_text(self.clock.now()));
        match (provider.as_str(), request.imap) {
            ("gmail", None) => {}
            ("smtp", Some(imap)) => {
                let host = imap.host.trim().to_owned();
                if host.is_empty() || host.len() > 253 {
                    return Err(invalid("imap.host", "give the IMAP server's host name"));
                }
                let security = match imap.security.as_deref() {
                    None | Some("ssl") => "ssl",
                    Some("none") => "none",
                    Some(_) => return Err(invalid("imap.security", "must be ssl or none")),
                };
                item.set("imap_host", host);
                item.set("imap_port", i64::from(imap.port));
                item.set("imap_security", security);
                match (imap.username, imap.password) {
                    (Some(user), Some(pass)) => {
                        let sealer = self.mailbox_access()?.sealer.clone();
                        for (name, text) in [("imap_user", user), ("imap_pass", pass)] {
                            let sealed = sealer
                                .seal(&text)
                                .await
                                .map_err(|e| invalid("imap", e.to_string()))?;
                            item.set(name, sealed);
                        }
                    }
                    (None, None) => {}
                    _ => {
                        return Err(invalid(
                            "imap",
                            "give both username and password, or neither (the SMTP login)",
                        ));
                    }
                }
            }
            ("gmail", Some(_)) => {
                return Err(invalid(
                    "imap",
                    "a Gmail account is read through the Gmail API",
                ));
            }
            ("smtp", None) => {
                return Err(invalid(
                    "imap",
                    "an SMTP account needs its IMAP host and port",
                ));
            }
            _ => {
                return Err(invalid(
                    "sender_account_id",
                    format!(
                        "{provider} posts inbound mail: create an inbound webhook with \
                         POST /v1/sender-accounts/{{id}}/inbound-webhook"
                    ),
                ));
            }
        }
        // The first read checks the login and sets the cursor.
        let credentials = self.inbox_credentials(&sender, &item).await?;
        let mailboxes = self.mailbox_access()?;
        let inbox = mailboxes
            .inboxes
            .for_provider(&provider)
            .ok_or_else(|| invalid("provider", "no inbox reads this provider"))?;
        let now = self.clock.now();
        let fetched = inbox
            .poll(&credentials, &MailboxCursor::default(), now)
            .await
            .map_err(|error| match error {
                MailError::Auth(reason) => {
                    invalid("imap", format!("the mailbox refused the login: {reason}"))
                }
                other => ReplyError::Mailbox(other),
            })?;
        if let Some((token, expires)) = &fetched.refreshed {
            mailboxes
                .senders
                .store_refreshed_token(&sender, token, *expires)
                .await;
        }
        item.set(
            CURSOR,
            serde_json::to_string(&fetched.cursor).unwrap_or_default(),
        );
        item.set(POLLED_AT, timestamp_text(now));
        set_due(&mut item, sender_id, now + self.config.poll_every);
        self.access
            .rows()
            .store()
            .transact_write(vec![WriteOp::put(item.clone())])
            .await?;
        Ok(status_of(&item))
    }

    pub async fn status(&self, actor: &Actor, sender_id: &str) -> Result<Value, ReplyError> {
        let sender = self.access.get(actor, "sender_accounts", sender_id).await?;
        let owner = crate::rows::owner_in(&sender, "workspace_id")?;
        Ok(
            match self
                .access
                .rows()
                .store()
                .get(&mailbox_key(owner, sender_id))
                .await?
            {
                Some(item) => status_of(&item),
                None => json!({ "sender_account_id": sender_id, "enabled": false }),
            },
        )
    }

    pub async fn disable(&self, actor: &Actor, sender_id: &str) -> Result<Value, ReplyError> {
        let sender = self.access.get(actor, "sender_accounts", sender_id).await?;
        let owner = crate::rows::owner_in(&sender, "workspace_id")?;
        self.access
            .rows()
            .store()
            .transact_write(vec![WriteOp::delete(mailbox_key(owner, sender_id))])
            .await?;
        Ok(json!({ "sender_account_id": sender_id, "enabled": false }))
    }

    /// The login a poll of this mailbox uses.
    pub(super) async fn inbox_credentials(
        &self,
        sender: &Row,
        item: &Item,
    ) -> Result<Credentials, ReplyError> {
        let mailboxes = self.mailbox_access()?;
        let credentials = mailboxes.senders.credentials(sender).await?;
        let Some(host) = item.str("imap_host") else {
            return Ok(credentials);
        };
        let open = |name: &str| {
            let sealed = item.str(name).map(str::to_owned);
            async move {
                match sealed {
                    Some(text) => mailboxes
                        .sealer
                        .open(&text)
                        .await
                        .map(Some)
                        .map_err(|e| invalid("imap", e.to_string())),
                    None => Ok(None),
                }
            }
        };
        let (smtp_user, smtp_pass) = match credentials {
            Credentials::Smtp {
                username, password, ..
            } => (username, password),
            _ => (String::new(), String::new()),
        };
        Ok(Credentials::Imap {
            host: host.to_owned(),
            port: item
                .i64("imap_port")
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(993),
            username: open("imap_user").await?.unwrap_or(smtp_user),
            password: open("imap_pass").await?.unwrap_or(smtp_pass),
            security: match item.str("imap_security") {
                Some("none") => SmtpSecurity::None,
                _ => SmtpSecurity::Implicit,
            },
        })
    }
}

/// What the API shows of a mailbox: never its login.
fn status_of(item: &Item) -> Value {
    let text = |name: &str| item.str(name).map(str::to_owned);
    json!({
        "sender_account_id": text("sender_account_id"),
        "enabled": true,
        "provider": text("provider"),
        "imap_host": text("imap_host"),
        "imap_port": item.i64("imap_port"),
        "imap_security": text("imap_security"),
        "last_polled_at": text(POLLED_AT),
        "last_error": text(LAST_ERROR),
    })
}
