//! The SSRF guard every request to a customer-named address passes: the URL checked (no
//! credentials, no private literal or local name), the host resolved once, every address it
//! resolves to public, and the connection pinned to the checked address (`reqwest`'s
//! `resolve`), so a DNS answer that changes between the check and the connection (rebinding)
//! cannot reach inside. Redirects are never followed by the client: a caller that follows
//! them passes each hop through the guard again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scaliyo_domain::webhooks;

/// Where names are resolved: the system's resolver, or (tests) a fixed answer, so the guard
/// after resolution can be shown to refuse a public-looking name that points inside.
#[async_trait]
pub trait Resolver: Send + Sync + std::fmt::Debug {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

#[derive(Debug)]
pub(crate) struct SystemResolver;

#[async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GuardError {
    /// Not allowed: never retried.
    Refused(String),
    /// No address (DNS) or no client.
    Failed(String),
}

/// The guard's rules: production (public destinations only) or local development.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub allow_private: bool,
    pub resolver: Arc<dyn Resolver>,
}

impl Guard {
    pub fn production() -> Self {
        Self {
            allow_private: false,
            resolver: Arc::new(SystemResolver),
        }
    }

    /// A client that can reach `url` and nothing else: checked, resolved, pinned, no
    /// redirects followed. `allow_plain_http`: whether `http://` is acceptable (it always
    /// is in local development).
    pub async fn client_for(
        &self,
        url: &str,
        allow_plain_http: bool,
        timeout: Duration,
    ) -> Result<reqwest::Client, GuardError> {
        let (host, port) = webhooks::check_url(
            url,
            allow_plain_http || self.allow_private,
            self.allow_private,
        )
        .map_err(|e| GuardError::Refused(e.to_string()))?;
        let address = self.pinned_address(&host, port).await?;
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, address)
            .build()
            .map_err(|e| GuardError::Failed(e.to_string()))
    }

    async fn pinned_address(&self, host: &str, port: u16) -> Result<SocketAddr, GuardError> {
        let addresses: Vec<SocketAddr> = self
            .resolver
            .resolve(host, port)
            .await
            .map_err(|_| GuardError::Failed(format!("cannot resolve {host}")))?;
        let first = *addresses
            .first()
            .ok_or_else(|| GuardError::Failed(format!("{host} has no address")))?;
        // The message names the host the owner gave, never the address inside.
        if !self.allow_private && addresses.iter().any(|a| !webhooks::is_public(a.ip())) {
            return Err(GuardError::Refused(format!(
                "{host} resolves to a private, loopback or link-local address"
            )));
        }
        Ok(first)
    }
}
