//! `HttpPageFetcher`: one public web page read for lead research, through the guard — plain
//! http allowed (a page is read, nothing is sent), every redirect hop checked again, 5
//! seconds for the whole read, the first 2 MiB kept.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scaliyo_store::{FetchedPage, PageError, PageFetcher};

use crate::guard::{Guard, GuardError, Resolver};

/// The whole read, redirects included.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a page kept.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Redirect hops followed (`http://acme.com` → `https://acme.com` → `https://www.acme.com/`).
pub const MAX_REDIRECTS: usize = 5;
const USER_AGENT: &str = "ScaliyoResearch/1.0 (lead research; one page per request)";
const ACCEPT: &str = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8";

#[derive(Debug, Clone)]
pub struct HttpPageFetcher {
    guard: Guard,
    timeout: Duration,
    max_bytes: usize,
}

impl HttpPageFetcher {
    /// Production rules: public destinations only.
    pub fn new() -> Self {
        Self {
            guard: Guard::production(),
            timeout: PAGE_TIMEOUT,
            max_bytes: MAX_PAGE_BYTES,
        }
    }

    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.guard.resolver = resolver;
        self
    }

    /// Local development: private addresses (a site on this machine).
    pub fn allowing_private(mut self) -> Self {
        self.guard.allow_private = true;
        self
    }

    pub fn with_limits(mut self, timeout: Duration, max_bytes: usize) -> Self {
        self.timeout = timeout;
        self.max_bytes = max_bytes;
        self
    }

    async fn read(&self, start: &str) -> Result<FetchedPage, PageError> {
        let mut url = start.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let client = self
                .guard
                .client_for(&url, true, self.timeout)
                .await
                .map_err(|e| match e {
                    GuardError::Refused(reason) => PageError::Refused(reason),
                    GuardError::Failed(reason) => PageError::Unreachable(reason),
                })?;
            let response = client
                .get(&url)
                .header(reqwest::header::USER_AGENT, USER_AGENT)
                .header(reqwest::header::ACCEPT, ACCEPT)
                .send()
                .await
                .map_err(|e| PageError::Unreachable(e.without_url().to_string()))?;
            let status = response.status();
            if status.is_redirection() {
                url = next_hop(&url, &response)?;
                continue;
            }
            if !status.is_success() {
                return Err(PageError::Status(status.as_u16()));
            }
            return self.body_of(url, response).await;
        }
        Err(PageError::Unreachable(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    async fn body_of(
        &self,
        url: String,
        mut response: reqwest::Response,
    ) -> Result<FetchedPage, PageError> {
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(kind) = &content_type {
            let essence = kind.split(';').next().unwrap_or_default().trim();
            let readable = ["text/html", "application/xhtml+xml", "text/plain"]
                .iter()
                .any(|k| essence.eq_ignore_ascii_case(k));
            if !readable {
                return Err(PageError::NotAPage(essence.to_owned()));
            }
        }
        let mut bytes = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| PageError::Unreachable(e.without_url().to_string()))?
        {
            let room = self.max_bytes - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(FetchedPage {
            url,
            text: scaliyo_domain::web_page::decode(&bytes, content_type.as_deref()),
            truncated,
        })
    }
}

/// Where a redirect points, resolved against the page that answered it.
fn next_hop(current: &str, response: &reqwest::Response) -> Result<String, PageError> {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| PageError::Status(response.status().as_u16()))?;
    let base = url::Url::parse(current).map_err(|e| PageError::Refused(e.to_string()))?;
    base.join(location)
        .map(String::from)
        .map_err(|e| PageError::Refused(format!("a redirect to an invalid address: {e}")))
}

impl Default for HttpPageFetcher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PageFetcher for HttpPageFetcher {
    async fn fetch(&self, url: &str) -> Result<FetchedPage, PageError> {
        match tokio::time::timeout(self.timeout, self.read(url)).await {
            Ok(read) => read,
            Err(_) => Err(PageError::Unreachable(format!(
                "no page within {} seconds",
                self.timeout.as_secs()
            ))),
        }
    }
}
