//! Inbound mail: what a message that arrives in a sender's mailbox (or at an inbound-parse
//! webhook) says about our outreach — which of our messages it answers, and whether a person
//! wrote it (`reply`), a machine answered for them (`auto_reply`: out-of-office, autoresponders)
//! or a mail server gave the message back (`bounce`: a delivery status notification).
//!
//! Nothing here renders inbound HTML: the snippet is text, whatever the message carried.
//!
//! - `parse`: a message from its raw bytes (IMAP, SendGrid's raw mode, Mandrill's `raw_msg`)
//!   or from a header list and a snippet (Gmail's metadata format).
//! - `classify`: reply, auto-reply or bounce, from the headers and the subject.
//! - `dsn`: the delivery report of a bounce (RFC 3464).
//! - `text`: message-id lists, subjects without their `Re:`/`AW:` prefixes, snippets.

mod classify;
mod dsn;
mod parse;
#[cfg(test)]
mod tests;
mod text;

pub use classify::{classify, is_auto_subject};
pub use dsn::Bounce;
pub use parse::{ParseError, from_headers, from_raw};
pub use text::{message_ids, normalized_subject, snippet_of_text, text_of_html};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a snippet may be, in characters.
pub const SNIPPET_CHARS: usize = 280;

/// Within how many days of our message a reply matched by address and subject alone (no
/// `In-Reply-To`/`References` naming it) still counts.
pub const SUBJECT_MATCH_DAYS: i64 = 30;

/// What an inbound message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// A person answered.
    Reply,
    /// An out-of-office note or an autoresponder: recorded, stops nothing.
    AutoReply,
    /// A delivery status notification: the message did not arrive.
    Bounce,
}

impl ReplyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Reply => "reply",
            ReplyKind::AutoReply => "auto_reply",
            ReplyKind::Bounce => "bounce",
        }
    }
}

/// An inbound message as far as reply detection needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Its own RFC 5322 Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To`, nearest first.
    pub in_reply_to: Vec<String>,
    /// `References`, nearest (last) first.
    pub references: Vec<String>,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// Text, length-capped, quoted history cut off.
    pub snippet: String,
    pub kind: ReplyKind,
    /// The delivery report, when the message is a bounce that carries one.
    pub bounce: Option<Bounce>,
}

impl InboundMessage {
    /// The Message-IDs this message names as the ones it answers, nearest first, each once:
    /// `In-Reply-To`, then `References` from the last, then (for a bounce) the original
    /// message's own id from the report.
    pub fn answered_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let bounced = self
            .bounce
            .as_ref()
            .and_then(|b| b.original_message_id.clone());
        for id in self
            .in_reply_to
            .iter()
            .chain(&self.references)
            .cloned()
            .chain(bounced)
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// A stable key of this message for recording it once: its Message-ID, or (a message
    /// without one) its sender, date and subject.
    pub fn dedupe_key(&self) -> String {
        match &self.message_id {
            Some(id) => id.to_ascii_lowercase(),
            None => format!(
                "{}|{}|{}",
                self.from_email.as_deref().unwrap_or_default(),
                self.date.map(|d| d.timestamp()).unwrap_or_default(),
                self.subject
            ),
        }
    }
}

/// The local part of one of our Message-IDs (`<message uuid>@<sending domain>`): our message's
/// id, when `id` is one of ours in form.
pub fn our_message_uuid(id: &str) -> Option<uuid::Uuid> {
    let (local, _) = id.split_once('@')?;
    uuid::Uuid::parse_str(local).ok()
}
