//! The web-page port: one public page read for lead research. The adapter owns the network
//! rules — the same as outgoing webhooks' (the host resolved once and pinned, private
//! destinations refused, every redirect checked again) — and the bounds on time and size.

use async_trait::async_trait;

/// A page as read: its final address (after redirects) and its bytes as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPage {
    pub url: String,
    /// The text, decoded with the charset the page names (UTF-8 when it names none).
    pub text: String,
    /// The page was longer than the size bound; `text` is its beginning.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The address may not be read (a private address, credentials, another scheme).
    #[error("refused: {0}")]
    Refused(String),
    /// The site answered with an error status.
    #[error("the site answered {0}")]
    Status(u16),
    /// The site answered with something other than a web page.
    #[error("the site answered {0}, not a web page")]
    NotAPage(String),
    /// No answer (DNS, connection, timeout, too many redirects).
    #[error("{0}")]
    Unreachable(String),
}

#[async_trait]
pub trait PageFetcher: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<FetchedPage, PageError>;
}
