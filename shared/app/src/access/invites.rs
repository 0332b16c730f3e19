//! Invitations written through the data API: the invitee's address kept in one form, a
//! second invitation of the same address renewing the first, and the e-mail of each.

use scaliyo_domain::invites::InviteKind;
use scaliyo_store::{Condition, Update, WriteOp};

use super::*;

impl Access {
    /// An invitee's address is kept trimmed and in lower case: one address, one invitation
    /// (the seed's unique constraint compares it as written).
    pub(super) fn normalise_invitee(table: &Table, input: &mut Row) {
        if InviteKind::of_table(table.name).is_none() {
            return;
        }
        if let Some(Value::String(email)) = input.get_mut("email") {
            *email = email.trim().to_lowercase();
        }
    }

    /// Inviting an address that has an unanswered (or declined) invitation renews that one —
    /// the new role and inviter, a fresh expiry — and e-mails it again, instead of a
    /// conflict. An accepted invitation stays a conflict (the member is there).
    pub(super) async fn renew_invite(
        &self,
        actor: &Actor,
        table: &'static Table,
        row: &Row,
    ) -> Result<Option<Row>, AccessError> {
        let kind = match InviteKind::of_table(table.name) {
            Some(kind @ (InviteKind::Team | InviteKind::Flow)) => kind,
            _ => return Ok(None),
        };
        let Some(unique) = table.uniques.first() else {
            return Ok(None);
        };
        let Some(existing) = self.rows.find_unique(table, unique, row).await? else {
            return Ok(None);
        };
        if crate::rows::field(&existing, "status").as_str() == Some(kind.accepted_status()) {
            return Ok(None);
        }
        let id = crate::rows::field(&existing, "id")
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let text = |column: &str| {
            crate::rows::field(row, column)
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let mut update = Update::new()
            .set("status", kind.pending_status())
            .set("role", text("role"))
            .set("invited_by", text("invited_by"))
            .set("created_at", text("created_at"))
            .add("_v", 1);
        if kind == InviteKind::Team {
            update = update.set("expires_at", text("expires_at"));
        }
        let key = layout::row_key(table, None, &id);
        let mut ops = vec![WriteOp::Update {
            key,
            update,
            condition: Some(Condition::item_exists().and(Condition::cmp(
                "status",
                scaliyo_store::CmpOp::Ne,
                kind.accepted_status(),
            ))),
        }];
        ops.extend(
            self.audit_write(actor, table, Op::Insert, row)?
                .into_iter()
                .map(|extra| extra.op),
        );
        match self.rows.store().transact_write(ops).await {
            Ok(()) => {}
            Err(scaliyo_store::StoreError::ConditionFailed { .. }) => return Ok(None),
            Err(e) => return Err(AccessError::Row(e.into())),
        }
        let renewed = self
            .rows
            .get(table, None, &id)
            .await?
            .ok_or(AccessError::Row(RowError::NotFound))?;
        tracing::info!(table = table.name, invite = %id, "invitation renewed");
        self.letter_for(table, &renewed).await;
        Ok(Some(Self::redact(table, renewed)))
    }

    /// Issues the e-mail of an invitation just written; a failure (or a renewal inside the
    /// resend interval) is logged and never fails the write — the inviter may resend.
    pub(super) async fn letter_for(&self, table: &Table, row: &Row) {
        let (Some(letters), Some(kind)) = (&self.invite_letters, InviteKind::of_table(table.name))
        else {
            return;
        };
        if let Err(error) = letters.issue(kind, row).await {
            tracing::warn!(table = table.name, %error, "the invitation e-mail was not issued");
        }
    }

    /// A membership created by accepting an invitation reaches the owners' webhooks as one
    /// created through the data API would.
    pub(crate) async fn member_added(&self, table: &Table, row: &Row) {
        self.emit_created(table, row).await;
    }
}
