//! What is waiting for the signed-in invitee: their pending team and flow invitations, found
//! by the address on their token (any case).

use scaliyo_domain::schema::KeyPart;

use super::*;
use crate::rows::ListRequest;

/// The most invitations of one kind listed (an address invited more often is abuse).
const MOST: u32 = 100;

impl Invitations {
    pub async fn pending(&self, actor: &Actor) -> Result<Vec<PendingInvite>, InviteError> {
        let email = invitee_email(actor)?;
        let now = self.clock.now();
        let mut found = Vec::new();
        for kind in [InviteKind::Team, InviteKind::Flow] {
            let table = table_of(kind);
            let Some(index) = crate::layout::layout(table.name).and_then(|l| {
                l.indexes
                    .iter()
                    .find(|i| i.equality.as_slice() == [KeyPart::Lower("email")])
            }) else {
                continue;
            };
            let page = self
                .access
                .rows()
                .list(
                    table,
                    None,
                    ListRequest {
                        index: Some(index.name.clone()),
                        equals: vec![email.to_lowercase()],
                        limit: MOST,
                        ..ListRequest::default()
                    },
                )
                .await?;
            for row in page.rows {
                let waiting = crate::rows::field(&row, "status").as_str()
                    == Some(kind.pending_status())
                    && deadline(kind, &row).is_none_or(|d| d > now);
                if waiting {
                    let name = self.target_name(kind, &row).await?;
                    found.push(describe(kind, &row, name));
                }
            }
        }
        Ok(found)
    }
}

/// The signed-in caller's e-mail address (the token's `email` claim).
pub(super) fn invitee_email(actor: &Actor) -> Result<String, InviteError> {
    let caller = actor
        .caller
        .as_ref()
        .ok_or(InviteError::Access(AccessError::Unauthenticated))?;
    caller
        .email
        .clone()
        .filter(|e| e.contains('@'))
        .ok_or_else(|| invalid("email", "your sign-in carries no e-mail address"))
}
