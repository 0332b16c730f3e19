//! `HttpWebhookTransport`: one POST per attempt.
//!
//! SSRF guard: the URL is checked (https, no credentials, no private literal or local name),
//! the host is resolved once, every address it resolves to must be public, and the connection
//! is pinned to the checked address (`reqwest`'s `resolve`), so a DNS answer that changes
//! between the check and the connection (rebinding) cannot reach inside. Redirects are not
//! followed (a 3xx is the receiver's answer, recorded as a failure). `allow_private` and
//! `allow_plain_http` exist for local development only (`WEBHOOKS_ALLOW_PRIVATE=1`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use scaliyo_domain::webhooks;
use scaliyo_store::{TransportError, WebhookRequest, WebhookResponse, WebhookTransport};

/// Where names are resolved: the system's resolver, or (tests) a fixed answer, so the guard
/// after resolution can be shown to refuse a public-looking name that points inside.
#[async_trait]
pub trait Resolver: Send + Sync + std::fmt::Debug {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

#[derive(Debug)]
struct SystemResolver;

#[async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

#[derive(Debug, Clone)]
pub struct HttpWebhookTransport {
    timeout: Duration,
    allow_private: bool,
    resolver: Arc<dyn Resolver>,
}

impl HttpWebhookTransport {
    /// Production rules: https only, public destinations only, 10-second attempts.
    pub fn new() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            allow_private: false,
            resolver: Arc::new(SystemResolver),
        }
    }

    /// Resolves names with `resolver` instead of the system's.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Local development: plain http and private addresses (a receiver on this machine).
    pub fn allowing_private(mut self) -> Self {
        self.allow_private = true;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `WEBHOOKS_ALLOW_PRIVATE=1` turns the local-development rules on.
    pub fn from_env() -> Self {
        let transport = Self::new();
        match std::env::var("WEBHOOKS_ALLOW_PRIVATE").as_deref() {
            Ok("1") | Ok("true") => transport.allowing_private(),
            _ => transport,
        }
    }

    async fn pinned_address(&self, host: &str, port: u16) -> Result<SocketAddr, TransportError> {
        let addresses: Vec<SocketAddr> = self
            .resolver
            .resolve(host, port)
            .await
            .map_err(|_| TransportError::Failed(format!("cannot resolve {host}")))?;
        let first = *addresses
            .first()
            .ok_or_else(|| TransportError::Failed(format!("{host} has no address")))?;
        // The message names the host the owner gave, never the address inside.
        if !self.allow_private && addresses.iter().any(|a| !webhooks::is_public(a.ip())) {
            return Err(TransportError::Refused(format!(
                "{host} resolves to a private, loopback or link-local address"
            )));
        }
        Ok(first)
    }
}

impl Default for HttpWebhookTransport {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl WebhookTransport for HttpWebhookTransport {
    async fn post(&self, request: &WebhookRequest) -> Result<WebhookResponse, TransportError> {
        let (host, port) =
            webhooks::check_url(&request.url, self.allow_private, self.allow_private)
                .map_err(|e| TransportError::Refused(e.to_string()))?;
        let address = self.pinned_address(&host, port).await?;
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, address)
            .build()
            .map_err(|e| TransportError::Failed(e.to_string()))?;
        let mut builder = client.post(&request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let started = Instant::now();
        let response = builder
            .send()
            .await
            .map_err(|e| TransportError::Failed(e.without_url().to_string()))?;
        Ok(WebhookResponse {
            status: response.status().as_u16(),
            elapsed: started.elapsed(),
        })
    }
}
