//! The pure core of Scaliyo: the schema declaration, identifiers, plans and rules.
//! No I/O and no AWS types live here, so it compiles and tests in seconds.

pub mod ai;
pub mod billing;
pub mod email;
pub mod ids;
pub mod import;
pub mod invites;
pub mod invoices;
pub mod media;
pub mod migrate;
pub mod oauth;
pub mod plans;
pub mod postgrest;
pub mod provider_events;
pub mod replies;
pub mod schedule;
pub mod schema;
pub mod signed_link;
pub mod social;
pub mod status;
pub mod teamhub;
pub mod tracking;
pub mod web_page;
pub mod webhooks;
pub mod workflows;
