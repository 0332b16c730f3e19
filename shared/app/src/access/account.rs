//! Deleting a whole account: its partition and every row of it kept elsewhere.

use super::*;

impl Access {
    /// Deletes the items of `owner` kept under keys of their own (see `references`).
    pub(super) async fn delete_outside_partition(&self, owner: OwnerId) -> Result<(), AccessError> {
        let store = self.rows.store().clone();
        let partition = layout::owner_partition(owner);
        let mut cursor = None;
        loop {
            let page = store
                .query(
                    scaliyo_store::Query::partition(scaliyo_store::Index::Table, partition.clone())
                        .limit(200)
                        .after(cursor.take()),
                )
                .await
                .map_err(RowError::from)?;
            let mut outside = Vec::new();
            for item in &page.items {
                outside.extend(crate::references::referenced(item));
                let id = item.str("id").unwrap_or_default();
                match item.str(layout::TABLE_ATTR) {
                    Some("social_accounts") => {
                        outside.push(Key::new(format!("SOCIALTOKEN#{id}"), "R"));
                    }
                    Some("webhooks") => {
                        let mut after = None;
                        loop {
                            let deliveries = store
                                .query(
                                    scaliyo_store::Query::partition(
                                        scaliyo_store::Index::Table,
                                        format!("WH#{id}"),
                                    )
                                    .after(after.take()),
                                )
                                .await
                                .map_err(RowError::from)?;
                            for delivery in &deliveries.items {
                                outside.push(delivery.key().map_err(RowError::from)?);
                            }
                            match deliveries.next {
                                Some(next) => after = Some(next),
                                None => break,
                            }
                        }
                    }
                    _ => {}
                }
            }
            crate::references::delete_all(store.as_ref(), outside)
                .await
                .map_err(RowError::from)?;
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deletes the caller's account: the profile and, through every ON DELETE action, all
    /// rows keyed to the user; then whatever remains in the user's partition.
    pub async fn delete_account(&self, actor: &Actor) -> Result<(), AccessError> {
        let owner = actor.owner()?;
        let user = owner.to_string();
        // First what lives outside the partition but is found from it: tracking tokens and
        // webhook URLs (reference items), social token reminders and webhook deliveries
        // (keyed by rows' ids) — before the cascades delete the rows that name them.
        self.delete_outside_partition(owner).await?;
        let profiles = &schema::PROFILES;
        match self.rows.delete(profiles, Some(&user), &user).await {
            Ok(()) | Err(RowError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        // Rows keyed to auth.users when no profile existed, and counters.
        for (child, fk) in schema::referencing(schema::AUTH_USERS) {
            if child.name == "profiles" {
                continue;
            }
            self.rows.apply_on_delete(child, fk, &user).await?;
        }
        let partition = layout::owner_partition(owner);
        loop {
            let page = self
                .rows
                .store()
                .query(
                    scaliyo_store::Query::partition(scaliyo_store::Index::Table, partition.clone())
                        .limit(100),
                )
                .await
                .map_err(RowError::from)?;
            if page.items.is_empty() {
                break;
            }
            let mut batch = Vec::new();
            for item in &page.items {
                batch.push(scaliyo_store::BatchOp::Delete(
                    item.key().map_err(RowError::from)?,
                ));
            }
            self.rows
                .store()
                .batch_write(batch)
                .await
                .map_err(RowError::from)?;
        }
        Ok(())
    }
}
