//! The application layer: the single-table layout derived from the schema, the generic row
//! repository, and (as issues land) one module per use case — all written against the ports.

pub mod access;
pub mod ai;
pub mod analytics;
pub mod billing;
pub mod board_templates;
pub mod cursor;
pub mod email_queue;
mod errors;
pub mod import;
pub mod invites;
pub mod invoices;
pub mod layout;
pub mod leads;
pub mod oauth;
pub mod ops;
pub mod provider_events;
pub mod references;
pub mod replies;
pub mod rest;
pub mod rows;
pub mod scheduler;
pub mod send;
pub mod social;
pub mod storage;
pub mod tokens;
pub mod tracking;
mod transient;
pub mod upload_check;
pub mod usage;
pub mod webhooks;
pub mod work_queue;
pub mod workflows;
