//! Finding a workspace's lead by what an outside message knows of it: its e-mail address.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;

use crate::rows::{Row, RowError, Rows};

/// The owner's lead whose `primary_email` is `email` (case-insensitive: the seed's
/// `idx_leads_client_email` unique index on `lower(primary_email)`).
pub async fn by_email(rows: &Rows, owner: OwnerId, email: &str) -> Result<Option<Row>, RowError> {
    let Some(unique) = schema::LEADS
        .uniques
        .iter()
        .find(|u| u.name == "idx_leads_client_email")
    else {
        return Ok(None);
    };
    let mut values = Row::new();
    values.insert("client_id".into(), serde_json::json!(owner));
    values.insert("primary_email".into(), serde_json::json!(email.trim()));
    rows.find_unique_of(&schema::LEADS, unique, &values, owner)
        .await
}
