//! Credentials clients write through the data API (`integrations.credentials`,
//! `email_provider_configs.api_key`) are sealed as they arrive, with the deployment's key:
//! stored encrypted, never returned (they are write-only secrets too).

use super::*;

impl Access {
    /// Seals the sealed-at-rest columns of a row or patch in place. Without a sealer (a test
    /// wiring the store alone) the values are kept as given.
    pub(super) async fn seal_at_rest(
        &self,
        table: &Table,
        row: &mut Row,
    ) -> Result<(), AccessError> {
        let Some(sealer) = &self.sealer else {
            return Ok(());
        };
        for (column, value) in row.iter_mut() {
            if !schema::is_sealed(table.name, column) || value.is_null() {
                continue;
            }
            // Credentials kept as JSON are sealed as their JSON text.
            let plain = match &*value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let sealed = sealer.seal(&plain).await.map_err(|e| {
                AccessError::Row(RowError::Store(scaliyo_store::StoreError::Unavailable(
                    format!("sealing {}.{column}: {e}", table.name),
                )))
            })?;
            *value = Value::String(sealed);
        }
        Ok(())
    }
}
