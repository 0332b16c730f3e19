//! The invitation e-mails: issuing one (a token whose hash leads back to the invitation, and
//! a message on the e-mail queue) where the invitation is written, and delivering it where
//! the mailers are.

use scaliyo_domain::invites::{InviteLetter, RESEND_INTERVAL_MINUTES};
use scaliyo_store::{Condition, Item, OutgoingMessage, Queue, StoreError, Table as Store, Update};
use sha2::{Digest, Sha256};

use super::*;
use crate::send::Notice;

/// How long a token item is kept after the invitation could last be answered.
const TOKEN_DAYS: i64 = 31;

/// The queue message that asks for one invitation e-mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LetterMessage {
    pub invite_letter: Letter,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Letter {
    pub kind: InviteKind,
    pub id: String,
    /// The partition of the invitation's row (a guest contributor's inviter).
    pub partition: Option<String>,
    /// The link's secret; only its hash is stored.
    pub token: String,
}

impl LetterMessage {
    /// The message, if `body` is one (the e-mail queue carries scheduled sends too).
    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn token_key(token: &str) -> Key {
    Key::new(format!("invtok#{}", token_hash(token)), "invite")
}

fn letter_key(kind: InviteKind, id: &str) -> Key {
    Key::new(format!("invmail#{}#{id}", kind.as_str()), "invite")
}

/// Issues invitation e-mails: held by the row layer, which issues one for every invitation
/// written through it.
#[derive(Clone)]
pub struct InviteLetters {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl InviteLetters {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            queue,
            clock,
        }
    }

    /// Issues the e-mail of the invitation in `row`: refused when the last one went out less
    /// than the resend interval ago (a new invitation has none).
    pub async fn issue(&self, kind: InviteKind, row: &Row) -> Result<(), InviteError> {
        let id = text(row, "id").ok_or_else(|| invalid("id", "the invitation has no id"))?;
        let now = self.clock.now();
        let earliest = (now - chrono::Duration::minutes(RESEND_INTERVAL_MINUTES)).timestamp();
        let keep_until = (now + chrono::Duration::days(TOKEN_DAYS)).timestamp();
        let stamp = Update::new()
            .set("sent_at", now.timestamp())
            .set(scaliyo_store::table::TTL, keep_until);
        let spaced = Condition::NotExists("sent_at".into()).or(Condition::cmp(
            "sent_at",
            scaliyo_store::CmpOp::Le,
            earliest,
        ));
        match self
            .store
            .update(&letter_key(kind, &id), stamp, Some(spaced))
            .await
        {
            Ok(_) => {}
            Err(StoreError::ConditionFailed { .. }) => {
                return Err(InviteError::TooSoon {
                    minutes: RESEND_INTERVAL_MINUTES,
                });
            }
            Err(e) => return Err(e.into()),
        }
        let token = crate::tokens::random_url_token::<32>();
        let partition = partition_of(kind, row);
        let mut pointer = Item::new(&token_key(&token))
            .with("kind", kind.as_str())
            .with("id", id.clone())
            .with(scaliyo_store::table::TTL, keep_until);
        if let Some(partition) = &partition {
            pointer = pointer.with("partition", partition.clone());
        }
        self.store
            .transact_write(vec![scaliyo_store::WriteOp::put(pointer)])
            .await?;
        let message = LetterMessage {
            invite_letter: Letter {
                kind,
                id,
                partition,
                token,
            },
        };
        let body = serde_json::to_string(&message)
            .map_err(|e| invalid("invite", format!("the message could not be written: {e}")))?;
        self.queue
            .send_batch(vec![OutgoingMessage::new(body)])
            .await?;
        Ok(())
    }

    /// The invitation a token leads to: its kind, id and partition.
    pub(super) async fn find(
        &self,
        token: &str,
    ) -> Result<Option<(InviteKind, String, Option<String>)>, InviteError> {
        let Some(item) = self.store.get(&token_key(token)).await? else {
            return Ok(None);
        };
        let kind = InviteKind::ALL
            .into_iter()
            .find(|k| item.str("kind") == Some(k.as_str()));
        Ok(match (kind, item.str("id")) {
            (Some(kind), Some(id)) => Some((
                kind,
                id.to_owned(),
                item.str("partition").map(str::to_owned),
            )),
            _ => None,
        })
    }
}

