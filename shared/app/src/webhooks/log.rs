//! The delivery log through the API: read, and a delivery sent again.

use super::*;

#[derive(Clone)]
pub struct WebhookLog {
    access: Arc<Access>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl WebhookLog {
    pub fn new(access: Arc<Access>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            access,
            queue,
            clock,
        }
    }

    /// The newest deliveries of a webhook the caller can see.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        webhook_id: &str,
    ) -> Result<Vec<Delivery>, WebhookError> {
        self.access.get(actor, "webhooks", webhook_id).await?;
        let page = self
            .access
            .rows()
            .store()
            .query(
                Query::partition(scaliyo_store::Index::Table, format!("WH#{webhook_id}"))
                    .sort(SortCondition::BeginsWith("D#".into()))
                    .backward()
                    .limit(LOG_PAGE),
            )
            .await?;
        let now = self.clock.now().timestamp();
        Ok(page
            .items
            .iter()
            .filter(|i| !i.is_expired(now))
            .map(Delivery::from_item)
            .collect())
    }

    /// Sends a delivery again now (its attempts continue in the same log).
    pub async fn redeliver(
        &self,
        actor: &Actor,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery, WebhookError> {
        let webhook = self.access.get(actor, "webhooks", webhook_id).await?;
        let owner = crate::rows::owner_in(&webhook, "owner_id")?;
        let store = self.access.rows().store();
        let key = delivery_key(webhook_id, delivery_id);
        let item = store
            .update(
                &key,
                Update::new()
                    .set("status", "pending")
                    .remove("next_attempt_at"),
                Some(Condition::item_exists()),
            )
            .await
            .map_err(|e| match e {
                StoreError::ConditionFailed { .. } => WebhookError::from(RowError::NotFound),
                other => other.into(),
            })?;
        let message = WebhookMessage::Deliver {
            owner,
            webhook_id: webhook_id.to_owned(),
            delivery_id: delivery_id.to_owned(),
        };
        self.queue
            .send_batch(vec![OutgoingMessage::new(
                serde_json::to_string(&message).unwrap_or_default(),
            )])
            .await?;
        Ok(Delivery::from_item(&item))
    }
}
