//! Stripe's view of a subscription applied to the stored rows: the `subscriptions` row, the
//! profile's plan kept in step, and the customer → user map. The provider's ids live on the
//! subscription item as internal attributes (the seed's row has no columns for them).

use scaliyo_domain::billing::{self, SubscriptionStatus};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::plans::Plan;
use scaliyo_domain::schema;
use scaliyo_store::{Item, Key, RemoteSubscription, Value as StoreValue, WriteOp};
use serde::Serialize;

use super::{Billing, BillingError};
use crate::rows::{Row, timestamp_text, to_row};

/// The customer at the provider.
pub(super) const CUSTOMER: &str = "_stripe_customer";
/// The subscription at the provider.
pub(super) const SUBSCRIPTION: &str = "_stripe_subscription";
/// When the applied state was read from the provider (epoch ms): events arrive out of order
/// and in parallel, so a state read earlier never overwrites one read later.
const READ_AT: &str = "_stripe_read_at";

/// `STRIPECUS#<customer>`: whose customer it is, for events that carry only the customer.
fn customer_key(customer: &str) -> Key {
    Key::new(format!("STRIPECUS#{customer}"), "STRIPECUS")
}

/// The columns Stripe decides.
#[derive(Serialize)]
struct SubscriptionColumns<'a> {
    plan: &'a str,
    plan_name: &'a str,
    status: &'a str,
    expires_at: Option<String>,
}

/// A new `subscriptions` row.
#[derive(Serialize)]
struct NewSubscription<'a> {
    user_id: OwnerId,
    #[serde(flatten)]
    columns: SubscriptionColumns<'a>,
}

/// The profile's columns that follow the subscription.
#[derive(Serialize)]
struct ProfilePlan<'a> {
    plan: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    credits_used: Option<i64>,
}

impl Billing {
    /// The user's subscription item, if any.
    pub(super) async fn subscription_item(
        &self,
        owner: OwnerId,
    ) -> Result<Option<Item>, BillingError> {
        let table = &schema::SUBSCRIPTIONS;
        let unique = crate::usage::unique(table, "subscriptions_user_id_key")?;
        let mut probe = Row::new();
        probe.insert("user_id".into(), serde_json::json!(owner));
        Ok(self.access.rows().find_unique_raw(unique, &probe).await?)
    }

    /// Whose subscription it is: the `user_id` set at checkout, else the caller's hint (a
    /// checkout session's `client_reference_id`), else the customer's owner.
    async fn owner_of(
        &self,
        remote: &RemoteSubscription,
        hint: Option<OwnerId>,
    ) -> Result<Option<OwnerId>, BillingError> {
        if let Some(owner) = remote.user_id.as_deref().and_then(|u| u.parse().ok()) {
            return Ok(Some(owner));
        }
        if hint.is_some() {
            return Ok(hint);
        }
        let mapped = self
            .access
            .rows()
            .store()
            .get(&customer_key(&remote.customer))
            .await?;
        Ok(mapped
            .and_then(|item| item.str("user").map(str::to_owned))
            .and_then(|user| user.parse().ok()))
    }

    /// The actions that make the stored rows what `remote` (read at `read_at_ms`) says, for
    /// its owner; no actions when the stored state was read later, or when there is nothing
    /// to record yet (an `incomplete` first payment). `None` when the subscription is not one
    /// of our users'.
    pub(super) async fn sync_ops(
        &self,
        remote: &RemoteSubscription,
        read_at_ms: i64,
        hint: Option<OwnerId>,
        reset_credits: bool,
    ) -> Result<Option<(OwnerId, Vec<WriteOp>)>, BillingError> {
        let Some(owner) = self.owner_of(remote, hint).await? else {
            return Ok(None);
        };
        let stored = self.subscription_item(owner).await?;
        // Read earlier than what is stored: the state is not applied (the same instant is:
        // applying an equal state again changes nothing). A new period's credit reset still is.
        if stored
            .as_ref()
            .and_then(|item| item.i64(READ_AT))
            .is_some_and(|stored_at| stored_at > read_at_ms)
        {
            let ops = match reset_credits {
                true => self.credits_reset_op(owner).await?.into_iter().collect(),
                false => Vec::new(),
            };
            return Ok(Some((owner, ops)));
        }
        let stored_text = |column: &str| {
            stored
                .as_ref()
                .and_then(|i| i.str(column))
                .map(str::to_owned)
        };
        let Some(status) = SubscriptionStatus::from_stripe(&remote.status)
            .map(|s| s.as_str().to_owned())
            .or_else(|| stored_text("status"))
        else {
            return Ok(Some((owner, Vec::new())));
        };
        let plan = remote
            .lookup_key
            .as_deref()
            .and_then(billing::plan_of_lookup_key)
            .unwrap_or_else(|| Plan::from_name(stored_text("plan").as_deref()));
        let expires = remote
            .cancel_at
            .or(remote.current_period_end)
            .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
            .map(timestamp_text);
        let columns = SubscriptionColumns {
            plan: plan.name(),
            plan_name: plan.name(),
            status: &status,
            expires_at: expires,
        };
        let internal = [
            (CUSTOMER, StoreValue::from(remote.customer.as_str())),
            (SUBSCRIPTION, StoreValue::from(remote.id.as_str())),
            (READ_AT, StoreValue::from(read_at_ms)),
        ];
        let rows = self.access.rows();
        let table = &schema::SUBSCRIPTIONS;
        let mut ops = match &stored {
            Some(item) => {
                let (_, op) = rows.transition_op(table, item, to_row(&columns)?, &internal)?;
                vec![op]
            }
            None => {
                let row = rows.prepare(
                    table,
                    to_row(&NewSubscription {
                        user_id: owner,
                        columns,
                    })?,
                )?;
                let mut ops = rows.insert_ops(table, None, &row, false)?;
                if let Some(WriteOp::Put { item, .. }) = ops.first_mut() {
                    for (name, value) in &internal {
                        item.set(*name, value.clone());
                    }
                }
                ops
            }
        };
        // The plan the limits follow: kept while a payment is retried, Starter once canceled.
        let entitled = if status == SubscriptionStatus::Canceled.as_str() {
            Plan::Starter
        } else {
            plan
        };
        let owner_text = owner.to_string();
        if let Some(profile) = rows
            .get_raw(&schema::PROFILES, Some(&owner_text), &owner_text)
            .await?
        {
            let patch = to_row(&ProfilePlan {
                plan: entitled.name(),
                credits_used: reset_credits.then_some(0),
            })?;
            let (_, op) = rows.transition_op(&schema::PROFILES, &profile, patch, &[])?;
            ops.push(op);
        }
        ops.push(WriteOp::put(
            Item::new(&customer_key(&remote.customer)).with("user", owner_text.as_str()),
        ));
        Ok(Some((owner, ops)))
    }

    /// The profile's `credits_used` back to 0 (a new paid period).
    async fn credits_reset_op(&self, owner: OwnerId) -> Result<Option<WriteOp>, BillingError> {
        let owner_text = owner.to_string();
        let rows = self.access.rows();
        let Some(profile) = rows
            .get_raw(&schema::PROFILES, Some(&owner_text), &owner_text)
            .await?
        else {
            return Ok(None);
        };
        let mut patch = Row::new();
        patch.insert("credits_used".into(), serde_json::json!(0));
        let (_, op) = rows.transition_op(&schema::PROFILES, &profile, patch, &[])?;
        Ok(Some(op))
    }
}
