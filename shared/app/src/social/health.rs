//! Token health of social accounts: expired, expiring soon, or marked for reconnection by
//! a publish that was refused — shown by the API and announced once per expiry as a
//! `social.token_expiring` webhook event.

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_store::Item;
use serde::Serialize;
use serde_json::json;

use super::parse_time;
use crate::rows::timestamp_text;
use crate::webhooks::WebhookEmitter;

/// Why a publish was refused in a way only a reconnect fixes (internal attribute of the
/// account).
pub(crate) const RECONNECT: &str = "_reconnect";

/// The update that marks an account for reconnection, with why (at most 500 characters).
pub(crate) fn reconnect_mark(reason: &str) -> scaliyo_store::Update {
    scaliyo_store::Update::new().set(RECONNECT, reason.chars().take(500).collect::<String>())
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccountHealth {
    pub id: String,
    pub provider: String,
    pub label: Option<String>,
    pub token_expires_at: Option<String>,
    pub expired: bool,
    pub expiring_soon: bool,
    pub needs_reconnect: bool,
    pub reason: Option<String>,
}

pub(crate) fn health_of(item: &Item, now: DateTime<Utc>, warning: Duration) -> AccountHealth {
    let expires = parse_time(item, "token_expires_at");
    let expired = expires.is_some_and(|t| t <= now);
    let expiring_soon = !expired && expires.is_some_and(|t| t <= now + warning);
    let reconnect = item.str(RECONNECT).map(str::to_owned);
    let label = [
        "meta_page_name",
        "linkedin_org_name",
        "meta_ig_username",
        "linkedin_member_urn",
    ]
    .iter()
    .find_map(|c| item.str(c))
    .map(str::to_owned);
    let reason = if let Some(reason) = &reconnect {
        Some(format!("a publish was refused: {reason}"))
    } else if expired {
        Some("the token has expired".to_owned())
    } else if expiring_soon {
        Some("the token expires within a week".to_owned())
    } else {
        None
    };
    AccountHealth {
        id: item.str("id").unwrap_or_default().to_owned(),
        provider: item.str("provider").unwrap_or_default().to_owned(),
        label,
        token_expires_at: item.str("token_expires_at").map(str::to_owned),
        expired,
        expiring_soon,
        needs_reconnect: reconnect.is_some() || expired,
        reason,
    }
}

/// `social.token_expiring` for an account whose token expires within the warning period
/// (or has expired). Once per account and expiry: the event id is derived from both, so
/// the ticks and health reads that see it again deliver nothing new.
pub(crate) async fn warn_if_expiring(
    webhooks: Option<&WebhookEmitter>,
    warning: Duration,
    owner: OwnerId,
    account: &Item,
    now: DateTime<Utc>,
) {
    let Some(webhooks) = webhooks else {
        return;
    };
    let Some(expires) = parse_time(account, "token_expires_at") else {
        return;
    };
    if expires > now + warning {
        return;
    }
    let id = account.str("id").unwrap_or_default();
    let health = health_of(account, now, warning);
    let data = json!({
        "account_id": id,
        "provider": health.provider,
        "label": health.label,
        "token_expires_at": health.token_expires_at,
        "expired": health.expired,
    });
    let subject = format!("{id}:{}", timestamp_text(expires));
    webhooks
        .emit(owner, "social.token_expiring", &subject, data)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_health_reads_expiry_and_reconnect_marks() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let key = scaliyo_store::Key::new("U#u", "social_accounts#a");
        let soon = Item::new(&key)
            .with("id", "a")
            .with("provider", "meta")
            .with("token_expires_at", "2026-12-01T00:00:00.000000Z");
        let health = health_of(&soon, now, Duration::days(7));
        assert!(health.expiring_soon && !health.expired && !health.needs_reconnect);
        let refused = soon
            .clone()
            .with(RECONNECT, "token_expired: Session has expired");
        assert!(health_of(&refused, now, Duration::days(7)).needs_reconnect);
    }
}
