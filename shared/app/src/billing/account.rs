//! What a signed-in user does with billing: open a checkout for a plan (or the portal when a
//! subscription is live), open the portal, read the summary, and confirm a checkout on the
//! success page without waiting for the webhook.

use scaliyo_domain::billing::{self, SubscriptionStatus};
use scaliyo_domain::plans::{Plan, PlanLimits};
use scaliyo_domain::schema;
use scaliyo_store::CheckoutRequest;
use serde::Serialize;

use super::sync::{CUSTOMER, SUBSCRIPTION};
use super::{Billing, BillingError, invalid};
use crate::access::Actor;
use crate::rows::{Row, from_item};
use crate::usage::{MonthArgs, Usage};

/// Where to send the browser.
#[derive(Debug, Clone, Serialize)]
pub struct CheckoutLink {
    pub url: String,
    /// `checkout` (a new subscription) or `portal` (a live one is changed there).
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BillingSummary {
    pub plan: &'static str,
    /// `active`, `past_due` or `canceled`; `null` without a subscription.
    pub status: Option<String>,
    /// When the current period ends, or when a cancelled subscription stops.
    pub expires_at: Option<String>,
    pub limits: PlanLimits,
    pub usage: UsageThisMonth,
    /// Whether checkout and the portal are available in this deployment.
    pub billing_enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageThisMonth {
    pub contacts: i64,
    pub emails_sent: i64,
    pub ai_credits_used: i64,
}

impl Billing {
    /// `POST /v1/billing/checkout {plan}`.
    pub async fn checkout(&self, actor: &Actor, plan: &str) -> Result<CheckoutLink, BillingError> {
        let payments = self.payments()?;
        let owner = actor.owner()?;
        let plan = match plan.trim().to_ascii_lowercase().as_str() {
            "growth" => Plan::Growth,
            "scale" => Plan::Scale,
            "starter" => {
                return Err(invalid(
                    "plan",
                    "Starter is the free plan: cancel the subscription in the portal to return to it",
                ));
            }
            _ => return Err(invalid("plan", "must be Growth or Scale")),
        };
        let stored = self.subscription_item(owner).await?;
        let customer = stored
            .as_ref()
            .and_then(|i| i.str(CUSTOMER))
            .map(str::to_owned);
        let live = stored.as_ref().is_some_and(|i| {
            i.str(SUBSCRIPTION).is_some()
                && i.str("status") != Some(SubscriptionStatus::Canceled.as_str())
        });
        if let (true, Some(customer)) = (live, &customer) {
            // One subscription per user: plan changes happen in the portal.
            let url = payments.create_portal(customer, &self.return_url()).await?;
            return Ok(CheckoutLink {
                url,
                kind: "portal",
            });
        }
        let app = self.config.app_url.trim_end_matches('/');
        let request = CheckoutRequest {
            user_id: owner.to_string(),
            lookup_key: billing::lookup_key(plan),
            customer,
            email: actor.caller.as_ref().and_then(|c| c.email.clone()),
            // Stripe replaces {CHECKOUT_SESSION_ID} with the session's id.
            success_url: format!(
                "{app}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}"
            ),
            cancel_url: format!("{app}/billing?checkout=cancelled"),
        };
        let session = payments.create_checkout(&request).await?;
        let url = session.url.ok_or_else(|| {
            BillingError::Provider(scaliyo_store::PaymentError::Unavailable(
                "the checkout session has no URL".into(),
            ))
        })?;
        Ok(CheckoutLink {
            url,
            kind: "checkout",
        })
    }

    /// `POST /v1/billing/portal`.
    pub async fn portal(&self, actor: &Actor) -> Result<CheckoutLink, BillingError> {
        let payments = self.payments()?;
        let stored = self.subscription_item(actor.owner()?).await?;
        let customer = stored
            .as_ref()
            .and_then(|i| i.str(CUSTOMER))
            .ok_or(BillingError::NoCustomer)?;
        let url = payments.create_portal(customer, &self.return_url()).await?;
        Ok(CheckoutLink {
            url,
            kind: "portal",
        })
    }

    fn return_url(&self) -> String {
        format!("{}/billing", self.config.app_url.trim_end_matches('/'))
    }

    /// `GET /v1/billing/checkout/{session_id}`: the success page applies the subscription at
    /// once (the webhook may come later); a session of another user is not found.
    pub async fn confirm_checkout(
        &self,
        actor: &Actor,
        session_id: &str,
    ) -> Result<BillingSummary, BillingError> {
        let owner = actor.owner()?;
        let session = match self.payments()?.checkout_session(session_id).await {
            Ok(session) => session,
            Err(scaliyo_store::PaymentError::NotFound) => {
                return Err(crate::rows::RowError::NotFound.into());
            }
            Err(e) => return Err(e.into()),
        };
        if session.client_reference_id.as_deref() != Some(owner.to_string().as_str()) {
            return Err(crate::rows::RowError::NotFound.into());
        }
        if let Some(subscription) = &session.subscription {
            for _ in 0..3 {
                let (ops, _) = self
                    .sync_subscription(subscription, Some(owner), None)
                    .await?;
                if ops.is_empty() {
                    break;
                }
                match self.access.rows().store().transact_write(ops).await {
                    Ok(()) => break,
                    Err(scaliyo_store::StoreError::ConditionFailed { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.summary(actor).await
    }

    /// `GET /v1/billing`: the plan the limits follow, the subscription, this month's usage.
    pub async fn summary(&self, actor: &Actor) -> Result<BillingSummary, BillingError> {
        let owner = actor.owner()?;
        let plan = self.access.plan_of(owner).await?;
        let subscription: Option<Row> = self
            .subscription_item(owner)
            .await?
            .map(|item| from_item(&schema::SUBSCRIPTIONS, &item));
        let text = |column: &str| {
            subscription
                .as_ref()
                .and_then(|s| crate::rows::field(s, column).as_str())
                .map(str::to_owned)
        };
        let month = Usage::new(self.access.clone(), self.clock.clone())
            .get_workspace_monthly_usage(actor, MonthArgs { month: None })
            .await?;
        let ai = self.ai_credits_this_month(owner).await?;
        Ok(BillingSummary {
            plan: plan.name(),
            status: text("status"),
            expires_at: text("expires_at"),
            limits: self.access.limits_of(plan).await?,
            usage: UsageThisMonth {
                contacts: self.access.contacts_used(owner).await?,
                emails_sent: month["emails_sent"].as_i64().unwrap_or(0),
                ai_credits_used: ai,
            },
            billing_enabled: self.payments.is_some(),
        })
    }

    async fn ai_credits_this_month(
        &self,
        owner: scaliyo_domain::ids::OwnerId,
    ) -> Result<i64, BillingError> {
        let month = crate::usage::month_key(self.clock.now());
        Ok(crate::usage::ai_credits_used(self.access.rows(), owner, &month).await?)
    }
}

/// `POST /v1/billing/plan {user_id, plan}` (admins): a plan set by hand.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPlan {
    pub user_id: String,
    pub plan: String,
}

impl Billing {
    /// An admin sets a user's plan by hand (a deal outside Stripe, a correction): the
    /// profile's plan, with the admin's audit entry in the same transaction. A live Stripe
    /// subscription still decides while it is active.
    pub async fn set_plan(
        &self,
        actor: &Actor,
        request: SetPlan,
    ) -> Result<BillingSummary, BillingError> {
        if !actor.is_admin {
            return Err(crate::access::AccessError::Forbidden(
                "only an admin may set a plan".into(),
            )
            .into());
        }
        let plan = match request.plan.trim().to_ascii_lowercase().as_str() {
            "starter" => Plan::Starter,
            "growth" => Plan::Growth,
            "scale" => Plan::Scale,
            _ => return Err(invalid("plan", "must be Starter, Growth or Scale")),
        };
        let user: scaliyo_domain::ids::OwnerId = request
            .user_id
            .parse()
            .map_err(|_| invalid("user_id", "must be a user id (UUID)"))?;
        let user_text = user.to_string();
        let rows = self.access.rows();
        let profiles = &schema::PROFILES;
        let item = rows
            .get_raw(profiles, Some(&user_text), &user_text)
            .await?
            .ok_or(crate::rows::RowError::NotFound)?;
        let current = from_item(profiles, &item);
        let mut patch = Row::new();
        patch.insert("plan".into(), serde_json::json!(plan.name()));
        let audit = self
            .access
            .admin_audit(actor, profiles, &user_text, &current, &patch)?;
        let (_, op) = rows.transition_op(profiles, &item, patch, &[])?;
        let mut ops = vec![op];
        ops.extend(audit.into_iter().map(|extra| extra.op));
        match rows.store().transact_write(ops).await {
            Ok(()) => {}
            Err(scaliyo_store::StoreError::ConditionFailed { .. }) => {
                return Err(crate::rows::RowError::Concurrent.into());
            }
            Err(e) => return Err(e.into()),
        }
        let target = crate::access::Actor::acting_for(user);
        self.summary(&target).await
    }
}
