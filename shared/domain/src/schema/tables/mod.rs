//! Every table of the seed, declared once. `docs/schema.md` is checked against this file by
//! `schema_matches_the_seed_document`; the three Team Hub supporting tables the seed only
//! describes in prose are designed here (`documented: false`).
//!
//! One file per section of the seed; each table is a static (`schema::SOCIAL_POSTS`), so code
//! names the table it means and a misspelt one does not compile.

mod audit;
mod automation;
mod content;
mod core;
mod email;
mod guest_posting;
mod integrations;
mod invoicing;
mod leads;
mod social;
mod strategy;
mod support;
mod teamhub;
mod teams;
mod usage;

pub use audit::*;
pub use automation::*;
pub use content::*;
pub use core::*;
pub use email::*;
pub use guest_posting::*;
pub use integrations::*;
pub use invoicing::*;
pub use leads::*;
pub use social::*;
pub use strategy::*;
pub use support::*;
pub use teamhub::*;
pub use teams::*;
pub use usage::*;

use super::Table;

/// Every table, in the seed's order.
pub static TABLES: &[&Table] = &[
    &PROFILES,
    &SUBSCRIPTIONS,
    &PLANS,
    &CONFIG_SETTINGS,
    &LEADS,
    &IMPORT_BATCHES,
    &LEAD_STAGE_COLORS,
    &LEAD_COLOR_OVERRIDES,
    &SENDER_ACCOUNTS,
    &SENDER_ACCOUNT_SECRETS,
    &EMAIL_MESSAGES,
    &EMAIL_LINKS,
    &EMAIL_EVENTS,
    &EMAIL_PROVIDER_CONFIGS,
    &EMAIL_TEMPLATES,
    &SCHEDULED_EMAILS,
    &WORKFLOWS,
    &WORKFLOW_EXECUTIONS,
    &WORKSPACE_AI_USAGE,
    &WORKSPACE_USAGE_COUNTERS,
    &OUTBOUND_USAGE,
    &AI_USAGE_LOGS,
    &INVOICES,
    &INVOICE_LINE_ITEMS,
    &INVOICE_PACKAGES,
    &INVOICE_PACKAGE_ITEMS,
    &SOCIAL_ACCOUNTS,
    &SOCIAL_POSTS,
    &SOCIAL_POST_TARGETS,
    &SOCIAL_POST_EVENTS,
    &TRACKING_LINKS,
    &TRACKING_EVENTS,
    &BLOG_CATEGORIES,
    &BLOG_POSTS,
    &AI_PROMPTS,
    &USER_PROMPTS,
    &USER_PROMPT_VERSIONS,
    &GUEST_POST_OUTREACH,
    &GUEST_CONTRIBUTORS,
    &TEAMS,
    &TEAM_MEMBERS,
    &TEAM_INVITES,
    &TEAMHUB_BOARDS,
    &TEAMHUB_LISTS,
    &TEAMHUB_CARDS,
    &TEAMHUB_COMMENTS,
    &TEAMHUB_ACTIVITY,
    &TEAMHUB_CARD_MEMBERS,
    &TEAMHUB_FLOW_MEMBERS,
    &TEAMHUB_INVITES,
    &TEAMHUB_ITEM_LEADS,
    &TEAMHUB_FLOW_TEMPLATES,
    &INTEGRATIONS,
    &WEBHOOKS,
    &STRATEGY_TASKS,
    &STRATEGY_NOTES,
    &SUPPORT_SESSIONS,
    &SUPPORT_AUDIT_LOGS,
    &AUDIT_LOGS,
];
