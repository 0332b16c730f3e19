//! The unsubscribe link: the recipient suppressed for the workspace that sent the message.

use super::*;

impl Tracking {
    /// Whether an unsubscribe token is known (the confirmation page shows only then).
    pub async fn unsubscribe_target(&self, token: &str) -> Result<Option<Arc<Token>>, RowError> {
        Ok(self
            .resolve(token)
            .await?
            .filter(|t| t.kind == "unsubscribe"))
    }

    /// One-click unsubscribe (RFC 8058): the address joins the workspace's suppression list
    /// and an `unsubscribe` event is recorded — once, however often it is posted.
    pub async fn unsubscribe(&self, token: &str, hit: Hit<'_>) -> Result<bool, RowError> {
        let Some(token) = self.unsubscribe_target(token).await? else {
            return Ok(false);
        };
        let Some(email) = token.email.clone() else {
            return Ok(false);
        };
        let entry = Item::new(&suppression_key(token.owner, &email))
            .with("reason", "unsubscribe")
            .with("message_id", token.message_id.as_str())
            .with("at", crate::rows::timestamp_text(self.clock.now()));
        match self
            .rows
            .store()
            .transact_write(vec![WriteOp::put_new(entry)])
            .await
        {
            Ok(()) => {
                let ops = self.event_ops(&token, "unsubscribe", &hit, None, None)?;
                self.rows.store().transact_write(ops).await?;
                let subject = format!("{}:unsubscribe", token.message_id);
                self.emit(
                    &token,
                    "email.unsubscribed",
                    Some(&subject),
                    None,
                    || json!({ "source": "one_click" }),
                )
                .await;
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }
}
