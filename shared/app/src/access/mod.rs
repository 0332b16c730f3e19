//! Row policies, exactly as the seed's RLS states them, over the generic repository: who may
//! read, create, change or delete which rows of every table. A row the caller may not see
//! does not exist for them (`NotFound`), never `Forbidden`.

use std::sync::Arc;

use scaliyo_domain::ids::{Caller, OwnerId, Role};
use scaliyo_domain::plans::{Plan, PlanLimits};
use scaliyo_domain::schema::writes::{self, ClientWriter, Refusal};
use scaliyo_domain::schema::{self, FlowPath, FlowRole, Op, Scope, Table, Who};
use scaliyo_store::{Clock, CmpOp, Condition, Item, Key, Update, WriteOp};
use serde_json::{Value, json};

use crate::cursor::{CursorSealer, ListBinding};
use crate::layout;
use crate::rows::{Extra, ListRequest, Row, RowError, RowPage, Rows, timestamp_text};

mod account;
mod actors;
mod audit;
mod blog;
mod checks;
mod events;
mod invites;
mod plans;
mod prompts;
mod read;
mod sealing;
mod teamhub;
mod workflows;
mod write;

/// The largest page a list call returns.
pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 50;

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum AccessError {
    #[error("sign in to do this")]
    Unauthenticated,
    /// The caller sees the row (or the table) but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// A client tried to write what the system owns (a plan, a counter, a state it decides).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A list cursor that was not made by this deployment for this list and caller.
    #[error("the cursor does not belong to this list; start again without one")]
    BadCursor,
    /// The caller's profile is disabled: nothing is served to it.
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Row(#[from] RowError),
}

fn not_found() -> AccessError {
    AccessError::Row(RowError::NotFound)
}

/// An active support session: a super admin reading a target user's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportGrant {
    pub session_id: String,
    pub target_user_id: String,
    pub access_level: String,
}

/// Who is acting, with what the policies need to know about them.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub caller: Option<Caller>,
    pub is_admin: bool,
    pub is_super_admin: bool,
    pub support: Option<SupportGrant>,
}

impl Actor {
    pub fn anonymous() -> Self {
        Self {
            caller: None,
            is_admin: false,
            is_super_admin: false,
            support: None,
        }
    }

    /// A background job acting for one user, with exactly that user's rights.
    pub fn acting_for(owner: OwnerId) -> Self {
        Self {
            caller: Some(Caller {
                user_id: owner,
                role: Role::Client,
                email: None,
            }),
            is_admin: false,
            is_super_admin: false,
            support: None,
        }
    }

    /// The signed-in user, if any.
    pub fn user_id(&self) -> Option<OwnerId> {
        self.caller.as_ref().map(|c| c.user_id)
    }

    /// The signed-in user whose workspace this call acts on; anonymous callers are refused.
    pub fn owner(&self) -> Result<OwnerId, AccessError> {
        self.user_id().ok_or(AccessError::Unauthenticated)
    }
}

/// A list call as the API receives it: equality filters and an optional order column.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filters: Vec<(String, String)>,
    pub order: Option<(String, bool)>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Clone)]
pub struct Access {
    rows: Rows,
    clock: Arc<dyn Clock>,
    /// Seals the list cursors handed to clients (ADR 17).
    cursors: CursorSealer,
    /// Webhook URLs may point at plain http and private addresses (local development only).
    private_webhooks: bool,
    /// Lead and team-member events for the owners' webhooks (CRM sync).
    webhooks: Option<crate::webhooks::WebhookEmitter>,
    /// Seals the credentials clients write (`schema::SEALED_COLUMNS`).
    sealer: Option<Arc<dyn scaliyo_store::Sealer>>,
    /// Issues the e-mail of every invitation written (docs/invitations.md).
    invite_letters: Option<crate::invites::InviteLetters>,
}

/// The contacts counter of a workspace, kept in its partition beside its leads.
fn contacts_counter(owner: OwnerId) -> Key {
    Key::new(layout::owner_partition(owner), "counter#contacts")
}

impl Access {
    pub fn new(rows: Rows, clock: Arc<dyn Clock>) -> Self {
        Self {
            rows,
            clock,
            cursors: CursorSealer::ephemeral(),
            private_webhooks: false,
            webhooks: None,
            sealer: None,
            invite_letters: None,
        }
    }

    /// Every invitation written is e-mailed through these.
    pub fn with_invite_letters(mut self, letters: Option<crate::invites::InviteLetters>) -> Self {
        self.invite_letters = letters;
        self
    }

    /// Seals list cursors under the deployment's key (`CURSOR_KEY`, or the local secrets
    /// directory), so that a cursor from one instance opens on another. Without it cursors
    /// open only in this process.
    pub fn with_cursor_key(mut self, secret: &[u8]) -> Self {
        self.cursors = CursorSealer::new(secret);
        self
    }

    /// Local development: webhooks may deliver to http:// and private addresses (a receiver
    /// on this machine). Never in production (SSRF).
    /// Credentials written through the data API are sealed with this key.
    pub fn with_sealer(mut self, sealer: Option<Arc<dyn scaliyo_store::Sealer>>) -> Self {
        self.sealer = sealer;
        self
    }

    /// Lead and team-member changes go to the owners' webhooks.
    pub fn with_webhooks(mut self, webhooks: Option<crate::webhooks::WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn allowing_private_webhooks(mut self) -> Self {
        self.private_webhooks = true;
        self
    }

    /// Row access over a store, with one clock for both.
    pub fn over(store: Arc<dyn scaliyo_store::Table>, clock: Arc<dyn Clock>) -> Self {
        Self::new(Rows::new(store, clock.clone()), clock)
    }

    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// A table named by the caller (a request path, a foreign key): unknown names are a 404.
    pub(super) fn table(name: &str) -> Result<&'static Table, AccessError> {
        schema::table(name).ok_or_else(not_found)
    }
}
