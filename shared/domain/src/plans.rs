//! Plan limits of the seed's usage architecture (section 6).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Plan {
    Starter,
    Growth,
    Scale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanLimits {
    pub ai_credits_per_month: u32,
    pub contacts: u32,
    pub emails_per_month: u32,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Starter, Plan::Growth, Plan::Scale];

    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Starter => PlanLimits {
                ai_credits_per_month: 1_000,
                contacts: 1_000,
                emails_per_month: 2_000,
            },
            Plan::Growth => PlanLimits {
                ai_credits_per_month: 6_000,
                contacts: 10_000,
                emails_per_month: 15_000,
            },
            Plan::Scale => PlanLimits {
                ai_credits_per_month: 20_000,
                contacts: 50_000,
                emails_per_month: 40_000,
            },
        }
    }

    /// Reads a plan name as stored in `profiles.plan` / `subscriptions.plan`; unknown or
    /// missing names get the Starter limits, the seed's default plan.
    pub fn from_name(name: Option<&str>) -> Plan {
        match name.map(|n| n.trim().to_ascii_lowercase()).as_deref() {
            Some("growth") => Plan::Growth,
            Some("scale") => Plan::Scale,
            _ => Plan::Starter,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Plan::Starter => "Starter",
            Plan::Growth => "Growth",
            Plan::Scale => "Scale",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_seeds() {
        assert_eq!(Plan::Starter.limits().emails_per_month, 2_000);
        assert_eq!(Plan::Growth.limits().contacts, 10_000);
        assert_eq!(Plan::Scale.limits().ai_credits_per_month, 20_000);
    }

    #[test]
    fn unknown_plan_names_fall_back_to_starter() {
        assert_eq!(Plan::from_name(Some("GROWTH")), Plan::Growth);
        assert_eq!(Plan::from_name(Some("enterprise")), Plan::Starter);
        assert_eq!(Plan::from_name(None), Plan::Starter);
    }
}