impl Invitations {
    /// E-mails a pending team or flow invitation again, for whoever may invite to its team
    /// or board; refused inside the resend interval.
    pub async fn resend(&self, actor: &Actor, id: &str) -> Result<PendingInvite, InviteError> {
        for kind in [InviteKind::Team, InviteKind::Flow] {
            let table = table_of(kind);
            let Some(row) = self.access.rows().get(table, None, id).await? else {
                continue;
            };
            let may_invite = self
                .access
                .allows(actor, table, scaliyo_domain::schema::Op::Insert, &row)
                .await?;
            if !may_invite {
                break;
            }
            if crate::rows::field(&row, "status").as_str() != Some(kind.pending_status()) {
                return Err(InviteError::Answered);
            }
            self.letters.issue(kind, &row).await?;
            let name = self.target_name(kind, &row).await?;
            return Ok(describe(kind, &row, name));
        }
        Err(AccessError::Row(crate::rows::RowError::NotFound).into())
    }

    /// Sends the e-mail a message asks for, once (a redelivered message finds its send
    /// done). An invitation answered or deleted since is not mailed.
    pub async fn deliver(&self, message: &LetterMessage) -> Result<bool, InviteError> {
        let letter = &message.invite_letter;
        let Some(send) = &self.send else {
            return Err(invalid("invite", "this function does not send e-mail"));
        };
        let rows = self.access.rows();
        let table = table_of(letter.kind);
        let Some(row) = rows
            .get(table, letter.partition.as_deref(), &letter.id)
            .await?
        else {
            return Ok(false);
        };
        if crate::rows::field(&row, "status").as_str() != Some(letter.kind.pending_status()) {
            return Ok(false);
        }
        let Some(inviter) = inviter_of(letter.kind, &row) else {
            return Ok(false);
        };
        let to_email = text(&row, "email").unwrap_or_default();
        if !to_email.contains('@') {
            return Ok(false);
        }
        let inviter_name = rows
            .get(
                &schema::PROFILES,
                Some(&inviter.to_string()),
                &inviter.to_string(),
            )
            .await?
            .and_then(|p| {
                text(&p, "name")
                    .filter(|n| !n.trim().is_empty())
                    .or(text(&p, "email"))
            })
            .unwrap_or_else(|| "A Scaliyo user".to_owned());
        let target_name = self.target_name(letter.kind, &row).await?;
        let link = format!(
            "{}{}token={}",
            self.config.accept_url,
            if self.config.accept_url.contains('?') {
                "&"
            } else {
                "?"
            },
            letter.token
        );
        let role = text(&row, "role");
        let composed = InviteLetter {
            kind: letter.kind,
            target_name: target_name.as_deref(),
            inviter_name: &inviter_name,
            role: role.as_deref(),
            link: &link,
            expires_at: deadline(letter.kind, &row),
        };
        let subject = composed.subject();
        let html = composed.html();
        let key = format!("invite:{}", &token_hash(&letter.token)[..32]);
        let sent = send
            .send_notice(
                inviter,
                Notice {
                    to_email: &to_email,
                    to_name: None,
                    subject: &subject,
                    html: &html,
                },
                &key,
                chrono::Duration::minutes(5),
            )
            .await;
        match sent {
            Ok(_) => {}
            // Nothing to send it with (no sender in the workspace, no system sender in the
            // deployment): retrying would not help; the inviter sees no e-mail and may share
            // the invitation otherwise — the invitee finds it in GET /v1/invites.
            Err(crate::send::SendError::NoSender(reason)) => {
                tracing::warn!(invite = %letter.id, %reason, "invitation not e-mailed: no sender");
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(kind = letter.kind.as_str(), invite = %letter.id, "invitation e-mailed");
        Ok(true)
    }

    /// The team's or the board's name.
    pub(super) async fn target_name(
        &self,
        kind: InviteKind,
        row: &Row,
    ) -> Result<Option<String>, InviteError> {
        let (table, column) = match kind {
            InviteKind::Team => (&schema::TEAMS, "team_id"),
            InviteKind::Flow => (&schema::TEAMHUB_BOARDS, "flow_id"),
            InviteKind::GuestContributor => return Ok(None),
        };
        let Some(id) = text(row, column) else {
            return Ok(None);
        };
        Ok(self
            .access
            .rows()
            .get(table, None, &id)
            .await?
            .and_then(|target| text(&target, "name")))
    }
}
