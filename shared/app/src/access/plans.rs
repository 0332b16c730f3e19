//! The caller's plan and the contacts limit it sets.

use super::*;

impl Access {
    /// A plan's limits: the seed's numbers (`scaliyo_domain::plans`), with the monthly AI
    /// credits an admin set on the plan's `plans` row (`credits`), when it has one.
    pub async fn limits_of(&self, plan: Plan) -> Result<PlanLimits, AccessError> {
        let mut limits = plan.limits();
        let page = self
            .rows
            .list(
                &schema::PLANS,
                None,
                ListRequest {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
        let credits = page
            .rows
            .iter()
            .find(|row| {
                crate::rows::field(row, "name")
                    .as_str()
                    .is_some_and(|name| name.trim().eq_ignore_ascii_case(plan.name()))
            })
            .and_then(|row| crate::rows::field(row, "credits").as_i64())
            .and_then(|credits| u32::try_from(credits).ok())
            .filter(|credits| *credits > 0);
        if let Some(credits) = credits {
            limits.ai_credits_per_month = credits;
        }
        Ok(limits)
    }

    /// The plan that applies to a user: an active subscription's, else the profile's.
    pub async fn plan_of(&self, user: OwnerId) -> Result<Plan, AccessError> {
        let subscriptions = &schema::SUBSCRIPTIONS;
        if let Some(unique) = subscriptions
            .uniques
            .iter()
            .find(|u| u.name == "subscriptions_user_id_key")
        {
            let mut probe = Row::new();
            probe.insert("user_id".into(), json!(user.to_string()));
            if let Some(subscription) = self.rows.find_unique(subscriptions, unique, &probe).await?
                && subscription["status"] == "active"
            {
                let name = subscription["plan"]
                    .as_str()
                    .or(subscription["plan_name"].as_str());
                return Ok(Plan::from_name(name));
            }
        }
        let user = user.to_string();
        let profile = self.rows.get(&schema::PROFILES, Some(&user), &user).await?;
        Ok(Plan::from_name(
            profile.as_ref().and_then(|p| p["plan"].as_str()),
        ))
    }

    /// An `ADD` on the workspace's contacts counter, refused atomically at the plan limit.
    pub async fn contacts_reservation(
        &self,
        owner: OwnerId,
        count: i64,
    ) -> Result<Extra, AccessError> {
        let limit = i64::from(self.plan_of(owner).await?.limits().contacts);
        let condition = Condition::NotExists("count".into()).or(Condition::cmp(
            "count",
            CmpOp::Le,
            limit - count,
        ));
        Ok(Extra {
            op: WriteOp::Update {
                key: contacts_counter(owner),
                update: Update::new().add("count", count),
                condition: Some(condition),
            },
            on_failure: RowError::PlanLimit {
                limit: "contacts",
                allowed: limit as u64,
            },
        })
    }

    /// How many leads a workspace holds (the counter the plan limit is enforced on).
    pub async fn contacts_used(&self, owner: OwnerId) -> Result<i64, AccessError> {
        let item: Option<Item> = self
            .rows
            .store()
            .get(&contacts_counter(owner))
            .await
            .map_err(RowError::from)?;
        Ok(item.and_then(|i| i.i64("count")).unwrap_or(0))
    }
}
