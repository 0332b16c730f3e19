//! Stripe's webhook events: verified against the endpoint secret, each applied once (a
//! marker in the same transaction), the subscription re-read from Stripe rather than taken
//! from the event (events arrive late, twice and out of order).

use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Item, Key, PaymentError, StoreError, WriteOp};
use serde_json::Value;

use super::received::{self, Received, StripeEvent};
use super::{Billing, BillingError};
use crate::layout;
use crate::rows::RowError;

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    Applied,
    /// Already applied: a redelivery.
    Duplicate,
    /// Not an event about our subscriptions (recorded, so its redelivery is a duplicate).
    Ignored,
}

/// What an event asks us to do.
enum Work {
    /// Re-read this subscription and apply it; `hint` names the user when the subscription
    /// may not carry it yet; `period` is a paid invoice's period start (credits reset once).
    Sync {
        subscription: String,
        hint: Option<OwnerId>,
        period: Option<i64>,
    },
    Nothing,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn work_of(event: &StripeEvent) -> Work {
    let object = &event.data.object;
    let subscription_of_invoice = || {
        text(&object["subscription"])
            .or_else(|| text(&object["parent"]["subscription_details"]["subscription"]))
    };
    let sync = |subscription: Option<String>, hint: Option<OwnerId>, period: Option<i64>| {
        match subscription {
            Some(subscription) => Work::Sync {
                subscription,
                hint,
                period,
            },
            None => Work::Nothing,
        }
    };
    match event.event_type.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
            if object["mode"] == "subscription" =>
        {
            let hint = text(&object["client_reference_id"]).and_then(|u| u.parse().ok());
            sync(text(&object["subscription"]), hint, None)
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => sync(text(&object["id"]), None, None),
        "invoice.paid" => {
            let period = object["lines"]["data"][0]["period"]["start"]
                .as_i64()
                .or(object["period_start"].as_i64());
            sync(subscription_of_invoice(), None, period)
        }
        "invoice.payment_failed" => sync(subscription_of_invoice(), None, None),
        _ => Work::Nothing,
    }
}

impl Billing {
    /// `POST /webhooks/stripe`: the raw body as Stripe sent it and its `Stripe-Signature`.
    /// Without a configured secret every event is refused (fail closed). An error answers
    /// 5xx, so Stripe retries; a duplicate or an ignored event answers 200.
    pub async fn apply_event(&self, signature: &str, body: &[u8]) -> Result<Applied, BillingError> {
        let store = self.access.rows().store();
        let received = received::receive(
            store,
            self.config.webhook_secret.as_deref(),
            signature,
            body,
            self.clock.now(),
        )
        .await?;
        let Received::New { event, marker } = received else {
            return Ok(Applied::Duplicate);
        };
        let Work::Sync {
            subscription,
            hint,
            period,
        } = work_of(&event)
        else {
            return match store.transact_write(vec![marker]).await {
                Ok(()) => Ok(Applied::Ignored),
                Err(StoreError::ConditionFailed { .. }) => Ok(Applied::Duplicate),
                Err(e) => Err(e.into()),
            };
        };
        for _ in 0..3 {
            let mut ops = vec![marker.clone()];
            let (applied, owner) = self.sync_subscription(&subscription, hint, period).await?;
            ops.extend(applied);
            match store.transact_write(ops).await {
                Ok(()) => {
                    tracing::info!(event_type = %event.event_type, owner = ?owner.map(|o| o.to_string()), "stripe event applied");
                    return Ok(Applied::Applied);
                }
                Err(StoreError::ConditionFailed { index: Some(0) }) => {
                    return Ok(Applied::Duplicate);
                }
                // Another event changed the rows meanwhile: read again.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RowError::Concurrent.into())
    }

    /// The actions that apply the subscription as Stripe has it now (and, for a paid
    /// invoice's new period, the credits reset once per period).
    pub(super) async fn sync_subscription(
        &self,
        subscription: &str,
        hint: Option<OwnerId>,
        period: Option<i64>,
    ) -> Result<(Vec<WriteOp>, Option<OwnerId>), BillingError> {
        let read_at = self.clock.now().timestamp_millis();
        let remote = match self.payments()?.subscription(subscription).await {
            Ok(remote) => remote,
            // Deleted in test mode, or another account's: nothing of ours to change.
            Err(PaymentError::NotFound) => return Ok((Vec::new(), None)),
            Err(e) => return Err(e.into()),
        };
        let store = self.access.rows().store();
        let probe_owner = remote
            .user_id
            .as_deref()
            .and_then(|u| u.parse::<OwnerId>().ok())
            .or(hint);
        let period_marker = match (period, probe_owner) {
            (Some(start), Some(owner)) => {
                let key = Key::new(
                    layout::owner_partition(owner),
                    format!("billing#period#{start}"),
                );
                store.get(&key).await?.is_none().then_some(key)
            }
            _ => None,
        };
        let Some((owner, mut ops)) = self
            .sync_ops(&remote, read_at, hint, period_marker.is_some())
            .await?
        else {
            return Ok((Vec::new(), None));
        };
        // The period's marker goes with the reset it guards (no actions: a later read was
        // already applied, and the reset waits for the next event of the period).
        if let Some(key) = period_marker
            && !ops.is_empty()
        {
            ops.push(WriteOp::put_new(Item::new(&key)));
        }
        Ok((ops, Some(owner)))
    }
}
