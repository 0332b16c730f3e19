//! AI credit rules, pure: what an operation costs, what is reserved before a model call and
//! what is settled after it (docs/ai.md).

pub mod answer;
pub mod research;
pub mod sequence;

use serde::{Deserialize, Serialize};

/// One credit buys this many tokens (prompt and answer together).
pub const TOKENS_PER_CREDIT: u64 = 800;

/// The answer's length when the caller names none, and the most a caller may ask for.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 1_024;
pub const MAX_OUTPUT_TOKENS: u32 = 8_192;

/// What a call is for; each kind costs at least its minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiOperation {
    EmailSequence,
    Content,
    LeadResearch,
    Scoring,
    Insights,
    Blog,
    Image,
    Batch,
}

impl AiOperation {
    pub const ALL: [AiOperation; 8] = [
        Self::EmailSequence,
        Self::Content,
        Self::LeadResearch,
        Self::Scoring,
        Self::Insights,
        Self::Blog,
        Self::Image,
        Self::Batch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::EmailSequence => "email_sequence",
            Self::Content => "content",
            Self::LeadResearch => "lead_research",
            Self::Scoring => "scoring",
            Self::Insights => "insights",
            Self::Blog => "blog",
            Self::Image => "image",
            Self::Batch => "batch",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The least a call of this kind costs, however few tokens it used.
    pub fn minimum_credits(self) -> u64 {
        match self {
            Self::EmailSequence | Self::Blog => 3,
            Self::Content | Self::LeadResearch | Self::Image => 2,
            Self::Scoring | Self::Insights => 1,
            Self::Batch => 5,
        }
    }

    /// The operation a prompt of this `user_prompts.category` performs.
    pub fn of_category(category: &str) -> Self {
        match category {
            "lead_research" => Self::LeadResearch,
            "blog" => Self::Blog,
            "analytics" | "strategy" => Self::Insights,
            "sales_outreach" | "email" | "automation" => Self::EmailSequence,
            _ => Self::Content,
        }
    }
}

/// Credits for `tokens`, rounded up: 1 token costs a credit, 800 cost one, 801 cost two.
pub fn credits_for_tokens(tokens: u64) -> u64 {
    tokens.div_ceil(TOKENS_PER_CREDIT)
}

/// What a call that used `tokens` costs.
pub fn cost(operation: AiOperation, tokens: u64) -> u64 {
    credits_for_tokens(tokens).max(operation.minimum_credits())
}

/// The prompt's tokens as a provider would count them at most: one per byte is a bound no
/// tokenizer exceeds for UTF-8 text, so the estimate never under-reserves.
pub fn prompt_token_bound(system: &str, prompt: &str) -> u64 {
    (system.len() + prompt.len()) as u64
}

/// What is reserved before a call: the cost of the prompt's tokens and the whole answer the
/// call may write. Settling hands back what was not used.
pub fn reservation(operation: AiOperation, prompt_tokens: u64, max_output_tokens: u32) -> u64 {
    cost(
        operation,
        prompt_tokens.saturating_add(u64::from(max_output_tokens)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_costs_its_tokens_rounded_up_and_at_least_its_minimum() {
        assert_eq!(credits_for_tokens(0), 0);
        assert_eq!(credits_for_tokens(1), 1);
        assert_eq!(credits_for_tokens(800), 1);
        assert_eq!(credits_for_tokens(801), 2);
        assert_eq!(cost(AiOperation::Scoring, 10), 1);
        assert_eq!(cost(AiOperation::EmailSequence, 10), 3);
        assert_eq!(cost(AiOperation::Batch, 4_000), 5);
        assert_eq!(cost(AiOperation::Batch, 4_001), 6);
        assert_eq!(cost(AiOperation::Content, 2_400), 3);
    }

    #[test]
    fn the_minimums_are_the_documented_ones() {
        let minimums: Vec<(&str, u64)> = AiOperation::ALL
            .iter()
            .map(|op| (op.name(), op.minimum_credits()))
            .collect();
        assert_eq!(
            minimums,
            [
                ("email_sequence", 3),
                ("content", 2),
                ("lead_research", 2),
                ("scoring", 1),
                ("insights", 1),
                ("blog", 3),
                ("image", 2),
                ("batch", 5)
            ]
        );
        for op in AiOperation::ALL {
            assert_eq!(AiOperation::parse(op.name()), Some(op));
        }
    }

    #[test]
    fn the_reservation_covers_any_settlement_of_the_same_call() {
        for (prompt, max) in [(0u64, 1u32), (700, 100), (5_000, 1_024), (1, 8_192)] {
            let reserved = reservation(AiOperation::Content, prompt, max);
            for used in [0, prompt, prompt + u64::from(max)] {
                assert!(cost(AiOperation::Content, used) <= reserved);
            }
        }
    }
}
