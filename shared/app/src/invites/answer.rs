//! Answering an invitation: by its id (the signed-in invitee) or by the e-mailed token.
//! Accepting creates the team or flow membership with the invitation's role in the same
//! transaction that marks it accepted; nothing the invitee sends chooses the role.

use scaliyo_domain::schema::Op;
use scaliyo_store::{Condition, Update, WriteOp};

use super::pending::invitee_email;
use super::*;
use crate::rows::{Extra, RowError};

/// The `on_failure` of the invitation's own update in the answering transaction.
const ANSWERED_COLUMN: &str = "invite_status";

/// What the invitee does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

/// The outcome of an answer, for the client.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    pub invite: PendingInvite,
    pub status: &'static str,
    /// The membership row accepting created (team_members or teamhub_flow_members).
    pub membership: Option<Value>,
}

impl Invitations {
    /// Answers the team or flow invitation `id` as the signed-in invitee.
    pub async fn answer(
        &self,
        actor: &Actor,
        id: &str,
        answer: Answer,
    ) -> Result<Answered, InviteError> {
        let email = invitee_email(actor)?;
        for kind in [InviteKind::Team, InviteKind::Flow] {
            if let Some(row) = self.access.rows().get(table_of(kind), None, id).await? {
                if !same_address(&row, &email) {
                    break;
                }
                return self.answer_row(actor, kind, row, answer).await;
            }
        }
        Err(AccessError::Row(RowError::NotFound).into())
    }

    /// Answers the invitation an e-mailed token leads to. A team or flow invitation still
    /// needs its invitee signed in; a guest contributor (who may have no account) needs the
    /// token only.
    pub async fn answer_token(
        &self,
        actor: &Actor,
        token: &str,
        answer: Answer,
    ) -> Result<Answered, InviteError> {
        if token.is_empty() || token.len() > 128 {
            return Err(invalid("token", "not an invitation token"));
        }
        let Some((kind, id, partition)) = self.letters.find(token).await? else {
            return Err(AccessError::Row(RowError::NotFound).into());
        };
        let Some(row) = self
            .access
            .rows()
            .get(table_of(kind), partition.as_deref(), &id)
            .await?
        else {
            return Err(AccessError::Row(RowError::NotFound).into());
        };
        if kind != InviteKind::GuestContributor && !same_address(&row, &invitee_email(actor)?) {
            return Err(AccessError::Row(RowError::NotFound).into());
        }
        self.answer_row(actor, kind, row, answer).await
    }

    async fn answer_row(
        &self,
        actor: &Actor,
        kind: InviteKind,
        row: Row,
        answer: Answer,
    ) -> Result<Answered, InviteError> {
        if crate::rows::field(&row, "status").as_str() != Some(kind.pending_status()) {
            return Err(InviteError::Answered);
        }
        if deadline(kind, &row).is_some_and(|d| d <= self.clock.now()) {
            return Err(InviteError::Expired);
        }
        let key = key_of(kind, &row)?;
        let still_pending =
            Condition::item_exists().and(Condition::eq("status", kind.pending_status()));
        let target_name = self.target_name(kind, &row).await?;
        let described = describe(kind, &row, target_name);
        let status = match answer {
            Answer::Accept => kind.accepted_status(),
            Answer::Decline => kind.declined_status().unwrap_or("declined"),
        };
        let mark = |status: &str| WriteOp::Update {
            key: key.clone(),
            update: Update::new().set("status", status).add("_v", 1),
            condition: Some(still_pending.clone()),
        };
        let store = self.access.rows().store().clone();
        let membership = match (answer, kind) {
            (Answer::Accept, InviteKind::Team | InviteKind::Flow) => {
                Some(self.join(actor, kind, &row, mark(status)).await?)
            }
            (Answer::Decline, InviteKind::Flow) => {
                // The seed's flow invitations have no declined state: declining removes it.
                let removal = WriteOp::Delete {
                    key: key.clone(),
                    condition: Some(still_pending.clone()),
                };
                commit(&store, removal).await?;
                None
            }
            _ => {
                commit(&store, mark(status)).await?;
                None
            }
        };
        tracing::info!(kind = kind.as_str(), invite = %described.id, status, "invitation answered");
        Ok(Answered {
            invite: described,
            status,
            membership,
        })
    }

    /// The membership row accepting creates, with the invitation's update in its transaction.
    async fn join(
        &self,
        actor: &Actor,
        kind: InviteKind,
        invite: &Row,
        accepted: WriteOp,
    ) -> Result<Value, InviteError> {
        let user = actor
            .user_id()
            .ok_or(InviteError::Access(AccessError::Unauthenticated))?;
        let (table, target_column) = match kind {
            InviteKind::Team => (&schema::TEAM_MEMBERS, "team_id"),
            _ => (&schema::TEAMHUB_FLOW_MEMBERS, "flow_id"),
        };
        let mut input = Row::new();
        input.insert(
            target_column.into(),
            crate::rows::field(invite, target_column).clone(),
        );
        input.insert("user_id".into(), json!(user));
        input.insert("role".into(), crate::rows::field(invite, "role").clone());
        let rows = self.access.rows();
        let member = rows.prepare(table, input)?;
        // An invitation grants only what its inviter could still grant now: someone removed
        // from the team (or no longer a flow admin) cannot let people in through an invitation
        // sent before.
        let inviter = inviter_of(kind, invite).ok_or(InviteError::Revoked)?;
        if !self
            .access
            .allows(&Actor::acting_for(inviter), table, Op::Insert, &member)
            .await?
        {
            return Err(InviteError::Revoked);
        }
        let mut extra = vec![Extra {
            op: accepted,
            on_failure: RowError::Invalid {
                column: ANSWERED_COLUMN.into(),
                reason: "answered".into(),
            },
        }];
        if kind == InviteKind::Team {
            let details =
                json!({ "invite_id": crate::rows::field(invite, "id"), "role": member["role"] });
            extra.extend(self.access.audit_ops(
                actor,
                crate::rows::field(invite, "team_id").as_str(),
                "team.invite_accepted",
                details,
            )?);
        }
        let created = match rows.insert(table, None, member, extra).await {
            Ok(created) => created,
            Err(RowError::Conflict { .. }) => return Err(InviteError::AlreadyMember),
            Err(RowError::Invalid { column, .. }) if column == ANSWERED_COLUMN => {
                return Err(InviteError::Answered);
            }
            Err(e) => return Err(e.into()),
        };
        self.access.member_added(table, &created).await;
        Ok(Value::Object(created))
    }
}

fn same_address(row: &Row, email: &str) -> bool {
    crate::rows::field(row, "email")
        .as_str()
        .is_some_and(|invited| invited.trim().eq_ignore_ascii_case(email.trim()))
}

async fn commit(store: &Arc<dyn scaliyo_store::Table>, op: WriteOp) -> Result<(), InviteError> {
    match store.transact_write(vec![op]).await {
        Ok(()) => Ok(()),
        Err(scaliyo_store::StoreError::ConditionFailed { .. }) => Err(InviteError::Answered),
        Err(e) => Err(e.into()),
    }
}
