//! Outbound HTTP to addresses customers name, behind one SSRF guard (`guard`): the outgoing
//! webhooks' signed POSTs (`HttpWebhookTransport`) and the company pages lead research reads
//! (`HttpPageFetcher`). `allowing_private` exists for local development only
//! (`WEBHOOKS_ALLOW_PRIVATE=1`; `RESEARCH_ALLOW_PRIVATE=1` for `scaliyo serve`).

mod guard;
mod page;
mod transport;

pub use guard::Resolver;
pub use page::{HttpPageFetcher, MAX_PAGE_BYTES, MAX_REDIRECTS, PAGE_TIMEOUT};
pub use transport::HttpWebhookTransport;

/// A variable set to `1` or `true`.
fn env_flag(name: &str) -> bool {
    matches!(std::env::var(name).as_deref(), Ok("1") | Ok("true"))
}
