//! The `email_events` row, as tracking hits and provider events create it. A field left
//! `None` is not sent, so the column's default applies (`id`, `created_at`, `is_bot`).

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, Default)]
pub(crate) struct EmailEventRow<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_id: Option<&'a str>,
    pub event_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_bot: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_apple_privacy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}
