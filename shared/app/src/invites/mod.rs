//! Invitations that complete: the e-mail with an unguessable link when an invitation is
//! created (or renewed, or resent), the invitee's list of what is waiting for them, and the
//! answer — accepting creates the membership in the same transaction that marks the
//! invitation accepted. docs/invitations.md.

mod answer;
mod letters;
mod pending;

use std::sync::Arc;

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::invites::InviteKind;
use scaliyo_domain::schema::{self, Table};
use scaliyo_store::{Clock, Key};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{Access, AccessError, Actor};
use crate::rows::Row;
use crate::send::SendPipeline;

pub use answer::{Answer, Answered};
pub use letters::{InviteLetters, LetterMessage};

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The invitation was answered already (accepted or declined).
    #[error("this invitation was answered already")]
    Answered,
    #[error("this invitation expired; ask for a new one")]
    Expired,
    /// Its inviter may no longer invite to the team or board (removed, or demoted).
    #[error("the inviter may no longer invite you here; ask for a new invitation")]
    Revoked,
    /// The invitee is a member already (of the team or the board).
    #[error("you are a member already")]
    AlreadyMember,
    /// A resend sooner than the interval after the last e-mail.
    #[error("the invitation was sent less than {minutes} minutes ago")]
    TooSoon { minutes: i64 },
    #[error(transparent)]
    Queue(#[from] scaliyo_store::QueueError),
    #[error(transparent)]
    Send(#[from] crate::send::SendError),
}

crate::errors::through_access!(InviteError);
crate::errors::invalid_constructor!(InviteError);

/// The deployment's settings of invitations.
#[derive(Debug, Clone)]
pub struct InvitesConfig {
    /// The frontend's page that answers an invitation; the token is added as `?token=`.
    pub accept_url: String,
}

/// The invitations service: answering (the data API) and delivering the e-mails (the
/// e-mail consumer, which holds the send pipeline).
#[derive(Clone)]
pub struct Invitations {
    access: Arc<Access>,
    clock: Arc<dyn Clock>,
    letters: InviteLetters,
    config: InvitesConfig,
    send: Option<Arc<SendPipeline>>,
}

impl Invitations {
    pub fn new(
        access: Arc<Access>,
        clock: Arc<dyn Clock>,
        letters: InviteLetters,
        config: InvitesConfig,
    ) -> Self {
        Self {
            access,
            clock,
            letters,
            config,
            send: None,
        }
    }

    /// Where the e-mails go out (the function that holds the mailers).
    pub fn with_send(mut self, send: Arc<SendPipeline>) -> Self {
        self.send = Some(send);
        self
    }
}

/// One invitation as the invitee sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingInvite {
    pub id: String,
    pub kind: InviteKind,
    pub email: String,
    pub role: Option<String>,
    /// The team's or board's id and name (none for a guest contributor).
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub invited_by: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
}

fn table_of(kind: InviteKind) -> &'static Table {
    match kind {
        InviteKind::Team => &schema::TEAM_INVITES,
        InviteKind::Flow => &schema::TEAMHUB_INVITES,
        InviteKind::GuestContributor => &schema::GUEST_CONTRIBUTORS,
    }
}

/// The partition an invitation's row lives in: a guest contributor's is its inviter's.
fn partition_of(kind: InviteKind, row: &Row) -> Option<String> {
    match kind {
        InviteKind::GuestContributor => crate::rows::field(row, "user_id")
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

fn text(row: &Row, column: &str) -> Option<String> {
    crate::rows::field(row, column).as_str().map(str::to_owned)
}

fn parse_time(value: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    value
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// When the invitation in `row` stops being answerable.
fn deadline(kind: InviteKind, row: &Row) -> Option<chrono::DateTime<chrono::Utc>> {
    let created = parse_time(crate::rows::field(row, "created_at").as_str())
        .or_else(|| parse_time(crate::rows::field(row, "invited_at").as_str()));
    scaliyo_domain::invites::expires_at(
        kind,
        parse_time(crate::rows::field(row, "expires_at").as_str()),
        created,
    )
}

/// The owner whose workspace an invitation's e-mail goes out for: its inviter.
fn inviter_of(kind: InviteKind, row: &Row) -> Option<OwnerId> {
    crate::rows::field(row, kind.inviter_column())
        .as_str()
        .and_then(|id| id.parse().ok())
}

fn key_of(kind: InviteKind, row: &Row) -> Result<Key, InviteError> {
    let id = text(row, "id").ok_or_else(|| invalid("id", "the invitation has no id"))?;
    Ok(crate::layout::row_key(
        table_of(kind),
        partition_of(kind, row).as_deref(),
        &id,
    ))
}

fn describe(kind: InviteKind, row: &Row, target_name: Option<String>) -> PendingInvite {
    let target_column = match kind {
        InviteKind::Team => Some("team_id"),
        InviteKind::Flow => Some("flow_id"),
        InviteKind::GuestContributor => None,
    };
    PendingInvite {
        id: text(row, "id").unwrap_or_default(),
        kind,
        email: text(row, "email").unwrap_or_default(),
        role: text(row, "role"),
        target_id: target_column.and_then(|c| text(row, c)),
        target_name,
        invited_by: text(row, kind.inviter_column()),
        created_at: text(row, "created_at").or_else(|| text(row, "invited_at")),
        expires_at: deadline(kind, row).map(crate::rows::timestamp_text),
    }
}
